/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Variable sets: parsing of "scope.name", storage of copied samples in a
 * per-scope list, HAProxy's set-var conditions, and the process-wide set.
 * Which set serves a scope for a stream is the stream's business
 * (stream_vars() in core/stream.c); vars_of() adds the "proc" scope and a
 * replaceable resolver so that unit tests need no stream. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/sample.h"
#include "core/util.h"
#include "core/vars.h"

struct var {
    struct var *next;
    char *name;
    size_t name_len;
    enum smp_type type;
    union {
        long long sint;
        struct in_addr ipv4;
        struct in6_addr ipv6;
        struct ist str; /* malloc'ed, owned */
    } data;
};

struct scope_name {
    const char *prefix;
    size_t len;
    enum vars_scope scope;
};

static const struct scope_name scope_names[] = {
    {"proc.", 5, VARS_SCOPE_PROC}, {"sess.", 5, VARS_SCOPE_SESS},
    {"txn.", 4, VARS_SCOPE_TXN},   {"req.", 4, VARS_SCOPE_REQ},
    {"res.", 4, VARS_SCOPE_RES},
};

struct cond_name {
    const char *name;
    unsigned flag;
};

static const struct cond_name cond_names[] = {
    {"ifexists", VARS_IF_EXISTS}, {"ifnotexists", VARS_IF_NOTEXISTS},
    {"ifempty", VARS_IF_EMPTY},   {"ifnotempty", VARS_IF_NOTEMPTY},
    {"ifset", VARS_IF_SET},       {"ifnotset", VARS_IF_NOTSET},
    {"ifgt", VARS_IF_GT},         {"iflt", VARS_IF_LT},
};

static struct vars proc_vars;
static struct vars *(*resolver)(struct stream *strm,
                                enum vars_scope scope) = stream_vars;

/* Empty set, no allocation. */
void vars_init(struct vars *v)
{
    v->head = NULL;
    v->count = 0;
    v->bytes = 0;
}

/* Frees the value a variable owns, if any. */
static void var_clear(struct vars *v, struct var *var)
{
    if (var->type == SMP_T_STR || var->type == SMP_T_BIN ||
        var->type == SMP_T_METH) {
        v->bytes -= var->data.str.len;
        free((char *)var->data.str.ptr);
    }
    var->type = SMP_T_ANY;
}

/* Frees <var> and its value; the caller has unlinked it. */
static void var_free(struct vars *v, struct var *var)
{
    var_clear(v, var);
    v->bytes -= var->name_len;
    v->count--;
    free(var->name);
    free(var);
}

/* Frees every variable and leaves the set empty. */
void vars_prune(struct vars *v)
{
    struct var *var, *next;

    for (var = v->head; var != NULL; var = next) {
        next = var->next;
        var_free(v, var);
    }
    vars_init(v);
}

/* Scope prefixes and name characters as HAProxy. */
int vars_parse_name(const char *s, size_t len, enum vars_scope *scope,
                    struct ist *name, char **err)
{
    size_t i, n = sizeof(scope_names) / sizeof(scope_names[0]);

    if (len == 0)
        return set_err(err, "Empty variable name cannot be accepted");
    for (i = 0; i < n; i++)
        if (len > scope_names[i].len &&
            strncmp(s, scope_names[i].prefix, scope_names[i].len) == 0)
            break;
    if (i == n)
        return set_err(err,
                       "invalid variable name '%.*s'. A variable name must "
                       "be start by its scope. The scope can be 'proc', "
                       "'sess', 'txn', 'req' or 'res'",
                       (int)len, s);
    *scope = scope_names[i].scope;
    name->ptr = s + scope_names[i].len;
    name->len = len - scope_names[i].len;
    for (i = 0; i < name->len; i++) {
        char c = name->ptr[i];

        if (!isalnum((unsigned char)c) && c != '_' && c != '.')
            return set_err(err, "invalid syntax at char '%.*s'",
                           (int)(name->len - i), name->ptr + i);
    }
    return RC_OK;
}

/* Condition names as HAProxy's set-var. */
int vars_parse_cond(const char *s, size_t len, unsigned *cond, char **err)
{
    size_t i;

    for (i = 0; i < sizeof(cond_names) / sizeof(cond_names[0]); i++) {
        if (strlen(cond_names[i].name) == len &&
            memcmp(cond_names[i].name, s, len) == 0) {
            *cond |= cond_names[i].flag;
            return RC_OK;
        }
    }
    return set_err(err, "unknown condition \"%.*s\"", (int)len, s);
}

int vars_copy(struct vars *dst, const struct vars *src)
{
    const struct var *var;
    struct sample smp;

    vars_prune(dst);
    for (var = src->head; var != NULL; var = var->next) {
        struct ist name = {var->name, var->name_len};

        if (vars_get(src, name, &smp) && vars_set(dst, name, &smp) != RC_OK)
            return RC_ERR;
    }
    return RC_OK;
}

/* The process-wide set lives for the whole process. */
struct vars *vars_proc(void)
{
    return &proc_vars;
}

/* NULL restores stream_vars(). */
void vars_set_resolver(struct vars *(*fn)(struct stream *strm,
                                          enum vars_scope scope))
{
    resolver = fn != NULL ? fn : stream_vars;
}

/* "proc" needs no stream; other scopes ask the resolver. */
struct vars *vars_of(struct stream *strm, enum vars_scope scope)
{
    if (scope == VARS_SCOPE_PROC)
        return &proc_vars;
    if (strm == NULL)
        return NULL;
    return resolver(strm, scope);
}

/* Returns the variable <name> of <v>, or NULL. */
static struct var *var_find(const struct vars *v, struct ist name)
{
    struct var *var;

    for (var = v->head; var != NULL; var = var->next)
        if (var->name_len == name.len &&
            memcmp(var->name, name.ptr, name.len) == 0)
            return var;
    return NULL;
}

/* Creates an unset variable <name> in <v>; NULL if out of memory. */
static struct var *var_new(struct vars *v, struct ist name)
{
    struct var *var = calloc(1, sizeof(*var));

    if (var == NULL)
        return NULL;
    var->name = malloc(name.len + 1);
    if (var->name == NULL) {
        free(var);
        return NULL;
    }
    memcpy(var->name, name.ptr, name.len);
    var->name[name.len] = '\0';
    var->name_len = name.len;
    var->type = SMP_T_ANY;
    var->next = v->head;
    v->head = var;
    v->count++;
    v->bytes += name.len;
    return var;
}

/* Copies the value of <smp> into <var>, replacing the old one. RC_OK, or
 * RC_ERR (out of memory: the variable is left unset, as HAProxy leaves a
 * memory-less value). */
static int var_store(struct vars *v, struct var *var, const struct sample *smp)
{
    char *copy = NULL;
    size_t len = 0;

    if (smp->type == SMP_T_STR || smp->type == SMP_T_BIN ||
        smp->type == SMP_T_METH) {
        len = smp->data.str.len;
        copy = malloc(len + 1);
        if (copy == NULL) {
            var_clear(v, var);
            return RC_ERR;
        }
        if (len > 0)
            memcpy(copy, smp->data.str.ptr, len);
        copy[len] = '\0';
    }
    var_clear(v, var);
    var->type = smp->type;
    if (copy != NULL) {
        var->data.str = (struct ist){copy, len};
        v->bytes += len;
    } else if (smp->type == SMP_T_IPV4) {
        var->data.ipv4 = smp->data.ipv4;
    } else if (smp->type == SMP_T_IPV6) {
        var->data.ipv6 = smp->data.ipv6;
    } else {
        var->data.sint = smp->data.sint;
    }
    return RC_OK;
}

/* Returns 1 if the VARS_IF_* conditions in <cond> allow storing <smp> into
 * <var> (NULL when the variable does not exist yet). */
static int cond_allows(const struct var *var, const struct sample *smp,
                       unsigned cond)
{
    int is_buf = smp->type == SMP_T_STR || smp->type == SMP_T_BIN;
    int set = var != NULL && var->type != SMP_T_ANY;

    if ((cond & VARS_IF_EXISTS) && var == NULL)
        return 0;
    if ((cond & VARS_IF_NOTEXISTS) && var != NULL)
        return 0;
    if ((cond & VARS_IF_SET) && !set)
        return 0;
    if ((cond & VARS_IF_NOTSET) && set)
        return 0;
    if ((cond & VARS_IF_EMPTY) && !(is_buf && smp->data.str.len == 0))
        return 0;
    if ((cond & VARS_IF_NOTEMPTY) && is_buf && smp->data.str.len == 0)
        return 0;
    /* ifgt/iflt compare integers only and pass otherwise, as HAProxy */
    if (set && var->type == SMP_T_SINT && smp->type == SMP_T_SINT) {
        if ((cond & VARS_IF_GT) && !(var->data.sint > smp->data.sint))
            return 0;
        if ((cond & VARS_IF_LT) && !(var->data.sint < smp->data.sint))
            return 0;
    }
    return 1;
}

/* Creates the variable if needed, once the conditions hold. */
int vars_set_cond(struct vars *v, struct ist name, const struct sample *smp,
                  unsigned cond)
{
    struct var *var = var_find(v, name);

    if (smp->type == SMP_T_ANY || smp->type >= SMP_TYPES ||
        smp->type == SMP_T_ADDR)
        return RC_ERR;
    if (!cond_allows(var, smp, cond))
        return RC_DECLINED;
    if (var == NULL && (var = var_new(v, name)) == NULL)
        return RC_ERR;
    return var_store(v, var, smp);
}

/* Unconditional vars_set_cond(). */
int vars_set(struct vars *v, struct ist name, const struct sample *smp)
{
    return vars_set_cond(v, name, smp, 0);
}

/* Missing variables are fine. */
int vars_unset(struct vars *v, struct ist name)
{
    struct var **pp;

    for (pp = &v->head; *pp != NULL; pp = &(*pp)->next) {
        struct var *var = *pp;

        if (var->name_len == name.len &&
            memcmp(var->name, name.ptr, name.len) == 0) {
            *pp = var->next;
            var_free(v, var);
            break;
        }
    }
    return RC_OK;
}

/* Points into the variable's storage. */
int vars_get(const struct vars *v, struct ist name, struct sample *out)
{
    const struct var *var = var_find(v, name);

    if (var == NULL || var->type == SMP_T_ANY)
        return 0;
    memset(out, 0, sizeof(*out));
    out->type = var->type;
    if (var->type == SMP_T_STR || var->type == SMP_T_BIN ||
        var->type == SMP_T_METH)
        out->data.str = var->data.str;
    else if (var->type == SMP_T_IPV4)
        out->data.ipv4 = var->data.ipv4;
    else if (var->type == SMP_T_IPV6)
        out->data.ipv6 = var->data.ipv6;
    else
        out->data.sint = var->data.sint;
    return 1;
}

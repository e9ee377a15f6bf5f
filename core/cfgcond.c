/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Conditional blocks: the per-file stack of ".if" levels and a recursive
 * descent evaluator for condition expressions, with HAProxy's grammar:
 *
 *   expr := and ( "||" and )*
 *   and  := term ( "&&" term )*
 *   term := "!"* ( integer | "(" expr ")" | predicate "(" args ")" )
 *
 * Predicates have no side effects, so every term is evaluated and there is
 * no need for short-circuit bookkeeping; the whole expression is always
 * syntax-checked. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfgcond.h"
#include "core/errors.h"
#include "core/util.h"

#define COND_MAX_NESTING   64 /* parentheses inside one expression */
#define COND_MAX_PRED_ARGS 2
#define VERSION_ELTS       7 /* a.b.c.d, tag (dev=1, pre/rc=2, release=3), n, g */

/* The expression being parsed. */
struct cond_parser {
    const char *text; /* the whole expression, for messages */
    const char *p;
    char **err;
};

/* A predicate and how many arguments it takes. */
struct cond_pred {
    const char *name;
    int nargs;
    int (*eval)(char **args, const char *name, int *val, char **err);
};

static int pred_defined(char **args, const char *name, int *val, char **err);
static int pred_feature(char **args, const char *name, int *val, char **err);
static int pred_streq(char **args, const char *name, int *val, char **err);
static int pred_strneq(char **args, const char *name, int *val, char **err);
static int pred_strstr(char **args, const char *name, int *val, char **err);
static int pred_version_atleast(char **args, const char *name, int *val,
                                char **err);
static int pred_version_before(char **args, const char *name, int *val,
                               char **err);

static const struct cond_pred cond_preds[] = {
    {"defined", 1, pred_defined},
    {"feature", 1, pred_feature},
    {"streq", 2, pred_streq},
    {"strneq", 2, pred_strneq},
    {"strstr", 2, pred_strstr},
    {"version_atleast", 1, pred_version_atleast},
    {"version_before", 1, pred_version_before},
    {NULL, 0, NULL},
};

/* What the build supplied through cfgcond_set_build(). */
static const char *build_version;
static const char *const *build_features;

static int cond_if(struct cfgcond_state *st, int argc, char **args, char **err);
static int cond_elif(struct cfgcond_state *st, int argc, char **args,
                     char **err);
static int cond_else(struct cfgcond_state *st, int argc, char **args,
                     char **err);
static int cond_endif(struct cfgcond_state *st, int argc, char **args,
                      char **err);
static int cond_expr(struct cond_parser *cp, int nesting, int *val);
static int cond_and(struct cond_parser *cp, int nesting, int *val);
static int cond_term(struct cond_parser *cp, int nesting, int *val);
static int cond_pred_call(struct cond_parser *cp, int *val);
static int cond_args(struct cond_parser *cp, char **argv, int *argc);
static char *cond_arg(struct cond_parser *cp);
static void skip_blanks(struct cond_parser *cp);
static char *join_words(int argc, char **args);
static int version_split(const char *v, unsigned long *out);
static int version_compare(const char *arg, const char *name, int *cmp,
                           char **err);

void cfgcond_init(struct cfgcond_state *st)
{
    memset(st, 0, sizeof(*st));
}

void cfgcond_set_line(struct cfgcond_state *st, int line)
{
    st->line = line;
}

void cfgcond_set_build(const char *version, const char *const *features)
{
    build_version = version;
    build_features = features;
}

int cfgcond_directive(struct cfgcond_state *st, int argc, char **args,
                      char **err)
{
    if (argc < 1)
        return RC_DECLINED;
    if (strcmp(args[0], ".if") == 0)
        return cond_if(st, argc, args, err);
    if (strcmp(args[0], ".elif") == 0)
        return cond_elif(st, argc, args, err);
    if (strcmp(args[0], ".else") == 0)
        return cond_else(st, argc, args, err);
    if (strcmp(args[0], ".endif") == 0)
        return cond_endif(st, argc, args, err);
    return RC_DECLINED;
}

int cfgcond_active(const struct cfgcond_state *st)
{
    return st->depth == 0 || st->levels[st->depth - 1].branch == CFGCOND_TAKE;
}

int cfgcond_finish(struct cfgcond_state *st, char **err)
{
    int line;

    if (st->depth == 0)
        return RC_OK;
    line = st->levels[st->depth - 1].line;
    st->depth = 0;
    return set_err(err, "unterminated '.if' at line %d", line);
}

int cfgcond_eval(int argc, char **args, int *result, char **err)
{
    struct cond_parser cp;
    char *text = join_words(argc, args);
    int rc = RC_OK;
    int val = 0;

    cp.text = text;
    cp.p = text;
    cp.err = err;
    skip_blanks(&cp);
    if (*cp.p != '\0') {
        rc = cond_expr(&cp, 0, &val);
        if (rc == RC_OK && *cp.p != '\0')
            rc = set_err(err,
                         "unexpected character '%c' at the end of "
                         "conditional expression '%s'",
                         *cp.p, text);
    }
    if (rc == RC_OK)
        *result = val;
    free(text);
    return rc;
}

/* ".if EXPR": opens a level, evaluated only if the enclosing one is taken. */
static int cond_if(struct cfgcond_state *st, int argc, char **args, char **err)
{
    struct cfgcond_level *lvl;
    int val;

    if (st->depth >= CFGCOND_MAX_DEPTH)
        return set_err(err, "too many nested '.if', max is %d",
                       CFGCOND_MAX_DEPTH);
    lvl = &st->levels[st->depth];
    lvl->seen_else = 0;
    lvl->line = st->line;
    lvl->branch = CFGCOND_SKIP;
    if (!cfgcond_active(st)) {
        st->depth++;
        return RC_OK;
    }
    st->depth++;
    if (cfgcond_eval(argc - 1, args + 1, &val, err) != RC_OK)
        return RC_ERR;
    lvl->branch = val ? CFGCOND_TAKE : CFGCOND_WAIT;
    return RC_OK;
}

/* ".elif EXPR": evaluated only while no branch of the level was taken. */
static int cond_elif(struct cfgcond_state *st, int argc, char **args,
                     char **err)
{
    struct cfgcond_level *lvl;
    int val;

    if (st->depth == 0)
        return set_err(err, "lone '.elif' with no matching '.if'");
    lvl = &st->levels[st->depth - 1];
    if (lvl->seen_else)
        return set_err(err, "'.elif' after '.else' is not permitted");
    if (lvl->branch != CFGCOND_WAIT) {
        lvl->branch = CFGCOND_SKIP;
        return RC_OK;
    }
    lvl->branch = CFGCOND_SKIP;
    if (cfgcond_eval(argc - 1, args + 1, &val, err) != RC_OK)
        return RC_ERR;
    lvl->branch = val ? CFGCOND_TAKE : CFGCOND_WAIT;
    return RC_OK;
}

/* ".else": taken only if no branch of the level was. */
static int cond_else(struct cfgcond_state *st, int argc, char **args,
                     char **err)
{
    struct cfgcond_level *lvl;

    if (argc > 1)
        return set_err(err, "unexpected argument '%s' for '.else'", args[1]);
    if (st->depth == 0)
        return set_err(err, "lone '.else' with no matching '.if'");
    lvl = &st->levels[st->depth - 1];
    if (lvl->seen_else)
        return set_err(err, "'.else' after '.else' is not permitted");
    lvl->seen_else = 1;
    lvl->branch = lvl->branch == CFGCOND_WAIT ? CFGCOND_TAKE : CFGCOND_SKIP;
    return RC_OK;
}

/* ".endif": closes the level. */
static int cond_endif(struct cfgcond_state *st, int argc, char **args,
                      char **err)
{
    if (argc > 1)
        return set_err(err, "unexpected argument '%s' for '.endif'", args[1]);
    if (st->depth == 0)
        return set_err(err, "lone '.endif' with no matching '.if'");
    st->depth--;
    return RC_OK;
}

/* expr := and ( "||" and )* */
static int cond_expr(struct cond_parser *cp, int nesting, int *val)
{
    int right;

    if (cond_and(cp, nesting, val) != RC_OK)
        return RC_ERR;
    while (cp->p[0] == '|' && cp->p[1] == '|') {
        cp->p += 2;
        if (cond_and(cp, nesting, &right) != RC_OK)
            return RC_ERR;
        *val = *val || right;
    }
    return RC_OK;
}

/* and := term ( "&&" term )* ; leaves <cp> after trailing blanks. */
static int cond_and(struct cond_parser *cp, int nesting, int *val)
{
    int right;

    if (cond_term(cp, nesting, val) != RC_OK)
        return RC_ERR;
    skip_blanks(cp);
    while (cp->p[0] == '&' && cp->p[1] == '&') {
        cp->p += 2;
        if (cond_term(cp, nesting, &right) != RC_OK)
            return RC_ERR;
        skip_blanks(cp);
        *val = *val && right;
    }
    return RC_OK;
}

/* term := "!"* ( integer | "(" expr ")" | predicate ) */
static int cond_term(struct cond_parser *cp, int nesting, int *val)
{
    const char *p;
    char *end;
    int neg = 0;

    skip_blanks(cp);
    while (*cp->p == '!') {
        neg = !neg;
        cp->p++;
        skip_blanks(cp);
    }
    p = cp->p;
    if (*p == '\0')
        return set_err(cp->err,
                       "missing term at the end of conditional expression "
                       "'%s'",
                       cp->text);
    if (isdigit((unsigned char)*p) ||
        ((*p == '-' || *p == '+') && isdigit((unsigned char)p[1]))) {
        *val = strtol(p, &end, 0) != 0;
        cp->p = end;
    } else if (*p == '(') {
        if (nesting >= COND_MAX_NESTING)
            return set_err(cp->err,
                           "conditional expression '%s' is nested too deeply",
                           cp->text);
        cp->p++;
        if (cond_expr(cp, nesting + 1, val) != RC_OK)
            return RC_ERR;
        if (*cp->p != ')')
            return set_err(cp->err,
                           "missing closing parenthesis in conditional "
                           "expression '%s'",
                           cp->text);
        cp->p++;
    } else if (isalpha((unsigned char)*p) || *p == '_') {
        if (cond_pred_call(cp, val) != RC_OK)
            return RC_ERR;
    } else {
        return set_err(cp->err,
                       "unexpected character '%c' in conditional expression "
                       "'%s'",
                       *p, cp->text);
    }
    if (neg)
        *val = !*val;
    return RC_OK;
}

/* Parses and evaluates "name(args)" at <cp->p>. */
static int cond_pred_call(struct cond_parser *cp, int *val)
{
    const struct cond_pred *pred;
    const char *name = cp->p;
    char *argv[COND_MAX_PRED_ARGS];
    size_t len;
    int argc = 0;
    int rc;
    int i;

    while (isalnum((unsigned char)*cp->p) || *cp->p == '_')
        cp->p++;
    len = (size_t)(cp->p - name);
    for (pred = cond_preds; pred->name != NULL; pred++)
        if (strlen(pred->name) == len && strncmp(pred->name, name, len) == 0)
            break;
    if (pred->name == NULL)
        return set_err(cp->err,
                       "unknown predicate '%.*s' in conditional expression "
                       "'%s'",
                       (int)len, name, cp->text);
    if (*cp->p != '(')
        return set_err(cp->err, "missing '(' after predicate '%s' in '%s'",
                       pred->name, cp->text);
    cp->p++;
    rc = cond_args(cp, argv, &argc);
    if (rc == RC_OK && argc != pred->nargs)
        rc = set_err(cp->err,
                     "predicate '%s' takes %d argument%s, got %d in '%s'",
                     pred->name, pred->nargs, pred->nargs > 1 ? "s" : "", argc,
                     cp->text);
    if (rc == RC_OK)
        rc = pred->eval(argv, pred->name, val, cp->err);
    for (i = 0; i < argc; i++)
        free(argv[i]);
    return rc;
}

/* Reads comma-separated arguments up to and including ')' into <argv>,
 * which the caller frees (<*argc> of them, even on error). "()" has none. */
static int cond_args(struct cond_parser *cp, char **argv, int *argc)
{
    char *arg;

    skip_blanks(cp);
    if (*cp->p == ')') {
        cp->p++;
        return RC_OK;
    }
    for (;;) {
        arg = cond_arg(cp);
        if (arg == NULL)
            return RC_ERR;
        if (*argc == COND_MAX_PRED_ARGS) {
            free(arg);
            return set_err(cp->err, "too many arguments to a predicate in '%s'",
                           cp->text);
        }
        argv[(*argc)++] = arg;
        if (*cp->p++ == ')')
            return RC_OK;
    }
}

/* Reads one argument up to an unquoted ',' or ')', which is left at <cp->p>.
 * Quotes are removed, a backslash outside single quotes takes the next byte
 * literally, and unquoted blanks around the argument are trimmed. Returns a
 * string the caller frees, or NULL with the error set. */
static char *cond_arg(struct cond_parser *cp)
{
    char *buf = xmalloc(strlen(cp->p) + 1);
    size_t n = 0, keep = 0;
    int sq = 0, dq = 0;
    char c;

    skip_blanks(cp);
    while ((c = *cp->p) != '\0') {
        if (!sq && !dq && (c == ',' || c == ')'))
            break;
        cp->p++;
        if ((c == '"' && !sq) || (c == '\'' && !dq)) {
            *(c == '"' ? &dq : &sq) ^= 1;
            keep = n;
            continue;
        }
        if (c == '\\' && !sq && *cp->p != '\0')
            c = *cp->p++;
        else if (!sq && !dq && (c == ' ' || c == '\t')) {
            buf[n++] = c;
            continue;
        }
        buf[n++] = c;
        keep = n;
    }
    if (c == '\0') {
        free(buf);
        set_err(cp->err,
                "missing closing parenthesis after predicate arguments in "
                "'%s'",
                cp->text);
        return NULL;
    }
    buf[keep] = '\0';
    return buf;
}

/* Skips spaces and tabs. */
static void skip_blanks(struct cond_parser *cp)
{
    while (*cp->p == ' ' || *cp->p == '\t')
        cp->p++;
}

/* Returns <args> joined by single spaces, in a string the caller frees. */
static char *join_words(int argc, char **args)
{
    size_t len = 1, pos = 0, n;
    char *s;
    int i;

    for (i = 0; i < argc; i++)
        len += strlen(args[i]) + 1;
    s = xmalloc(len);
    for (i = 0; i < argc; i++) {
        n = strlen(args[i]);
        if (i > 0)
            s[pos++] = ' ';
        memcpy(s + pos, args[i], n);
        pos += n;
    }
    s[pos] = '\0';
    return s;
}

/* defined(VAR): the environment variable exists, even empty. */
static int pred_defined(char **args, const char *name, int *val, char **err)
{
    *val = getenv(args[0]) != NULL;
    return RC_OK;
}

/* feature(NAME): NAME is in the build's feature list (exact match). */
static int pred_feature(char **args, const char *name, int *val, char **err)
{
    const char *const *f;

    *val = 0;
    for (f = build_features; f != NULL && *f != NULL; f++)
        if (strcmp(*f, args[0]) == 0)
            *val = 1;
    return RC_OK;
}

/* streq(a,b): the strings are equal. */
static int pred_streq(char **args, const char *name, int *val, char **err)
{
    *val = strcmp(args[0], args[1]) == 0;
    return RC_OK;
}

/* strneq(a,b): the strings differ. */
static int pred_strneq(char **args, const char *name, int *val, char **err)
{
    *val = strcmp(args[0], args[1]) != 0;
    return RC_OK;
}

/* strstr(haystack,needle): the second string is found in the first. */
static int pred_strstr(char **args, const char *name, int *val, char **err)
{
    *val = strstr(args[0], args[1]) != NULL;
    return RC_OK;
}

/* version_atleast(V): the product version is V or newer. */
static int pred_version_atleast(char **args, const char *name, int *val,
                                char **err)
{
    int cmp;

    if (version_compare(args[0], name, &cmp, err) != RC_OK)
        return RC_ERR;
    *val = cmp >= 0;
    return RC_OK;
}

/* version_before(V): the product version is strictly older than V. */
static int pred_version_before(char **args, const char *name, int *val,
                               char **err)
{
    int cmp;

    if (version_compare(args[0], name, &cmp, err) != RC_OK)
        return RC_ERR;
    *val = cmp < 0;
    return RC_OK;
}

/* Compares the product version with <arg> into <*cmp> (<0, 0, >0). Unlike
 * HAProxy, which then silently answers as if the version were newer, an
 * unparsable <arg> is an error. */
static int version_compare(const char *arg, const char *name, int *cmp,
                           char **err)
{
    unsigned long cur[VERSION_ELTS], ref[VERSION_ELTS];
    int i;

    if (build_version == NULL || version_split(build_version, cur) != RC_OK)
        return set_err(err, "product version is unknown for '%s'", name);
    if (version_split(arg, ref) != RC_OK)
        return set_err(err, "invalid version '%s' in predicate '%s'", arg,
                       name);
    *cmp = 0;
    for (i = 0; i < VERSION_ELTS && *cmp == 0; i++)
        *cmp = cur[i] < ref[i] ? -1 : cur[i] > ref[i];
    return RC_OK;
}

/* Splits a version as HAProxy's split_version() does, "a[.b[.c[.d]]]" then
 * an optional "-dev<n>", "-pre<n>" or "-rc<n>", anything, and a final
 * "-<g>": missing numbers are 0 and a release sorts after its dev, pre and
 * rc versions. */
static int version_split(const char *v, unsigned long *out)
{
    static const struct {
        const char *name;
        unsigned long rank;
    } tags[] = {{"dev", 1}, {"pre", 2}, {"rc", 2}};
    const char *last;
    char *end;
    size_t i;
    int n;

    memset(out, 0, VERSION_ELTS * sizeof(*out));
    out[4] = 3;
    for (n = 0; n < 4; n++) {
        if (!isdigit((unsigned char)*v))
            return RC_ERR;
        out[n] = strtoul(v, &end, 10);
        v = end;
        if (*v != '.' || n == 3)
            break;
        v++;
    }
    if (*v == '\0')
        return RC_OK;
    if (*v != '-')
        return RC_ERR;
    for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        size_t tl = strlen(tags[i].name);

        if (strncmp(v + 1, tags[i].name, tl) == 0) {
            out[4] = tags[i].rank;
            out[5] = strtoul(v + 1 + tl, &end, 10);
            v = end;
            break;
        }
    }
    last = strrchr(v, '-');
    if (last != NULL && last[1] != '\0' &&
        last[1 + strspn(last + 1, "0123456789")] == '\0')
        out[6] = strtoul(last + 1, NULL, 10);
    return RC_OK;
}

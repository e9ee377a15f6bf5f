/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The auth module: "userlist NAME" sections of "user" and "group" lines,
 * checked when the whole configuration is read (a group or user named
 * but not declared is an error there, as in HAProxy). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "core/auth.h"
#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/module.h"
#include "core/util.h"

/* The section's bit among the module sections (http-errors has 0). */
#define CFG_SEC_USERLIST CFG_SEC_MODULE(1)

struct auth_user {
    struct auth_user *next;
    char *name;
    char *pass;    /* NULL: this user never authenticates */
    int hashed;    /* <pass> is a crypt(3) hash */
    char *groups;  /* "groups a,b" as written, NULL if none */
    char **member; /* the groups it belongs to, NULL-terminated */
    unsigned nmember;
    const char *file;
    int line;
};

struct auth_group {
    struct auth_group *next;
    char *name;
    char *users; /* "users a,b" as written, NULL if none */
    const char *file;
    int line;
};

struct userlist {
    struct userlist *next;
    char *name;
    struct auth_user *users;
    struct auth_group *groups;
    const char *file;
    int line;
};

const struct userlist *userlist_find(const struct cfg *cfg, const char *name)
{
    const struct userlist *ul;

    ul = *cfg_module_data((struct cfg *)cfg, &auth_module);
    while (ul != NULL && strcmp(ul->name, name) != 0)
        ul = ul->next;
    return ul;
}

static struct auth_user *user_find(const struct userlist *ul, const char *name,
                                   size_t len)
{
    struct auth_user *u;

    for (u = ul->users; u != NULL; u = u->next)
        if (strlen(u->name) == len && memcmp(u->name, name, len) == 0)
            return u;
    return NULL;
}

static struct auth_group *group_find(const struct userlist *ul,
                                     const char *name, size_t len)
{
    struct auth_group *g;

    for (g = ul->groups; g != NULL; g = g->next)
        if (strlen(g->name) == len && memcmp(g->name, name, len) == 0)
            return g;
    return NULL;
}

/* crypt(3) of <pass> with the method and salt of <setting>, or NULL when
 * the method is unknown or the setting malformed. */
static const char *hash_of(const char *pass, const char *setting)
{
    /* 32 kB, one per process: zeroed before the first use (static), as
     * crypt_r wants, and reusable as it is after that */
    static struct crypt_data cd;
    const char *h;

    h = crypt_r(pass, setting, &cd);
    return h != NULL && h[0] != '*' ? h : NULL;
}

const struct auth_user *userlist_check(const struct userlist *ul,
                                       struct ist user, struct ist pass)
{
    const struct auth_user *u = user_find(ul, user.ptr, user.len);
    const char *h;
    char *p;
    int ok;

    if (u == NULL || u->pass == NULL || memchr(pass.ptr, 0, pass.len))
        return NULL;
    if (!u->hashed)
        return strlen(u->pass) == pass.len &&
                       memcmp(u->pass, pass.ptr, pass.len) == 0
                   ? u
                   : NULL;
    p = xstrndup(pass.ptr, pass.len);
    h = hash_of(p, u->pass);
    ok = h != NULL && strcmp(h, u->pass) == 0;
    free(p);
    return ok ? u : NULL;
}

const char *auth_user_group(const struct auth_user *u, unsigned i)
{
    return i < u->nmember ? u->member[i] : NULL;
}

/* "userlist NAME" */
static int userlist_open(struct cfg_ctx *ctx, int argc, char **args, char **err)
{
    void **slot = cfg_module_data(ctx->cfg, &auth_module);
    struct userlist *ul, **tail = (struct userlist **)slot;

    if (argc != 2)
        return set_err(err, "'userlist' expects exactly one name");
    for (ul = *slot; ul != NULL; tail = &ul->next, ul = ul->next)
        if (strcmp(ul->name, args[1]) == 0)
            return set_err(err,
                           "userlist '%s' has the same name as the one "
                           "declared at %s:%d",
                           args[1], ul->file, ul->line);
    ul = xcalloc(1, sizeof(*ul));
    ul->name = xstrdup(args[1]);
    ul->file = ctx->file;
    ul->line = ctx->line;
    *tail = ul;
    ctx->sec_data = ul;
    return RC_OK;
}

/* Sets the password of <u> from "password HASH" or "insecure-password
 * PASS". */
static int user_password(struct auth_user *u, const char *kind,
                         const char *value, char **err)
{
    if (u->pass != NULL)
        return set_err(err, "user '%s' has two passwords", u->name);
    u->hashed = strcmp(kind, "password") == 0;
    u->pass = xstrdup(value);
    /* a hash crypt(3) cannot use would refuse every password */
    if (u->hashed && hash_of("", u->pass) == NULL)
        return set_err(err,
                       "the encrypted password of user '%s' is not "
                       "supported by crypt(3)",
                       u->name);
    return RC_OK;
}

/* "user NAME [password HASH|insecure-password PASS] [groups G1,G2...]" */
static int parse_user(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                      char **args, char **err)
{
    struct userlist *ul = ctx->sec_data;
    struct auth_user *u, **tail = &ul->users;
    int i;

    if (user_find(ul, args[1], strlen(args[1])) != NULL)
        return set_err(err, "duplicate user '%s' in userlist '%s'", args[1],
                       ul->name);
    while (*tail != NULL)
        tail = &(*tail)->next;
    u = xcalloc(1, sizeof(*u));
    u->name = xstrdup(args[1]);
    u->file = ctx->file;
    u->line = ctx->line;
    *tail = u;
    for (i = 2; i < argc; i += 2) {
        if (i + 1 >= argc)
            return set_err(err, "'%s' expects a value", args[i]);
        if (strcmp(args[i], "password") == 0 ||
            strcmp(args[i], "insecure-password") == 0) {
            if (user_password(u, args[i], args[i + 1], err) != RC_OK)
                return RC_ERR;
        } else if (strcmp(args[i], "groups") == 0 && u->groups == NULL) {
            u->groups = xstrdup(args[i + 1]);
        } else {
            return set_err(err,
                           "'user' expects 'password', 'insecure-password' "
                           "or 'groups', got '%s'",
                           args[i]);
        }
    }
    return RC_OK;
}

/* "group NAME [users U1,U2...]" */
static int parse_group(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                       char **args, char **err)
{
    struct userlist *ul = ctx->sec_data;
    struct auth_group *g, **tail = &ul->groups;

    if (group_find(ul, args[1], strlen(args[1])) != NULL)
        return set_err(err, "duplicate group '%s' in userlist '%s'", args[1],
                       ul->name);
    if (argc == 3 || (argc == 4 && strcmp(args[2], "users") != 0) || argc > 4)
        return set_err(err, "'group' expects a name and 'users U1,U2...'");
    while (*tail != NULL)
        tail = &(*tail)->next;
    g = xcalloc(1, sizeof(*g));
    g->name = xstrdup(args[1]);
    g->users = argc == 4 ? xstrdup(args[3]) : NULL;
    g->file = ctx->file;
    g->line = ctx->line;
    *tail = g;
    return RC_OK;
}

/* Adds <g> to the groups of <u>, once. */
static void user_join(struct auth_user *u, const struct auth_group *g)
{
    unsigned i;

    for (i = 0; i < u->nmember; i++)
        if (u->member[i] == g->name)
            return;
    u->member = xrealloc(u->member, (u->nmember + 2) * sizeof(*u->member));
    u->member[u->nmember++] = g->name;
    u->member[u->nmember] = NULL;
}

/* Walks the comma-separated names of <csv>, written at <file>:<line>:
 * joins each user to <g> (<u> NULL) or <u> to each group. Returns the
 * number of names that are not declared, each reported. */
static int resolve_names(struct userlist *ul, const char *csv,
                         struct auth_user *u, struct auth_group *g,
                         const char *file, int line)
{
    const char *p = csv;
    int errors = 0;

    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        struct auth_user *member = u ? u : user_find(ul, p, len);
        struct auth_group *group = g ? g : group_find(ul, p, len);

        if (len > 0 && (member == NULL || group == NULL)) {
            log_alert("%s:%d: userlist '%s': no %s '%.*s'", file, line,
                      ul->name, u ? "group" : "user", (int)len, p);
            errors++;
        } else if (len > 0) {
            user_join(member, group);
        }
        p += len + (p[len] == ',');
    }
    return errors;
}

static int auth_post_parse(struct cfg *cfg)
{
    struct userlist *ul = *cfg_module_data(cfg, &auth_module);
    struct auth_group *g;
    struct auth_user *u;
    int errors = 0;

    for (; ul != NULL; ul = ul->next) {
        for (g = ul->groups; g != NULL; g = g->next)
            if (g->users != NULL)
                errors +=
                    resolve_names(ul, g->users, NULL, g, g->file, g->line);
        for (u = ul->users; u != NULL; u = u->next)
            if (u->groups != NULL)
                errors +=
                    resolve_names(ul, u->groups, u, NULL, u->file, u->line);
    }
    return errors == 0 ? RC_OK : RC_ERR;
}

static void auth_cfg_free(struct cfg *cfg)
{
    void **slot = cfg_module_data(cfg, &auth_module);
    struct userlist *ul = *slot, *next_ul;

    for (; ul != NULL; ul = next_ul) {
        struct auth_user *u, *next_u;
        struct auth_group *g, *next_g;

        next_ul = ul->next;
        for (u = ul->users; u != NULL; u = next_u) {
            next_u = u->next;
            free(u->name);
            free(u->pass);
            free(u->groups);
            free(u->member);
            free(u);
        }
        for (g = ul->groups; g != NULL; g = next_g) {
            next_g = g->next;
            free(g->name);
            free(g->users);
            free(g);
        }
        free(ul->name);
        free(ul);
    }
    *slot = NULL;
}

static const struct cfg_section auth_sections[] = {
    {"userlist", CFG_SEC_USERLIST, userlist_open},
    {NULL, 0, NULL},
};

static const struct cfg_kw auth_keywords[] = {
    {"user", CFG_SEC_USERLIST, 1, -1, parse_user, 0, 0, 0},
    {"group", CFG_SEC_USERLIST, 1, 3, parse_group, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

static const struct cfg_kw *const auth_keyword_tables[] = {auth_keywords, NULL};

const struct module auth_module = {
    .name = "auth",
    .keywords = auth_keyword_tables,
    .sections = auth_sections,
    .post_parse = auth_post_parse,
    .cfg_free = auth_cfg_free,
};

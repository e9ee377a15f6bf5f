/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The configuration parser's driver: files, lines, conditional blocks,
 * sections, and dispatch of each line to the keyword table row that owns
 * it. Every error is logged as "file:line: message" and parsing goes on, so
 * that one run reports every error of every file (HAProxy's way). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/cfg.h"
#include "core/cfgcond.h"
#include "core/cfgparse.h"
#include "core/cfgtok.h"
#include "core/cfgval.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/module.h"
#include "core/proxy.h"
#include "core/util.h"

#define CFG_MAX_TABLES   32
#define CFG_MAX_SECTIONS 16

/* A section that we recognise but do not support: its lines are skipped
 * after one error on the section line. */
#define CFG_SEC_SKIP 0x80

struct kw_table {
    const struct cfg_kw *kws;
    const struct module *module;
};

static struct kw_table kw_tables[CFG_MAX_TABLES];
static int kw_ntables;

struct sec_entry {
    const struct cfg_section *sec;
    const struct module *module;
};

/* Sections that modules own, beside core's global and proxy sections. */
static struct sec_entry sec_tables[CFG_MAX_SECTIONS];
static int sec_nentries;

/* HAProxy keywords that we know and do not support yet: naming them as
 * unsupported tells the user it is not a typo. */
static const char *const unsupported_kws[] = {
    "email-alert",   "persist",        "description",    "bind-process",
    "log-format-sd", "h1-case-adjust", "external-check", NULL,
};

/* HAProxy sections we do not support yet. */
static const char *const unsupported_secs[] = {
    "resolvers", "program",     "ring",   "mailers", "fcgi-app",
    "crt-store", "log-forward", "traces", NULL,
};

/* The module section opened by <name>, or NULL. */
static const struct sec_entry *sec_find(const char *name)
{
    int i;

    for (i = 0; i < sec_nentries; i++)
        if (strcmp(sec_tables[i].sec->name, name) == 0)
            return &sec_tables[i];
    return NULL;
}

/* The module section whose bit is <bit>, or NULL. */
static const struct sec_entry *sec_find_bit(unsigned bit)
{
    int i;

    for (i = 0; i < sec_nentries; i++)
        if (sec_tables[i].sec->sec_bit == bit)
            return &sec_tables[i];
    return NULL;
}

/* Registers the sections of module <m>; a name or bit already taken is a
 * programming error, logged and refused. */
static void register_sections(const struct module *m)
{
    const struct cfg_section *sec;

    for (sec = m->sections; sec != NULL && sec->name != NULL; sec++) {
        if (sec_nentries == CFG_MAX_SECTIONS || sec_find(sec->name) != NULL ||
            sec_find_bit(sec->sec_bit) != NULL ||
            sec->sec_bit < CFG_SEC_MODULE(0)) {
            log_alert("module %s: section '%s' cannot be registered", m->name,
                      sec->name);
            continue;
        }
        sec_tables[sec_nentries].sec = sec;
        sec_tables[sec_nentries].module = m;
        sec_nentries++;
    }
}

void cfgparse_register_modules(const struct module *const *list)
{
    const struct cfg_kw *const *t;

    kw_ntables = 0;
    sec_nentries = 0;
    for (; *list != NULL; list++) {
        register_sections(*list);
        for (t = (*list)->keywords; t != NULL && *t != NULL; t++) {
            if (kw_ntables == CFG_MAX_TABLES)
                return;
            kw_tables[kw_ntables].kws = *t;
            kw_tables[kw_ntables].module = *list;
            kw_ntables++;
        }
    }
}

int cfg_word_index(const char *word, const char *const *words, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(word, words[i]) == 0)
            return (int)i;
    return -1;
}

int cfg_kw_words(const struct cfg_kw *kw)
{
    const char *p;
    int n = 1;

    for (p = kw->name; *p; p++)
        if (*p == ' ')
            n++;
    return n;
}

/* Returns 1 if the words of <kw>'s name are the first words of <args>. */
static int kw_matches(const struct cfg_kw *kw, int argc, char **args)
{
    const char *p = kw->name;
    int i;

    for (i = 0; i < argc; i++) {
        size_t n = strcspn(p, " ");

        if (strlen(args[i]) != n || strncmp(args[i], p, n) != 0)
            return 0;
        p += n;
        if (*p == '\0')
            return 1;
        p++;
    }
    return 0;
}

/* Finds the keyword matching <args> with the most words; among equals,
 * the one valid in <section> wins ("maxconn" is both a global and a proxy
 * keyword, in different tables). */
static const struct cfg_kw *kw_lookup(int argc, char **args, unsigned section,
                                      const struct module **owner)
{
    const struct cfg_kw *best = NULL;
    int i, bestw = 0, best_here = 0;

    for (i = 0; i < kw_ntables; i++) {
        const struct cfg_kw *kw;

        for (kw = kw_tables[i].kws; kw->name != NULL; kw++) {
            int w = cfg_kw_words(kw), here = (kw->sections & section) != 0;

            if (!kw_matches(kw, argc, args) || w < bestw ||
                (w == bestw && (best_here || !here)))
                continue;
            best = kw;
            bestw = w;
            best_here = here;
            *owner = kw_tables[i].module;
        }
    }
    return best;
}

/* Returns 1 if <word> is in the NULL-terminated <list>. */
static int word_in(const char *word, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(word, *list) == 0)
            return 1;
    return 0;
}

static const char *section_name(unsigned sec)
{
    const struct sec_entry *se;

    switch (sec) {
    case CFG_SEC_GLOBAL:
        return "global";
    case CFG_SEC_DEFAULTS:
        return "defaults";
    case CFG_SEC_FRONTEND:
        return "frontend";
    case CFG_SEC_BACKEND:
        return "backend";
    case CFG_SEC_LISTEN:
        return "listen";
    default:
        se = sec_find_bit(sec);
        return se != NULL ? se->sec->name : "no";
    }
}

/* Logs "file:line: msg" at <level>. */
static void cfg_logv(struct cfg_ctx *ctx, int level, const char *fmt,
                     va_list ap)
{
    char msg[2048];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    log_send(level, "%s:%d: %s", ctx->file, ctx->line, msg);
}

void cfg_warn(struct cfg_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cfg_logv(ctx, LOG_LVL_WARNING, fmt, ap);
    va_end(ap);
    ctx->warnings++;
}

void cfg_alert(struct cfg_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cfg_logv(ctx, LOG_LVL_ALERT, fmt, ap);
    va_end(ap);
    ctx->errors++;
}

/* Opens a proxy section ("frontend NAME [from DEFAULTS]"...). */
static void section_proxy(struct cfg_ctx *ctx, unsigned sec, int argc,
                          char **args)
{
    static const unsigned caps[] = {[CFG_SEC_DEFAULTS] = PX_CAP_DEF,
                                    [CFG_SEC_FRONTEND] = PX_CAP_FE,
                                    [CFG_SEC_BACKEND] = PX_CAP_BE,
                                    [CFG_SEC_LISTEN] = PX_CAP_FE | PX_CAP_BE};
    const struct proxy *defaults = NULL;
    const char *name = argc > 1 ? args[1] : NULL;
    struct proxy *px, *d;
    int i;

    ctx->section = sec;
    ctx->px = NULL;
    ctx->sec_data = NULL;
    if (name != NULL && strcmp(name, "from") == 0 && sec == CFG_SEC_DEFAULTS)
        name = NULL;
    if (name == NULL && sec != CFG_SEC_DEFAULTS) {
        cfg_alert(ctx, "'%s' expects a name", args[0]);
        ctx->section = CFG_SEC_SKIP;
        return;
    }
    /* a proxy takes the last defaults section unless "from NAME" picks
     * one; a defaults section starts from the built-in values (HAProxy
     * does not chain them) unless it says "from" too */
    for (d = ctx->cfg->defaults; d != NULL && sec != CFG_SEC_DEFAULTS;
         d = d->next)
        defaults = d;
    for (i = 1; i < argc; i++) {
        if (strcmp(args[i], "from") != 0)
            continue;
        if (i + 1 >= argc) {
            cfg_alert(ctx, "'from' expects the name of a defaults section");
            break;
        }
        for (defaults = NULL, d = ctx->cfg->defaults; d; d = d->next)
            if (d->name != NULL && strcmp(d->name, args[i + 1]) == 0)
                defaults = d;
        if (defaults == NULL)
            cfg_alert(ctx, "defaults section '%s' not found", args[i + 1]);
        break;
    }
    if (sec != CFG_SEC_DEFAULTS && name != NULL &&
        (px = proxy_find(ctx->cfg, name, 0)) != NULL &&
        (px->cap & caps[sec]) != 0)
        cfg_alert(ctx, "%s '%s' has the same name as %s '%s' declared at %s:%d",
                  args[0], name, proxy_cap_name(px), px->name, px->file,
                  px->line);
    px = proxy_new(name, caps[sec], defaults, ctx->file, ctx->line);
    if (sec == CFG_SEC_DEFAULTS) {
        struct proxy **pp = &ctx->cfg->defaults;

        while (*pp != NULL)
            pp = &(*pp)->next;
        *pp = px;
    } else {
        *ctx->cfg->px_tail = px;
        ctx->cfg->px_tail = &px->next;
    }
    ctx->px = px;
}

/* Opens the module section <se> from its header line. */
static void section_module(struct cfg_ctx *ctx, const struct sec_entry *se,
                           int argc, char **args)
{
    char *err = NULL;

    ctx->section = se->sec->sec_bit;
    ctx->px = NULL;
    ctx->sec_data = NULL;
    ctx->module = se->module;
    if (se->sec->open(ctx, argc, args, &err) != RC_OK) {
        cfg_alert(ctx, "%s", err ? err : "invalid section");
        ctx->section = CFG_SEC_SKIP;
    }
    free(err);
}

/* Handles a section line; returns 1 if <args>[0] opened a section. */
static int section_line(struct cfg_ctx *ctx, int argc, char **args)
{
    const struct sec_entry *se;
    const char *w = args[0];

    if (strcmp(w, "global") == 0) {
        ctx->section = CFG_SEC_GLOBAL;
        ctx->px = NULL;
        ctx->sec_data = NULL;
        if (argc > 1)
            cfg_alert(ctx, "'global' takes no argument, got '%s'", args[1]);
    } else if (strcmp(w, "defaults") == 0) {
        section_proxy(ctx, CFG_SEC_DEFAULTS, argc, args);
    } else if (strcmp(w, "frontend") == 0) {
        section_proxy(ctx, CFG_SEC_FRONTEND, argc, args);
    } else if (strcmp(w, "backend") == 0) {
        section_proxy(ctx, CFG_SEC_BACKEND, argc, args);
    } else if (strcmp(w, "listen") == 0) {
        section_proxy(ctx, CFG_SEC_LISTEN, argc, args);
    } else if ((se = sec_find(w)) != NULL) {
        section_module(ctx, se, argc, args);
    } else if (word_in(w, unsupported_secs)) {
        cfg_alert(ctx, "section '%s' is not supported yet", w);
        ctx->section = CFG_SEC_SKIP;
    } else {
        return 0;
    }
    return 1;
}

/* Dispatches one keyword line to its table row. */
static void keyword_line(struct cfg_ctx *ctx, int argc, char **args)
{
    const struct module *owner = NULL;
    const struct cfg_kw *kw;
    char *err = NULL;
    int words, nargs, off = 0;

    if (ctx->section == CFG_SEC_SKIP)
        return;
    if (strcmp(args[0], "no") == 0 && argc > 1)
        off = 1; /* "no option X": the keyword's handler sees "no" */
    kw = kw_lookup(argc - off, args + off, ctx->section, &owner);
    if (kw == NULL) {
        if (word_in(args[off], unsupported_kws) || action_exists(args[off]))
            cfg_alert(ctx, "keyword '%s' is not supported yet", args[off]);
        else if (ctx->section == 0)
            cfg_alert(ctx, "unknown keyword '%s' out of section", args[off]);
        else
            cfg_alert(ctx, "unknown keyword '%s' in '%s' section", args[off],
                      section_name(ctx->section));
        return;
    }
    if (ctx->section == 0 || (kw->sections & ctx->section) == 0) {
        cfg_alert(ctx, "'%s' is not allowed in '%s' section", kw->name,
                  section_name(ctx->section));
        return;
    }
    words = cfg_kw_words(kw) + off;
    nargs = argc - words;
    if (nargs < kw->min_args) {
        cfg_alert(ctx, "'%s' expects %s%d argument%s, got %d", kw->name,
                  kw->max_args == kw->min_args ? "" : "at least ", kw->min_args,
                  kw->min_args > 1 ? "s" : "", nargs);
        return;
    }
    if (kw->max_args >= 0 && nargs > kw->max_args) {
        cfg_alert(ctx, "'%s' expects at most %d argument%s, got extra '%s'",
                  kw->name, kw->max_args, kw->max_args > 1 ? "s" : "",
                  args[words + kw->max_args]);
        return;
    }
    ctx->module = owner;
    if (kw->parse(ctx, kw, argc, args, &err) != RC_OK)
        cfg_alert(ctx, "%s", err ? err : "invalid line");
    free(err);
}

/* Handles ".diag", ".notice", ".warning", ".alert"; 1 if it was one. */
static int message_line(struct cfg_ctx *ctx, int argc, char **args)
{
    static const struct {
        const char *word;
        int level;
    } dirs[] = {{".diag", LOG_LVL_NOTICE},
                {".notice", LOG_LVL_NOTICE},
                {".warning", LOG_LVL_WARNING},
                {".alert", LOG_LVL_ALERT}};
    size_t i;

    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        if (strcmp(args[0], dirs[i].word) != 0)
            continue;
        if (dirs[i].level == LOG_LVL_ALERT)
            cfg_alert(ctx, "%s", argc > 1 ? args[1] : "");
        else if (dirs[i].level == LOG_LVL_WARNING)
            cfg_warn(ctx, "%s", argc > 1 ? args[1] : "");
        else
            log_send(dirs[i].level, "%s:%d: %s", ctx->file, ctx->line,
                     argc > 1 ? args[1] : "");
        return 1;
    }
    return 0;
}

/* Parses one line of text. */
static void parse_line(struct cfg_ctx *ctx, struct cfgcond_state *cond,
                       const char *line)
{
    struct cfg_words w;
    char *err = NULL;
    int rc;

    if (cfgtok_split(line, &w, &err) != RC_OK) {
        cfg_alert(ctx, "%s", err);
        free(err);
        return;
    }
    if (w.argc == 0)
        goto out;
    cfgcond_set_line(cond, ctx->line);
    rc = cfgcond_directive(cond, w.argc, w.args, &err);
    if (rc == RC_ERR) {
        cfg_alert(ctx, "%s", err);
        free(err);
        goto out;
    }
    if (rc == RC_OK || !cfgcond_active(cond))
        goto out;
    if (message_line(ctx, w.argc, w.args))
        goto out;
    if (!section_line(ctx, w.argc, w.args))
        keyword_line(ctx, w.argc, w.args);
out:
    cfgtok_free(&w);
}

/* The line being parsed, NULL between files. */
static struct cfg_ctx *parsing;

struct cfg_ctx *cfgparse_current(void)
{
    return parsing;
}

/* Parses <fp> named <name>; returns the errors found. */
static int parse_stream(struct cfg *cfg, const char *name, FILE *fp)
{
    struct cfg_ctx ctx = {.cfg = cfg, .file = cfg_intern_file(cfg, name)};
    struct cfgcond_state cond;
    char *line = NULL, *err = NULL;
    size_t cap = 0;
    ssize_t n;

    cfgcond_init(&cond);
    parsing = &ctx;
    while ((n = getline(&line, &cap, fp)) >= 0) {
        ctx.line++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (memchr(line, '\0', (size_t)n) != NULL) {
            cfg_alert(&ctx, "NUL character in line");
            continue;
        }
        parse_line(&ctx, &cond, line);
    }
    parsing = NULL;
    free(line);
    if (cfgcond_finish(&cond, &err) != RC_OK) {
        cfg_alert(&ctx, "%s", err);
        free(err);
    }
    return ctx.errors;
}

/* Parses one file. */
static int parse_file(struct cfg *cfg, const char *path)
{
    FILE *fp = fopen(path, "r");
    int errors;

    if (fp == NULL) {
        log_alert("could not open configuration file %s : %s", path,
                  strerror(errno));
        return 1;
    }
    errors = parse_stream(cfg, path, fp);
    fclose(fp);
    return errors;
}

/* Keeps directory entries named *.cfg. */
static int cfg_file_filter(const struct dirent *de)
{
    size_t n = strlen(de->d_name);

    return n > 4 && de->d_name[0] != '.' &&
           strcmp(de->d_name + n - 4, ".cfg") == 0;
}

/* Parses the *.cfg files of directory <path> in lexical order. */
static int parse_dir(struct cfg *cfg, const char *path)
{
    struct dirent **list;
    int i, n, errors = 0;

    n = scandir(path, &list, cfg_file_filter, alphasort);
    if (n < 0) {
        log_alert("could not read configuration directory %s : %s", path,
                  strerror(errno));
        return 1;
    }
    for (i = 0; i < n; i++) {
        char *file = xasprintf("%s/%s", path, list[i]->d_name);

        errors += parse_file(cfg, file);
        free(file);
        free(list[i]);
    }
    free(list);
    return errors;
}

int cfgparse_paths(struct cfg *cfg, int npaths, char **paths)
{
    struct stat st;
    int i, errors = 0;

    for (i = 0; i < npaths; i++) {
        if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
            errors += parse_dir(cfg, paths[i]);
        else
            errors += parse_file(cfg, paths[i]);
    }
    return errors;
}

int cfgparse_buffer(struct cfg *cfg, const char *name, const char *text)
{
    FILE *fp = fmemopen((void *)text, strlen(text), "r");
    int errors;

    if (fp == NULL)
        return 1;
    errors = parse_stream(cfg, name, fp);
    fclose(fp);
    return errors;
}

int cfgparse_check(struct cfg *cfg)
{
    const struct module *const *m;
    int errors = proxies_check(cfg);

    if (errors != 0)
        return errors;
    for (m = modules; *m != NULL; m++)
        if ((*m)->post_parse != NULL && (*m)->post_parse(cfg) != RC_OK)
            errors++;
    return errors;
}

/* Returns the struct the generic setters write into. */
static char *setter_base(struct cfg_ctx *ctx)
{
    if (ctx->section == CFG_SEC_GLOBAL)
        return (char *)&ctx->cfg->global;
    if (ctx->section >= CFG_SEC_MODULE(0))
        return ctx->sec_data;
    return (char *)ctx->px;
}

/* The single value word of a generic-setter keyword. */
static const char *setter_arg(const struct cfg_kw *kw, int argc, char **args)
{
    int w = cfg_kw_words(kw);

    return w < argc ? args[w] : "";
}

int cfg_set_int(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                char **args, char **err)
{
    long long v;

    if (cfgval_int(setter_arg(kw, argc, args), kw->lo, kw->hi, &v, err) !=
        RC_OK)
        return RC_ERR;
    *(int *)(setter_base(ctx) + kw->offset) = (int)v;
    return RC_OK;
}

int cfg_set_duration(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                     char **args, char **err)
{
    unsigned ms;

    if (cfgval_duration_ms(setter_arg(kw, argc, args), &ms, err) != RC_OK)
        return RC_ERR;
    *(unsigned *)(setter_base(ctx) + kw->offset) = ms;
    return RC_OK;
}

int cfg_set_size(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                 char **args, char **err)
{
    unsigned long long v;

    if (cfgval_size(setter_arg(kw, argc, args), &v, err) != RC_OK)
        return RC_ERR;
    if ((kw->hi > 0 && v > (unsigned long long)kw->hi) ||
        v < (unsigned long long)kw->lo)
        return set_err(err, "'%s' must be between %lld and %lld", kw->name,
                       kw->lo, kw->hi);
    *(unsigned long long *)(setter_base(ctx) + kw->offset) = v;
    return RC_OK;
}

int cfg_set_string(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                   char **args, char **err)
{
    char **slot = (char **)(setter_base(ctx) + kw->offset);

    free(*slot);
    *slot = xstrdup(setter_arg(kw, argc, args));
    return RC_OK;
}

int cfg_set_flag(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                 char **args, char **err)
{
    unsigned *flags = (unsigned *)(setter_base(ctx) + kw->offset);

    if (strcmp(args[0], "no") == 0)
        *flags &= ~(unsigned)kw->lo;
    else
        *flags |= (unsigned)kw->lo;
    return RC_OK;
}

int cfg_ignore(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
               char **args, char **err)
{
    return RC_OK;
}

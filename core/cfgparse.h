/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The configuration parser: reads files line by line, tracks sections,
 * and dispatches each line to the keyword that owns it. Keywords are rows
 * in tables owned by their modules (nginx's ngx_command_t mechanics with
 * HAProxy's syntax): the table checks the section and the number of
 * arguments, generic setters store common value types at an offset, and the
 * parser adds "file:line:" to every error and goes on to report them all. */
#ifndef LUAPROXY_CORE_CFGPARSE_H
#define LUAPROXY_CORE_CFGPARSE_H

#include <stddef.h>

struct cfg;
struct proxy;
struct cfg_kw;
struct module;

/* Sections, as a bit mask. */
#define CFG_SEC_GLOBAL   0x01
#define CFG_SEC_DEFAULTS 0x02
#define CFG_SEC_FRONTEND 0x04
#define CFG_SEC_BACKEND  0x08
#define CFG_SEC_LISTEN   0x10
#define CFG_SEC_PROXY                                                          \
    (CFG_SEC_DEFAULTS | CFG_SEC_FRONTEND | CFG_SEC_BACKEND | CFG_SEC_LISTEN)
#define CFG_SEC_FE    (CFG_SEC_DEFAULTS | CFG_SEC_FRONTEND | CFG_SEC_LISTEN)
#define CFG_SEC_BE    (CFG_SEC_DEFAULTS | CFG_SEC_BACKEND | CFG_SEC_LISTEN)
#define CFG_SEC_NODEF (CFG_SEC_FRONTEND | CFG_SEC_BACKEND | CFG_SEC_LISTEN)
/* The bit of the <n>th section a module owns (struct cfg_section); each
 * module picks its own, and registration refuses a bit already taken. */
#define CFG_SEC_MODULE(n) (0x100u << (n))

struct cfg_ctx {
    struct cfg *cfg;
    const char *file;
    int line;
    unsigned section; /* CFG_SEC_* of the current section, 0 before any */
    struct proxy *px; /* current proxy or defaults section */
    const struct module *module; /* owner of the keyword being parsed */
    int errors;                  /* count of errors so far */
    int warnings;
    void *sec_data; /* what a module section's open hook made current (its
                     * keywords fill it), NULL in any other section */
};

/* Opens a section that a module owns, from its header line <args>[0..]
 * ("http-errors NAME"): sets ctx->sec_data to the object the section's
 * keywords fill. RC_OK, or RC_ERR with *err set (without file:line); the
 * section's lines are then skipped. */
typedef int (*cfg_section_cb)(struct cfg_ctx *ctx, int argc, char **args,
                              char **err);

struct cfg_section {
    const char *name; /* the word that opens it: "http-errors" */
    unsigned sec_bit; /* CFG_SEC_MODULE(n), in its keywords' sections */
    cfg_section_cb open;
};

/* A keyword handler. <args>[0..] are the whole line's words; the keyword
 * spans the first words (e.g. "timeout", "client"). RC_OK or RC_ERR with
 * *err set to the message (without file:line, the parser adds it). */
typedef int (*cfg_kw_cb)(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                         char **args, char **err);

struct cfg_kw {
    const char *name;  /* one or more words: "timeout client" */
    unsigned sections; /* CFG_SEC_* where it is valid */
    int min_args;      /* words after the keyword's own words */
    int max_args;      /* -1: any number */
    cfg_kw_cb parse;
    size_t offset;    /* for generic setters: into struct global or proxy */
    long long lo, hi; /* bounds for cfg_set_int */
};

/* Generic setters: store the single argument at kw->offset of the struct
 * of the current section (struct global, struct proxy, or a module
 * section's ctx->sec_data). */
int cfg_set_int(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                char **args, char **err);
int cfg_set_duration(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                     char **args, char **err);
int cfg_set_size(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                 char **args, char **err);
int cfg_set_string(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                   char **args, char **err);
/* Sets the bits of kw->lo in the unsigned at kw->offset ("option X"); with
 * "no option X" clears them. */
int cfg_set_flag(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
                 char **args, char **err);
/* Accepts the keyword and does nothing (HAProxy keywords whose meaning is
 * ours already, e.g. "master-worker"). */
int cfg_ignore(struct cfg_ctx *ctx, const struct cfg_kw *kw, int argc,
               char **args, char **err);

/* Returns the index of <word> among the <n> <words>, or -1: for keywords
 * whose value is one of a few names ("http-reuse safe"). */
int cfg_word_index(const char *word, const char *const *words, size_t n);
/* Number of words the keyword <kw> itself spans. */
int cfg_kw_words(const struct cfg_kw *kw);
/* The context of the line being parsed, NULL when no file is: for load
 * checks that must look at the whole generation once it is parsed. */
struct cfg_ctx *cfgparse_current(void);
/* Logs a warning "file:line: msg" for the current line. */
void cfg_warn(struct cfg_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Logs an alert "file:line: msg" for the current line and counts it. */
void cfg_alert(struct cfg_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Registers the keyword tables and sections of every module of the list. */
void cfgparse_register_modules(const struct module *const *list);
/* Parses every path of <paths> (files, or directories whose *.cfg are read
 * in lexical order) into <cfg>; returns the number of errors (all of them
 * were logged). */
int cfgparse_paths(struct cfg *cfg, int npaths, char **paths);
/* Parses text from memory (unit tests, fuzzing); same contract. */
int cfgparse_buffer(struct cfg *cfg, const char *name, const char *text);
/* Runs the post-parse checks of core and of every module; returns the
 * number of errors. */
int cfgparse_check(struct cfg *cfg);

#endif

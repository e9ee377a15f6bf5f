/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Samples (HAProxy's sample.c): typed values fetched from a stream and
 * transformed by converters. This header defines the sample types and
 * HAProxy's cast matrix, the registry of fetch and converter keywords that
 * config rules, HTTP rules, ACLs and the Lua API all share, typed keyword
 * arguments, and expressions ("req.hdr(host,1),lower") parsed once at load
 * and evaluated per stream. A few regex helpers (PCRE2, JIT) live here too
 * because arguments and ACL patterns both compile regexes. */
#ifndef LUAPROXY_CORE_SAMPLE_H
#define LUAPROXY_CORE_SAMPLE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ist.h"
#include "core/vars.h"

/* HAProxy's types, in its order. ADDR is a pseudo-type ("IPv4 or IPv6")
 * for keyword declarations only; a sample never holds it. */
enum smp_type {
    SMP_T_ANY,
    SMP_T_BOOL,
    SMP_T_SINT,
    SMP_T_ADDR,
    SMP_T_IPV4,
    SMP_T_IPV6,
    SMP_T_STR,
    SMP_T_BIN,
    SMP_T_METH,
    SMP_TYPES
};

/* sample.flags */
#define SMP_F_NOT_LAST   0x1 /* more values follow: call the fetch again */
#define SMP_F_MAY_CHANGE 0x2 /* absent or partial now, may change later */

/* A value. STR, BIN and METH data are slices into memory the sample does
 * not own: the stream's buffers, the expression's arguments, a variable or
 * the evaluation pool. BOOL is stored in <sint>. <ctx> is the fetch's own
 * state between calls when it returns several values (SMP_F_NOT_LAST). */
struct sample {
    enum smp_type type;
    union {
        long long sint;
        struct in_addr ipv4;
        struct in6_addr ipv6;
        struct ist str;
    } data;
    unsigned flags;
    union {
        void *p;
        long long i;
        size_t pos;
    } ctx;
};

/* smp_env.avail: which parts of the stream exist now. */
#define SMP_AVAIL_CONN 0x1 /* L4: addresses, ports */
#define SMP_AVAIL_REQ  0x2 /* request head parsed */
#define SMP_AVAIL_RES  0x4 /* response head parsed */

/* smp_env.opt */
#define SMP_OPT_FINAL   0x1 /* no more data will come: missing is missing */
#define SMP_OPT_ITERATE 0x2 /* caller wants every value (set by ACLs) */

struct stream;
struct pool;

/* Where a sample is evaluated. <strm> may be NULL (config time, tests).
 * <pool> owns the scratch memory of results (strings made by casts and
 * converters live until it is freed); without a pool such casts and
 * converters fail. <dir> is 0 on the request side, 1 on the response side.
 * Set SMP_OPT_FINAL in <opt> whenever the data is complete (HTTP rules,
 * logs, end of an inspect-delay). */
struct smp_env {
    struct stream *strm;
    struct pool *pool;
    unsigned avail;
    int dir;
    unsigned opt;
};

enum arg_type {
    ARGT_STOP = 0, /* end of the argument array */
    ARGT_SINT,
    ARGT_STR,      /* data.str, NUL-terminated, owned by the array */
    ARGT_VAR,      /* data.var, name owned by the array */
    ARGT_REG,      /* data.reg, compiled, owned by the array */
    ARGT_IPV4MASK, /* data.ipv4 */
    ARGT_IPV6MASK, /* data.ipv6 */
    ARGT_IPV4,     /* data.ipv4 */
    ARGT_IPV6,     /* data.ipv6 */
    ARGT_MAP,      /* data.map, a reference released with the array */
};

struct sample_regex;
struct map;

struct arg {
    enum arg_type type;
    union {
        long long sint;
        struct ist str;
        struct var_ref var;
        struct sample_regex *reg;
        struct in_addr ipv4;
        struct in6_addr ipv6;
        struct map *map;
    } data;
};

/* Most arguments a keyword may declare; argument arrays hold one more
 * entry for the ARGT_STOP terminator. */
#define SAMPLE_MAX_ARGS 6

/* ACL matching methods (HAProxy's -m names). AUTO means "by output type". */
enum pat_match {
    PAT_MATCH_AUTO = 0,
    PAT_MATCH_FOUND,
    PAT_MATCH_BOOL,
    PAT_MATCH_INT,
    PAT_MATCH_IP,
    PAT_MATCH_BIN,
    PAT_MATCH_LEN,
    PAT_MATCH_STR,
    PAT_MATCH_BEG,
    PAT_MATCH_SUB,
    PAT_MATCH_DIR,
    PAT_MATCH_DOM,
    PAT_MATCH_END,
    PAT_MATCH_REG,
    PAT_MATCH_METH, /* exact method name; implicit only (no "-m meth") */
};

/* A fetch fills <smp> (type included) and returns 1, or returns 0 when there
 * is no sample (setting SMP_F_MAY_CHANGE if one may come later). */
typedef int (*sample_fetch_cb)(const struct arg *args, struct sample *smp,
                               const struct smp_env *env, const void *priv);
/* A converter gets <smp> already cast to its input type and rewrites it,
 * setting the output type; 1 on success, 0 to drop the sample. */
typedef int (*sample_conv_cb)(const struct arg *args, struct sample *smp,
                              const struct smp_env *env, const void *priv);
/* Validates and rewrites parsed arguments at load (HAProxy's val_args):
 * RC_OK, or RC_ERR with *<err> set. */
typedef int (*sample_check_cb)(struct arg *args, char **err);

/* Argument specifications are comma-separated type letters, optional ones
 * marked with '?' and last: "I" integer, "S" string, "V" variable name
 * ("txn.x"), "N" integer or variable name, "R" regex, "4" IPv4 mask
 * (CIDR length or dotted), "6" IPv6 mask. Example: "N,S?". NULL or "" means
 * no argument. */
struct sample_fetch_kw {
    const char *name;
    sample_fetch_cb fn;
    const char *args;
    enum smp_type out;
    unsigned use;          /* SMP_AVAIL_* bits the fetch needs */
    const void *priv;      /* passed to fn */
    int match_method;      /* enum pat_match: implicit ACL method, or 0 */
    sample_check_cb check; /* may be NULL */
    int ver_patterns;      /* its ACL patterns are "major[.minor]" versions,
                            * matched as (major << 16) | minor */
};

struct sample_conv_kw {
    const char *name;
    sample_conv_cb fn;
    const char *args;
    enum smp_type in, out;
    const void *priv;
    sample_check_cb check; /* may be NULL */
};

/* Prefix resolvers build keywords for names no table holds ("lua.foo").
 * The returned keyword must outlive every expression using it. */
typedef const struct sample_fetch_kw *(*sample_fetch_resolve_cb)(
    const char *name, size_t len);
typedef const struct sample_conv_kw *(*sample_conv_resolve_cb)(const char *name,
                                                               size_t len);

/* ---- registry: tables are NULL-name terminated, referenced not copied;
 * registering a table twice is a no-op; the first table holding a name
 * wins. */
void sample_register_fetches(const struct sample_fetch_kw *tbl);
void sample_register_convs(const struct sample_conv_kw *tbl);
void sample_register_fetch_prefix(const char *prefix,
                                  sample_fetch_resolve_cb resolve);
void sample_register_conv_prefix(const char *prefix,
                                 sample_conv_resolve_cb resolve);
/* Look-ups by the <len> first bytes of <name>; NULL if unknown. */
const struct sample_fetch_kw *sample_fetch_find(const char *name, size_t len);
const struct sample_conv_kw *sample_conv_find(const char *name, size_t len);
/* Calls <fn> for every keyword of every table, in registration order. */
void sample_fetch_foreach(void (*fn)(const struct sample_fetch_kw *kw,
                                     void *ctx),
                          void *ctx);
void sample_conv_foreach(void (*fn)(const struct sample_conv_kw *kw, void *ctx),
                         void *ctx);
/* Forgets every table and resolver (end of process, tests). */
void sample_registry_clear(void);
/* Built-in tables: core/sample_fetch.c and core/sample_conv.c, which
 * also registers those of core/sample_conv_{hash,text,json}.c. */
void sample_fetch_register_builtin(void);
void sample_conv_register_builtin(void);
void sample_conv_hash_register(void);
void sample_conv_text_register(void);
void sample_conv_json_register(void);

/* ---- hashes (core/sample_conv_hash.c) */
/* Continues the sdbm hash <h> (0 to start) over <len> bytes of <p>. */
uint32_t sample_hash_sdbm_add(uint32_t h, const unsigned char *p, size_t len);
/* HAProxy's avalanche mix of a 32-bit hash. */
uint32_t sample_hash_avalanche(uint32_t a);

/* ---- casts */
/* Casts <smp> in place to <to> with HAProxy's matrix; new strings come from
 * <env>'s pool. Returns 1, or 0 if the cast is impossible or failed. ADDR
 * leaves an IPv4 or IPv6 sample as it is. */
int sample_cast(struct sample *smp, enum smp_type to,
                const struct smp_env *env);
/* Returns 1 if the matrix allows <from> to become <to> (load-time check). */
int sample_cast_possible(enum smp_type from, enum smp_type to);
/* Returns HAProxy's name of <type> ("str", "sint", "ipv4"...). */
const char *sample_type_name(enum smp_type type);

/* ---- arguments */
/* Parses <argc> words of <argv> (already unquoted, e.g. from Lua) with the
 * specification <types> into <out>, which holds <maxargs> entries and is
 * always ARGT_STOP-terminated. Returns the number of arguments, or RC_ERR
 * with *<err> set. Release the result with sample_args_release(). */
int sample_args_parse(const char *types, int argc, const char *const *argv,
                      struct arg *out, int maxargs, char **err);
/* Same, plus the keyword's own check: RC_OK or RC_ERR with *<err> set. */
int sample_fetch_args_init(const struct sample_fetch_kw *kw, int argc,
                           const char *const *argv, struct arg *out,
                           int maxargs, char **err);
int sample_conv_args_init(const struct sample_conv_kw *kw, int argc,
                          const char *const *argv, struct arg *out, int maxargs,
                          char **err);
/* Frees what the arguments own and terminates the array at its start. */
void sample_args_release(struct arg *args);
/* Turns a string argument naming a variable into ARGT_VAR (for checks of
 * arguments that are optional variables). RC_OK or RC_ERR with *<err>. */
int sample_arg_to_var(struct arg *arg, char **err);
/* Reads the integer in <arg>: its value, or the variable it names cast to
 * an integer. 1 with *<out> set, 0 if the variable is missing. */
int sample_arg_sint(const struct arg *arg, const struct smp_env *env,
                    long long *out);

/* ---- expressions */
struct sample_expr;
/* Parses a whole word "fetch[(args)][,conv[(args)]]...". Returns the
 * expression (caller frees with sample_expr_free) or NULL with *<err> set,
 * in HAProxy's words: "unknown fetch method 'foo'", "fetch method 'int' :
 * failed to parse 'x' as type 'integer' at position 1", "unknown converter
 * 'bar'", "invalid arg 1 in converter 'field' : ...". */
struct sample_expr *sample_expr_parse(const char *str, char **err);
/* Same, but stops at the first character that cannot continue the
 * expression and points *<end> at it (for "%[expr]" in log formats). */
struct sample_expr *sample_expr_parse_prefix(const char *str, const char **end,
                                             char **err);
void sample_expr_free(struct sample_expr *e);
/* Returns 1 if <e> takes its value from no stream, only from its
 * arguments, variables or the process (int, str, var, env, pid...): the
 * expressions the global section may evaluate. */
int sample_expr_const(const struct sample_expr *e);
/* Runs the fetch then the converters; 1 with <out> set, 0 if no sample. */
int sample_expr_eval(const struct sample_expr *e, const struct smp_env *env,
                     struct sample *out);
/* Same without resetting <out> first: for iterating over the values of a
 * multi-value fetch. Zero <out> before the first call, then call again while
 * out->flags has SMP_F_NOT_LAST. */
int sample_expr_eval_next(const struct sample_expr *e,
                          const struct smp_env *env, struct sample *out);
/* Type of the value the expression produces (ANY if it varies). */
enum smp_type sample_expr_out_type(const struct sample_expr *e);
/* The fetch keyword and whether converters follow it. */
const struct sample_fetch_kw *sample_expr_fetch(const struct sample_expr *e);
int sample_expr_has_convs(const struct sample_expr *e);
/* Applies one converter (cast to its input type, then run), as Lua does. */
int sample_conv_apply(const struct sample_conv_kw *kw, const struct arg *args,
                      struct sample *smp, const struct smp_env *env);

/* ---- helpers for keyword implementations */
/* Returns <n> bytes from <env>'s pool, or NULL (no pool, out of memory). */
void *sample_alloc(const struct smp_env *env, size_t n);
/* Sets <smp> to a string copied into <env>'s pool; 1, or 0 on failure. */
int sample_set_str_copy(struct sample *smp, enum smp_type type, const char *s,
                        size_t len, const struct smp_env *env);
/* Decodes the <len> hex digits of <hex> into <out> (room for len / 2
 * bytes). Returns the byte count, or -1 if <hex> is not an even-length
 * hex string. */
long sample_hex2bin(const char *hex, size_t len, unsigned char *out);
/* Decodes base64 <in> into <out> (room for in.len / 4 * 3 + 3 bytes):
 * <url> 0 is the standard alphabet with strict padding (b64dec), 1 the URL
 * alphabet with optional padding (ub64dec). Returns the byte count, or -1
 * if <in> is not valid base64. */
long sample_b64_decode(struct ist in, int url, unsigned char *out);
/* Reads the variable <ref> cast to <type> into <out>; 1, or 0 if it is
 * unset or cannot be cast. */
int sample_var_read(const struct var_ref *ref, enum smp_type type,
                    struct sample *out, const struct smp_env *env);
/* Parses all <len> bytes of <s> as a signed decimal; 1 with *<out> set,
 * or 0. */
int sample_parse_sint(const char *s, size_t len, long long *out);
/* Replaces *<err> (if <err> is not NULL) with <prefix>, the old message and
 * <suffix>, HAProxy's way of saying where an inner error happened. Returns
 * RC_ERR. */
int sample_err_wrap(char **err, const char *prefix, const char *suffix);
/* Compiles <len> bytes of <src>; NULL with *<err> set on a bad regex. */
struct sample_regex *sample_regex_new(const char *src, size_t len, int icase,
                                      char **err);
void sample_regex_free(struct sample_regex *re);
/* Returns 1 if <re> matches somewhere in <s>, else 0. */
int sample_regex_match(const struct sample_regex *re, const char *s,
                       size_t len);
/* Matches from <start>; fills <ovec> with up to <npairs> (start, end)
 * pairs, (size_t)-1 for unset groups. Returns 1 on a match, else 0. */
int sample_regex_exec(const struct sample_regex *re, const char *s, size_t len,
                      size_t start, size_t *ovec, int npairs);
/* Sets <smp> to a pool copy of the template <rep> (NUL-terminated) with
 * \0..\9 replaced by the groups <ov> (10 pairs) found in <subj>, "\xHH" by
 * that byte and "\c" by c, as regsub does. 1, or 0 out of memory. */
int sample_set_backrefs(struct sample *smp, const char *rep, const char *subj,
                        const size_t *ov, const struct smp_env *env);

#endif

/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The sample machinery shared by every rule, ACL and the Lua API: HAProxy's
 * cast matrix, the keyword registry (static tables registered by modules,
 * plus prefix resolvers for names built at run time such as "lua.foo"),
 * typed argument parsing with HAProxy's quoting and error messages, regex
 * compilation with PCRE2, and expressions: parsed once at load into an
 * immutable fetch + converter chain, evaluated per stream with scratch
 * memory from the stream's pool. Built-in keywords live in sample_fetch.c
 * and sample_conv.c. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/errors.h"
#include "core/map.h"
#include "core/pool.h"
#include "core/sample.h"
#include "core/util.h"
#include "core/vars.h"

/* Argument parsing reports check-phase errors apart, because HAProxy words
 * them differently ("invalid args in ..." instead of "invalid arg N"). */
#define ARGS_ERR_CHECK (-3)

/* Capture pairs kept by a match: \0 to \9 for regsub. */
#define REGEX_MAX_PAIRS 10

struct argspec {
    char type[SAMPLE_MAX_ARGS];
    int n;   /* declared arguments */
    int min; /* mandatory ones */
};

struct sample_regex {
    pcre2_code *code;
};

struct sample_conv_expr {
    const struct sample_conv_kw *kw;
    struct arg args[SAMPLE_MAX_ARGS + 1];
};

struct sample_expr {
    const struct sample_fetch_kw *fetch;
    struct arg args[SAMPLE_MAX_ARGS + 1];
    size_t nconv;
    struct sample_conv_expr *conv;
    enum smp_type out;
};

struct prefix_fetch {
    char *prefix;
    sample_fetch_resolve_cb resolve;
};

struct prefix_conv {
    char *prefix;
    sample_conv_resolve_cb resolve;
};

typedef int (*cast_cb)(struct sample *smp, enum smp_type to,
                       const struct smp_env *env);

static int c_none(struct sample *smp, enum smp_type to,
                  const struct smp_env *env);
static int c_pseudo(struct sample *smp, enum smp_type to,
                    const struct smp_env *env);
static int c_int2str(struct sample *smp, enum smp_type to,
                     const struct smp_env *env);
static int c_int2bin(struct sample *smp, enum smp_type to,
                     const struct smp_env *env);
static int c_bool2bin(struct sample *smp, enum smp_type to,
                      const struct smp_env *env);
static int c_int2ip(struct sample *smp, enum smp_type to,
                    const struct smp_env *env);
static int c_int2ipv6(struct sample *smp, enum smp_type to,
                      const struct smp_env *env);
static int c_ip2int(struct sample *smp, enum smp_type to,
                    const struct smp_env *env);
static int c_ip2ipv6(struct sample *smp, enum smp_type to,
                     const struct smp_env *env);
static int c_ipv62ip(struct sample *smp, enum smp_type to,
                     const struct smp_env *env);
static int c_addr2str(struct sample *smp, enum smp_type to,
                      const struct smp_env *env);
static int c_addr2bin(struct sample *smp, enum smp_type to,
                      const struct smp_env *env);
static int c_str2int(struct sample *smp, enum smp_type to,
                     const struct smp_env *env);
static int c_str2addr(struct sample *smp, enum smp_type to,
                      const struct smp_env *env);
static int c_bin2str(struct sample *smp, enum smp_type to,
                     const struct smp_env *env);

/* HAProxy's matrix [from][to]; NULL means impossible. ANY and ADDR rows are
 * pseudo-types: allowed when checking expressions at load, never run. */
static const cast_cb casts[SMP_TYPES][SMP_TYPES] = {
    [SMP_T_ANY] = {c_none, c_pseudo, c_pseudo, c_pseudo, c_pseudo, c_pseudo,
                   c_pseudo, c_pseudo, c_pseudo},
    [SMP_T_BOOL] = {c_none, c_none, c_none, NULL, NULL, NULL, c_int2str,
                    c_bool2bin, NULL},
    [SMP_T_SINT] = {c_none, c_none, c_none, c_int2ip, c_int2ip, c_int2ipv6,
                    c_int2str, c_int2bin, NULL},
    [SMP_T_ADDR] = {c_none, NULL, NULL, c_pseudo, c_pseudo, c_pseudo, c_pseudo,
                    c_pseudo, NULL},
    [SMP_T_IPV4] = {c_none, NULL, c_ip2int, c_none, c_none, c_ip2ipv6,
                    c_addr2str, c_addr2bin, NULL},
    [SMP_T_IPV6] = {c_none, NULL, NULL, c_none, c_ipv62ip, c_none, c_addr2str,
                    c_addr2bin, NULL},
    [SMP_T_STR] = {c_none, c_str2int, c_str2int, c_str2addr, c_str2addr,
                   c_str2addr, c_none, c_none, c_none},
    [SMP_T_BIN] = {c_none, NULL, NULL, NULL, NULL, NULL, c_bin2str, c_none,
                   c_none},
    [SMP_T_METH] = {c_none, NULL, NULL, NULL, NULL, NULL, c_none, c_none,
                    c_none},
};

static const char *const type_names[SMP_TYPES] = {
    "any", "bool", "sint", "addr", "ipv4", "ipv6", "str", "bin", "meth",
};

static const struct sample_fetch_kw **fetch_tables;
static size_t fetch_ntables;
static const struct sample_conv_kw **conv_tables;
static size_t conv_ntables;
static struct prefix_fetch *fetch_prefixes;
static size_t fetch_nprefixes;
static struct prefix_conv *conv_prefixes;
static size_t conv_nprefixes;

/* Workers are single-threaded; thread-local keeps tools honest anyway. */
static _Thread_local pcre2_match_data *regex_md;

/* ------------------------------------------------------------------ */
/* Small parsers                                                        */
/* ------------------------------------------------------------------ */

/* Reads an optionally negative decimal at *<s>, stopping at the first
 * non-digit before <end> and saturating (HAProxy's read_int64). */
static long long read_int64(const char **s, const char *end)
{
    unsigned long long r = 0;
    int neg = 0;

    if (*s < end && **s == '-') {
        neg = 1;
        (*s)++;
    }
    while (*s < end && **s >= '0' && **s <= '9') {
        unsigned d = (unsigned)(**s - '0');

        r = r > (ULLONG_MAX - d) / 10 ? ULLONG_MAX : r * 10 + d;
        (*s)++;
    }
    if (neg)
        return r > (unsigned long long)LLONG_MAX ? LLONG_MIN : -(long long)r;
    return r > (unsigned long long)LLONG_MAX ? LLONG_MAX : (long long)r;
}

/* Strict: every byte must belong to the number. */
int sample_parse_sint(const char *s, size_t len, long long *out)
{
    const char *p = s, *end = s + len;

    if (len == 0 || (len == 1 && *s == '-'))
        return 0;
    *out = read_int64(&p, end);
    return p == end;
}

/* Parses an IPv4 address of <len> bytes; 1 or 0. */
static int parse_ipv4(const char *s, size_t len, struct in_addr *out)
{
    char buf[INET_ADDRSTRLEN];

    if (len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(AF_INET, buf, out) == 1;
}

/* Parses an IPv6 address of <len> bytes; 1 or 0. */
static int parse_ipv6(const char *s, size_t len, struct in6_addr *out)
{
    char buf[INET6_ADDRSTRLEN];

    if (len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(AF_INET6, buf, out) == 1;
}

/* Parses an IPv4 mask: a prefix length or a dotted mask. */
static int parse_mask4(const char *s, struct in_addr *out)
{
    long long bits;

    if (sample_parse_sint(s, strlen(s), &bits)) {
        if (bits < 0 || bits > 32)
            return 0;
        out->s_addr = bits ? htonl(~0U << (32 - bits)) : 0;
        return 1;
    }
    return parse_ipv4(s, strlen(s), out);
}

/* Parses an IPv6 mask: a prefix length or an address-form mask. */
static int parse_mask6(const char *s, struct in6_addr *out)
{
    long long bits;
    int i;

    if (!sample_parse_sint(s, strlen(s), &bits))
        return parse_ipv6(s, strlen(s), out);
    if (bits < 0 || bits > 128)
        return 0;
    for (i = 0; i < 16; i++, bits -= 8)
        out->s6_addr[i] = bits >= 8  ? 0xff
                          : bits > 0 ? (uint8_t)(0xff << (8 - bits))
                                     : 0;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Casts                                                                */
/* ------------------------------------------------------------------ */

/* Looks the cast up in the matrix and runs it. */
int sample_cast(struct sample *smp, enum smp_type to, const struct smp_env *env)
{
    cast_cb fn;

    if (to == SMP_T_ANY || smp->type == to)
        return 1;
    if (smp->type >= SMP_TYPES || to >= SMP_TYPES)
        return 0;
    fn = casts[smp->type][to];
    return fn != NULL && fn(smp, to, env);
}

/* Pseudo-types count as castable: only run time knows. */
int sample_cast_possible(enum smp_type from, enum smp_type to)
{
    if (from >= SMP_TYPES || to >= SMP_TYPES)
        return 0;
    return from == to || casts[from][to] != NULL;
}

/* Names as HAProxy prints them. */
const char *sample_type_name(enum smp_type type)
{
    return type < SMP_TYPES ? type_names[type] : "unknown";
}

/* Same data, new type; ADDR and ANY keep the concrete type. */
static int c_none(struct sample *smp, enum smp_type to,
                  const struct smp_env *env)
{
    if (to != SMP_T_ADDR && to != SMP_T_ANY)
        smp->type = to;
    return 1;
}

/* A sample never holds a pseudo-type: nothing to run. */
static int c_pseudo(struct sample *smp, enum smp_type to,
                    const struct smp_env *env)
{
    return 0;
}

/* Decimal text of the integer. */
static int c_int2str(struct sample *smp, enum smp_type to,
                     const struct smp_env *env)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%lld", smp->data.sint);

    return sample_set_str_copy(smp, SMP_T_STR, buf, (size_t)n, env);
}

/* Stores <v> as 8 big-endian bytes, as HAProxy's c_int2bin. */
static int set_bin64(struct sample *smp, unsigned long long v,
                     const struct smp_env *env)
{
    unsigned char buf[8];
    int i;

    for (i = 7; i >= 0; i--, v >>= 8)
        buf[i] = (unsigned char)(v & 0xff);
    return sample_set_str_copy(smp, SMP_T_BIN, (const char *)buf, 8, env);
}

/* Integer as 8 big-endian bytes. */
static int c_int2bin(struct sample *smp, enum smp_type to,
                     const struct smp_env *env)
{
    return set_bin64(smp, (unsigned long long)smp->data.sint, env);
}

/* Boolean as 8 big-endian bytes holding 0 or 1. */
static int c_bool2bin(struct sample *smp, enum smp_type to,
                      const struct smp_env *env)
{
    return set_bin64(smp, smp->data.sint != 0, env);
}

/* Integer as an IPv4 address in host order, as HAProxy. */
static int c_int2ip(struct sample *smp, enum smp_type to,
                    const struct smp_env *env)
{
    smp->data.ipv4.s_addr = htonl((uint32_t)smp->data.sint);
    smp->type = SMP_T_IPV4;
    return 1;
}

/* Integer as a v4-mapped IPv6 address. */
static int c_int2ipv6(struct sample *smp, enum smp_type to,
                      const struct smp_env *env)
{
    c_int2ip(smp, SMP_T_IPV4, env);
    return c_ip2ipv6(smp, SMP_T_IPV6, env);
}

/* IPv4 address as its host-order integer. */
static int c_ip2int(struct sample *smp, enum smp_type to,
                    const struct smp_env *env)
{
    smp->data.sint = ntohl(smp->data.ipv4.s_addr);
    smp->type = SMP_T_SINT;
    return 1;
}

/* IPv4 becomes ::ffff:a.b.c.d, as HAProxy's v4tov6. */
static int c_ip2ipv6(struct sample *smp, enum smp_type to,
                     const struct smp_env *env)
{
    struct in_addr a = smp->data.ipv4;

    memset(&smp->data.ipv6, 0, sizeof(smp->data.ipv6));
    smp->data.ipv6.s6_addr[10] = 0xff;
    smp->data.ipv6.s6_addr[11] = 0xff;
    memcpy(&smp->data.ipv6.s6_addr[12], &a, 4);
    smp->type = SMP_T_IPV6;
    return 1;
}

/* Only v4-mapped (::ffff:0:0/96) and 6to4 (2002::/16) addresses hold an
 * IPv4 one (HAProxy's v6tov4). */
static int c_ipv62ip(struct sample *smp, enum smp_type to,
                     const struct smp_env *env)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
                                       0, 0, 0, 0, 0xff, 0xff};
    const uint8_t *b = smp->data.ipv6.s6_addr;
    struct in_addr a;

    if (memcmp(b, mapped, sizeof(mapped)) == 0)
        memcpy(&a, b + 12, 4);
    else if (b[0] == 0x20 && b[1] == 0x02)
        memcpy(&a, b + 2, 4);
    else
        return 0;
    smp->data.ipv4 = a;
    smp->type = SMP_T_IPV4;
    return 1;
}

/* Address in its usual text form. */
static int c_addr2str(struct sample *smp, enum smp_type to,
                      const struct smp_env *env)
{
    char buf[INET6_ADDRSTRLEN];
    int v4 = smp->type == SMP_T_IPV4;

    if (!inet_ntop(v4 ? AF_INET : AF_INET6,
                   v4 ? (const void *)&smp->data.ipv4
                      : (const void *)&smp->data.ipv6,
                   buf, sizeof(buf)))
        return 0;
    return sample_set_str_copy(smp, SMP_T_STR, buf, strlen(buf), env);
}

/* Address as its 4 or 16 network-order bytes. */
static int c_addr2bin(struct sample *smp, enum smp_type to,
                      const struct smp_env *env)
{
    struct sample tmp = *smp;

    if (smp->type == SMP_T_IPV4)
        return sample_set_str_copy(smp, SMP_T_BIN, (const char *)&tmp.data.ipv4,
                                   4, env);
    return sample_set_str_copy(smp, SMP_T_BIN, (const char *)&tmp.data.ipv6, 16,
                               env);
}

/* Leading integer, "true" gives 0; only an empty string fails. */
static int c_str2int(struct sample *smp, enum smp_type to,
                     const struct smp_env *env)
{
    const char *s = smp->data.str.ptr;

    if (smp->data.str.len == 0)
        return 0;
    smp->data.sint = read_int64(&s, s + smp->data.str.len);
    smp->type = to;
    return 1;
}

/* IPV4 asks for IPv4 only, IPV6 for IPv6 only, ADDR for either. */
static int c_str2addr(struct sample *smp, enum smp_type to,
                      const struct smp_env *env)
{
    struct ist s = smp->data.str;

    if (to != SMP_T_IPV6 && parse_ipv4(s.ptr, s.len, &smp->data.ipv4)) {
        smp->type = SMP_T_IPV4;
        return 1;
    }
    if (to != SMP_T_IPV4 && parse_ipv6(s.ptr, s.len, &smp->data.ipv6)) {
        smp->type = SMP_T_IPV6;
        return 1;
    }
    return 0;
}

/* A NUL ends the string, as in HAProxy. An empty input may have a NULL
 * pointer (an empty body), which memchr(3) must not see. */
static int c_bin2str(struct sample *smp, enum smp_type to,
                     const struct smp_env *env)
{
    const char *nul = smp->data.str.len
                          ? memchr(smp->data.str.ptr, '\0', smp->data.str.len)
                          : NULL;

    if (nul != NULL)
        smp->data.str.len = (size_t)(nul - smp->data.str.ptr);
    smp->type = SMP_T_STR;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Registry                                                             */
/* ------------------------------------------------------------------ */

/* Keeps a pointer to the table; order decides between duplicates. */
void sample_register_fetches(const struct sample_fetch_kw *tbl)
{
    size_t i;

    for (i = 0; i < fetch_ntables; i++)
        if (fetch_tables[i] == tbl)
            return;
    fetch_tables =
        xrealloc(fetch_tables, (fetch_ntables + 1) * sizeof(*fetch_tables));
    fetch_tables[fetch_ntables++] = tbl;
}

/* Keeps a pointer to the table; order decides between duplicates. */
void sample_register_convs(const struct sample_conv_kw *tbl)
{
    size_t i;

    for (i = 0; i < conv_ntables; i++)
        if (conv_tables[i] == tbl)
            return;
    conv_tables =
        xrealloc(conv_tables, (conv_ntables + 1) * sizeof(*conv_tables));
    conv_tables[conv_ntables++] = tbl;
}

/* Copies the prefix; the resolver is consulted after the tables. */
void sample_register_fetch_prefix(const char *prefix,
                                  sample_fetch_resolve_cb resolve)
{
    fetch_prefixes = xrealloc(fetch_prefixes,
                              (fetch_nprefixes + 1) * sizeof(*fetch_prefixes));
    fetch_prefixes[fetch_nprefixes].prefix = xstrdup(prefix);
    fetch_prefixes[fetch_nprefixes++].resolve = resolve;
}

/* Copies the prefix; the resolver is consulted after the tables. */
void sample_register_conv_prefix(const char *prefix,
                                 sample_conv_resolve_cb resolve)
{
    conv_prefixes =
        xrealloc(conv_prefixes, (conv_nprefixes + 1) * sizeof(*conv_prefixes));
    conv_prefixes[conv_nprefixes].prefix = xstrdup(prefix);
    conv_prefixes[conv_nprefixes++].resolve = resolve;
}

/* Returns 1 if the NUL-terminated <kw> is exactly <len> bytes of <name>. */
static int name_is(const char *kw, const char *name, size_t len)
{
    return strncmp(kw, name, len) == 0 && kw[len] == '\0';
}

/* Returns 1 if <name> starts with the NUL-terminated <prefix>. */
static int has_prefix(const char *name, size_t len, const char *prefix)
{
    size_t plen = strlen(prefix);

    return len >= plen && memcmp(name, prefix, plen) == 0;
}

/* Tables first, then prefix resolvers. */
const struct sample_fetch_kw *sample_fetch_find(const char *name, size_t len)
{
    const struct sample_fetch_kw *kw;
    size_t i;

    for (i = 0; i < fetch_ntables; i++)
        for (kw = fetch_tables[i]; kw->name != NULL; kw++)
            if (name_is(kw->name, name, len))
                return kw;
    for (i = 0; i < fetch_nprefixes; i++)
        if (has_prefix(name, len, fetch_prefixes[i].prefix) &&
            (kw = fetch_prefixes[i].resolve(name, len)) != NULL)
            return kw;
    return NULL;
}

/* Tables first, then prefix resolvers. */
const struct sample_conv_kw *sample_conv_find(const char *name, size_t len)
{
    const struct sample_conv_kw *kw;
    size_t i;

    for (i = 0; i < conv_ntables; i++)
        for (kw = conv_tables[i]; kw->name != NULL; kw++)
            if (name_is(kw->name, name, len))
                return kw;
    for (i = 0; i < conv_nprefixes; i++)
        if (has_prefix(name, len, conv_prefixes[i].prefix) &&
            (kw = conv_prefixes[i].resolve(name, len)) != NULL)
            return kw;
    return NULL;
}

/* Walks the tables only: resolved names are built on demand. */
void sample_fetch_foreach(void (*fn)(const struct sample_fetch_kw *kw,
                                     void *ctx),
                          void *ctx)
{
    const struct sample_fetch_kw *kw;
    size_t i;

    for (i = 0; i < fetch_ntables; i++)
        for (kw = fetch_tables[i]; kw->name != NULL; kw++)
            fn(kw, ctx);
}

/* Walks the tables only: resolved names are built on demand. */
void sample_conv_foreach(void (*fn)(const struct sample_conv_kw *kw, void *ctx),
                         void *ctx)
{
    const struct sample_conv_kw *kw;
    size_t i;

    for (i = 0; i < conv_ntables; i++)
        for (kw = conv_tables[i]; kw->name != NULL; kw++)
            fn(kw, ctx);
}

/* Drops the table pointers and frees the prefix copies. */
void sample_registry_clear(void)
{
    size_t i;

    for (i = 0; i < fetch_nprefixes; i++)
        free(fetch_prefixes[i].prefix);
    for (i = 0; i < conv_nprefixes; i++)
        free(conv_prefixes[i].prefix);
    xfree_null(&fetch_prefixes);
    xfree_null(&conv_prefixes);
    xfree_null(&fetch_tables);
    xfree_null(&conv_tables);
    fetch_nprefixes = conv_nprefixes = fetch_ntables = conv_ntables = 0;
}

/* ------------------------------------------------------------------ */
/* Regexes                                                              */
/* ------------------------------------------------------------------ */

/* Compiles with PCRE2 and tries to JIT the result. */
struct sample_regex *sample_regex_new(const char *src, size_t len, int icase,
                                      char **err)
{
    struct sample_regex *re;
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE erroff;
    pcre2_code *code;
    int errcode;

    code = pcre2_compile((PCRE2_SPTR)(src ? src : ""), len,
                         icase ? PCRE2_CASELESS : 0, &errcode, &erroff, NULL);
    if (code == NULL) {
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        set_err(err, "regex '%.*s' is invalid (error=%s, erroffset=%zu)",
                (int)len, src, (const char *)msg, (size_t)erroff);
        return NULL;
    }
    /* JIT is an optimisation: the interpreter serves if it is missing */
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    re = xmalloc(sizeof(*re));
    re->code = code;
    return re;
}

/* Accepts NULL. */
void sample_regex_free(struct sample_regex *re)
{
    if (re == NULL)
        return;
    pcre2_code_free(re->code);
    free(re);
}

/* Returns the reusable match block, or NULL if out of memory. */
static pcre2_match_data *regex_match_data(void)
{
    if (regex_md == NULL)
        regex_md = pcre2_match_data_create(REGEX_MAX_PAIRS, NULL);
    return regex_md;
}

/* Unanchored search over the whole subject. */
int sample_regex_match(const struct sample_regex *re, const char *s, size_t len)
{
    pcre2_match_data *md = regex_match_data();

    if (md == NULL)
        return 0;
    return pcre2_match(re->code, (PCRE2_SPTR)(s ? s : ""), len, 0, 0, md,
                       NULL) >= 0;
}

/* Search from <start>, keeping the subject before it for context. */
int sample_regex_exec(const struct sample_regex *re, const char *s, size_t len,
                      size_t start, size_t *ovec, int npairs)
{
    pcre2_match_data *md = regex_match_data();
    PCRE2_SIZE *ov;
    int rc, i, have;

    if (md == NULL)
        return 0;
    rc = pcre2_match(re->code, (PCRE2_SPTR)(s ? s : ""), len, start, 0, md,
                     NULL);
    if (rc < 0)
        return 0;
    ov = pcre2_get_ovector_pointer(md);
    /* rc == 0: more groups than pairs, every pair is filled */
    have = rc == 0 ? (int)pcre2_get_ovector_count(md) : rc;
    for (i = 0; i < npairs; i++) {
        ovec[2 * i] = i < have ? ov[2 * i] : (size_t)-1;
        ovec[2 * i + 1] = i < have ? ov[2 * i + 1] : (size_t)-1;
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Arguments                                                            */
/* ------------------------------------------------------------------ */

/* Parses a specification ("S,I?") into <sp>; RC_OK or RC_ERR. */
static int argspec_parse(const char *s, struct argspec *sp)
{
    int optional = 0;

    sp->n = sp->min = 0;
    while (s != NULL && *s != '\0') {
        if (*s == ',') {
            s++;
            continue;
        }
        if (sp->n == SAMPLE_MAX_ARGS || strchr("ISVNR46", *s) == NULL)
            return RC_ERR;
        sp->type[sp->n++] = *s++;
        if (*s == '?') {
            optional = 1;
            s++;
        } else if (!optional) {
            sp->min = sp->n;
        }
    }
    return RC_OK;
}

/* HAProxy's name of the type letter <t>, for messages. */
static const char *argtype_name(char t)
{
    switch (t) {
    case 'I':
        return "integer";
    case 'R':
        return "regex";
    case '4':
        return "IPv4 mask";
    case '6':
        return "IPv6 mask";
    default:
        return "string";
    }
}

/* Types that cannot be empty (an empty one means "absent"). */
static int argtype_needs_value(char t)
{
    return t == 'I' || t == '4' || t == '6';
}

/* Stores a NUL-terminated copy of <len> bytes of <s> as a string. */
static int arg_set_str(struct arg *a, const char *s, size_t len, char **err)
{
    char *p = malloc(len + 1);

    if (p == NULL)
        return set_err(err, "out of memory");
    memcpy(p, s, len);
    p[len] = '\0';
    a->type = ARGT_STR;
    a->data.str = (struct ist){p, len};
    return RC_OK;
}

/* Converts the word <w> (<len> bytes, NUL-terminated) to type <t> in <a>.
 * RC_OK, or RC_ERR with *<err> set. */
static int arg_convert(char t, const char *w, size_t len, struct arg *a,
                       int pos, char **err)
{
    switch (t) {
    case 'I':
        if (!sample_parse_sint(w, len, &a->data.sint))
            break;
        a->type = ARGT_SINT;
        return RC_OK;
    case 'R':
        a->data.reg = sample_regex_new(w, len, 0, err);
        if (a->data.reg == NULL)
            return RC_ERR;
        a->type = ARGT_REG;
        return RC_OK;
    case '4':
        if (!parse_mask4(w, &a->data.ipv4))
            break;
        a->type = ARGT_IPV4MASK;
        return RC_OK;
    case '6':
        if (!parse_mask6(w, &a->data.ipv6))
            break;
        a->type = ARGT_IPV6MASK;
        return RC_OK;
    default:
        return arg_set_str(a, w, len, err);
    }
    return set_err(err, "failed to parse '%s' as type '%s' at position %d", w,
                   argtype_name(t), pos + 1);
}

/* Keeps only the name part, in a copy owned by the argument. */
int sample_arg_to_var(struct arg *arg, char **err)
{
    enum vars_scope scope;
    struct ist name;
    char *copy;

    if (arg->type != ARGT_STR)
        return set_err(err, "unexpected argument type");
    if (vars_parse_name(arg->data.str.ptr, arg->data.str.len, &scope, &name,
                        err) != RC_OK)
        return RC_ERR;
    copy = malloc(name.len + 1);
    if (copy == NULL)
        return set_err(err, "out of memory");
    memcpy(copy, name.ptr, name.len);
    copy[name.len] = '\0';
    free((char *)arg->data.str.ptr);
    arg->type = ARGT_VAR;
    arg->data.var.scope = scope;
    arg->data.var.name = (struct ist){copy, name.len};
    return RC_OK;
}

/* An integer or a variable name (HAProxy's check_operator). */
static int arg_to_operand(struct arg *arg, char **err)
{
    long long v;

    if (sample_arg_to_var(arg, NULL) == RC_OK)
        return RC_OK;
    if (!sample_parse_sint(arg->data.str.ptr, arg->data.str.len, &v))
        return set_err(err, "expects an integer or a variable name");
    free((char *)arg->data.str.ptr);
    arg->type = ARGT_SINT;
    arg->data.sint = v;
    return RC_OK;
}

/* Second pass over parsed arguments: variables and operands, then the
 * keyword's check. RC_OK or RC_ERR. */
static int args_resolve(const struct argspec *sp, struct arg *args,
                        sample_check_cb check, char **err)
{
    int i;

    for (i = 0; i < sp->n && args[i].type != ARGT_STOP; i++) {
        if (sp->type[i] == 'V' && sample_arg_to_var(&args[i], err) != RC_OK)
            return RC_ERR;
        if (sp->type[i] == 'N' && arg_to_operand(&args[i], err) != RC_OK)
            return RC_ERR;
    }
    return check != NULL ? check(args, err) : RC_OK;
}

/* Frees owned strings, names and regexes up to ARGT_STOP. */
void sample_args_release(struct arg *args)
{
    struct arg *a;

    for (a = args; a->type != ARGT_STOP; a++) {
        if (a->type == ARGT_STR)
            free((char *)a->data.str.ptr);
        else if (a->type == ARGT_VAR)
            free((char *)a->data.var.name.ptr);
        else if (a->type == ARGT_REG)
            sample_regex_free(a->data.reg);
        else if (a->type == ARGT_MAP)
            map_release(a->data.map);
    }
    args[0].type = ARGT_STOP;
}

/* One word per argument: no quote or parenthesis handling here. */
int sample_args_parse(const char *types, int argc, const char *const *argv,
                      struct arg *out, int maxargs, char **err)
{
    struct argspec sp;
    int i;

    out[0].type = ARGT_STOP;
    if (argspec_parse(types, &sp) != RC_OK)
        return set_err(err, "invalid argument specification '%s'", types);
    if (argc > sp.n)
        return set_err(err,
                       "end of arguments expected at position %d, but got "
                       "'%s'",
                       sp.n + 1, argv[sp.n]);
    if (argc < sp.min)
        return set_err(err,
                       "missing arguments (got %d/%d), type '%s' "
                       "expected",
                       argc, sp.min, argtype_name(sp.type[argc]));
    if (argc >= maxargs)
        return set_err(err, "too many arguments");
    for (i = 0; i < argc; i++) {
        if (*argv[i] == '\0' && argtype_needs_value(sp.type[i])) {
            set_err(err, "expected type '%s' at position %d, but got nothing",
                    argtype_name(sp.type[i]), i + 1);
            goto fail;
        }
        if (arg_convert(sp.type[i], argv[i], strlen(argv[i]), &out[i], i,
                        err) != RC_OK)
            goto fail;
        out[i + 1].type = ARGT_STOP;
    }
    if (args_resolve(&sp, out, NULL, err) != RC_OK)
        goto fail;
    return argc;
fail:
    sample_args_release(out);
    return RC_ERR;
}

/* sample_args_parse() then the keyword's <check>. */
static int kw_args_init(const char *types, sample_check_cb check, int argc,
                        const char *const *argv, struct arg *out, int maxargs,
                        char **err)
{
    if (sample_args_parse(types, argc, argv, out, maxargs, err) < 0)
        return RC_ERR;
    if (check != NULL && check(out, err) != RC_OK) {
        sample_args_release(out);
        return RC_ERR;
    }
    return RC_OK;
}

/* sample_args_parse() with the fetch's types, then its check. */
int sample_fetch_args_init(const struct sample_fetch_kw *kw, int argc,
                           const char *const *argv, struct arg *out,
                           int maxargs, char **err)
{
    return kw_args_init(kw->args, kw->check, argc, argv, out, maxargs, err);
}

/* sample_args_parse() with the converter's types, then its check. */
int sample_conv_args_init(const struct sample_conv_kw *kw, int argc,
                          const char *const *argv, struct arg *out, int maxargs,
                          char **err)
{
    return kw_args_init(kw->args, kw->check, argc, argv, out, maxargs, err);
}

/* Integer argument or variable operand (add, sub, bytes...). */
int sample_arg_sint(const struct arg *arg, const struct smp_env *env,
                    long long *out)
{
    struct vars *v;
    struct sample smp;

    if (arg->type == ARGT_SINT) {
        *out = arg->data.sint;
        return 1;
    }
    if (arg->type != ARGT_VAR)
        return 0;
    v = vars_of(env->strm, arg->data.var.scope);
    if (v == NULL || !vars_get(v, arg->data.var.name, &smp) ||
        !sample_cast(&smp, SMP_T_SINT, env))
        return 0;
    *out = smp.data.sint;
    return 1;
}

/* Reads one argument word at *<in> into <buf>, undoing HAProxy's quotes
 * and escapes and stopping at an unquoted ',' or ')'. Returns its length,
 * or -1 on a trailing backslash. */
static long args_read_word(const char **in, char *buf)
{
    const char *p = *in;
    int sq = 0, dq = 0;
    long o = 0;

    while (*p != '\0') {
        if (*p == '"' && !sq) {
            dq = !dq;
            p++;
        } else if (*p == '\'' && !dq) {
            sq = !sq;
            p++;
        } else if (*p == '\\' && !sq) {
            if (p[1] == '\0') {
                *in = p;
                buf[o] = '\0';
                return -1;
            }
            p++;
            if (strchr("\\ \"'", *p) != NULL) {
                buf[o++] = *p++;
            } else if (*p == 'r' || *p == 'n' || *p == 't') {
                buf[o++] = *p == 'r' ? '\r' : *p == 'n' ? '\n' : '\t';
                p++;
            } else {
                buf[o++] = '\\'; /* a lone backslash stays */
            }
        } else if (!sq && !dq && (*p == ',' || *p == ')')) {
            break;
        } else {
            buf[o++] = *p++;
        }
    }
    buf[o] = '\0';
    *in = p;
    return o;
}

/* Parses the argument list at <in> ("(a,b)" or nothing) as HAProxy's
 * make_arg_list: returns the count with *<end> after the list, or RC_ERR
 * with *<err> and *<errpos> set. */
static int args_parse_list(const char *in, const struct argspec *sp,
                           struct arg *out, const char **end, int *errpos,
                           char **err)
{
    int empty = *in != '(';
    int pos = 0;
    char *buf = NULL;
    long wlen;

    out[0].type = ARGT_STOP;
    if (!empty)
        in++;
    if (sp->n == 0 || (empty && sp->min == 0))
        goto end_parse;
    buf = malloc(strlen(in) + 1);
    if (buf == NULL) {
        set_err(err, "out of memory");
        goto fail;
    }
    while (pos < sp->n) {
        /* without parentheses, one empty mandatory argument exists */
        const char *rd = empty ? "" : in;

        wlen = args_read_word(&rd, buf);
        if (!empty)
            in = rd;
        if (wlen < 0) {
            set_err(err,
                    "failed to parse '%s' after '%s' as type '%s' at "
                    "position %d",
                    in, buf, argtype_name(sp->type[pos]), pos + 1);
            goto fail;
        }
        if (wlen == 0 && argtype_needs_value(sp->type[pos])) {
            if (pos >= sp->min)
                goto end_parse;
            set_err(err, "expected type '%s' at position %d, but got nothing",
                    argtype_name(sp->type[pos]), pos + 1);
            goto fail;
        }
        if (arg_convert(sp->type[pos], buf, (size_t)wlen, &out[pos], pos,
                        err) != RC_OK)
            goto fail;
        out[++pos].type = ARGT_STOP;
        if (empty || *in == '\0' || *in == ')' || pos >= sp->n)
            break;
        in++; /* the comma */
    }
end_parse:
    if (pos < sp->min) {
        set_err(err, "missing arguments (got %d/%d), type '%s' expected", pos,
                sp->min, argtype_name(sp->type[pos]));
        goto fail;
    }
    if (!empty && *in != ')') {
        if (*in != '\0')
            set_err(err, "expected ')' before '%s'", in);
        else
            set_err(err, "expected ')'");
        if (pos > 1)
            pos--;
        goto fail;
    }
    free(buf);
    *end = empty ? in : in + 1;
    return pos;
fail:
    free(buf);
    sample_args_release(out);
    *errpos = pos;
    return RC_ERR;
}

/* Parses the arguments of a keyword declared with <types> and <check>
 * from the expression text at <in>. Returns RC_OK, RC_ERR (list error,
 * *<errpos> set) or ARGS_ERR_CHECK (validation error). */
static int kw_args_from_text(const char *types, sample_check_cb check,
                             const char *in, struct arg *out, const char **end,
                             int *errpos, char **err)
{
    struct argspec sp;

    out[0].type = ARGT_STOP;
    *errpos = 0;
    if (argspec_parse(types, &sp) != RC_OK)
        return set_err(err, "invalid argument specification '%s'", types);
    if (args_parse_list(in, &sp, out, end, errpos, err) < 0)
        return RC_ERR;
    if (args_resolve(&sp, out, check, err) != RC_OK) {
        sample_args_release(out);
        return ARGS_ERR_CHECK;
    }
    return RC_OK;
}

/* ------------------------------------------------------------------ */
/* Expressions                                                          */
/* ------------------------------------------------------------------ */

/* sample_err_wrap() with a formatted prefix followed by " : ". */
static int __attribute__((format(printf, 2, 3)))
err_prefix(char **err, const char *fmt, ...)
{
    char where[256], prefix[sizeof(where) + 3];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(where, sizeof(where), fmt, ap);
    va_end(ap);
    snprintf(prefix, sizeof(prefix), "%s : ", where);
    return sample_err_wrap(err, prefix, "");
}

/* Characters of keyword names (HAProxy's is_idchar). */
static int is_idchar(int c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-' ||
           c == '+' || c == '$';
}

/* Returns the end of the keyword name starting at <s>. */
static const char *idchars_end(const char *s)
{
    while (is_idchar(*s))
        s++;
    return s;
}

/* Parses the fetch keyword and its arguments; NULL with *<err> set. */
static struct sample_expr *expr_parse_fetch(const char *str, const char **endt,
                                            char **err)
{
    const char *endw = idchars_end(str);
    struct sample_expr *e;
    int rc, errpos;

    if (endw == str) {
        set_err(err, "missing fetch method");
        return NULL;
    }
    e = xcalloc(1, sizeof(*e));
    e->fetch = sample_fetch_find(str, (size_t)(endw - str));
    if (e->fetch == NULL) {
        set_err(err, "unknown fetch method '%.*s'", (int)(endw - str), str);
        free(e);
        return NULL;
    }
    e->out = e->fetch->out;
    rc = kw_args_from_text(e->fetch->args, e->fetch->check, endw, e->args, endt,
                           &errpos, err);
    if (rc == RC_OK)
        return e;
    if (rc == ARGS_ERR_CHECK)
        err_prefix(err, "invalid args in fetch method '%s'", e->fetch->name);
    else
        err_prefix(err, "fetch method '%s'", e->fetch->name);
    free(e);
    return NULL;
}

/* Parses one converter at <begw> and appends it to <e>; RC_OK or RC_ERR. */
static int expr_parse_conv(struct sample_expr *e, const char *begw,
                           const char **endt, char **err)
{
    const char *endw = idchars_end(begw);
    const struct sample_conv_kw *kw;
    struct sample_conv_expr *c;
    int rc, errpos;

    kw = sample_conv_find(begw, (size_t)(endw - begw));
    if (kw == NULL)
        return set_err(err, "unknown converter '%.*s'", (int)(endw - begw),
                       begw);
    if (!sample_cast_possible(e->out, kw->in))
        return set_err(err, "converter '%s' cannot be applied", kw->name);
    e->conv = xrealloc(e->conv, (e->nconv + 1) * sizeof(*e->conv));
    c = &e->conv[e->nconv];
    c->kw = kw;
    rc = kw_args_from_text(kw->args, kw->check, endw, c->args, endt, &errpos,
                           err);
    if (rc == ARGS_ERR_CHECK)
        return err_prefix(err, "invalid args in converter '%s'", kw->name);
    if (rc != RC_OK)
        return err_prefix(err, "invalid arg %d in converter '%s'", errpos + 1,
                          kw->name);
    e->nconv++;
    e->out = kw->out;
    return RC_OK;
}

/* HAProxy's sample_parse_expr: fetch then comma-separated converters. With
 * <endp>, stops at the first character that is not part of the expression;
 * without, the whole string must be consumed. */
static struct sample_expr *expr_parse(const char *str, const char **endp,
                                      char **err)
{
    struct sample_expr *e;
    const char *endt;
    const char *last = NULL; /* last converter, for messages */

    e = expr_parse_fetch(str, &endt, err);
    if (e == NULL)
        return NULL;
    for (;;) {
        if (*endt != '\0' && *endt != ',') {
            if (endp != NULL)
                break;
            if (last != NULL)
                set_err(err, "missing comma after converter '%s'", last);
            else
                set_err(err, "missing comma after fetch keyword");
            goto fail;
        }
        while (*endt == ',')
            endt++;
        if (*endt == '\0')
            break;
        if (expr_parse_conv(e, endt, &endt, err) != RC_OK)
            goto fail;
        last = e->conv[e->nconv - 1].kw->name;
    }
    if (endp != NULL)
        *endp = endt;
    return e;
fail:
    sample_expr_free(e);
    return NULL;
}

/* The whole string must be the expression. */
struct sample_expr *sample_expr_parse(const char *str, char **err)
{
    return expr_parse(str, NULL, err);
}

/* Stops where the expression stops. */
struct sample_expr *sample_expr_parse_prefix(const char *str, const char **end,
                                             char **err)
{
    return expr_parse(str, end, err);
}

int sample_expr_const(const struct sample_expr *e)
{
    static const char *const names[] = {
        "int",          "str",      "bool", "bin",         "ipv4",   "ipv6",
        "meth",         "var",      "env",  "always_true", "nbproc", "thread",
        "always_false", "hostname", "rand", "uuid",        "date",   NULL,
    };
    int i;

    for (i = 0; names[i] != NULL; i++)
        if (strcmp(e->fetch->name, names[i]) == 0)
            return 1;
    return 0;
}

/* Accepts NULL. */
void sample_expr_free(struct sample_expr *e)
{
    size_t i;

    if (e == NULL)
        return;
    sample_args_release(e->args);
    for (i = 0; i < e->nconv; i++)
        sample_args_release(e->conv[i].args);
    free(e->conv);
    free(e);
}

/* Casts to the converter's input type first, as HAProxy. */
int sample_conv_apply(const struct sample_conv_kw *kw, const struct arg *args,
                      struct sample *smp, const struct smp_env *env)
{
    if (kw->in != SMP_T_ANY && !sample_cast(smp, kw->in, env))
        return 0;
    return kw->fn(args, smp, env, kw->priv);
}

/* Keeps <out>'s flags and context for iterating fetches. */
int sample_expr_eval_next(const struct sample_expr *e,
                          const struct smp_env *env, struct sample *out)
{
    size_t i;

    if (!e->fetch->fn(e->args, out, env, e->fetch->priv))
        return 0;
    for (i = 0; i < e->nconv; i++)
        if (!sample_conv_apply(e->conv[i].kw, e->conv[i].args, out, env))
            return 0;
    return 1;
}

/* Starts from a zeroed sample. */
int sample_expr_eval(const struct sample_expr *e, const struct smp_env *env,
                     struct sample *out)
{
    memset(out, 0, sizeof(*out));
    return sample_expr_eval_next(e, env, out);
}

/* Output type of the last keyword. */
enum smp_type sample_expr_out_type(const struct sample_expr *e)
{
    return e->out;
}

/* The fetch keyword at the head of the chain. */
const struct sample_fetch_kw *sample_expr_fetch(const struct sample_expr *e)
{
    return e->fetch;
}

/* 1 if at least one converter follows the fetch. */
int sample_expr_has_convs(const struct sample_expr *e)
{
    return e->nconv > 0;
}

/* ------------------------------------------------------------------ */
/* Helpers for keywords                                                 */
/* ------------------------------------------------------------------ */

/* Scratch memory lives as long as the evaluation pool. */
void *sample_alloc(const struct smp_env *env, size_t n)
{
    if (env == NULL || env->pool == NULL)
        return NULL;
    return palloc(env->pool, n);
}

/* The copy is NUL-terminated for callers that need C strings. */
int sample_set_str_copy(struct sample *smp, enum smp_type type, const char *s,
                        size_t len, const struct smp_env *env)
{
    char *p = sample_alloc(env, len + 1);

    if (p == NULL)
        return 0;
    if (len > 0)
        memcpy(p, s, len);
    p[len] = '\0';
    smp->type = type;
    smp->data.str = (struct ist){p, len};
    return 1;
}

/* Accepts upper- and lower-case digits. */
long sample_hex2bin(const char *hex, size_t len, unsigned char *out)
{
    size_t i;

    if (len % 2)
        return -1;
    for (i = 0; i < len; i += 2) {
        int hi = hex_digit_value((unsigned char)hex[i]);
        int lo = hex_digit_value((unsigned char)hex[i + 1]);

        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    return (long)(len / 2);
}

/* Builds the new message before freeing the old one. */
int sample_err_wrap(char **err, const char *prefix, const char *suffix)
{
    char *old;

    if (err == NULL)
        return RC_ERR;
    old = *err;
    *err = xasprintf("%s%s%s", prefix, old ? old : "", suffix);
    free(old);
    return RC_ERR;
}

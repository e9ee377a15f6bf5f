/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* ACL expressions, patterns and conditions, written after HAProxy's acl.c
 * and pattern.c. An expression owns a sample expression, a matching method
 * and its patterns, compiled at load: the words of the line (integer
 * ranges, IPv4/IPv6 networks, strings, PCRE2 regexes) tried in turn, and
 * the "-f" files, which core/map.c loads and indexes (hashed exact keys,
 * longest prefixes and networks), shared with the map converters. At run
 * time a sample is cast to the method's type and tried against the
 * patterns; multi-value fetches are iterated. Results combine with
 * HAProxy's encoding FAIL=0, MISS=1, PASS=3 so that AND is '&' and OR is
 * '|' over three values. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/acl.h"
#include "core/errors.h"
#include "core/map.h"
#include "core/sample.h"
#include "core/util.h"

/* internal three-valued results */
#define R_FAIL 0
#define R_MISS 1
#define R_PASS 3

struct ip4_pat {
    uint32_t addr, mask; /* network order, addr already masked */
};

struct ip6_pat {
    struct in6_addr addr, mask;
};

/* Patterns of one expression; only the arrays of its method are used. The
 * words of the line are tried in turn (there are few); files are maps. */
struct pat_set {
    struct ist *str; /* str, beg, end, sub, dir, dom, bin, meth */
    size_t nstr;
    struct map_range *ints; /* int, len */
    size_t nints;
    struct ip4_pat *ip4;
    size_t nip4;
    struct ip6_pat *ip6;
    size_t nip6;
    struct sample_regex **reg;
    size_t nreg;
    struct map **maps; /* "-f" files of the map methods, one reference each */
    size_t nmaps;
};

struct acl_expr {
    struct acl_expr *next;
    struct sample_expr *smp;
    char *kw; /* the word as written, for messages */
    int method;
    int icase;
    unsigned use;
    int ver; /* integer patterns are versions (sample_fetch_kw.ver_patterns) */
    struct pat_set pats;
};

struct acl {
    struct acl *next;
    char *name;
    struct acl_expr *exprs;
    struct acl_expr **tail;
    unsigned use;
};

struct acl_term {
    const struct acl *acl;
    int neg;
};

struct acl_suite {
    struct acl_term *terms;
    size_t n;
};

struct acl_cond {
    struct acl_suite *suites;
    size_t n;
    int unless;
    unsigned use;
    struct acl_list owned; /* anonymous ACLs, defaults when no list */
};

struct method_name {
    const char *name;
    int method;
};

/* what "-m" accepts, HAProxy's pat_match_names */
static const struct method_name method_names[] = {
    {"found", PAT_MATCH_FOUND}, {"bool", PAT_MATCH_BOOL},
    {"int", PAT_MATCH_INT},     {"ip", PAT_MATCH_IP},
    {"bin", PAT_MATCH_BIN},     {"len", PAT_MATCH_LEN},
    {"str", PAT_MATCH_STR},     {"beg", PAT_MATCH_BEG},
    {"sub", PAT_MATCH_SUB},     {"dir", PAT_MATCH_DIR},
    {"dom", PAT_MATCH_DOM},     {"end", PAT_MATCH_END},
    {"reg", PAT_MATCH_REG},
};

static const struct acl_default builtin_defaults[] = {
    {"TRUE", {"always_true", NULL}},
    {"FALSE", {"always_false", NULL}},
    {"LOCALHOST", {"src", "127.0.0.1/8", "::1", NULL}},
    {"WAIT_END", {"wait_end", NULL}},
    {NULL, {NULL}},
};

const char *acl_method_name(int method)
{
    size_t i;

    for (i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++)
        if (method_names[i].method == method)
            return method_names[i].name;
    return "?";
}

static const struct acl_kw **kw_tables;
static size_t kw_ntables;
static const struct acl_default **def_tables;
static size_t def_ntables;

static struct acl *acl_build(const char *name, int argc, char **args,
                             char **err);
static void acl_free(struct acl *a);

/* ------------------------------------------------------------------ */
/* Registries                                                           */
/* ------------------------------------------------------------------ */

/* Appends <tbl> to the table list <*v> of <*n> entries unless present. */
static void table_add(const void ***v, size_t *n, const void *tbl)
{
    size_t i;

    for (i = 0; i < *n; i++)
        if ((*v)[i] == tbl)
            return;
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = tbl;
}

/* Referenced, not copied. */
void acl_register_keywords(const struct acl_kw *tbl)
{
    table_add((const void ***)&kw_tables, &kw_ntables, tbl);
}

/* Referenced, not copied. */
void acl_register_defaults(const struct acl_default *tbl)
{
    table_add((const void ***)&def_tables, &def_ntables, tbl);
}

/* Returns the ACL keyword named by the keyword part of <word>, or NULL. */
static const struct acl_kw *acl_kw_find(const char *word)
{
    size_t len = strcspn(word, "(,");
    const struct acl_kw *kw;
    size_t i;

    for (i = 0; i < kw_ntables; i++)
        for (kw = kw_tables[i]; kw->name != NULL; kw++)
            if (strncmp(kw->name, word, len) == 0 && kw->name[len] == '\0')
                return kw;
    return NULL;
}

/* Returns the predefined ACL <name> from table <tbl>, or NULL. */
static const struct acl_default *default_in(const struct acl_default *tbl,
                                            const char *name)
{
    for (; tbl->name != NULL; tbl++)
        if (strcmp(tbl->name, name) == 0)
            return tbl;
    return NULL;
}

/* Returns the predefined ACL <name>, built-ins first, or NULL. */
static const struct acl_default *default_find(const char *name)
{
    const struct acl_default *d = default_in(builtin_defaults, name);
    size_t i;

    for (i = 0; d == NULL && i < def_ntables; i++)
        d = default_in(def_tables[i], name);
    return d;
}

/* ------------------------------------------------------------------ */
/* Pattern parsing                                                      */
/* ------------------------------------------------------------------ */

/* Grows <arr> of <n> elements of <size> bytes by one, pointing *<out> at
 * the new zeroed slot; returns the moved array. Load-time only. */
static void *grow(void *arr, size_t n, size_t size, void **out)
{
    arr = xrealloc(arr, (n + 1) * size);
    *out = (char *)arr + n * size;
    memset(*out, 0, size);
    return arr;
}

/* The type a sample is cast to before <method> runs. */
static enum smp_type method_type(int method)
{
    switch (method) {
    case PAT_MATCH_FOUND:
        return SMP_T_ANY;
    case PAT_MATCH_BOOL:
    case PAT_MATCH_INT:
        return SMP_T_SINT;
    case PAT_MATCH_IP:
        return SMP_T_ADDR;
    case PAT_MATCH_BIN:
        return SMP_T_BIN;
    default:
        return SMP_T_STR;
    }
}

/* HAProxy's implicit method for a fetch output type, or AUTO if none. */
static int method_by_type(enum smp_type t)
{
    switch (t) {
    case SMP_T_BOOL:
        return PAT_MATCH_BOOL;
    case SMP_T_SINT:
        return PAT_MATCH_INT;
    case SMP_T_ADDR:
    case SMP_T_IPV4:
    case SMP_T_IPV6:
        return PAT_MATCH_IP;
    case SMP_T_STR:
        return PAT_MATCH_STR;
    case SMP_T_METH:
        return PAT_MATCH_METH;
    default:
        return PAT_MATCH_AUTO;
    }
}

/* Parses "addr[/mask]" for IPv4 or IPv6 (no DNS: "-n" is implied). */
static int parse_net(const char *text, struct pat_set *p, char **err)
{
    const char *slash = strchr(text, '/');
    const char *mask = slash ? slash + 1 : NULL;
    struct sample a = {.type = SMP_T_STR};
    struct arg m[2];
    int i;

    a.data.str =
        (struct ist){text, slash ? (size_t)(slash - text) : strlen(text)};
    if (!sample_cast(&a, SMP_T_ADDR, NULL) ||
        (mask != NULL && sample_args_parse(a.type == SMP_T_IPV4 ? "4" : "6", 1,
                                           &mask, m, 2, NULL) < 0))
        return set_err(err, "'%s' is not a valid IPv4 or IPv6 address", text);
    if (a.type == SMP_T_IPV4) {
        struct ip4_pat *n;

        p->ip4 = grow(p->ip4, p->nip4++, sizeof(*n), (void **)&n);
        n->mask = mask ? m[0].data.ipv4.s_addr : 0xffffffffU;
        n->addr = a.data.ipv4.s_addr & n->mask;
    } else {
        struct ip6_pat *n;

        p->ip6 = grow(p->ip6, p->nip6++, sizeof(*n), (void **)&n);
        memset(&n->mask, 0xff, sizeof(n->mask));
        if (mask != NULL)
            n->mask = m[0].data.ipv6;
        for (i = 0; i < 16; i++)
            n->addr.s6_addr[i] = a.data.ipv6.s6_addr[i] & n->mask.s6_addr[i];
    }
    return RC_OK;
}

/* Adds the string pattern <s> (<len> bytes) as an owned copy. */
static void add_str(struct pat_set *p, const char *s, size_t len)
{
    struct ist *slot;

    p->str = grow(p->str, p->nstr++, sizeof(*slot), (void **)&slot);
    *slot = (struct ist){xstrndup(s, len), len};
}

/* Compiles <text> for the expression's method and adds it. */
static int pat_add(struct acl_expr *e, const char *text, char **err)
{
    struct pat_set *p = &e->pats;
    unsigned char *bin;
    long n;

    switch (e->method) {
    case PAT_MATCH_FOUND:
    case PAT_MATCH_BOOL:
        return RC_OK; /* HAProxy ignores patterns here */
    case PAT_MATCH_INT:
    case PAT_MATCH_LEN: {
        struct map_range *r;

        p->ints = grow(p->ints, p->nints, sizeof(*r), (void **)&r);
        if (map_parse_range(text, r, err) != RC_OK)
            return RC_ERR;
        p->nints++;
        return RC_OK;
    }
    case PAT_MATCH_IP:
        return parse_net(text, p, err);
    case PAT_MATCH_BIN:
        bin = xmalloc(strlen(text) / 2 + 1);
        n = sample_hex2bin(text, strlen(text), bin);
        if (n >= 0)
            add_str(p, (const char *)bin, (size_t)n);
        free(bin);
        if (n < 0)
            return set_err(err, "'%s' is not a valid hex string", text);
        return RC_OK;
    case PAT_MATCH_REG: {
        struct sample_regex *re =
            sample_regex_new(text, strlen(text), e->icase, err);

        if (re == NULL)
            return RC_ERR;
        p->reg = xrealloc(p->reg, (p->nreg + 1) * sizeof(*p->reg));
        p->reg[p->nreg++] = re;
        return RC_OK;
    }
    default:
        add_str(p, text, strlen(text));
        return RC_OK;
    }
}

/* 1 if core/map.c indexes files for <method> (enum pat_match). */
static int method_has_map(int method)
{
    switch (method) {
    case PAT_MATCH_STR:
    case PAT_MATCH_BEG:
    case PAT_MATCH_SUB:
    case PAT_MATCH_DIR:
    case PAT_MATCH_DOM:
    case PAT_MATCH_END:
    case PAT_MATCH_REG:
    case PAT_MATCH_INT:
    case PAT_MATCH_IP:
        return 1;
    default:
        return 0;
    }
}

/* map_read_file callback: one line of a file for the other methods. */
static int pat_add_line(void *arg, char *key, char *value, char **err)
{
    return pat_add(arg, key, err);
}

/* Adds the patterns of file <path>, read by core/map.c: one a line, '#'
 * in the first column for comments, leading blanks skipped; with
 * <as_map>, the key only. The case rule is the one in force now, as
 * HAProxy's file references take the flags seen before "-f". */
static int pat_load_file(struct acl_expr *e, const char *path, int as_map,
                         char **err)
{
    struct pat_set *p = &e->pats;
    struct map *m;

    if (!method_has_map(e->method))
        return map_read_file(path, !as_map, pat_add_line, e, err);
    m = map_load(path, e->method, e->icase, as_map ? MAP_OUT_STR : MAP_OUT_NONE,
                 err);
    if (m == NULL)
        return RC_ERR;
    p->maps = xrealloc(p->maps, (p->nmaps + 1) * sizeof(*p->maps));
    p->maps[p->nmaps++] = m;
    return RC_OK;
}

/* ------------------------------------------------------------------ */
/* Expressions                                                          */
/* ------------------------------------------------------------------ */

/* Frees the patterns an expression owns. */
static void pats_free(struct pat_set *p)
{
    size_t i;

    for (i = 0; i < p->nstr; i++)
        free((char *)p->str[i].ptr);
    for (i = 0; i < p->nreg; i++)
        sample_regex_free(p->reg[i]);
    for (i = 0; i < p->nmaps; i++)
        map_release(p->maps[i]);
    free(p->str);
    free(p->ints);
    free(p->ip4);
    free(p->ip6);
    free(p->reg);
    free(p->maps);
}

/* Accepts NULL. */
static void expr_free(struct acl_expr *e)
{
    if (e == NULL)
        return;
    sample_expr_free(e->smp);
    pats_free(&e->pats);
    free(e->kw);
    free(e);
}

/* Parses the fetch word <word> (an ACL keyword or a sample expression) and
 * sets the method it implies. RC_OK or RC_ERR. */
static int expr_parse_fetch(struct acl_expr *e, const char *word, char **err)
{
    const struct acl_kw *kw = acl_kw_find(word);
    char prefix[128];
    int implicit;

    if (kw != NULL) {
        char *s = xasprintf("%s%s", kw->fetch, word + strlen(kw->name));

        e->smp = sample_expr_parse(s, err);
        free(s);
        snprintf(prefix, sizeof(prefix), "ACL keyword '%s' : ", kw->name);
        if (e->smp == NULL)
            return sample_err_wrap(err, prefix, "");
        implicit = kw->match;
    } else {
        e->smp = sample_expr_parse(word, err);
        if (e->smp == NULL) {
            char *where = xasprintf(" in ACL expression '%s'", word);

            sample_err_wrap(err, "", where);
            free(where);
            return RC_ERR;
        }
        implicit = sample_expr_fetch(e->smp)->match_method;
    }
    /* converters decide the type, hence the method */
    if (sample_expr_has_convs(e->smp) || implicit == PAT_MATCH_AUTO)
        implicit = method_by_type(sample_expr_out_type(e->smp));
    e->method = implicit;
    e->use = sample_expr_fetch(e->smp)->use;
    e->ver = !sample_expr_has_convs(e->smp) &&
             sample_expr_fetch(e->smp)->ver_patterns;
    return RC_OK;
}

/* Handles "-m NAME" at args[*i]; RC_OK or RC_ERR. */
static int opt_method(struct acl_expr *e, int argc, char **args, int *i,
                      int loaded, char **err)
{
    size_t k, n = sizeof(method_names) / sizeof(method_names[0]);
    const char *name = *i + 1 < argc ? args[*i + 1] : "";

    if (loaded)
        return set_err(err, "'-m' must only be specified before patterns "
                            "and files in parsing ACL expression");
    for (k = 0; k < n && strcmp(method_names[k].name, name) != 0; k++)
        ;
    if (k == n)
        return set_err(err,
                       "unknown matching method '%s' when parsing ACL "
                       "expression",
                       name);
    if (method_names[k].method != PAT_MATCH_FOUND &&
        !sample_cast_possible(sample_expr_out_type(e->smp),
                              method_type(method_names[k].method)))
        return set_err(err,
                       "matching method '%s' cannot be used with fetch "
                       "keyword '%s'",
                       name, e->kw);
    e->method = method_names[k].method;
    (*i)++;
    return RC_OK;
}

/* Error for a fetch whose type has no default method. */
static int err_no_method(const struct acl_expr *e, char **err)
{
    return set_err(err,
                   "matching method must be specified first (using '-m') "
                   "when using a sample fetch of this type ('%s')",
                   e->kw);
}

/* Parses the options after the fetch word; returns the index of the first
 * pattern, or RC_ERR. */
static int expr_parse_options(struct acl_expr *e, int argc, char **args,
                              char **err)
{
    int i, loaded = 0, as_map = 0;

    for (i = 1; i < argc && args[i][0] == '-'; i++) {
        const char *o = args[i];

        if (strcmp(o, "--") == 0)
            return i + 1;
        if (strcmp(o, "-i") == 0) {
            e->icase = 1;
        } else if (strcmp(o, "-n") == 0) {
            continue; /* no DNS at all here */
        } else if (strcmp(o, "-M") == 0) {
            as_map = 1;
        } else if (strcmp(o, "-u") == 0) {
            long long id;

            if (i + 1 >= argc ||
                !sample_parse_sint(args[i + 1], strlen(args[i + 1]), &id))
                return set_err(err, "the argument of -u must be an integer");
            i++;
        } else if (strcmp(o, "-f") == 0) {
            if (e->method == PAT_MATCH_AUTO)
                return err_no_method(e, err);
            if (i + 1 >= argc)
                return set_err(err, "'-f' expects a file name");
            if (pat_load_file(e, args[++i], as_map, err) != RC_OK)
                return RC_ERR;
            loaded = 1;
        } else if (strcmp(o, "-m") == 0) {
            if (opt_method(e, argc, args, &i, loaded, err) != RC_OK)
                return RC_ERR;
        } else {
            return set_err(err,
                           "'%s' is not a valid ACL option. Please use '--' "
                           "before any pattern beginning with a '-'",
                           o);
        }
    }
    return i;
}

/* Returns the operator named <w> (eq, ge, gt, le, lt) or NULL. */
static const char *int_operator(const char *w)
{
    static const char *const ops[] = {"eq", "ge", "gt", "le", "lt"};
    size_t i;

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(w, ops[i]) == 0)
            return ops[i];
    return NULL;
}

/* Adds the integer pattern <w> under operator <op> ("eq x" is "x", "gt x"
 * is "x+1:", "le x" is ":x"...), as HAProxy's compatibility layer. */
static int add_int_with_op(struct acl_expr *e, const char *op, const char *w,
                           char **err)
{
    struct map_range *r;
    long long v;

    if (strcmp(op, "eq") == 0 || strpbrk(w, ":-") != NULL)
        return pat_add(e, w, err);
    if (!sample_parse_sint(w, strlen(w), &v))
        return set_err(err, "'%s' is neither a number nor a supported operator",
                       w);
    e->pats.ints = grow(e->pats.ints, e->pats.nints++, sizeof(*r), (void **)&r);
    if (op[0] == 'g') {
        r->min = op[1] == 't' ? v + 1 : v;
        r->min_set = 1;
    } else {
        r->max = op[1] == 't' ? v - 1 : v;
        r->max_set = 1;
    }
    return RC_OK;
}

/* Writes the version pattern <w> ("major[.minor]", or a range of them
 * around ':') into <buf> as the integers (major << 16) | minor. RC_OK, or
 * RC_ERR with *<err> set. */
static int ver_pattern(const char *w, char *buf, size_t n, char **err)
{
    const char *p = w;
    size_t o = 0;

    buf[0] = '\0';
    while (*p != '\0') {
        unsigned long maj, min = 0;
        char *end;

        if (*p == ':') {
            if (o + 2 > n)
                break;
            buf[o++] = *p++;
            buf[o] = '\0';
            continue;
        }
        if (!isdigit((unsigned char)*p))
            break;
        maj = strtoul(p, &end, 10);
        if (*end == '.') {
            if (!isdigit((unsigned char)end[1]))
                break;
            min = strtoul(end + 1, &end, 10);
        }
        if (maj > 0x7fff || min > 0xffff || (*end != ':' && *end != '\0'))
            break;
        o += (size_t)snprintf(buf + o, n - o, "%lu", maj << 16 | min);
        if (o >= n)
            break;
        p = end;
    }
    if (*p != '\0')
        return set_err(err, "'%s' is not a version (major[.minor])", w);
    return RC_OK;
}

/* Adds the pattern words from args[<i>]; an operator word applies to the
 * integer patterns that follow it. */
static int expr_parse_patterns(struct acl_expr *e, int i, int argc, char **args,
                               char **err)
{
    int ints = e->method == PAT_MATCH_INT || e->method == PAT_MATCH_LEN;
    const char *op = "eq";
    char ver[64];

    for (; i < argc; i++) {
        const char *o = ints ? int_operator(args[i]) : NULL;
        const char *w = args[i];

        if (o != NULL) {
            op = o;
            continue;
        }
        if (ints && e->ver) {
            if (ver_pattern(w, ver, sizeof(ver), err) != RC_OK)
                return RC_ERR;
            w = ver;
        }
        if ((ints ? add_int_with_op(e, op, w, err) : pat_add(e, w, err)) !=
            RC_OK)
            return RC_ERR;
    }
    return RC_OK;
}

/* Parses "FETCH [options] [patterns]" into a new expression; NULL with
 * *<err> set. */
static struct acl_expr *expr_parse(int argc, char **args, char **err)
{
    struct acl_expr *e = xcalloc(1, sizeof(*e));
    int first;

    e->kw = xstrdup(argc > 0 ? args[0] : "");
    if (expr_parse_fetch(e, e->kw, err) != RC_OK)
        goto fail;
    first = expr_parse_options(e, argc, args, err);
    if (first < 0)
        goto fail;
    if (e->method == PAT_MATCH_AUTO) {
        err_no_method(e, err);
        goto fail;
    }
    if (expr_parse_patterns(e, first, argc, args, err) != RC_OK)
        goto fail;
    return e;
fail:
    expr_free(e);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Matching                                                             */
/* ------------------------------------------------------------------ */

/* The words of the line, tried in turn; binary ones byte for byte. */
static int match_strings(const struct acl_expr *e, struct ist s)
{
    int bin = e->method == PAT_MATCH_BIN;
    size_t i;

    for (i = 0; i < e->pats.nstr; i++)
        if (map_str_match(bin ? PAT_MATCH_STR : e->method, e->pats.str[i], s,
                          bin ? 0 : e->icase))
            return 1;
    return 0;
}

/* Any of the ranges. */
static int match_ints(const struct pat_set *p, long long v)
{
    size_t i;

    for (i = 0; i < p->nints; i++)
        if (map_range_match(&p->ints[i], v))
            return 1;
    return 0;
}

/* Networks are stored masked. */
static int match_ip4(const struct pat_set *p, struct in_addr a)
{
    size_t i;

    for (i = 0; i < p->nip4; i++)
        if ((a.s_addr & p->ip4[i].mask) == p->ip4[i].addr)
            return 1;
    return 0;
}

/* Networks are stored masked. */
static int match_ip6(const struct pat_set *p, const struct in6_addr *a)
{
    size_t i;
    int k;

    for (i = 0; i < p->nip6; i++) {
        for (k = 0; k < 16; k++)
            if ((a->s6_addr[k] & p->ip6[i].mask.s6_addr[k]) !=
                p->ip6[i].addr.s6_addr[k])
                break;
        if (k == 16)
            return 1;
    }
    return 0;
}

/* An address matches networks of its family, then those of the other
 * family through v4-mapped (or 6to4) forms, as HAProxy. */
static int match_ips(const struct pat_set *p, const struct sample *smp)
{
    struct sample alt = *smp;

    if (smp->type == SMP_T_IPV4)
        return match_ip4(p, smp->data.ipv4) ||
               (p->nip6 > 0 && sample_cast(&alt, SMP_T_IPV6, NULL) &&
                match_ip6(p, &alt.data.ipv6));
    return match_ip6(p, &smp->data.ipv6) ||
           (p->nip4 > 0 && sample_cast(&alt, SMP_T_IPV4, NULL) &&
            match_ip4(p, alt.data.ipv4));
}

/* The indexed look-up of each "-f" file; <smp> has the method's type,
 * which is the maps' input type for the methods they serve. */
static int match_maps(const struct pat_set *p, const struct sample *smp)
{
    struct sample value;
    size_t i;

    for (i = 0; i < p->nmaps; i++)
        if (map_lookup(p->maps[i], smp, &value))
            return 1;
    return 0;
}

/* Tries the patterns written on the line against the cast <smp>. */
static int expr_match_words(const struct acl_expr *e, const struct sample *smp)
{
    switch (e->method) {
    case PAT_MATCH_BOOL:
        return smp->data.sint != 0;
    case PAT_MATCH_INT:
        return match_ints(&e->pats, smp->data.sint);
    case PAT_MATCH_LEN:
        return match_ints(&e->pats, (long long)smp->data.str.len);
    case PAT_MATCH_IP:
        return match_ips(&e->pats, smp);
    case PAT_MATCH_REG: {
        size_t i;

        for (i = 0; i < e->pats.nreg; i++)
            if (sample_regex_match(e->pats.reg[i], smp->data.str.ptr,
                                   smp->data.str.len))
                return 1;
        return 0;
    }
    default:
        return match_strings(e, smp->data.str);
    }
}

/* Casts <smp> for the method and tries every pattern; 1 on a match. */
static int expr_match(const struct acl_expr *e, struct sample *smp,
                      const struct smp_env *env)
{
    if (e->method == PAT_MATCH_FOUND)
        return 1;
    if (!sample_cast(smp, method_type(e->method), env))
        return 0;
    return expr_match_words(e, smp) || match_maps(&e->pats, smp);
}

/* Evaluates one expression over every value of its fetch. */
static int expr_exec(const struct acl_expr *e, const struct smp_env *env)
{
    int final = (env->opt & SMP_OPT_FINAL) != 0;
    struct smp_env it = *env;
    struct sample smp;
    int res = R_FAIL;

    if (e->use & ~env->avail)
        return final ? R_FAIL : R_MISS;
    it.opt |= SMP_OPT_ITERATE;
    memset(&smp, 0, sizeof(smp));
    do {
        smp.flags &= ~(SMP_F_NOT_LAST | SMP_F_MAY_CHANGE);
        if (sample_expr_eval_next(e->smp, &it, &smp) &&
            expr_match(e, &smp, &it))
            return R_PASS;
        if ((smp.flags & SMP_F_MAY_CHANGE) && !final)
            res = R_MISS;
    } while (smp.flags & SMP_F_NOT_LAST);
    return res;
}

/* An ACL is the OR of its expressions. */
static int acl_exec(const struct acl *a, const struct smp_env *env)
{
    const struct acl_expr *e;
    int res = R_FAIL;

    for (e = a->exprs; e != NULL && res != R_PASS; e = e->next)
        res |= expr_exec(e, env);
    return res;
}

/* A suite is the AND of its terms; a FAIL or a MISS decides it. */
static int suite_exec(const struct acl_suite *s, const struct smp_env *env)
{
    int res = R_PASS;
    size_t i;

    for (i = 0; i < s->n && res == R_PASS; i++) {
        int r = acl_exec(s->terms[i].acl, env);

        if (s->terms[i].neg && r != R_MISS)
            r ^= R_PASS;
        res &= r;
    }
    return res;
}

/* OR of suites, then the "unless" polarity; MISS stays MISS. */
int acl_cond_exec(const struct acl_cond *c, const struct smp_env *env)
{
    int res = R_FAIL;
    size_t i;

    for (i = 0; i < c->n && res != R_PASS; i++)
        res |= suite_exec(&c->suites[i], env);
    if (res == R_MISS)
        return ACL_MISS;
    return (res == R_PASS) != (c->unless != 0) ? ACL_PASS : ACL_FAIL;
}

/* Union of the fetches' needs. */
unsigned acl_cond_use(const struct acl_cond *c)
{
    return c->use;
}

/* ------------------------------------------------------------------ */
/* Named ACLs                                                           */
/* ------------------------------------------------------------------ */

/* An empty list. */
void acl_list_init(struct acl_list *l)
{
    l->head = NULL;
}

/* Frees every ACL and its expressions. */
void acl_list_free(struct acl_list *l)
{
    struct acl *a, *next;

    for (a = l->head; a != NULL; a = next) {
        next = a->next;
        acl_free(a);
    }
    l->head = NULL;
}

/* Frees the expressions, the name and the ACL. */
static void acl_free(struct acl *a)
{
    struct acl_expr *e, *next;

    for (e = a->exprs; e != NULL; e = next) {
        next = e->next;
        expr_free(e);
    }
    free(a->name);
    free(a);
}

/* Returns the ACL <name> of <l>, or NULL. */
static struct acl *acl_find(const struct acl_list *l, const char *name)
{
    struct acl *a;

    for (a = l ? l->head : NULL; a != NULL; a = a->next)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

/* Adds expression <e> to ACL <a>. */
static void acl_add_expr(struct acl *a, struct acl_expr *e)
{
    *a->tail = e;
    a->tail = &e->next;
    a->use |= e->use;
}

/* Appends <a> to <l>. */
static void list_append(struct acl_list *l, struct acl *a)
{
    struct acl **pp = &l->head;

    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = a;
}

/* Makes a new ACL <name> from the expression words; NULL with *<err>. */
static struct acl *acl_build(const char *name, int argc, char **args,
                             char **err)
{
    struct acl_expr *e = expr_parse(argc, args, err);
    struct acl *a;

    if (e == NULL)
        return NULL;
    a = xcalloc(1, sizeof(*a));
    a->name = xstrdup(name);
    a->tail = &a->exprs;
    acl_add_expr(a, e);
    return a;
}

/* HAProxy's invalid_char(): ACL names use [A-Za-z0-9._:-]. */
static int check_name(const char *name, char **err)
{
    const char *p;

    for (p = name; *p != '\0'; p++)
        if (!isalnum((unsigned char)*p) && strchr("._:-", *p) == NULL)
            return set_err(err, "invalid character in ACL name : '%c'", *p);
    if (strcasecmp(name, "or") == 0)
        return set_err(err,
                       "acl name '%s' will never match. 'or' is used to "
                       "express a logical OR between two consecutive ACLs",
                       name);
    return RC_OK;
}

/* A known name gets one more OR-ed expression. */
int acl_parse_line(struct acl_list *l, int argc, char **args, char **err)
{
    struct acl_expr *e;
    struct acl *a;

    if (argc < 2 || *args[0] == '\0')
        return set_err(err, "'acl' requires an ACL name and a sample fetch "
                            "method");
    if (check_name(args[0], err) != RC_OK)
        return RC_ERR;
    a = acl_find(l, args[0]);
    if (a == NULL) {
        a = acl_build(args[0], argc - 1, args + 1, err);
        if (a == NULL)
            return RC_ERR;
        list_append(l, a);
        return RC_OK;
    }
    e = expr_parse(argc - 1, args + 1, err);
    if (e == NULL)
        return RC_ERR;
    acl_add_expr(a, e);
    return RC_OK;
}

/* ------------------------------------------------------------------ */
/* Conditions                                                           */
/* ------------------------------------------------------------------ */

/* Frees the suites and the ACLs the condition owns. */
void acl_cond_free(struct acl_cond *c)
{
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < c->n; i++)
        free(c->suites[i].terms);
    free(c->suites);
    acl_list_free(&c->owned);
    free(c);
}

/* Finds <name> in <l>, else builds the predefined ACL and keeps it in <l>
 * (or in the condition when there is no list). NULL with *<err> set. */
static const struct acl *cond_lookup(struct acl_cond *c, struct acl_list *l,
                                     const char *name, char **err)
{
    const struct acl_default *d;
    struct acl *a = acl_find(l, name);
    int n;

    if (a == NULL)
        a = acl_find(&c->owned, name);
    if (a != NULL)
        return a;
    d = default_find(name);
    if (d == NULL) {
        set_err(err, "no such ACL : '%s'", name);
        return NULL;
    }
    for (n = 0; d->words[n] != NULL; n++)
        ;
    a = acl_build(name, n, (char **)d->words, err);
    if (a != NULL)
        list_append(l != NULL ? l : &c->owned, a);
    return a;
}

/* Builds the anonymous ACL between args[*i] == "{" and its "}". */
static const struct acl *cond_anonymous(struct acl_cond *c, int argc,
                                        char **args, int *i, char **err)
{
    int end = *i + 1;
    struct acl *a;

    while (end < argc && strcmp(args[end], "}") != 0)
        end++;
    if (end == argc) {
        set_err(err, "missing closing '}' in condition");
        return NULL;
    }
    a = acl_build("", end - *i - 1, args + *i + 1, err);
    if (a == NULL)
        return NULL;
    a->next = c->owned.head;
    c->owned.head = a;
    *i = end;
    return a;
}

/* Appends a term to the current suite, opening one if needed. */
static void cond_add_term(struct acl_cond *c, int new_suite,
                          const struct acl *a, int neg)
{
    struct acl_suite *s;

    if (new_suite || c->n == 0) {
        c->suites = xrealloc(c->suites, (c->n + 1) * sizeof(*c->suites));
        c->suites[c->n].terms = NULL;
        c->suites[c->n++].n = 0;
    }
    s = &c->suites[c->n - 1];
    s->terms = xrealloc(s->terms, (s->n + 1) * sizeof(*s->terms));
    s->terms[s->n].acl = a;
    s->terms[s->n++].neg = neg;
    c->use |= a->use;
}

/* HAProxy's parse_acl_cond: a new suite after each "or". */
struct acl_cond *acl_cond_parse(struct acl_list *l, int argc, char **args,
                                int is_unless, char **err)
{
    struct acl_cond *c = xcalloc(1, sizeof(*c));
    int i, neg = 0, new_suite = 1;

    c->unless = is_unless;
    acl_list_init(&c->owned);
    for (i = 0; i < argc; i++) {
        const char *w = args[i];
        const struct acl *a;

        /* "!" may stand alone or stick to the word, even repeated */
        for (; *w == '!'; w++)
            neg = !neg;
        if (*w == '\0')
            continue;
        if (strcasecmp(w, "or") == 0 || strcmp(w, "||") == 0) {
            new_suite = 1;
            neg = 0;
            continue;
        }
        if (strcmp(w, "{") == 0)
            a = cond_anonymous(c, argc, args, &i, err);
        else
            a = cond_lookup(c, l, w, err);
        if (a == NULL)
            goto fail;
        cond_add_term(c, new_suite, a, neg);
        new_suite = neg = 0;
    }
    if (c->n == 0) {
        set_err(err, "missing condition after '%s'",
                is_unless ? "unless" : "if");
        goto fail;
    }
    return c;
fail:
    acl_cond_free(c);
    return NULL;
}

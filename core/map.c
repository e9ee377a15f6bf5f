/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Map files: loading, indexing, look-ups, and the map_* converters.
 * Files are read at configuration load only (in the master; workers
 * inherit them through fork) and are immutable afterwards, so look-ups
 * need no locking and return values that point into the map. Exact string
 * keys, prefixes and IP networks share one open-addressing hash table:
 * a prefix or network look-up probes it once per distinct key length
 * (bits for networks), longest first, which gives the longest match as a
 * prefix tree would. The other methods keep HAProxy's list semantics: the
 * first entry of the file that matches wins. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/errors.h"
#include "core/map.h"
#include "core/sample.h"
#include "core/util.h"

/* IP index keys: family tag, prefix length, then the masked address. */
#define IPKEY_LEN (2 + 16)

struct map_entry {
    struct ist key;          /* owned; binary index key for IP maps */
    struct map_range range;  /* INT */
    int listed;              /* IP with a non-contiguous mask: not hashed */
    struct sample_regex *re; /* REG */
    struct sample value;     /* strings point into <text> */
    char *text;              /* owned value text */
    char *src;               /* owned key as written, for the runtime API */
};

/* Distinct key lengths (bytes, or prefix bits for IP), longest first. */
struct len_set {
    unsigned *v;
    size_t n;
};

struct map {
    struct map *next; /* in the cache of loaded files */
    unsigned refs;
    int id; /* "#id" of the runtime API, in order of loading */
    char *path;
    int match, icase;
    enum map_out out;
    dev_t dev; /* identity of the file as loaded */
    ino_t ino;
    off_t size;
    struct timespec mtime;
    struct map_entry *e;
    size_t n, cap;
    uint32_t *hash; /* entry index + 1, 0 = empty slot */
    size_t hash_size;
    struct len_set lens[2]; /* [0]: strings or IPv4 bits, [1]: IPv6 bits */
    size_t nlisted;         /* IP entries with non-contiguous masks */
};

static struct map *map_cache;
static int map_next_id;

/* ------------------------------------------------------------------ */
/* Hash index                                                           */
/* ------------------------------------------------------------------ */

/* FNV-1a, folded to lower case when <icase>. */
static uint32_t key_hash(const char *s, size_t len, int icase)
{
    uint32_t h = 2166136261U;
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        h = (h ^ (icase ? (unsigned char)tolower(c) : c)) * 16777619U;
    }
    return h;
}

/* Byte comparison honouring the map's case rule. */
static int key_eq(const struct map *m, struct ist a, const char *b, size_t len)
{
    if (a.len != len)
        return 0;
    if (len == 0)
        return 1;
    return m->icase ? strncasecmp(a.ptr, b, len) == 0
                    : memcmp(a.ptr, b, len) == 0;
}

/* Returns the first entry whose key is the <len> bytes at <s>, or NULL. */
static const struct map_entry *hash_find(const struct map *m, const char *s,
                                         size_t len)
{
    size_t mask = m->hash_size - 1, h;

    if (m->hash == NULL)
        return NULL;
    for (h = key_hash(s, len, m->icase) & mask; m->hash[h] != 0;
         h = (h + 1) & mask)
        if (key_eq(m, m->e[m->hash[h] - 1].key, s, len))
            return &m->e[m->hash[h] - 1];
    return NULL;
}

/* Adds <v> to <ls> unless present, keeping it sorted longest first. */
static void len_add(struct len_set *ls, unsigned v)
{
    size_t i, j;

    for (i = 0; i < ls->n && ls->v[i] > v; i++)
        ;
    if (i < ls->n && ls->v[i] == v)
        return;
    ls->v = xrealloc(ls->v, (ls->n + 1) * sizeof(*ls->v));
    for (j = ls->n; j > i; j--)
        ls->v[j] = ls->v[j - 1];
    ls->v[i] = v;
    ls->n++;
}

/* Indexes the entries; a duplicate key keeps its first entry. */
static void hash_build(struct map *m)
{
    size_t i, size = 16;

    while (size < m->n * 2)
        size *= 2;
    m->hash = xcalloc(size, sizeof(*m->hash));
    m->hash_size = size;
    for (i = 0; i < m->n; i++) {
        const struct ist k = m->e[i].key;
        size_t h = key_hash(k.ptr, k.len, m->icase) & (size - 1);

        if (m->e[i].listed || hash_find(m, k.ptr, k.len) != NULL)
            continue;
        while (m->hash[h] != 0)
            h = (h + 1) & (size - 1);
        m->hash[h] = (uint32_t)(i + 1);
    }
}

/* ------------------------------------------------------------------ */
/* Parsing one line                                                     */
/* ------------------------------------------------------------------ */

/* Parses one bound of an integer range; 1 or 0. */
static int parse_bound(const char *s, size_t len, long long *v, int *set)
{
    *set = 1;
    return sample_parse_sint(s, len, v);
}

/* HAProxy's pat_parse_int: the first ':' or '-' separates the bounds, so
 * a leading '-' means "up to". */
int map_parse_range(const char *text, struct map_range *r, char **err)
{
    size_t len = strlen(text), sep = strcspn(text, ":-");

    memset(r, 0, sizeof(*r));
    if (len == 0)
        return set_err(err, "'%s' is not a valid integer range", text);
    if (sep == len) {
        if (!parse_bound(text, len, &r->min, &r->min_set))
            return set_err(err, "'%s' is not a number", text);
        r->max = r->min;
        r->max_set = 1;
        return RC_OK;
    }
    if ((sep > 0 && !parse_bound(text, sep, &r->min, &r->min_set)) ||
        (sep + 1 < len &&
         !parse_bound(text + sep + 1, len - sep - 1, &r->max, &r->max_set)) ||
        (!r->min_set && !r->max_set))
        return set_err(err, "'%s' is not a valid integer range", text);
    return RC_OK;
}

/* Unset bounds are open. */
int map_range_match(const struct map_range *r, long long v)
{
    return (!r->min_set || v >= r->min) && (!r->max_set || v <= r->max);
}

/* Number of leading one bits of the <n>-byte mask <b>; -1 if the mask is
 * not contiguous. */
static int mask_bits(const unsigned char *b, size_t n)
{
    size_t i;
    int bits = 0, zero = 0;

    for (i = 0; i < n * 8; i++) {
        int one = (b[i / 8] >> (7 - i % 8)) & 1;

        if (one && zero)
            return -1;
        if (one)
            bits++;
        else
            zero = 1;
    }
    return bits;
}

/* Builds the index key of <addr> (4 or 16 bytes) cut to <bits> into
 * <out> (IPKEY_LEN bytes); returns the key length. */
static size_t ipkey(const unsigned char *addr, size_t alen, unsigned bits,
                    char *out)
{
    size_t i;

    memset(out, 0, IPKEY_LEN);
    out[0] = alen == 4 ? '4' : '6';
    out[1] = (char)bits;
    for (i = 0; i < alen; i++) {
        unsigned keep = bits >= 8 * (i + 1) ? 8
                        : bits > 8 * i      ? bits - 8 * i
                                            : 0;

        out[2 + i] = (char)(addr[i] & (0xff00 >> keep));
    }
    return 2 + alen;
}

/* Keeps a network with a non-contiguous mask <mk> as its family tag, the
 * masked address and the mask, for a scan after the index, as HAProxy
 * keeps such networks in a list after its tree. */
static int listed_net(struct map *m, struct map_entry *e,
                      const unsigned char *addr, size_t alen,
                      const struct arg *mk)
{
    const unsigned char *mask = alen == 4
                                    ? (const unsigned char *)&mk->data.ipv4
                                    : mk->data.ipv6.s6_addr;
    char *key = xmalloc(1 + 2 * alen);
    size_t i;

    key[0] = alen == 4 ? '4' : '6';
    for (i = 0; i < alen; i++) {
        key[1 + i] = (char)(addr[i] & mask[i]);
        key[1 + alen + i] = (char)mask[i];
    }
    free((char *)e->key.ptr);
    e->key = (struct ist){key, 1 + 2 * alen};
    e->listed = 1;
    m->nlisted++;
    return RC_OK;
}

/* Parses "addr[/mask]" into the entry's binary key. */
static int parse_net(struct map *m, struct map_entry *e, char **err)
{
    const char *text = e->key.ptr, *slash = strchr(text, '/');
    struct sample a = {.type = SMP_T_STR};
    const unsigned char *addr;
    struct arg mk[2];
    char key[IPKEY_LEN];
    size_t alen;
    int bits;

    a.data.str =
        (struct ist){text, slash ? (size_t)(slash - text) : strlen(text)};
    if (!sample_cast(&a, SMP_T_ADDR, NULL))
        return set_err(err, "'%s' is not a valid IPv4 or IPv6 address", text);
    alen = a.type == SMP_T_IPV4 ? 4 : 16;
    addr =
        alen == 4 ? (const unsigned char *)&a.data.ipv4 : a.data.ipv6.s6_addr;
    bits = (int)alen * 8;
    if (slash != NULL) {
        const char *mtext = slash + 1;

        if (sample_args_parse(alen == 4 ? "4" : "6", 1, &mtext, mk, 2, NULL) <
            0)
            return set_err(err, "'%s' is not a valid network", text);
        bits = mask_bits(alen == 4 ? (const unsigned char *)&mk[0].data.ipv4
                                   : mk[0].data.ipv6.s6_addr,
                         alen);
        if (bits < 0)
            return listed_net(m, e, addr, alen, mk);
    }
    alen = ipkey(addr, alen, (unsigned)bits, key);
    free((char *)e->key.ptr);
    e->key = (struct ist){xstrndup(key, alen), alen};
    len_add(&m->lens[alen == 6 ? 0 : 1], (unsigned)bits);
    return RC_OK;
}

/* Compiles the key for the map's method. */
static int parse_key(struct map *m, struct map_entry *e, char **err)
{
    switch (m->match) {
    case PAT_MATCH_INT:
        return map_parse_range(e->key.ptr, &e->range, err);
    case PAT_MATCH_IP:
        return parse_net(m, e, err);
    case PAT_MATCH_REG:
        e->re = sample_regex_new(e->key.ptr, e->key.len, m->icase, err);
        return e->re != NULL ? RC_OK : RC_ERR;
    case PAT_MATCH_BEG:
        len_add(&m->lens[0], (unsigned)e->key.len);
        return RC_OK;
    default:
        return RC_OK;
    }
}

/* Parses the value text into the typed value of the map's output. */
static int parse_value(struct map *m, struct map_entry *e, char **err)
{
    struct sample *v = &e->value;
    size_t len = strlen(e->text);

    v->type = SMP_T_STR;
    v->data.str = (struct ist){e->text, len};
    if (m->out == MAP_OUT_INT) {
        v->type = SMP_T_SINT;
        if (!sample_parse_sint(e->text, len, &v->data.sint))
            return set_err(err, "'%s' is not a valid integer value", e->text);
    } else if (m->out == MAP_OUT_IP) {
        if (!sample_cast(v, SMP_T_ADDR, NULL))
            return set_err(err, "'%s' is not a valid IP address value",
                           e->text);
    }
    return RC_OK;
}

/* Splits <line> into key and value as HAProxy does: '#' in the first
 * column starts a comment, leading blanks are skipped, the key ends at a
 * blank, the value is the rest of the line after blanks. Keys-only files
 * keep the whole line. Returns 0 for lines without a key. */
static int split_line(char *line, int keys_only, char **key, char **value)
{
    char *c = line + strspn(line, " \t");

    if (*line == '#')
        return 0;
    *key = c;
    c += strcspn(c, keys_only ? "\r\n" : " \t\r\n");
    if (c == *key)
        return 0;
    if (*c == ' ' || *c == '\t') {
        *c++ = '\0';
        c += strspn(c, " \t");
    }
    *value = c;
    c[strcspn(c, "\r\n")] = '\0';
    (*key)[strcspn(*key, "\r\n")] = '\0';
    return 1;
}

/* Adds the entry of one line to the map <arg>; RC_OK or RC_ERR with
 * *<err>. The array grows geometrically: files may have millions of
 * lines. */
static int add_line(void *arg, char *key, char *value, char **err)
{
    struct map *m = arg;
    struct map_entry *e;

    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->e = xrealloc(m->e, m->cap * sizeof(*m->e));
    }
    e = &m->e[m->n++];
    memset(e, 0, sizeof(*e));
    e->key = (struct ist){xstrdup(key), strlen(key)};
    e->src = xstrdup(key);
    e->text = xstrdup(m->out == MAP_OUT_NONE ? "" : value);
    if (parse_key(m, e, err) != RC_OK || parse_value(m, e, err) != RC_OK)
        return RC_ERR;
    return RC_OK;
}

/* ------------------------------------------------------------------ */
/* Loading and the cache                                                */
/* ------------------------------------------------------------------ */

/* Frees what entry <e> owns. */
static void entry_free(struct map_entry *e)
{
    free((char *)e->key.ptr);
    free(e->text);
    free(e->src);
    sample_regex_free(e->re);
}

/* Frees what the map owns, and the map. */
static void map_free(struct map *m)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        entry_free(&m->e[i]);
    free(m->e);
    free(m->hash);
    free(m->lens[0].v);
    free(m->lens[1].v);
    free(m->path);
    free(m);
}

/* Passes every line of <f> (named <path>) with a key to <cb>; RC_OK or
 * RC_ERR with the position appended to *<err>. */
static int read_lines(FILE *f, const char *path, int keys_only, map_line_cb cb,
                      void *arg, char **err)
{
    char *line = NULL, *key, *value;
    size_t cap = 0;
    int lineno = 0, rc = RC_OK;

    while (rc == RC_OK && getline(&line, &cap, f) >= 0) {
        lineno++;
        if (split_line(line, keys_only, &key, &value))
            rc = cb(arg, key, value, err);
    }
    free(line);
    if (rc != RC_OK) {
        char *where = xasprintf(" at line %d of file '%s'", lineno, path);

        sample_err_wrap(err, "", where);
        free(where);
    }
    return rc;
}

/* HAProxy's message, without the system's reason. */
static int open_err(const char *path, char **err)
{
    return set_err(err, "failed to open pattern file <%s>", path);
}

/* Opens and reads <path> for a caller with its own index. */
int map_read_file(const char *path, int keys_only, map_line_cb cb, void *arg,
                  char **err)
{
    FILE *f = fopen(path, "r");
    int rc;

    if (f == NULL)
        return open_err(path, err);
    rc = read_lines(f, path, keys_only, cb, arg, err);
    fclose(f);
    return rc;
}

/* Returns the cached map for these parameters if the file is unchanged
 * since it was read, with one more reference; else NULL. */
static struct map *cache_find(const char *path, int match, int icase,
                              enum map_out out, const struct stat *st)
{
    struct map *m;

    for (m = map_cache; m != NULL; m = m->next)
        if (strcmp(m->path, path) == 0 && m->match == match &&
            m->icase == icase && m->out == out && m->dev == st->st_dev &&
            m->ino == st->st_ino && m->size == st->st_size &&
            m->mtime.tv_sec == st->st_mtim.tv_sec &&
            m->mtime.tv_nsec == st->st_mtim.tv_nsec) {
            m->refs++;
            return m;
        }
    return NULL;
}

/* The id of the file <path>: that of a map already loaded from it (with
 * another method), as HAProxy has one reference per file, or a new one. */
static int map_path_id(const char *path)
{
    const struct map *m;

    for (m = map_cache; m != NULL; m = m->next)
        if (strcmp(m->path, path) == 0)
            return m->id;
    return map_next_id++;
}

/* Reads and indexes the file, or shares an identical loaded one. */
struct map *map_load(const char *path, int match, int icase, enum map_out out,
                     char **err)
{
    FILE *f = fopen(path, "r");
    struct stat st;
    struct map *m;

    if (f == NULL || fstat(fileno(f), &st) != 0) {
        open_err(path, err);
        if (f != NULL)
            fclose(f);
        return NULL;
    }
    m = cache_find(path, match, icase, out, &st);
    if (m != NULL) {
        fclose(f);
        return m;
    }
    m = xcalloc(1, sizeof(*m));
    m->path = xstrdup(path);
    m->match = match;
    m->icase = icase;
    m->out = out;
    if (read_lines(f, path, out == MAP_OUT_NONE, add_line, m, err) != RC_OK) {
        fclose(f);
        map_free(m);
        return NULL;
    }
    fclose(f);
    hash_build(m);
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    m->size = st.st_size;
    m->mtime = st.st_mtim;
    m->refs = 1;
    m->id = map_path_id(path);
    m->next = map_cache;
    map_cache = m;
    return m;
}

/* The last reference unlinks the map from the cache and frees it. */
void map_release(struct map *m)
{
    struct map **pp;

    if (m == NULL || --m->refs > 0)
        return;
    for (pp = &map_cache; *pp != NULL; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    map_free(m);
}

/* ------------------------------------------------------------------ */
/* Run-time edits (runtime API, in one worker)                          */
/* ------------------------------------------------------------------ */

struct map *map_find_ref(const char *ref, int keys_only)
{
    struct map *m;
    char *end;
    long id = -1;

    if (ref[0] == '#') {
        id = strtol(ref + 1, &end, 10);
        if (end == ref + 1 || *end != '\0')
            return NULL;
    }
    for (m = map_cache; m != NULL; m = m->next)
        if ((m->out == MAP_OUT_NONE) == (keys_only != 0) &&
            (id >= 0 ? m->id == id : strcmp(m->path, ref) == 0))
            return m;
    return NULL;
}

struct map *map_next_same(struct map *m)
{
    const struct map *ref = m;

    for (m = m->next; m != NULL; m = m->next)
        if (m->id == ref->id &&
            (m->out == MAP_OUT_NONE) == (ref->out == MAP_OUT_NONE))
            return m;
    return NULL;
}

struct map *map_next(struct map *m, int keys_only)
{
    const struct map *o;

    for (m = m == NULL ? map_cache : m->next; m != NULL; m = m->next) {
        if ((m->out == MAP_OUT_NONE) != (keys_only != 0))
            continue;
        for (o = map_cache; o != m; o = o->next)
            if (o->id == m->id && (o->out == MAP_OUT_NONE) == (keys_only != 0))
                break;
        if (o == m) /* the first of its file */
            return m;
    }
    return NULL;
}

void map_describe(const struct map *m, int *id, const char **path)
{
    *id = m->id;
    *path = m->path;
}

int map_entry_get(const struct map *m, size_t i, const char **key,
                  const char **value, const void **ptr)
{
    if (i >= m->n)
        return 0;
    *key = m->e[i].src;
    *value = m->e[i].text;
    *ptr = &m->e[i];
    return 1;
}

/* Indexes the map again after an edit. */
static void map_reindex(struct map *m)
{
    free(m->hash);
    hash_build(m);
}

int map_add(struct map *m, const char *key, const char *value, char **err)
{
    char *k = xstrdup(key), *v = xstrdup(value);
    int rc = add_line(m, k, v, err);

    free(k);
    free(v);
    if (rc != RC_OK) {
        entry_free(&m->e[--m->n]);
        return RC_ERR;
    }
    map_reindex(m);
    return RC_OK;
}

int map_set(struct map *m, const char *key, const char *value, char **err)
{
    struct map_entry tmp;
    size_t i;
    int found = 0;

    memset(&tmp, 0, sizeof(tmp));
    tmp.text = xstrdup(value);
    if (parse_value(m, &tmp, err) != RC_OK) {
        free(tmp.text);
        return RC_ERR;
    }
    for (i = 0; i < m->n; i++) {
        if (strcmp(m->e[i].src, key) != 0)
            continue;
        free(m->e[i].text);
        m->e[i].text = xstrdup(value);
        parse_value(m, &m->e[i], err); /* checked on <tmp> */
        found = 1;
    }
    free(tmp.text);
    return found ? RC_OK : RC_DECLINED;
}

size_t map_del(struct map *m, const char *key)
{
    size_t i, j, n = 0;

    for (i = j = 0; i < m->n; i++) {
        if (strcmp(m->e[i].src, key) == 0) {
            m->nlisted -= m->e[i].listed;
            entry_free(&m->e[i]);
            n++;
        } else {
            m->e[j++] = m->e[i];
        }
    }
    m->n = j;
    if (n > 0)
        map_reindex(m);
    return n;
}

void map_clear(struct map *m)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        entry_free(&m->e[i]);
    m->n = 0;
    m->nlisted = 0;
    map_reindex(m);
}

/* Entry count. */
size_t map_size(const struct map *m)
{
    return m->n;
}

/* ------------------------------------------------------------------ */
/* Matching                                                             */
/* ------------------------------------------------------------------ */

/* Compares <n> bytes, ignoring ASCII case when <icase>. */
static int bytes_eq(const char *a, const char *b, size_t n, int icase)
{
    if (n == 0)
        return 1;
    return icase ? strncasecmp(a, b, n) == 0 : memcmp(a, b, n) == 0;
}

/* Returns 1 if <c> is in the NUL-terminated set <d> (never for NUL). */
static int in_set(char c, const char *d)
{
    return c != '\0' && strchr(d, c) != NULL;
}

/* HAProxy's match_word: <p> stripped of surrounding delimiters appears in
 * <s> bounded by delimiters or the ends. */
static int match_word(struct ist p, struct ist s, int icase, const char *d)
{
    size_t i;
    int may = 1;

    while (p.len > 0 && in_set(p.ptr[0], d)) {
        p.ptr++;
        p.len--;
    }
    while (p.len > 0 && in_set(p.ptr[p.len - 1], d))
        p.len--;
    if (p.len == 0 || p.len > s.len)
        return 0;
    for (i = 0; i + p.len <= s.len; i++) {
        if (in_set(s.ptr[i], d)) {
            may = 1;
            continue;
        }
        if (may && bytes_eq(s.ptr + i, p.ptr, p.len, icase) &&
            (i + p.len == s.len || in_set(s.ptr[i + p.len], d)))
            return 1;
        may = 0;
    }
    return 0;
}

/* One string pattern against one subject. */
int map_str_match(int match, struct ist p, struct ist s, int icase)
{
    size_t i;

    switch (match) {
    case PAT_MATCH_BEG:
        return p.len <= s.len && bytes_eq(s.ptr, p.ptr, p.len, icase);
    case PAT_MATCH_END:
        return p.len <= s.len &&
               bytes_eq(s.ptr + s.len - p.len, p.ptr, p.len, icase);
    case PAT_MATCH_SUB:
        for (i = 0; i + p.len <= s.len; i++)
            if (bytes_eq(s.ptr + i, p.ptr, p.len, icase))
                return 1;
        return 0;
    case PAT_MATCH_DIR:
        return match_word(p, s, icase, "/?");
    case PAT_MATCH_DOM:
        return match_word(p, s, icase, "/?.:");
    default:
        return p.len == s.len && bytes_eq(s.ptr, p.ptr, p.len, icase);
    }
}

/* Longest prefix of <s> that is a key. */
static const struct map_entry *find_prefix(const struct map *m, struct ist s)
{
    const struct map_entry *e;
    size_t i;

    for (i = 0; i < m->lens[0].n; i++)
        if (m->lens[0].v[i] <= s.len &&
            (e = hash_find(m, s.ptr, m->lens[0].v[i])) != NULL)
            return e;
    return NULL;
}

/* First network with a non-contiguous mask holding <addr>. */
static const struct map_entry *
find_listed_net(const struct map *m, const unsigned char *addr, size_t alen)
{
    size_t i, k;

    for (i = 0; i < m->n; i++) {
        const unsigned char *key = (const unsigned char *)m->e[i].key.ptr;

        if (!m->e[i].listed || key[0] != (alen == 4 ? '4' : '6'))
            continue;
        for (k = 0; k < alen && (addr[k] & key[1 + alen + k]) == key[1 + k];
             k++)
            ;
        if (k == alen)
            return &m->e[i];
    }
    return NULL;
}

/* Longest network of the family of <alen> holding <addr>, then the
 * networks with non-contiguous masks. */
static const struct map_entry *find_net(const struct map *m,
                                        const unsigned char *addr, size_t alen)
{
    const struct len_set *ls = &m->lens[alen == 4 ? 0 : 1];
    const struct map_entry *e;
    char key[IPKEY_LEN];
    size_t i, klen;

    for (i = 0; i < ls->n; i++) {
        klen = ipkey(addr, alen, ls->v[i], key);
        if ((e = hash_find(m, key, klen)) != NULL)
            return e;
    }
    return m->nlisted > 0 ? find_listed_net(m, addr, alen) : NULL;
}

/* An address is looked up in its family, then in the other one through
 * its v4-mapped (or 6to4) form, as HAProxy's pat_match_ip. */
static const struct map_entry *find_ip(const struct map *m,
                                       const struct sample *key)
{
    struct sample alt = *key;
    const struct map_entry *e;

    if (key->type == SMP_T_IPV4) {
        e = find_net(m, (const unsigned char *)&key->data.ipv4, 4);
        if (e == NULL && sample_cast(&alt, SMP_T_IPV6, NULL))
            e = find_net(m, alt.data.ipv6.s6_addr, 16);
        return e;
    }
    e = find_net(m, key->data.ipv6.s6_addr, 16);
    if (e == NULL && sample_cast(&alt, SMP_T_IPV4, NULL))
        e = find_net(m, (const unsigned char *)&alt.data.ipv4, 4);
    return e;
}

/* First entry of the file matching <key> by a list method. */
static const struct map_entry *find_list(const struct map *m,
                                         const struct sample *key)
{
    size_t i;

    for (i = 0; i < m->n; i++) {
        const struct map_entry *e = &m->e[i];

        if (m->match == PAT_MATCH_INT
                ? map_range_match(&e->range, key->data.sint)
            : m->match == PAT_MATCH_REG
                ? sample_regex_match(e->re, key->data.str.ptr,
                                     key->data.str.len)
                : map_str_match(m->match, e->key, key->data.str, m->icase))
            return e;
    }
    return NULL;
}

/* Dispatches on the method's index. */
/* The entry <key> matches, or NULL. */
static const struct map_entry *map_find(const struct map *m,
                                        const struct sample *key)
{
    const struct map_entry *e;

    switch (m->match) {
    case PAT_MATCH_STR:
        e = hash_find(m, key->data.str.ptr, key->data.str.len);
        break;
    case PAT_MATCH_BEG:
        e = find_prefix(m, key->data.str);
        break;
    case PAT_MATCH_IP:
        e = key->type == SMP_T_IPV4 || key->type == SMP_T_IPV6 ? find_ip(m, key)
                                                               : NULL;
        break;
    default:
        e = find_list(m, key);
        break;
    }
    return e;
}

int map_lookup(const struct map *m, const struct sample *key,
               struct sample *value)
{
    const struct map_entry *e = map_find(m, key);

    if (e == NULL)
        return 0;
    *value = e->value;
    return 1;
}

int map_get(const struct map *m, const char *input, const char **key,
            const char **value)
{
    struct sample k = {.type = SMP_T_STR};
    const struct map_entry *e;

    k.data.str = (struct ist){input, strlen(input)};
    if (!sample_cast(&k, map_input_type(m->match), NULL))
        return -1;
    if ((e = map_find(m, &k)) == NULL)
        return 0;
    *key = e->src;
    *value = e->text;
    return 1;
}

void map_describe_match(const struct map *m, int *match, int *icase,
                        enum map_out *out)
{
    *match = m->match;
    *icase = m->icase;
    *out = m->out;
}

/* Integer and IP methods take typed keys; the others take strings. */
enum smp_type map_input_type(int match)
{
    if (match == PAT_MATCH_INT)
        return SMP_T_SINT;
    if (match == PAT_MATCH_IP)
        return SMP_T_ADDR;
    return SMP_T_STR;
}

/* ------------------------------------------------------------------ */
/* Converters                                                           */
/* ------------------------------------------------------------------ */

/* What a map converter row loads. */
struct map_conv {
    int match;
    enum map_out out;
};

/* Parses the default value (args[1]) as the output type. */
static int default_parse(struct arg *a, enum map_out out, char **err)
{
    const char *s = a->data.str.ptr;
    struct sample v = {.type = SMP_T_STR};
    long long n;

    if (out == MAP_OUT_INT) {
        if (!sample_parse_sint(s, a->data.str.len, &n))
            return set_err(err, "'%s' is not a valid integer default", s);
        free((char *)s);
        a->type = ARGT_SINT;
        a->data.sint = n;
    } else if (out == MAP_OUT_IP) {
        v.data.str = a->data.str;
        if (!sample_cast(&v, SMP_T_ADDR, NULL))
            return set_err(err, "'%s' is not a valid IP address default", s);
        free((char *)s);
        a->type = v.type == SMP_T_IPV4 ? ARGT_IPV4 : ARGT_IPV6;
        if (v.type == SMP_T_IPV4)
            a->data.ipv4 = v.data.ipv4;
        else
            a->data.ipv6 = v.data.ipv6;
    }
    return RC_OK;
}

/* Loads the file named by args[0] and types the default (args[1]). */
static int map_conv_check(struct arg *args, const struct map_conv *mc,
                          char **err)
{
    struct map *m;

    if (args[1].type == ARGT_STR &&
        default_parse(&args[1], mc->out, err) != RC_OK)
        return RC_ERR;
    m = map_load(args[0].data.str.ptr, mc->match, 0, mc->out, err);
    if (m == NULL)
        return RC_ERR;
    free((char *)args[0].data.str.ptr);
    args[0].type = ARGT_MAP;
    args[0].data.map = m;
    return RC_OK;
}

/* Sets <smp> from the default argument <a>; 0 without one. */
static int map_default(const struct arg *a, struct sample *smp)
{
    switch (a->type) {
    case ARGT_STR:
        smp->type = SMP_T_STR;
        smp->data.str = a->data.str;
        return 1;
    case ARGT_SINT:
        smp->type = SMP_T_SINT;
        smp->data.sint = a->data.sint;
        return 1;
    case ARGT_IPV4:
        smp->type = SMP_T_IPV4;
        smp->data.ipv4 = a->data.ipv4;
        return 1;
    case ARGT_IPV6:
        smp->type = SMP_T_IPV6;
        smp->data.ipv6 = a->data.ipv6;
        return 1;
    default:
        return 0;
    }
}

/* The value of the matching entry, else the default, else no sample. */
static int conv_map(const struct arg *args, struct sample *smp,
                    const struct smp_env *env, const void *priv)
{
    struct sample v;

    if (args[0].type != ARGT_MAP)
        return 0;
    if (!map_lookup(args[0].data.map, smp, &v))
        return map_default(&args[1], smp);
    smp->type = v.type;
    smp->data = v.data;
    return 1;
}

/* map_regm: the first regex entry matching the input gives its value with
 * \1..\9 replaced by the groups it captured (HAProxy's "regm" method). */
static int conv_map_regm(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    const struct map *m = args[0].data.map;
    size_t i, ov[20];

    (void)priv;
    if (args[0].type != ARGT_MAP)
        return 0;
    for (i = 0; i < m->n; i++)
        if (sample_regex_exec(m->e[i].re, smp->data.str.ptr, smp->data.str.len,
                              0, ov, 10))
            return sample_set_backrefs(smp, m->e[i].text, smp->data.str.ptr, ov,
                                       env);
    return map_default(&args[1], smp);
}

/* Check callbacks get no keyword, so each row has its own small one. */
#define MAP_DEF(m, M, o, O)                                                    \
    static const struct map_conv mc_##m##_##o = {PAT_MATCH_##M, MAP_OUT_##O};  \
    static int check_##m##_##o(struct arg *args, char **err)                   \
    {                                                                          \
        return map_conv_check(args, &mc_##m##_##o, err);                       \
    }

#define MAP_EACH_MATCH(X, o, O)                                                \
    X(str, STR, o, O)                                                          \
    X(beg, BEG, o, O)                                                          \
    X(sub, SUB, o, O)                                                          \
    X(dir, DIR, o, O)                                                          \
    X(dom, DOM, o, O)                                                          \
    X(end, END, o, O)                                                          \
    X(reg, REG, o, O)                                                          \
    X(int, INT, o, O)                                                          \
    X(ip, IP, o, O)

MAP_EACH_MATCH(MAP_DEF, str, STR)
MAP_EACH_MATCH(MAP_DEF, int, INT)
MAP_EACH_MATCH(MAP_DEF, ip, IP)

/* input type of each method, output type and name suffix of each output */
#define MAP_IN_STR     SMP_T_STR
#define MAP_IN_BEG     SMP_T_STR
#define MAP_IN_SUB     SMP_T_STR
#define MAP_IN_DIR     SMP_T_STR
#define MAP_IN_DOM     SMP_T_STR
#define MAP_IN_END     SMP_T_STR
#define MAP_IN_REG     SMP_T_STR
#define MAP_IN_INT     SMP_T_SINT
#define MAP_IN_IP      SMP_T_ADDR
#define MAP_TYPE_STR   SMP_T_STR
#define MAP_TYPE_INT   SMP_T_SINT
#define MAP_TYPE_IP    SMP_T_ADDR
#define MAP_SUFFIX_STR ""
#define MAP_SUFFIX_INT "_int"
#define MAP_SUFFIX_IP  "_ip"

#define MAP_ROW(m, M, o, O)                                                    \
    {.name = "map_" #m MAP_SUFFIX_##O,                                         \
     .fn = conv_map,                                                           \
     .args = "S,S?",                                                           \
     .in = MAP_IN_##M,                                                         \
     .out = MAP_TYPE_##O,                                                      \
     .priv = &mc_##m##_##o,                                                    \
     .check = check_##m##_##o},

static const struct sample_conv_kw map_convs[] = {
    {.name = "map",
     .fn = conv_map,
     .args = "S,S?",
     .in = SMP_T_STR,
     .out = SMP_T_STR,
     .priv = &mc_str_str,
     .check = check_str_str},
    {.name = "map_regm",
     .fn = conv_map_regm,
     .args = "S,S?",
     .in = SMP_T_STR,
     .out = SMP_T_STR,
     .check = check_reg_str},
    MAP_EACH_MATCH(MAP_ROW, str, STR) MAP_EACH_MATCH(MAP_ROW, int, INT)
        MAP_EACH_MATCH(MAP_ROW, ip, IP){.name = NULL},
};

/* Registering twice is harmless (the registry ignores a known table). */
void map_register_convs(void)
{
    sample_register_convs(map_convs);
}

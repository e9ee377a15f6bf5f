/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests for core/map.c: the file format (comments, blanks, values
 * kept verbatim), each index (exact hash, longest prefix, longest network
 * across families, first-match lists), typed values and defaults, load
 * errors with file and line, sharing of unchanged files, and the map_*
 * converters through sample expressions; core/map_act.c's edits of every
 * map of a file and the records that carry them between workers. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include <check.h>

#include "core/channel.h"
#include "core/errors.h"
#include "core/map.h"
#include "core/pool.h"
#include "core/sample.h"
#include "core/util.h"

Suite *suite_core_map(void);

static char path[64];

/* Writes <text> to a fresh temporary file named in <path>. */
static void write_map(const char *text)
{
    FILE *f;
    int fd;

    snprintf(path, sizeof(path), "/tmp/lp-map-XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Removes the file of the test. */
static void teardown(void)
{
    if (path[0] != '\0')
        unlink(path);
    path[0] = '\0';
}

/* Loads <path>, expecting success. */
static struct map *load_ok(int match, enum map_out out)
{
    char *err = NULL;
    struct map *m = map_load(path, match, 0, out, &err);

    ck_assert_msg(m != NULL, "load failed: %s", err ? err : "?");
    return m;
}

/* Looks the string <k> up; returns the value text or NULL. */
static const char *str_get(const struct map *m, const char *k)
{
    static char buf[256];
    struct sample key = {.type = SMP_T_STR}, v;

    key.data.str = ist_from(k);
    if (!map_lookup(m, &key, &v))
        return NULL;
    ck_assert_int_eq(v.type, SMP_T_STR);
    ck_assert_uint_lt(v.data.str.len, sizeof(buf));
    memcpy(buf, v.data.str.ptr, v.data.str.len);
    buf[v.data.str.len] = '\0';
    return buf;
}

/* Looks a typed key up; returns the string value or NULL. */
static const char *str_get_typed(const struct map *m, const struct sample *k)
{
    static char buf[64];
    struct sample v;

    if (!map_lookup(m, k, &v))
        return NULL;
    ck_assert_int_eq(v.type, SMP_T_STR);
    snprintf(buf, sizeof(buf), "%.*s", (int)v.data.str.len, v.data.str.ptr);
    return buf;
}

/* Looks the address <a> up in an IP map; returns the value text or NULL. */
static const char *ip_get(const struct map *m, const char *a)
{
    struct sample key = {.type = SMP_T_STR};

    key.data.str = ist_from(a);
    ck_assert(sample_cast(&key, SMP_T_ADDR, NULL));
    return str_get_typed(m, &key);
}

START_TEST(test_map__exact_hash_first_duplicate_wins)
{
    struct map *m;

    write_map("# comment\n\n  alpha one\nbeta\ttwo words  \nalpha dup\n"
              "gamma\n");
    m = load_ok(PAT_MATCH_STR, MAP_OUT_STR);
    ck_assert_uint_eq(map_size(m), 4);
    ck_assert_str_eq(str_get(m, "alpha"), "one");
    ck_assert_str_eq(str_get(m, "beta"), "two words  ");
    ck_assert_str_eq(str_get(m, "gamma"), "");
    ck_assert_ptr_null(str_get(m, "alph"));
    ck_assert_ptr_null(str_get(m, "ALPHA"));
    ck_assert_ptr_null(str_get(m, "# comment"));
    map_release(m);
}
END_TEST

START_TEST(test_map__beg_longest_prefix)
{
    struct map *m;

    write_map("/api a\n/api/v2/ v2\n/ root\n/api/v2/admin adm\n");
    m = load_ok(PAT_MATCH_BEG, MAP_OUT_STR);
    ck_assert_str_eq(str_get(m, "/api/v2/admin/x"), "adm");
    ck_assert_str_eq(str_get(m, "/api/v2/users"), "v2");
    ck_assert_str_eq(str_get(m, "/api/v3"), "a");
    ck_assert_str_eq(str_get(m, "/other"), "root");
    ck_assert_ptr_null(str_get(m, "nope"));
    map_release(m);
}
END_TEST

START_TEST(test_map__list_methods_first_in_file)
{
    struct map *m;

    write_map("example.com ex\nwww.example.com www\n");
    m = load_ok(PAT_MATCH_DOM, MAP_OUT_STR);
    ck_assert_str_eq(str_get(m, "www.example.com"), "ex");
    ck_assert_str_eq(str_get(m, "a.example.com:80"), "ex");
    ck_assert_ptr_null(str_get(m, "notexample.com"));
    map_release(m);
    teardown();

    write_map("img pics\nv1 ver\n");
    m = load_ok(PAT_MATCH_DIR, MAP_OUT_STR);
    ck_assert_str_eq(str_get(m, "/v1/img/a.png"), "pics");
    ck_assert_str_eq(str_get(m, "/v1/x"), "ver");
    ck_assert_ptr_null(str_get(m, "/images/x"));
    map_release(m);
    teardown();

    write_map("og o\nfo f\n");
    m = load_ok(PAT_MATCH_SUB, MAP_OUT_STR);
    ck_assert_str_eq(str_get(m, "foggy"), "o");
    ck_assert_str_eq(str_get(m, "xfox"), "f");
    map_release(m);
    teardown();

    write_map(".png img\n.js script\n");
    m = load_ok(PAT_MATCH_END, MAP_OUT_STR);
    ck_assert_str_eq(str_get(m, "/a/b.png"), "img");
    ck_assert_ptr_null(str_get(m, "/a/b.png?x"));
    map_release(m);
    teardown();

    write_map("^/u/[0-9]+$ user\n^/u/ any\n");
    m = load_ok(PAT_MATCH_REG, MAP_OUT_STR);
    ck_assert_str_eq(str_get(m, "/u/42"), "user");
    ck_assert_str_eq(str_get(m, "/u/bob"), "any");
    ck_assert_ptr_null(str_get(m, "/x/u/1"));
    map_release(m);
}
END_TEST

/* Looks the integer <k> up in an INT map with INT values; -1 if none. */
static long long int_get(const struct map *m, long long k)
{
    struct sample key = {.type = SMP_T_SINT}, v;

    key.data.sint = k;
    if (!map_lookup(m, &key, &v))
        return -1;
    ck_assert_int_eq(v.type, SMP_T_SINT);
    return v.data.sint;
}

START_TEST(test_map__int_ranges_and_int_values)
{
    struct map *m;

    write_map("200 1\n300:399 3\n:99 0\n1000: 9\n250 7\n");
    m = load_ok(PAT_MATCH_INT, MAP_OUT_INT);
    ck_assert_int_eq(int_get(m, 200), 1);
    ck_assert_int_eq(int_get(m, 301), 3);
    ck_assert_int_eq(int_get(m, -5), 0);
    ck_assert_int_eq(int_get(m, 5000), 9);
    ck_assert_int_eq(int_get(m, 250), 7);
    ck_assert_int_eq(int_get(m, 150), -1);
    map_release(m);
}
END_TEST

START_TEST(test_map__ip_longest_network_both_families)
{
    struct map *m;

    write_map("10.0.0.0/8 ten\n10.1.0.0/16 tenone\n10.1.2.3 host\n"
              "0.0.0.0/0 any4\n2001:db8::/32 doc\n::ffff:192.168.0.0/112 "
              "mapped\n192.0.2.0/255.255.255.0 dotted\n");
    m = load_ok(PAT_MATCH_IP, MAP_OUT_STR);
    ck_assert_str_eq(ip_get(m, "10.1.2.3"), "host");
    ck_assert_str_eq(ip_get(m, "10.1.9.9"), "tenone");
    ck_assert_str_eq(ip_get(m, "10.200.0.1"), "ten");
    ck_assert_str_eq(ip_get(m, "192.0.2.77"), "dotted");
    ck_assert_str_eq(ip_get(m, "8.8.8.8"), "any4");
    ck_assert_str_eq(ip_get(m, "2001:db8:1::5"), "doc");
    /* an IPv6 sample falls back to the IPv4 networks when v4-mapped */
    ck_assert_str_eq(ip_get(m, "::ffff:10.1.2.3"), "host");
    ck_assert_ptr_null(ip_get(m, "2001:db9::1"));
    map_release(m);
}
END_TEST

START_TEST(test_map__ip_non_contiguous_masks)
{
    struct map *m;

    /* as HAProxy: such networks are tried after the indexed ones */
    write_map("10.0.0.5/255.0.0.255 odd\n10.1.0.0/16 net\n"
              "2001:db8::1/ffff:ffff::ffff six\n");
    m = load_ok(PAT_MATCH_IP, MAP_OUT_STR);
    ck_assert_str_eq(ip_get(m, "10.9.9.5"), "odd");
    ck_assert_str_eq(ip_get(m, "10.1.9.5"), "net");
    ck_assert_ptr_null(ip_get(m, "10.9.9.6"));
    ck_assert_ptr_null(ip_get(m, "11.9.9.5"));
    ck_assert_str_eq(ip_get(m, "2001:db8:7::1"), "six");
    ck_assert_ptr_null(ip_get(m, "2001:db8:7::2"));
    map_release(m);
}
END_TEST

START_TEST(test_map__ip_values)
{
    struct sample key = {.type = SMP_T_STR}, v;
    struct map *m;

    write_map("a 192.0.2.1\nb 2001:db8::1\n");
    m = load_ok(PAT_MATCH_STR, MAP_OUT_IP);
    key.data.str = IST("a");
    ck_assert(map_lookup(m, &key, &v));
    ck_assert_int_eq(v.type, SMP_T_IPV4);
    ck_assert_uint_eq(ntohl(v.data.ipv4.s_addr), 0xc0000201U);
    key.data.str = IST("b");
    ck_assert(map_lookup(m, &key, &v));
    ck_assert_int_eq(v.type, SMP_T_IPV6);
    map_release(m);
}
END_TEST

/* Expects the load to fail with a message containing <needle>. */
static void load_err(int match, enum map_out out, const char *needle)
{
    char *err = NULL;
    struct map *m = map_load(path, match, 0, out, &err);

    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, needle) != NULL, "'%s' lacks '%s'", err, needle);
    free(err);
}

START_TEST(test_map__load_errors_name_file_and_line)
{
    char where[128];

    write_map("a 1\n# c\nb two\n");
    snprintf(where, sizeof(where),
             "'two' is not a valid integer value at "
             "line 3 of file '%s'",
             path);
    load_err(PAT_MATCH_STR, MAP_OUT_INT, where);
    teardown();

    write_map("10.0.0.0/8 x\nnot-an-ip y\n");
    snprintf(where, sizeof(where), "at line 2 of file '%s'", path);
    load_err(PAT_MATCH_IP, MAP_OUT_STR, where);
    load_err(PAT_MATCH_IP, MAP_OUT_STR, "'not-an-ip'");
    teardown();

    write_map("x 1\n([ y\n");
    load_err(PAT_MATCH_REG, MAP_OUT_STR, "at line 2");
    teardown();

    write_map("12 a\nabc b\n");
    load_err(PAT_MATCH_INT, MAP_OUT_STR, "'abc' is not a number at line 2");
    teardown();

    snprintf(path, sizeof(path), "/nonexistent/lp.map");
    load_err(PAT_MATCH_STR, MAP_OUT_STR,
             "failed to open pattern file </nonexistent/lp.map>");
    path[0] = '\0';
}
END_TEST

START_TEST(test_map__unchanged_file_is_shared)
{
    struct map *a, *b, *c, *d;
    FILE *f;

    write_map("k v\n");
    a = load_ok(PAT_MATCH_STR, MAP_OUT_STR);
    b = load_ok(PAT_MATCH_STR, MAP_OUT_STR);
    c = load_ok(PAT_MATCH_BEG, MAP_OUT_STR);
    ck_assert_ptr_eq(a, b);
    ck_assert_ptr_ne(a, c);
    /* a changed file is read again (a reload picks up edits) */
    f = fopen(path, "a");
    fputs("k2 v2 longer\n", f);
    fclose(f);
    d = load_ok(PAT_MATCH_STR, MAP_OUT_STR);
    ck_assert_ptr_ne(a, d);
    ck_assert_str_eq(str_get(d, "k2"), "v2 longer");
    ck_assert_ptr_null(str_get(a, "k2"));
    map_release(a);
    map_release(b);
    map_release(c);
    map_release(d);
}
END_TEST

START_TEST(test_map__comments_in_first_column_only)
{
    struct map *m;

    /* HAProxy: '#' starts a comment only in the first column */
    write_map("#a 1\n  #b 2\n\t\n");
    m = load_ok(PAT_MATCH_STR, MAP_OUT_STR);
    ck_assert_uint_eq(map_size(m), 1);
    ck_assert_ptr_null(str_get(m, "#a"));
    ck_assert_str_eq(str_get(m, "#b"), "2");
    map_release(m);
    teardown();

    /* keys-only files keep the whole line, inner blanks included */
    write_map("  two words \r\n");
    m = load_ok(PAT_MATCH_STR, MAP_OUT_NONE);
    ck_assert_ptr_nonnull(str_get(m, "two words "));
    ck_assert_ptr_null(str_get(m, "two"));
    map_release(m);
}
END_TEST

START_TEST(test_map__ignore_case_index)
{
    struct sample key = {.type = SMP_T_STR}, v;
    char *err = NULL;
    struct map *m;

    write_map("/Api a\n/API/v2/ v2\nHost.Example c\n");
    m = map_load(path, PAT_MATCH_BEG, 1, MAP_OUT_STR, &err);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(str_get(m, "/api/V2/x"), "v2");
    ck_assert_str_eq(str_get(m, "/aPI/v3"), "a");
    ck_assert_ptr_null(str_get(m, "/ap"));
    map_release(m);
    m = map_load(path, PAT_MATCH_STR, 1, MAP_OUT_STR, &err);
    ck_assert_ptr_nonnull(m);
    key.data.str = IST("HOST.example");
    ck_assert(map_lookup(m, &key, &v));
    ck_assert_mem_eq(v.data.str.ptr, "c", 1);
    map_release(m);
    /* the case-sensitive load is another map */
    m = load_ok(PAT_MATCH_STR, MAP_OUT_STR);
    ck_assert(!map_lookup(m, &key, &v));
    map_release(m);
}
END_TEST

START_TEST(test_map__range_separators)
{
    struct map_range r;
    char *err = NULL;

    ck_assert_int_eq(map_parse_range("10-20", &r, &err), RC_OK);
    ck_assert(map_range_match(&r, 10) && map_range_match(&r, 20));
    ck_assert(!map_range_match(&r, 21) && !map_range_match(&r, 9));
    /* a leading '-' means "up to", as HAProxy's pat_parse_int */
    ck_assert_int_eq(map_parse_range("-5", &r, &err), RC_OK);
    ck_assert(map_range_match(&r, -100) && !map_range_match(&r, 6));
    ck_assert_int_eq(map_parse_range("7:", &r, &err), RC_OK);
    ck_assert(map_range_match(&r, 1000000) && !map_range_match(&r, 6));
    ck_assert_int_eq(map_parse_range(":", &r, &err), RC_ERR);
    ck_assert_str_eq(err, "':' is not a valid integer range");
    free(err);
    err = NULL;
    ck_assert_int_eq(map_parse_range("", &r, &err), RC_ERR);
    free(err);
}
END_TEST

/* map_read_file callback: counts lines, fails on "bad". */
static int count_line(void *arg, char *key, char *value, char **err)
{
    if (strcmp(key, "bad") == 0)
        return set_err(err, "'%s' is bad", key);
    (*(int *)arg)++;
    return RC_OK;
}

START_TEST(test_map__read_file_reports_line)
{
    char *err = NULL, where[128];
    int n = 0;

    write_map("a 1\n\n# c\nb\n");
    ck_assert_int_eq(map_read_file(path, 0, count_line, &n, &err), RC_OK);
    ck_assert_int_eq(n, 2);
    teardown();
    write_map("a\n  bad\n");
    ck_assert_int_eq(map_read_file(path, 1, count_line, &n, &err), RC_ERR);
    snprintf(where, sizeof(where), "'bad' is bad at line 2 of file '%s'", path);
    ck_assert_str_eq(err, where);
    free(err);
    err = NULL;
    ck_assert_int_eq(
        map_read_file("/nonexistent/f.lst", 1, count_line, &n, &err), RC_ERR);
    ck_assert_str_eq(err, "failed to open pattern file </nonexistent/f.lst>");
    free(err);
}
END_TEST

/* Evaluates the expression <e> with a fresh pool; returns the value as a
 * string (copied) or NULL. */
static char *eval_str(const char *e)
{
    static char buf[128];
    struct pool *p = pool_new(1024);
    struct smp_env env = {.pool = p, .opt = SMP_OPT_FINAL};
    struct sample smp;
    char *err = NULL;
    struct sample_expr *x = sample_expr_parse(e, &err);
    char *res = NULL;

    ck_assert_msg(x != NULL, "parse '%s': %s", e, err ? err : "?");
    if (sample_expr_eval(x, &env, &smp) && sample_cast(&smp, SMP_T_STR, &env)) {
        snprintf(buf, sizeof(buf), "%.*s", (int)smp.data.str.len,
                 smp.data.str.ptr);
        res = buf;
    }
    sample_expr_free(x);
    pool_free(p);
    return res;
}

/* Builds "<pre><path><post>" into a static buffer. */
static const char *with_path(const char *pre, const char *post)
{
    static char buf[256];

    snprintf(buf, sizeof(buf), "%s%s%s", pre, path, post);
    return buf;
}

START_TEST(test_map__converters)
{
    char *err = NULL;

    sample_fetch_register_builtin();
    sample_conv_register_builtin();
    write_map("/api api_be\n/api/v2 v2_be\n");
    ck_assert_str_eq(eval_str(with_path("str(/api/v2/x),map_beg(", ")")),
                     "v2_be");
    ck_assert_str_eq(eval_str(with_path("str(/api),map(", ")")), "api_be");
    ck_assert_str_eq(eval_str(with_path("str(/apix),map_str(", ",dflt)")),
                     "dflt");
    ck_assert_ptr_null(eval_str(with_path("str(/apix),map_str(", ")")));
    teardown();
    write_map("200 42\n");
    ck_assert_str_eq(eval_str(with_path("str(200),map_str_int(", ")")), "42");
    ck_assert_str_eq(eval_str(with_path("int(200),map_int_int(", ",1),add(1)")),
                     "43");
    ck_assert_str_eq(eval_str(with_path("int(7),map_int_int(", ",-3)")), "-3");
    teardown();
    write_map("10.0.0.0/8 10.9.9.9\n");
    ck_assert_str_eq(eval_str(with_path("ipv4(10.2.3.4),map_ip_ip(", ")")),
                     "10.9.9.9");
    ck_assert_str_eq(eval_str(with_path("str(10.2.3.4),map_ip(", ",none)")),
                     "10.9.9.9");
    ck_assert_ptr_null(sample_expr_parse(
        with_path("str(x),map_str_int(", ",notanint)"), &err));
    ck_assert_msg(strstr(err, "invalid args in converter 'map_str_int'") !=
                      NULL,
                  "%s", err);
    free(err);
    err = NULL;
    ck_assert_ptr_null(
        sample_expr_parse("str(x),map_beg(/nonexistent/x.map)", &err));
    ck_assert_msg(strstr(err, "failed to open pattern file") != NULL, "%s",
                  err);
    free(err);
}
END_TEST

START_TEST(test_map__runtime_edits_reindex)
{
    struct map *m;
    char *err = NULL;
    const char *k, *v;
    const void *ptr;

    write_map("/a one\n/b two\n");
    m = load_ok(PAT_MATCH_BEG, MAP_OUT_STR);
    ck_assert_ptr_eq(map_find_ref(path, 0), m);
    ck_assert_ptr_null(map_find_ref(path, 1)); /* not an ACL file */
    ck_assert_int_eq(map_add(m, "/a/deep", "deeper", &err), RC_OK);
    ck_assert_str_eq(str_get(m, "/a/deep/x"), "deeper"); /* longest prefix */
    ck_assert_str_eq(str_get(m, "/a/x"), "one");
    ck_assert_int_eq(map_set(m, "/a", "uno", &err), RC_OK);
    ck_assert_str_eq(str_get(m, "/a/x"), "uno");
    ck_assert_int_eq(map_set(m, "/zz", "v", &err), RC_DECLINED);
    ck_assert_uint_eq(map_del(m, "/a/deep"), 1);
    ck_assert_str_eq(str_get(m, "/a/deep/x"), "uno");
    ck_assert_uint_eq(map_del(m, "/nope"), 0);
    ck_assert(map_entry_get(m, 1, &k, &v, &ptr));
    ck_assert_str_eq(k, "/b");
    ck_assert_str_eq(v, "two");
    map_clear(m);
    ck_assert_uint_eq(map_size(m), 0);
    ck_assert_ptr_null(str_get(m, "/b"));
    map_release(m);
}
END_TEST

START_TEST(test_map__edit_every_map_of_the_file)
{
    struct map *exact, *prefix;
    char *err = NULL;

    write_map("/a one\n/a again\n/b two\n");
    exact = load_ok(PAT_MATCH_STR, MAP_OUT_STR);
    prefix = load_ok(PAT_MATCH_BEG, MAP_OUT_STR);
    /* set: every entry of the key, in both maps */
    ck_assert_int_eq(map_edit(path, 0, MAP_EDIT_SET, "/a", "uno", &err), 2);
    ck_assert_uint_eq(map_size(exact), 3);
    ck_assert_str_eq(str_get(exact, "/a"), "uno");
    ck_assert_str_eq(str_get(prefix, "/a/x"), "uno");
    /* set of a key without an entry adds it */
    ck_assert_int_eq(map_edit(path, 0, MAP_EDIT_SET, "/c", "tres", &err), 2);
    ck_assert_str_eq(str_get(prefix, "/c/x"), "tres");
    ck_assert_uint_eq(map_size(exact), 4);
    /* del: every entry */
    ck_assert_int_eq(map_edit(path, 0, MAP_EDIT_DEL, "/a", "", &err), 2);
    ck_assert_ptr_null(str_get(exact, "/a"));
    ck_assert_uint_eq(map_size(prefix), 2);
    /* not an ACL file; an unknown file */
    ck_assert_int_eq(map_edit(path, 1, MAP_EDIT_SET, "/d", "", &err), 0);
    ck_assert_int_eq(map_edit("/nonexistent", 0, MAP_EDIT_DEL, "/b", "", &err),
                     0);
    map_release(exact);
    map_release(prefix);
}
END_TEST

START_TEST(test_map__edit_acl_once_and_bad_keys)
{
    struct map *m;
    char *err = NULL;

    write_map("10.0.0.0/8\n");
    m = load_ok(PAT_MATCH_IP, MAP_OUT_NONE);
    ck_assert_int_eq(map_edit(path, 1, MAP_EDIT_SET, "192.0.2.1", "", &err), 1);
    ck_assert_int_eq(map_edit(path, 1, MAP_EDIT_SET, "192.0.2.1", "", &err), 1);
    ck_assert_uint_eq(map_size(m), 2); /* added once */
    ck_assert_int_eq(map_edit(path, 1, MAP_EDIT_SET, "nope", "", &err), -1);
    ck_assert_ptr_nonnull(err);
    xfree_null(&err);
    ck_assert_uint_eq(map_size(m), 2);
    map_release(m);
}
END_TEST

/* Sends the <len> bytes of <rec> as a map edit over a channel and applies
 * what comes out. */
static void receive_edit(int arg, const char *rec, size_t len)
{
    struct channel_msg msg;
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    ck_assert_int_eq(channel_send_data(sv[0], CHANNEL_MAP_EDIT, arg, rec, len),
                     RC_OK);
    ck_assert_int_eq(channel_recv(sv[1], &msg), RC_OK);
    ck_assert_int_eq(msg.cmd, CHANNEL_MAP_EDIT);
    ck_assert_int_eq(msg.fd, -1);
    ck_assert_uint_eq(msg.len, len);
    map_edit_receive(msg.arg, msg.data, msg.len);
    close(sv[0]);
    close(sv[1]);
}

START_TEST(test_map__edit_records)
{
    char rec[256];
    struct map *m;
    size_t n;
    int sv[2];

    write_map("k old\n");
    m = load_ok(PAT_MATCH_STR, MAP_OUT_STR);
    n = (size_t)snprintf(rec, sizeof(rec), "%s%ck%cnew", path, 0, 0) + 1;
    receive_edit(MAP_EDIT_SET, rec, n);
    ck_assert_str_eq(str_get(m, "k"), "new");
    /* truncated or unterminated records change nothing */
    receive_edit(MAP_EDIT_DEL, rec, n - 1);
    receive_edit(MAP_EDIT_DEL, rec, strlen(path) + 1);
    ck_assert_str_eq(str_get(m, "k"), "new");
    receive_edit(MAP_EDIT_DEL, rec, n);
    ck_assert_ptr_null(str_get(m, "k"));
    /* the channel refuses a record larger than it carries */
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    ck_assert_int_eq(channel_send_data(sv[0], CHANNEL_MAP_EDIT, 0, rec,
                                       CHANNEL_DATA_MAX + 1),
                     RC_ERR);
    close(sv[0]);
    close(sv[1]);
    map_release(m);
}
END_TEST

START_TEST(test_map__runtime_edits_check_values)
{
    struct map *m;
    char *err = NULL;
    struct sample key = {.type = SMP_T_STR};

    write_map("10.0.0.0/8 1\n");
    m = load_ok(PAT_MATCH_IP, MAP_OUT_INT);
    ck_assert_int_eq(map_add(m, "not-an-ip", "2", &err), RC_ERR);
    ck_assert_ptr_nonnull(err);
    xfree_null(&err);
    ck_assert_int_eq(map_set(m, "10.0.0.0/8", "x", &err), RC_ERR);
    xfree_null(&err);
    ck_assert_uint_eq(map_size(m), 1);
    ck_assert_int_eq(map_add(m, "10.1.0.0/16", "3", &err), RC_OK);
    key.data.str = ist_from("10.1.2.3");
    ck_assert(sample_cast(&key, SMP_T_ADDR, NULL));
    {
        struct sample v;

        ck_assert(map_lookup(m, &key, &v));
        ck_assert_int_eq(v.type, SMP_T_SINT);
        ck_assert_int_eq(v.data.sint, 3);
    }
    map_release(m);
}
END_TEST

Suite *suite_core_map(void)
{
    Suite *s = suite_create("core_map");
    TCase *tc;

    tc = tcase_create("map_load");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_map__load_errors_name_file_and_line);
    tcase_add_test(tc, test_map__unchanged_file_is_shared);
    tcase_add_test(tc, test_map__comments_in_first_column_only);
    tcase_add_test(tc, test_map__range_separators);
    tcase_add_test(tc, test_map__read_file_reports_line);
    suite_add_tcase(s, tc);
    tc = tcase_create("map_lookup");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_map__exact_hash_first_duplicate_wins);
    tcase_add_test(tc, test_map__beg_longest_prefix);
    tcase_add_test(tc, test_map__list_methods_first_in_file);
    tcase_add_test(tc, test_map__int_ranges_and_int_values);
    tcase_add_test(tc, test_map__ip_longest_network_both_families);
    tcase_add_test(tc, test_map__ip_values);
    tcase_add_test(tc, test_map__ip_non_contiguous_masks);
    tcase_add_test(tc, test_map__ignore_case_index);
    suite_add_tcase(s, tc);
    tc = tcase_create("map_edit");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_map__runtime_edits_reindex);
    tcase_add_test(tc, test_map__runtime_edits_check_values);
    tcase_add_test(tc, test_map__edit_every_map_of_the_file);
    tcase_add_test(tc, test_map__edit_acl_once_and_bad_keys);
    tcase_add_test(tc, test_map__edit_records);
    suite_add_tcase(s, tc);
    tc = tcase_create("map_convs");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_map__converters);
    suite_add_tcase(s, tc);
    return s;
}

/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests for core/acl.c: every matching method with hits and misses,
 * -i, integer ranges and operators, IPv4/IPv6 networks, pattern files,
 * condition parsing (!, ||, implicit AND, braces, predefined ACLs) and the
 * three-valued evaluation, including "not decidable yet". */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "core/acl.h"
#include "core/errors.h"
#include "core/pool.h"
#include "core/sample.h"
#include "core/vars.h"

Suite *suite_core_acl(void);

struct test_stream {
    struct vars txn;
};

static struct test_stream ts;
static struct pool *pool;
static struct smp_env env;
static struct acl_list acls;
static const char *src_addr = "10.1.2.3"; /* what the fake "src" returns */
static const char *subject = "";          /* what the fake "subj" returns */
static char tmpdir[64];

/* Every scope of the fake stream is its txn set. */
static struct vars *test_vars(struct stream *strm, enum vars_scope scope)
{
    return &((struct test_stream *)strm)->txn;
}

/* A fake L4 fetch: the client address in src_addr. */
static int fetch_src(const struct arg *args, struct sample *smp,
                     const struct smp_env *e, const void *priv)
{
    smp->type = SMP_T_STR;
    smp->data.str = ist_from(src_addr);
    return sample_cast(smp, SMP_T_ADDR, e);
}

/* A fake fetch returning the string in <subject>. */
static int fetch_subj(const struct arg *args, struct sample *smp,
                      const struct smp_env *e, const void *priv)
{
    smp->type = SMP_T_STR;
    smp->data.str = ist_from(subject);
    return 1;
}

/* A fake header fetch returning "a", "b", "c" when iterated. */
static int fetch_hdrs(const struct arg *args, struct sample *smp,
                      const struct smp_env *e, const void *priv)
{
    static const char *const vals[] = {"a", "b", "c"};
    size_t i = smp->ctx.pos;

    if (!(e->opt & SMP_OPT_ITERATE))
        i = 2; /* the last one, as HAProxy's hdr() */
    smp->type = SMP_T_STR;
    smp->data.str = ist_from(vals[i]);
    smp->ctx.pos = i + 1;
    if (i < 2)
        smp->flags |= SMP_F_NOT_LAST;
    return 1;
}

/* A fake request-line fetch that needs the request. */
static int fetch_path(const struct arg *args, struct sample *smp,
                      const struct smp_env *e, const void *priv)
{
    smp->type = SMP_T_STR;
    smp->data.str = IST("/api/v1/users");
    return 1;
}

/* A fake fetch that has no data yet but may later. */
static int fetch_later(const struct arg *args, struct sample *smp,
                       const struct smp_env *e, const void *priv)
{
    smp->flags |= SMP_F_MAY_CHANGE;
    return 0;
}

static const struct sample_fetch_kw test_fetches[] = {
    {.name = "src", .fn = fetch_src, .out = SMP_T_ADDR, .use = SMP_AVAIL_CONN},
    {.name = "hdrs", .fn = fetch_hdrs, .out = SMP_T_STR},
    {.name = "path", .fn = fetch_path, .out = SMP_T_STR, .use = SMP_AVAIL_REQ},
    {.name = "later", .fn = fetch_later, .out = SMP_T_SINT},
    {.name = "subj", .fn = fetch_subj, .out = SMP_T_STR},
    {.name = NULL},
};

static const struct acl_kw test_acl_kws[] = {
    {"path_beg", "path", PAT_MATCH_BEG},
    {"path_dir", "path", PAT_MATCH_DIR},
    {NULL, NULL, 0},
};

static const struct acl_default test_defaults[] = {
    {"API", {"path_beg", "/api", NULL}},
    {NULL, {NULL}},
};

/* Registers built-ins and the fake keywords, a pool and a temp dir. */
static void setup(void)
{
    sample_fetch_register_builtin();
    sample_conv_register_builtin();
    sample_register_fetches(test_fetches);
    acl_register_keywords(test_acl_kws);
    acl_register_defaults(test_defaults);
    vars_init(&ts.txn);
    vars_set_resolver(test_vars);
    acl_list_init(&acls);
    pool = pool_new(4096);
    env = (struct smp_env){.strm = (struct stream *)&ts,
                           .pool = pool,
                           .avail = SMP_AVAIL_CONN | SMP_AVAIL_REQ,
                           .opt = SMP_OPT_FINAL};
    src_addr = "10.1.2.3";
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/acltestXXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* Frees everything setup() made. */
static void teardown(void)
{
    char cmd[128];

    acl_list_free(&acls);
    vars_prune(&ts.txn);
    vars_set_resolver(NULL);
    pool_free(pool);
    sample_registry_clear();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

#define MAXW 64

/* Splits <line> on spaces into at most MAXW - 1 words. */
static int split(char *line, char **w)
{
    int n = 0;
    char *tok;

    for (tok = strtok(line, " "); tok != NULL && n < MAXW - 1;
         tok = strtok(NULL, " "))
        w[n++] = tok;
    w[n] = NULL;
    return n;
}

/* Evaluates the condition <cond> ("if" words) against <acls>, failing the
 * test if it does not parse. */
static int cond_is(const char *cond, int unless)
{
    char buf[512], *w[MAXW], *err = NULL;
    struct acl_cond *c;
    int n, r;

    snprintf(buf, sizeof(buf), "%s", cond);
    n = split(buf, w);
    c = acl_cond_parse(&acls, n, w, unless, &err);
    ck_assert_msg(c != NULL, "%s: %s", cond, err ? err : "");
    r = acl_cond_exec(c, &env);
    acl_cond_free(c);
    return r;
}

/* Returns 1 if the anonymous ACL "{ <expr> }" passes. */
static int match(const char *expr)
{
    char cond[512];
    int r;

    snprintf(cond, sizeof(cond), "{ %s }", expr);
    r = cond_is(cond, 0);
    ck_assert_msg(r != ACL_MISS, "%s: miss", expr);
    return r == ACL_PASS;
}

/* Asserts that the "acl" words <line> fail with exactly <msg>. */
static void acl_err(const char *line, const char *msg)
{
    char buf[512], *w[MAXW], *err = NULL;
    int n;

    snprintf(buf, sizeof(buf), "%s", line);
    n = split(buf, w);
    ck_assert_int_eq(acl_parse_line(&acls, n, w, &err), RC_ERR);
    ck_assert_str_eq(err, msg);
    free(err);
}

/* Declares the "acl" words <line>. */
static void acl_ok(const char *line)
{
    char buf[512], *w[MAXW], *err = NULL;
    int n;

    snprintf(buf, sizeof(buf), "%s", line);
    n = split(buf, w);
    ck_assert_msg(acl_parse_line(&acls, n, w, &err) == RC_OK, "%s: %s", line,
                  err ? err : "");
}

/* Asserts that the condition <cond> fails to parse with <msg>. */
static void cond_err(const char *cond, const char *msg)
{
    char buf[512], *w[MAXW], *err = NULL;
    int n;

    snprintf(buf, sizeof(buf), "%s", cond);
    n = split(buf, w);
    ck_assert_ptr_null(acl_cond_parse(&acls, n, w, 0, &err));
    ck_assert_str_eq(err, msg);
    free(err);
}

/* Writes <text> to <name> in the temp dir and returns its path. */
static const char *write_file(const char *name, const char *text)
{
    static char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

START_TEST(test_acl__match_str_and_case)
{
    ck_assert(match("str(Hello) Hello"));
    ck_assert(!match("str(Hello) hello"));
    ck_assert(match("str(Hello) -i hello"));
    ck_assert(match("str(Hello) -m str other Hello"));
    ck_assert(!match("str(Hello) -m str Hell"));
    ck_assert(match("str(-x) -- -x"));
    ck_assert(!match("str(Hello)"));
}
END_TEST

START_TEST(test_acl__match_str_hashed)
{
    char expr[512];
    int n = snprintf(expr, sizeof(expr), "str(Key17) -i");

    for (int i = 0; i < 40; i++)
        n += snprintf(expr + n, sizeof(expr) - (size_t)n, " key%d", i);
    ck_assert(match(expr));
    expr[7] = '9'; /* Key97: absent */
    expr[8] = '7';
    ck_assert(!match(expr));
    ck_assert(!match("str(Key3) key0 key1 key2 key4 key5 key6 key7 key8 "
                     "key9 Key30"));
    ck_assert(match("str(Key30) key0 key1 key2 key4 key5 key6 key7 key8 "
                    "key9 Key30"));
}
END_TEST

START_TEST(test_acl__match_beg_end_sub)
{
    ck_assert(match("str(/api/v1) -m beg /api"));
    ck_assert(!match("str(/api/v1) -m beg /API"));
    ck_assert(match("str(/api/v1) -i -m beg /API"));
    ck_assert(!match("str(/a) -m beg /api"));
    ck_assert(match("str(image.PNG) -i -m end .png"));
    ck_assert(!match("str(image.PNG) -m end .png"));
    ck_assert(match("str(abcdef) -m sub cde"));
    ck_assert(!match("str(abcdef) -m sub ced"));
    ck_assert(match("str(abcdef) -i -m sub CDE"));
}
END_TEST

START_TEST(test_acl__match_dir_dom)
{
    ck_assert(match("str(/img/logo.png) -m dir img"));
    ck_assert(match("str(/img/logo.png) -m dir /img/"));
    ck_assert(!match("str(/images/logo.png) -m dir img"));
    ck_assert(match("str(/a/b/c?x=1) -m dir b/c"));
    ck_assert(match("str(/A/b) -i -m dir a"));
    ck_assert(match("str(www.example.com) -m dom example.com"));
    ck_assert(match("str(www.example.com:80) -m dom com"));
    ck_assert(!match("str(www.myexample.com) -m dom example.com"));
    ck_assert(!match("str(www.example.com) -m dom ample.com"));
}
END_TEST

START_TEST(test_acl__match_reg_len_bin)
{
    ck_assert(match("str(/api/v12) -m reg ^/api/v[0-9]+$"));
    ck_assert(!match("str(/API/v12) -m reg ^/api/"));
    ck_assert(match("str(/API/v12) -i -m reg ^/api/"));
    ck_assert(match("str(hello) -m len 5"));
    ck_assert(match("str(hello) -m len 3:8"));
    ck_assert(!match("str(hello) -m len gt 5"));
    ck_assert(match("bin(0aff) -m bin 0AFF"));
    ck_assert(!match("bin(0aff) -m bin 0AFE"));
    ck_assert(match("str(AB) -m bin 4142"));
}
END_TEST

START_TEST(test_acl__match_found_bool_int)
{
    ck_assert(match("always_true"));
    ck_assert(!match("always_false"));
    ck_assert(match("var(txn.none,x) -m found"));
    ck_assert(!match("var(txn.none) -m found"));
    ck_assert(match("int(3) -m bool"));
    ck_assert(!match("int(0) -m bool"));
    ck_assert(match("int(15) 10:20"));
    ck_assert(!match("int(25) 10:20"));
    ck_assert(match("int(3) :5"));
    ck_assert(!match("int(6) :5"));
    ck_assert(match("int(7) 5:"));
    ck_assert(match("int(7) 1 2 7"));
    ck_assert(match("str(42abc) -m int 42"));
}
END_TEST

START_TEST(test_acl__int_operators)
{
    ck_assert(match("int(11) gt 10"));
    ck_assert(!match("int(10) gt 10"));
    ck_assert(match("int(10) ge 10"));
    ck_assert(!match("int(9) ge 10"));
    ck_assert(match("int(4) lt 5"));
    ck_assert(!match("int(5) lt 5"));
    ck_assert(match("int(5) le 5"));
    ck_assert(match("int(7) eq 7"));
    ck_assert(!match("int(8) eq 7"));
    ck_assert(match("int(-3) lt 0"));
    /* an operator applies to every pattern after it */
    ck_assert(match("int(30) lt 5 50"));
    ck_assert(!match("int(50) lt 5 50"));
    ck_assert(match("int(50) lt 5 eq 50"));
    acl_err("x int(1) gt x", "'x' is neither a number nor a supported "
                             "operator");
    acl_err("x int(1) y", "'y' is not a number");
    acl_err("x int(1) 1:x", "'1:x' is not a valid integer range");
}
END_TEST

START_TEST(test_acl__ip_networks)
{
    ck_assert(match("src 10.0.0.0/8"));
    ck_assert(!match("src 11.0.0.0/8"));
    ck_assert(match("src 10.1.2.0/255.255.255.0"));
    ck_assert(match("src 192.168.0.1 10.1.2.3"));
    ck_assert(!match("src 10.1.2.4"));
    ck_assert(match("src ::ffff:10.0.0.0/104"));
    src_addr = "2001:db8:1::5";
    ck_assert(match("src 2001:db8::/32"));
    ck_assert(!match("src 2001:db9::/32"));
    ck_assert(!match("src 10.0.0.0/8"));
    ck_assert(match("src 2001:db8:1::5"));
    src_addr = "::ffff:10.9.9.9";
    ck_assert(match("src 10.0.0.0/8"));
    ck_assert(match("str(10.1.2.3) -m ip 10.0.0.0/8"));
    ck_assert(!match("str(nope) -m ip 10.0.0.0/8"));
    acl_err("x src 10.0.0.300", "'10.0.0.300' is not a valid IPv4 or IPv6 "
                                "address");
    acl_err("x src 10.0.0.0/33", "'10.0.0.0/33' is not a valid IPv4 or IPv6 "
                                 "address");
}
END_TEST

START_TEST(test_acl__pattern_file)
{
    const char *p = write_file("hosts.lst", "# comment\n"
                                            "example.com\n"
                                            "\n"
                                            "   Other.org\r\n"
                                            "#not.this\n");
    char line[256];

    snprintf(line, sizeof(line), "h str(other.org) -i -f %s", p);
    acl_ok(line);
    ck_assert_int_eq(cond_is("h", 0), ACL_PASS);
    snprintf(line, sizeof(line), "{ str(#not.this) -f %s }", p);
    ck_assert_int_eq(cond_is(line, 0), ACL_FAIL);
    snprintf(line, sizeof(line), "{ str(example.com) -f %s }", p);
    ck_assert_int_eq(cond_is(line, 0), ACL_PASS);

    p = write_file("nets.lst", "10.0.0.0/8\n192.168.0.0/16\n");
    snprintf(line, sizeof(line), "n src -f %s", p);
    acl_ok(line);
    ck_assert_int_eq(cond_is("n", 0), ACL_PASS);
    src_addr = "172.16.0.1";
    ck_assert_int_eq(cond_is("n", 0), ACL_FAIL);

    p = write_file("map.lst", "key1 value1\nkey2 value2\n");
    snprintf(line, sizeof(line), "{ str(key2) -M -f %s }", p);
    ck_assert_int_eq(cond_is(line, 0), ACL_PASS);

    p = write_file("bad.lst", "1\n2\nx\n");
    snprintf(line, sizeof(line), "b int(1) -f %s", p);
    {
        char msg[256];

        snprintf(msg, sizeof(msg),
                 "'x' is not a number at line 3 of file "
                 "'%s'",
                 p);
        acl_err(line, msg);
    }
    acl_err("m str(a) -f /nonexistent/luaproxy.lst",
            "failed to open pattern file </nonexistent/luaproxy.lst>");
}
END_TEST

/* Writes <n> lines "<fmt>" of the line number (from 0) to <name>. */
static const char *write_numbered(const char *name, const char *fmt, int n)
{
    static char path[128];
    FILE *f;
    int i;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (i = 0; i < n; i++)
        fprintf(f, fmt, i);
    fclose(f);
    return path;
}

/* Seconds taken by <n> evaluations of the ACL <name>, each expected to
 * give <expect>. */
static double time_evals(const char *name, int n, int expect)
{
    char buf[64], *w[MAXW], *err = NULL;
    struct acl_cond *c;
    struct timespec a, b;
    int i;

    snprintf(buf, sizeof(buf), "%s", name);
    c = acl_cond_parse(&acls, split(buf, w), w, 0, &err);
    ck_assert_ptr_nonnull(c);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (i = 0; i < n; i++)
        ck_assert_int_eq(acl_cond_exec(c, &env), expect);
    clock_gettime(CLOCK_MONOTONIC, &b);
    acl_cond_free(c);
    return (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
}

START_TEST(test_acl__big_exact_file_is_hashed)
{
    const char *p = write_numbered("big.lst", "host%d.example.com\n", 100000);
    char line[256];
    double t;

    snprintf(line, sizeof(line), "big subj -f %s", p);
    acl_ok(line);
    subject = "host0.example.com";
    ck_assert_int_eq(cond_is("big", 0), ACL_PASS);
    subject = "host99999.example.com";
    ck_assert_int_eq(cond_is("big", 0), ACL_PASS);
    subject = "HOST500.example.com";
    ck_assert_int_eq(cond_is("big", 0), ACL_FAIL);
    subject = "host100000.example.com";
    ck_assert_int_eq(cond_is("big", 0), ACL_FAIL);
    /* a scan would compare 100 000 keys per miss: 2e9 comparisons here */
    t = time_evals("big", 20000, ACL_FAIL);
    ck_assert_msg(t < 1.0, "20000 misses took %.3f s", t);
}
END_TEST

START_TEST(test_acl__big_file_ignore_case)
{
    const char *p = write_numbered("big.lst", "Host%d.Example.com\n", 100000);
    char line[256];
    double t;

    snprintf(line, sizeof(line), "ci subj -i -f %s", p);
    acl_ok(line);
    snprintf(line, sizeof(line), "cs subj -f %s", p);
    acl_ok(line);
    /* as HAProxy, "-i" applies to the files named after it only */
    snprintf(line, sizeof(line), "late subj -f %s -i", p);
    acl_ok(line);
    subject = "HOST77777.EXAMPLE.COM";
    ck_assert_int_eq(cond_is("ci", 0), ACL_PASS);
    ck_assert_int_eq(cond_is("cs", 0), ACL_FAIL);
    ck_assert_int_eq(cond_is("late", 0), ACL_FAIL);
    subject = "Host77777.Example.com";
    ck_assert_int_eq(cond_is("cs", 0), ACL_PASS);
    ck_assert_int_eq(cond_is("late", 0), ACL_PASS);
    subject = "host77777.example.co";
    ck_assert_int_eq(cond_is("ci", 0), ACL_FAIL);
    t = time_evals("ci", 20000, ACL_FAIL);
    ck_assert_msg(t < 1.0, "20000 misses took %.3f s", t);

    /* prefixes: longest match through the index, case folded */
    p = write_numbered("beg.lst", "/Static/V%d/\n", 100000);
    snprintf(line, sizeof(line), "{ subj -m beg -i -f %s }", p);
    subject = "/static/v4242/app.js";
    ck_assert_int_eq(cond_is(line, 0), ACL_PASS);
    subject = "/static/v4242";
    ck_assert_int_eq(cond_is(line, 0), ACL_FAIL);
    snprintf(line, sizeof(line), "{ subj -m beg -f %s }", p);
    subject = "/static/v4242/app.js";
    ck_assert_int_eq(cond_is(line, 0), ACL_FAIL);
}
END_TEST

START_TEST(test_acl__big_ip_file)
{
    char line[256], p[128];
    FILE *f;
    double t;
    int i;

    /* 65 536 networks /24, then wider and IPv6 ones */
    snprintf(p, sizeof(p), "%s/nets.lst", tmpdir);
    f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    for (i = 0; i < 65536; i++)
        fprintf(f, "10.%d.%d.0/24\n", i / 256, i % 256);
    fputs("172.16.0.0/12\n2001:db8::/32\n192.168.1.7\n", f);
    fclose(f);
    snprintf(line, sizeof(line), "nets src -f %s", p);
    acl_ok(line);
    src_addr = "10.200.3.4";
    ck_assert_int_eq(cond_is("nets", 0), ACL_PASS);
    src_addr = "172.31.255.255";
    ck_assert_int_eq(cond_is("nets", 0), ACL_PASS);
    src_addr = "172.32.0.1";
    ck_assert_int_eq(cond_is("nets", 0), ACL_FAIL);
    src_addr = "192.168.1.7";
    ck_assert_int_eq(cond_is("nets", 0), ACL_PASS);
    src_addr = "192.168.1.8";
    ck_assert_int_eq(cond_is("nets", 0), ACL_FAIL);
    src_addr = "2001:db8:ffff::1";
    ck_assert_int_eq(cond_is("nets", 0), ACL_PASS);
    /* v4-mapped addresses find the IPv4 networks */
    src_addr = "::ffff:10.1.2.3";
    ck_assert_int_eq(cond_is("nets", 0), ACL_PASS);
    src_addr = "11.0.0.1";
    t = time_evals("nets", 20000, ACL_FAIL);
    ck_assert_msg(t < 1.0, "20000 misses took %.3f s", t);
}
END_TEST

START_TEST(test_acl__file_other_methods)
{
    char line[256], msg[256];
    const char *p;

    /* lengths, read line by line by the shared reader */
    p = write_file("len.lst", "# short ones\n1:3\n10\n");
    snprintf(line, sizeof(line), "{ str(abc) -m len -f %s }", p);
    ck_assert_int_eq(cond_is(line, 0), ACL_PASS);
    snprintf(line, sizeof(line), "{ str(abcd) -m len -f %s }", p);
    ck_assert_int_eq(cond_is(line, 0), ACL_FAIL);
    p = write_file("badlen.lst", "1\n\n  x\n");
    snprintf(line, sizeof(line), "b str(a) -m len -f %s", p);
    snprintf(msg, sizeof(msg), "'x' is not a number at line 3 of file '%s'", p);
    acl_err(line, msg);
    /* '#' starts a comment in the first column only */
    p = write_file("tags.lst", "#comment\n  #tag\n");
    snprintf(line, sizeof(line), "{ str(#tag) -f %s }", p);
    ck_assert_int_eq(cond_is(line, 0), ACL_PASS);
    snprintf(line, sizeof(line), "{ str(#comment) -f %s }", p);
    ck_assert_int_eq(cond_is(line, 0), ACL_FAIL);
    /* list methods keep working from files, with -i */
    p = write_file("dom.lst", "Example.COM\n");
    snprintf(line, sizeof(line), "{ str(www.example.com:80) -m dom -i -f %s }",
             p);
    ck_assert_int_eq(cond_is(line, 0), ACL_PASS);
    p = write_file("re.lst", "^/u/[0-9]+$\n");
    snprintf(line, sizeof(line), "{ str(/U/42) -m reg -i -f %s }", p);
    ck_assert_int_eq(cond_is(line, 0), ACL_PASS);
    snprintf(line, sizeof(line), "{ str(/U/42) -m reg -f %s }", p);
    ck_assert_int_eq(cond_is(line, 0), ACL_FAIL);
    /* file and line patterns add up */
    p = write_file("ints.lst", "100:199\n");
    snprintf(line, sizeof(line), "{ int(150) -f %s 5 }", p);
    ck_assert_int_eq(cond_is(line, 0), ACL_PASS);
    snprintf(line, sizeof(line), "{ int(5) -f %s 5 }", p);
    ck_assert_int_eq(cond_is(line, 0), ACL_PASS);
    snprintf(line, sizeof(line), "{ int(99) -f %s 5 }", p);
    ck_assert_int_eq(cond_is(line, 0), ACL_FAIL);
}
END_TEST

START_TEST(test_acl__parse_errors)
{
    acl_err("x str(a) -m foo a", "unknown matching method 'foo' when "
                                 "parsing ACL expression");
    acl_err("x str(a) -x a", "'-x' is not a valid ACL option. Please use "
                             "'--' before any pattern beginning with a '-'");
    acl_err("x var(txn.a) 1", "matching method must be specified first "
                              "(using '-m') when using a sample fetch of "
                              "this type ('var(txn.a)')");
    acl_err("x bool(1) -m ip 10.0.0.1", "matching method 'ip' cannot be "
                                        "used with fetch keyword 'bool(1)'");
    acl_err("x nope 1", "unknown fetch method 'nope' in ACL expression "
                        "'nope'");
    acl_err("x path_beg(x /a", "ACL keyword 'path_beg' : fetch method "
                               "'path' : expected ')' before 'x'");
    acl_err("x str(a) -m reg (", "regex '(' is invalid (error=missing "
                                 "closing parenthesis, erroffset=1)");
    acl_err("x str(a) -m bin 0g", "'0g' is not a valid hex string");
    acl_err("x/y str(a) a", "invalid character in ACL name : '/'");
    acl_err("or str(a) a", "acl name 'or' will never match. 'or' is used to "
                           "express a logical OR between two consecutive "
                           "ACLs");
    acl_err("x", "'acl' requires an ACL name and a sample fetch method");
    {
        char line[256];

        snprintf(line, sizeof(line), "x str(a) -f %s -m str a",
                 write_file("empty.lst", ""));
        acl_err(line, "'-m' must only be specified before patterns and files "
                      "in parsing ACL expression");
    }
}
END_TEST

START_TEST(test_acl__keywords_and_named_or)
{
    acl_ok("api path_beg /api");
    acl_ok("v1 path_dir v1");
    acl_ok("img path_beg /img");
    ck_assert_int_eq(cond_is("api", 0), ACL_PASS);
    ck_assert_int_eq(cond_is("v1", 0), ACL_PASS);
    ck_assert_int_eq(cond_is("img", 0), ACL_FAIL);
    /* a second declaration ORs */
    acl_ok("img str(x) x");
    ck_assert_int_eq(cond_is("img", 0), ACL_PASS);
    /* converters after an ACL keyword choose the method by type */
    ck_assert(match("path_beg,length 13"));
}
END_TEST

START_TEST(test_acl__conditions)
{
    acl_ok("t always_true");
    acl_ok("f always_false");
    ck_assert_int_eq(cond_is("t", 0), ACL_PASS);
    ck_assert_int_eq(cond_is("t", 1), ACL_FAIL);
    ck_assert_int_eq(cond_is("!t", 0), ACL_FAIL);
    ck_assert_int_eq(cond_is("! t", 0), ACL_FAIL);
    ck_assert_int_eq(cond_is("!!t", 0), ACL_PASS);
    ck_assert_int_eq(cond_is("t f", 0), ACL_FAIL);
    ck_assert_int_eq(cond_is("t !f", 0), ACL_PASS);
    ck_assert_int_eq(cond_is("f || t", 0), ACL_PASS);
    ck_assert_int_eq(cond_is("f or t", 0), ACL_PASS);
    ck_assert_int_eq(cond_is("f OR f", 0), ACL_FAIL);
    ck_assert_int_eq(cond_is("t f || f", 0), ACL_FAIL);
    ck_assert_int_eq(cond_is("t f || t t", 0), ACL_PASS);
    ck_assert_int_eq(cond_is("f || { str(a) a } t", 0), ACL_PASS);
    ck_assert_int_eq(cond_is("!{ str(a) a } || f", 0), ACL_FAIL);
    ck_assert_int_eq(cond_is("TRUE", 0), ACL_PASS);
    ck_assert_int_eq(cond_is("FALSE", 1), ACL_PASS);
    ck_assert_int_eq(cond_is("LOCALHOST", 0), ACL_FAIL);
    src_addr = "127.0.0.1";
    ck_assert_int_eq(cond_is("LOCALHOST", 0), ACL_PASS);
    src_addr = "::1";
    ck_assert_int_eq(cond_is("LOCALHOST", 0), ACL_PASS);
    ck_assert_int_eq(cond_is("API", 0), ACL_PASS);
    cond_err("nope", "no such ACL : 'nope'");
    cond_err("t || nope", "no such ACL : 'nope'");
    cond_err("{ str(a) a", "missing closing '}' in condition");
    cond_err("{ }", "missing fetch method in ACL expression ''");
    cond_err("!", "missing condition after 'if'");
}
END_TEST

START_TEST(test_acl__cond_without_list)
{
    char buf[] = "TRUE { int(1) 1 }", *w[MAXW], *err = NULL;
    int n = split(buf, w);
    struct acl_cond *c = acl_cond_parse(NULL, n, w, 0, &err);

    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(acl_cond_exec(c, &env), ACL_PASS);
    acl_cond_free(c);
}
END_TEST

/* Sets txn.x to <smp>, or unsets it when <smp> is NULL. */
static void set_x(const struct sample *smp)
{
    if (smp == NULL)
        vars_unset(&ts.txn, IST("x"));
    else
        ck_assert_int_eq(vars_set(&ts.txn, IST("x"), smp), RC_OK);
}

START_TEST(test_acl__not_var_bool)
{
    struct sample one = {.type = SMP_T_SINT, .data.sint = 1};
    struct sample zero = {.type = SMP_T_SINT, .data.sint = 0};
    struct sample s1 = {.type = SMP_T_STR, .data.str = IST("1")};
    struct sample strue = {.type = SMP_T_STR, .data.str = IST("true")};
    const char *cond = "!{ var(txn.x) -m bool }";

    set_x(&one);
    ck_assert_int_eq(cond_is(cond, 0), ACL_FAIL);
    set_x(&zero);
    ck_assert_int_eq(cond_is(cond, 0), ACL_PASS);
    set_x(&s1);
    ck_assert_int_eq(cond_is(cond, 0), ACL_FAIL);
    set_x(&strue);
    ck_assert_int_eq(cond_is(cond, 0), ACL_PASS);
    set_x(NULL);
    ck_assert_int_eq(cond_is(cond, 0), ACL_PASS);
}
END_TEST

START_TEST(test_acl__miss_and_final)
{
    env.avail = SMP_AVAIL_CONN;
    env.opt = 0;
    ck_assert_int_eq(cond_is("{ path /x }", 0), ACL_MISS);
    ck_assert_int_eq(cond_is("!{ path /x }", 0), ACL_MISS);
    ck_assert_int_eq(cond_is("{ path /x } || TRUE", 0), ACL_PASS);
    ck_assert_int_eq(cond_is("FALSE { path /x }", 0), ACL_FAIL);
    ck_assert_int_eq(cond_is("{ path /x }", 1), ACL_MISS);
    ck_assert_int_eq(cond_is("{ later 1 }", 0), ACL_MISS);
    env.opt = SMP_OPT_FINAL;
    ck_assert_int_eq(cond_is("{ path /x }", 0), ACL_FAIL);
    ck_assert_int_eq(cond_is("{ later 1 }", 0), ACL_FAIL);
    env.avail |= SMP_AVAIL_REQ;
    ck_assert_int_eq(cond_is("{ path /api/v1/users }", 0), ACL_PASS);
    {
        char buf[] = "{ path /x }", *w[MAXW], *err = NULL;
        int n = split(buf, w);
        struct acl_cond *c = acl_cond_parse(&acls, n, w, 0, &err);

        ck_assert_uint_eq(acl_cond_use(c), SMP_AVAIL_REQ);
        acl_cond_free(c);
    }
}
END_TEST

START_TEST(test_acl__iterates_values)
{
    ck_assert(match("hdrs c"));
    ck_assert(match("hdrs a"));
    ck_assert(!match("hdrs d"));
    /* a plain evaluation sees only the last value */
    {
        char *err = NULL;
        struct sample_expr *e = sample_expr_parse("hdrs", &err);
        struct sample s;

        ck_assert(sample_expr_eval(e, &env, &s));
        ck_assert_mem_eq(s.data.str.ptr, "c", 1);
        sample_expr_free(e);
    }
}
END_TEST

Suite *suite_core_acl(void)
{
    Suite *s = suite_create("core_acl");
    TCase *tc;

    tc = tcase_create("acl_parse_line");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_acl__match_str_and_case);
    tcase_add_test(tc, test_acl__match_str_hashed);
    tcase_add_test(tc, test_acl__match_beg_end_sub);
    tcase_add_test(tc, test_acl__match_dir_dom);
    tcase_add_test(tc, test_acl__match_reg_len_bin);
    tcase_add_test(tc, test_acl__match_found_bool_int);
    tcase_add_test(tc, test_acl__int_operators);
    tcase_add_test(tc, test_acl__ip_networks);
    tcase_add_test(tc, test_acl__pattern_file);
    tcase_add_test(tc, test_acl__file_other_methods);
    tcase_add_test(tc, test_acl__parse_errors);
    tcase_add_test(tc, test_acl__keywords_and_named_or);
    suite_add_tcase(s, tc);

    /* big files take a while to write and load under sanitizers */
    tc = tcase_create("acl_parse_line big files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_acl__big_exact_file_is_hashed);
    tcase_add_test(tc, test_acl__big_file_ignore_case);
    tcase_add_test(tc, test_acl__big_ip_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("acl_cond_parse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_acl__conditions);
    tcase_add_test(tc, test_acl__cond_without_list);
    suite_add_tcase(s, tc);

    tc = tcase_create("acl_cond_exec");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_acl__not_var_bool);
    tcase_add_test(tc, test_acl__miss_and_final);
    tcase_add_test(tc, test_acl__iterates_values);
    suite_add_tcase(s, tc);
    return s;
}

/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests for core/sample.c, core/sample_fetch.c and
 * core/sample_conv.c: the cast matrix, the registry, argument and
 * expression parsing with HAProxy's error messages, and the exact output
 * of every built-in fetch and converter. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/errors.h"
#include "core/pool.h"
#include "core/sample.h"
#include "core/vars.h"

Suite *suite_core_sample(void);

/* What a stream provides to variables, without a stream. */
struct test_stream {
    struct vars sess, txn, reqres;
};

static struct test_stream ts;
static struct pool *pool;
static struct smp_env env;

/* Resolves scopes on the fake stream. */
static struct vars *test_vars(struct stream *strm, enum vars_scope scope)
{
    struct test_stream *t = (struct test_stream *)strm;

    if (scope == VARS_SCOPE_SESS)
        return &t->sess;
    if (scope == VARS_SCOPE_TXN)
        return &t->txn;
    return &t->reqres;
}

/* Registers built-ins, a pool and the fake stream's variables. */
static void setup(void)
{
    sample_fetch_register_builtin();
    sample_conv_register_builtin();
    vars_init(&ts.sess);
    vars_init(&ts.txn);
    vars_init(&ts.reqres);
    vars_set_resolver(test_vars);
    pool = pool_new(4096);
    env = (struct smp_env){
        .strm = (struct stream *)&ts, .pool = pool, .opt = SMP_OPT_FINAL};
}

/* Frees everything setup() made. */
static void teardown(void)
{
    vars_prune(&ts.sess);
    vars_prune(&ts.txn);
    vars_prune(&ts.reqres);
    vars_prune(vars_proc());
    vars_set_resolver(NULL);
    pool_free(pool);
    sample_registry_clear();
}

/* Parses <expr>, failing the test with the message if it does not. */
static struct sample_expr *parse_ok(const char *expr)
{
    char *err = NULL;
    struct sample_expr *e = sample_expr_parse(expr, &err);

    ck_assert_msg(e != NULL, "%s: %s", expr, err ? err : "");
    return e;
}

/* Evaluates <expr> as a string copied into the pool; NULL if no sample. */
static const char *eval_str(const char *expr)
{
    struct sample_expr *e = parse_ok(expr);
    struct sample smp;
    const char *r = NULL;

    if (sample_expr_eval(e, &env, &smp) && sample_cast(&smp, SMP_T_STR, &env) &&
        sample_set_str_copy(&smp, SMP_T_STR, smp.data.str.ptr, smp.data.str.len,
                            &env))
        r = smp.data.str.ptr;
    sample_expr_free(e);
    return r;
}

/* Evaluates <expr>; 1 with its integer and type, 0 if no sample. */
static int eval_int(const char *expr, long long *v, enum smp_type *type)
{
    struct sample_expr *e = parse_ok(expr);
    struct sample smp;
    int ok = sample_expr_eval(e, &env, &smp);

    if (ok) {
        *v = smp.data.sint;
        if (type != NULL)
            *type = smp.type;
    }
    sample_expr_free(e);
    return ok;
}

/* Asserts that <expr> does not parse, with exactly <msg>. */
static void parse_err(const char *expr, const char *msg)
{
    char *err = NULL;
    struct sample_expr *e = sample_expr_parse(expr, &err);

    ck_assert_msg(e == NULL, "%s parsed", expr);
    ck_assert_str_eq(err, msg);
    free(err);
}

/* Sets txn.<name> to the string <val>. */
static void set_txn_str(const char *name, const char *val)
{
    struct sample s = {.type = SMP_T_STR};

    s.data.str = ist_from(val);
    ck_assert_int_eq(vars_set(&ts.txn, ist_from(name), &s), RC_OK);
}

/* Sets txn.<name> to the integer <val>. */
static void set_txn_int(const char *name, long long val)
{
    struct sample s = {.type = SMP_T_SINT};

    s.data.sint = val;
    ck_assert_int_eq(vars_set(&ts.txn, ist_from(name), &s), RC_OK);
}

/* Casts a string to <to> and back to a string. */
static const char *cast_str_roundtrip(const char *in, enum smp_type to)
{
    struct sample s = {.type = SMP_T_STR};

    s.data.str = ist_from(in);
    if (!sample_cast(&s, to, &env))
        return NULL;
    ck_assert_int_eq(s.type, to == SMP_T_ADDR ? s.type : to);
    if (!sample_cast(&s, SMP_T_STR, &env))
        return NULL;
    return pstrndup(pool, s.data.str.ptr, s.data.str.len);
}

START_TEST(test_sample__cast_sint_row)
{
    struct sample s = {.type = SMP_T_SINT, .data.sint = -42};
    char ip[INET6_ADDRSTRLEN];

    ck_assert(sample_cast(&s, SMP_T_STR, &env));
    ck_assert_int_eq(s.type, SMP_T_STR);
    ck_assert_str_eq(s.data.str.ptr, "-42");

    s = (struct sample){.type = SMP_T_SINT, .data.sint = 0x0a000001};
    ck_assert(sample_cast(&s, SMP_T_IPV4, &env));
    ck_assert_str_eq(inet_ntop(AF_INET, &s.data.ipv4, ip, sizeof(ip)),
                     "10.0.0.1");

    s = (struct sample){.type = SMP_T_SINT, .data.sint = 0x0a000001};
    ck_assert(sample_cast(&s, SMP_T_IPV6, &env));
    ck_assert_str_eq(inet_ntop(AF_INET6, &s.data.ipv6, ip, sizeof(ip)),
                     "::ffff:10.0.0.1");

    s = (struct sample){.type = SMP_T_SINT, .data.sint = 0x0102};
    ck_assert(sample_cast(&s, SMP_T_BIN, &env));
    ck_assert_uint_eq(s.data.str.len, 8);
    ck_assert_mem_eq(s.data.str.ptr, "\0\0\0\0\0\0\x01\x02", 8);

    s = (struct sample){.type = SMP_T_SINT, .data.sint = 5};
    ck_assert(sample_cast(&s, SMP_T_BOOL, &env));
    ck_assert_int_eq(s.type, SMP_T_BOOL);
    ck_assert(!sample_cast(&s, SMP_T_METH, &env));
}
END_TEST

START_TEST(test_sample__cast_str_row)
{
    struct sample s = {.type = SMP_T_STR};

    s.data.str = ist_from("123abc");
    ck_assert(sample_cast(&s, SMP_T_SINT, &env));
    ck_assert_int_eq(s.data.sint, 123);
    s = (struct sample){.type = SMP_T_STR, .data.str = IST("true")};
    ck_assert(sample_cast(&s, SMP_T_BOOL, &env));
    ck_assert_int_eq(s.data.sint, 0);
    s = (struct sample){.type = SMP_T_STR, .data.str = IST("-5")};
    ck_assert(sample_cast(&s, SMP_T_SINT, &env));
    ck_assert_int_eq(s.data.sint, -5);
    s = (struct sample){.type = SMP_T_STR, .data.str = IST("")};
    ck_assert(!sample_cast(&s, SMP_T_SINT, &env));

    ck_assert_str_eq(cast_str_roundtrip("1.2.3.4", SMP_T_IPV4), "1.2.3.4");
    ck_assert_ptr_null(cast_str_roundtrip("1.2.3", SMP_T_IPV4));
    ck_assert_ptr_null(cast_str_roundtrip("::1", SMP_T_IPV4));
    ck_assert_str_eq(cast_str_roundtrip("::1", SMP_T_IPV6), "::1");
    ck_assert_str_eq(cast_str_roundtrip("::1", SMP_T_ADDR), "::1");
    ck_assert_str_eq(cast_str_roundtrip("10.0.0.1", SMP_T_ADDR), "10.0.0.1");
    ck_assert_str_eq(cast_str_roundtrip("GET", SMP_T_METH), "GET");

    s = (struct sample){.type = SMP_T_STR, .data.str = IST("ab")};
    ck_assert(sample_cast(&s, SMP_T_BIN, &env));
    ck_assert_int_eq(s.type, SMP_T_BIN);
    ck_assert_uint_eq(s.data.str.len, 2);
}
END_TEST

START_TEST(test_sample__cast_addr_rows)
{
    struct sample s = {.type = SMP_T_IPV4};

    inet_pton(AF_INET, "10.1.2.3", &s.data.ipv4);
    ck_assert(sample_cast(&s, SMP_T_SINT, &env));
    ck_assert_int_eq(s.data.sint, 0x0a010203);

    s.type = SMP_T_IPV4;
    inet_pton(AF_INET, "10.1.2.3", &s.data.ipv4);
    ck_assert(sample_cast(&s, SMP_T_BIN, &env));
    ck_assert_mem_eq(s.data.str.ptr, "\x0a\x01\x02\x03", 4);

    s.type = SMP_T_IPV6;
    inet_pton(AF_INET6, "::ffff:192.0.2.1", &s.data.ipv6);
    ck_assert(sample_cast(&s, SMP_T_IPV4, &env));
    ck_assert(sample_cast(&s, SMP_T_STR, &env));
    ck_assert_str_eq(s.data.str.ptr, "192.0.2.1");

    s.type = SMP_T_IPV6;
    inet_pton(AF_INET6, "2001:db8::1", &s.data.ipv6);
    ck_assert(!sample_cast(&s, SMP_T_IPV4, &env));
    ck_assert(!sample_cast(&s, SMP_T_SINT, &env));
    ck_assert(sample_cast(&s, SMP_T_BIN, &env));
    ck_assert_uint_eq(s.data.str.len, 16);
}
END_TEST

START_TEST(test_sample__cast_bool_bin_meth_rows)
{
    struct sample s = {.type = SMP_T_BOOL, .data.sint = 1};

    ck_assert(sample_cast(&s, SMP_T_STR, &env));
    ck_assert_str_eq(s.data.str.ptr, "1");
    s = (struct sample){.type = SMP_T_BOOL, .data.sint = 1};
    ck_assert(!sample_cast(&s, SMP_T_IPV4, &env));
    ck_assert(sample_cast(&s, SMP_T_BIN, &env));
    ck_assert_mem_eq(s.data.str.ptr, "\0\0\0\0\0\0\0\x01", 8);

    s = (struct sample){.type = SMP_T_BIN, .data.str = {"ab\0cd", 5}};
    ck_assert(sample_cast(&s, SMP_T_STR, &env));
    ck_assert_uint_eq(s.data.str.len, 2);
    s = (struct sample){.type = SMP_T_BIN, .data.str = {"ab", 2}};
    ck_assert(!sample_cast(&s, SMP_T_SINT, &env));

    s = (struct sample){.type = SMP_T_METH, .data.str = IST("PURGE")};
    ck_assert(sample_cast(&s, SMP_T_STR, &env));
    ck_assert_int_eq(s.type, SMP_T_STR);
    ck_assert(!sample_cast(&s, SMP_T_IPV6, &env) || s.type == SMP_T_IPV6);

    ck_assert(sample_cast_possible(SMP_T_ANY, SMP_T_IPV4));
    ck_assert(sample_cast_possible(SMP_T_STR, SMP_T_ADDR));
    ck_assert(!sample_cast_possible(SMP_T_BOOL, SMP_T_ADDR));
    ck_assert(!sample_cast_possible(SMP_T_METH, SMP_T_SINT));
    ck_assert_str_eq(sample_type_name(SMP_T_SINT), "sint");
}
END_TEST

START_TEST(test_sample__cast_needs_pool_for_new_strings)
{
    struct smp_env nopool = {.opt = SMP_OPT_FINAL};
    struct sample s = {.type = SMP_T_SINT, .data.sint = 1};

    ck_assert(!sample_cast(&s, SMP_T_STR, &nopool));
    ck_assert(sample_cast(&s, SMP_T_IPV4, &nopool));
}
END_TEST

START_TEST(test_sample__fetch_constants)
{
    long long v;
    enum smp_type t;

    ck_assert(eval_int("always_true", &v, &t));
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(t, SMP_T_BOOL);
    ck_assert(eval_int("always_false", &v, &t));
    ck_assert_int_eq(v, 0);
    ck_assert(eval_int("int(-12)", &v, &t));
    ck_assert_int_eq(v, -12);
    ck_assert_int_eq(t, SMP_T_SINT);
    ck_assert(eval_int("bool(true)", &v, &t));
    ck_assert_int_eq(v, 1);
    ck_assert(eval_int("bool(0)", &v, &t));
    ck_assert_int_eq(v, 0);
    ck_assert_str_eq(eval_str("str(hello world)"), "hello world");
    ck_assert_str_eq(eval_str("str('a,b')"), "a,b");
    ck_assert_str_eq(eval_str("str(\"a\\\"b\")"), "a\"b");
    ck_assert_str_eq(eval_str("ipv4(10.0.0.1)"), "10.0.0.1");
    ck_assert_str_eq(eval_str("ipv6(2001:db8::1)"), "2001:db8::1");
    ck_assert_str_eq(eval_str("bin(414243)"), "ABC");
    ck_assert_str_eq(eval_str("meth(GET)"), "GET");
    parse_err("bool(yes)", "invalid args in fetch method 'bool' : Expects "
                           "'true', 'false', '0' or '1'");
}
END_TEST

START_TEST(test_sample__fetch_env_date_rand)
{
    long long v, v2;

    setenv("LUAPROXY_TEST_ENV", "val", 1);
    ck_assert_str_eq(eval_str("env(LUAPROXY_TEST_ENV)"), "val");
    ck_assert_ptr_null(eval_str("env(LUAPROXY_TEST_ENV_NOT_SET)"));

    ck_assert(eval_int("date", &v, NULL));
    ck_assert(eval_int("date(3600)", &v2, NULL));
    ck_assert(v2 - v >= 3600 && v2 - v <= 3601);
    ck_assert(eval_int("date(0,ms)", &v2, NULL));
    ck_assert(v2 / 1000 - v >= 0 && v2 / 1000 - v <= 1);
    ck_assert(eval_int("date(0,us)", &v2, NULL));
    ck_assert(v2 / 1000000 - v >= 0 && v2 / 1000000 - v <= 1);
    parse_err("date(0,h)", "invalid args in fetch method 'date' : expects "
                           "'s', 'ms' or 'us', got 'h'");

    for (int i = 0; i < 50; i++) {
        ck_assert(eval_int("rand(10)", &v, NULL));
        ck_assert(v >= 0 && v < 10);
    }
    ck_assert(eval_int("rand", &v, NULL));
    ck_assert(v >= 0 && v <= 0xffffffffLL);
}
END_TEST

START_TEST(test_sample__fetch_var)
{
    long long v;
    enum smp_type t;
    struct sample s = {.type = SMP_T_SINT, .data.sint = 9};

    ck_assert_ptr_null(eval_str("var(txn.missing)"));
    ck_assert_str_eq(eval_str("var(txn.missing,dflt)"), "dflt");
    set_txn_int("n", 42);
    ck_assert(eval_int("var(txn.n)", &v, &t));
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(t, SMP_T_SINT);
    set_txn_str("s", "abc");
    ck_assert_str_eq(eval_str("var(txn.s)"), "abc");
    ck_assert_int_eq(vars_set(vars_proc(), IST("p"), &s), RC_OK);
    ck_assert(eval_int("var(proc.p)", &v, NULL));
    ck_assert_int_eq(v, 9);
    /* no stream: only the process scope exists */
    env.strm = NULL;
    ck_assert_ptr_null(eval_str("var(txn.n)"));
    ck_assert_str_eq(eval_str("var(proc.p)"), "9");
}
END_TEST

START_TEST(test_sample__conv_strings)
{
    long long v;

    ck_assert_str_eq(eval_str("str(HeLLo),lower"), "hello");
    ck_assert_str_eq(eval_str("str(HeLLo),upper"), "HELLO");
    ck_assert(eval_int("str(HeLLo),length", &v, NULL));
    ck_assert_int_eq(v, 5);
    ck_assert_str_eq(eval_str("str(hello),base64"), "aGVsbG8=");
    ck_assert_str_eq(eval_str("str(hi),base64"), "aGk=");
    ck_assert_str_eq(eval_str("str(aGVsbG8=),b64dec"), "hello");
    ck_assert_str_eq(eval_str("str(aGk=),b64dec"), "hi");
    ck_assert_ptr_null(eval_str("str(abc),b64dec"));
    ck_assert_ptr_null(eval_str("str(a=bc),b64dec"));
    ck_assert_str_eq(eval_str("str(AB),hex"), "4142");
    ck_assert_str_eq(eval_str("bin(00ff),hex"), "00FF");
    ck_assert_str_eq(eval_str("str(xxabcxx),ltrim(x)"), "abcxx");
    ck_assert_str_eq(eval_str("str(xxabcxx),rtrim(x)"), "xxabc");
    ck_assert_str_eq(eval_str("always_true,iif(yes,no)"), "yes");
    ck_assert_str_eq(eval_str("int(0),iif(yes,no)"), "no");
}
END_TEST

START_TEST(test_sample__conv_url_dec)
{
    ck_assert_str_eq(eval_str("str(a%20b+c),url_dec"), "a b+c");
    ck_assert_str_eq(eval_str("str(a%20b+c),url_dec(1)"), "a b c");
    ck_assert_str_eq(eval_str("str(/p+q?a+b),url_dec"), "/p+q?a b");
    ck_assert_ptr_null(eval_str("str(a%zz),url_dec"));
    ck_assert_ptr_null(eval_str("str(a%2),url_dec"));
}
END_TEST

START_TEST(test_sample__conv_field_word)
{
    ck_assert_str_eq(eval_str("str(a:b::c),field(2,:)"), "b");
    ck_assert_str_eq(eval_str("str(a:b::c),field(3,:)"), "");
    ck_assert_str_eq(eval_str("str(a:b::c),field(4,:)"), "c");
    ck_assert_str_eq(eval_str("str(a:b::c),field(-1,:)"), "c");
    ck_assert_str_eq(eval_str("str(a:b::c),field(-2,:)"), "");
    ck_assert_str_eq(eval_str("str(a:b::c),field(-3,:)"), "b");
    ck_assert_str_eq(eval_str("str(a:b::c),field(2,:,2)"), "b:");
    ck_assert_str_eq(eval_str("str(a:b;c),field(2,:;)"), "b");
    ck_assert_ptr_null(eval_str("str(a:b::c),field(5,:)"));
    ck_assert_str_eq(eval_str("str(/a//b/c),word(2,/)"), "b");
    ck_assert_str_eq(eval_str("str(/a//b/c),word(-1,/)"), "c");
    ck_assert_str_eq(eval_str("str(/a//b/c),word(-3,/)"), "a");
    ck_assert_str_eq(eval_str("str(/a//b/c),word(1,/,2)"), "a//b");
    ck_assert_ptr_null(eval_str("str(/a//b/c),word(4,/)"));
    parse_err("str(a),field(0,:)", "invalid args in converter 'field' : "
                                   "Unexpected value 0 for index");
    parse_err("str(a),word(1,)", "invalid args in converter 'word' : "
                                 "Empty separators list");
}
END_TEST

START_TEST(test_sample__conv_regsub)
{
    ck_assert_str_eq(eval_str("str(aaa),regsub(a,b)"), "baa");
    ck_assert_str_eq(eval_str("str(aaa),regsub(a,b,g)"), "bbb");
    ck_assert_str_eq(eval_str("str(Hello),regsub(h,J)"), "Hello");
    ck_assert_str_eq(eval_str("str(Hello),regsub(h,J,i)"), "Jello");
    ck_assert_str_eq(eval_str("str(abc),regsub('(b)','<\\1\\1>')"), "a<bb>c");
    ck_assert_str_eq(eval_str("str(ab),regsub('x*',-,g)"), "-a-b-");
    ck_assert_str_eq(eval_str("str(a.b.c),regsub('\\.',_,g)"), "a_b_c");
    parse_err("str(a),regsub(a,b,z)",
              "invalid args in converter 'regsub' : invalid regex flag 'z', "
              "only 'i' and 'g' are supported");
    parse_err("str(a),regsub('(',b)",
              "invalid args in converter 'regsub' : regex '(' is invalid "
              "(error=missing closing parenthesis, erroffset=1)");
}
END_TEST

START_TEST(test_sample__conv_arith)
{
    long long v;

    ck_assert(eval_int("int(7),add(3)", &v, NULL));
    ck_assert_int_eq(v, 10);
    ck_assert(eval_int("int(7),sub(10)", &v, NULL));
    ck_assert_int_eq(v, -3);
    ck_assert(eval_int("int(7),mul(6)", &v, NULL));
    ck_assert_int_eq(v, 42);
    ck_assert(eval_int("int(7),div(2)", &v, NULL));
    ck_assert_int_eq(v, 3);
    ck_assert(eval_int("int(7),div(0)", &v, NULL));
    ck_assert_int_eq(v, LLONG_MAX);
    ck_assert(eval_int("int(7),mod(4)", &v, NULL));
    ck_assert_int_eq(v, 3);
    ck_assert(eval_int("int(7),mod(0)", &v, NULL));
    ck_assert_int_eq(v, 0);
    ck_assert(eval_int("int(9223372036854775807),add(1)", &v, NULL));
    ck_assert_int_eq(v, LLONG_MAX);
    ck_assert(eval_int("int(-9223372036854775807),sub(10)", &v, NULL));
    ck_assert_int_eq(v, LLONG_MIN);
    ck_assert(eval_int("int(4611686018427387904),mul(-4)", &v, NULL));
    ck_assert_int_eq(v, LLONG_MIN);
    ck_assert(eval_int("int(12),and(10)", &v, NULL));
    ck_assert_int_eq(v, 8);
    ck_assert(eval_int("int(12),or(3)", &v, NULL));
    ck_assert_int_eq(v, 15);
    ck_assert(eval_int("int(12),xor(10)", &v, NULL));
    ck_assert_int_eq(v, 6);
    ck_assert(eval_int("int(5),neg", &v, NULL));
    ck_assert_int_eq(v, -5);
    ck_assert(eval_int("int(0),cpl", &v, NULL));
    ck_assert_int_eq(v, -1);
    /* operand from a variable; a string variable is cast */
    set_txn_int("n", 5);
    ck_assert(eval_int("int(7),add(txn.n)", &v, NULL));
    ck_assert_int_eq(v, 12);
    set_txn_str("s", "30");
    ck_assert(eval_int("int(7),add(txn.s)", &v, NULL));
    ck_assert_int_eq(v, 37);
    ck_assert(!eval_int("int(7),add(txn.none)", &v, NULL));
    ck_assert(eval_int("str(40),add(2)", &v, NULL));
    ck_assert_int_eq(v, 42);
    parse_err("int(1),add(foo)", "invalid args in converter 'add' : expects "
                                 "an integer or a variable name");
}
END_TEST

START_TEST(test_sample__conv_bool_not)
{
    long long v;
    enum smp_type t;

    ck_assert(eval_int("int(5),bool", &v, &t));
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(t, SMP_T_BOOL);
    ck_assert(eval_int("int(0),bool", &v, &t));
    ck_assert_int_eq(v, 0);
    ck_assert(eval_int("int(0),not", &v, &t));
    ck_assert_int_eq(v, 1);
    ck_assert(eval_int("int(3),not", &v, &t));
    ck_assert_int_eq(v, 0);
    ck_assert(eval_int("int(3),odd", &v, &t));
    ck_assert_int_eq(v, 1);
    ck_assert(eval_int("int(3),even", &v, &t));
    ck_assert_int_eq(v, 0);
}
END_TEST

START_TEST(test_sample__conv_ipmask)
{
    ck_assert_str_eq(eval_str("ipv4(192.168.1.77),ipmask(24)"), "192.168.1.0");
    ck_assert_str_eq(eval_str("ipv4(192.168.1.77),ipmask(255.255.0.0)"),
                     "192.168.0.0");
    ck_assert_str_eq(eval_str("str(10.9.8.7),ipmask(8)"), "10.0.0.0");
    ck_assert_str_eq(eval_str("ipv6(2001:db8:1:2::1),ipmask(24,48)"),
                     "2001:db8:1::");
    ck_assert_ptr_null(eval_str("ipv6(2001:db8::1),ipmask(24)"));
    parse_err("ipv4(1.2.3.4),ipmask(33)",
              "invalid arg 1 in converter 'ipmask' : failed to parse '33' "
              "as type 'IPv4 mask' at position 1");
    parse_err("bool(1),ipmask(24)", "converter 'ipmask' cannot be applied");
}
END_TEST

START_TEST(test_sample__conv_json)
{
    ck_assert_str_eq(eval_str("str('a\"b\\c/d'),json"), "a\\\"b\\\\c\\/d");
    ck_assert_str_eq(eval_str("str(\"x\\ny\\tz\"),json"), "x\\ny\\tz");
    ck_assert_str_eq(eval_str("bin(01),json"), "\\u0001");
    ck_assert_str_eq(eval_str("bin(C3A9),json"), "\\u00c3\\u00a9");
    ck_assert_str_eq(eval_str("bin(C3A9),json(utf8)"), "\\u00e9");
    ck_assert_str_eq(eval_str("bin(41E282AC),json(utf8)"), "A\\u20ac");
    ck_assert_ptr_null(eval_str("bin(41FF),json(utf8)"));
    ck_assert_str_eq(eval_str("bin(41FF42),json(utf8s)"), "AB");
    /* overlong '/' (C0AF): only the permissive modes accept it */
    ck_assert_ptr_null(eval_str("bin(C0AF),json(utf8)"));
    ck_assert_str_eq(eval_str("bin(C0AF),json(utf8p)"), "\\/");
    ck_assert_ptr_null(eval_str("bin(F09F9880),json(utf8)"));
    ck_assert_str_eq(eval_str("bin(41F09F9880),json(utf8ps)"), "A");
    parse_err("str(a),json(latin1)",
              "invalid args in converter 'json' : Unexpected input code "
              "type. Allowed value are 'ascii', 'utf8', 'utf8s', 'utf8p' "
              "and 'utf8ps'");
}
END_TEST

START_TEST(test_sample__conv_concat_strcmp)
{
    long long v;

    set_txn_str("v", "mid");
    ck_assert_str_eq(eval_str("str(a),concat(<,txn.v,>)"), "a<mid>");
    ck_assert_str_eq(eval_str("str(a),concat(<,txn.none,>)"), "a<>");
    ck_assert_str_eq(eval_str("str(a),concat(-)"), "a-");
    ck_assert_str_eq(eval_str("str(a),concat(,txn.v)"), "amid");
    set_txn_int("i", 7);
    ck_assert_str_eq(eval_str("str(a),concat(,txn.i)"), "a7");
    parse_err("str(a),concat(,bad)", "invalid args in converter 'concat' : "
                                     "failed to register variable name "
                                     "'bad'");

    set_txn_str("c", "abd");
    ck_assert(eval_int("str(abc),strcmp(txn.c)", &v, NULL));
    ck_assert_int_eq(v, -1);
    set_txn_str("c", "abc");
    ck_assert(eval_int("str(abc),strcmp(txn.c)", &v, NULL));
    ck_assert_int_eq(v, 0);
    set_txn_str("c", "ab");
    ck_assert(eval_int("str(abc),strcmp(txn.c)", &v, NULL));
    ck_assert_int_eq(v, 1);
    ck_assert(!eval_int("str(abc),strcmp(txn.none)", &v, NULL));
}
END_TEST

START_TEST(test_sample__conv_set_unset_var)
{
    struct sample s;

    ck_assert_str_eq(eval_str("str(x),set-var(txn.s),upper"), "X");
    ck_assert(vars_get(&ts.txn, IST("s"), &s));
    ck_assert_int_eq(s.type, SMP_T_STR);
    ck_assert_mem_eq(s.data.str.ptr, "x", 1);
    /* a refused condition drops the sample, as in HAProxy */
    ck_assert_ptr_null(eval_str("str(y),set-var(txn.s,ifnotexists)"));
    ck_assert_str_eq(eval_str("str(y),set-var(txn.s,ifexists,ifnotempty)"),
                     "y");
    ck_assert_str_eq(eval_str("int(3),set-var(sess.n)"), "3");
    ck_assert(vars_get(&ts.sess, IST("n"), &s));
    ck_assert_int_eq(s.data.sint, 3);
    ck_assert_str_eq(eval_str("str(z),unset-var(txn.s)"), "z");
    ck_assert(!vars_get(&ts.txn, IST("s"), &s));
    parse_err("str(a),set-var(txn.s,ifwhatever)",
              "invalid args in converter 'set-var' : unknown condition "
              "\"ifwhatever\"");
    parse_err("str(a),set-var(x)",
              "invalid args in converter 'set-var' : invalid variable name "
              "'x'. A variable name must be start by its scope. The scope "
              "can be 'proc', 'sess', 'txn', 'req' or 'res'");
}
END_TEST

START_TEST(test_sample__conv_bytes)
{
    ck_assert_str_eq(eval_str("bin(0102030405),bytes(1,2),hex"), "0203");
    ck_assert_str_eq(eval_str("bin(0102030405),bytes(3),hex"), "0405");
    ck_assert_str_eq(eval_str("bin(0102030405),bytes(3,9),hex"), "0405");
    ck_assert_str_eq(eval_str("bin(0102030405),bytes(10),hex"), "");
    set_txn_int("o", 4);
    ck_assert_str_eq(eval_str("bin(0102030405),bytes(txn.o),hex"), "05");
    env.opt = 0; /* more data may come: no answer yet */
    ck_assert_ptr_null(eval_str("bin(0102030405),bytes(10)"));
    ck_assert_ptr_null(eval_str("bin(0102030405),bytes(3,9)"));
    parse_err("str(a),bytes(-1)", "invalid args in converter 'bytes' : "
                                  "expects a non-negative integer");
    parse_err("str(a),bytes(1,0)", "invalid args in converter 'bytes' : "
                                   "expects a positive integer");
}
END_TEST

START_TEST(test_sample__conv_hashes)
{
    long long v;

    ck_assert(eval_int("str(hello),crc32", &v, NULL));
    ck_assert_int_eq(v, 907060870);
    ck_assert(eval_int("str(hello),crc32(1)", &v, NULL));
    ck_assert_int_eq(v, 3902247103LL);
    ck_assert(eval_int("str(hello),djb2(1)", &v, NULL));
    ck_assert_int_eq(v, 1119739105);
    ck_assert(eval_int("str(),djb2", &v, NULL));
    ck_assert_int_eq(v, 5381);
    ck_assert(eval_int("str(hello),sdbm", &v, NULL));
    ck_assert_int_eq(v, 684824882);
    ck_assert(eval_int("str(hello),wt6", &v, NULL));
    ck_assert_int_eq(v, 3538347703LL);
    ck_assert(eval_int("str(),wt6", &v, NULL));
    ck_assert_int_eq(v, 4187620192LL);
    ck_assert(eval_int("str(hello),xxh32(7)", &v, NULL));
    ck_assert_int_eq(v, 2401278968LL);
    ck_assert(eval_int("str(),xxh64", &v, NULL));
    ck_assert_int_eq(v, -1205034819632174695LL);
    ck_assert_str_eq(eval_str("str(hello),sha1,hex"),
                     "AAF4C61DDCC5E8A2DABEDE0F3B482CD9AEA9434D");
    ck_assert_str_eq(
        eval_str("str(abc),sha2(224),hex"),
        "23097D223405D8228642A477BDA255B32AADBCE4BDA0B3F7E36C9DA7");
    ck_assert_str_eq(eval_str("str(hello),digest(md5),hex"),
                     "5D41402ABC4B2A76B9719D911017C592");
    set_txn_str("key", "c2VjcmV0");
    ck_assert_str_eq(
        eval_str("str(hello),hmac(sha256,txn.key),hex"),
        "88AAB3EDE8D3ADF94D26AB90D3BAFD4A2083070C3BCCE9C014EE04A443847C0B");
    ck_assert_ptr_null(eval_str("str(hello),hmac(sha256,txn.none)"));
    parse_err("str(a),sha2(100)", "invalid args in converter 'sha2' : "
                                  "Unsupported number of bits: '100'.");
    parse_err("str(a),digest(nope)",
              "invalid args in converter 'digest' : algorithm must be a "
              "valid OpenSSL message digest name.");
    parse_err("str(a),hmac(md5,no.var)",
              "invalid args in converter 'hmac' : failed to register "
              "variable name 'no.var'");
}
END_TEST

START_TEST(test_sample__conv_dates)
{
    ck_assert_str_eq(eval_str("int(1700000000),utime(%Y-%m-%d %H:%M:%S,3600)"),
                     "2023-11-14 23:13:20");
    ck_assert_str_eq(eval_str("int(1700000000),utime()"), "");
    ck_assert_str_eq(eval_str("int(-1),utime(%s)"), "36028797018963967");
    ck_assert_str_eq(eval_str("int(1700000000),http_date"),
                     "Tue, 14 Nov 2023 22:13:20 GMT");
    ck_assert_str_eq(eval_str("int(1700000000),http_date(-5,s)"),
                     "Tue, 14 Nov 2023 22:13:15 GMT");
    ck_assert_str_eq(eval_str("int(1700000000123),http_date(0,ms)"),
                     "Tue, 14 Nov 2023 22:13:20.123 GMT");
    ck_assert_str_eq(eval_str("int(1700000000000050),http_date(0,us)"),
                     "Tue, 14 Nov 2023 22:13:20.50 GMT");
    parse_err("int(1),http_date(0,h)", "invalid args in converter "
                                       "'http_date' : expects 's', 'ms' or "
                                       "'us', got 'h'");
}
END_TEST

START_TEST(test_sample__conv_encoders)
{
    long long v;

    ck_assert_str_eq(eval_str("str(a b/c~),url_enc"), "a%20b%2Fc~");
    ck_assert_str_eq(eval_str("str(hello?\?>),ub64enc"), "aGVsbG8_Pz4");
    ck_assert_str_eq(eval_str("str(aGVsbG8_Pz4),ub64dec"), "hello?\?>");
    ck_assert_str_eq(eval_str("str(a===),ub64dec,hex"), "6BFFFF");
    ck_assert_ptr_null(eval_str("str(abcde),ub64dec"));
    ck_assert_ptr_null(eval_str("str(aGVs+A),ub64dec"));
    ck_assert_str_eq(eval_str("bin(0102030405),be2dec(:,2)"), "258:772:5");
    ck_assert_str_eq(eval_str("bin(0102030405),be2dec(:,2,1)"), "258:772");
    ck_assert_str_eq(eval_str("bin(FFFFFFFFFFFFFFFF),be2dec(:,8)"),
                     "18446744073709551615");
    ck_assert_str_eq(eval_str("bin(0102030405),be2hex"), "0102030405");
    ck_assert_str_eq(eval_str("bin(0102030405),be2hex(-,2,1)"), "0102-0304");
    ck_assert_str_eq(eval_str("str(WWW.A.COM:80),host_only"), "www.a.com");
    ck_assert_str_eq(eval_str("str([::1]:80:9),host_only"), "[::1]:80");
    ck_assert_str_eq(eval_str("str([::1]),host_only"), "[::1]");
    ck_assert(eval_int("str([::1]:8080),port_only", &v, NULL));
    ck_assert_int_eq(v, 8080);
    ck_assert(eval_int("str([::1]),port_only", &v, NULL));
    ck_assert_int_eq(v, 0);
    ck_assert(eval_int("str(a:12x),port_only", &v, NULL));
    ck_assert_int_eq(v, 192);
    ck_assert(eval_int("str(hello),crc32c", &v, NULL));
    ck_assert_int_eq(v, 2591144780LL);
    ck_assert(eval_int("str(7f),hex2i", &v, NULL));
    ck_assert_int_eq(v, 127);
    ck_assert_ptr_null(eval_str("str(-5),hex2i"));
    ck_assert_str_eq(eval_str("int(-1),htonl,hex"), "FFFFFFFF");
    set_txn_str("k", "abc");
    ck_assert(eval_int("str(abc),secure_memcmp(txn.k)", &v, NULL));
    ck_assert_int_eq(v, 1);
    ck_assert(eval_int("str(abd),secure_memcmp(txn.k)", &v, NULL));
    ck_assert_int_eq(v, 0);
    ck_assert_str_eq(eval_str("str(a),add_item(-,txn.k,z)"), "a-abcz");
    ck_assert_str_eq(eval_str("str(),add_item(-,txn.k)"), "abc");
    ck_assert_str_eq(eval_str("str(a),add_item(-,txn.none)"), "a");
    parse_err("str(a),add_item(-,,)", "invalid args in converter 'add_item' : "
                                      "one of the optional arguments has to "
                                      "be nonempty");
    parse_err("str(a),url_enc(path)", "invalid args in converter 'url_enc' : "
                                      "Unexpected encode type. Allowed value "
                                      "is 'query'");
    parse_err("str(a),be2dec(:,9)", "invalid args in converter 'be2dec' : "
                                    "chunk_size out of [1..8] range (9)");
    parse_err("str(a),be2hex(-)", "invalid args in converter 'be2hex' : "
                                  "chunk_size needs to be positive (0)");
}
END_TEST

START_TEST(test_sample__conv_json_query)
{
    long long v;
    enum smp_type type;

    set_txn_str("j",
                "{\"a\":{\"b\":[1,\"x\\u0041\",1.5e1,true,010]},\"c\":1} x");
    ck_assert_str_eq(eval_str("var(txn.j),json_query('$.a.b[1]')"), "xA");
    ck_assert_str_eq(eval_str("var(txn.j),json_query('$.a.b[2]')"), "15");
    ck_assert(eval_int("var(txn.j),json_query('$.a.b[2]','int')", &v, NULL));
    ck_assert_int_eq(v, 1);
    ck_assert(eval_int("var(txn.j),json_query('$.a.b[4]','int')", &v, NULL));
    ck_assert_int_eq(v, 8);
    ck_assert(eval_int("var(txn.j),json_query('$.a.b[3]')", &v, &type));
    ck_assert_int_eq(type, SMP_T_BOOL);
    ck_assert_int_eq(v, 1);
    ck_assert(eval_int("var(txn.j),json_query('$.c','int')", &v, NULL));
    ck_assert_int_eq(v, 1);
    ck_assert_ptr_null(eval_str("var(txn.j),json_query('$.a')"));
    ck_assert_ptr_null(eval_str("var(txn.j),json_query('$.a.b[9]')"));
    ck_assert_ptr_null(eval_str("var(txn.j),json_query('$.z')"));
    set_txn_str("j", "eyJhbGciOiJIUzI1NiJ9.eyJuIjo0Mn0.c2ln");
    ck_assert_str_eq(eval_str("var(txn.j),jwt_header_query('$.alg')"), "HS256");
    ck_assert(eval_int("var(txn.j),jwt_payload_query('$.n','int')", &v, NULL));
    ck_assert_int_eq(v, 42);
    ck_assert_ptr_null(eval_str("var(txn.j),jwt_payload_query"));
    set_txn_str("j", "eyJhbGciOiJIUzI1NiJ9");
    ck_assert_ptr_null(eval_str("var(txn.j),jwt_payload_query('$.n')"));
    set_txn_str("j", "{\"a\":tru,\"c\":1}");
    ck_assert_ptr_null(eval_str("var(txn.j),json_query('$.c')"));
    parse_err("str(a),json_query('$.a',str)",
              "invalid args in converter 'json_query' : output_type only "
              "supports \"int\" as argument.");
}
END_TEST

START_TEST(test_sample__expr_parse_errors)
{
    parse_err("foo", "unknown fetch method 'foo'");
    parse_err("", "missing fetch method");
    parse_err("int(x)", "fetch method 'int' : failed to parse 'x' as type "
                        "'integer' at position 1");
    parse_err("int", "fetch method 'int' : expected type 'integer' at "
                     "position 1, but got nothing");
    parse_err("str(a", "fetch method 'str' : expected ')'");
    parse_err("int(1,2)", "fetch method 'int' : expected ')' before ',2)'");
    parse_err("str(a\\", "fetch method 'str' : failed to parse '\\' after "
                         "'a' as type 'string' at position 1");
    parse_err("int(1),bar", "unknown converter 'bar'");
    parse_err("int(1)x", "missing comma after fetch keyword");
    parse_err("int(1),neg x", "missing comma after converter 'neg'");
    parse_err("int(1),lower(x)", "invalid arg 1 in converter 'lower' : "
                                 "expected ')' before 'x)'");
    parse_err("str(a),field(x,:)",
              "invalid arg 1 in converter 'field' : failed to parse 'x' as "
              "type 'integer' at position 1");
    parse_err("str(a),field(1)", "invalid arg 2 in converter 'field' : "
                                 "missing arguments (got 1/2), type 'string' "
                                 "expected");
    parse_err("var(foo)", "invalid args in fetch method 'var' : invalid "
                          "variable name 'foo'. A variable name must be start "
                          "by its scope. The scope can be 'proc', 'sess', "
                          "'txn', 'req' or 'res'");
}
END_TEST

START_TEST(test_sample__expr_shapes)
{
    struct sample_expr *e = parse_ok("str(a),length");
    const char *end = NULL;
    char *err = NULL;

    ck_assert_int_eq(sample_expr_out_type(e), SMP_T_SINT);
    ck_assert(sample_expr_has_convs(e));
    ck_assert_str_eq(sample_expr_fetch(e)->name, "str");
    sample_expr_free(e);
    /* trailing commas and empty parentheses are tolerated, as HAProxy */
    ck_assert_str_eq(eval_str("str(Ab),,lower(),"), "ab");
    e = sample_expr_parse_prefix("str(a),upper]rest", &end, &err);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(end, "]rest");
    sample_expr_free(e);
}
END_TEST

/* Counts keywords for the foreach test. */
static void count_fetch(const struct sample_fetch_kw *kw, void *ctx)
{
    (*(int *)ctx)++;
}

/* Counts converter keywords. */
static void count_conv(const struct sample_conv_kw *kw, void *ctx)
{
    (*(int *)ctx)++;
}

/* Returns the keyword's private string. */
static int fetch_lua(const struct arg *args, struct sample *smp,
                     const struct smp_env *e, const void *priv)
{
    smp->type = SMP_T_STR;
    smp->data.str = ist_from(priv);
    return 1;
}

static const struct sample_fetch_kw lua_kw = {
    .name = "lua.hello", .fn = fetch_lua, .out = SMP_T_STR, .priv = "hi"};

/* Builds "lua.hello" only. */
static const struct sample_fetch_kw *resolve_lua(const char *name, size_t len)
{
    return len == 9 && memcmp(name, "lua.hello", 9) == 0 ? &lua_kw : NULL;
}

START_TEST(test_sample__registry)
{
    int nf = 0, nc = 0, nf2 = 0;

    ck_assert_ptr_nonnull(sample_fetch_find("int", 3));
    ck_assert_ptr_null(sample_fetch_find("integer", 7));
    ck_assert_ptr_nonnull(sample_conv_find("lowerXYZ", 5));
    sample_fetch_foreach(count_fetch, &nf);
    sample_conv_foreach(count_conv, &nc);
    ck_assert_int_ge(nf, 13);
    ck_assert_int_ge(nc, 30);
    sample_fetch_register_builtin(); /* twice: no duplicates */
    sample_fetch_foreach(count_fetch, &nf2);
    ck_assert_int_eq(nf, nf2);

    ck_assert_ptr_null(sample_fetch_find("lua.hello", 9));
    sample_register_fetch_prefix("lua.", resolve_lua);
    ck_assert_ptr_eq(sample_fetch_find("lua.hello", 9), &lua_kw);
    ck_assert_str_eq(eval_str("lua.hello,upper"), "HI");
    parse_err("lua.nope", "unknown fetch method 'lua.nope'");
}
END_TEST

START_TEST(test_sample__args_parse)
{
    struct arg a[SAMPLE_MAX_ARGS + 1];
    const char *ok[] = {"12", "x y"};
    const char *bad[] = {"x"};
    const char *var[] = {"txn.foo"};
    const char *three[] = {"1", "2", "3"};
    char *err = NULL;

    ck_assert_int_eq(sample_args_parse("I,S?", 2, ok, a, 7, &err), 2);
    ck_assert_int_eq(a[0].type, ARGT_SINT);
    ck_assert_int_eq(a[0].data.sint, 12);
    ck_assert_str_eq(a[1].data.str.ptr, "x y");
    ck_assert_int_eq(a[2].type, ARGT_STOP);
    sample_args_release(a);

    ck_assert_int_eq(sample_args_parse("I", 1, bad, a, 7, &err), RC_ERR);
    ck_assert_str_eq(err, "failed to parse 'x' as type 'integer' at "
                          "position 1");
    ck_assert_int_eq(sample_args_parse("I,I", 1, ok, a, 7, &err), RC_ERR);
    ck_assert_str_eq(err, "missing arguments (got 1/2), type 'integer' "
                          "expected");
    ck_assert_int_eq(sample_args_parse("I,I", 3, three, a, 7, &err), RC_ERR);
    ck_assert_str_eq(err, "end of arguments expected at position 3, but got "
                          "'3'");
    ck_assert_int_eq(sample_args_parse("V", 1, var, a, 7, &err), 1);
    ck_assert_int_eq(a[0].type, ARGT_VAR);
    ck_assert_int_eq(a[0].data.var.scope, VARS_SCOPE_TXN);
    ck_assert_str_eq(a[0].data.var.name.ptr, "foo");
    sample_args_release(a);
    free(err);
}
END_TEST

/* Applies <name> with no argument to <s>, the array after its terminator
 * full of stale integers, as a caller's stack array may be (Lua). */
static int apply_without_args(const char *name, struct sample *s)
{
    const struct sample_conv_kw *kw = sample_conv_find(name, strlen(name));
    struct arg a[SAMPLE_MAX_ARGS + 1];
    char *err = NULL;
    int i, ok;

    for (i = 0; i <= SAMPLE_MAX_ARGS; i++)
        a[i] = (struct arg){.type = ARGT_SINT, .data.sint = 0x0101010101LL};
    ck_assert_ptr_nonnull(kw);
    ck_assert_int_eq(sample_conv_args_init(kw, 0, NULL, a, 7, &err), RC_OK);
    ok = sample_conv_apply(kw, a, s, &env);
    sample_args_release(a);
    return ok;
}

START_TEST(test_sample__conv_optional_args_end_at_terminator)
{
    struct sample s = {.type = SMP_T_SINT, .data.sint = 1700000000};

    ck_assert(apply_without_args("http_date", &s));
    ck_assert_str_eq(s.data.str.ptr, "Tue, 14 Nov 2023 22:13:20 GMT");
    s = (struct sample){.type = SMP_T_STR, .data.str = IST("ab")};
    ck_assert(apply_without_args("be2hex", &s));
    ck_assert_int_eq(s.data.str.len, 4);
    ck_assert(memcmp(s.data.str.ptr, "6162", 4) == 0);
    s = (struct sample){.type = SMP_T_STR, .data.str = IST("e30.e30")};
    ck_assert(!apply_without_args("jwt_payload_query", &s));
}
END_TEST

START_TEST(test_sample__conv_args_init_and_apply)
{
    const struct sample_conv_kw *kw = sample_conv_find("regsub", 6);
    const char *argv[] = {"o", "0", "g"};
    struct arg a[SAMPLE_MAX_ARGS + 1];
    struct sample s = {.type = SMP_T_STR, .data.str = IST("foo")};
    char *err = NULL;

    ck_assert_int_eq(sample_conv_args_init(kw, 3, argv, a, 7, &err), RC_OK);
    ck_assert(sample_conv_apply(kw, a, &s, &env));
    ck_assert_str_eq(s.data.str.ptr, "f00");
    sample_args_release(a);
    argv[2] = "q";
    ck_assert_int_eq(sample_conv_args_init(kw, 3, argv, a, 7, &err), RC_ERR);
    ck_assert_str_eq(err, "invalid regex flag 'q', only 'i' and 'g' are "
                          "supported");
    free(err);
}
END_TEST

/* sample_expr_const: whether the fetch of <expr> needs no stream. */
static int expr_const(const char *expr)
{
    struct sample_expr *e = parse_ok(expr);
    int c = sample_expr_const(e);

    sample_expr_free(e);
    return c;
}

START_TEST(test_sample__expr_const)
{
    ck_assert_int_eq(expr_const("int(200),sub(proc.prio)"), 1);
    ck_assert_int_eq(expr_const("str(a),upper"), 1);
    ck_assert_int_eq(expr_const("var(proc.x)"), 1);
    ck_assert_int_eq(expr_const("env(HOME)"), 1);
    sample_register_fetch_prefix("lua.", resolve_lua);
    ck_assert_int_eq(expr_const("lua.hello"), 0);
}
END_TEST

Suite *suite_core_sample(void)
{
    Suite *s = suite_create("core_sample");
    TCase *tc;

    tc = tcase_create("sample_cast");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sample__cast_sint_row);
    tcase_add_test(tc, test_sample__cast_str_row);
    tcase_add_test(tc, test_sample__cast_addr_rows);
    tcase_add_test(tc, test_sample__cast_bool_bin_meth_rows);
    tcase_add_test(tc, test_sample__cast_needs_pool_for_new_strings);
    suite_add_tcase(s, tc);

    tc = tcase_create("sample_fetch_register_builtin");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sample__fetch_constants);
    tcase_add_test(tc, test_sample__fetch_env_date_rand);
    tcase_add_test(tc, test_sample__fetch_var);
    suite_add_tcase(s, tc);

    tc = tcase_create("sample_conv_register_builtin");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sample__conv_strings);
    tcase_add_test(tc, test_sample__conv_url_dec);
    tcase_add_test(tc, test_sample__conv_field_word);
    tcase_add_test(tc, test_sample__conv_regsub);
    tcase_add_test(tc, test_sample__conv_arith);
    tcase_add_test(tc, test_sample__conv_bool_not);
    tcase_add_test(tc, test_sample__conv_ipmask);
    tcase_add_test(tc, test_sample__conv_json);
    tcase_add_test(tc, test_sample__conv_concat_strcmp);
    tcase_add_test(tc, test_sample__conv_set_unset_var);
    tcase_add_test(tc, test_sample__conv_bytes);
    tcase_add_test(tc, test_sample__conv_hashes);
    tcase_add_test(tc, test_sample__conv_dates);
    tcase_add_test(tc, test_sample__conv_encoders);
    tcase_add_test(tc, test_sample__conv_json_query);
    suite_add_tcase(s, tc);

    tc = tcase_create("sample_expr_parse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sample__expr_parse_errors);
    tcase_add_test(tc, test_sample__expr_shapes);
    tcase_add_test(tc, test_sample__expr_const);
    suite_add_tcase(s, tc);

    tc = tcase_create("sample_fetch_find");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sample__registry);
    suite_add_tcase(s, tc);

    tc = tcase_create("sample_args_parse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sample__args_parse);
    tcase_add_test(tc, test_sample__conv_args_init_and_apply);
    tcase_add_test(tc, test_sample__conv_optional_args_end_at_terminator);
    suite_add_tcase(s, tc);
    return s;
}

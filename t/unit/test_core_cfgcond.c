/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests for core/cfgcond.c: expression constants, negation, every
 * predicate, "&&"/"||" precedence and parentheses, expression errors, and
 * the ".if/.elif/.else/.endif" state machine with nesting, skipped blocks
 * that are not evaluated, and every directive error. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/cfgcond.h"
#include "core/errors.h"

Suite *suite_core_cfgcond(void);

static const char *const features[] = {"LUA", "OPENSSL", "PCRE2", NULL};

/* Sets the build and environment every test relies on. */
static void cond_setup(void)
{
    cfgcond_set_build("1.8.2", features);
    setenv("COND_SET", "", 1);
    setenv("COND_VAL", "yes", 1);
    unsetenv("COND_UNSET");
}

/* Removes what cond_setup() set. */
static void cond_teardown(void)
{
    unsetenv("COND_SET");
    unsetenv("COND_VAL");
}

/* Evaluates the one-word expression <expr> and checks the result. */
static void expect_eval(int at, const char *expr, int expect)
{
    char *args[] = {(char *)expr, NULL};
    char *err = NULL;
    int res = -1;

    ck_assert_msg(cfgcond_eval(1, args, &res, &err) == RC_OK,
                  "line %d: <%s> failed: %s", at, expr, err ? err : "?");
    ck_assert_msg(res == expect, "line %d: <%s> gave %d, expected %d", at, expr,
                  res, expect);
}

/* Evaluates <expr>, expecting an error containing <what>. */
static void expect_eval_err(int at, const char *expr, const char *what)
{
    char *args[] = {(char *)expr, NULL};
    char *err = NULL;
    int res = -1;

    ck_assert_msg(cfgcond_eval(1, args, &res, &err) == RC_ERR,
                  "line %d: <%s> should fail", at, expr);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, what) != NULL,
                  "line %d: <%s> error <%s> lacks <%s>", at, expr, err, what);
    ck_assert_int_eq(res, -1);
    free(err);
}

#define TRUE_(e)          expect_eval(__LINE__, (e), 1)
#define FALSE_(e)         expect_eval(__LINE__, (e), 0)
#define EVAL_ERR(e, what) expect_eval_err(__LINE__, (e), (what))

START_TEST(test_cfgcond__constants)
{
    char *err = NULL;
    int res = -1;

    TRUE_("1");
    TRUE_("42");
    TRUE_("-1");
    TRUE_("0x10");
    FALSE_("0");
    FALSE_("00");
    FALSE_("0x0");
    FALSE_("");
    FALSE_("   ");
    ck_assert_int_eq(cfgcond_eval(0, NULL, &res, &err), RC_OK);
    ck_assert_int_eq(res, 0);
}
END_TEST

START_TEST(test_cfgcond__negation)
{
    TRUE_("!0");
    FALSE_("!1");
    TRUE_("!!1");
    FALSE_("!!0");
    TRUE_("!!!0");
    FALSE_("! 1");
    TRUE_("!defined(COND_UNSET)");
}
END_TEST

START_TEST(test_cfgcond__pred_defined)
{
    TRUE_("defined(COND_SET)");
    TRUE_("defined(COND_VAL)");
    FALSE_("defined(COND_UNSET)");
}
END_TEST

START_TEST(test_cfgcond__pred_feature)
{
    TRUE_("feature(LUA)");
    TRUE_("feature(PCRE2)");
    FALSE_("feature(lua)");
    FALSE_("feature(LU)");
    FALSE_("feature(PCRE)");
    FALSE_("feature(ZLIB)");
}
END_TEST

START_TEST(test_cfgcond__pred_strings)
{
    TRUE_("streq(a,a)");
    FALSE_("streq(a,b)");
    TRUE_("strneq(a,b)");
    FALSE_("strneq(a,a)");
    TRUE_("streq(\"a,b\",'a,b')");
    TRUE_("streq(a\\,b,\"a,b\")");
    TRUE_("streq(\"x)\",x\\))");
    TRUE_("streq( a , a)");
    FALSE_("streq(\" a\",a)");
    TRUE_("streq(\"a b\",a b)");
    TRUE_("streq(,)");
    FALSE_("streq(,x)");
    TRUE_("strstr(haystack,st)");
    FALSE_("strstr(abc,x)");
    TRUE_("strstr(abc,)");
}
END_TEST

START_TEST(test_cfgcond__pred_versions)
{
    TRUE_("version_atleast(1.8)");
    TRUE_("version_atleast(1.8.2)");
    TRUE_("version_atleast(1.8.2-dev5)");
    TRUE_("version_atleast(1.8.2-rc1)");
    FALSE_("version_atleast(1.8.3)");
    FALSE_("version_atleast(1.9-dev1)");
    FALSE_("version_atleast(1.10)");
    FALSE_("version_atleast(2)");
    TRUE_("version_before(1.9)");
    TRUE_("version_before(1.10)");
    FALSE_("version_before(1.8.2)");
    FALSE_("version_before(1.8.2-dev5)");
    FALSE_("version_before(1.8)");

    cfgcond_set_build("2.4-dev19", features);
    TRUE_("version_atleast(2.4-dev18)");
    TRUE_("version_atleast(2.4-dev19)");
    FALSE_("version_atleast(2.4-dev20)");
    FALSE_("version_atleast(2.4-rc1)");
    FALSE_("version_atleast(2.4)");
    TRUE_("version_before(2.4)");
    TRUE_("version_atleast(2.3.99)");

    cfgcond_set_build("1.5-dev18-43", features);
    TRUE_("version_atleast(1.5-dev18-42)");
    FALSE_("version_atleast(1.5-dev18-44)");
}
END_TEST

START_TEST(test_cfgcond__precedence)
{
    /* "&&" binds tighter than "||" whichever comes first */
    TRUE_("1 || 0 && 0");
    TRUE_("0 && 0 || 1");
    FALSE_("0 && (0 || 1)");
    FALSE_("(1 || 0) && 0");
    TRUE_("0 || 0 || 1");
    FALSE_("1 && 1 && 0");
    TRUE_("!0 && !0");
    TRUE_("!(1 && 0)");
    TRUE_("!1 || 1");
    FALSE_("!(1 || 0)");
    TRUE_("((((1))))");
    TRUE_("  1  &&  ( 0 ||1 )  ");
    TRUE_("feature(OPENSSL) && (streq(yes,no) || streq(yes,yes))");
}
END_TEST

START_TEST(test_cfgcond__words_are_joined)
{
    char w0[] = "defined(COND_VAL)", w1[] = "&&", w2[] = "streq(a,";
    char w3[] = "a)", w3b[] = "b)";
    char *args[] = {w0, w1, w2, w3, NULL};
    char *err = NULL;
    int res = -1;

    ck_assert_int_eq(cfgcond_eval(4, args, &res, &err), RC_OK);
    ck_assert_int_eq(res, 1);
    args[3] = w3b;
    ck_assert_int_eq(cfgcond_eval(4, args, &res, &err), RC_OK);
    ck_assert_int_eq(res, 0);
}
END_TEST

START_TEST(test_cfgcond__expression_errors)
{
    char deep[200];

    memset(deep, '(', sizeof(deep) - 1);
    deep[sizeof(deep) - 1] = '\0';
    EVAL_ERR("foo(x)", "unknown predicate 'foo'");
    EVAL_ERR("1 && bar", "unknown predicate 'bar'");
    EVAL_ERR("defined(X", "missing closing parenthesis");
    EVAL_ERR("streq(\"a,b)", "missing closing parenthesis");
    EVAL_ERR("(1", "missing closing parenthesis");
    EVAL_ERR("(1 && 0", "missing closing parenthesis");
    EVAL_ERR("1 &&", "missing term");
    EVAL_ERR("!", "missing term");
    EVAL_ERR("1 ||", "missing term");
    EVAL_ERR("1 1", "unexpected character '1' at the end");
    EVAL_ERR("1)", "unexpected character ')' at the end");
    EVAL_ERR("1 & 1", "unexpected character '&' at the end");
    EVAL_ERR("&& 1", "unexpected character '&'");
    EVAL_ERR("defined", "missing '(' after predicate 'defined'");
    EVAL_ERR("defined (X)", "missing '('");
    EVAL_ERR("defined(a,b)", "predicate 'defined' takes 1 argument, got 2");
    EVAL_ERR("defined()", "takes 1 argument, got 0");
    EVAL_ERR("streq(a)", "predicate 'streq' takes 2 arguments, got 1");
    EVAL_ERR("streq(a,b,c)", "too many arguments");
    EVAL_ERR("version_atleast(abc)", "invalid version 'abc' in predicate "
                                     "'version_atleast'");
    EVAL_ERR("version_before(1.x)", "invalid version");
    EVAL_ERR(deep, "nested too deeply");
}
END_TEST

START_TEST(test_cfgcond__unknown_version)
{
    cfgcond_set_build(NULL, NULL);
    EVAL_ERR("version_atleast(1.0)", "product version is unknown");
    FALSE_("feature(LUA)");
}
END_TEST

/* Splits <line> on spaces (no quoting: the tokenizer is tested elsewhere)
 * and passes it to cfgcond_directive() at line <line_no>. */
static int directive(struct cfgcond_state *st, int line_no, const char *line,
                     char **err)
{
    char *copy = strdup(line);
    char *args[16];
    char *save = NULL;
    char *w;
    int argc = 0;
    int rc;

    for (w = strtok_r(copy, " ", &save); w != NULL && argc < 15;
         w = strtok_r(NULL, " ", &save))
        args[argc++] = w;
    args[argc] = NULL;
    cfgcond_set_line(st, line_no);
    rc = cfgcond_directive(st, argc, args, err);
    free(copy);
    return rc;
}

/* Runs <line>, expecting RC_OK, then checks cfgcond_active(). */
static void expect_dir(int at, struct cfgcond_state *st, const char *line,
                       int active)
{
    char *err = NULL;

    ck_assert_msg(directive(st, at, line, &err) == RC_OK,
                  "line %d: <%s> failed: %s", at, line, err ? err : "?");
    ck_assert_msg(cfgcond_active(st) == active,
                  "line %d: after <%s> active is %d, expected %d", at, line,
                  cfgcond_active(st), active);
}

/* Runs <line>, expecting RC_ERR with <what>. */
static void expect_dir_err(int at, struct cfgcond_state *st, const char *line,
                           const char *what)
{
    char *err = NULL;

    ck_assert_msg(directive(st, at, line, &err) == RC_ERR,
                  "line %d: <%s> should fail", at, line);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, what) != NULL,
                  "line %d: <%s> error <%s> lacks <%s>", at, line, err, what);
    free(err);
}

#define DIR(line, active)   expect_dir(__LINE__, &st, (line), (active))
#define DIR_ERR(line, what) expect_dir_err(__LINE__, &st, (line), (what))

START_TEST(test_cfgcond__declines_other_lines)
{
    struct cfgcond_state st;
    char *none[] = {NULL};
    char *err = NULL;

    cfgcond_init(&st);
    ck_assert_int_eq(directive(&st, 1, "bind :80", &err), RC_DECLINED);
    ck_assert_int_eq(directive(&st, 2, ".alert x", &err), RC_DECLINED);
    ck_assert_int_eq(directive(&st, 3, ".ifdef x", &err), RC_DECLINED);
    ck_assert_int_eq(directive(&st, 4, ".IF 1", &err), RC_DECLINED);
    ck_assert_int_eq(cfgcond_directive(&st, 0, none, &err), RC_DECLINED);
    ck_assert_ptr_null(err);
    ck_assert_int_eq(st.depth, 0);
    ck_assert_int_eq(cfgcond_active(&st), 1);
}
END_TEST

START_TEST(test_cfgcond__if_else_endif)
{
    struct cfgcond_state st;
    char *err = NULL;

    cfgcond_init(&st);
    ck_assert_int_eq(cfgcond_active(&st), 1);
    DIR(".if 1", 1);
    DIR(".else", 0);
    DIR(".endif", 1);
    DIR(".if 0", 0);
    DIR(".else", 1);
    DIR(".endif", 1);
    DIR(".if", 0);
    DIR(".endif", 1);
    DIR(".if defined(COND_VAL) && streq(a, a)", 1);
    DIR(".endif", 1);
    ck_assert_int_eq(cfgcond_finish(&st, &err), RC_OK);
}
END_TEST

START_TEST(test_cfgcond__elif_chain_takes_first_true)
{
    struct cfgcond_state st;

    cfgcond_init(&st);
    DIR(".if 0", 0);
    DIR(".elif 0", 0);
    DIR(".elif 1", 1);
    DIR(".elif 1", 0);
    DIR(".elif foo(x)", 0); /* a branch was taken: not even parsed */
    DIR(".else", 0);
    DIR(".endif", 1);

    DIR(".if 1", 1);
    DIR(".elif 1", 0);
    DIR(".else", 0);
    DIR(".endif", 1);

    DIR(".if 0", 0);
    DIR(".elif 0", 0);
    DIR(".else", 1);
    DIR(".endif", 1);
}
END_TEST

START_TEST(test_cfgcond__nested_in_skipped_block_not_evaluated)
{
    struct cfgcond_state st;

    cfgcond_init(&st);
    DIR(".if 0", 0);
    DIR(".if foo(bar)", 0);
    DIR(".elif garbage((", 0);
    DIR(".else", 0);
    DIR(".if 1", 0);
    DIR(".endif", 0);
    DIR(".endif", 0);
    DIR(".else", 1);
    DIR(".if 1", 1);
    DIR(".if 0", 0);
    DIR(".elif 1", 1);
    DIR(".endif", 1);
    DIR(".endif", 1);
    DIR(".endif", 1);
    ck_assert_int_eq(st.depth, 0);
}
END_TEST

START_TEST(test_cfgcond__nested_in_taken_block)
{
    struct cfgcond_state st;

    cfgcond_init(&st);
    DIR(".if 1", 1);
    DIR(".if 0", 0);
    DIR(".endif", 1);
    DIR(".if 1", 1);
    DIR(".else", 0);
    DIR(".endif", 1);
    DIR(".else", 0);
    DIR(".if 1", 0);
    DIR(".else", 0);
    DIR(".endif", 0);
    DIR(".endif", 1);
}
END_TEST

START_TEST(test_cfgcond__lone_directives)
{
    struct cfgcond_state st;

    cfgcond_init(&st);
    DIR_ERR(".elif 1", "lone '.elif' with no matching '.if'");
    DIR_ERR(".else", "lone '.else' with no matching '.if'");
    DIR_ERR(".endif", "lone '.endif' with no matching '.if'");
    ck_assert_int_eq(st.depth, 0);
}
END_TEST

START_TEST(test_cfgcond__misplaced_else_and_arguments)
{
    struct cfgcond_state st;

    cfgcond_init(&st);
    DIR(".if 0", 0);
    DIR(".else", 1);
    DIR_ERR(".else", "'.else' after '.else' is not permitted");
    DIR_ERR(".elif 1", "'.elif' after '.else' is not permitted");
    ck_assert_int_eq(cfgcond_active(&st), 1);
    DIR_ERR(".endif now", "unexpected argument 'now' for '.endif'");
    DIR(".endif", 1);
    DIR(".if 1", 1);
    DIR_ERR(".else if", "unexpected argument 'if' for '.else'");
    DIR(".endif", 1);
    ck_assert_int_eq(st.depth, 0);
}
END_TEST

START_TEST(test_cfgcond__bad_expression_keeps_nesting)
{
    struct cfgcond_state st;
    char *err = NULL;

    cfgcond_init(&st);
    DIR_ERR(".if foo(x)", "unknown predicate 'foo'");
    ck_assert_int_eq(st.depth, 1);
    ck_assert_int_eq(cfgcond_active(&st), 0);
    DIR(".else", 0);
    DIR(".endif", 1);
    DIR(".if 0", 0);
    DIR_ERR(".elif streq(a)", "takes 2 arguments");
    DIR(".else", 0);
    DIR(".endif", 1);
    ck_assert_int_eq(cfgcond_finish(&st, &err), RC_OK);
}
END_TEST

START_TEST(test_cfgcond__max_depth)
{
    struct cfgcond_state st;
    int i;

    cfgcond_init(&st);
    for (i = 0; i < CFGCOND_MAX_DEPTH; i++)
        DIR(".if 1", 1);
    DIR_ERR(".if 1", "too many nested '.if', max is 32");
    ck_assert_int_eq(st.depth, CFGCOND_MAX_DEPTH);
    for (i = 0; i < CFGCOND_MAX_DEPTH; i++)
        DIR(".endif", 1);
    ck_assert_int_eq(st.depth, 0);
}
END_TEST

START_TEST(test_cfgcond__finish_reports_unterminated_if)
{
    struct cfgcond_state st;
    char *err = NULL;

    cfgcond_init(&st);
    cfgcond_set_line(&st, 7);
    ck_assert_int_eq(cfgcond_finish(&st, &err), RC_OK);
    ck_assert_ptr_null(err);

    ck_assert_int_eq(directive(&st, 7, ".if 1", &err), RC_OK);
    ck_assert_int_eq(directive(&st, 9, ".if 0", &err), RC_OK);
    ck_assert_int_eq(directive(&st, 12, ".else", &err), RC_OK);
    ck_assert_int_eq(cfgcond_finish(&st, &err), RC_ERR);
    ck_assert_str_eq(err, "unterminated '.if' at line 9");
    free(err);
    err = NULL;
    ck_assert_int_eq(st.depth, 0);
    ck_assert_int_eq(cfgcond_active(&st), 1);
    ck_assert_int_eq(cfgcond_finish(&st, &err), RC_OK);
}
END_TEST

Suite *suite_core_cfgcond(void)
{
    Suite *s = suite_create("core_cfgcond");
    TCase *te = tcase_create("cfgcond_eval");
    TCase *td = tcase_create("cfgcond_directive");
    TCase *tf = tcase_create("cfgcond_finish");

    tcase_add_checked_fixture(te, cond_setup, cond_teardown);
    tcase_add_test(te, test_cfgcond__constants);
    tcase_add_test(te, test_cfgcond__negation);
    tcase_add_test(te, test_cfgcond__pred_defined);
    tcase_add_test(te, test_cfgcond__pred_feature);
    tcase_add_test(te, test_cfgcond__pred_strings);
    tcase_add_test(te, test_cfgcond__pred_versions);
    tcase_add_test(te, test_cfgcond__precedence);
    tcase_add_test(te, test_cfgcond__words_are_joined);
    tcase_add_test(te, test_cfgcond__expression_errors);
    tcase_add_test(te, test_cfgcond__unknown_version);
    suite_add_tcase(s, te);

    tcase_add_checked_fixture(td, cond_setup, cond_teardown);
    tcase_add_test(td, test_cfgcond__declines_other_lines);
    tcase_add_test(td, test_cfgcond__if_else_endif);
    tcase_add_test(td, test_cfgcond__elif_chain_takes_first_true);
    tcase_add_test(td, test_cfgcond__nested_in_skipped_block_not_evaluated);
    tcase_add_test(td, test_cfgcond__nested_in_taken_block);
    tcase_add_test(td, test_cfgcond__lone_directives);
    tcase_add_test(td, test_cfgcond__misplaced_else_and_arguments);
    tcase_add_test(td, test_cfgcond__bad_expression_keeps_nesting);
    tcase_add_test(td, test_cfgcond__max_depth);
    suite_add_tcase(s, td);

    tcase_add_checked_fixture(tf, cond_setup, cond_teardown);
    tcase_add_test(tf, test_cfgcond__finish_reports_unterminated_if);
    suite_add_tcase(s, tf);
    return s;
}

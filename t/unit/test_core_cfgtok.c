/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests for core/cfgtok.c: word splitting, comments, both kinds of
 * quotes, every backslash escape, environment variables in all their forms
 * (plain, braces, default value, "[*]" word expansion, unset, empty),
 * pseudo-variables, the word limit, and each error with its position. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/cfgtok.h"
#include "core/errors.h"

Suite *suite_core_cfgtok(void);

/* Splits <line> and checks that it gives exactly the NULL-terminated list
 * <expect>; <at> is the caller's line for failure messages. */
static void expect_words(int at, const char *line, const struct cfgtok_loc *loc,
                         const char *const *expect)
{
    struct cfg_words w;
    char *err = NULL;
    int n = 0;
    int i;

    while (expect[n] != NULL)
        n++;
    ck_assert_msg(cfgtok_split_loc(line, loc, &w, &err) == RC_OK,
                  "line %d: <%s> failed: %s", at, line, err ? err : "?");
    ck_assert_msg(w.argc == n, "line %d: <%s> gave %d words, expected %d", at,
                  line, w.argc, n);
    for (i = 0; i < n; i++)
        ck_assert_msg(strcmp(w.args[i], expect[i]) == 0,
                      "line %d: <%s> word %d is <%s>, expected <%s>", at, line,
                      i, w.args[i], expect[i]);
    ck_assert_ptr_null(w.args[n]);
    cfgtok_free(&w);
}

#define WORDS(line, ...)                                                       \
    expect_words(__LINE__, (line), NULL,                                       \
                 (const char *const[]){__VA_ARGS__, NULL})
#define NO_WORDS(line)                                                         \
    expect_words(__LINE__, (line), NULL, (const char *const[]){NULL})

/* Splits <line>, expects a failure whose message contains <what>, and
 * checks that <w> was left empty. */
static void expect_error(int at, const char *line, const char *what)
{
    struct cfg_words w;
    char *err = NULL;

    w.argc = 99;
    ck_assert_msg(cfgtok_split(line, &w, &err) == RC_ERR,
                  "line %d: <%s> should fail", at, line);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, what) != NULL,
                  "line %d: <%s> error <%s> lacks <%s>", at, line, err, what);
    ck_assert_int_eq(w.argc, 0);
    ck_assert_ptr_null(w.store);
    ck_assert_ptr_null(w.args[0]);
    free(err);
}

#define SPLIT_ERROR(line, what) expect_error(__LINE__, (line), (what))

/* Sets the environment the expansion tests rely on. */
static void env_setup(void)
{
    setenv("TOK_A", "hello", 1);
    setenv("TOK_LIST", "a b  c", 1);
    setenv("TOK_SP", "x y", 1);
    setenv("TOK_EMPTY", "", 1);
    unsetenv("TOK_UNSET");
}

/* Removes what env_setup() set. */
static void env_teardown(void)
{
    unsetenv("TOK_A");
    unsetenv("TOK_LIST");
    unsetenv("TOK_SP");
    unsetenv("TOK_EMPTY");
}

START_TEST(test_cfgtok__blanks_separate_words)
{
    WORDS("bind :80", "bind", ":80");
    WORDS("  \tserver   s1\t\t1.2.3.4:80   ", "server", "s1", "1.2.3.4:80");
    WORDS("a\vb\fc", "a", "b", "c");
    WORDS("one", "one");
}
END_TEST

START_TEST(test_cfgtok__line_end_and_empty_lines)
{
    NO_WORDS("");
    NO_WORDS("    \t  ");
    NO_WORDS("\n");
    WORDS("a b\n", "a", "b");
    WORDS("a b\r\n", "a", "b");
    WORDS("a\nb", "a");
}
END_TEST

START_TEST(test_cfgtok__hash_starts_comment)
{
    NO_WORDS("# a comment");
    NO_WORDS("   # indented comment \"with' quotes");
    WORDS("mode http   # or tcp", "mode", "http");
    WORDS("global#this is the global section", "global");
    WORDS("\"#not a comment\" 'nor#this'", "#not a comment", "nor#this");
}
END_TEST

START_TEST(test_cfgtok__double_quotes_protect_blanks_and_join)
{
    WORDS("log-format \"%t %s\"", "log-format", "%t %s");
    WORDS("a\"b c\"d", "ab cd");
    WORDS("\"it's\"", "it's");
    WORDS("\"tab\there\"", "tab\there");
    WORDS("\"a\"\"b\"", "ab");
    WORDS("\"a\" \"b\"", "a", "b");
}
END_TEST

START_TEST(test_cfgtok__single_quotes_are_literal)
{
    WORDS("'a \"b\" $TOK_A \\n \\\\'", "a \"b\" $TOK_A \\n \\\\");
    WORDS("x'y z'", "xy z");
    WORDS("'\"${TOK_A}\"'", "\"${TOK_A}\"");
}
END_TEST

START_TEST(test_cfgtok__manual_equivalent_forms)
{
    static const char *const lines[] = {
        "log-format %{+Q}o\\ %t\\ %s\\ %{-Q}r",
        "log-format \"%{+Q}o %t %s %{-Q}r\"",
        "log-format '%{+Q}o %t %s %{-Q}r'",
        "log-format \"%{+Q}o %t\"' %s %{-Q}r'",
        "log-format \"%{+Q}o %t\"' %s'\\ %{-Q}r",
    };
    size_t i;

    for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        WORDS(lines[i], "log-format", "%{+Q}o %t %s %{-Q}r");
}
END_TEST

START_TEST(test_cfgtok__quoted_empty_string_is_empty_word)
{
    WORDS("a \"\" b", "a", "", "b");
    WORDS("a ''", "a", "");
    WORDS("\"\"", "");
}
END_TEST

START_TEST(test_cfgtok__backslash_escapes)
{
    WORDS("a\\ b", "a b");
    WORDS("a\\\tb", "a\tb");
    WORDS("\\\\", "\\");
    WORDS("\\#x", "#x");
    WORDS("\\'x\\'", "'x'");
    WORDS("\\\"x\\\"", "\"x\"");
    WORDS("\\t\\n\\r", "\t\n\r");
    WORDS("\\x41\\x62\\x7E", "Ab~");
    WORDS("\"\\x20\"", " ");
    WORDS("\"\\\"q\\\" \\\\ \\#\"", "\"q\" \\ #");
    WORDS("\"\\'\"", "'");
}
END_TEST

START_TEST(test_cfgtok__unknown_escapes_keep_backslash)
{
    WORDS("\\1", "\\1");
    WORDS("regsub(a,\\1)", "regsub(a,\\1)");
    WORDS("a\\", "a\\");
    /* "\$" escapes only inside double quotes, where '$' is special */
    WORDS("\\$x", "\\$x");
    WORDS("\"\\$TOK_A\"", "$TOK_A");
}
END_TEST

START_TEST(test_cfgtok__env_plain_and_braced)
{
    WORDS("user \"$TOK_A\"", "user", "hello");
    WORDS("\"${TOK_A}\"", "hello");
    WORDS("\"x${TOK_A}y\"", "xhelloy");
    WORDS("\"$TOK_A.b\"", "hello.b");
    WORDS("\"$TOK_A$TOK_A\"", "hellohello");
    WORDS("\"${TOK_LIST}\"", "a b  c");
}
END_TEST

START_TEST(test_cfgtok__env_only_inside_double_quotes)
{
    WORDS("$TOK_A", "$TOK_A");
    WORDS("${TOK_A}", "${TOK_A}");
    WORDS("'$TOK_A'", "$TOK_A");
}
END_TEST

START_TEST(test_cfgtok__env_default_value)
{
    WORDS("log \"${TOK_UNSET-127.0.0.1}:514\" local0", "log", "127.0.0.1:514",
          "local0");
    WORDS("\"${TOK_A-def}\"", "hello");
    /* the default replaces unset variables, not empty ones */
    WORDS("\"${TOK_EMPTY-def}\" x", "", "x");
    WORDS("\"${TOK_UNSET-}\"", "");
    WORDS("\"${TOK_UNSET-a b}\"", "a b");
}
END_TEST

START_TEST(test_cfgtok__env_unset_removes_quoted_word)
{
    WORDS("server \"$TOK_UNSET\" check", "server", "check");
    NO_WORDS("\"${TOK_UNSET}\"");
    WORDS("x\"$TOK_UNSET\" y", "x", "y");
    WORDS("\"$TOK_UNSET suffix\"", " suffix");
    WORDS("\"pre$TOK_UNSET\"", "pre");
}
END_TEST

START_TEST(test_cfgtok__env_empty_gives_empty_word)
{
    WORDS("a \"$TOK_EMPTY\" b", "a", "", "b");
}
END_TEST

START_TEST(test_cfgtok__env_word_expansion)
{
    WORDS("bind \"${TOK_LIST[*]}\" end", "bind", "a", "b", "c", "end");
    WORDS("\"pre${TOK_SP[*]}post\"", "prex", "ypost");
    WORDS("a \"${TOK_UNSET[*]}\" b", "a", "b");
    WORDS("a \"${TOK_EMPTY[*]}\" b", "a", "b");
    WORDS("\"${TOK_UNSET[*]-p q}\"", "p", "q");
    /* without braces "[*]" is plain text */
    WORDS("\"$TOK_SP[*]\"", "x y[*]");
}
END_TEST

START_TEST(test_cfgtok__pseudo_variables)
{
    struct cfgtok_loc loc = {"/etc/x.cfg", 42, "frontend fe"};

    expect_words(__LINE__, "\"$.FILE:${.LINE}\" \"$.SECTION\"", &loc,
                 (const char *const[]){"/etc/x.cfg:42", "frontend fe", NULL});
    WORDS("\"${.LINE}\" \"<$.FILE>\"", "0", "<>");
    SPLIT_ERROR("\"${.FOO}\"", "unknown pseudo-variable '.FOO' at position 4");
}
END_TEST

START_TEST(test_cfgtok__max_words)
{
    char line[4 * (CFG_MAX_ARGS + 2)];
    struct cfg_words w;
    char *err = NULL;
    size_t pos = 0;
    int i;

    for (i = 0; i < CFG_MAX_ARGS; i++)
        pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "w%d ", i);
    ck_assert_int_eq(cfgtok_split(line, &w, &err), RC_OK);
    ck_assert_int_eq(w.argc, CFG_MAX_ARGS);
    ck_assert_str_eq(w.args[CFG_MAX_ARGS - 1], "w63");
    ck_assert_ptr_null(w.args[CFG_MAX_ARGS]);
    cfgtok_free(&w);

    snprintf(line + pos, sizeof(line) - pos, "extra");
    SPLIT_ERROR(line, "too many words (more than 64): line ignored");
    SPLIT_ERROR(
        "x \"${TOK_LIST[*]}\" a b c d e f g h i j k l m n o p q r s t u v w "
        "x y z a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d "
        "e f g h i j",
        "too many words");
}
END_TEST

START_TEST(test_cfgtok__unmatched_quotes)
{
    SPLIT_ERROR("a \"b", "unmatched quote at position 3");
    SPLIT_ERROR("a 'b", "unmatched quote at position 3");
    SPLIT_ERROR("'a' \"b' c", "unmatched quote at position 5");
    SPLIT_ERROR("\"a # b", "unmatched quote at position 1");
}
END_TEST

START_TEST(test_cfgtok__bad_variables)
{
    SPLIT_ERROR("\"${TOK_A\"",
                "unmatched brace in environment variable name at "
                "position 3");
    SPLIT_ERROR("\"${TOK_UNSET-x\"", "unmatched brace");
    SPLIT_ERROR("\"${TOK_A x}\"", "unmatched brace");
    SPLIT_ERROR("x \"$1\"",
                "forbidden first char in environment variable name at "
                "position 5");
    SPLIT_ERROR("\"$\"", "forbidden first char");
    SPLIT_ERROR("\"${}\"", "forbidden first char");
    SPLIT_ERROR("\"${TOK_A[x]}\"",
                "truncated or invalid word expansion sequence at "
                "position 9");
    SPLIT_ERROR("\"${TOK_A[*}\"", "word expansion");
}
END_TEST

START_TEST(test_cfgtok__bad_hex_escape)
{
    SPLIT_ERROR("\\x4",
                "truncated or invalid hexadecimal sequence at position 1");
    SPLIT_ERROR("ab \\xZZ", "hexadecimal sequence at position 4");
    SPLIT_ERROR("\"\\x\"", "hexadecimal");
}
END_TEST

START_TEST(test_cfgtok__free_is_safe_on_empty)
{
    struct cfg_words w;
    char *err = NULL;

    memset(&w, 0, sizeof(w));
    cfgtok_free(&w);
    ck_assert_int_eq(cfgtok_split("a b", &w, &err), RC_OK);
    cfgtok_free(&w);
    ck_assert_int_eq(w.argc, 0);
    ck_assert_ptr_null(w.store);
    cfgtok_free(&w);
}
END_TEST

Suite *suite_core_cfgtok(void)
{
    Suite *s = suite_create("core_cfgtok");
    TCase *tc = tcase_create("cfgtok_split");
    TCase *tf = tcase_create("cfgtok_free");

    tcase_add_checked_fixture(tc, env_setup, env_teardown);
    tcase_add_test(tc, test_cfgtok__blanks_separate_words);
    tcase_add_test(tc, test_cfgtok__line_end_and_empty_lines);
    tcase_add_test(tc, test_cfgtok__hash_starts_comment);
    tcase_add_test(tc, test_cfgtok__double_quotes_protect_blanks_and_join);
    tcase_add_test(tc, test_cfgtok__single_quotes_are_literal);
    tcase_add_test(tc, test_cfgtok__manual_equivalent_forms);
    tcase_add_test(tc, test_cfgtok__quoted_empty_string_is_empty_word);
    tcase_add_test(tc, test_cfgtok__backslash_escapes);
    tcase_add_test(tc, test_cfgtok__unknown_escapes_keep_backslash);
    tcase_add_test(tc, test_cfgtok__env_plain_and_braced);
    tcase_add_test(tc, test_cfgtok__env_only_inside_double_quotes);
    tcase_add_test(tc, test_cfgtok__env_default_value);
    tcase_add_test(tc, test_cfgtok__env_unset_removes_quoted_word);
    tcase_add_test(tc, test_cfgtok__env_empty_gives_empty_word);
    tcase_add_test(tc, test_cfgtok__env_word_expansion);
    tcase_add_test(tc, test_cfgtok__pseudo_variables);
    tcase_add_test(tc, test_cfgtok__max_words);
    tcase_add_test(tc, test_cfgtok__unmatched_quotes);
    tcase_add_test(tc, test_cfgtok__bad_variables);
    tcase_add_test(tc, test_cfgtok__bad_hex_escape);
    suite_add_tcase(s, tc);
    tcase_add_test(tf, test_cfgtok__free_is_safe_on_empty);
    suite_add_tcase(s, tf);
    return s;
}

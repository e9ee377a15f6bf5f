/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests of core/logformat.c: the log-format parser's nodes and error
 * messages, and the renderer's separator, '-', quote, hex and escape rules,
 * with a test tag table and core's address tags on a stack stream. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "core/logformat.h"
#include "core/proxy.h"
#include "core/sample.h"
#include "core/stream.h"

/* %val prints "v a\"l]", %none prints the missing value, %nothing prints
 * nothing at all, %num prints 42 (hex with +X). */
static void tag_val(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_text(out, "v a\"l]", 6, o);
}

static void tag_none(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_text(out, NULL, 0, o);
}

static void tag_nothing(struct logformat_out *out, struct stream *s, unsigned o)
{
}

static void tag_num(struct logformat_out *out, struct stream *s, unsigned o)
{
    logformat_put_counter(out, 42, o);
}

static const struct logformat_tag test_tags[] = {
    {"val", tag_val, 0}, {"none", tag_none, 0}, {"nothing", tag_nothing, 0},
    {"num", tag_num, 0}, {"hv", tag_val, 1},    {NULL, NULL, 0},
};

static void setup(void)
{
    logformat_registry_clear();
    logformat_register_tags(test_tags);
    logformat_core_init();
    sample_registry_clear();
    sample_fetch_register_builtin();
    sample_conv_register_builtin();
}

static void teardown(void)
{
    logformat_registry_clear();
    sample_registry_clear();
}

/* Parses <fmt> with <flags> and renders it with no stream. */
static const char *render(const char *fmt, unsigned flags)
{
    static char buf[512];
    char *err = NULL;
    struct logformat *lf = logformat_parse(fmt, flags, &err);

    ck_assert_msg(lf != NULL, "parse '%s': %s", fmt, err ? err : "");
    logformat_render(lf, NULL, buf, sizeof(buf));
    logformat_free(lf);
    return buf;
}

/* Parses <fmt> expecting a failure; returns the message (static). */
static const char *parse_error(const char *fmt)
{
    static char msg[512];
    char *err = NULL;
    struct logformat *lf = logformat_parse(fmt, LF_PARSE_LOG, &err);

    ck_assert_msg(lf == NULL, "'%s' parsed", fmt);
    ck_assert_ptr_nonnull(err);
    snprintf(msg, sizeof(msg), "%s", err);
    free(err);
    return msg;
}

START_TEST(test_logformat__text_and_percent)
{
    ck_assert_str_eq(render("a%%b", LF_PARSE_LOG), "a%b");
    ck_assert_str_eq(render("", LF_PARSE_LOG), "");
    ck_assert_str_eq(render("x%num/%num:y", LF_PARSE_LOG), "x42/42:y");
}
END_TEST

START_TEST(test_logformat__spaces_merge_and_skip_empty)
{
    /* merged separators, and a tag that prints nothing eats its space */
    ck_assert_str_eq(render("a   b", LF_PARSE_LOG), "a b");
    ck_assert_str_eq(render("%num %nothing %nothing %num", LF_PARSE_LOG),
                     "42 42");
    ck_assert_str_eq(render(" %num ", LF_PARSE_LOG), "42 ");
    /* without merging, spaces are text */
    ck_assert_str_eq(render("a   b", 0), "a   b");
}
END_TEST

START_TEST(test_logformat__missing_values)
{
    ck_assert_str_eq(render("%none", LF_PARSE_LOG), "-");
    ck_assert_str_eq(render("%{+Q}none", LF_PARSE_LOG), "\"\"");
    ck_assert_str_eq(render("[%none]", 0), "[]");
    ck_assert_str_eq(render("%{-M}none|", LF_PARSE_LOG), "|");
}
END_TEST

START_TEST(test_logformat__flags)
{
    ck_assert_str_eq(render("%{+Q}val", LF_PARSE_LOG), "\"v a\"l]\"");
    ck_assert_str_eq(render("%{+E}val", LF_PARSE_LOG), "v a\\\"l\\]");
    ck_assert_str_eq(render("%{+X}num %num", LF_PARSE_LOG), "002A 42");
    /* %o applies to every later variable; -Q takes it back for one */
    ck_assert_str_eq(render("%{+Q}o %val %{-Q}num", LF_PARSE_LOG),
                     "\"v a\"l]\" 42");
    /* unknown flags are ignored, as HAProxy does */
    ck_assert_str_eq(render("%{+Z,+Q}num", LF_PARSE_LOG), "42");
}
END_TEST

START_TEST(test_logformat__sample_expressions)
{
    ck_assert_str_eq(render("%[str(ab),upper]", LF_PARSE_LOG), "AB");
    ck_assert_str_eq(render("%[str()]", LF_PARSE_LOG), "-");
    ck_assert_str_eq(render("%{+Q}[int(5)]", LF_PARSE_LOG), "\"5\"");
    ck_assert_str_eq(render("<%[int(7)]>", LF_PARSE_LOG), "<7>");
    /* header values: control bytes %-encoded, no '-' */
    ck_assert_str_eq(render("%[str()]|", LF_PARSE_HTTP), "|");
}
END_TEST

START_TEST(test_logformat__errors)
{
    ck_assert_str_eq(parse_error("%foo"),
                     "no such format variable 'foo'. If you wanted to emit "
                     "the '%' character verbatim, you need to use '%%'");
    ck_assert_str_eq(parse_error("%hv"),
                     "format variable 'hv' is reserved for HTTP mode");
    ck_assert_str_eq(parse_error("50%"), "truncated line after '%'");
    ck_assert_str_eq(parse_error("%{+Q"), "truncated line after '+Q'");
    ck_assert_str_eq(parse_error("%{+Q} x"),
                     "parse argument modifier without variable name near "
                     "'%{+Q}'");
    ck_assert_str_eq(parse_error("a %1"),
                     "unexpected variable name near '1' at position 3 line : "
                     "'a %1'. Maybe you want to write a single '%', use the "
                     "syntax '%%'");
    ck_assert_str_eq(parse_error("%[str(a)"), "missing ']' after 'str(a)'");
    ck_assert_str_eq(parse_error("%[str(a) x]"),
                     "expected ']' after 'str(a)', but found ' '");
    ck_assert(strncmp(parse_error("%[nosuch]"),
                      "failed to parse sample expression <nosuch]> : ", 46) ==
              0);
}
END_TEST

START_TEST(test_logformat__http_mode_allows_http_tags)
{
    char *err = NULL;
    struct logformat *lf =
        logformat_parse("%hv", LF_PARSE_LOG | LF_PARSE_HTTP_MODE, &err);

    ck_assert_ptr_nonnull(lf);
    ck_assert(!logformat_is_empty(lf));
    logformat_free(lf);
}
END_TEST

START_TEST(test_logformat__core_address_tags)
{
    struct proxy fe;
    struct session sess;
    struct stream s;
    struct sockaddr_in *sin = (struct sockaddr_in *)&sess.src;
    struct logformat *lf;
    char buf[128], *err = NULL;

    memset(&fe, 0, sizeof(fe));
    memset(&sess, 0, sizeof(sess));
    memset(&s, 0, sizeof(s));
    fe.name = (char *)"web";
    sin->sin_family = AF_INET;
    sin->sin_port = htons(8080);
    inet_pton(AF_INET, "10.0.0.1", &sin->sin_addr);
    sess.srclen = sizeof(*sin);
    s.sess = &sess;
    s.fe = &fe;
    s.term[0] = 's';
    s.term[1] = 'H';
    s.persist_log[0] = s.persist_log[1] = '-'; /* as stream_new() */
    s.times.req = s.times.queue = s.times.connect = s.times.resp = -1;
    s.times.total = 7;
    lf = logformat_parse("%ci:%cp %{+X}ci:%{+X}cp %f %b/%s %ts %tsc %Tw %Tt "
                         "%fi",
                         LF_PARSE_LOG, &err);
    ck_assert_ptr_nonnull(lf);
    logformat_render(lf, &s, buf, sizeof(buf));
    ck_assert_str_eq(buf, "10.0.0.1:8080 0A000001:1F90 web web/<NOSRV> sH "
                          "sH-- -1 7 -");
    logformat_free(lf);
}
END_TEST

START_TEST(test_logformat__truncates_to_buffer)
{
    char *err = NULL, buf[6];
    struct logformat *lf = logformat_parse("abcdefghij", LF_PARSE_LOG, &err);

    ck_assert_uint_eq(logformat_render(lf, NULL, buf, sizeof(buf)), 5);
    ck_assert_str_eq(buf, "abcde");
    logformat_free(lf);
}
END_TEST

Suite *suite_core_logformat(void);

Suite *suite_core_logformat(void)
{
    Suite *s = suite_create("core_logformat");
    TCase *tp = tcase_create("logformat_parse");
    TCase *tr = tcase_create("logformat_render");

    tcase_add_checked_fixture(tp, setup, teardown);
    tcase_add_checked_fixture(tr, setup, teardown);
    tcase_add_test(tp, test_logformat__errors);
    tcase_add_test(tp, test_logformat__http_mode_allows_http_tags);
    tcase_add_test(tr, test_logformat__text_and_percent);
    tcase_add_test(tr, test_logformat__spaces_merge_and_skip_empty);
    tcase_add_test(tr, test_logformat__missing_values);
    tcase_add_test(tr, test_logformat__flags);
    tcase_add_test(tr, test_logformat__sample_expressions);
    tcase_add_test(tr, test_logformat__core_address_tags);
    tcase_add_test(tr, test_logformat__truncates_to_buffer);
    suite_add_tcase(s, tp);
    suite_add_tcase(s, tr);
    return s;
}

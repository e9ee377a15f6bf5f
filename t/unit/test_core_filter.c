/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests for core/filter.c: hooks run in order and a waiting one is
 * resumed at the same filter; the payload goes through the filters that
 * asked for it, in order, each fed as long as it takes bytes; the end
 * hooks run once even when one waits; a stream without filters passes
 * everything through; only implicit filters are inherited. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "core/errors.h"
#include "core/filter.h"
#include "core/pool.h"
#include "core/proxy.h"
#include "core/stream.h"

Suite *suite_core_filter(void);

/* What the fake filters saw, in order: one letter per hook call. */
static char trail[64];
static int waits; /* on_headers / on_end calls to answer RC_AGAIN to */

static struct proxy px;
static struct stream strm;

/* Appends <c> to the trail. */
static void mark(char c)
{
    size_t n = strlen(trail);

    if (n + 1 < sizeof(trail))
        trail[n] = c;
}

/* The filter's letter, kept as its configuration. */
static char letter(const struct filter *f)
{
    return *(const char *)f->fc->conf;
}

static int fake_headers(struct stream *s, struct filter *f, enum flt_dir dir)
{
    mark(letter(f));
    if (letter(f) == 'W' && waits > 0) {
        waits--;
        return RC_AGAIN;
    }
    if (letter(f) != 'A')
        filter_want_data(s, f, dir);
    return RC_OK;
}

/* 'W' doubles every byte, one byte per call; 'U' upper-cases all. */
static int fake_data(struct stream *s, struct filter *f, enum flt_dir dir,
                     struct evbuffer *in, struct evbuffer *out)
{
    char buf[256];
    size_t n = evbuffer_get_length(in), i;

    if (letter(f) == 'W') {
        evbuffer_remove(in, buf, 1);
        evbuffer_add(out, buf, 1);
        evbuffer_add(out, buf, 1);
        return RC_OK;
    }
    n = (size_t)evbuffer_remove(in, buf, n < sizeof(buf) ? n : sizeof(buf));
    for (i = 0; i < n; i++)
        buf[i] = (char)toupper((unsigned char)buf[i]);
    evbuffer_add(out, buf, n);
    return RC_OK;
}

static int fake_end(struct stream *s, struct filter *f, enum flt_dir dir,
                    struct evbuffer *out)
{
    mark((char)tolower((unsigned char)letter(f)));
    if (letter(f) == 'U' && waits > 0) {
        waits--;
        return RC_AGAIN;
    }
    evbuffer_add(out, "!", 1);
    return RC_OK;
}

static const struct filter_ops fake_ops = {
    .name = "fake",
    .on_headers = fake_headers,
    .on_data = fake_data,
    .on_end = fake_end,
};

/* Filters A (headers only), W (waits, doubles), U (upper-cases). */
static void setup(void)
{
    memset(&px, 0, sizeof(px));
    memset(&strm, 0, sizeof(strm));
    memset(trail, 0, sizeof(trail));
    waits = 0;
    flt_conf_add(&px, &fake_ops, strdup("A"), 0);
    flt_conf_add(&px, &fake_ops, strdup("W"), 0);
    flt_conf_add(&px, &fake_ops, strdup("U"), 1);
    strm.pool = pool_new(4096);
    ck_assert_int_eq(filters_attach(&strm, &px), RC_OK);
}

static void teardown(void)
{
    struct flt_conf *fc;

    filters_release(&strm);
    pool_free(strm.pool);
    for (fc = px.filters; fc != NULL; fc = fc->next)
        free(fc->conf);
    flt_confs_free(&px);
}

/* Drains <b> into a string. */
static const char *text(struct evbuffer *b)
{
    static char out[256];
    size_t n = evbuffer_get_length(b);

    if (n >= sizeof(out))
        n = sizeof(out) - 1;
    evbuffer_remove(b, out, n);
    out[n] = '\0';
    return out;
}

START_TEST(test_filter__headers_resume_at_waiting_filter)
{
    waits = 1;
    ck_assert_int_eq(filters_headers(&strm, FLT_DIR_RES), RC_AGAIN);
    ck_assert_str_eq(trail, "AW");
    ck_assert_int_eq(filters_headers(&strm, FLT_DIR_RES), RC_OK);
    ck_assert_str_eq(trail, "AWWU");
    ck_assert_int_eq(filters_want_data(&strm, FLT_DIR_RES), 1);
    ck_assert_int_eq(filters_want_data(&strm, FLT_DIR_REQ), 0);
}
END_TEST

START_TEST(test_filter__payload_through_filters_in_order)
{
    struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();

    filters_headers(&strm, FLT_DIR_RES);
    evbuffer_add(in, "abc", 3);
    ck_assert_int_eq(filters_data(&strm, FLT_DIR_RES, in, out), RC_OK);
    ck_assert_uint_eq(evbuffer_get_length(in), 0);
    ck_assert_str_eq(text(out), "AABBCC");
    evbuffer_add(in, "d", 1);
    waits = 1;
    memset(trail, 0, sizeof(trail));
    ck_assert_int_eq(filters_end(&strm, FLT_DIR_RES, in, out), RC_AGAIN);
    ck_assert_int_eq(filters_end(&strm, FLT_DIR_RES, in, out), RC_OK);
    /* W ended once, U was asked twice (it waited once) */
    ck_assert_str_eq(trail, "wuu");
    ck_assert_str_eq(text(out), "DD!!");
    evbuffer_free(in);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_filter__no_filter_passes_through)
{
    struct stream bare;
    struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();

    memset(&bare, 0, sizeof(bare));
    ck_assert_int_eq(filters_headers(&bare, FLT_DIR_REQ), RC_OK);
    ck_assert_int_eq(filters_want_data(&bare, FLT_DIR_REQ), 0);
    evbuffer_add(in, "xyz", 3);
    ck_assert_int_eq(filters_data(&bare, FLT_DIR_REQ, in, out), RC_OK);
    ck_assert_int_eq(filters_end(&bare, FLT_DIR_REQ, in, out), RC_OK);
    ck_assert_str_eq(text(out), "xyz");
    filters_release(&bare);
    evbuffer_free(in);
    evbuffer_free(out);
}
END_TEST

START_TEST(test_filter__inherit_implicit_only)
{
    struct proxy child;

    memset(&child, 0, sizeof(child));
    flt_confs_inherit(&child, &px);
    ck_assert_ptr_nonnull(child.filters);
    ck_assert_ptr_null(child.filters->next);
    ck_assert_int_eq(child.filters->implicit, 1);
    flt_confs_free(&child);
}
END_TEST

Suite *suite_core_filter(void)
{
    Suite *s = suite_create("core_filter");
    TCase *tc = tcase_create("filters");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_filter__headers_resume_at_waiting_filter);
    tcase_add_test(tc, test_filter__payload_through_filters_in_order);
    tcase_add_test(tc, test_filter__no_filter_passes_through);
    tcase_add_test(tc, test_filter__inherit_implicit_only);
    suite_add_tcase(s, tc);
    return s;
}

/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests for core/stick_table.c on a table mapped in the test
 * process: keys found again by value, data types a table does not store,
 * eviction of the least recently written untracked entry, a table full of
 * tracked entries or "nopurge" refusing new keys, expiry, conn_cur
 * following track and untrack, and a table emptied when a process died
 * holding its lock, the handles given before going stale. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "core/errors.h"
#include "core/sample.h"
#include "core/stick_table.h"
#include "core/util.h"

Suite *suite_core_stick_table(void);

/* A string table of <size> entries storing conn_cur, http_req_cnt,
 * http_req_rate and conn_rate. */
static struct stick_table *table_new(unsigned size, unsigned expire)
{
    struct stick_table *t = xcalloc(1, sizeof(*t));
    int dt;

    for (dt = 0; dt < STICK_DT_COUNT; dt++)
        t->off[dt] = -1;
    t->off[STICK_DT_CONN_CUR] = t->off[STICK_DT_HTTP_REQ_CNT] = 0;
    t->off[STICK_DT_HTTP_REQ_RATE] = t->off[STICK_DT_CONN_RATE] = 0;
    t->period[STICK_DT_HTTP_REQ_RATE] = t->period[STICK_DT_CONN_RATE] = 10000;
    t->name = xstrdup("t");
    t->type = STICK_KEY_STR;
    t->key_size = 8;
    t->size = size;
    t->expire = expire;
    ck_assert_int_eq(stick_table_prepare(t), RC_OK);
    return t;
}

/* Counts one request for key <s>, creating it; returns the count. */
static unsigned long long hit(struct stick_table *t, const char *s)
{
    struct stick_key k;
    unsigned long long v = 0;

    ck_assert(stick_key_parse(t, s, &k));
    ck_assert(
        stick_key_op(t, &k, 1, STICK_DT_HTTP_REQ_CNT, STICK_OP_ADD, 1, &v));
    return v;
}

/* 1 if key <s> has an entry. */
static int present(struct stick_table *t, const char *s)
{
    struct stick_key k;

    ck_assert(stick_key_parse(t, s, &k));
    return stick_key_refs(t, &k) >= 0;
}

START_TEST(test_stick_table__keys_and_types)
{
    struct stick_table *t = table_new(16, 0);
    struct stick_key k;
    unsigned long long v = 99;

    ck_assert_uint_eq(hit(t, "a"), 1);
    ck_assert_uint_eq(hit(t, "b"), 1);
    ck_assert_uint_eq(hit(t, "a"), 2);
    /* longer than len 8: truncated, so the same key */
    ck_assert_uint_eq(hit(t, "abcdefgh-1"), 1);
    ck_assert_uint_eq(hit(t, "abcdefgh-2"), 2);
    ck_assert_uint_eq(stick_table_used(t), 3);
    stick_key_parse(t, "a", &k);
    ck_assert(
        stick_key_op(t, &k, 0, STICK_DT_HTTP_REQ_RATE, STICK_OP_GET, 0, &v));
    ck_assert_uint_eq(v, 2);
    ck_assert(!stick_key_op(t, &k, 1, STICK_DT_GPC0, STICK_OP_ADD, 1, &v));
    /* http_req_cnt is stored, but a rate alone counts too */
    ck_assert(!stick_key_op(t, &k, 1, STICK_DT_CONN_CNT, STICK_OP_ADD, 1, &v));
    ck_assert(stick_key_op(t, &k, 0, STICK_DT_CONN_RATE, STICK_OP_GET, 0, &v));
    ck_assert_uint_eq(v, 1);
    stick_key_parse(t, "zz", &k);
    ck_assert(
        stick_key_op(t, &k, 0, STICK_DT_HTTP_REQ_CNT, STICK_OP_GET, 0, &v));
    ck_assert_uint_eq(v, 0);
    ck_assert(!present(t, "zz"));
    stick_table_free(t);
}
END_TEST

START_TEST(test_stick_table__evicts_least_recent_untracked)
{
    struct stick_table *t = table_new(3, 0);
    struct stick_key k;
    unsigned long long e;

    stick_key_parse(t, "held", &k);
    e = stick_table_track(t, &k);
    ck_assert_uint_ne(e, 0);
    hit(t, "a");
    hit(t, "b");
    hit(t, "held");
    hit(t, "a"); /* b is now the least recently written */
    hit(t, "c");
    ck_assert(present(t, "a") && present(t, "c") && present(t, "held"));
    ck_assert(!present(t, "b"));
    hit(t, "d"); /* the tracked one, oldest, stays: a goes */
    ck_assert(present(t, "held") && !present(t, "a"));
    stick_table_untrack(t, e);
    stick_table_free(t);
}
END_TEST

START_TEST(test_stick_table__full_of_tracked)
{
    struct stick_table *t = table_new(2, 0);
    struct stick_key k;
    unsigned long long e1, e2;
    unsigned long long v;

    stick_key_parse(t, "x", &k);
    e1 = stick_table_track(t, &k);
    e2 = stick_table_track(t, &k);
    ck_assert_uint_eq(e1, e2);
    ck_assert_uint_eq(stick_entry_refs(t, e1), 2);
    stick_entry_op(t, e1, STICK_DT_CONN_CUR, STICK_OP_GET, 0, &v);
    ck_assert_uint_eq(v, 2);
    stick_key_parse(t, "y", &k);
    ck_assert_uint_ne(stick_table_track(t, &k), 0);
    stick_key_parse(t, "z", &k);
    ck_assert_uint_eq(stick_table_track(t, &k), 0);
    stick_table_untrack(t, e1);
    stick_entry_op(t, e1, STICK_DT_CONN_CUR, STICK_OP_GET, 0, &v);
    ck_assert_uint_eq(v, 1);
    stick_table_free(t);
}
END_TEST

START_TEST(test_stick_table__nopurge)
{
    struct stick_table *t = table_new(1, 0);
    struct stick_key k;
    unsigned long long v;

    t->nopurge = 1;
    hit(t, "a");
    stick_key_parse(t, "b", &k);
    ck_assert(
        stick_key_op(t, &k, 1, STICK_DT_HTTP_REQ_CNT, STICK_OP_ADD, 1, &v));
    ck_assert_uint_eq(v, 0); /* no room: nothing counted */
    ck_assert(present(t, "a") && !present(t, "b"));
    stick_table_free(t);
}
END_TEST

START_TEST(test_stick_table__expire)
{
    struct stick_table *t = table_new(4, 200);

    hit(t, "a");
    usleep(150000);
    hit(t, "b");
    usleep(100000); /* a expired, b not for another 100 ms */
    ck_assert_uint_eq(stick_table_used(t), 1);
    ck_assert(!present(t, "a") && present(t, "b"));
    usleep(200000);
    ck_assert_uint_eq(stick_table_used(t), 0);
    stick_table_free(t);
}
END_TEST

START_TEST(test_stick_table__dead_lock_holder)
{
    struct stick_table *t = table_new(4, 0);
    struct stick_key k;
    unsigned long long h, v = 7;
    pid_t pid;

    stick_key_parse(t, "x", &k);
    h = stick_table_track(t, &k);
    hit(t, "y");
    pid = fork();
    if (pid == 0) {
        /* the lock is the mapping's first member */
        pthread_mutex_lock((pthread_mutex_t *)(void *)t->shm);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    ck_assert_uint_eq(stick_table_used(t), 0);
    ck_assert(!stick_entry_op(t, h, STICK_DT_CONN_CUR, STICK_OP_GET, 0, &v));
    stick_table_untrack(t, h); /* stale: nothing happens */
    ck_assert_uint_eq(hit(t, "y"), 1);
    ck_assert_uint_eq(stick_table_used(t), 1);
    stick_table_free(t);
}
END_TEST

Suite *suite_core_stick_table(void)
{
    Suite *s = suite_create("core_stick_table");
    TCase *tc = tcase_create("stick_key_op");
    TCase *te = tcase_create("stick_table_track");

    tcase_add_test(tc, test_stick_table__keys_and_types);
    tcase_add_test(tc, test_stick_table__nopurge);
    tcase_add_test(tc, test_stick_table__expire);
    suite_add_tcase(s, tc);
    tcase_add_test(te, test_stick_table__evicts_least_recent_untracked);
    tcase_add_test(te, test_stick_table__full_of_tracked);
    tcase_add_test(te, test_stick_table__dead_lock_holder);
    suite_add_tcase(s, te);
    return s;
}

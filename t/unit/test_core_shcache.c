/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests for core/shcache.c on a store mapped in the test process:
 * objects read back byte for byte across blocks, replaced under the same
 * key, dropped at expiry and on request, the first stored making room
 * when blocks run out, one larger than the store refused, objects stored
 * by a child process seen by the parent, and a store emptied when a
 * process died holding its lock. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "core/errors.h"
#include "core/shcache.h"

Suite *suite_core_shcache(void);

/* A key made of byte <b>. */
static const unsigned char *key(unsigned char b)
{
    static unsigned char k[SHCACHE_KEY_LEN];

    memset(k, b, sizeof(k));
    return k;
}

/* Stores <len> bytes of <fill> under key <b>, fresh until <expire>. */
static int put(struct shcache *c, unsigned char b, char fill, size_t len,
               long long expire)
{
    struct shcache_info info = {0, expire, 0, 0, NULL};
    char *data = malloc(len ? len : 1);
    struct iovec v[2];
    int rc;

    memset(data, fill, len);
    v[0] = (struct iovec){data, len / 2};
    v[1] = (struct iovec){data + len / 2, len - len / 2};
    rc = shcache_put(c, key(b), v, 2, &info);
    free(data);
    return rc;
}

/* The length of the object under key <b> if every byte is <fill>, -1 if
 * there is none, -2 if its bytes differ. */
static long get(struct shcache *c, unsigned char b, char fill, long long now)
{
    struct shcache_info info;
    char *p = shcache_get(c, key(b), now, &info);
    long r;
    size_t i;

    if (p == NULL)
        return -1;
    r = (long)info.len;
    for (i = 0; i < info.len; i++)
        if (p[i] != fill)
            r = -2;
    free(p);
    return r;
}

START_TEST(test_shcache__put_get_replace_del)
{
    struct shcache *c = shcache_new(64 * 1024, "a test store");

    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(shcache_blocks(c), 64);
    ck_assert_int_eq(put(c, 1, 'a', 5000, 100), RC_OK);
    ck_assert_int_eq(put(c, 2, 'b', 10, 100), RC_OK);
    ck_assert_int_eq(get(c, 1, 'a', 0), 5000);
    ck_assert_int_eq(get(c, 2, 'b', 0), 10);
    ck_assert_int_eq(get(c, 3, 'c', 0), -1);
    ck_assert_int_eq(put(c, 1, 'z', 3000, 100), RC_OK);
    ck_assert_int_eq(get(c, 1, 'z', 0), 3000);
    shcache_del(c, key(2));
    ck_assert_int_eq(get(c, 2, 'b', 0), -1);
    ck_assert_int_eq(put(c, 4, 'q', 0, 100), RC_OK);
    ck_assert_int_eq(get(c, 4, 'q', 0), 0);
    shcache_free(c);
}
END_TEST

START_TEST(test_shcache__expire)
{
    struct shcache *c = shcache_new(8 * 1024, "a test store");

    ck_assert_int_eq(put(c, 1, 'a', 100, 50), RC_OK);
    ck_assert_int_eq(get(c, 1, 'a', 49), 100);
    ck_assert_int_eq(get(c, 1, 'a', 50), -1);
    ck_assert_int_eq(get(c, 1, 'a', 0), -1); /* dropped, not hidden */
    shcache_free(c);
}
END_TEST

START_TEST(test_shcache__oldest_make_room)
{
    struct shcache *c = shcache_new(8 * 1024, "a test store");
    unsigned char b;

    /* four objects of two blocks each fill the eight blocks */
    for (b = 1; b <= 4; b++)
        ck_assert_int_eq(put(c, b, (char)b, 1500, 100), RC_OK);
    for (b = 1; b <= 4; b++)
        ck_assert_int_eq(get(c, b, (char)b, 0), 1500);
    ck_assert_int_eq(put(c, 5, 5, 2500, 100), RC_OK); /* three blocks */
    ck_assert_int_eq(get(c, 1, 1, 0), -1);
    ck_assert_int_eq(get(c, 2, 2, 0), -1);
    ck_assert_int_eq(get(c, 3, 3, 0), 1500);
    ck_assert_int_eq(get(c, 5, 5, 0), 2500);
    ck_assert_int_eq(put(c, 6, 6, 9000, 100), RC_DECLINED);
    ck_assert_int_eq(get(c, 3, 3, 0), 1500);
    shcache_free(c);
}
END_TEST

START_TEST(test_shcache__shared_with_children)
{
    struct shcache *c = shcache_new(8 * 1024, "a test store");
    pid_t pid = fork();

    if (pid == 0)
        _exit(put(c, 7, 'k', 2000, 100) == RC_OK ? 0 : 1);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    ck_assert_int_eq(get(c, 7, 'k', 0), 2000);
    shcache_free(c);
}
END_TEST

START_TEST(test_shcache__dead_lock_holder)
{
    struct shcache *c = shcache_new(8 * 1024, "a test store");
    void **map = (void **)c; /* the mapping is the handle's first member */
    pid_t pid;

    ck_assert_int_eq(put(c, 1, 'a', 100, 100), RC_OK);
    pid = fork();
    if (pid == 0) {
        /* the lock is the mapping's first member */
        pthread_mutex_lock((pthread_mutex_t *)*map);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    ck_assert_int_eq(get(c, 1, 'a', 0), -1);
    ck_assert_int_eq(put(c, 2, 'b', 100, 100), RC_OK);
    ck_assert_int_eq(get(c, 2, 'b', 0), 100);
    shcache_free(c);
}
END_TEST

Suite *suite_core_shcache(void)
{
    Suite *s = suite_create("core_shcache");
    TCase *tc = tcase_create("shcache_put");

    tcase_add_test(tc, test_shcache__put_get_replace_del);
    tcase_add_test(tc, test_shcache__expire);
    tcase_add_test(tc, test_shcache__oldest_make_room);
    tcase_add_test(tc, test_shcache__shared_with_children);
    tcase_add_test(tc, test_shcache__dead_lock_holder);
    suite_add_tcase(s, tc);
    return s;
}

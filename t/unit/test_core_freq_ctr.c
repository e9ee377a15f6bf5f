/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Unit tests for core/freq_ctr.c: rates over a sliding period of any
 * length, at given instants: the current period alone, the previous one
 * weighed by the part of it the window still covers, nothing after two
 * idle periods. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <check.h>

#include "core/freq_ctr.h"

Suite *suite_core_freq_ctr(void);

#define T0 1000000ULL /* an instant well after the epoch */

START_TEST(test_freq_ctr__current_period)
{
    struct freq_ctr c;
    int i;

    memset(&c, 0, sizeof(c));
    ck_assert_uint_eq(freq_ctr_read_at(&c, 10000, T0), 0);
    for (i = 0; i < 7; i++)
        freq_ctr_add_at(&c, 10000, T0 + (unsigned)i * 1000, 1);
    ck_assert_uint_eq(freq_ctr_read_at(&c, 10000, T0 + 6000), 7);
    freq_ctr_add_at(&c, 10000, T0 + 9999, 3);
    ck_assert_uint_eq(freq_ctr_read_at(&c, 10000, T0 + 9999), 10);
}
END_TEST

START_TEST(test_freq_ctr__previous_period_weighed)
{
    struct freq_ctr c;

    memset(&c, 0, sizeof(c));
    freq_ctr_add_at(&c, 2000, T0, 10);
    /* a quarter into the next period: 3/4 of the last one still counts */
    ck_assert_uint_eq(freq_ctr_read_at(&c, 2000, T0 + 2500), 7);
    freq_ctr_add_at(&c, 2000, T0 + 2500, 2);
    ck_assert_uint_eq(freq_ctr_read_at(&c, 2000, T0 + 2500), 2 + 7);
    /* the periods stay aligned on the first event */
    ck_assert_uint_eq(freq_ctr_read_at(&c, 2000, T0 + 3999), 2 + 0);
    ck_assert_uint_eq(freq_ctr_read_at(&c, 2000, T0 + 4000), 2);
}
END_TEST

START_TEST(test_freq_ctr__idle_periods_forget)
{
    struct freq_ctr c;

    memset(&c, 0, sizeof(c));
    freq_ctr_add_at(&c, 1000, T0, 50);
    ck_assert_uint_eq(freq_ctr_read_at(&c, 1000, T0 + 2000), 0);
    freq_ctr_add_at(&c, 1000, T0 + 5500, 1);
    ck_assert_uint_eq(freq_ctr_read_at(&c, 1000, T0 + 5500), 1);
}
END_TEST

Suite *suite_core_freq_ctr(void)
{
    Suite *s = suite_create("core_freq_ctr");
    TCase *tc = tcase_create("freq_ctr_read_at");

    tcase_add_test(tc, test_freq_ctr__current_period);
    tcase_add_test(tc, test_freq_ctr__previous_period_weighed);
    tcase_add_test(tc, test_freq_ctr__idle_periods_forget);
    suite_add_tcase(s, tc);
    return s;
}

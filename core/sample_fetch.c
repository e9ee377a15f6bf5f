/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Built-in sample fetches that need neither a connection nor HTTP data
 * (HAProxy's "internal states" section 7.3.2): constants (always_true,
 * int, str, bool, ipv4, ipv6, bin, meth), env, date, date_us, rand, uuid
 * and var. They work with a NULL stream, except var() for per-stream
 * scopes. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/sample.h"
#include "core/util.h"
#include "core/vars.h"

enum date_unit { DATE_S, DATE_MS, DATE_US };

static int fetch_true(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv);
static int fetch_false(const struct arg *args, struct sample *smp,
                       const struct smp_env *env, const void *priv);
static int fetch_int(const struct arg *args, struct sample *smp,
                     const struct smp_env *env, const void *priv);
static int fetch_str(const struct arg *args, struct sample *smp,
                     const struct smp_env *env, const void *priv);
static int fetch_bool(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv);
static int fetch_ipv4(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv);
static int fetch_ipv6(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv);
static int fetch_env(const struct arg *args, struct sample *smp,
                     const struct smp_env *env, const void *priv);
static int fetch_date(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv);
static int fetch_rand(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv);
static int fetch_var(const struct arg *args, struct sample *smp,
                     const struct smp_env *env, const void *priv);
static int check_bool(struct arg *args, char **err);
static int check_ipv4(struct arg *args, char **err);
static int check_ipv6(struct arg *args, char **err);
static int check_bin(struct arg *args, char **err);
static int check_date(struct arg *args, char **err);
static int fetch_date_us(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv);
static int fetch_uuid(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv);
static int check_uuid(struct arg *args, char **err);

/* str, bin and meth share fetch_str; <priv> carries the output type. */
static const enum smp_type type_str = SMP_T_STR;
static const enum smp_type type_bin = SMP_T_BIN;
static const enum smp_type type_meth = SMP_T_METH;

static const struct sample_fetch_kw fetch_builtin[] = {
    {.name = "always_false", .fn = fetch_false, .out = SMP_T_BOOL},
    {.name = "always_true", .fn = fetch_true, .out = SMP_T_BOOL},
    {.name = "bin",
     .fn = fetch_str,
     .args = "S",
     .out = SMP_T_BIN,
     .priv = &type_bin,
     .check = check_bin},
    {.name = "bool",
     .fn = fetch_bool,
     .args = "S",
     .out = SMP_T_BOOL,
     .check = check_bool},
    {.name = "date",
     .fn = fetch_date,
     .args = "I?,S?",
     .out = SMP_T_SINT,
     .check = check_date},
    {.name = "date_us", .fn = fetch_date_us, .out = SMP_T_SINT},
    {.name = "env", .fn = fetch_env, .args = "S", .out = SMP_T_STR},
    {.name = "int", .fn = fetch_int, .args = "I", .out = SMP_T_SINT},
    {.name = "ipv4",
     .fn = fetch_ipv4,
     .args = "S",
     .out = SMP_T_IPV4,
     .check = check_ipv4},
    {.name = "ipv6",
     .fn = fetch_ipv6,
     .args = "S",
     .out = SMP_T_IPV6,
     .check = check_ipv6},
    {.name = "meth",
     .fn = fetch_str,
     .args = "S",
     .out = SMP_T_METH,
     .priv = &type_meth},
    {.name = "rand", .fn = fetch_rand, .args = "I?", .out = SMP_T_SINT},
    {.name = "str",
     .fn = fetch_str,
     .args = "S",
     .out = SMP_T_STR,
     .priv = &type_str},
    {.name = "uuid",
     .fn = fetch_uuid,
     .args = "I?",
     .out = SMP_T_STR,
     .check = check_uuid},
    {.name = "var", .fn = fetch_var, .args = "V,S?", .out = SMP_T_ANY},
    {.name = NULL},
};

/* Registers the table below; calling it twice is harmless. */
void sample_fetch_register_builtin(void)
{
    sample_register_fetches(fetch_builtin);
}

/* Always the boolean true. */
static int fetch_true(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    smp->type = SMP_T_BOOL;
    smp->data.sint = 1;
    return 1;
}

/* Always the boolean false. */
static int fetch_false(const struct arg *args, struct sample *smp,
                       const struct smp_env *env, const void *priv)
{
    smp->type = SMP_T_BOOL;
    smp->data.sint = 0;
    return 1;
}

/* The integer argument. */
static int fetch_int(const struct arg *args, struct sample *smp,
                     const struct smp_env *env, const void *priv)
{
    smp->type = SMP_T_SINT;
    smp->data.sint = args[0].data.sint;
    return 1;
}

/* The argument lives as long as the expression: no copy needed. */
static int fetch_str(const struct arg *args, struct sample *smp,
                     const struct smp_env *env, const void *priv)
{
    smp->type = *(const enum smp_type *)priv;
    smp->data.str = args[0].data.str;
    return 1;
}

/* The argument, already turned into 0 or 1 by check_bool(). */
static int fetch_bool(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    smp->type = SMP_T_BOOL;
    smp->data.sint = args[0].data.sint;
    return 1;
}

/* The IPv4 argument, parsed by check_ipv4(). */
static int fetch_ipv4(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    smp->type = SMP_T_IPV4;
    smp->data.ipv4 = args[0].data.ipv4;
    return 1;
}

/* The IPv6 argument, parsed by check_ipv6(). */
static int fetch_ipv6(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    smp->type = SMP_T_IPV6;
    smp->data.ipv6 = args[0].data.ipv6;
    return 1;
}

/* The string stays in the environment block, as in HAProxy. */
static int fetch_env(const struct arg *args, struct sample *smp,
                     const struct smp_env *env, const void *priv)
{
    const char *v = getenv(args[0].data.str.ptr);

    if (v == NULL)
        return 0;
    smp->type = SMP_T_STR;
    smp->data.str = ist_from(v);
    return 1;
}

/* Epoch in the unit of args[1] plus the offset args[0], in that unit. */
static int fetch_date(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    struct timeval tv;
    long long unit = args[0].type != ARGT_STOP && args[1].type == ARGT_SINT
                         ? args[1].data.sint
                         : DATE_S;

    gettimeofday(&tv, NULL);
    smp->data.sint = tv.tv_sec;
    if (unit == DATE_MS)
        smp->data.sint = smp->data.sint * 1000 + tv.tv_usec / 1000;
    else if (unit == DATE_US)
        smp->data.sint = smp->data.sint * 1000000 + tv.tv_usec;
    if (args[0].type == ARGT_SINT)
        smp->data.sint += args[0].data.sint;
    smp->type = SMP_T_SINT;
    return 1;
}

/* The microseconds of the current second, what "date" leaves out. */
static int fetch_date_us(const struct arg *args, struct sample *smp,
                         const struct smp_env *env, const void *priv)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    smp->type = SMP_T_SINT;
    smp->data.sint = tv.tv_usec;
    return 1;
}

/* A 32-bit xorshift; rand() needs spread, not cryptographic strength. */
static uint32_t rand32(void)
{
    static uint64_t state;

    if (state == 0) {
        struct timeval tv;

        gettimeofday(&tv, NULL);
        state = ((uint64_t)tv.tv_sec << 20) ^ (uint64_t)tv.tv_usec ^
                ((uint64_t)getpid() << 40) ^ 0x9e3779b97f4a7c15ULL;
    }
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (uint32_t)((state * 0x2545f4914f6cdd1dULL) >> 32);
}

/* A 32-bit random number, or one in [0, range) when a range is given. */
static int fetch_rand(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    uint64_t r = rand32();

    if (args[0].type == ARGT_SINT && args[0].data.sint > 0)
        r = (r * (uint64_t)args[0].data.sint) >> 32;
    smp->type = SMP_T_SINT;
    smp->data.sint = (long long)r;
    return 1;
}

/* uuid([4]): a random (version 4) UUID in its text form. */
static int fetch_uuid(const struct arg *args, struct sample *smp,
                      const struct smp_env *env, const void *priv)
{
    uint32_t r[4] = {rand32(), rand32(), rand32(), rand32()};
    char *p = sample_alloc(env, 37);

    if (p == NULL)
        return 0;
    r[1] = (r[1] & 0xffff0fffU) | 0x4000U;     /* version 4 */
    r[2] = (r[2] & 0x3fffffffU) | 0x80000000U; /* RFC 4122 variant */
    snprintf(p, 37, "%08x-%04x-%04x-%04x-%04x%08x", r[0], r[1] >> 16,
             r[1] & 0xffffU, r[2] >> 16, r[2] & 0xffffU, r[3]);
    smp->type = SMP_T_STR;
    smp->data.str = (struct ist){p, 36};
    return 1;
}

/* HAProxy knows version 4 only. */
static int check_uuid(struct arg *args, char **err)
{
    if (args[0].type == ARGT_SINT && args[0].data.sint != 4)
        return set_err(err, "unsupported UUID version %lld (only 4)",
                       args[0].data.sint);
    return RC_OK;
}

/* The variable's value copied into the pool (the variable may change
 * before the sample is used), or the default string. */
static int fetch_var(const struct arg *args, struct sample *smp,
                     const struct smp_env *env, const void *priv)
{
    struct vars *v = vars_of(env->strm, args[0].data.var.scope);
    struct sample tmp;

    if (v != NULL && vars_get(v, args[0].data.var.name, &tmp)) {
        if (tmp.type == SMP_T_STR || tmp.type == SMP_T_BIN ||
            tmp.type == SMP_T_METH)
            return sample_set_str_copy(smp, tmp.type, tmp.data.str.ptr,
                                       tmp.data.str.len, env);
        smp->type = tmp.type;
        smp->data = tmp.data;
        return 1;
    }
    if (args[1].type != ARGT_STR)
        return 0;
    smp->type = SMP_T_STR;
    smp->data.str = args[1].data.str;
    return 1;
}

/* Replaces the string argument <a> with the integer <v>. */
static void arg_str_to_sint(struct arg *a, long long v)
{
    free((char *)a->data.str.ptr);
    a->type = ARGT_SINT;
    a->data.sint = v;
}

/* Accepts true, false, 1 and 0 (case-insensitive), as HAProxy. */
static int check_bool(struct arg *args, char **err)
{
    const char *s = args[0].data.str.ptr;

    if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0)
        arg_str_to_sint(&args[0], 1);
    else if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0)
        arg_str_to_sint(&args[0], 0);
    else
        return set_err(err, "Expects 'true', 'false', '0' or '1'");
    return RC_OK;
}

/* Parses the address once at load. */
static int check_ipv4(struct arg *args, char **err)
{
    struct in_addr a;

    if (inet_pton(AF_INET, args[0].data.str.ptr, &a) != 1)
        return set_err(err, "'%s' is not a valid IPv4 address",
                       args[0].data.str.ptr);
    free((char *)args[0].data.str.ptr);
    args[0].type = ARGT_IPV4;
    args[0].data.ipv4 = a;
    return RC_OK;
}

/* Parses the address once at load. */
static int check_ipv6(struct arg *args, char **err)
{
    struct in6_addr a;

    if (inet_pton(AF_INET6, args[0].data.str.ptr, &a) != 1)
        return set_err(err, "'%s' is not a valid IPv6 address",
                       args[0].data.str.ptr);
    free((char *)args[0].data.str.ptr);
    args[0].type = ARGT_IPV6;
    args[0].data.ipv6 = a;
    return RC_OK;
}

/* Decodes the hex string in place: the bytes never outgrow the digits. */
static int check_bin(struct arg *args, char **err)
{
    char *s = (char *)args[0].data.str.ptr;
    long n = sample_hex2bin(s, args[0].data.str.len, (unsigned char *)s);

    if (n < 0)
        return set_err(err, "invalid hex string '%s'", s);
    args[0].data.str.len = (size_t)n;
    return RC_OK;
}

/* Turns the unit name into a date_unit. */
static int check_date(struct arg *args, char **err)
{
    const char *u;

    if (args[0].type == ARGT_STOP || args[1].type != ARGT_STR)
        return RC_OK;
    u = args[1].data.str.ptr;
    if (strcmp(u, "s") == 0)
        arg_str_to_sint(&args[1], DATE_S);
    else if (strcmp(u, "ms") == 0)
        arg_str_to_sint(&args[1], DATE_MS);
    else if (strcmp(u, "us") == 0)
        arg_str_to_sint(&args[1], DATE_US);
    else
        return set_err(err, "expects 's', 'ms' or 'us', got '%s'", u);
    return RC_OK;
}

/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Formatting converters (HAProxy's section 7.3.1): dates from a Unix
 * time (ltime, utime, http_date), url_enc, integers printed from binary
 * chunks (be2dec, be2hex) and back (hex2i, htonl), the Host header
 * splitters host_only and port_only, and cut_crlf. Like HAProxy, a date is
 * taken modulo 2^55 before formatting, so negative times give far-future dates.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/errors.h"
#include "core/sample.h"
#include "core/util.h"

/* HAProxy keeps 55 bits of a date before handing it to the C library. */
#define DATE_MASK 0x007fffffffffffffLL

/* Room for the output of ltime and utime. */
#define DATE_MAX 1024

/* http_date units */
enum date_unit { UNIT_S, UNIT_MS, UNIT_US };

#define CONV_PROTO(f)                                                          \
    static int f(const struct arg *args, struct sample *smp,                   \
                 const struct smp_env *env, const void *priv)

CONV_PROTO(conv_strftime);
CONV_PROTO(conv_http_date);
CONV_PROTO(conv_url_enc);
CONV_PROTO(conv_be2dec);
CONV_PROTO(conv_be2hex);
CONV_PROTO(conv_host_only);
CONV_PROTO(conv_port_only);
CONV_PROTO(conv_cut_crlf);
CONV_PROTO(conv_hex2i);
CONV_PROTO(conv_htonl);
static int check_http_date(struct arg *args, char **err);
static int check_url_enc(struct arg *args, char **err);
static int check_be2dec(struct arg *args, char **err);
static int check_be2hex(struct arg *args, char **err);

static const int local_time = 1, universal_time = 0;

static const struct sample_conv_kw conv_text[] = {
    {.name = "ltime",
     .fn = conv_strftime,
     .args = "S,I?",
     .in = SMP_T_SINT,
     .out = SMP_T_STR,
     .priv = &local_time},
    {.name = "utime",
     .fn = conv_strftime,
     .args = "S,I?",
     .in = SMP_T_SINT,
     .out = SMP_T_STR,
     .priv = &universal_time},
    {.name = "http_date",
     .fn = conv_http_date,
     .args = "I?,S?",
     .in = SMP_T_SINT,
     .out = SMP_T_STR,
     .check = check_http_date},
    {.name = "url_enc",
     .fn = conv_url_enc,
     .args = "S?",
     .in = SMP_T_STR,
     .out = SMP_T_STR,
     .check = check_url_enc},
    {.name = "be2dec",
     .fn = conv_be2dec,
     .args = "S,I,I?",
     .in = SMP_T_BIN,
     .out = SMP_T_STR,
     .check = check_be2dec},
    {.name = "be2hex",
     .fn = conv_be2hex,
     .args = "S?,I?,I?",
     .in = SMP_T_BIN,
     .out = SMP_T_STR,
     .check = check_be2hex},
    {.name = "host_only",
     .fn = conv_host_only,
     .in = SMP_T_STR,
     .out = SMP_T_STR},
    {.name = "port_only",
     .fn = conv_port_only,
     .in = SMP_T_STR,
     .out = SMP_T_SINT},
    {.name = "hex2i", .fn = conv_hex2i, .in = SMP_T_STR, .out = SMP_T_SINT},
    {.name = "htonl", .fn = conv_htonl, .in = SMP_T_SINT, .out = SMP_T_BIN},
    {.name = "cut_crlf",
     .fn = conv_cut_crlf,
     .in = SMP_T_STR,
     .out = SMP_T_STR},
    {.name = NULL},
};

/* Registers the table above; calling it twice is harmless. */
void sample_conv_text_register(void)
{
    sample_register_convs(conv_text);
}

/* The optional integer argument <i>, or 0. Entries after the ARGT_STOP
 * terminator are not initialised, so the walk stops there. */
static long long arg_sint_or_zero(const struct arg *args, int i)
{
    int k;

    for (k = 0; k < i; k++)
        if (args[k].type == ARGT_STOP)
            return 0;
    return args[i].type == ARGT_SINT ? args[i].data.sint : 0;
}

/* ------------------------------------------------------------------ */
/* Dates                                                                */
/* ------------------------------------------------------------------ */

/* a + b wrapping around as HAProxy's 64-bit arithmetic does. */
static long long wrap_add(long long a, long long b)
{
    return (long long)((unsigned long long)a + (unsigned long long)b);
}

/* ltime and utime: strftime(3) of input + offset, local time or UTC as
 * <priv> says; the input is cut to 55 bits before the offset is added. A
 * format that expands to nothing gives an empty string. */
CONV_PROTO(conv_strftime)
{
    time_t t =
        (time_t)wrap_add(smp->data.sint & DATE_MASK, arg_sint_or_zero(args, 1));
    char *out = sample_alloc(env, DATE_MAX);
    struct tm tm;

    if (out == NULL ||
        (*(const int *)priv ? localtime_r(&t, &tm) : gmtime_r(&t, &tm)) == NULL)
        return 0;
    smp->data.str =
        (struct ist){out, strftime(out, DATE_MAX, args[0].data.str.ptr, &tm)};
    smp->type = SMP_T_STR;
    return 1;
}

/* http_date: the IMF-fixdate of RFC 7231. The offset is in the unit of
 * the input; the seconds are cut to 55 bits. With ms or us, HAProxy 2.6
 * prints the remainder as a plain signed number (".5" for 5 ms, ".-5"
 * for -5 ms), and so do we, so that both give the same bytes. */
CONV_PROTO(conv_http_date)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    static const long long per_sec[] = {1, 1000, 1000000};
    enum date_unit unit = (enum date_unit)arg_sint_or_zero(args, 1);
    long long v = wrap_add(smp->data.sint, arg_sint_or_zero(args, 0));
    time_t t = (time_t)(v / per_sec[unit] & DATE_MASK);
    char *out = sample_alloc(env, 80), frac[24] = "";
    struct tm tm;
    int n;

    if (out == NULL || gmtime_r(&t, &tm) == NULL)
        return 0;
    if (unit != UNIT_S)
        snprintf(frac, sizeof(frac), ".%lld", v % per_sec[unit]);
    n = snprintf(out, 80, "%s, %02d %s %04d %02d:%02d:%02d%s GMT",
                 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    if (n < 0 || n >= 80)
        return 0;
    smp->data.str = (struct ist){out, (size_t)n};
    smp->type = SMP_T_STR;
    return 1;
}

/* Turns the unit name into an enum date_unit in args[1]. */
static int check_http_date(struct arg *args, char **err)
{
    static const char *const names[] = {"s", "ms", "us"};
    const char *s;
    long long i;

    if (args[0].type == ARGT_STOP || args[1].type != ARGT_STR)
        return RC_OK;
    s = args[1].data.str.ptr;
    for (i = 0; i < 3 && strcmp(s, names[i]) != 0; i++)
        ;
    if (i == 3)
        return set_err(err, "expects 's', 'ms' or 'us', got '%s'", s);
    free((char *)s);
    args[1].type = ARGT_SINT;
    args[1].data.sint = i;
    return RC_OK;
}

/* ------------------------------------------------------------------ */
/* url_enc                                                              */
/* ------------------------------------------------------------------ */

/* RFC 3986 unreserved characters pass, every other byte becomes %XX;
 * like HAProxy, the input ends at its first NUL byte. */
CONV_PROTO(conv_url_enc)
{
    const unsigned char *in = (const unsigned char *)smp->data.str.ptr;
    size_t len = smp->data.str.len, i, o = 0;
    char *out = sample_alloc(env, len * 3 + 1);

    if (out == NULL)
        return 0;
    for (i = 0; i < len && in[i] != '\0'; i++) {
        if (isalnum(in[i]) || strchr("-._~", in[i]) != NULL) {
            out[o++] = (char)in[i];
            continue;
        }
        out[o++] = '%';
        o += hex_encode(out + o, &in[i], 1);
    }
    out[o] = '\0';
    smp->data.str = (struct ist){out, o};
    return 1;
}

/* "query" is the only encoding HAProxy 2.6 knows. */
static int check_url_enc(struct arg *args, char **err)
{
    if (args[0].type == ARGT_STR && strcmp(args[0].data.str.ptr, "query") != 0)
        return set_err(err, "Unexpected encode type. Allowed value is 'query'");
    return RC_OK;
}

/* ------------------------------------------------------------------ */
/* Binary chunks                                                        */
/* ------------------------------------------------------------------ */

/* Calls <emit> for each <chunk>-byte piece of <smp>'s bytes (the whole
 * input if <chunk> is 0), separated by <sep>; a short last piece is kept
 * unless <truncate>. Builds the result in the pool, at most <per_byte>
 * output bytes a byte plus the separators. */
static int chunks_print(struct sample *smp, struct ist sep, long long chunk,
                        int truncate, size_t per_byte,
                        size_t (*emit)(char *out, const void *p, size_t n),
                        const struct smp_env *env)
{
    const unsigned char *p = (const unsigned char *)smp->data.str.ptr;
    size_t len = smp->data.str.len, step = chunk > 0 ? (size_t)chunk : len;
    size_t i, o = 0;
    char *out = sample_alloc(env, len * (per_byte + sep.len) + 32);

    if (out == NULL)
        return 0;
    for (i = 0; i < len; i += step) {
        size_t n = len - i < step ? len - i : step;

        if (n < step && truncate)
            break;
        if (i > 0) {
            memcpy(out + o, sep.ptr, sep.len);
            o += sep.len;
        }
        o += emit(out + o, p + i, n);
    }
    out[o] = '\0';
    smp->type = SMP_T_STR;
    smp->data.str = (struct ist){out, o};
    return 1;
}

/* Big-endian unsigned value of <n> (at most 8) bytes, in decimal. */
static size_t emit_dec(char *out, const void *p, size_t n)
{
    const unsigned char *b = p;
    unsigned long long v = 0;
    size_t i;

    for (i = 0; i < n; i++)
        v = v << 8 | b[i];
    return (size_t)sprintf(out, "%llu", v);
}

/* be2dec(separator,chunk_size[,truncate]); a 20-digit bound a chunk. */
CONV_PROTO(conv_be2dec)
{
    return chunks_print(smp, args[0].data.str, args[1].data.sint,
                        arg_sint_or_zero(args, 2) != 0, 20, emit_dec, env);
}

/* be2hex([separator[,chunk_size[,truncate]]]) */
CONV_PROTO(conv_be2hex)
{
    struct ist sep = args[0].type == ARGT_STR ? args[0].data.str : IST("");

    return chunks_print(smp, sep, arg_sint_or_zero(args, 1),
                        arg_sint_or_zero(args, 2) != 0, 2, hex_encode, env);
}

static int check_be2dec(struct arg *args, char **err)
{
    if (args[1].data.sint < 1 || args[1].data.sint > 8)
        return set_err(err, "chunk_size out of [1..8] range (%lld)",
                       args[1].data.sint);
    return RC_OK;
}

/* A separator needs chunks to separate. */
static int check_be2hex(struct arg *args, char **err)
{
    long long chunk = arg_sint_or_zero(args, 1);

    if (args[0].type == ARGT_STR && args[0].data.str.len > 0 && chunk <= 0)
        return set_err(err, "chunk_size needs to be positive (%lld)", chunk);
    return RC_OK;
}

/* ------------------------------------------------------------------ */
/* Host header parts                                                    */
/* ------------------------------------------------------------------ */

/* Index of the colon starting the port of the Host value <s>, or its
 * length if there is none: a ']' seen first from the end means an IPv6
 * literal without a port. */
static size_t host_port_colon(struct ist s)
{
    size_t i;

    for (i = s.len; i > 0; i--) {
        if (s.ptr[i - 1] == ']')
            return s.len;
        if (s.ptr[i - 1] == ':')
            return i - 1;
    }
    return s.len;
}

/* The host part, lower-cased. */
CONV_PROTO(conv_host_only)
{
    size_t n = host_port_colon(smp->data.str), i;
    char *out = sample_alloc(env, n + 1);

    if (out == NULL)
        return 0;
    for (i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)smp->data.str.ptr[i]);
    out[n] = '\0';
    smp->data.str = (struct ist){out, n};
    return 1;
}

/* The port, 0 if none. As HAProxy, every byte after the colon counts as
 * a digit (c - '0') in unsigned 32-bit arithmetic, without validation. */
CONV_PROTO(conv_port_only)
{
    struct ist s = smp->data.str;
    size_t i = host_port_colon(s);
    uint32_t port = 0;

    for (i++; i < s.len; i++)
        port = port * 10 + (uint32_t)((unsigned char)s.ptr[i] - '0');
    smp->data.sint = port;
    smp->type = SMP_T_SINT;
    return 1;
}

/* Everything before the first CR or LF. */
CONV_PROTO(conv_cut_crlf)
{
    struct ist *s = &smp->data.str;
    size_t i;

    for (i = 0; i < s->len && s->ptr[i] != '\r' && s->ptr[i] != '\n'; i++)
        ;
    s->len = i;
    return 1;
}

/* Hex digits to an integer, wrapping at 64 bits as HAProxy; any other
 * byte drops the sample; the empty string is 0. */
CONV_PROTO(conv_hex2i)
{
    unsigned long long v = 0;
    size_t i;

    for (i = 0; i < smp->data.str.len; i++) {
        int d = hex_digit_value((unsigned char)smp->data.str.ptr[i]);

        if (d < 0)
            return 0;
        v = v << 4 | (unsigned long long)d;
    }
    smp->data.sint = (long long)v;
    smp->type = SMP_T_SINT;
    return 1;
}

/* The low 32 bits as 4 bytes in network order. */
CONV_PROTO(conv_htonl)
{
    unsigned char *out = sample_alloc(env, 4);
    unsigned long long v = (unsigned long long)smp->data.sint;
    int i;

    if (out == NULL)
        return 0;
    for (i = 0; i < 4; i++)
        out[i] = (unsigned char)(v >> (24 - 8 * i));
    smp->type = SMP_T_BIN;
    smp->data.str = (struct ist){(const char *)out, 4};
    return 1;
}

/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Built-in converters (HAProxy's section 7.3.1) that need no HTTP or
 * connection data: case, length, base64/hex, url_dec, field/word, regsub,
 * arithmetic and bitwise operators taking an integer or a variable,
 * booleans, ipmask, json, concat, add_item, strcmp, set-var/unset-var, bytes,
 * ltrim/rtrim and iif. Converters never write into their input, which may
 * be a stream buffer or an argument: new strings come from the evaluation
 * pool; slicing ones (field, bytes, trims) only move the view. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/map.h"
#include "core/sample.h"
#include "core/util.h"
#include "core/vars.h"

/* json input decoding modes, HAProxy's names */
enum json_mode { JSON_ASCII, JSON_UTF8, JSON_UTF8S, JSON_UTF8P, JSON_UTF8PS };

/* results of utf8_next() */
#define UTF8_OK       0x00
#define UTF8_OVERLONG 0x10
#define UTF8_INVRANGE 0x20
#define UTF8_BADSEQ   0x40

/* arithmetic and bitwise operators sharing conv_arith() */
enum arith_op { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_AND, OP_OR, OP_XOR };

/* A growable malloc'ed buffer for outputs of unknown size. */
struct obuf {
    char *p;
    size_t len, cap;
    int failed;
};

#define CONV_PROTO(f)                                                          \
    static int f(const struct arg *args, struct sample *smp,                   \
                 const struct smp_env *env, const void *priv)

CONV_PROTO(conv_lower);
CONV_PROTO(conv_upper);
CONV_PROTO(conv_length);
CONV_PROTO(conv_base64);
CONV_PROTO(conv_b64dec);
CONV_PROTO(conv_ub64enc);
CONV_PROTO(conv_ub64dec);
CONV_PROTO(conv_hex);
CONV_PROTO(conv_url_dec);
CONV_PROTO(conv_field);
CONV_PROTO(conv_word);
CONV_PROTO(conv_regsub);
CONV_PROTO(conv_arith);
CONV_PROTO(conv_neg);
CONV_PROTO(conv_cpl);
CONV_PROTO(conv_bool);
CONV_PROTO(conv_not);
CONV_PROTO(conv_odd);
CONV_PROTO(conv_even);
CONV_PROTO(conv_ipmask);
CONV_PROTO(conv_json);
CONV_PROTO(conv_concat);
CONV_PROTO(conv_add_item);
CONV_PROTO(conv_strcmp);
CONV_PROTO(conv_set_var);
CONV_PROTO(conv_unset_var);
CONV_PROTO(conv_bytes);
CONV_PROTO(conv_ltrim);
CONV_PROTO(conv_rtrim);
CONV_PROTO(conv_iif);
static int check_field(struct arg *args, char **err);
static int check_regsub(struct arg *args, char **err);
static int check_json(struct arg *args, char **err);
static int check_concat(struct arg *args, char **err);
static int check_add_item(struct arg *args, char **err);
static int check_set_var(struct arg *args, char **err);
static int check_bytes(struct arg *args, char **err);

static const enum arith_op op_add = OP_ADD, op_sub = OP_SUB, op_mul = OP_MUL,
                           op_div = OP_DIV, op_mod = OP_MOD, op_and = OP_AND,
                           op_or = OP_OR, op_xor = OP_XOR;

#define ARITH(n, op)                                                           \
    {                                                                          \
        .name = n, .fn = conv_arith, .args = "N", .in = SMP_T_SINT,            \
        .out = SMP_T_SINT, .priv = &op                                         \
    }
#define SIMPLE(n, f, i, o)                                                     \
    {                                                                          \
        .name = n, .fn = f, .in = i, .out = o                                  \
    }

static const struct sample_conv_kw conv_builtin[] = {
    ARITH("add", op_add),
    ARITH("and", op_and),
    ARITH("div", op_div),
    ARITH("mod", op_mod),
    ARITH("mul", op_mul),
    ARITH("or", op_or),
    ARITH("sub", op_sub),
    ARITH("xor", op_xor),
    SIMPLE("b64dec", conv_b64dec, SMP_T_STR, SMP_T_BIN),
    SIMPLE("base64", conv_base64, SMP_T_BIN, SMP_T_STR),
    SIMPLE("bool", conv_bool, SMP_T_SINT, SMP_T_BOOL),
    SIMPLE("cpl", conv_cpl, SMP_T_SINT, SMP_T_SINT),
    SIMPLE("even", conv_even, SMP_T_SINT, SMP_T_BOOL),
    SIMPLE("hex", conv_hex, SMP_T_BIN, SMP_T_STR),
    SIMPLE("length", conv_length, SMP_T_STR, SMP_T_SINT),
    SIMPLE("lower", conv_lower, SMP_T_STR, SMP_T_STR),
    SIMPLE("neg", conv_neg, SMP_T_SINT, SMP_T_SINT),
    SIMPLE("not", conv_not, SMP_T_SINT, SMP_T_BOOL),
    SIMPLE("odd", conv_odd, SMP_T_SINT, SMP_T_BOOL),
    SIMPLE("ub64dec", conv_ub64dec, SMP_T_STR, SMP_T_BIN),
    SIMPLE("ub64enc", conv_ub64enc, SMP_T_BIN, SMP_T_STR),
    SIMPLE("upper", conv_upper, SMP_T_STR, SMP_T_STR),
    {.name = "add_item",
     .fn = conv_add_item,
     .args = "S,S,S?",
     .in = SMP_T_STR,
     .out = SMP_T_STR,
     .check = check_add_item},
    {.name = "bytes",
     .fn = conv_bytes,
     .args = "N,N?",
     .in = SMP_T_BIN,
     .out = SMP_T_BIN,
     .check = check_bytes},
    {.name = "concat",
     .fn = conv_concat,
     .args = "S,S?,S?",
     .in = SMP_T_STR,
     .out = SMP_T_STR,
     .check = check_concat},
    {.name = "field",
     .fn = conv_field,
     .args = "I,S,I?",
     .in = SMP_T_STR,
     .out = SMP_T_STR,
     .check = check_field},
    {.name = "iif",
     .fn = conv_iif,
     .args = "S,S",
     .in = SMP_T_BOOL,
     .out = SMP_T_STR},
    {.name = "ipmask",
     .fn = conv_ipmask,
     .args = "4,6?",
     .in = SMP_T_ADDR,
     .out = SMP_T_ADDR},
    {.name = "json",
     .fn = conv_json,
     .args = "S",
     .in = SMP_T_STR,
     .out = SMP_T_STR,
     .check = check_json},
    {.name = "ltrim",
     .fn = conv_ltrim,
     .args = "S",
     .in = SMP_T_STR,
     .out = SMP_T_STR},
    {.name = "regsub",
     .fn = conv_regsub,
     .args = "S,S,S?",
     .in = SMP_T_STR,
     .out = SMP_T_STR,
     .check = check_regsub},
    {.name = "rtrim",
     .fn = conv_rtrim,
     .args = "S",
     .in = SMP_T_STR,
     .out = SMP_T_STR},
    {.name = "set-var",
     .fn = conv_set_var,
     .args = "V,S?,S?,S?,S?",
     .in = SMP_T_ANY,
     .out = SMP_T_ANY,
     .check = check_set_var},
    {.name = "strcmp",
     .fn = conv_strcmp,
     .args = "V",
     .in = SMP_T_STR,
     .out = SMP_T_SINT},
    {.name = "unset-var",
     .fn = conv_unset_var,
     .args = "V",
     .in = SMP_T_ANY,
     .out = SMP_T_ANY},
    {.name = "url_dec",
     .fn = conv_url_dec,
     .args = "I?",
     .in = SMP_T_STR,
     .out = SMP_T_STR},
    {.name = "word",
     .fn = conv_word,
     .args = "I,S,I?",
     .in = SMP_T_STR,
     .out = SMP_T_STR,
     .check = check_field},
    {.name = NULL},
};

/* Registers the table above; calling it twice is harmless. */
void sample_conv_register_builtin(void)
{
    sample_register_convs(conv_builtin);
    sample_conv_hash_register();
    sample_conv_text_register();
    sample_conv_json_register();
    map_register_convs();
}

/* ------------------------------------------------------------------ */
/* Output buffer                                                        */
/* ------------------------------------------------------------------ */

/* Appends <len> bytes of <s>; remembers a failure instead of reporting it
 * at each call. */
static void obuf_add(struct obuf *b, const char *s, size_t len)
{
    if (b->failed || len == 0)
        return;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *p;

        while (cap < b->len + len)
            cap *= 2;
        p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, len);
    b->len += len;
}

/* Moves the buffer into <smp> as a pool string and frees it; 1 or 0. */
static int obuf_finish(struct obuf *b, struct sample *smp,
                       const struct smp_env *env)
{
    int ok =
        !b->failed && sample_set_str_copy(smp, SMP_T_STR, b->p, b->len, env);

    free(b->p);
    return ok;
}

/* ------------------------------------------------------------------ */
/* Strings                                                              */
/* ------------------------------------------------------------------ */

/* Copies the input into the pool through <fn> byte by byte. */
static int map_bytes(struct sample *smp, const struct smp_env *env,
                     int (*fn)(int))
{
    struct ist in = smp->data.str;
    char *p = sample_alloc(env, in.len + 1);
    size_t i;

    if (p == NULL)
        return 0;
    for (i = 0; i < in.len; i++)
        p[i] = (char)fn((unsigned char)in.ptr[i]);
    p[in.len] = '\0';
    smp->data.str = (struct ist){p, in.len};
    return 1;
}

/* ASCII lower case, into the pool. */
CONV_PROTO(conv_lower)
{
    return map_bytes(smp, env, tolower);
}

/* ASCII upper case, into the pool. */
CONV_PROTO(conv_upper)
{
    return map_bytes(smp, env, toupper);
}

/* Length in bytes. */
CONV_PROTO(conv_length)
{
    smp->data.sint = (long long)smp->data.str.len;
    smp->type = SMP_T_SINT;
    return 1;
}

static const char b64tab[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64urltab[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Encodes <len> bytes of <in> with the alphabet <tab> into the pool,
 * '='-padded if <pad>; sets <smp> to the string, 1 or 0. */
static int b64_encode(struct sample *smp, const char *tab, int pad,
                      const struct smp_env *env)
{
    const unsigned char *in = (const unsigned char *)smp->data.str.ptr;
    size_t len = smp->data.str.len, i, o = 0;
    char *out = sample_alloc(env, (len + 2) / 3 * 4 + 1);

    if (out == NULL)
        return 0;
    for (i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;

        if (i + 1 < len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        if (i + 1 < len || pad)
            out[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
        if (i + 2 < len || pad)
            out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = '\0';
    smp->type = SMP_T_STR;
    smp->data.str = (struct ist){out, o};
    return 1;
}

/* Standard alphabet, padded. */
CONV_PROTO(conv_base64)
{
    return b64_encode(smp, b64tab, 1, env);
}

/* URL alphabet, unpadded (RFC 4648 section 5). */
CONV_PROTO(conv_ub64enc)
{
    return b64_encode(smp, b64urltab, 0, env);
}

/* Value of digit <c> in the alphabet <tab>, or -1. HAProxy's URL decoder
 * reads '=' as 63 rather than rejecting it; so do we. */
static int b64val(const char *tab, int c)
{
    const char *p = c ? strchr(tab, c) : NULL;

    if (p == NULL && c == '=' && tab == b64urltab)
        return 63;
    return p ? (int)(p - tab) : -1;
}

long sample_b64_decode(struct ist in, int url, unsigned char *out)
{
    const char *tab = url ? b64urltab : b64tab, *s = in.ptr;
    size_t len = in.len, i, o = 0;

    if (url ? len % 4 == 1 : len % 4 != 0)
        return -1;
    for (i = 0; i < len; i += 4) {
        size_t n = len - i < 4 ? len - i : 4, k;
        size_t pad =
            url ? 0 : (s[i + 3] == '=') + (s[i + 2] == '=' && s[i + 3] == '=');
        int v[4] = {0, 0, 0, 0};

        if (pad && i + 4 != len)
            return -1;
        for (k = 0; k < n - pad; k++)
            if ((v[k] = b64val(tab, (unsigned char)s[i + k])) < 0)
                return -1;
        out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
        if (n - pad > 2)
            out[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
        if (n - pad > 3)
            out[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
    }
    return (long)o;
}

/* Decodes with the alphabet of <url> into the pool. */
static int b64_decode(struct sample *smp, int url, const struct smp_env *env)
{
    unsigned char *out = sample_alloc(env, smp->data.str.len / 4 * 3 + 3);
    long n;

    if (out == NULL || (n = sample_b64_decode(smp->data.str, url, out)) < 0)
        return 0;
    smp->type = SMP_T_BIN;
    smp->data.str = (struct ist){(const char *)out, (size_t)n};
    return 1;
}

/* Strict decoding: length a multiple of 4, padding only at the end. */
CONV_PROTO(conv_b64dec)
{
    return b64_decode(smp, 0, env);
}

/* URL alphabet, padding optional: lengths of 4n+2 and 4n+3 are whole. */
CONV_PROTO(conv_ub64dec)
{
    return b64_decode(smp, 1, env);
}

/* Upper-case hex, two digits a byte. */
CONV_PROTO(conv_hex)
{
    size_t len = smp->data.str.len;
    char *out = sample_alloc(env, len * 2 + 1);

    if (out == NULL)
        return 0;
    out[hex_encode(out, smp->data.str.ptr, len)] = '\0';
    smp->type = SMP_T_STR;
    smp->data.str = (struct ist){out, 2 * len};
    return 1;
}

/* HAProxy's url_decode: '+' is a space in forms or after a '?'; a bad
 * escape fails the conversion. */
CONV_PROTO(conv_url_dec)
{
    struct ist in = smp->data.str;
    int in_form = args[0].type == ARGT_SINT && args[0].data.sint != 0;
    char *out = sample_alloc(env, in.len + 1);
    size_t i, o = 0;

    if (out == NULL)
        return 0;
    for (i = 0; i < in.len; i++) {
        char c = in.ptr[i];

        if (c == '%') {
            unsigned char b;

            if (in.len - i < 3 || sample_hex2bin(in.ptr + i + 1, 2, &b) != 1)
                return 0;
            out[o++] = (char)b;
            i += 2;
            continue;
        }
        if (c == '?')
            in_form = 1;
        out[o++] = c == '+' && in_form ? ' ' : c;
    }
    out[o] = '\0';
    smp->data.str = (struct ist){out, o};
    return 1;
}

/* Returns 1 if <c> is one of the delimiters in <d>. */
static int is_delim(char c, struct ist d)
{
    return memchr(d.ptr, c, d.len) != NULL;
}

/* Narrows <smp> to [<start>, <end>) of its string. */
static int set_slice(struct sample *smp, const char *start, const char *end)
{
    smp->data.str = (struct ist){start, (size_t)(end - start)};
    return 1;
}

/* field(n,delims[,count]) from the start: fields may be empty. */
static int field_forward(struct sample *smp, long long n, struct ist d,
                         long long count)
{
    const char *s = smp->data.str.ptr, *end = s + smp->data.str.len;
    const char *start = s, *p;
    long long field = 1;

    for (p = s; p < end; p++) {
        if (!is_delim(*p, d))
            continue;
        if (field == n) {
            if (count == 1)
                return set_slice(smp, start, p);
            if (count > 1)
                count--;
        } else {
            start = p + 1;
            field++;
        }
    }
    return field == n ? set_slice(smp, start, end) : 0;
}

/* field(-n,delims[,count]): fields counted from the end. */
static int field_backward(struct sample *smp, long long n, struct ist d,
                          long long count)
{
    const char *s = smp->data.str.ptr;
    const char *end = s + smp->data.str.len, *p;
    long long field = -1;

    for (p = end; p > s; p--) {
        if (!is_delim(p[-1], d))
            continue;
        if (field == n) {
            if (count == 1)
                return set_slice(smp, p, end);
            if (count > 1)
                count--;
        } else {
            end = p - 1;
            field--;
        }
    }
    return field == n ? set_slice(smp, s, end) : 0;
}

/* Positive indexes count from the start, negative ones from the end. */
CONV_PROTO(conv_field)
{
    long long count = args[2].type == ARGT_SINT ? args[2].data.sint : 1;

    if (args[0].data.sint > 0)
        return field_forward(smp, args[0].data.sint, args[1].data.str, count);
    return field_backward(smp, args[0].data.sint, args[1].data.str, count);
}

/* word(n,delims[,count]) from the start: runs of delimiters are one. */
static int word_forward(struct sample *smp, long long n, struct ist d,
                        long long count)
{
    const char *s = smp->data.str.ptr, *end = s + smp->data.str.len;
    const char *start = s, *p;
    long long word = 0;
    int inword = 0;

    for (p = s; p < end; p++) {
        int sep = is_delim(*p, d);

        if (!inword && !sep) {
            if (word != n) {
                word++;
                start = p;
            }
            inword = 1;
        } else if (inword && sep) {
            if (word == n) {
                if (count == 1)
                    return set_slice(smp, start, p);
                if (count > 1)
                    count--;
            }
            inword = 0;
        }
    }
    return word == n ? set_slice(smp, start, end) : 0;
}

/* word(-n,delims[,count]): words counted from the end. */
static int word_backward(struct sample *smp, long long n, struct ist d,
                         long long count)
{
    const char *s = smp->data.str.ptr;
    const char *end = s + smp->data.str.len, *p;
    long long word = 0;
    int inword = 0;

    for (p = end; p > s; p--) {
        int sep = is_delim(p[-1], d);

        if (!inword && !sep) {
            if (word != n) {
                word--;
                end = p;
            }
            inword = 1;
        } else if (inword && sep) {
            if (word == n) {
                if (count == 1)
                    return set_slice(smp, p, end);
                if (count > 1)
                    count--;
            }
            inword = 0;
        }
    }
    return word == n ? set_slice(smp, s, end) : 0;
}

/* Positive indexes count from the start, negative ones from the end. */
CONV_PROTO(conv_word)
{
    long long count = args[2].type == ARGT_SINT ? args[2].data.sint : 1;

    if (args[0].data.sint > 0)
        return word_forward(smp, args[0].data.sint, args[1].data.str, count);
    return word_backward(smp, args[0].data.sint, args[1].data.str, count);
}

/* Index 0 and empty delimiter lists are load errors, as HAProxy. */
static int check_field(struct arg *args, char **err)
{
    if (args[0].data.sint == 0)
        return set_err(err, "Unexpected value 0 for index");
    if (args[1].data.str.len == 0)
        return set_err(err, "Empty separators list");
    return RC_OK;
}

/* Appends the replacement <rep> with \0..\9 back-references and \xHH
 * escapes (HAProxy's exp_replace). */
static void regsub_expand(struct obuf *b, const char *rep, const char *subj,
                          const size_t *ov)
{
    while (*rep != '\0') {
        if (*rep != '\\' || rep[1] == '\0') {
            obuf_add(b, rep++, 1);
        } else if (isdigit((unsigned char)rep[1])) {
            int k = rep[1] - '0';

            if (ov[2 * k] != (size_t)-1)
                obuf_add(b, subj + ov[2 * k], ov[2 * k + 1] - ov[2 * k]);
            rep += 2;
        } else if (rep[1] == 'x' && rep[2] != '\0' && rep[3] != '\0') {
            unsigned char c;

            if (sample_hex2bin(rep + 2, 2, &c) == 1)
                obuf_add(b, (const char *)&c, 1);
            rep += 4;
        } else {
            obuf_add(b, rep + 1, 1);
            rep += 2;
        }
    }
}

int sample_set_backrefs(struct sample *smp, const char *rep, const char *subj,
                        const size_t *ov, const struct smp_env *env)
{
    struct obuf b = {0};

    regsub_expand(&b, rep, subj, ov);
    return obuf_finish(&b, smp, env);
}

/* s/re/rep/ once, or globally with the 'g' flag kept in args[2]; empty
 * matches copy one character and move on, as sed and HAProxy do. */
CONV_PROTO(conv_regsub)
{
    const char *s = smp->data.str.ptr;
    size_t len = smp->data.str.len, start = 0, ov[20];
    int global = args[2].type == ARGT_SINT && args[2].data.sint;
    struct obuf b = {0};
    int first = 1;

    for (;;) {
        if (!(global || first) ||
            !sample_regex_exec(args[0].data.reg, s, len, start, ov, 10)) {
            obuf_add(&b, s + start, len - start);
            break;
        }
        first = 0;
        obuf_add(&b, s + start, ov[0] - start);
        regsub_expand(&b, args[1].data.str.ptr, s, ov);
        if (start >= len)
            break;
        if (ov[1] == start) {
            obuf_add(&b, s + start, 1);
            start++;
        } else {
            start = ov[1];
        }
    }
    return obuf_finish(&b, smp, env);
}

/* Compiles the regex now that the flags ("i", "g") are known. */
static int check_regsub(struct arg *args, char **err)
{
    int icase = 0, global = 0;
    const char *f = args[2].type == ARGT_STR ? args[2].data.str.ptr : "";
    struct sample_regex *re;

    for (; *f != '\0'; f++) {
        if (*f == 'i')
            icase = 1;
        else if (*f == 'g')
            global = 1;
        else
            return set_err(err,
                           "invalid regex flag '%c', only 'i' and 'g' are "
                           "supported",
                           *f);
    }
    re = sample_regex_new(args[0].data.str.ptr, args[0].data.str.len, icase,
                          err);
    if (re == NULL)
        return RC_ERR;
    free((char *)args[0].data.str.ptr);
    args[0].type = ARGT_REG;
    args[0].data.reg = re;
    if (args[2].type == ARGT_STR) {
        free((char *)args[2].data.str.ptr);
        args[2].type = ARGT_SINT;
        args[2].data.sint = global;
    }
    return RC_OK;
}

/* ------------------------------------------------------------------ */
/* Integers                                                             */
/* ------------------------------------------------------------------ */

/* a + b saturated to the 64-bit range (HAProxy's arith_add). */
static long long sat_add(long long a, long long b)
{
    if (b > 0 && a > LLONG_MAX - b)
        return LLONG_MAX;
    if (b < 0 && a < LLONG_MIN - b)
        return LLONG_MIN;
    return a + b;
}

/* a - b saturated; -LLONG_MIN does not exist, so go through LLONG_MAX. */
static long long sat_sub(long long a, long long b)
{
    long long r;

    if (b != LLONG_MIN)
        return sat_add(a, -b);
    r = sat_add(a, LLONG_MAX);
    return r < LLONG_MAX ? r + 1 : r;
}

/* a * b saturated to the sign of the exact product. */
static long long sat_mul(long long a, long long b)
{
    long long r;

    if (__builtin_mul_overflow(a, b, &r))
        return (a < 0) == (b < 0) ? LLONG_MAX : LLONG_MIN;
    return r;
}

/* a / b; division by zero gives LLONG_MAX as in HAProxy. */
static long long sat_div(long long a, long long b)
{
    if (b == 0 || (a == LLONG_MIN && b == -1))
        return LLONG_MAX;
    return a / b;
}

/* a % b; modulo zero gives 0 as in HAProxy. */
static long long sat_mod(long long a, long long b)
{
    if (b == 0 || (a == LLONG_MIN && b == -1))
        return 0;
    return a % b;
}

/* The operand is an integer or a variable (missing: the sample fails). */
CONV_PROTO(conv_arith)
{
    long long a = smp->data.sint, b;

    if (!sample_arg_sint(&args[0], env, &b))
        return 0;
    switch (*(const enum arith_op *)priv) {
    case OP_ADD:
        a = sat_add(a, b);
        break;
    case OP_SUB:
        a = sat_sub(a, b);
        break;
    case OP_MUL:
        a = sat_mul(a, b);
        break;
    case OP_DIV:
        a = sat_div(a, b);
        break;
    case OP_MOD:
        a = sat_mod(a, b);
        break;
    case OP_AND:
        a &= b;
        break;
    case OP_OR:
        a |= b;
        break;
    case OP_XOR:
        a ^= b;
        break;
    }
    smp->data.sint = a;
    smp->type = SMP_T_SINT;
    return 1;
}

/* Negation; -LLONG_MIN saturates. */
CONV_PROTO(conv_neg)
{
    long long v = smp->data.sint;

    smp->data.sint = v == LLONG_MIN ? LLONG_MAX : -v;
    return 1;
}

/* Bitwise complement. */
CONV_PROTO(conv_cpl)
{
    smp->data.sint = ~smp->data.sint;
    return 1;
}

/* Sets a boolean result. */
static int set_bool(struct sample *smp, int v)
{
    smp->data.sint = v;
    smp->type = SMP_T_BOOL;
    return 1;
}

/* Non-zero is true. */
CONV_PROTO(conv_bool)
{
    return set_bool(smp, smp->data.sint != 0);
}

/* Zero is true. */
CONV_PROTO(conv_not)
{
    return set_bool(smp, smp->data.sint == 0);
}

/* True for odd integers. */
CONV_PROTO(conv_odd)
{
    return set_bool(smp, (int)(smp->data.sint & 1));
}

/* True for even integers. */
CONV_PROTO(conv_even)
{
    return set_bool(smp, !(smp->data.sint & 1));
}

/* First argument if true, second otherwise. */
CONV_PROTO(conv_iif)
{
    smp->data.str = args[smp->data.sint ? 0 : 1].data.str;
    smp->type = SMP_T_STR;
    return 1;
}

/* IPv4 with mask4, IPv6 with mask6 (no mask6: the sample fails). */
CONV_PROTO(conv_ipmask)
{
    int i;

    if (smp->type == SMP_T_IPV4) {
        smp->data.ipv4.s_addr &= args[0].data.ipv4.s_addr;
        return 1;
    }
    if (smp->type != SMP_T_IPV6 || args[1].type != ARGT_IPV6MASK)
        return 0;
    for (i = 0; i < 16; i++)
        smp->data.ipv6.s6_addr[i] &= args[1].data.ipv6.s6_addr[i];
    return 1;
}

/* ------------------------------------------------------------------ */
/* json                                                                 */
/* ------------------------------------------------------------------ */

/* Decodes one UTF-8 character from <s> (<len> > 0 bytes) into *<c>;
 * returns UTF8_* and sets *<used> to the bytes consumed. */
static int utf8_next(const unsigned char *s, size_t len, unsigned *c,
                     size_t *used)
{
    static const unsigned minval[4] = {0, 0x80, 0x800, 0x10000};
    size_t n, i;
    int code = UTF8_OK;

    *used = 1;
    if (s[0] < 0x80) {
        *c = s[0];
        return UTF8_OK;
    }
    n = s[0] >= 0xf0 ? 3 : s[0] >= 0xe0 ? 2 : s[0] >= 0xc0 ? 1 : 0;
    if (n == 0 || s[0] >= 0xf8 || len <= n)
        return UTF8_BADSEQ;
    *c = s[0] & (0x3f >> n);
    for (i = 1; i <= n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return UTF8_BADSEQ;
        *c = *c << 6 | (s[i] & 0x3f);
    }
    *used = n + 1;
    if (*c < minval[n])
        code |= UTF8_OVERLONG;
    if ((*c >= 0xd800 && *c <= 0xdfff) || *c > 0x10ffff)
        code |= UTF8_INVRANGE;
    return code;
}

/* Appends the JSON escape of character <c>. */
static void json_escape(struct obuf *b, unsigned c)
{
    char tmp[8];
    const char *esc = NULL;

    switch (c) {
    case '"':
        esc = "\\\"";
        break;
    case '\\':
        esc = "\\\\";
        break;
    case '/':
        esc = "\\/";
        break;
    case '\b':
        esc = "\\b";
        break;
    case '\f':
        esc = "\\f";
        break;
    case '\r':
        esc = "\\r";
        break;
    case '\n':
        esc = "\\n";
        break;
    case '\t':
        esc = "\\t";
        break;
    }
    if (esc != NULL) {
        obuf_add(b, esc, 2);
    } else if (c > 0xff || !isprint((int)c)) {
        snprintf(tmp, sizeof(tmp), "\\u%04x", c & 0xffff);
        obuf_add(b, tmp, 6);
    } else {
        tmp[0] = (char)c;
        obuf_add(b, tmp, 1);
    }
}

/* Decides what an invalid or too large character does in <mode>:
 * 1 skip it, 0 keep it, -1 fail the conversion. */
static int json_reject(enum json_mode mode, int code, unsigned c)
{
    int strict = mode == JSON_UTF8 || mode == JSON_UTF8S;
    int skip = mode == JSON_UTF8S || mode == JSON_UTF8PS;
    int bad =
        strict ? code != UTF8_OK : (code & (UTF8_INVRANGE | UTF8_BADSEQ)) != 0;

    if (bad || c > 0xffff)
        return skip ? 1 : -1;
    return 0;
}

/* Escapes for a JSON string body; ASCII mode escapes bytes above 127. */
CONV_PROTO(conv_json)
{
    const unsigned char *p = (const unsigned char *)smp->data.str.ptr;
    const unsigned char *end = p + smp->data.str.len;
    enum json_mode mode = (enum json_mode)args[0].data.sint;
    struct obuf b = {0};

    while (p < end) {
        unsigned c = *p;
        size_t used = 1;

        if (mode != JSON_ASCII) {
            int r = utf8_next(p, (size_t)(end - p), &c, &used);

            r = json_reject(mode, r, c);
            if (r < 0) {
                free(b.p);
                return 0;
            }
            if (r > 0) {
                p += used;
                continue;
            }
        }
        json_escape(&b, c);
        p += used;
    }
    return obuf_finish(&b, smp, env);
}

/* Turns the input code name into a json_mode. */
static int check_json(struct arg *args, char **err)
{
    static const char *const names[] = {"ascii", "utf8", "utf8s", "utf8p",
                                        "utf8ps"};
    const char *s = args[0].data.str.ptr;
    long long mode = -1;
    size_t i;

    if (*s == '\0')
        mode = JSON_ASCII;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0)
            mode = (long long)i;
    if (mode < 0)
        return set_err(err, "Unexpected input code type. Allowed value are "
                            "'ascii', 'utf8', 'utf8s', 'utf8p' and 'utf8ps'");
    free((char *)s);
    args[0].type = ARGT_SINT;
    args[0].data.sint = mode;
    return RC_OK;
}

/* ------------------------------------------------------------------ */
/* Variables                                                            */
/* ------------------------------------------------------------------ */

int sample_var_read(const struct var_ref *ref, enum smp_type type,
                    struct sample *out, const struct smp_env *env)
{
    struct vars *v = vars_of(env->strm, ref->scope);

    return v != NULL && vars_get(v, ref->name, out) &&
           sample_cast(out, type, env);
}

/* input + start + variable (if set and printable as a string) + end */
CONV_PROTO(conv_concat)
{
    struct obuf b = {0};
    struct sample var;

    obuf_add(&b, smp->data.str.ptr, smp->data.str.len);
    obuf_add(&b, args[0].data.str.ptr, args[0].data.str.len);
    if (args[0].type != ARGT_STOP && args[1].type == ARGT_VAR &&
        sample_var_read(&args[1].data.var, SMP_T_STR, &var, env))
        obuf_add(&b, var.data.str.ptr, var.data.str.len);
    if (args[0].type != ARGT_STOP && args[1].type != ARGT_STOP &&
        args[2].type == ARGT_STR)
        obuf_add(&b, args[2].data.str.ptr, args[2].data.str.len);
    return obuf_finish(&b, smp, env);
}

/* The optional middle argument names a variable. */
static int check_concat(struct arg *args, char **err)
{
    if (args[1].type == ARGT_STR && args[1].data.str.len > 0 &&
        sample_arg_to_var(&args[1], NULL) != RC_OK)
        return set_err(err, "failed to register variable name '%s'",
                       args[1].data.str.ptr);
    return RC_OK;
}

/* add_item(delim,var[,suffix]): the item is the variable (if set) then
 * the suffix; a non-empty item is appended, after <delim> unless the
 * input is empty. */
CONV_PROTO(conv_add_item)
{
    struct obuf item = {0}, b = {0};
    struct sample var;

    if (args[1].type == ARGT_VAR &&
        sample_var_read(&args[1].data.var, SMP_T_STR, &var, env))
        obuf_add(&item, var.data.str.ptr, var.data.str.len);
    if (args[2].type == ARGT_STR)
        obuf_add(&item, args[2].data.str.ptr, args[2].data.str.len);
    if (item.len == 0 && !item.failed)
        return 1;
    obuf_add(&b, smp->data.str.ptr, smp->data.str.len);
    if (smp->data.str.len > 0)
        obuf_add(&b, args[0].data.str.ptr, args[0].data.str.len);
    obuf_add(&b, item.p, item.len);
    b.failed |= item.failed;
    free(item.p);
    return obuf_finish(&b, smp, env);
}

/* The variable name may be empty, but not together with the suffix. */
static int check_add_item(struct arg *args, char **err)
{
    if (args[1].data.str.len == 0 &&
        (args[2].type != ARGT_STR || args[2].data.str.len == 0))
        return set_err(err, "one of the optional arguments has to be nonempty");
    return check_concat(args, err);
}

/* strcmp(3) of the input and the variable, as -1, 0 or 1. */
CONV_PROTO(conv_strcmp)
{
    struct ist a = smp->data.str;
    struct sample var;
    size_t n;
    int r;

    if (!sample_var_read(&args[0].data.var, SMP_T_STR, &var, env))
        return 0;
    n = a.len < var.data.str.len ? a.len : var.data.str.len;
    r = n ? memcmp(a.ptr, var.data.str.ptr, n) : 0;
    if (r == 0)
        r = a.len < var.data.str.len ? -1 : a.len > var.data.str.len;
    smp->data.sint = r < 0 ? -1 : r > 0;
    smp->type = SMP_T_SINT;
    return 1;
}

/* Stores the sample, which passes unchanged unless storing fails. */
CONV_PROTO(conv_set_var)
{
    struct vars *v = vars_of(env->strm, args[0].data.var.scope);
    unsigned cond = args[1].type == ARGT_SINT ? (unsigned)args[1].data.sint : 0;

    return v != NULL &&
           vars_set_cond(v, args[0].data.var.name, smp, cond) == RC_OK;
}

/* Removes the variable; the sample passes unchanged. */
CONV_PROTO(conv_unset_var)
{
    struct vars *v = vars_of(env->strm, args[0].data.var.scope);

    return v != NULL && vars_unset(v, args[0].data.var.name) == RC_OK;
}

/* Folds the condition words into one integer in args[1]; later words
 * become zeros so the array keeps its length. */
static int check_set_var(struct arg *args, char **err)
{
    unsigned cond = 0;
    int i;

    for (i = 1; args[i].type == ARGT_STR; i++)
        if (vars_parse_cond(args[i].data.str.ptr, args[i].data.str.len, &cond,
                            err) != RC_OK)
            return RC_ERR;
    for (i = 1; args[i].type == ARGT_STR; i++) {
        free((char *)args[i].data.str.ptr);
        args[i].type = ARGT_SINT;
        args[i].data.sint = i == 1 ? (long long)cond : 0;
    }
    return RC_OK;
}

/* ------------------------------------------------------------------ */
/* Slices                                                               */
/* ------------------------------------------------------------------ */

/* bytes(offset[,length]): beyond the end, an empty result once the data
 * is final, no sample before (more may come). */
CONV_PROTO(conv_bytes)
{
    long long off, n;
    long long len = (long long)smp->data.str.len;
    int final = (env->opt & SMP_OPT_FINAL) != 0;

    if (!sample_arg_sint(&args[0], env, &off) || off < 0)
        return 0;
    if (off >= len) {
        smp->data.str.len = 0;
        return final;
    }
    n = len - off;
    if (args[1].type != ARGT_STOP) {
        if (!sample_arg_sint(&args[1], env, &n) || n < 0)
            return 0;
        if (n > len - off) {
            if (!final)
                return 0;
            n = len - off;
        }
    }
    smp->data.str.ptr += off;
    smp->data.str.len = (size_t)n;
    return 1;
}

/* Offsets are non-negative, lengths positive, as HAProxy. */
static int check_bytes(struct arg *args, char **err)
{
    if (args[0].type == ARGT_SINT && args[0].data.sint < 0)
        return set_err(err, "expects a non-negative integer");
    if (args[1].type == ARGT_SINT && args[1].data.sint <= 0)
        return set_err(err, "expects a positive integer");
    return RC_OK;
}

/* Drops leading bytes found in the argument. */
CONV_PROTO(conv_ltrim)
{
    struct ist *s = &smp->data.str;

    while (s->len > 0 && is_delim(s->ptr[0], args[0].data.str)) {
        s->ptr++;
        s->len--;
    }
    return 1;
}

/* Drops trailing bytes found in the argument. */
CONV_PROTO(conv_rtrim)
{
    struct ist *s = &smp->data.str;

    while (s->len > 0 && is_delim(s->ptr[s->len - 1], args[0].data.str))
        s->len--;
    return 1;
}

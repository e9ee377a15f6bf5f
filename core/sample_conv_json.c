/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* json_query(path[,int]) (HAProxy's section 7.3.1), and the same query
 * on a JSON Web Token's header or payload: the value at a
 * "$.key[index].key" path of a JSON text. The scanner stops at the match,
 * so what follows it is never checked, as in HAProxy 2.6. Results follow
 * HAProxy 2.6 to the byte: strings are unescaped but only \uXXXX escapes
 * up to \u00FF are accepted (as one byte), numbers print as "%g", or with
 * "int" are read by strtoll(3) in base 0 (so "010" is 8) and must lie
 * within +/-(2^53 - 1); booleans are booleans; null, arrays and objects
 * give no sample. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/sample.h"
#include "core/util.h"

/* Deepest nesting scanned, as HAProxy's JSON library. */
#define JSON_MAX_DEPTH 20
/* Integers JSON can carry exactly in a double. */
#define JSON_INT_MAX ((1LL << 53) - 1)

/* scan results */
enum json_scan { JSON_MISS, JSON_FOUND, JSON_BAD };

struct json_scanner {
    const char *p, *end;
    int depth;
    struct ist found; /* the matched value's bytes */
};

static int conv_json_query(const struct arg *args, struct sample *smp,
                           const struct smp_env *env, const void *priv);
static int conv_jwt_query(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv);
static int check_json_query(struct arg *args, char **err);

/* which dot-separated part of a JWT each converter reads */
static const int jwt_header = 0, jwt_payload = 1;

static const struct sample_conv_kw conv_json[] = {
    {.name = "json_query",
     .fn = conv_json_query,
     .args = "S,S?",
     .in = SMP_T_STR,
     .out = SMP_T_ANY,
     .check = check_json_query},
    {.name = "jwt_header_query",
     .fn = conv_jwt_query,
     .args = "S?,S?",
     .in = SMP_T_STR,
     .out = SMP_T_ANY,
     .priv = &jwt_header,
     .check = check_json_query},
    {.name = "jwt_payload_query",
     .fn = conv_jwt_query,
     .args = "S?,S?",
     .in = SMP_T_STR,
     .out = SMP_T_ANY,
     .priv = &jwt_payload,
     .check = check_json_query},
    {.name = NULL},
};

/* Registers the table above; calling it twice is harmless. */
void sample_conv_json_register(void)
{
    sample_register_convs(conv_json);
}

static enum json_scan scan_value(struct json_scanner *s, const char *path);

static void skip_space(struct json_scanner *s)
{
    while (s->p < s->end &&
           (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n'))
        s->p++;
}

/* Consumes <c> after blanks; 1 if it was there. */
static int eat(struct json_scanner *s, char c)
{
    skip_space(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

static int is_digit(const struct json_scanner *s)
{
    return s->p < s->end && *s->p >= '0' && *s->p <= '9';
}

static void skip_digits(struct json_scanner *s)
{
    while (is_digit(s))
        s->p++;
}

/* A string token, quotes included; escapes are only skipped here. */
static int scan_string(struct json_scanner *s)
{
    for (s->p++; s->p < s->end; s->p++) {
        if (*s->p == '\\')
            s->p++;
        else if (*s->p == '"')
            return ++s->p <= s->end;
    }
    return 0;
}

/* -?digits[.digits*][(e|E)[+-]digits]: a leading zero or a bare trailing
 * dot is accepted, as the library HAProxy uses accepts them. */
static int scan_number(struct json_scanner *s)
{
    const char *start;

    if (s->p < s->end && *s->p == '-')
        s->p++;
    start = s->p;
    skip_digits(s);
    if (s->p == start)
        return 0;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        skip_digits(s);
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        start = s->p;
        skip_digits(s);
        return s->p > start;
    }
    return 1;
}

/* true, false or null. */
static int scan_literal(struct json_scanner *s)
{
    static const char *const words[] = {"true", "false", "null"};
    size_t i, n;

    for (i = 0; i < 3; i++) {
        n = strlen(words[i]);
        if ((size_t)(s->end - s->p) >= n && memcmp(s->p, words[i], n) == 0) {
            s->p += n;
            return 1;
        }
    }
    return 0;
}

/* Length of the path segment name at <path> (up to '.', '[' or end). */
static size_t segment_len(const char *path)
{
    return strcspn(path, ".[");
}

/* An object's members; <path> is ".name..." to follow one, or NULL. */
static enum json_scan scan_object(struct json_scanner *s, const char *path)
{
    size_t n = path != NULL ? segment_len(path + 1) : 0;
    enum json_scan r;

    s->p++;
    if (eat(s, '}'))
        return JSON_MISS;
    do {
        const char *key;
        int match;

        skip_space(s);
        key = s->p;
        if (s->p >= s->end || *s->p != '"' || !scan_string(s))
            return JSON_BAD;
        match = path != NULL && (size_t)(s->p - key) == n + 2 &&
                memcmp(key + 1, path + 1, n) == 0;
        if (!eat(s, ':'))
            return JSON_BAD;
        r = scan_value(s, match ? path + 1 + n : NULL);
        if (r != JSON_MISS)
            return r;
    } while (eat(s, ','));
    return eat(s, '}') ? JSON_MISS : JSON_BAD;
}

/* An array's elements; <path> is "[index]..." to follow one, or NULL. */
static enum json_scan scan_array(struct json_scanner *s, const char *path)
{
    long long want = -1, i = 0;
    const char *rest = NULL;
    enum json_scan r;

    if (path != NULL) {
        char *e;

        want = strtoll(path + 1, &e, 10);
        rest = *e == ']' && path[1] >= '0' && path[1] <= '9' ? e + 1 : NULL;
    }
    s->p++;
    if (eat(s, ']'))
        return JSON_MISS;
    do {
        r = scan_value(s, rest != NULL && i == want ? rest : NULL);
        if (r != JSON_MISS)
            return r;
        i++;
    } while (eat(s, ','));
    return eat(s, ']') ? JSON_MISS : JSON_BAD;
}

/* Scans one value. <path> is what remains to follow inside it: "" makes
 * this value the match, NULL means only skip it. */
static enum json_scan scan_value(struct json_scanner *s, const char *path)
{
    const char *start;
    enum json_scan r = JSON_MISS;
    int ok;

    skip_space(s);
    if (s->p >= s->end)
        return JSON_BAD;
    start = s->p;
    if (*s->p == '{' || *s->p == '[') {
        if (++s->depth > JSON_MAX_DEPTH)
            return JSON_BAD;
        if (path == NULL || *path == '\0')
            r = *s->p == '{' ? scan_object(s, NULL) : scan_array(s, NULL);
        else if (*s->p == '{')
            r = scan_object(s, *path == '.' ? path : NULL);
        else
            r = scan_array(s, *path == '[' ? path : NULL);
        s->depth--;
        ok = r != JSON_BAD;
    } else if (*s->p == '"') {
        ok = scan_string(s);
    } else if (*s->p == '-' || is_digit(s)) {
        ok = scan_number(s);
    } else {
        ok = scan_literal(s);
    }
    if (!ok)
        return JSON_BAD;
    if (r == JSON_MISS && path != NULL && *path == '\0') {
        s->found = (struct ist){start, (size_t)(s->p - start)};
        return JSON_FOUND;
    }
    return r;
}

/* Unescapes the string token <tok> into the pool; 1 or 0. */
static int set_unescaped(struct sample *smp, struct ist tok,
                         const struct smp_env *env)
{
    static const char from[] = "bfnrt\\\"", to[] = "\b\f\n\r\t\\\"";
    const char *p = tok.ptr + 1, *end = tok.ptr + tok.len - 1, *e;
    char *out = sample_alloc(env, tok.len), *o = out;

    if (out == NULL)
        return 0;
    for (; p < end; p++) {
        if (*p != '\\') {
            *o++ = *p;
        } else if (end - p > 5 && p[1] == 'u') {
            if (p[2] != '0' || p[3] != '0' || hex_digit_value(p[4]) < 0 ||
                hex_digit_value(p[5]) < 0)
                return 0;
            *o++ = (char)(hex_digit_value(p[4]) << 4 | hex_digit_value(p[5]));
            p += 5;
        } else if (p[1] != '\0' && (e = strchr(from, p[1])) != NULL) {
            *o++ = to[e - from];
            p++;
        } else {
            return 0;
        }
    }
    smp->type = SMP_T_STR;
    smp->data.str = (struct ist){out, (size_t)(o - out)};
    return 1;
}

/* A number token as an integer (<as_int>) or as "%g" text. */
static int set_number(struct sample *smp, struct ist tok, int as_int,
                      const struct smp_env *env)
{
    char buf[64], *out;
    long long v;

    if (tok.len >= sizeof(buf))
        return 0;
    memcpy(buf, tok.ptr, tok.len);
    buf[tok.len] = '\0';
    if (as_int) {
        v = strtoll(buf, NULL, 0);
        if (v < -JSON_INT_MAX || v > JSON_INT_MAX)
            return 0;
        smp->type = SMP_T_SINT;
        smp->data.sint = v;
        return 1;
    }
    if ((out = sample_alloc(env, 32)) == NULL)
        return 0;
    smp->type = SMP_T_STR;
    smp->data.str =
        (struct ist){out, (size_t)snprintf(out, 32, "%g", strtod(buf, NULL))};
    return 1;
}

static int conv_json_query(const struct arg *args, struct sample *smp,
                           const struct smp_env *env, const void *priv)
{
    struct json_scanner s = {.p = smp->data.str.ptr,
                             .end = smp->data.str.ptr + smp->data.str.len};
    const char *path = args[0].data.str.ptr;
    struct ist tok;

    if (*path != '$' || scan_value(&s, path + 1) != JSON_FOUND)
        return 0;
    tok = s.found;
    switch (tok.ptr[0]) {
    case '"':
        return set_unescaped(smp, tok, env);
    case 't':
    case 'f':
        smp->type = SMP_T_BOOL;
        smp->data.sint = tok.ptr[0] == 't';
        return 1;
    case 'n':
    case '{':
    case '[':
        return 0;
    }
    return set_number(smp, tok, args[1].type == ARGT_STR, env);
}

/* jwt_header_query and jwt_payload_query: json_query on the base64url
 * decoded header or payload of a JSON Web Token. The signature is not
 * checked. Without a path there is no sample, as in HAProxy 2.6. */
static int conv_jwt_query(const struct arg *args, struct sample *smp,
                          const struct smp_env *env, const void *priv)
{
    const char *p = smp->data.str.ptr, *end = p + smp->data.str.len, *dot;
    unsigned char *out;
    int part;
    long n;

    for (part = *(const int *)priv; part > 0; part--) {
        dot = memchr(p, '.', (size_t)(end - p));
        if (dot == NULL)
            return 0;
        p = dot + 1;
    }
    dot = memchr(p, '.', (size_t)(end - p));
    end = dot != NULL ? dot : end;
    if (args[0].type != ARGT_STR || p == end ||
        (out = sample_alloc(env, (size_t)(end - p) / 4 * 3 + 3)) == NULL ||
        (n = sample_b64_decode((struct ist){p, (size_t)(end - p)}, 1, out)) < 0)
        return 0;
    smp->data.str = (struct ist){(const char *)out, (size_t)n};
    return conv_json_query(args, smp, env, NULL);
}

/* The only output type is "int". Entries after the terminator are not
 * initialised, hence the look at args[0] first. */
static int check_json_query(struct arg *args, char **err)
{
    if (args[0].type != ARGT_STOP && args[1].type == ARGT_STR &&
        strcmp(args[1].data.str.ptr, "int") != 0)
        return set_err(err, "output_type only supports \"int\" as argument.");
    return RC_OK;
}

/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* libFuzzer target for http/h1.c. Each input is parsed as a request head and
 * as a response head, in one call and again resumed (one byte at a time, and
 * split in two with the buffer moved), and the results must agree and stay
 * inside the input; the bytes after a complete head, and the whole input,
 * are walked as a chunked body in one piece and one byte at a time, and must
 * agree too. Any disagreement aborts, so the fuzzer reports it as a crash. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "core/ist.h"
#include "http/h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless <cond> holds; kept in release builds on purpose. */
#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond))                                                           \
            abort();                                                           \
    } while (0)

/* Returns a heap copy of <data> sized exactly, so ASan flags overreads. */
static char *fuzz_dup(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);

    FUZZ_CHECK(p != NULL);
    if (size)
        memcpy(p, data, size);
    return p;
}

#define FUZZ_FNV_BASIS 2166136261u

/* FNV-1a continued from <h> over <data>: derives split points and limits
 * from the input, and sums payload independently of how it was split. */
static uint32_t fuzz_hash(uint32_t h, const uint8_t *data, size_t size)
{
    size_t i;

    for (i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    return h;
}

/* Checks that slice <s> lies inside the head of <buf>. */
static void fuzz_slice_in(struct ist s, const char *buf, size_t head_len)
{
    if (s.len)
        FUZZ_CHECK(s.ptr >= buf && s.ptr + s.len <= buf + head_len);
}

/* Checks what a single parse may return. */
static void fuzz_sane(const struct h1_msg *m, const char *buf, size_t size,
                      int rc)
{
    unsigned i;

    FUZZ_CHECK(rc == RC_OK || rc == RC_AGAIN || rc == RC_ERR);
    if (rc == RC_ERR) {
        FUZZ_CHECK(m->err_msg != NULL && m->err_pos <= size);
        FUZZ_CHECK(m->err_status >= 400 && m->err_status <= 505);
        return;
    }
    if (rc != RC_OK)
        return;
    FUZZ_CHECK(m->head_len <= size && m->nb_hdrs <= H1_MAX_HDRS);
    fuzz_slice_in(m->method, buf, m->head_len);
    fuzz_slice_in(m->uri, buf, m->head_len);
    fuzz_slice_in(m->version, buf, m->head_len);
    fuzz_slice_in(m->reason, buf, m->head_len);
    fuzz_slice_in(m->authority, buf, m->head_len);
    for (i = 0; i < m->nb_hdrs; i++) {
        fuzz_slice_in(m->hdrs[i].name, buf, m->head_len);
        fuzz_slice_in(m->hdrs[i].value, buf, m->head_len);
    }
}

/* Checks that slices <s> of <sb> and <t> of <tb> sit at the same offset. */
static void fuzz_same_slice(struct ist s, const char *sb, struct ist t,
                            const char *tb)
{
    FUZZ_CHECK(s.len == t.len);
    FUZZ_CHECK(s.len == 0 || s.ptr - sb == t.ptr - tb);
}

/* Checks that two parses of the same bytes agree. */
static void fuzz_same(const struct h1_msg *a, const char *ab, int arc,
                      const struct h1_msg *b, const char *bb, int brc)
{
    unsigned i;

    FUZZ_CHECK(arc == brc);
    if (arc == RC_ERR) {
        FUZZ_CHECK(a->err_status == b->err_status);
        FUZZ_CHECK(a->err_pos == b->err_pos);
        return;
    }
    if (arc != RC_OK)
        return;
    FUZZ_CHECK(a->head_len == b->head_len && a->flags == b->flags);
    FUZZ_CHECK(a->body_len == b->body_len && a->status == b->status);
    FUZZ_CHECK(a->nb_hdrs == b->nb_hdrs);
    fuzz_same_slice(a->method, ab, b->method, bb);
    fuzz_same_slice(a->uri, ab, b->uri, bb);
    fuzz_same_slice(a->version, ab, b->version, bb);
    fuzz_same_slice(a->reason, ab, b->reason, bb);
    fuzz_same_slice(a->authority, ab, b->authority, bb);
    for (i = 0; i < a->nb_hdrs; i++) {
        fuzz_same_slice(a->hdrs[i].name, ab, b->hdrs[i].name, bb);
        fuzz_same_slice(a->hdrs[i].value, ab, b->hdrs[i].value, bb);
    }
}

/* Runs the request or response parser. */
static int fuzz_parse(struct h1_msg *m, int resp, const char *buf, size_t len)
{
    return resp ? h1_parse_response(m, buf, len)
                : h1_parse_request(m, buf, len);
}

/* Parses <data> in one go, byte by byte, and split at <split>; returns the
 * one-shot result's head length when complete, else 0. */
static size_t fuzz_head(const uint8_t *data, size_t size, int resp,
                        const struct h1_limits *lim, size_t split)
{
    struct h1_msg ref, m;
    char *rb = fuzz_dup(data, size), *b1, *b2;
    int rrc, rc = RC_AGAIN;
    size_t k, head = 0;

    h1_msg_init(&ref, lim);
    rrc = fuzz_parse(&ref, resp, rb, size);
    fuzz_sane(&ref, rb, size, rrc);
    if (rrc == RC_OK)
        head = ref.head_len;

    /* growing one byte at a time in place */
    h1_msg_init(&m, lim);
    for (k = 0; k <= size && (k == 0 || rc == RC_AGAIN); k++)
        rc = fuzz_parse(&m, resp, rb, k);
    fuzz_same(&ref, rb, rrc, &m, rb, rc);

    /* split in two, the buffer moving between the calls */
    h1_msg_init(&m, lim);
    b1 = fuzz_dup(data, split);
    rc = fuzz_parse(&m, resp, b1, split);
    free(b1);
    b2 = fuzz_dup(data, size);
    rc = fuzz_parse(&m, resp, b2, size);
    fuzz_sane(&m, b2, size, rc);
    fuzz_same(&ref, rb, rrc, &m, b2, rc);
    free(b2);
    free(rb);
    return head;
}

/* Walks <data> as a chunked body, handing over <step> bytes at a time (all
 * when 0). Returns the return code; *used and *sum describe the walk. */
static int fuzz_walk(const uint8_t *data, size_t size, size_t step,
                     size_t *used, uint32_t *sum)
{
    struct h1_chunked c;
    size_t avail = 0, n, off, dl;
    int rc = RC_AGAIN;
    char *piece;

    h1_chunked_init(&c);
    *used = 0;
    *sum = FUZZ_FNV_BASIS;
    while (rc == RC_AGAIN) {
        if (avail == 0) {
            if (*used == size)
                break;
            avail = step && size - *used > step ? step : size - *used;
        }
        piece = fuzz_dup(data + *used, avail);
        rc = h1_chunked_parse(&c, piece, avail, &n, &off, &dl);
        FUZZ_CHECK(n <= avail && off + dl <= n);
        FUZZ_CHECK(rc != RC_AGAIN || n > 0);
        *sum = fuzz_hash(*sum, (const uint8_t *)piece + off, dl);
        free(piece);
        *used += n;
        avail -= n;
    }
    return rc;
}

/* The walk, payload included, must not depend on how the bytes arrive. */
static void fuzz_chunked(const uint8_t *data, size_t size)
{
    size_t u1, u2;
    uint32_t s1, s2;
    int r1 = fuzz_walk(data, size, 0, &u1, &s1);
    int r2 = fuzz_walk(data, size, 1, &u2, &s2);

    FUZZ_CHECK(r1 == r2 && u1 == u2 && s1 == s2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t h = fuzz_hash(FUZZ_FNV_BASIS, data, size);
    struct h1_limits small = {16 + (h >> 4) % 512, 1 + (h >> 16) % 8};
    const struct h1_limits *lim = (h & 1) ? NULL : &small;
    size_t split = size ? (h >> 8) % (size + 1) : 0;
    size_t head;

    head = fuzz_head(data, size, 0, lim, split);
    if (head)
        fuzz_chunked(data + head, size - head);
    head = fuzz_head(data, size, 1, lim, split);
    if (head)
        fuzz_chunked(data + head, size - head);
    fuzz_chunked(data, size);
    return 0;
}

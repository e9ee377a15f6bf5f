/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Hashing converters (HAProxy's section 7.3.1): the 32-bit hashes HAProxy
 * also uses for load balancing (crc32, djb2, sdbm, wt6, with the optional
 * avalanche step) and crc32c, xxh32/xxh64, OpenSSL digests (sha1, sha2,
 * digest, hmac) and the constant-time secure_memcmp. Integer hashes are
 * unsigned 32-bit values, except xxh64 which is the 64-bit value read as
 * signed, as HAProxy prints it. Digests are binary samples in the evaluation
 * pool. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include "core/errors.h"
#include "core/sample.h"
#include "core/util.h"

/* The hash functions of the integer converters. */
typedef uint32_t (*hash32_cb)(const unsigned char *p, size_t len);

#define CONV_PROTO(f)                                                          \
    static int f(const struct arg *args, struct sample *smp,                   \
                 const struct smp_env *env, const void *priv)

CONV_PROTO(conv_hash32);
CONV_PROTO(conv_xxh32);
CONV_PROTO(conv_xxh64);
CONV_PROTO(conv_sha1);
CONV_PROTO(conv_sha2);
CONV_PROTO(conv_digest);
CONV_PROTO(conv_hmac);
CONV_PROTO(conv_secure_memcmp);
static int check_sha2(struct arg *args, char **err);
static int check_digest(struct arg *args, char **err);
static int check_hmac(struct arg *args, char **err);
static uint32_t hash_crc32(const unsigned char *p, size_t len);
static uint32_t hash_crc32c(const unsigned char *p, size_t len);
static uint32_t hash_djb2(const unsigned char *p, size_t len);
static uint32_t hash_sdbm(const unsigned char *p, size_t len);
static uint32_t hash_wt6(const unsigned char *p, size_t len);

static const hash32_cb fn_crc32 = hash_crc32, fn_crc32c = hash_crc32c,
                       fn_djb2 = hash_djb2, fn_sdbm = hash_sdbm,
                       fn_wt6 = hash_wt6;

#define HASH32(n, f)                                                           \
    {                                                                          \
        .name = n, .fn = conv_hash32, .args = "I?", .in = SMP_T_BIN,           \
        .out = SMP_T_SINT, .priv = &f                                          \
    }

static const struct sample_conv_kw conv_hash[] = {
    HASH32("crc32", fn_crc32),
    HASH32("crc32c", fn_crc32c),
    HASH32("djb2", fn_djb2),
    HASH32("sdbm", fn_sdbm),
    HASH32("wt6", fn_wt6),
    {.name = "xxh32",
     .fn = conv_xxh32,
     .args = "I?",
     .in = SMP_T_BIN,
     .out = SMP_T_SINT},
    {.name = "xxh64",
     .fn = conv_xxh64,
     .args = "I?",
     .in = SMP_T_BIN,
     .out = SMP_T_SINT},
    {.name = "sha1", .fn = conv_sha1, .in = SMP_T_BIN, .out = SMP_T_BIN},
    {.name = "sha2",
     .fn = conv_sha2,
     .args = "I?",
     .in = SMP_T_BIN,
     .out = SMP_T_BIN,
     .check = check_sha2},
    {.name = "digest",
     .fn = conv_digest,
     .args = "S",
     .in = SMP_T_BIN,
     .out = SMP_T_BIN,
     .check = check_digest},
    {.name = "hmac",
     .fn = conv_hmac,
     .args = "S,S",
     .in = SMP_T_BIN,
     .out = SMP_T_BIN,
     .check = check_hmac},
    {.name = "secure_memcmp",
     .fn = conv_secure_memcmp,
     .args = "V",
     .in = SMP_T_BIN,
     .out = SMP_T_BOOL},
    {.name = NULL},
};

/* Registers the table above; calling it twice is harmless. */
void sample_conv_hash_register(void)
{
    sample_register_convs(conv_hash);
}

/* ------------------------------------------------------------------ */
/* 32-bit hashes                                                        */
/* ------------------------------------------------------------------ */

static uint32_t rotl32(uint32_t v, unsigned n)
{
    n &= 31;
    return n ? v << n | v >> (32 - n) : v;
}

/* IEEE CRC-32, zlib's. */
static uint32_t hash_crc32(const unsigned char *p, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);

    while (len > 0) {
        uInt n = len > 1u << 30 ? 1u << 30 : (uInt)len;

        crc = crc32(crc, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)crc;
}

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit:
 * small inputs, no table to build. */
static uint32_t hash_crc32c(const unsigned char *p, size_t len)
{
    uint32_t crc = 0xffffffffU;
    int k;

    while (len-- > 0) {
        crc ^= *p++;
        for (k = 0; k < 8; k++)
            crc = crc >> 1 ^ (0x82F63B78U & (0U - (crc & 1)));
    }
    return ~crc;
}

/* Bernstein's hash: h * 33 + c from 5381. */
static uint32_t hash_djb2(const unsigned char *p, size_t len)
{
    uint32_t h = 5381;

    while (len-- > 0)
        h = h * 33 + *p++;
    return h;
}

/* The sdbm database's hash: h * 65599 + c, written with shifts. */
uint32_t sample_hash_sdbm_add(uint32_t h, const unsigned char *p, size_t len)
{
    while (len-- > 0)
        h = *p++ + (h << 6) + (h << 16) - h;
    return h;
}

static uint32_t hash_sdbm(const unsigned char *p, size_t len)
{
    return sample_hash_sdbm_add(0, p, len);
}

/* Willy Tarreau's wt6: two words mixed with data-dependent rotations. */
static uint32_t hash_wt6(const unsigned char *p, size_t len)
{
    uint32_t h0 = 0xa53c965aU, h1 = 0x5ca6953aU;
    unsigned r0 = 6, r1 = 18;

    while (len-- > 0) {
        uint32_t c = *p++, mix;

        h0 = ~(h0 ^ c);
        h1 = ~(h1 + c);
        mix = rotl32(h1, r0);
        h1 = rotl32(h0, r1);
        h0 = mix;
        mix = ((h0 >> 16) ^ h1) & 0xffff;
        r0 = mix & 31;
        r1 = mix >> 11;
    }
    return h0 ^ h1;
}

/* HAProxy's "avalanche" option: Bob Jenkins' 32-bit integer mix, then a
 * multiplication by a prime near 3/4 of 2^32 to spread the values. */
uint32_t sample_hash_avalanche(uint32_t a)
{
    a = (a + 0x7ed55d16) + (a << 12);
    a = (a ^ 0xc761c23c) ^ (a >> 19);
    a = (a + 0x165667b1) + (a << 5);
    a = (a + 0xd3a2646c) ^ (a << 9);
    a = (a + 0xfd7046c5) + (a << 3);
    a = (a ^ 0xb55a4f09) ^ (a >> 16);
    return a * 3221225473U;
}

/* crc32, djb2, sdbm, wt6: the function in <priv>, then avalanche if the
 * argument is set and non-zero. */
CONV_PROTO(conv_hash32)
{
    hash32_cb fn = *(const hash32_cb *)priv;
    uint32_t h =
        fn((const unsigned char *)smp->data.str.ptr, smp->data.str.len);

    if (args[0].type == ARGT_SINT && args[0].data.sint != 0)
        h = sample_hash_avalanche(h);
    smp->data.sint = h;
    smp->type = SMP_T_SINT;
    return 1;
}

/* ------------------------------------------------------------------ */
/* xxHash (Yann Collet's published XXH32 and XXH64 algorithms)          */
/* ------------------------------------------------------------------ */

#define XXH32_P1 0x9E3779B1U
#define XXH32_P2 0x85EBCA77U
#define XXH32_P3 0xC2B2AE3DU
#define XXH32_P4 0x27D4EB2FU
#define XXH32_P5 0x165667B1U
#define XXH64_P1 0x9E3779B185EBCA87ULL
#define XXH64_P2 0xC2B2AE3D27D4EB4FULL
#define XXH64_P3 0x165667B19E3779F9ULL
#define XXH64_P4 0x85EBCA77C2B2AE63ULL
#define XXH64_P5 0x27D4EB2F165667C5ULL

static uint64_t rotl64(uint64_t v, unsigned n)
{
    return v << n | v >> (64 - n);
}

/* Little-endian reads, whatever the host. */
static uint32_t read_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t read_le64(const unsigned char *p)
{
    return (uint64_t)read_le32(p) | (uint64_t)read_le32(p + 4) << 32;
}

static uint32_t xxh32_round(uint32_t acc, uint32_t lane)
{
    return rotl32(acc + lane * XXH32_P2, 13) * XXH32_P1;
}

static uint32_t xxh32(const unsigned char *p, size_t len, uint32_t seed)
{
    const unsigned char *end = p + len;
    uint32_t h;

    if (len >= 16) {
        uint32_t v[4] = {seed + XXH32_P1 + XXH32_P2, seed + XXH32_P2, seed,
                         seed - XXH32_P1};
        int i;

        for (; end - p >= 16; p += 16)
            for (i = 0; i < 4; i++)
                v[i] = xxh32_round(v[i], read_le32(p + 4 * i));
        h = rotl32(v[0], 1) + rotl32(v[1], 7) + rotl32(v[2], 12) +
            rotl32(v[3], 18);
    } else {
        h = seed + XXH32_P5;
    }
    h += (uint32_t)len;
    for (; end - p >= 4; p += 4)
        h = rotl32(h + read_le32(p) * XXH32_P3, 17) * XXH32_P4;
    for (; p < end; p++)
        h = rotl32(h + *p * XXH32_P5, 11) * XXH32_P1;
    h ^= h >> 15;
    h *= XXH32_P2;
    h ^= h >> 13;
    h *= XXH32_P3;
    return h ^ h >> 16;
}

static uint64_t xxh64_round(uint64_t acc, uint64_t lane)
{
    return rotl64(acc + lane * XXH64_P2, 31) * XXH64_P1;
}

static uint64_t xxh64_merge(uint64_t h, uint64_t v)
{
    return (h ^ xxh64_round(0, v)) * XXH64_P1 + XXH64_P4;
}

static uint64_t xxh64(const unsigned char *p, size_t len, uint64_t seed)
{
    const unsigned char *end = p + len;
    uint64_t h;
    int i;

    if (len >= 32) {
        uint64_t v[4] = {seed + XXH64_P1 + XXH64_P2, seed + XXH64_P2, seed,
                         seed - XXH64_P1};

        for (; end - p >= 32; p += 32)
            for (i = 0; i < 4; i++)
                v[i] = xxh64_round(v[i], read_le64(p + 8 * i));
        h = rotl64(v[0], 1) + rotl64(v[1], 7) + rotl64(v[2], 12) +
            rotl64(v[3], 18);
        for (i = 0; i < 4; i++)
            h = xxh64_merge(h, v[i]);
    } else {
        h = seed + XXH64_P5;
    }
    h += (uint64_t)len;
    for (; end - p >= 8; p += 8)
        h = rotl64(h ^ xxh64_round(0, read_le64(p)), 27) * XXH64_P1 + XXH64_P4;
    if (end - p >= 4) {
        h = rotl64(h ^ read_le32(p) * XXH64_P1, 23) * XXH64_P2 + XXH64_P3;
        p += 4;
    }
    for (; p < end; p++)
        h = rotl64(h ^ *p * XXH64_P5, 11) * XXH64_P1;
    h ^= h >> 33;
    h *= XXH64_P2;
    h ^= h >> 29;
    h *= XXH64_P3;
    return h ^ h >> 32;
}

/* The seed, 0 without the argument. */
static uint64_t xxh_seed(const struct arg *args)
{
    return args[0].type == ARGT_SINT ? (uint64_t)args[0].data.sint : 0;
}

CONV_PROTO(conv_xxh32)
{
    smp->data.sint = xxh32((const unsigned char *)smp->data.str.ptr,
                           smp->data.str.len, (uint32_t)xxh_seed(args));
    smp->type = SMP_T_SINT;
    return 1;
}

CONV_PROTO(conv_xxh64)
{
    smp->data.sint = (long long)xxh64((const unsigned char *)smp->data.str.ptr,
                                      smp->data.str.len, xxh_seed(args));
    smp->type = SMP_T_SINT;
    return 1;
}

/* ------------------------------------------------------------------ */
/* OpenSSL digests                                                      */
/* ------------------------------------------------------------------ */

/* Sets <smp> to the digest <md> of its bytes, in the pool; 1 or 0. */
static int set_digest(struct sample *smp, const EVP_MD *md,
                      const struct smp_env *env)
{
    unsigned char *out = sample_alloc(env, EVP_MAX_MD_SIZE);
    unsigned len = 0;

    if (out == NULL || md == NULL ||
        !EVP_Digest(smp->data.str.ptr, smp->data.str.len, out, &len, md, NULL))
        return 0;
    smp->type = SMP_T_BIN;
    smp->data.str = (struct ist){(const char *)out, len};
    return 1;
}

CONV_PROTO(conv_sha1)
{
    return set_digest(smp, EVP_sha1(), env);
}

/* The digest of sha2(<bits>); NULL for other sizes. */
static const EVP_MD *sha2_md(long long bits)
{
    switch (bits) {
    case 224:
        return EVP_sha224();
    case 256:
        return EVP_sha256();
    case 384:
        return EVP_sha384();
    case 512:
        return EVP_sha512();
    }
    return NULL;
}

CONV_PROTO(conv_sha2)
{
    long long bits = args[0].type == ARGT_SINT ? args[0].data.sint : 256;

    return set_digest(smp, sha2_md(bits), env);
}

static int check_sha2(struct arg *args, char **err)
{
    if (args[0].type == ARGT_SINT && sha2_md(args[0].data.sint) == NULL)
        return set_err(err, "Unsupported number of bits: '%lld'.",
                       args[0].data.sint);
    return RC_OK;
}

/* The algorithm is looked up by name at each use: OpenSSL's table
 * look-up is cheap and arguments hold no pointers to library objects. */
CONV_PROTO(conv_digest)
{
    return set_digest(smp, EVP_get_digestbyname(args[0].data.str.ptr), env);
}

static int check_digest(struct arg *args, char **err)
{
    if (EVP_get_digestbyname(args[0].data.str.ptr) == NULL)
        return set_err(err, "algorithm must be a valid OpenSSL message digest "
                            "name.");
    return RC_OK;
}

/* hmac(algo, var): the key is the variable's content, base64-decoded. */
CONV_PROTO(conv_hmac)
{
    const EVP_MD *md = EVP_get_digestbyname(args[0].data.str.ptr);
    unsigned char *out = sample_alloc(env, EVP_MAX_MD_SIZE), *key;
    struct sample var;
    unsigned len = 0;
    long klen;

    if (out == NULL || md == NULL ||
        !sample_var_read(&args[1].data.var, SMP_T_STR, &var, env))
        return 0;
    key = sample_alloc(env, var.data.str.len / 4 * 3 + 1);
    if (key == NULL || (klen = sample_b64_decode(var.data.str, 0, key)) < 0 ||
        HMAC(md, key, (int)klen, (const unsigned char *)smp->data.str.ptr,
             smp->data.str.len, out, &len) == NULL)
        return 0;
    smp->type = SMP_T_BIN;
    smp->data.str = (struct ist){(const char *)out, len};
    return 1;
}

static int check_hmac(struct arg *args, char **err)
{
    if (check_digest(args, err) != RC_OK)
        return RC_ERR;
    if (sample_arg_to_var(&args[1], NULL) != RC_OK)
        return set_err(err, "failed to register variable name '%s'",
                       args[1].data.str.ptr);
    return RC_OK;
}

/* True if the input equals the variable (read as binary), compared in a
 * time that does not depend on where they differ; no sample if the
 * variable is unset. */
CONV_PROTO(conv_secure_memcmp)
{
    struct sample var;
    int eq;

    if (!sample_var_read(&args[0].data.var, SMP_T_BIN, &var, env))
        return 0;
    eq = var.data.str.len == smp->data.str.len &&
         CRYPTO_memcmp(smp->data.str.ptr, var.data.str.ptr,
                       smp->data.str.len) == 0;
    smp->type = SMP_T_BOOL;
    smp->data.sint = eq;
    return 1;
}

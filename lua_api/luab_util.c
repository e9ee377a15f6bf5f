/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The pure helpers of the "core" table that need no stream: networks
 * (core.parse_addr gives an opaque object, core.match_addr tells whether
 * two of them overlap) and HTTP dates (core.http_date and its three
 * format-specific siblings, giving seconds since the epoch or nil). The
 * parsers are exported for the unit tests. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#include "core/errors.h"
#include "lua_api/luab.h"

#define LUAB_MT_ADDR      "luab.Addr"
#define LUAB_ADDR_TXT     64
#define LUAB_DATE_TXT     64
#define LUAB_DATE_ANY     0
#define LUAB_DATE_IMF     1
#define LUAB_DATE_RFC850  2
#define LUAB_DATE_ASCTIME 3

/* A network from core.parse_addr. */
struct luab_addr {
    int family;
    int bits;
    unsigned char addr[16];
};

/* Parses the prefix length after '/' (<max> bits at most, or a dotted
 * IPv4 mask); -1 if invalid. */
static int luab_util_bits(const char *s, int family, int max)
{
    struct in_addr mask;
    unsigned long m;
    char *end;
    int n = 0;

    if (family == AF_INET && strchr(s, '.') != NULL) {
        if (inet_pton(AF_INET, s, &mask) != 1)
            return -1;
        m = ntohl(mask.s_addr);
        while (m & 0x80000000UL) {
            n++;
            m = (m << 1) & 0xffffffffUL;
        }
        return m == 0 ? n : -1;
    }
    if (*s < '0' || *s > '9')
        return -1;
    m = strtoul(s, &end, 10);
    return *end == '\0' && m <= (unsigned long)max ? (int)m : -1;
}

int luab_util_parse_net(const char *s, int *family, unsigned char *addr,
                        int *bits)
{
    char txt[LUAB_ADDR_TXT];
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t)(slash - s) : strlen(s);

    if (len == 0 || len >= sizeof(txt))
        return RC_ERR;
    memcpy(txt, s, len);
    txt[len] = '\0';
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, txt, addr) == 1)
        *family = AF_INET;
    else if (inet_pton(AF_INET6, txt, addr) == 1)
        *family = AF_INET6;
    else
        return RC_ERR;
    *bits = *family == AF_INET ? 32 : 128;
    if (slash != NULL)
        *bits = luab_util_bits(slash + 1, *family, *bits);
    return *bits < 0 ? RC_ERR : RC_OK;
}

/* 1 if the first <bits> bits of <a> and <b> are equal. */
static int luab_util_prefix_eq(const unsigned char *a, const unsigned char *b,
                               int bits)
{
    int bytes = bits / 8, rest = bits % 8;
    unsigned char mask;

    if (memcmp(a, b, (size_t)bytes) != 0)
        return 0;
    if (rest == 0)
        return 1;
    mask = (unsigned char)(0xff << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

/* Writes the IPv4-mapped IPv6 form of the IPv4 <in> to <out>. */
static void luab_util_v4mapped(const unsigned char *in, unsigned char *out)
{
    memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    memcpy(out + 12, in, 4);
}

int luab_util_net_match(int fam1, const unsigned char *a1, int bits1, int fam2,
                        const unsigned char *a2, int bits2)
{
    unsigned char m1[16], m2[16];

    if (fam1 != fam2) {
        /* compare in IPv6, an IPv4 network as its mapped form */
        if (fam1 == AF_INET) {
            luab_util_v4mapped(a1, m1);
            return luab_util_net_match(AF_INET6, m1, bits1 + 96, fam2, a2,
                                       bits2);
        }
        luab_util_v4mapped(a2, m2);
        return luab_util_net_match(fam1, a1, bits1, AF_INET6, m2, bits2 + 96);
    }
    return luab_util_prefix_eq(a1, a2, bits1 < bits2 ? bits1 : bits2);
}

/* strptime() <s> with <fmt>, requiring the whole string; RC_OK or RC_ERR. */
static int luab_util_strptime(const char *s, const char *fmt, long long *out)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof(tm));
    end = strptime(s, fmt, &tm);
    if (end == NULL || *end != '\0')
        return RC_ERR;
    *out = (long long)timegm(&tm);
    return RC_OK;
}

int luab_util_http_date(const char *s, size_t len, int kind, long long *out)
{
    static const char *const fmts[] = {
        NULL, "%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate */
        "%A, %d-%b-%y %H:%M:%S GMT",       /* RFC 850 */
        "%a %b %e %H:%M:%S %Y",            /* asctime */
    };
    char txt[LUAB_DATE_TXT];
    int k;

    if (len == 0 || len >= sizeof(txt) || memchr(s, '\0', len) != NULL)
        return RC_ERR;
    memcpy(txt, s, len);
    txt[len] = '\0';
    for (k = LUAB_DATE_IMF; k <= LUAB_DATE_ASCTIME; k++)
        if ((kind == LUAB_DATE_ANY || kind == k) &&
            luab_util_strptime(txt, fmts[k], out) == RC_OK)
            return RC_OK;
    return RC_ERR;
}

/* core.parse_addr(str): a network object, or nil. */
static int luab_util_parse_addr(lua_State *L)
{
    const char *s = luaL_checkstring(L, 1);
    struct luab_addr a;

    if (luab_util_parse_net(s, &a.family, a.addr, &a.bits) != RC_OK) {
        lua_pushnil(L);
        return 1;
    }
    memcpy(lua_newuserdata(L, sizeof(a)), &a, sizeof(a));
    luaL_setmetatable(L, LUAB_MT_ADDR);
    return 1;
}

/* core.match_addr(net1, net2): true if the networks overlap. */
static int luab_util_match_addr(lua_State *L)
{
    const struct luab_addr *a = luaL_checkudata(L, 1, LUAB_MT_ADDR);
    const struct luab_addr *b = luaL_checkudata(L, 2, LUAB_MT_ADDR);

    lua_pushboolean(L, luab_util_net_match(a->family, a->addr, a->bits,
                                           b->family, b->addr, b->bits));
    return 1;
}

/* __tostring of a network: "addr/bits". */
static int luab_util_addr_tostring(lua_State *L)
{
    const struct luab_addr *a = luaL_checkudata(L, 1, LUAB_MT_ADDR);
    char txt[INET6_ADDRSTRLEN];

    inet_ntop(a->family, a->addr, txt, sizeof(txt));
    lua_pushfstring(L, "%s/%d", txt, a->bits);
    return 1;
}

/* Shared body of the date parsers. */
static int luab_util_date(lua_State *L, int kind)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    long long t;

    if (luab_util_http_date(s, len, kind, &t) != RC_OK)
        lua_pushnil(L);
    else
        lua_pushinteger(L, (lua_Integer)t);
    return 1;
}

/* core.http_date(str): any of the three HTTP formats. */
static int luab_util_http_date_l(lua_State *L)
{
    return luab_util_date(L, LUAB_DATE_ANY);
}

/* core.imf_date(str) */
static int luab_util_imf_date(lua_State *L)
{
    return luab_util_date(L, LUAB_DATE_IMF);
}

/* core.rfc850_date(str) */
static int luab_util_rfc850_date(lua_State *L)
{
    return luab_util_date(L, LUAB_DATE_RFC850);
}

/* core.asctime_date(str) */
static int luab_util_asctime_date(lua_State *L)
{
    return luab_util_date(L, LUAB_DATE_ASCTIME);
}

static const luaL_Reg luab_util_funcs[] = {
    {"parse_addr", luab_util_parse_addr},
    {"match_addr", luab_util_match_addr},
    {"http_date", luab_util_http_date_l},
    {"imf_date", luab_util_imf_date},
    {"rfc850_date", luab_util_rfc850_date},
    {"asctime_date", luab_util_asctime_date},
    {NULL, NULL},
};

void luab_util_register(lua_State *L)
{
    luaL_newmetatable(L, LUAB_MT_ADDR);
    lua_pushcfunction(L, luab_util_addr_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    lua_getglobal(L, "core");
    luaL_setfuncs(L, luab_util_funcs, 0);
    lua_pop(L, 1);
}

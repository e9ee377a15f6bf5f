/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The Map class and the run-time edits of maps: Map.new(file, method)
 * reads a map file ("key value" per line, '#' comments, blank lines
 * ignored) and matches keys with one of HAProxy's methods (Map._str,
 * _beg, _sub, _dir, _dom, _end, _reg, _int, _ip, and the old names without
 * '_'); map:lookup(str) gives the value or nil, map:slookup(str) the value
 * or "". core.set_map/del_map/add_acl/del_acl edit every map loaded from
 * the same file (HAProxy's pattern references): the maps of Map.new() in
 * this worker's Lua state, and at run time the configuration's (map
 * converters, "-f" ACLs) in every worker of the generation, as the rule
 * actions do (core/map_act.c). The
 * entries belong to the userdata at [0] of the object, freed by its
 * __gc; the state keeps each map in a per-file list so edits find it. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "core/errors.h"
#include "core/map.h"
#include "core/sample.h"
#include "core/util.h"
#include "lua_api/luab.h"

#define LUAB_MT_MAP    "luab.Map"
#define LUAB_MT_MAP_UD "luab.MapUD"
#define LUAB_MAP_LINE  4096

/* One "key value" line. */
struct luab_map_ent {
    char *key, *value;
    size_t klen;
    struct sample_regex *re; /* _reg */
    long long lo, hi;        /* _int: a value or a range lo:hi */
    int family, bits;        /* _ip */
    unsigned char addr[16];
};

/* The userdata at [0] of a Map object. */
struct luab_map {
    int method; /* enum pat_match */
    struct luab_map_ent *ents;
    size_t n, cap;
};

/* Registry key of the table file name -> list of Map userdata. */
static char luab_map_files_key;

/* Frees the contents of <e>. */
static void luab_map_ent_free(struct luab_map_ent *e)
{
    free(e->key);
    free(e->value);
    sample_regex_free(e->re);
    memset(e, 0, sizeof(*e));
}

/* __gc of the userdata. */
static int luab_map_gc(lua_State *L)
{
    struct luab_map *m = luaL_checkudata(L, 1, LUAB_MT_MAP_UD);
    size_t i;

    for (i = 0; i < m->n; i++)
        luab_map_ent_free(&m->ents[i]);
    free(m->ents);
    m->ents = NULL;
    m->n = m->cap = 0;
    return 0;
}

/* Parses an integer pattern "N" or "LO:HI" (either side may be empty). */
static int luab_map_int(const char *s, long long *lo, long long *hi)
{
    const char *colon = strchr(s, ':');
    char *end;

    *lo = colon == s ? LLONG_MIN : strtoll(s, &end, 10);
    if (colon != s && end == s)
        return RC_ERR;
    if (colon == NULL) {
        *hi = *lo;
        return *end == '\0' ? RC_OK : RC_ERR;
    }
    if (colon != s && end != colon)
        return RC_ERR;
    *hi = colon[1] == '\0' ? LLONG_MAX : strtoll(colon + 1, &end, 10);
    return colon[1] == '\0' || *end == '\0' ? RC_OK : RC_ERR;
}

/* Fills the method-specific part of <e> from its key; RC_OK or RC_ERR with
 * *<err> set. */
static int luab_map_ent_compile(int method, struct luab_map_ent *e, char **err)
{
    switch (method) {
    case PAT_MATCH_REG:
        e->re = sample_regex_new(e->key, e->klen, 0, err);
        return e->re ? RC_OK : RC_ERR;
    case PAT_MATCH_INT:
        if (luab_map_int(e->key, &e->lo, &e->hi) == RC_OK)
            return RC_OK;
        return set_err(err, "'%s' is not a number", e->key);
    case PAT_MATCH_IP:
        if (luab_util_parse_net(e->key, &e->family, e->addr, &e->bits) == RC_OK)
            return RC_OK;
        return set_err(err, "'%s' is not a valid IPv4 or IPv6 address", e->key);
    default:
        return RC_OK;
    }
}

/* Appends (key, value) to <m>; RC_OK or RC_ERR with *<err> set. */
static int luab_map_add(struct luab_map *m, const char *key, size_t klen,
                        const char *value, char **err)
{
    struct luab_map_ent *e;

    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->ents = xrealloc(m->ents, m->cap * sizeof(*m->ents));
    }
    e = &m->ents[m->n];
    memset(e, 0, sizeof(*e));
    e->key = xstrndup(key, klen);
    e->klen = klen;
    e->value = xstrdup(value);
    if (luab_map_ent_compile(m->method, e, err) != RC_OK) {
        luab_map_ent_free(e);
        return RC_ERR;
    }
    m->n++;
    return RC_OK;
}

/* Removes every entry of <m> whose key is <key>. */
static void luab_map_del(struct luab_map *m, const char *key, size_t klen)
{
    size_t i, j = 0;

    for (i = 0; i < m->n; i++) {
        if (m->ents[i].klen == klen && memcmp(m->ents[i].key, key, klen) == 0)
            luab_map_ent_free(&m->ents[i]);
        else
            m->ents[j++] = m->ents[i];
    }
    m->n = j;
}

/* Sets the value of <key> in <m> (every entry of that key), or adds it. */
static int luab_map_set(struct luab_map *m, const char *key, size_t klen,
                        const char *value, char **err)
{
    size_t i;
    int found = 0;

    for (i = 0; i < m->n; i++) {
        if (m->ents[i].klen != klen || memcmp(m->ents[i].key, key, klen))
            continue;
        free(m->ents[i].value);
        m->ents[i].value = xstrdup(value);
        found = 1;
    }
    return found ? RC_OK : luab_map_add(m, key, klen, value, err);
}

/* Reads one line of <f> into <line>: key and value split at the first
 * blank run. Returns 1 with an entry, 0 for a blank or comment line, -1
 * at the end. */
static int luab_map_line(FILE *f, char *line, size_t size, char **key,
                         char **value)
{
    char *p, *end;

    if (fgets(line, (int)size, f) == NULL)
        return -1;
    line[strcspn(line, "\r\n")] = '\0';
    for (p = line; *p == ' ' || *p == '\t'; p++)
        ;
    if (*p == '\0' || *p == '#')
        return 0;
    *key = p;
    p += strcspn(p, " \t");
    if (*p != '\0')
        *p++ = '\0';
    p += strspn(p, " \t");
    for (end = p + strlen(p); end > p && (end[-1] == ' ' || end[-1] == '\t');)
        *--end = '\0';
    *value = p;
    return 1;
}

/* Loads <file> into <m>; RC_OK or RC_ERR with *<err> set. */
static int luab_map_load(struct luab_map *m, const char *file, char **err)
{
    char line[LUAB_MAP_LINE], where[256], *key, *value;
    FILE *f = fopen(file, "r");
    int rc, lineno = 0;

    if (f == NULL)
        return set_err(err, "failed to open map file '%s': %s", file,
                       strerror(errno));
    while ((rc = luab_map_line(f, line, sizeof(line), &key, &value)) >= 0) {
        lineno++;
        if (rc == 1 && luab_map_add(m, key, strlen(key), value, err) != RC_OK) {
            fclose(f);
            snprintf(where, sizeof(where), "map file '%s' line %d: ", file,
                     lineno);
            return sample_err_wrap(err, where, "");
        }
    }
    fclose(f);
    return RC_OK;
}

/* 1 if <pat> occurs in <s> delimited by <sep> (or the ends) on both
 * sides: HAProxy's "dir" ('/') and "dom" ('.') methods. */
static int luab_map_delimited(const char *s, size_t len, const char *pat,
                              size_t plen, char sep)
{
    size_t i;

    if (plen == 0 || plen > len)
        return plen == 0;
    for (i = 0; i + plen <= len; i++) {
        if (memcmp(s + i, pat, plen) != 0)
            continue;
        if ((i == 0 || s[i - 1] == sep || pat[0] == sep) &&
            (i + plen == len || s[i + plen] == sep || pat[plen - 1] == sep))
            return 1;
    }
    return 0;
}

/* 1 if entry <e> of a map with <method> matches <s>. */
static int luab_map_ent_match(int method, const struct luab_map_ent *e,
                              const char *s, size_t len)
{
    switch (method) {
    case PAT_MATCH_BEG:
        return e->klen <= len && memcmp(s, e->key, e->klen) == 0;
    case PAT_MATCH_END:
        return e->klen <= len &&
               memcmp(s + len - e->klen, e->key, e->klen) == 0;
    case PAT_MATCH_SUB:
        return e->klen == 0 ||
               (e->klen <= len && memmem(s, len, e->key, e->klen) != NULL);
    case PAT_MATCH_DIR:
        return luab_map_delimited(s, len, e->key, e->klen, '/');
    case PAT_MATCH_DOM:
        return luab_map_delimited(s, len, e->key, e->klen, '.');
    case PAT_MATCH_REG:
        return sample_regex_match(e->re, s, len);
    default: /* str */
        return e->klen == len && memcmp(s, e->key, len) == 0;
    }
}

/* The prefix length of an _ip entry counted in IPv6 bits, so that IPv4
 * and IPv6 entries compare. */
static int luab_map_bits6(const struct luab_map_ent *e)
{
    return e->family == AF_INET ? e->bits + 96 : e->bits;
}

/* The entry of <m> matching <s>: the first one in file order, except for
 * _ip and _beg (the longest prefix, HAProxy indexes them in trees) and
 * _int (the first range containing it). */
static const struct luab_map_ent *luab_map_find(const struct luab_map *m,
                                                const char *s, size_t len)
{
    const struct luab_map_ent *best = NULL;
    unsigned char addr[16];
    int family, bits;
    long long v, hi;
    size_t i;

    if (m->method == PAT_MATCH_INT) {
        if (luab_map_int(s, &v, &hi) != RC_OK || v != hi)
            return NULL;
        for (i = 0; i < m->n; i++)
            if (v >= m->ents[i].lo && v <= m->ents[i].hi)
                return &m->ents[i];
        return NULL;
    }
    if (m->method == PAT_MATCH_IP) {
        if (luab_util_parse_net(s, &family, addr, &bits) != RC_OK)
            return NULL;
        for (i = 0; i < m->n; i++)
            if (luab_util_net_match(m->ents[i].family, m->ents[i].addr,
                                    m->ents[i].bits, family, addr, bits) &&
                (best == NULL ||
                 luab_map_bits6(&m->ents[i]) > luab_map_bits6(best)))
                best = &m->ents[i];
        return best;
    }
    for (i = 0; i < m->n; i++) {
        if (!luab_map_ent_match(m->method, &m->ents[i], s, len))
            continue;
        if (m->method != PAT_MATCH_BEG)
            return &m->ents[i];
        if (best == NULL || m->ents[i].klen > best->klen)
            best = &m->ents[i];
    }
    return best;
}

/* The map behind the Map object at 1. */
static struct luab_map *luab_map_check(lua_State *L)
{
    struct luab_map *m = NULL;

    if (lua_type(L, 1) == LUA_TTABLE) {
        lua_rawgeti(L, 1, 0);
        m = luaL_testudata(L, -1, LUAB_MT_MAP_UD);
        lua_pop(L, 1);
    }
    if (m == NULL)
        luaL_argerror(
            L, 1,
            lua_pushfstring(L, "Map expected, got %s", luaL_typename(L, 1)));
    return m;
}

/* Shared body of lookup/slookup. */
static int luab_map_lookup_as(lua_State *L, int strmode)
{
    const struct luab_map *m = luab_map_check(L);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    const struct luab_map_ent *e = luab_map_find(m, s, len);

    if (e != NULL)
        lua_pushstring(L, e->value);
    else if (strmode)
        lua_pushliteral(L, "");
    else
        lua_pushnil(L);
    return 1;
}

/* map:lookup(str): value or nil. */
static int luab_map_lookup(lua_State *L)
{
    return luab_map_lookup_as(L, 0);
}

/* map:slookup(str): value or "". */
static int luab_map_slookup(lua_State *L)
{
    return luab_map_lookup_as(L, 1);
}

/* Pushes the list of Map userdata loaded from <file> (created if absent). */
static void luab_map_file_list(lua_State *L, const char *file)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &luab_map_files_key);
    if (lua_getfield(L, -1, file) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, file);
    }
    lua_remove(L, -2);
}

/* Scripts see HAProxy's numbers for the match methods (Map._str is 6):
 * its list starts at "found", ours one further. */
#define LUAB_MAP_LUA_BASE PAT_MATCH_FOUND

/* Map.new(file, method) */
static int luab_map_new(lua_State *L)
{
    const char *file = luaL_checkstring(L, 1);
    lua_Integer method =
        luaL_optinteger(L, 2, PAT_MATCH_STR - LUAB_MAP_LUA_BASE);
    struct luab_map *m;
    char *err = NULL;

    luaL_argcheck(L,
                  method >= PAT_MATCH_INT - LUAB_MAP_LUA_BASE &&
                      method <= PAT_MATCH_REG - LUAB_MAP_LUA_BASE,
                  2, "unknown match method");
    method += LUAB_MAP_LUA_BASE;
    /* reading a file would block the worker: HAProxy refuses it too */
    if (!(luab_ctx_kind(L) & (LUAB_CTX_BODY | LUAB_CTX_INIT)))
        return luaL_error(L, "'new': map: cannot load map at runtime.");
    lua_createtable(L, 1, 0);
    m = lua_newuserdata(L, sizeof(*m));
    memset(m, 0, sizeof(*m));
    m->method = (int)method;
    luaL_setmetatable(L, LUAB_MT_MAP_UD);
    if (luab_map_load(m, file, &err) != RC_OK) {
        lua_pushstring(L, err ? err : "cannot load the map");
        free(err);
        return lua_error(L); /* the userdata's __gc frees what was read */
    }
    luab_map_file_list(L, file);
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    lua_pop(L, 1);
    lua_rawseti(L, -2, 0);
    luaL_setmetatable(L, LUAB_MT_MAP);
    return 1;
}

/* Applies <op> ("set", "del", "add") of <key> (<value>) to every map
 * loaded from <file>, by Map.new() or by the configuration; raises
 * "unknown map file" if there is none. "add" adds the pattern unless it
 * is there, as HAProxy: a set with an empty value. */
static int luab_map_edit(lua_State *L, const char *fname, const char *op)
{
    const char *file = luaL_checkstring(L, 1);
    size_t klen;
    const char *key = luaL_checklstring(L, 2, &klen);
    const char *value = op[0] == 's' ? luaL_checkstring(L, 3) : "";
    lua_Integer i, n = 0;
    char *err = NULL;
    int rc = RC_OK, ncfg = 0;

    /* the master's maps are shared by the generations it loads: only a
     * worker edits the configuration's, and every worker sees the edit */
    if (luab_state_of(L)->phase == LUAB_CTX_IDLE && file[0] != '#')
        ncfg = map_edit_shared(file, strstr(fname, "acl") != NULL,
                               op[0] == 'd' ? MAP_EDIT_DEL : MAP_EDIT_SET, key,
                               value, &err);
    if (ncfg < 0)
        rc = RC_ERR;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &luab_map_files_key);
    if (lua_getfield(L, -1, file) == LUA_TTABLE)
        n = (lua_Integer)lua_rawlen(L, -1);
    if (n == 0 && ncfg == 0)
        return luaL_error(L, "'%s': unknown %s file '%s'", fname,
                          strstr(fname, "acl") ? "acl" : "map", file);
    for (i = 1; i <= n && rc == RC_OK; i++) {
        struct luab_map *m;

        lua_rawgeti(L, -1, i);
        m = lua_touserdata(L, -1);
        lua_pop(L, 1);
        if (op[0] == 'd')
            luab_map_del(m, key, klen);
        else
            rc = luab_map_set(m, key, klen, value, &err);
    }
    if (rc != RC_OK) {
        lua_pushfstring(L, "'%s': %s", fname, err ? err : "invalid key");
        free(err);
        return lua_error(L);
    }
    return 0;
}

/* core.set_map(file, key, value) */
static int luab_map_core_set(lua_State *L)
{
    return luab_map_edit(L, "set_map", "set");
}

/* core.del_map(file, key) */
static int luab_map_core_del(lua_State *L)
{
    return luab_map_edit(L, "del_map", "del");
}

/* core.add_acl(file, key) */
static int luab_map_core_add_acl(lua_State *L)
{
    return luab_map_edit(L, "add_acl", "add");
}

/* core.del_acl(file, key) */
static int luab_map_core_del_acl(lua_State *L)
{
    return luab_map_edit(L, "del_acl", "del");
}

static const luaL_Reg luab_map_methods[] = {
    {"lookup", luab_map_lookup},
    {"slookup", luab_map_slookup},
    {NULL, NULL},
};

static const luaL_Reg luab_map_core_funcs[] = {
    {"set_map", luab_map_core_set},
    {"del_map", luab_map_core_del},
    {"add_acl", luab_map_core_add_acl},
    {"del_acl", luab_map_core_del_acl},
    {NULL, NULL},
};

/* Sets Map._NAME and Map.NAME to <method>. */
static void luab_map_const(lua_State *L, const char *name, int method)
{
    lua_pushinteger(L, method - LUAB_MAP_LUA_BASE);
    lua_setfield(L, -2, name + 1);
    lua_pushinteger(L, method - LUAB_MAP_LUA_BASE);
    lua_setfield(L, -2, name);
}

void luab_map_register(lua_State *L)
{
    static const struct {
        const char *name;
        int method;
    } consts[] = {
        {"_int", PAT_MATCH_INT}, {"_ip", PAT_MATCH_IP},
        {"_str", PAT_MATCH_STR}, {"_beg", PAT_MATCH_BEG},
        {"_sub", PAT_MATCH_SUB}, {"_dir", PAT_MATCH_DIR},
        {"_dom", PAT_MATCH_DOM}, {"_end", PAT_MATCH_END},
        {"_reg", PAT_MATCH_REG},
    };
    size_t i;

    luaL_newmetatable(L, LUAB_MT_MAP_UD);
    lua_pushcfunction(L, luab_map_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &luab_map_files_key);
    luab_class_new(L, LUAB_MT_MAP, luab_map_methods);
    lua_createtable(L, 0, 20);
    for (i = 0; i < sizeof(consts) / sizeof(consts[0]); i++)
        luab_map_const(L, consts[i].name, consts[i].method);
    lua_pushcfunction(L, luab_map_new);
    lua_setfield(L, -2, "new");
    lua_setglobal(L, "Map");
    lua_getglobal(L, "core");
    luaL_setfuncs(L, luab_map_core_funcs, 0);
    lua_pop(L, 1);
}

/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The rule actions that edit maps and ACL pattern files at run time, as
 * HAProxy 2.6: "set-map(FILE) KEY VALUE", "del-map(FILE) KEY",
 * "add-acl(FILE) KEY" and "del-acl(FILE) KEY" in http-request and
 * http-response, KEY and VALUE being log-format strings. FILE names a file
 * that the configuration loads as a map (map converters) or as an ACL
 * pattern file ("-f"); each edit applies to every map loaded from it, in
 * this worker and, through the master, in the other workers of the
 * generation (map_edit_shared). The master's copy is never edited, so a
 * reload starts from the files, as HAProxy does. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "core/action.h"
#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/channel.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/logformat.h"
#include "core/map.h"
#include "core/proxy.h"
#include "core/util.h"
#include "core/worker.h"

#define MAP_ACT_VALUE_MAX 8192 /* bytes of a rendered key or value */

struct map_act {
    enum map_edit_op op;
    int acl; /* edits ACL pattern files, not maps */
    char *file;
    struct logformat *key;
    struct logformat *value; /* set-map only */
};

int map_edit(const char *ref, int acl, enum map_edit_op op, const char *key,
             const char *value, char **err)
{
    struct map *m = map_find_ref(ref, acl);
    int n = 0, rc;

    /* set: replace every entry of the key, or add one (add-acl: add the
     * pattern unless it is there) */
    for (; m != NULL; m = map_next_same(m), n++) {
        if (op == MAP_EDIT_DEL) {
            map_del(m, key);
            continue;
        }
        rc = map_set(m, key, value, err);
        if (rc == RC_DECLINED)
            rc = map_add(m, key, value, err);
        if (rc != RC_OK)
            return -1;
    }
    return n;
}

/* Packs the strings of an edit one after the other, NUL-terminated, into
 * <buf> of <size> bytes; returns the length, 0 if they do not fit. */
static size_t map_edit_pack(char *buf, size_t size, const char *const *strs,
                            int n)
{
    size_t used = 0, l;
    int i;

    for (i = 0; i < n; used += l, i++) {
        l = strlen(strs[i]) + 1;
        if (l > size - used)
            return 0;
        memcpy(buf + used, strs[i], l);
    }
    return used;
}

/* The edit travels as "ref\0key\0value\0" with op | acl << 8. */
int map_edit_shared(const char *ref, int acl, enum map_edit_op op,
                    const char *key, const char *value, char **err)
{
    const char *strs[3] = {ref, key, value};
    int n = map_edit(ref, acl, op, key, value, err);
    char data[CHANNEL_DATA_MAX];
    size_t len;

    if (n <= 0)
        return n;
    len = map_edit_pack(data, sizeof(data), strs, 3);
    if (len == 0 ||
        worker_share(CHANNEL_MAP_EDIT, (int)op | acl << 8, data, len) == RC_ERR)
        log_warning("an edit of '%s' could not be sent to the other workers",
                    ref);
    return n;
}

void map_edit_receive(int arg, const char *data, size_t len)
{
    const char *ref = data, *key, *value;
    char *err = NULL;

    /* three NUL-terminated strings, the last ending the record */
    if (len == 0 || data[len - 1] != '\0')
        return;
    key = ref + strlen(ref) + 1;
    if (key >= data + len)
        return;
    value = key + strlen(key) + 1;
    if (value >= data + len)
        return;
    if (map_edit(ref, (arg >> 8) & 1, (enum map_edit_op)(arg & 0xff), key,
                 value, &err) < 0)
        log_debug("shared edit of '%s': %s", ref, err ? err : "invalid");
    free(err);
}

/* Runs the action: renders the key (and value) and edits the file. */
static enum act_ret map_act_run(struct rule *r, struct stream *s,
                                unsigned flags)
{
    const struct map_act *ma = r->arg;
    char key[MAP_ACT_VALUE_MAX], value[MAP_ACT_VALUE_MAX];
    char *err = NULL;

    logformat_render(ma->key, s, key, sizeof(key));
    value[0] = '\0';
    if (ma->value != NULL)
        logformat_render(ma->value, s, value, sizeof(value));
    /* a key or value the map's type refuses changes nothing, as HAProxy */
    if (map_edit_shared(ma->file, ma->acl, ma->op, key, value, &err) < 0)
        log_debug("%s:%d: %s", r->file, r->line, err ? err : "invalid entry");
    free(err);
    return ACT_RET_CONT;
}

static void map_act_free(struct rule *r)
{
    struct map_act *ma = r->arg;

    if (ma == NULL)
        return;
    logformat_free(ma->key);
    logformat_free(ma->value);
    free(ma->file);
    free(ma);
}

/* Parses "set-map(FILE) KEY VALUE", "del-map(FILE) KEY", "add-acl(FILE)
 * KEY" or "del-acl(FILE) KEY". */
static int map_act_parse(struct cfg_ctx *ctx, struct rule *r, enum ruleset rs,
                         int *cur, int argc, char **args, char **err)
{
    const char *open = strchr(args[0], '(');
    size_t len = strlen(args[0]);
    int nargs = strncmp(args[0], "set-map(", 8) == 0 ? 2 : 1;
    unsigned flags = LF_PARSE_HTTP | LF_PARSE_HTTP_MODE;
    struct map_act *ma;
    int i;

    if (args[0][len - 1] != ')')
        return set_err(err, "'%s': expects '%.*s(<file-name>)'", args[0],
                       (int)(open - args[0]), args[0]);
    for (i = 1; i <= nargs; i++)
        if (i >= argc || strcmp(args[i], "if") == 0 ||
            strcmp(args[i], "unless") == 0)
            return set_err(err, "'%s' expects exactly %d argument%s", args[0],
                           nargs, nargs > 1 ? "s" : "");
    ma = xcalloc(1, sizeof(*ma));
    r->arg = ma;
    r->free = map_act_free;
    r->run = map_act_run;
    ma->op = args[0][0] == 'd' ? MAP_EDIT_DEL : MAP_EDIT_SET;
    ma->acl = strstr(args[0], "-acl(") != NULL;
    ma->file = xstrndup(open + 1, (size_t)(args[0] + len - 2 - open));
    ma->key = logformat_parse(args[1], flags, err);
    if (ma->key == NULL)
        return RC_ERR;
    if (nargs > 1 && (ma->value = logformat_parse(args[2], flags, err)) == NULL)
        return RC_ERR;
    *cur = 1 + nargs;
    return RC_OK;
}

#define MAP_ACT_RULESETS                                                       \
    (RULESET_BIT(RULESET_HTTP_REQ) | RULESET_BIT(RULESET_HTTP_RES))

static const struct action_kw map_actions[] = {
    {"set-map(", MAP_ACT_RULESETS, 1, map_act_parse},
    {"del-map(", MAP_ACT_RULESETS, 1, map_act_parse},
    {"add-acl(", MAP_ACT_RULESETS, 1, map_act_parse},
    {"del-acl(", MAP_ACT_RULESETS, 1, map_act_parse},
    {NULL, 0, 0, NULL},
};

void map_act_init(void)
{
    action_register(map_actions);
}

/* Warns about the map actions of <l> naming a file nothing loads: HAProxy
 * accepts them and they change nothing. */
static void map_act_check_list(const struct rule_list *l)
{
    const struct rule *r;
    const struct map_act *ma;

    for (r = l->first; r != NULL; r = r->next) {
        if (r->kw == NULL || r->kw->parse != map_act_parse)
            continue;
        ma = r->arg;
        if (map_find_ref(ma->file, ma->acl) == NULL)
            log_warning("%s:%d: '%.*s': no %s '%s' is loaded by the "
                        "configuration: the rule will change nothing",
                        r->file, r->line, (int)strcspn(r->kw->name, "("),
                        r->kw->name, ma->acl ? "ACL pattern file" : "map",
                        ma->file);
    }
}

void map_act_post_parse(struct cfg *cfg)
{
    struct proxy *px;

    for (px = cfg->proxies; px != NULL; px = px->next) {
        map_act_check_list(&px->rules[RULESET_HTTP_REQ]);
        map_act_check_list(&px->rules[RULESET_HTTP_RES]);
    }
}

/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The runtime API's map and ACL commands (HAProxy's names and answers):
 * show, add, set, del and clear on the map files and ACL pattern files
 * loaded by the configuration, named by path or "#id". Edits change this
 * worker's copy; the master sends them to every worker (CLI_F_WRITE). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "core/acl.h"
#include "core/cli.h"
#include "core/errors.h"
#include "core/map.h"

/* <arg> of the rows: 0 for maps, 1 for ACL pattern files. */
#define MAP_CLI_MAP ((void *)0)
#define MAP_CLI_ACL ((void *)1)

/* The map <ref> names, or NULL after the HAProxy-style complaint. */
static struct map *map_cli_find(struct cli_req *req, const char *ref, int acl)
{
    struct map *m = map_find_ref(ref, acl);

    if (m == NULL)
        cli_fail(req, "Unknown %s identifier. Please use #<id> or <file>.\n",
                 acl ? "ACL" : "map");
    return m;
}

/* "show map [<map>]", "show acl [<acl>]". */
static int map_cli_show(struct cli_req *req, int argc, char **args, void *arg)
{
    int acl = arg == MAP_CLI_ACL, id;
    struct map *m;
    const char *path, *key, *value;
    const void *ptr;
    size_t i;

    if (argc < 3) {
        cli_printf(req, "# id (file) description\n");
        for (m = map_next(NULL, acl); m != NULL; m = map_next(m, acl)) {
            map_describe(m, &id, &path);
            cli_printf(req,
                       "%d (%s) pattern loaded from file '%s' used by %s. "
                       "entry_cnt=%zu\n",
                       id, path, path, acl ? "acl" : "map", map_size(m));
        }
        return RC_OK;
    }
    if ((m = map_cli_find(req, args[2], acl)) == NULL)
        return RC_ERR;
    for (i = 0; map_entry_get(m, i, &key, &value, &ptr); i++)
        cli_printf(req, acl ? "%p %s\n" : "%p %s %s\n", ptr, key, value);
    return RC_OK;
}

/* "get map <map> <value>", "get acl <acl> <value>": the entry the value
 * matches, in HAProxy's layout. */
static int map_cli_get(struct cli_req *req, int argc, char **args, void *arg)
{
    static const char *const outs[] = {"str", "int", "ip", "str"};
    int acl = arg == MAP_CLI_ACL, match, icase, found;
    enum map_out out;
    const char *key, *value;
    struct map *m;

    if (argc != 4)
        return cli_fail(req, "Missing %s identifier and/or key.\n",
                        acl ? "ACL" : "map");
    if ((m = map_cli_find(req, args[2], acl)) == NULL)
        return RC_ERR;
    map_describe_match(m, &match, &icase, &out);
    found = map_get(m, args[3], &key, &value);
    cli_printf(req, "type=%s, case=%s, %s=%s", acl_method_name(match),
               icase ? "insensitive" : "sensitive", acl ? "match" : "found",
               found > 0 ? "yes" : "no");
    if (found > 0) {
        cli_printf(req, ", idx=%s, %s=\"%s\"",
                   match == PAT_MATCH_STR || match == PAT_MATCH_BEG ||
                           match == PAT_MATCH_IP
                       ? "tree"
                       : "list",
                   acl ? "pattern" : "key", key);
        if (!acl)
            cli_printf(req, ", value=\"%s\", type=\"%s\"", value, outs[out]);
    }
    cli_printf(req, "\n");
    return RC_OK;
}

/* "add map <map> <key> <value>", "add acl <acl> <pattern>". */
static int map_cli_add(struct cli_req *req, int argc, char **args, void *arg)
{
    int acl = arg == MAP_CLI_ACL;
    struct map *m;
    char *err = NULL;

    if (argc != (acl ? 4 : 5))
        return cli_fail(req, acl ? "'add acl' expects two parameters: ACL "
                                   "identifier and pattern.\n"
                                 : "'add map' expects three parameters: map "
                                   "identifier, key and value.\n");
    for (m = map_cli_find(req, args[2], acl); m != NULL; m = map_next_same(m))
        if (map_add(m, args[3], acl ? "" : args[4], &err) != RC_OK) {
            cli_fail(req, "%s.\n", err != NULL ? err : "invalid entry");
            free(err);
            return RC_ERR;
        }
    return req->failed ? RC_ERR : RC_OK;
}

/* "set map <map> <key> <value>". */
static int map_cli_set(struct cli_req *req, int argc, char **args, void *arg)
{
    struct map *m;
    char *err = NULL;
    int rc;

    if (argc != 5)
        return cli_fail(req, "'set map' expects three parameters: map "
                             "identifier, key and value.\n");
    if ((m = map_cli_find(req, args[2], 0)) == NULL)
        return RC_ERR;
    for (rc = RC_DECLINED; m != NULL; m = map_next_same(m)) {
        int one = map_set(m, args[3], args[4], &err);

        if (one == RC_ERR) {
            rc = RC_ERR;
            break;
        }
        if (one == RC_OK)
            rc = RC_OK;
    }
    if (rc == RC_DECLINED)
        return cli_fail(req, "Key not found.\n");
    if (rc != RC_OK) {
        cli_fail(req, "%s.\n", err != NULL ? err : "invalid value");
        free(err);
    }
    return rc;
}

/* "del map <map> <key>", "del acl <acl> <pattern>". */
static int map_cli_del(struct cli_req *req, int argc, char **args, void *arg)
{
    int acl = arg == MAP_CLI_ACL;
    struct map *m;
    size_t n = 0;

    if (argc != 4)
        return cli_fail(req,
                        "'del %s' expects two parameters: %s identifier "
                        "and key.\n",
                        acl ? "acl" : "map", acl ? "ACL" : "map");

    if ((m = map_cli_find(req, args[2], acl)) == NULL)
        return RC_ERR;
    for (; m != NULL; m = map_next_same(m))
        n += map_del(m, args[3]);
    if (n == 0)
        return cli_fail(req, "Key not found.\n");
    return RC_OK;
}

/* "clear map <map>", "clear acl <acl>". */
static int map_cli_clear(struct cli_req *req, int argc, char **args, void *arg)
{
    int acl = arg == MAP_CLI_ACL;
    struct map *m;

    if (argc != 3)
        return cli_fail(req, "'clear %s' expects a %s identifier.\n",
                        acl ? "acl" : "map", acl ? "ACL" : "map");
    if ((m = map_cli_find(req, args[2], acl)) == NULL)
        return RC_ERR;
    for (; m != NULL; m = map_next_same(m))
        map_clear(m);
    return RC_OK;
}

static const struct cli_cmd map_cli_cmds[] = {
    {{"show", "map", NULL},
     "show map [<map>]                        : report available maps or "
     "dump a map's contents",
     CLI_LVL_USER,
     0,
     map_cli_show,
     MAP_CLI_MAP},
    {{"show", "acl", NULL},
     "show acl [<acl>]                        : report available acls or "
     "dump an acl's contents",
     CLI_LVL_USER,
     0,
     map_cli_show,
     MAP_CLI_ACL},
    {{"get", "map", NULL},
     "get map <map> <value>                   : report the keys and values "
     "matching a sample for a map",
     CLI_LVL_USER,
     0,
     map_cli_get,
     MAP_CLI_MAP},
    {{"get", "acl", NULL},
     "get acl <acl> <value>                   : report the patterns "
     "matching a sample for an ACL",
     CLI_LVL_USER,
     0,
     map_cli_get,
     MAP_CLI_ACL},
    {{"add", "map", NULL},
     "add map <map> <key> <value>             : add a map entry",
     CLI_LVL_OPER,
     CLI_F_WRITE,
     map_cli_add,
     MAP_CLI_MAP},
    {{"add", "acl", NULL},
     "add acl <acl> <pattern>                 : add an acl entry",
     CLI_LVL_OPER,
     CLI_F_WRITE,
     map_cli_add,
     MAP_CLI_ACL},
    {{"set", "map", NULL},
     "set map <map> <key> <value>             : modify a map entry",
     CLI_LVL_OPER,
     CLI_F_WRITE,
     map_cli_set,
     MAP_CLI_MAP},
    {{"del", "map", NULL},
     "del map <map> <key>                     : delete map entries "
     "matching <key>",
     CLI_LVL_OPER,
     CLI_F_WRITE,
     map_cli_del,
     MAP_CLI_MAP},
    {{"del", "acl", NULL},
     "del acl <acl> <pattern>                 : delete acl entries "
     "matching <pattern>",
     CLI_LVL_OPER,
     CLI_F_WRITE,
     map_cli_del,
     MAP_CLI_ACL},
    {{"clear", "map", NULL},
     "clear map <map>                         : clear the contents of a map",
     CLI_LVL_OPER,
     CLI_F_WRITE,
     map_cli_clear,
     MAP_CLI_MAP},
    {{"clear", "acl", NULL},
     "clear acl <acl>                         : clear the contents of an acl",
     CLI_LVL_OPER,
     CLI_F_WRITE,
     map_cli_clear,
     MAP_CLI_ACL},
    {{NULL}, NULL, 0, 0, NULL, NULL},
};

void map_cli_init(void)
{
    cli_register(map_cli_cmds);
}

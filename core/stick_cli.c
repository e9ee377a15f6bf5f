/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The runtime API of stick tables, in HAProxy's words and format:
 * "show table [NAME [data.TYPE OP VALUE] [key KEY]]" and
 * "clear table NAME [data.TYPE OP VALUE] [key KEY]". The tables are
 * shared, so any one worker answers for all. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/errors.h"
#include "core/stick_table.h"
#include "core/util.h"
#include "core/worker.h"

static int clear_cmd = 1; /* the argument of "clear table" */

/* What a command selects, and the request it answers. */
struct table_filter {
    struct cli_req *req;
    struct stick_table *t;
    int has_cond;
    struct stick_cond cond;
    int has_key;
    struct stick_key key;
    int clear;
};

/* Parses "data.TYPE OP VALUE" at <args>[0..2] into <f>; RC_OK or RC_ERR
 * with the answer written, in HAProxy's words. */
static int filter_parse_data(struct table_filter *f, int argc, char **args)
{
    char *end;
    int dt, cmp;

    dt = stick_dt_find(args[0] + 5);
    if (dt < 0)
        return cli_fail(f->req, "Filter entry #1: Unknown data type\n");
    if (f->t->off[dt] < 0)
        return cli_fail(f->req, "Filter entry #1: Data type not stored in "
                                "this table\n");
    cmp = argc > 1 ? stick_cmp_find(args[1]) : -1;
    if (cmp < 0)
        return cli_fail(f->req, "Filter entry #1: Require and operator among "
                                "\"eq\", \"ne\", \"le\", \"ge\", \"lt\", "
                                "\"gt\"\n");
    f->cond.dt = dt;
    f->cond.cmp = cmp;
    if (argc < 3 || args[2][0] == '\0' ||
        (f->cond.value = strtoll(args[2], &end, 10), *end != '\0'))
        return cli_fail(f->req, "Filter entry #1: Require a valid integer "
                                "value to compare against\n");
    f->has_cond = 1;
    return RC_OK;
}

/* Parses the words after the table name into <f>; RC_OK or RC_ERR with
 * the answer written. */
static int filter_parse(struct table_filter *f, int argc, char **args)
{
    int i;

    for (i = 0; i < argc; i++) {
        if (strcmp(args[i], "key") == 0) {
            if (i + 1 >= argc)
                return cli_fail(f->req, "Key value expected\n");
            if (!stick_key_parse(f->t, args[++i], &f->key))
                return cli_fail(f->req, "Unable to parse the key\n");
            f->has_key = 1;
        } else if (strncmp(args[i], "data.", 5) == 0 && !f->has_cond) {
            if (filter_parse_data(f, argc - i, args + i) != RC_OK)
                return RC_ERR;
            i += 2;
        } else {
            return cli_fail(f->req, "Optional argument only supports "
                                    "\"data.<store_data_type>\" <operator> "
                                    "<value> and key <key>\n");
        }
    }
    return RC_OK;
}

/* 1 if <v> passes <f>. */
static int filter_match(const struct table_filter *f,
                        const struct stick_view *v)
{
    if (f->has_key && (v->key.len != f->key.len ||
                       memcmp(v->key.data, f->key.data, f->key.len) != 0))
        return 0;
    return !f->has_cond || stick_cond_match(&f->cond, v);
}

/* Writes one entry as HAProxy's "show table" does. */
static void entry_print(const struct table_filter *f,
                        const struct stick_view *v)
{
    char key[2 * STICK_KEY_MAX + 1];
    int dt;

    stick_key_print(f->t, &v->key, key, sizeof(key));
    cli_printf(f->req, "%#x: key=%s use=%u exp=%lld", v->index, key, v->refs,
               v->expire_in < 0 ? 0 : v->expire_in);
    for (dt = 0; dt < STICK_DT_COUNT; dt++) {
        if (f->t->off[dt] < 0)
            continue;
        if (stick_dt_is_rate(dt))
            cli_printf(f->req, " %s(%u)=%llu", stick_dt_name(dt),
                       f->t->period[dt], v->val[dt]);
        else
            cli_printf(f->req, " %s=%llu", stick_dt_name(dt), v->val[dt]);
    }
    cli_printf(f->req, "\n");
}

/* stick_table_walk()'s callback: prints or selects for removal. */
static int entry_visit(const struct stick_view *v, void *arg)
{
    struct table_filter *f = arg;

    if (!filter_match(f, v))
        return 0;
    if (!f->clear)
        entry_print(f, v);
    return f->clear;
}

/* Writes the "# table:" line of <t>. */
static void table_header(struct cli_req *req, struct stick_table *t)
{
    cli_printf(req, "# table: %s, type: %s, size:%u, used:%u\n", t->name,
               stick_key_type_name(t->type), t->size, stick_table_used(t));
}

/* "show table [NAME ...]" and "clear table NAME ...". */
static int cli_table(struct cli_req *req, int argc, char **args, void *arg)
{
    struct table_filter *f;
    struct stick_table *t;
    int rc;

    if (argc < 3) {
        if (arg != NULL)
            return cli_fail(req, "Required arguments: <table> "
                                 "\"data.<store_data_type>\" <operator> "
                                 "<value> or <table> key <key>\n");
        for (t = stick_tables(worker_cfg()); t != NULL; t = t->next)
            table_header(req, t);
        return RC_OK;
    }
    t = stick_table_find(worker_cfg(), args[2]);
    if (t == NULL)
        return cli_fail(req, "No such table\n");
    f = xcalloc(1, sizeof(*f));
    f->req = req;
    f->t = t;
    f->clear = arg != NULL;
    rc = filter_parse(f, argc - 3, args + 3);
    if (rc == RC_OK) {
        if (!f->clear)
            table_header(req, t);
        stick_table_walk(t, entry_visit, f);
    }
    free(f);
    return rc;
}

static const struct cli_cmd stick_cli_cmds[] = {
    {{"show", "table", NULL},
     "show table [<table>]                    : report table usage stats or "
     "dump this table's contents",
     CLI_LVL_USER,
     0,
     cli_table,
     NULL},
    {{"clear", "table", NULL},
     "clear table <table> [<filter>]*         : remove an entry from a "
     "table",
     CLI_LVL_OPER,
     0,
     cli_table,
     &clear_cmd},
    {{NULL}, NULL, 0, 0, NULL, NULL},
};

void stick_cli_init(void)
{
    cli_register(stick_cli_cmds);
}

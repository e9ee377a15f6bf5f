/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* luaproxy's entry point: the command line (HAProxy's options, so that
 * operators keep their habits) and the module list, the one place where
 * core, http, tcp and the Lua bindings are wired together. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <lua.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <zlib.h>

#include "core/auth.h"
#include "core/cfg.h"
#include "core/cfgcond.h"
#include "core/cfgparse.h"
#include "core/core.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/master.h"
#include "core/module.h"
#include "core/stick_table.h"
#include "http/http.h"
#include "lua_api/luab.h"
#include "tcp/tcp.h"

/* The modules, in the order their registries are filled. */
static const struct module *const module_list[] = {
    &core_module,       &auth_module, &stick_module, &http_module,
    &http_cache_module, &tcp_module,  &luab_module,  NULL,
};

static const char *const build_features[] = {
    "LUA", "OPENSSL", "ZLIB", "PCRE2", "LIBEVENT", NULL,
};

#define MAX_PATHS 64

struct options {
    struct master_opts m;
    char *paths[MAX_PATHS];
    int check;
    int version;
    int cc_argc;
    char **cc_argv;
};

/* Prints the usage on stderr. */
static void usage(const char *prog)
{
    fprintf(stderr,
            "Usage : %s -f <cfgfile|cfgdir>* [-c] [-d|-db] [-D] [-p <pidfile>] "
            "[-W] [-q] [-v|-vv] [-cc <expr>]\n"
            "        -f <path> : configuration file, or directory whose *.cfg "
            "files are read in lexical order (repeatable)\n"
            "        -c : check the configuration and exit\n"
            "        -cc <expr> : evaluate a condition as in .if; exit 0 if "
            "true, 1 if false\n"
            "        -d, -db : stay in the foreground, messages on stderr\n"
            "        -D : run as a daemon\n"
            "        -p <file> : write the master's pid to <file>\n"
            "        -W : master-worker mode (always on)\n"
            "        -q : quiet: only alerts on stderr\n"
            "        -v : version; -vv : version, build options and "
            "libraries\n"
            "        -h : this help\n",
            prog);
}

/* Prints the version, and with <verbose> the build and library versions. */
static void print_version(int verbose)
{
    char pcre[64];

    printf("luaproxy version %s\n", PACKAGE_VERSION);
    if (!verbose)
        return;
    pcre2_config(PCRE2_CONFIG_VERSION, pcre);
    printf("Build options : CFLAGS=\"%s\"\n", BUILD_CFLAGS);
    printf("Feature list : +LUA +OPENSSL +ZLIB +PCRE2 +LIBEVENT\n");
    printf("Built with %s\n", LUA_RELEASE);
    printf("Built with libevent %s, running with libevent %s\n",
           LIBEVENT_VERSION, event_get_version());
    printf("Built with %s, running with %s\n", OPENSSL_VERSION_TEXT,
           OpenSSL_version(OPENSSL_VERSION));
    printf("Built with zlib %s, running with zlib %s\n", ZLIB_VERSION,
           zlibVersion());
    printf("Built with PCRE2 %d.%d, running with PCRE2 %s\n", PCRE2_MAJOR,
           PCRE2_MINOR, pcre);
    printf("Workers: processes forked by a master (nbproc / nbthread)\n");
}

/* Parses the command line into <o>; exits on usage errors. */
static void parse_args(int argc, char **argv, struct options *o)
{
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-f") == 0 && i + 1 < argc) {
            if (o->m.npaths == MAX_PATHS) {
                fprintf(stderr, "%s: too many -f\n", argv[0]);
                exit(1);
            }
            o->paths[o->m.npaths++] = argv[++i];
        } else if (strcmp(a, "-c") == 0) {
            o->check = 1;
        } else if (strcmp(a, "-cc") == 0 && i + 1 < argc) {
            o->cc_argc = argc - i - 1;
            o->cc_argv = argv + i + 1;
            return;
        } else if (strcmp(a, "-d") == 0 || strcmp(a, "-db") == 0) {
            o->m.foreground = 1;
        } else if (strcmp(a, "-D") == 0) {
            o->m.daemon = 1;
        } else if (strcmp(a, "-p") == 0 && i + 1 < argc) {
            o->m.pidfile = argv[++i];
        } else if (strcmp(a, "-W") == 0 || strcmp(a, "-Ws") == 0) {
            /* master-worker is how we always run */
        } else if (strcmp(a, "-q") == 0) {
            log_stderr_level = LOG_LVL_ALERT;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "-vv") == 0) {
            o->version = a[2] == 'v' ? 2 : 1;
        } else if (strcmp(a, "-h") == 0) {
            usage(argv[0]);
            exit(0);
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", argv[0], a);
            usage(argv[0]);
            exit(1);
        }
    }
    o->m.paths = o->paths;
}

int main(int argc, char **argv)
{
    struct options o;
    struct cfg *cfg;
    char *err = NULL;
    int res;

    memset(&o, 0, sizeof(o));
    log_init();
    parse_args(argc, argv, &o);
    cfgcond_set_build(PACKAGE_VERSION, build_features);
    if (o.version) {
        print_version(o.version > 1);
        return 0;
    }
    if (o.cc_argc > 0) {
        if (cfgcond_eval(o.cc_argc, o.cc_argv, &res, &err) != RC_OK) {
            fprintf(stderr, "%s: %s\n", argv[0], err);
            free(err);
            return 2;
        }
        return res ? 0 : 1;
    }
    if (o.m.npaths == 0) {
        fprintf(stderr, "%s: no configuration file given (-f)\n", argv[0]);
        usage(argv[0]);
        return 1;
    }
    if (modules_init(module_list) != RC_OK)
        return 1;
    cfgparse_register_modules(module_list);
    cfg = master_load(&o.m);
    if (cfg == NULL)
        return 1;
    if (o.check) {
        printf("Configuration file is valid\n");
        cfg_free(cfg);
        return 0;
    }
    if (master_bind(cfg, NULL) != RC_OK) {
        cfg_free(cfg);
        return 1;
    }
    return master_run(cfg, &o.m);
}

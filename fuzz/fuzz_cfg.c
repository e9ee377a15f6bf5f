/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* libFuzzer target for the configuration parser (core/cfgparse.c and every
 * keyword handler the modules register). Each input is a configuration text
 * parsed into a fresh generation with main's module list; a text that parses
 * without errors also goes through the post-parse checks, as "-c" would do.
 * The generation is then freed, so LeakSanitizer sees any allocation a
 * keyword handler forgets. The parser's messages are thrown away, and host
 * names are never resolved: a fuzzer must not send DNS queries. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <fcntl.h>
#include <netdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/cfgcond.h"
#include "core/cfgparse.h"
#include "core/core.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/module.h"
#include "http/http.h"
#include "lua_api/luab.h"
#include "tcp/tcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The sanitizers' runtime, when linked in, takes a descriptor for its
 * reports; weak, so that the replay driver also links without one. */
void __sanitizer_set_report_fd(void *fd) __attribute__((weak));

/* Aborts unless <cond> holds; kept in release builds on purpose. */
#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond))                                                           \
            abort();                                                           \
    } while (0)

/* The same modules as main.c, in the same order. */
static const struct module *const fuzz_modules[] = {
    &core_module, &http_module, &tcp_module, &luab_module, NULL,
};

/* What main.c declares to ".if feature()" and ".if version_atleast()"; a
 * fixed version, so that an input takes the same branches on every build. */
static const char *const fuzz_features[] = {
    "LUA", "OPENSSL", "ZLIB", "PCRE2", "LIBEVENT", NULL,
};

/* The real stderr, and /dev/null to put in its place while parsing; -1
 * when FUZZ_CFG_VERBOSE is set and the messages are wanted. */
static int fuzz_stderr_fd = -1;
static int fuzz_null_fd = -1;

/* Without a resolver, "server s1 example.com:80" fails to parse as it would
 * on a host with no DNS; overrides the C library's for this binary only. */
int getaddrinfo(const char *node, const char *service,
                const struct addrinfo *hints, struct addrinfo **res)
{
    return EAI_NONAME;
}

/* Keeps a copy of the real stderr for sanitizer reports: cfg_alert() goes
 * through log_send(), which does not consult log_stderr_level, so the only
 * way to silence the parser is to point descriptor 2 elsewhere. */
static void fuzz_quiet_init(void)
{
    fuzz_stderr_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    fuzz_null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    FUZZ_CHECK(fuzz_stderr_fd >= 0 && fuzz_null_fd >= 0);
    if (__sanitizer_set_report_fd != NULL)
        __sanitizer_set_report_fd((void *)(intptr_t)fuzz_stderr_fd);
}

/* Points descriptor 2 at /dev/null (<on>) or back at the real stderr. */
static void fuzz_quiet(int on)
{
    if (fuzz_null_fd < 0)
        return;
    FUZZ_CHECK(dup2(on ? fuzz_null_fd : fuzz_stderr_fd, STDERR_FILENO) ==
               STDERR_FILENO);
}

/* Fills the registries once per process, as main does before parsing. */
static void fuzz_init(void)
{
    static int done;

    if (done)
        return;
    done = 1;
    if (getenv("FUZZ_CFG_VERBOSE") != NULL) {
        log_stderr_level = LOG_LVL_DEBUG;
    } else {
        log_stderr_level = -1;
        fuzz_quiet_init();
    }
    cfgcond_set_build("0.1.0", fuzz_features);
    FUZZ_CHECK(modules_init(fuzz_modules) == RC_OK);
    cfgparse_register_modules(fuzz_modules);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    struct cfg *cfg;

    FUZZ_CHECK(text != NULL);
    fuzz_init();
    if (size)
        memcpy(text, data, size);
    text[size] = '\0';
    fuzz_quiet(1);
    cfg = cfg_new();
    if (cfgparse_buffer(cfg, "fuzz.cfg", text) == 0)
        cfgparse_check(cfg);
    cfg_free(cfg);
    fuzz_quiet(0);
    free(text);
    return 0;
}

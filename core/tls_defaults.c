/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* HAProxy's global TLS defaults: ca-base, crt-base, the
 * ssl-default-bind- and ssl-default-server- ciphers, ciphersuites and
 * options, ssl-default-bind-curves, ssl-dh-param-file,
 * tune.ssl.default-dh-param and ssl-server-verify. luaproxy has no TLS
 * yet ("bind ... ssl" is refused), so they change nothing; they are
 * accepted because configurations written for HAProxy set them whether
 * they use TLS or not (Debian's own does), and checked where HAProxy
 * checks them at parse time (options, versions, the DH file, bounds),
 * so that a typo still fails "-c". The cipher lists are taken as they
 * are, as HAProxy takes them until a TLS listener uses them. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/cfgparse.h"
#include "core/cfgval.h"
#include "core/core.h"
#include "core/errors.h"
#include "core/util.h"

/* "ca-base DIR", "crt-base DIR" */
static int tls_parse_base(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                          int argc, char **args, char **err)
{
    (void)ctx;
    if (argc < 2)
        return set_err(err,
                       "global statement '%s' expects a directory path as an "
                       "argument",
                       kw->name);
    if (argc > 2)
        return set_err(err, "'%s' cannot handle unexpected argument '%s'",
                       kw->name, args[2]);
    return RC_OK;
}

/* 1 if <v> names an SSL/TLS version ("SSLv3", "TLSv1.0"... "TLSv1.3"). */
static int tls_version_known(const char *v)
{
    static const char *const names[] = {"SSLv3", "TLSv1.0", "TLSv1.1",
                                        "TLSv1.2", "TLSv1.3"};

    return cfg_word_index(v, names, 5) >= 0;
}

/* 1 if <w> is a no-/force- protocol option. */
static int tls_method_option(const char *w)
{
    static const char *const names[] = {
        "no-sslv3",     "no-tlsv10",    "no-tlsv11",    "no-tlsv12",
        "no-tlsv13",    "force-sslv3",  "force-tlsv10", "force-tlsv11",
        "force-tlsv12", "force-tlsv13",
    };

    return cfg_word_index(w, names, 10) >= 0;
}

/* "ssl-default-bind-options ..." and "ssl-default-server-options ...":
 * HAProxy's words, "prefer-client-ciphers" for listeners only. */
static int tls_parse_options(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                             int argc, char **args, char **err)
{
    int bind = strstr(kw->name, "-bind-") != NULL, i;

    (void)ctx;
    for (i = 1; i < argc; i++) {
        if (strcmp(args[i], "ssl-min-ver") == 0 ||
            strcmp(args[i], "ssl-max-ver") == 0) {
            if (i + 1 >= argc)
                return set_err(err,
                               "'%s' : missing the ssl/tls version on global "
                               "statement '%s'",
                               args[i], kw->name);
            if (!tls_version_known(args[++i]))
                return set_err(err,
                               "'%s' : unknown ssl/tls version on global "
                               "statement '%s'",
                               args[i], kw->name);
        } else if (strcmp(args[i], "no-tls-tickets") != 0 &&
                   !(bind && strcmp(args[i], "prefer-client-ciphers") == 0) &&
                   !tls_method_option(args[i])) {
            return set_err(err, "unknown option '%s' on global statement '%s'",
                           args[i], kw->name);
        }
    }
    return RC_OK;
}

/* "ssl-dh-param-file FILE": the file must hold DH parameters, as HAProxy
 * loads them at once. */
static int tls_parse_dh_file(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                             int argc, char **args, char **err)
{
    BIO *in = BIO_new_file(args[1], "r");
    EVP_PKEY *params = NULL;

    (void)ctx;
    (void)argc;
    if (in != NULL) {
        params = PEM_read_bio_Parameters(in, NULL);
        BIO_free(in);
    }
    ERR_clear_error();
    if (params == NULL || EVP_PKEY_base_id(params) != EVP_PKEY_DH) {
        EVP_PKEY_free(params);
        return set_err(err, "'%s': unable to load DH parameters from file <%s>",
                       kw->name, args[1]);
    }
    EVP_PKEY_free(params);
    return RC_OK;
}

/* "tune.ssl.default-dh-param N": at least 1024. */
static int tls_parse_dh_bits(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                             int argc, char **args, char **err)
{
    long long v;
    char *why = NULL;

    (void)ctx;
    (void)argc;
    if (cfgval_int(args[1], 1024, INT_MAX, &v, &why) != RC_OK) {
        free(why);
        return set_err(err, "'%s' expects a value >= 1024", kw->name);
    }
    return RC_OK;
}

/* "ssl-server-verify none|required" */
static int tls_parse_verify(struct cfg_ctx *ctx, const struct cfg_kw *kw,
                            int argc, char **args, char **err)
{
    static const char *const names[] = {"none", "required"};

    (void)ctx;
    (void)argc;
    if (cfg_word_index(args[1], names, 2) < 0)
        return set_err(err, "'%s' expects 'none' or 'required' as argument",
                       kw->name);
    return RC_OK;
}

const struct cfg_kw tls_defaults_keywords[] = {
    {"ca-base", CFG_SEC_GLOBAL, 0, -1, tls_parse_base, 0, 0, 0},
    {"crt-base", CFG_SEC_GLOBAL, 0, -1, tls_parse_base, 0, 0, 0},
    {"ssl-default-bind-ciphers", CFG_SEC_GLOBAL, 1, 1, cfg_ignore, 0, 0, 0},
    {"ssl-default-bind-ciphersuites", CFG_SEC_GLOBAL, 1, 1, cfg_ignore, 0, 0,
     0},
    {"ssl-default-bind-curves", CFG_SEC_GLOBAL, 1, 1, cfg_ignore, 0, 0, 0},
    {"ssl-default-server-ciphers", CFG_SEC_GLOBAL, 1, 1, cfg_ignore, 0, 0, 0},
    {"ssl-default-server-ciphersuites", CFG_SEC_GLOBAL, 1, 1, cfg_ignore, 0, 0,
     0},
    {"ssl-default-bind-options", CFG_SEC_GLOBAL, 0, -1, tls_parse_options, 0, 0,
     0},
    {"ssl-default-server-options", CFG_SEC_GLOBAL, 0, -1, tls_parse_options, 0,
     0, 0},
    {"ssl-dh-param-file", CFG_SEC_GLOBAL, 1, 1, tls_parse_dh_file, 0, 0, 0},
    {"tune.ssl.default-dh-param", CFG_SEC_GLOBAL, 1, 1, tls_parse_dh_bits, 0, 0,
     0},
    {"ssl-server-verify", CFG_SEC_GLOBAL, 1, 1, tls_parse_verify, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, 0, 0, 0},
};

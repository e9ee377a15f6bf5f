/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Allocation helpers that abort on failure and error-string formatting.
 * Only configuration and master code may use the x* allocators: a worker
 * that runs out of memory on a request must fail that request, not die. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/errors.h"
#include "core/util.h"

/* Stops the process: memory is gone during configuration. */
void oom(void)
{
    fputs("luaproxy: out of memory\n", stderr);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p == NULL)
        oom();
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL)
        oom();
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (p == NULL)
        oom();
    return p;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t len)
{
    char *p = xmalloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* Formats into a fresh buffer sized by a first measuring pass. */
static char *xvasprintf(const char *fmt, va_list ap)
{
    va_list cp;
    int n;
    char *p;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        n = 0;
    p = xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    p = xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

int set_err(char **err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return RC_ERR;
    free(*err);
    va_start(ap, fmt);
    *err = xvasprintf(fmt, ap);
    va_end(ap);
    return RC_ERR;
}

int file_read_all(const char *path, char **out, size_t *len, char **err)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    size_t n;

    if (fp == NULL)
        return set_err(err, "cannot open file '%s': %s", path, strerror(errno));
    /* a directory "opens" too, and reports an absurd size; a device is
     * read as empty ("errorfile 408 /dev/null" is an HAProxy idiom) */
    if (fstat(fileno(fp), &st) < 0 ||
        !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)) ||
        st.st_size > FILE_READ_MAX) {
        fclose(fp);
        return set_err(err, "'%s' is not a regular file of at most %d MiB",
                       path, FILE_READ_MAX >> 20);
    }
    n = S_ISREG(st.st_mode) ? (size_t)st.st_size : 0;
    *out = xmalloc(n + 1);
    *len = fread(*out, 1, n, fp);
    (*out)[*len] = '\0';
    if (*len != n || ferror(fp)) {
        fclose(fp);
        xfree_null(out);
        return set_err(err, "cannot read file '%s'", path);
    }
    fclose(fp);
    return RC_OK;
}

char **env_snapshot(void)
{
    size_t n = 0, i;
    char **snap;

    while (environ[n] != NULL)
        n++;
    snap = xcalloc(n + 1, sizeof(*snap));
    for (i = 0; i < n; i++)
        snap[i] = xstrdup(environ[i]);
    return snap;
}

void env_restore(char *const *snap)
{
    size_t i;

    clearenv();
    for (i = 0; snap[i] != NULL; i++) {
        char *eq = strchr(snap[i], '=');

        if (eq == NULL)
            continue;
        *eq = '\0';
        setenv(snap[i], eq + 1, 1);
        *eq = '=';
    }
}

void env_snapshot_free(char **snap)
{
    size_t i;

    if (snap == NULL)
        return;
    for (i = 0; snap[i] != NULL; i++)
        free(snap[i]);
    free(snap);
}

const char hex_upper[16] = "0123456789ABCDEF";

size_t hex_encode(char *out, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = hex_upper[b[i] >> 4];
        out[2 * i + 1] = hex_upper[b[i] & 15];
    }
    return 2 * n;
}

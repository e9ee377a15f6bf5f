/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Replays fuzz inputs without libFuzzer, so CI can run a corpus with gcc:
 * every file named on the command line, or every file in a named directory,
 * is read whole and handed once to LLVMFuzzerTestOneInput(). A crash or a
 * sanitizer report fails the run; otherwise it prints how many ran. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds the file at <path> to the target. Returns 0, or -1 if unreadable. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long size;
    int rc = -1;

    if (!f)
        return -1;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)size + 1);
        if (buf && fread(buf, 1, (size_t)size, f) == (size_t)size) {
            LLVMFuzzerTestOneInput(buf, (size_t)size);
            rc = 0;
        }
    }
    free(buf);
    fclose(f);
    return rc;
}

/* Feeds every regular file of directory <dir>; returns how many, or -1. */
static int replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    struct stat st;
    char path[4096];
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
                (int)sizeof(path) ||
            stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (replay_file(path) != 0) {
            n = -1;
            break;
        }
        n++;
    }
    closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    struct stat st;
    int i, n, total = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: cannot stat %s\n", argv[i]);
            return 1;
        }
        n = S_ISDIR(st.st_mode) ? replay_dir(argv[i])
                                : (replay_file(argv[i]) == 0 ? 1 : -1);
        if (n < 0) {
            fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            return 1;
        }
        total += n;
    }
    printf("replay: %d inputs ran\n", total);
    return 0;
}

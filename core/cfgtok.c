/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The configuration tokenizer. One pass over the line writes the unquoted,
 * unescaped and expanded words one after another, NUL-separated, into a
 * single growing buffer; word starts are kept as offsets because the buffer
 * moves while it grows, and become pointers only once the line is done.
 * Behaviour follows HAProxy's parse_line() with the options its
 * configuration parser uses (environment, both quotes, backslash, '#',
 * word expansion). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfgtok.h"
#include "core/errors.h"
#include "core/ist.h"
#include "core/util.h"

/* The words being built. A word is "open" once it has a character or once a
 * quote was opened in it, so that "" makes an empty word. */
struct tok_out {
    char *buf;
    size_t len;
    size_t cap;
    size_t start[CFG_MAX_ARGS]; /* offsets of the first CFG_MAX_ARGS words */
    int nwords;                 /* closed words, may exceed CFG_MAX_ARGS */
    int open;                   /* a word is being built */
    size_t word_len;            /* bytes in the open word */
};

/* The reading side: position and quoting state. */
struct tok_in {
    const char *line; /* start of the line, for error positions */
    const char *p;    /* next byte to read */
    int squote;
    int dquote;
    const char *quote; /* the opening quote, for "unmatched quote" */
    const struct cfgtok_loc *loc;
};

static int tok_run(struct tok_in *in, struct tok_out *o, char **err);
static int tok_backslash(struct tok_in *in, struct tok_out *o, char **err);
static int tok_variable(struct tok_in *in, struct tok_out *o, char **err);
static void tok_emit_value(struct tok_in *in, struct tok_out *o,
                           struct ist value, int expand);
static void out_open(struct tok_out *o);
static void out_putc(struct tok_out *o, char c);
static void out_close(struct tok_out *o);
static void out_forget_empty(struct tok_out *o);

int cfgtok_split(const char *line, struct cfg_words *w, char **err)
{
    return cfgtok_split_loc(line, NULL, w, err);
}

int cfgtok_split_loc(const char *line, const struct cfgtok_loc *loc,
                     struct cfg_words *w, char **err)
{
    struct tok_in in = {line, line, 0, 0, NULL, loc};
    struct tok_out o;
    int i;

    memset(w, 0, sizeof(*w));
    memset(&o, 0, sizeof(o));
    o.cap = strlen(line) + 1;
    o.buf = xmalloc(o.cap);

    if (tok_run(&in, &o, err) != RC_OK) {
        free(o.buf);
        return RC_ERR;
    }
    w->argc = o.nwords;
    for (i = 0; i < o.nwords; i++)
        w->args[i] = o.buf + o.start[i];
    w->args[o.nwords] = NULL;
    w->store = o.buf;
    return RC_OK;
}

void cfgtok_free(struct cfg_words *w)
{
    free(w->store);
    memset(w, 0, sizeof(*w));
}

/* Reads the whole line into <o>; the main dispatch on each byte. */
static int tok_run(struct tok_in *in, struct tok_out *o, char **err)
{
    while (*in->p != '\0' && *in->p != '\n' && *in->p != '\r') {
        char c = *in->p;

        if (c == '#' && !in->squote && !in->dquote)
            break;
        if ((c == '"' && !in->squote) || (c == '\'' && !in->dquote)) {
            int *state = c == '"' ? &in->dquote : &in->squote;

            *state = !*state;
            in->quote = *state ? in->p : NULL;
            if (*state)
                out_open(o);
            in->p++;
        } else if (c == '\\' && !in->squote) {
            if (tok_backslash(in, o, err) != RC_OK)
                return RC_ERR;
        } else if (isspace((unsigned char)c) && !in->squote && !in->dquote) {
            out_close(o);
            in->p++;
        } else if (c == '$' && in->dquote) {
            if (tok_variable(in, o, err) != RC_OK)
                return RC_ERR;
        } else {
            out_putc(o, c);
            in->p++;
        }
    }
    if (in->squote || in->dquote)
        return set_err(err, "unmatched quote at position %d",
                       (int)(in->quote - in->line) + 1);
    out_close(o);
    if (o->nwords > CFG_MAX_ARGS)
        return set_err(err, "too many words (more than %d): line ignored",
                       CFG_MAX_ARGS);
    return RC_OK;
}

/* Handles a backslash outside single quotes. Sequences that mean nothing
 * keep their backslash (HAProxy: "\1" stays "\1" for regex back-references),
 * and "\$" only escapes inside double quotes, where '$' is special. */
static int tok_backslash(struct tok_in *in, struct tok_out *o, char **err)
{
    const char *p = in->p;
    int hi, lo;

    switch (p[1]) {
    case ' ':
    case '\t':
    case '\\':
    case '#':
    case '\'':
    case '"':
        out_putc(o, p[1]);
        break;
    case 't':
        out_putc(o, '\t');
        break;
    case 'n':
        out_putc(o, '\n');
        break;
    case 'r':
        out_putc(o, '\r');
        break;
    case '$':
        if (!in->dquote) {
            out_putc(o, '\\');
            in->p += 1;
            return RC_OK;
        }
        out_putc(o, '$');
        break;
    case 'x':
        hi = hex_digit_value(p[2]);
        lo = hi < 0 ? -1 : hex_digit_value(p[3]);
        if (lo < 0)
            return set_err(err,
                           "truncated or invalid hexadecimal sequence at "
                           "position %d",
                           (int)(p - in->line) + 1);
        out_putc(o, (char)(hi << 4 | lo));
        in->p += 4;
        return RC_OK;
    default:
        out_putc(o, '\\');
        in->p += 1;
        return RC_OK;
    }
    in->p += 2;
    return RC_OK;
}

/* Looks up variable <name> of <len> bytes: the environment, or one of the
 * pseudo-variables when it starts with '.'. <num> holds the text of $.LINE.
 * Returns a slice with a NULL pointer when the variable is unset, or RC_ERR
 * through <*bad> for an unknown pseudo-variable. */
static struct ist tok_lookup(const struct cfgtok_loc *loc, const char *name,
                             size_t len, char *num, size_t numlen, int *bad)
{
    struct ist none = {NULL, 0};
    struct ist n = {name, len};
    char *cname;
    const char *v;

    *bad = 0;
    if (name[0] != '.') {
        cname = xstrndup(name, len);
        v = getenv(cname);
        free(cname);
        return v ? ist_from(v) : none;
    }
    if (ist_eq(n, IST(".FILE")))
        return ist_from(loc && loc->file ? loc->file : "");
    if (ist_eq(n, IST(".SECTION")))
        return ist_from(loc && loc->section ? loc->section : "");
    if (ist_eq(n, IST(".LINE"))) {
        snprintf(num, numlen, "%d", loc ? loc->line : 0);
        return ist_from(num);
    }
    *bad = 1;
    return none;
}

/* Expands "$NAME", "${NAME}", "${NAME[*]}", "${NAME-default}" inside double
 * quotes, <in->p> pointing at the '$'. */
static int tok_variable(struct tok_in *in, struct tok_out *o, char **err)
{
    const char *p = in->p + 1;
    const char *brace = NULL;
    const char *name;
    const char *close;
    struct ist value;
    char num[24];
    int expand = 0;
    int bad;

    if (*p == '{')
        brace = p++;
    if (!isalpha((unsigned char)*p) && *p != '_' && *p != '.')
        return set_err(err,
                       "forbidden first char in environment variable name "
                       "at position %d",
                       (int)(p - in->line) + 1);
    name = p;
    if (*p == '.')
        p++;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    value =
        tok_lookup(in->loc, name, (size_t)(p - name), num, sizeof(num), &bad);
    if (bad)
        return set_err(err, "unknown pseudo-variable '%.*s' at position %d",
                       (int)(p - name), name, (int)(name - in->line) + 1);

    if (brace && *p == '[') {
        if (p[1] != '*' || p[2] != ']')
            return set_err(err,
                           "truncated or invalid word expansion sequence at "
                           "position %d",
                           (int)(p - in->line) + 1);
        expand = 1;
        p += 3;
    }
    if (brace) {
        close = *p == '-' ? strchr(p, '}') : (*p == '}' ? p : NULL);
        if (close == NULL)
            return set_err(err,
                           "unmatched brace in environment variable name at "
                           "position %d",
                           (int)(brace - in->line) + 1);
        if (*p == '-' && value.ptr == NULL)
            value = (struct ist){p + 1, (size_t)(close - p - 1)};
        p = close + 1;
    }
    in->p = p;
    tok_emit_value(in, o, value, expand);
    return RC_OK;
}

/* Writes an expanded <value> into the current word or, with <expand>, into
 * as many words as it has blank-separated fields. An unset variable that is
 * the whole of a double-quoted word removes the word, as HAProxy does so that
 * optional arguments can come from the environment. (HAProxy also swallows
 * the blanks after it, gluing "x$UNSET" to the next word; we do not.) */
static void tok_emit_value(struct tok_in *in, struct tok_out *o,
                           struct ist value, int expand)
{
    size_t i;

    if (value.ptr == NULL) {
        if (*in->p == '"' && o->open && o->word_len == 0) {
            in->dquote = 0;
            in->quote = NULL;
            in->p++;
            out_forget_empty(o);
        }
        return;
    }
    if (expand)
        out_forget_empty(o);
    for (i = 0; i < value.len; i++) {
        if (expand && isspace((unsigned char)value.ptr[i]))
            out_close(o);
        else
            out_putc(o, value.ptr[i]);
    }
}

/* Starts a word if none is open. */
static void out_open(struct tok_out *o)
{
    if (o->open)
        return;
    if (o->nwords < CFG_MAX_ARGS)
        o->start[o->nwords] = o->len;
    o->open = 1;
    o->word_len = 0;
}

/* Appends <c> to the open word, opening one if needed. */
static void out_putc(struct tok_out *o, char c)
{
    out_open(o);
    if (o->len + 1 >= o->cap) {
        o->cap *= 2;
        o->buf = xrealloc(o->buf, o->cap);
    }
    o->buf[o->len++] = c;
    o->word_len++;
}

/* Terminates the open word, if any. */
static void out_close(struct tok_out *o)
{
    if (!o->open)
        return;
    out_putc(o, '\0');
    o->open = 0;
    o->nwords++;
}

/* Drops the open word if it has no byte yet (it was only opened by a
 * quote), so that it produces no empty word. */
static void out_forget_empty(struct tok_out *o)
{
    if (o->open && o->word_len == 0)
        o->open = 0;
}

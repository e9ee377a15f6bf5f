/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The configuration tokenizer: splits one configuration line into words the
 * way HAProxy does (configuration manual 2.2 "Quoting and escaping" and 2.3
 * "Environment variables"). It knows nothing of sections or keywords. */
#ifndef LUAPROXY_CORE_CFGTOK_H
#define LUAPROXY_CORE_CFGTOK_H

#define CFG_MAX_ARGS 64

/* One tokenized line; owns its storage. */
struct cfg_words {
    int argc;
    char *args[CFG_MAX_ARGS + 1]; /* args[argc] == NULL */
    char *store;                  /* malloc'ed backing store for the words */
};

/* Where a line comes from, for the pseudo-variables "$.FILE", "$.LINE" and
 * "$.SECTION". The tokenizer only reads these during the call. */
struct cfgtok_loc {
    const char *file;    /* NULL expands to "" */
    int line;            /* 1-based */
    const char *section; /* NULL expands to "" */
};

/* Splits <line> (a trailing '\n' or '\r' ends it) into words in <w>.
 *
 * Blanks separate words and '#' outside quotes starts a comment. Double
 * quotes protect blanks, '#' and single quotes, and expand environment
 * variables ("$VAR", "${VAR}", "${VAR-default}" when VAR is unset, and
 * "${VAR[*]}" which splits the value into several words on blanks). Single
 * quotes are literal. A backslash outside single quotes escapes a blank,
 * '\\', '#', '\'', '"', '$' (inside double quotes only) and stands for
 * "\t", "\n", "\r" and "\xHH"; before any other character it is kept.
 *
 * A quoted empty string ("" or '') is an empty word, which HAProxy's keyword
 * parsers take as the end of the arguments: callers that care warn about it.
 * A double-quoted word made only of an unset variable ("$UNSET") disappears,
 * as in HAProxy.
 *
 * Returns RC_OK, or RC_ERR with *<err> set to a message that gives the
 * 1-based position in <line> (unmatched quote, unmatched brace, forbidden
 * first character of a variable name, bad "\x" sequence, bad "[*]", too many
 * words). On RC_ERR <w> is left empty and owns nothing. */
int cfgtok_split(const char *line, struct cfg_words *w, char **err);

/* Same as cfgtok_split(), with <loc> (may be NULL) supplying the values of
 * the pseudo-variables "$.FILE", "$.LINE" and "$.SECTION". */
int cfgtok_split_loc(const char *line, const struct cfgtok_loc *loc,
                     struct cfg_words *w, char **err);

/* Releases what <w> owns and leaves it empty; safe on an empty <w>. */
void cfgtok_free(struct cfg_words *w);

#endif

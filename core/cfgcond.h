/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Conditional blocks of the configuration (HAProxy manual 2.4): the
 * ".if/.elif/.else/.endif" nesting state of one file, and the evaluation of
 * condition expressions, also used by "-cc EXPR" on the command line. */
#ifndef LUAPROXY_CORE_CFGCOND_H
#define LUAPROXY_CORE_CFGCOND_H

#define CFGCOND_MAX_DEPTH 32

/* Where a level stands. */
enum cfgcond_branch {
    CFGCOND_TAKE, /* lines are taken */
    CFGCOND_WAIT, /* no branch taken yet: a later .elif/.else may be */
    CFGCOND_SKIP, /* a branch was taken, or the parent is not: skip all */
};

/* One open ".if". */
struct cfgcond_level {
    enum cfgcond_branch branch;
    int seen_else;
    int line; /* line of the ".if", for "unterminated .if" */
};

/* A stack of nested blocks; one per configuration file. */
struct cfgcond_state {
    int depth;
    int line; /* current line, from cfgcond_set_line() */
    struct cfgcond_level levels[CFGCOND_MAX_DEPTH];
};

void cfgcond_init(struct cfgcond_state *st);

/* Records the line number of the directive about to be passed, so that
 * cfgcond_finish() can name the line of an unterminated ".if". */
void cfgcond_set_line(struct cfgcond_state *st, int line);

/* Supplies what feature() and version_atleast()/version_before() test
 * against: the product <version> (e.g. "0.1.0" or "0.2-dev3") and a
 * NULL-terminated list of <features> names ("LUA", "OPENSSL"...). Both are
 * kept by reference: pass storage that outlives parsing (string literals).
 * Call once before parsing. */
void cfgcond_set_build(const char *version, const char *const *features);

/* Handles a line whose first word is ".if", ".elif", ".else" or ".endif"
 * and returns RC_OK, or returns RC_DECLINED for any other line. Returns
 * RC_ERR with *<err> set on syntax errors (".elif"/".else"/".endif" without
 * ".if", ".elif" or ".else" after ".else", arguments after ".else" or
 * ".endif", nesting deeper than CFGCOND_MAX_DEPTH, a bad expression). After
 * an error in an expression the block is still opened, as skipped, so that
 * its ".endif" still matches. Expressions inside skipped blocks are not
 * evaluated, nor checked. */
int cfgcond_directive(struct cfgcond_state *st, int argc, char **args,
                      char **err);

/* Returns 1 if the lines currently read are taken, 0 if they are inside a
 * branch that is skipped. */
int cfgcond_active(const struct cfgcond_state *st);

/* At end of file: returns RC_ERR with "unterminated '.if' at line N" if a
 * block is still open (N is the innermost one), else RC_OK. Leaves <st>
 * empty either way. */
int cfgcond_finish(struct cfgcond_state *st, char **err);

/* Evaluates the expression made of <args> joined by spaces (an empty one is
 * false) into <*result> (0 or 1). Terms are integers (non-zero is true),
 * predicates defined(VAR), feature(NAME), streq(a,b), strneq(a,b),
 * strstr(haystack,needle), version_atleast(V), version_before(V), and
 * parenthesized expressions; "!" negates a term, "&&" binds tighter than
 * "||". Predicate arguments are separated by commas and may be quoted or
 * backslash-escaped. Returns RC_OK or RC_ERR with *<err> set. */
int cfgcond_eval(int argc, char **args, int *result, char **err);

#endif

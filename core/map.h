/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Map and pattern files (HAProxy's map.c and the file side of pattern.c):
 * a file of "key [value]" lines is read once at configuration load, in the
 * master, and indexed for one matching method: exact keys in a hash table,
 * prefixes and IP networks by longest match (one hash probe per distinct
 * key length, longest first; networks with non-contiguous masks are tried
 * after, in file order), the other methods as a list tried in file order.
 * Loaded files are shared between the users naming the same file with the
 * same method, case rule and output while the file is unchanged on disk
 * (map converters, ACL "-f" files); each user holds a reference. The
 * map_* converters are defined here too. */
#ifndef LUAPROXY_CORE_MAP_H
#define LUAPROXY_CORE_MAP_H

#include "core/ist.h"
#include "core/sample.h"

/* What the second column holds. */
enum map_out {
    MAP_OUT_STR,  /* any text, kept as is (trailing blanks included) */
    MAP_OUT_INT,  /* a signed decimal integer */
    MAP_OUT_IP,   /* an IPv4 or IPv6 address */
    MAP_OUT_NONE, /* keys only (ACL "-f" and "-M" pattern files) */
};

struct map;

/* An integer range; an unset bound is open. */
struct map_range {
    long long min, max;
    int min_set, max_set;
};

/* Receives the key and value (empty for keys-only files) of one line of a
 * pattern file, both NUL-terminated and writable; RC_OK, or RC_ERR with
 * *<err> set to the reason (the reader appends the file and line). */
typedef int (*map_line_cb)(void *arg, char *key, char *value, char **err);

/* Loads <path> for the matching method <match> (enum pat_match: STR, BEG,
 * SUB, DIR, DOM, END, REG, INT or IP), case-insensitive when <icase>, with
 * values of kind <out>. Returns a reference (release with map_release) or
 * NULL with *<err> set: "failed to open pattern file <PATH>", or
 * the reason for a bad line followed by " at line N of file 'PATH'". */
struct map *map_load(const char *path, int match, int icase, enum map_out out,
                     char **err);
/* Reads the pattern file <path> as map_load does (HAProxy's rules: '#' in
 * the first column for comments, leading blanks skipped, blank lines
 * ignored; the whole line is the key when <keys_only>, else the key ends
 * at the first blank), passing each line to <cb>, for patterns map_load
 * cannot index. RC_OK, or RC_ERR with *<err> as for map_load. */
int map_read_file(const char *path, int keys_only, map_line_cb cb, void *arg,
                  char **err);
/* Parses HAProxy's integer pattern "n", "min:max", ":max" or "min:" ('-'
 * separates too) into <r>. RC_OK or RC_ERR with *<err> set. */
int map_parse_range(const char *text, struct map_range *r, char **err);
/* 1 if <v> is in <r>. */
int map_range_match(const struct map_range *r, long long v);
/* Drops one reference; the last one frees the map. Accepts NULL. */
void map_release(struct map *m);
/* Looks <key> up. The key must already have the method's input type (see
 * map_input_type). On a match, sets <value> to the entry's value (strings
 * point into the map, which outlives the lookup) and returns 1; else 0. */
int map_lookup(const struct map *m, const struct sample *key,
               struct sample *value);
/* The sample type a key is cast to before map_lookup: SINT for INT, ADDR
 * for IP, STR otherwise. */
enum smp_type map_input_type(int match);
/* Run-time edits, made in each worker. Values in
 * samples a look-up returned before an edit must not be used after it. */
/* The loaded map (<keys_only> 0) or pattern file (1) named by <ref>:
 * "#id" or its path; NULL if none. */
struct map *map_find_ref(const char *ref, int keys_only);
/* The next map of the same kind loaded from the same file as <m> (with
 * another method or case rule), or NULL: edits apply to each. */
struct map *map_next_same(struct map *m);
/* Walks the files loaded as maps (<keys_only> 0) or pattern files, one
 * map each: the one after <m>, the first for NULL; NULL at the end. */
struct map *map_next(struct map *m, int keys_only);
/* The id and the path of <m>. */
void map_describe(const struct map *m, int *id, const char **path);
/* Entry <i> as written (key, value; <ptr> identifies it); 0 past the end. */
int map_entry_get(const struct map *m, size_t i, const char **key,
                  const char **value, const void **ptr);
/* Looks the text <input> up as the map's converters would (cast to the
 * method's input type): 1 with the entry's <key> and <value> as written,
 * 0 when nothing matches, -1 when <input> cannot be cast. */
int map_get(const struct map *m, const char *input, const char **key,
            const char **value);
/* The method (enum pat_match), case rule and output of <m>. */
void map_describe_match(const struct map *m, int *match, int *icase,
                        enum map_out *out);
/* Appends "key value"; RC_OK or RC_ERR with *err (bad key or value). */
int map_add(struct map *m, const char *key, const char *value, char **err);
/* Sets the value of every entry of <key>: RC_OK, RC_DECLINED if there is
 * none, RC_ERR with *err for a bad value (nothing changed). */
int map_set(struct map *m, const char *key, const char *value, char **err);
/* Removes every entry of <key>; returns how many. */
size_t map_del(struct map *m, const char *key);
/* Removes every entry. */
void map_clear(struct map *m);
/* Number of entries (tests, diagnostics). */
size_t map_size(const struct map *m);
/* Tries the string pattern <pat> on <s> with <match> (STR, BEG, END, SUB,
 * DIR or DOM), as HAProxy: DIR and DOM look for <pat> as a whole word
 * between delimiters ("/?" and "/?.:"). Returns 1 on a match. */
int map_str_match(int match, struct ist pat, struct ist s, int icase);
/* ---- core/map_act.c: edits by rules and scripts */
enum map_edit_op {
    MAP_EDIT_SET, /* replace every entry of the key, or add one */
    MAP_EDIT_DEL, /* remove every entry of the key */
};
/* Applies <op> of <key> (<value>: "" for ACL files) to every map (<acl>
 * 0) or ACL pattern file (1) loaded from <ref> in this process. Returns
 * how many, or -1 with *<err> set for a key or value of the wrong type. */
int map_edit(const char *ref, int acl, enum map_edit_op op, const char *key,
             const char *value, char **err);
/* Same, then sends the edit to the other workers of the generation
 * through the master (they apply it in the order the master got it). */
int map_edit_shared(const char *ref, int acl, enum map_edit_op op,
                    const char *key, const char *value, char **err);
/* Applies an edit another worker shared (<data> of <len> bytes, as
 * map_edit_shared sent it). */
void map_edit_receive(int arg, const char *data, size_t len);
/* Registers the set-map, del-map, add-acl and del-acl actions. */
void map_act_init(void);
struct cfg;
/* Warns about map actions naming a file <cfg> does not load. */
void map_act_post_parse(struct cfg *cfg);
/* Registers the runtime API's map and acl commands (core/map_cli.c). */
void map_cli_init(void);
/* Registers the map, map_<match> and map_<match>_<out> converters. */
void map_register_convs(void);

#endif

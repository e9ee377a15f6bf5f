/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The "peers" section (core/stick_peers.c): with its local peer only, it
 * makes the stick tables that name it keep their entries across a
 * reload. The stick module registers its section and keywords. */
#ifndef LUAPROXY_CORE_STICK_PEERS_H
#define LUAPROXY_CORE_STICK_PEERS_H

#include "core/cfgparse.h"

struct cfg;

extern const struct cfg_section stick_peers_sections[];
extern const struct cfg_kw stick_peers_keywords[];

/* The slot of <cfg> where stick_peers.c keeps its data (stick_table.c
 * owns the generation's stick data). */
void **stick_peers_slot(const struct cfg *cfg);
/* Tells the local peer from the remote ones once every file of <cfg> is
 * read; logs each problem with file:line and returns the number of
 * errors. */
int stick_peers_check(struct cfg *cfg);
/* 1 if the tables naming peers section <name> of <cfg> keep their
 * entries across a reload (the section is enabled and has its local
 * peer); *<found> says whether the section exists. */
int stick_peers_keep(const struct cfg *cfg, const char *name, int *found);
/* Frees what stick_peers.c hung on <cfg>. */
void stick_peers_free(struct cfg *cfg);

#endif

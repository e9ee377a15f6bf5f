/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The stick counters a stream tracks (HAProxy's sc0..sc2): those a
 * "tcp-request connection" rule tracked belong to the session and serve
 * each of its streams; the others belong to one stream. Core counts the
 * connections, sessions and bytes into them; a protocol layer calls the
 * counting points it alone knows of (an HTTP request, an HTTP error). */
#ifndef LUAPROXY_CORE_STICK_ACT_H
#define LUAPROXY_CORE_STICK_ACT_H

struct stream;
struct stick_table;

/* A tracked counter: an entry of a table, held. */
struct stick_ctr {
    struct stick_table *t; /* NULL: not tracked */
    unsigned long long h;  /* stick_table_track()'s handle */
};

/* Counter <n> (0..STICK_CTRS-1) as <s> sees it: the stream's own, else
 * its session's; NULL if neither tracks it. */
const struct stick_ctr *stick_ctr_get(struct stream *s, int n);
/* Counts an HTTP request into every counter <s> tracks (called once its
 * head is in). */
void stick_count_http_req(struct stream *s);
/* Counts an HTTP error (a 4xx sent to the client) into every counter <s>
 * tracks. */
void stick_count_http_err(struct stream *s);
/* At the end of <s>: counts its bytes into every counter it tracks and
 * releases those it tracked itself. */
void stick_stream_end(struct stream *s);

#endif

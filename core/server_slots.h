/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The connection slots of each server, counted across every worker: a
 * server's "maxconn" bounds the connections of all the workers together,
 * not of each one.
 *
 * The master keeps one record per "backend/server" name in memory it maps
 * shared before forking, and hands the same record to every generation
 * that declares that server: the old generation draining after a reload
 * and the new one count against the same bound. A record holds, under a
 * process-shared robust mutex, the connection slots taken and the streams
 * queued (maxqueue) by each worker process (indexed by the master's
 * process table), and their sums. A worker that
 * dies, even by SIGKILL inside the lock, loses nothing: the master clears
 * its column when it reaps it, and the next locker repairs the sum if the
 * dead worker held the lock. Records live as long as the master, so a
 * draining generation never sees its record reused by another name. */
#ifndef LUAPROXY_CORE_SERVER_SLOTS_H
#define LUAPROXY_CORE_SERVER_SLOTS_H

struct cfg;
struct server;

/* Worker processes the master tracks at once, every generation counted. */
#define SERVER_SLOTS_MAX_PROCS 512

/* Master, after parsing: attaches its shared record to every server of
 * <cfg>, mapping new ones as needed. RC_OK or RC_ERR. */
int server_slots_prepare(struct cfg *cfg);
/* In a new worker: its column in every record (its index in the master's
 * process table). */
void server_slots_owner_set(int owner);
/* Master: gives back whatever worker process <owner>, now reaped, held. */
void server_slots_forget(int owner);
/* Takes a slot of <srv> if its maxconn allows; 1 if taken, else 0. */
int server_slots_take(struct server *srv);
/* Gives back a slot of <srv> taken by server_slots_take(). */
void server_slots_release(struct server *srv);
/* Counts a stream into the queue of <srv> if its maxqueue allows; 1 if
 * counted, else 0. */
int server_slots_enqueue(struct server *srv);
/* Counts out a stream counted in by server_slots_enqueue(). */
void server_slots_unqueue(struct server *srv);
/* The connections to <srv> from every worker; a racy read, for choosing. */
unsigned server_slots_used(const struct server *srv);
/* The streams queued for <srv> in every worker; a racy read, likewise. */
unsigned server_slots_queued(const struct server *srv);

#endif

/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* A one-shot timer per stream for the actions that hold a stream for a
 * while ("tarpit", "wait-for-body"): the action arms it and yields, the
 * timer wakes the stream when it expires, and the action, run again, sees
 * that it has. It lives in a stream slot, allocated from the stream's pool
 * on first use, and a pool cleanup frees its event: a stream freed while it
 * waits (its client gone) releases it at once. */
#ifndef LUAPROXY_CORE_STREAM_TIMER_H
#define LUAPROXY_CORE_STREAM_TIMER_H

struct stream;

/* Takes the stream slot (idempotent); the actions' parsers call it. */
void stream_timer_init(void);
/* Arms the timer of <s> for <ms> from now unless it runs already. Returns
 * 0 while it runs (yield: <s> is woken when it expires), 1 once it has
 * expired (it is then disarmed), -1 when out of memory. */
int stream_timer_wait(struct stream *s, unsigned ms);
/* Disarms the timer of <s>: the wait ended before it expired. */
void stream_timer_stop(struct stream *s);

#endif

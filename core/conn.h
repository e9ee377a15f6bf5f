/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Connections: a socket with an input and an output evbuffer, driven by
 * libevent events, for the client and server sides of streams. It keeps
 * bufferevent's shape (callbacks, enable/disable, watermarks, timeouts)
 * but does its own I/O: reads take up to 64 KiB at once instead of 4 KiB
 * plus an ioctl, and writes are not polled for: bytes queued while
 * handling an event are written once, right after that handler, straight
 * to the socket; the socket is watched for writability only when it is
 * full. A keep-alive request then costs a wait, a read and a write.
 *
 * Buffers are made when first asked for. A connection may be freed from inside
 * its own callbacks: conn_free() closes the socket at once and releases the
 * memory when the callback returns. */
#ifndef LUAPROXY_CORE_CONN_H
#define LUAPROXY_CORE_CONN_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/time.h>

struct conn;
struct evbuffer;

/* Event bits given to conn_event_cb, the same as bufferevent's. */
#define CONN_READING   0x01
#define CONN_WRITING   0x02
#define CONN_EOF       0x10
#define CONN_ERROR     0x20
#define CONN_TIMEOUT   0x40
#define CONN_CONNECTED 0x80

/* Directions for conn_enable() and friends (libevent's EV_READ/EV_WRITE). */
#define CONN_RD 0x02
#define CONN_WR 0x04

typedef void (*conn_data_cb)(struct conn *c, void *arg);
typedef void (*conn_event_cb)(struct conn *c, short what, void *arg);

/* Wraps the connected, non-blocking socket <fd> (or -1 for a connection
 * that conn_connect() will open); NULL if out of memory (fd untouched). */
struct conn *conn_new(int fd);
/* Opens a socket to <sa>, bound to the local address <from> first unless
 * NULL, and connects; CONNECTED or ERROR|WRITING (a failed bind too) comes
 * to the event callback later, never from inside this call. RC_OK or
 * RC_ERR (no socket could be made). */
int conn_connect(struct conn *c, const struct sockaddr *sa, socklen_t len,
                 const struct sockaddr *from, socklen_t fromlen);
/* Binds the unconnected socket <fd> to the source address <from> (an
 * inet address; port 0: any) before a connect; nothing if <from> is NULL.
 * RC_OK, or RC_ERR with errno set. */
int conn_bind_source(int fd, const struct sockaddr *from, socklen_t len);
/* Closes the socket and frees <c> (deferred while in a callback of it). */
void conn_free(struct conn *c);

void conn_setcb(struct conn *c, conn_data_cb readcb, conn_data_cb writecb,
                conn_event_cb eventcb, void *arg);
/* Turns reading and/or writing (CONN_RD, CONN_WR) on or off. */
void conn_enable(struct conn *c, short what);
void conn_disable(struct conn *c, short what);
/* Read and write inactivity timeouts; NULL for none. The write timeout
 * also bounds a connect. */
void conn_set_timeouts(struct conn *c, const struct timeval *rd,
                       const struct timeval *wr);
/* CONN_WR: the write callback runs when the output drops to <low>.
 * CONN_RD: reading pauses while the input holds <high> bytes (0: never). */
void conn_setwatermark(struct conn *c, short what, size_t low, size_t high);
/* Runs the read callback soon, for bytes already in the input. */
void conn_trigger_read(struct conn *c);

/* Moves what <from> received to <to>'s output, pausing <from> while <to>
 * holds more than <high> bytes; once <from> ended (<from_eof>) and <to>
 * sent everything, shuts <to>'s write side once (*<shut> records it). For
 * tunnels and TCP proxying. */
void conn_forward(struct conn *from, struct conn *to, int from_eof, int *shut,
                  size_t high);

/* When a connection reads through a pipe with splice(2) (see conn_splice):
 * never; after a read that filled a whole buffer (a large transfer);
 * always. */
enum conn_splice {
    CONN_SPLICE_NEVER = 0,
    CONN_SPLICE_AUTO,
    CONN_SPLICE_ALWAYS,
};

/* From now on (<how> AUTO: once a read fills a buffer), what <from>
 * receives goes to <to>'s socket through a pipe with splice(2), without
 * entering user space, whenever <from>'s input and <to>'s output are
 * empty; the bytes count in both byte counters as usual. conn_forward()
 * still runs, and shuts <to> once the pipe is empty too. A socket type
 * that cannot splice, or no pipe (maxpipes) or descriptor for it, falls
 * back to copying. One peer per direction; kept until either connection
 * is freed. */
void conn_splice(struct conn *from, struct conn *to, enum conn_splice how);
/* Allows <n> pipes for splicing in this worker (global maxpipes). */
void conn_set_max_pipes(unsigned n);

/* Tells <c> it waits idle for its peer's next bytes: it frees its buffers
 * once they are empty (after the last output is written) and keeps none
 * until bytes come in again. */
void conn_idle(struct conn *c);
/* Frees what the connections of this process share, at exit. */
void conn_loop_done(void);

struct evbuffer *conn_input(struct conn *c);
struct evbuffer *conn_output(struct conn *c);
/* Bytes ever added to the input (received) and to the output (sent or
 * queued): the counters streams take their %U and %B from. */
unsigned long long conn_bytes_in(const struct conn *c);
unsigned long long conn_bytes_out(const struct conn *c);
int conn_fd(const struct conn *c);
/* Returns the CONN_RD/CONN_WR bits that are on. */
short conn_enabled(const struct conn *c);

#endif

/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Connections over raw sockets with libevent events and evbuffers. See
 * conn.h for the model; the notes here are about the mechanics:
 *  - one "notify" event per worker, activated (never polled), walks the
 *    list of connections with something that must not run inside the
 *    caller: the deferred write of new output, the connected or failed
 *    notice of a connect, a triggered read callback. One event for all
 *    keeps an idle connection small;
 *  - the read event is persistent while reading is on and the input is
 *    under its high watermark; a drain of the input resumes it;
 *  - the write event is made the first time a write cannot finish or a
 *    connect waits, and added only then;
 *  - the buffers are made when first used; a connection told it is idle
 *    (conn_idle) frees each one as soon as it is empty, and stays lean
 *    until its next bytes arrive;
 *  - a spliced connection (conn_splice) moves what it receives into a pipe
 *    of its own and from there to its peer's socket, both with splice(2),
 *    whenever its input and the peer's output are empty; reading pauses
 *    while the pipe holds bytes and the peer's write event drains it. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/conn.h"
#include "core/errors.h"
#include "core/util.h"
#include "core/worker.h"

/* A read takes up to 64 KiB less a chain header: libevent rounds a chain
 * up to a power of two, and 64 KiB plus its header became 128 KiB, which
 * malloc serves with mmap/munmap on every read. */
#define CONN_READ_MAX (64 * 1024 - 256)

/* Bytes moved by one splice() into the pipe: a default pipe's size. */
#define CONN_SPLICE_MAX (64 * 1024)

/* What the notify event has to deliver. */
#define NOTIFY_FLUSH     0x1
#define NOTIFY_CONNECTED 0x2
#define NOTIFY_ERROR     0x4
#define NOTIFY_READ      0x8

struct conn {
    int fd;
    struct evbuffer *in, *out;
    struct event *rev, *wev;  /* wev made on first need */
    struct conn *notify_next; /* in the notify list */
    conn_data_cb readcb, writecb;
    conn_event_cb eventcb;
    void *arg;
    short enabled;        /* CONN_RD | CONN_WR */
    unsigned notify_what; /* NOTIFY_* pending */
    int notify_errno;
    size_t wr_lowat, rd_hiwat;
    struct timeval rd_tmo, wr_tmo;
    int has_rd_tmo, has_wr_tmo;
    int connecting;
    int eof;      /* the peer closed: no more reading */
    int rd_armed; /* the read event is added */
    int in_cb;    /* callbacks of ours on the stack */
    int dead;     /* conn_free() was called */
    int notify_queued;
    int lean; /* idle: free the buffers once empty */
    unsigned long long in_total, out_total; /* bytes ever added */
    /* splicing towards <splice_to>, which points back with <splice_from>;
     * spliced bytes count in <in_total> here and <out_total> there */
    struct conn *splice_to, *splice_from;
    enum conn_splice splice;
    int pipe[2];  /* -1 until the first spliced read */
    size_t piped; /* in the pipe, not written to splice_to */
    int spliced;  /* splice() read something: the socket can splice */
};

/* The worker's notify event and the connections it will visit, in order. */
static struct event *notify_ev;
static struct conn *notify_head, *notify_tail;

/* Pipes open for splicing in this worker, and how many may be (maxpipes,
 * set by the worker at start): each costs two descriptors, which must not
 * starve accept(). */
static unsigned conn_pipes, conn_pipes_max = UINT_MAX;

static int conn_splice_flush(struct conn *from);
static void conn_read_ready(evutil_socket_t fd, short what, void *arg);
static void conn_write_ready(evutil_socket_t fd, short what, void *arg);
static void conn_notify_run(evutil_socket_t fd, short what, void *arg);
static void conn_out_cb(struct evbuffer *buf,
                        const struct evbuffer_cb_info *info, void *arg);
static void conn_in_cb(struct evbuffer *buf,
                       const struct evbuffer_cb_info *info, void *arg);

/* Creates the read event of <c> for its current fd. */
static int conn_events_new(struct conn *c)
{
    c->rev = event_new(worker_loop(), c->fd, EV_READ | EV_PERSIST,
                       conn_read_ready, c);
    return c->rev != NULL ? RC_OK : RC_ERR;
}

/* Adds the write event, made now if it never was; RC_ERR out of memory. */
static int conn_watch_write(struct conn *c)
{
    if (c->wev == NULL) {
        c->wev = event_new(worker_loop(), c->fd, EV_WRITE, conn_write_ready, c);
        if (c->wev == NULL)
            return RC_ERR;
    }
    event_add(c->wev, c->has_wr_tmo ? &c->wr_tmo : NULL);
    return RC_OK;
}

/* Stops watching for writability. */
static void conn_unwatch_write(struct conn *c)
{
    if (c->wev != NULL)
        event_del(c->wev);
}

/* 1 while the write event waits for writability. */
static int conn_write_watched(const struct conn *c)
{
    return c->wev != NULL && event_pending(c->wev, EV_WRITE, NULL);
}

struct conn *conn_new(int fd)
{
    struct conn *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->fd = fd;
    c->pipe[0] = c->pipe[1] = -1;
    if (notify_ev == NULL)
        notify_ev = event_new(worker_loop(), -1, 0, conn_notify_run, NULL);
    if (notify_ev == NULL || (fd >= 0 && conn_events_new(c) != RC_OK)) {
        c->fd = -1; /* the caller keeps its fd on failure */
        conn_free(c);
        return NULL;
    }
    return c;
}

/* Makes the buffer <*b> of <c>, watched by <cb>, unless it exists; NULL
 * out of memory. */
static struct evbuffer *conn_buf(struct conn *c, struct evbuffer **b,
                                 evbuffer_cb_func cb)
{
    if (*b == NULL && (*b = evbuffer_new()) != NULL &&
        evbuffer_add_cb(*b, cb, c) == NULL) {
        evbuffer_free(*b);
        *b = NULL;
    }
    return *b;
}

/* Bytes in a buffer that may not exist. */
static size_t conn_buf_len(const struct evbuffer *b)
{
    return b != NULL ? evbuffer_get_length(b) : 0;
}

/* Frees the buffer <*b> if it exists and is empty. */
static void conn_buf_drop_empty(struct evbuffer **b)
{
    if (*b != NULL && evbuffer_get_length(*b) == 0) {
        evbuffer_free(*b);
        *b = NULL;
    }
}

/* Releases everything of <c>; a connection still in the notify list is
 * released when the list reaches it. */
static void conn_destroy(struct conn *c)
{
    if (c->notify_queued)
        return;
    if (c->rev != NULL)
        event_free(c->rev);
    if (c->wev != NULL)
        event_free(c->wev);
    if (c->in != NULL)
        evbuffer_free(c->in);
    if (c->out != NULL)
        evbuffer_free(c->out);
    free(c);
}

/* Stops <from> splicing: its pipe is closed, bytes still in it are lost
 * (its peer failed or is closing), and it reads by copying again. */
static void conn_splice_stop(struct conn *from)
{
    if (from->splice_to != NULL)
        from->splice_to->splice_from = NULL;
    from->splice_to = NULL;
    from->splice = CONN_SPLICE_NEVER;
    if (from->pipe[0] >= 0) {
        close(from->pipe[0]);
        close(from->pipe[1]);
        conn_pipes--;
    }
    from->pipe[0] = from->pipe[1] = -1;
    from->piped = 0;
}

/* Ends the splicing <c> takes part in, as sender and as receiver. */
static void conn_unsplice(struct conn *c)
{
    conn_splice_stop(c);
    if (c->splice_from != NULL)
        conn_splice_stop(c->splice_from);
}

void conn_free(struct conn *c)
{
    if (c == NULL || c->dead)
        return;
    c->dead = 1;
    conn_unsplice(c);
    if (c->rev != NULL)
        event_del(c->rev);
    conn_unwatch_write(c);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (c->in_cb == 0)
        conn_destroy(c);
}

/* Leaves one of our callbacks; frees <c> if it died meanwhile. Returns 1
 * if <c> is gone. */
static int conn_leave(struct conn *c)
{
    if (--c->in_cb == 0 && c->dead) {
        conn_destroy(c);
        return 1;
    }
    return c->dead;
}

/* Asks the notify event for <what>. */
static void conn_notify(struct conn *c, unsigned what)
{
    c->notify_what |= what;
    if (c->notify_queued)
        return;
    c->notify_queued = 1;
    c->notify_next = NULL;
    if (notify_tail != NULL)
        notify_tail->notify_next = c;
    else
        notify_head = c;
    notify_tail = c;
    event_active(notify_ev, 0, 0);
}

/* Adds or removes the read event as the state asks. */
static void conn_arm_read(struct conn *c)
{
    int want = (c->enabled & CONN_RD) && !c->eof && !c->connecting &&
               c->fd >= 0 && c->piped == 0 &&
               (c->rd_hiwat == 0 || conn_buf_len(c->in) < c->rd_hiwat);

    if (want && !c->rd_armed) {
        event_add(c->rev, c->has_rd_tmo ? &c->rd_tmo : NULL);
        c->rd_armed = 1;
    } else if (!want && c->rd_armed) {
        event_del(c->rev);
        c->rd_armed = 0;
    }
}

/* Tells the user <what>; returns 1 if <c> died in the callback. */
static int conn_event(struct conn *c, short what)
{
    if (c->eventcb != NULL)
        c->eventcb(c, what, c->arg);
    return c->dead;
}

/* Writes what the output holds; then the write callback, the write event
 * or the error. Returns 1 if <c> died. */
static int conn_write_now(struct conn *c)
{
    int n;

    if (c->fd < 0 || c->connecting || !(c->enabled & CONN_WR))
        return 0;
    if (c->splice_from != NULL && c->splice_from->piped > 0) {
        if (conn_splice_flush(c->splice_from) != 0)
            return c->dead;
        if (c->splice_from != NULL && c->splice_from->piped > 0)
            return 0; /* full again: the write event is armed */
    }
    while (conn_buf_len(c->out) > 0) {
        n = evbuffer_write(c->out, c->fd);
        if (n > 0)
            continue;
        if (n < 0 &&
            (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            break;
        conn_unwatch_write(c);
        return conn_event(c, CONN_ERROR | CONN_WRITING);
    }
    if (conn_buf_len(c->out) == 0) {
        conn_unwatch_write(c);
        if (c->lean)
            conn_buf_drop_empty(&c->out);
    } else if (conn_watch_write(c) != RC_OK)
        return conn_event(c, CONN_ERROR | CONN_WRITING);
    if (conn_buf_len(c->out) <= c->wr_lowat && c->writecb != NULL) {
        c->writecb(c, c->arg);
        return c->dead;
    }
    return 0;
}

/* Writes what the pipe of <from> holds to its splice peer. Returns 0 when
 * it is empty or the peer is full (its write event is then armed), 1 when
 * writing failed (splicing stops, the peer was told and may be gone). */
static int conn_splice_flush(struct conn *from)
{
    struct conn *to = from->splice_to;
    ssize_t n;

    while (from->piped > 0) {
        n = splice(from->pipe[0], NULL, to->fd, NULL, from->piped,
                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
            from->piped -= (size_t)n;
            to->out_total += (unsigned long long)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR) &&
            conn_watch_write(to) == RC_OK)
            return 0;
        conn_unwatch_write(to);
        conn_splice_stop(from);
        conn_arm_read(from);
        conn_event(to, CONN_ERROR | CONN_WRITING);
        return 1;
    }
    if (conn_buf_len(to->out) == 0)
        conn_unwatch_write(to);
    conn_arm_read(from); /* the pipe is empty: read again */
    return 0;
}

/* Returns 1 if the next read of <c> should go through its pipe. */
static int conn_splice_now(const struct conn *c)
{
    return c->splice == CONN_SPLICE_ALWAYS && c->splice_to != NULL &&
           conn_buf_len(c->in) == 0 && conn_buf_len(c->splice_to->out) == 0;
}

/* The peer closed its side: no more reading. Returns 1 if <c> died. */
static int conn_read_eof(struct conn *c)
{
    if (c->lean)
        conn_buf_drop_empty(&c->in);
    c->eof = 1;
    conn_arm_read(c);
    return conn_event(c, CONN_EOF | CONN_READING);
}

/* Reads once into the pipe of <c> and writes it on to the splice peer.
 * Returns 1 if <c> died, -1 if splicing is not possible (the caller reads
 * into the input instead). */
static int conn_splice_read(struct conn *c)
{
    ssize_t n;

    if (c->pipe[0] < 0) {
        /* no pipe left (maxpipes) or no descriptor: copying still works */
        if (conn_pipes >= conn_pipes_max ||
            pipe2(c->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
            return -1;
        conn_pipes++;
    }
    n = splice(c->fd, NULL, c->pipe[1], NULL, CONN_SPLICE_MAX,
               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0;
        if (errno == EINVAL && !c->spliced) {
            conn_splice_stop(c); /* a socket type that cannot splice */
            return -1;
        }
        return conn_event(c, CONN_ERROR | CONN_READING);
    }
    if (n == 0)
        return conn_read_eof(c);
    c->spliced = 1;
    c->piped += (size_t)n;
    c->in_total += (unsigned long long)n;
    c->lean = 0;
    if (conn_splice_flush(c) != 0 || c->dead)
        return c->dead;
    conn_arm_read(c); /* a full peer pauses reading */
    if (c->readcb != NULL)
        c->readcb(c, c->arg);
    return c->dead;
}

/* Reads once, up to 64 KiB (less under a high watermark), through the
 * pipe when splicing. Returns 1 if <c> died. */
static int conn_read_now(struct conn *c)
{
    struct evbuffer_iovec v[2];
    size_t want = CONN_READ_MAX, have = conn_buf_len(c->in), full;
    ssize_t n;
    int nv, i;

    if (conn_splice_now(c)) {
        n = conn_splice_read(c);
        if (n >= 0)
            return (int)n;
        c->splice = CONN_SPLICE_NEVER;
    }
    if (conn_buf(c, &c->in, conn_in_cb) == NULL)
        return conn_event(c, CONN_ERROR | CONN_READING);
    if (c->rd_hiwat > 0)
        want = have < c->rd_hiwat ? c->rd_hiwat - have : 0;
    if (want == 0) {
        conn_arm_read(c);
        return 0;
    }
    full = want;
    nv = evbuffer_reserve_space(c->in, (ev_ssize_t)want, v, 2);
    if (nv <= 0)
        return conn_event(c, CONN_ERROR | CONN_READING);
    for (i = 0; i < nv && want > 0; i++) {
        if (v[i].iov_len > want)
            v[i].iov_len = want;
        want -= v[i].iov_len;
    }
    nv = i;
    n = readv(c->fd, (struct iovec *)v, nv);
    if (n < 0) {
        evbuffer_commit_space(c->in, v, 0);
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0;
        return conn_event(c, CONN_ERROR | CONN_READING);
    }
    if (n == 0) {
        evbuffer_commit_space(c->in, v, 0);
        return conn_read_eof(c);
    }
    /* a full read: a large transfer, worth splicing from now on */
    if (c->splice == CONN_SPLICE_AUTO && (size_t)n == full)
        c->splice = CONN_SPLICE_ALWAYS;
    for (i = 0; i < nv; i++) {
        size_t l = v[i].iov_len < (size_t)n ? v[i].iov_len : (size_t)n;

        v[i].iov_len = l;
        n -= (ssize_t)l;
    }
    evbuffer_commit_space(c->in, v, nv);
    c->lean = 0;
    conn_arm_read(c); /* the high watermark may pause reading */
    if (c->readcb != NULL)
        c->readcb(c, c->arg);
    return c->dead;
}

/* The socket is readable, or the read timeout fired. */
static void conn_read_ready(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    c->in_cb++;
    if (what & EV_TIMEOUT) {
        event_del(c->rev);
        c->rd_armed = 0;
        c->enabled &= ~CONN_RD;
        conn_event(c, CONN_TIMEOUT | CONN_READING);
    } else {
        conn_read_now(c);
    }
    conn_leave(c);
}

/* A connect finished (writable) or failed. */
static int conn_connect_done(struct conn *c, short what)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (what & EV_TIMEOUT) {
        c->connecting = 0;
        return conn_event(c, CONN_TIMEOUT | CONN_WRITING);
    }
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err == EINPROGRESS) {
        if (conn_watch_write(c) == RC_OK)
            return 0;
        err = ENOMEM;
    }
    c->connecting = 0;
    if (err != 0) {
        errno = err;
        return conn_event(c, CONN_ERROR | CONN_WRITING);
    }
    conn_arm_read(c);
    if (conn_event(c, CONN_CONNECTED))
        return 1;
    return conn_write_now(c);
}

/* The socket is writable, or the write timeout fired. */
static void conn_write_ready(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    c->in_cb++;
    if (c->connecting)
        conn_connect_done(c, what);
    else if (what & EV_TIMEOUT)
        conn_event(c, CONN_TIMEOUT | CONN_WRITING);
    else
        conn_write_now(c);
    conn_leave(c);
}

/* Delivers what conn_notify() asked of <c>, outside the callers' stacks. */
static void conn_notify_one(struct conn *c)
{
    unsigned todo = c->notify_what;

    c->notify_what = 0;
    c->in_cb++;
    if (todo & NOTIFY_ERROR) {
        errno = c->notify_errno;
        c->connecting = 0;
        if (conn_event(c, CONN_ERROR | CONN_WRITING))
            goto out;
    }
    if ((todo & NOTIFY_CONNECTED) && conn_connect_done(c, EV_WRITE))
        goto out;
    if ((todo & NOTIFY_READ) && c->readcb != NULL && conn_buf_len(c->in) > 0) {
        c->readcb(c, c->arg);
        if (c->dead)
            goto out;
    }
    if (todo & NOTIFY_FLUSH)
        conn_write_now(c);
out:
    conn_leave(c);
}

/* The notify event: visits the connections queued so far; those queued
 * meanwhile wait for the next turn, so one busy connection cannot keep the
 * loop here. */
static void conn_notify_run(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = notify_head, *next;

    notify_head = notify_tail = NULL;
    for (; c != NULL; c = next) {
        next = c->notify_next;
        c->notify_queued = 0;
        if (c->dead) {
            if (c->in_cb == 0)
                conn_destroy(c);
        } else {
            conn_notify_one(c);
        }
    }
}

/* Output gained bytes: count them, write them once the current handler
 * is done. */
static void conn_out_cb(struct evbuffer *buf,
                        const struct evbuffer_cb_info *info, void *arg)
{
    struct conn *c = arg;

    c->out_total += info->n_added;
    if (info->n_added > 0 && !c->dead && !c->connecting && c->rev != NULL &&
        (c->enabled & CONN_WR) && !conn_write_watched(c))
        conn_notify(c, NOTIFY_FLUSH);
}

/* Counts what came in; a drain may resume reading under the high
 * watermark. */
static void conn_in_cb(struct evbuffer *buf,
                       const struct evbuffer_cb_info *info, void *arg)
{
    struct conn *c = arg;

    c->in_total += info->n_added;
    if (info->n_deleted > 0 && c->rd_hiwat > 0 && !c->dead)
        conn_arm_read(c);
}

int conn_bind_source(int fd, const struct sockaddr *from, socklen_t len)
{
    int one = 1;

    if (from == NULL)
        return RC_OK;
#ifdef IP_BIND_ADDRESS_NO_PORT
    /* no port given: the kernel picks it at connect, by destination, so
     * one source address is not limited to one set of ephemeral ports */
    if (((const struct sockaddr_in *)from)->sin_port == 0)
        (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                         sizeof(one));
    else
#endif
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    return bind(fd, from, len) == 0 ? RC_OK : RC_ERR;
}

int conn_connect(struct conn *c, const struct sockaddr *sa, socklen_t len,
                 const struct sockaddr *from, socklen_t fromlen)
{
    int fd =
        socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd < 0)
        return RC_ERR;
    if (sa->sa_family != AF_UNIX)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->fd = fd;
    if (conn_events_new(c) != RC_OK) {
        close(fd);
        c->fd = -1;
        return RC_ERR;
    }
    c->connecting = 1;
    if (conn_bind_source(fd, from, fromlen) != RC_OK) {
        c->notify_errno = errno; /* fails as a connect would */
        conn_notify(c, NOTIFY_ERROR);
    } else if (connect(fd, sa, len) == 0) {
        conn_notify(c, NOTIFY_CONNECTED);
    } else if (errno != EINPROGRESS || conn_watch_write(c) != RC_OK) {
        c->notify_errno = errno == EINPROGRESS ? ENOMEM : errno;
        conn_notify(c, NOTIFY_ERROR);
    }
    return RC_OK;
}

void conn_setcb(struct conn *c, conn_data_cb readcb, conn_data_cb writecb,
                conn_event_cb eventcb, void *arg)
{
    c->readcb = readcb;
    c->writecb = writecb;
    c->eventcb = eventcb;
    c->arg = arg;
}

void conn_enable(struct conn *c, short what)
{
    short was = c->enabled;

    c->enabled |= what;
    conn_arm_read(c);
    if ((what & CONN_WR) && !(was & CONN_WR) && conn_buf_len(c->out) > 0)
        conn_notify(c, NOTIFY_FLUSH);
}

void conn_disable(struct conn *c, short what)
{
    c->enabled &= (short)~what;
    conn_arm_read(c);
    if ((what & CONN_WR) && !c->connecting)
        conn_unwatch_write(c);
}

void conn_set_timeouts(struct conn *c, const struct timeval *rd,
                       const struct timeval *wr)
{
    c->has_rd_tmo = rd != NULL;
    if (rd != NULL)
        c->rd_tmo = *rd;
    c->has_wr_tmo = wr != NULL;
    if (wr != NULL)
        c->wr_tmo = *wr;
    /* event_add() on an added event only moves its timer: no syscall */
    if (c->rd_armed)
        event_add(c->rev, c->has_rd_tmo ? &c->rd_tmo : NULL);
    if (conn_write_watched(c))
        event_add(c->wev, c->has_wr_tmo ? &c->wr_tmo : NULL);
}

void conn_setwatermark(struct conn *c, short what, size_t low, size_t high)
{
    if (what & CONN_WR)
        c->wr_lowat = low;
    if (what & CONN_RD) {
        c->rd_hiwat = high;
        conn_arm_read(c);
    }
}

void conn_trigger_read(struct conn *c)
{
    conn_notify(c, NOTIFY_READ);
}

void conn_forward(struct conn *from, struct conn *to, int from_eof, int *shut,
                  size_t high)
{
    if (conn_buf_len(from->in) > 0)
        evbuffer_add_buffer(conn_output(to), from->in);
    if (from_eof) {
        if (conn_buf_len(to->out) == 0 && from->piped == 0 && !*shut &&
            to->fd >= 0) {
            shutdown(to->fd, SHUT_WR);
            *shut = 1;
        }
        return;
    }
    if (conn_buf_len(to->out) > high)
        conn_disable(from, CONN_RD);
    else
        conn_enable(from, CONN_RD);
}

void conn_splice(struct conn *from, struct conn *to, enum conn_splice how)
{
    if (from->splice_to != NULL || to->splice_from != NULL ||
        how == CONN_SPLICE_NEVER)
        return;
    from->splice_to = to;
    to->splice_from = from;
    from->splice = how;
}

void conn_set_max_pipes(unsigned n)
{
    conn_pipes_max = n;
}

void conn_loop_done(void)
{
    if (notify_ev != NULL)
        event_free(notify_ev);
    notify_ev = NULL;
}

void conn_idle(struct conn *c)
{
    c->lean = 1;
    conn_buf_drop_empty(&c->in);
    conn_buf_drop_empty(&c->out);
}

/* A buffer that cannot be made at the caller's request is a lost cause:
 * the caller has no way to report it. */
struct evbuffer *conn_input(struct conn *c)
{
    if (conn_buf(c, &c->in, conn_in_cb) == NULL)
        oom();
    return c->in;
}

struct evbuffer *conn_output(struct conn *c)
{
    if (conn_buf(c, &c->out, conn_out_cb) == NULL)
        oom();
    return c->out;
}

unsigned long long conn_bytes_in(const struct conn *c)
{
    return c->in_total;
}

unsigned long long conn_bytes_out(const struct conn *c)
{
    return c->out_total;
}

int conn_fd(const struct conn *c)
{
    return c->fd;
}

short conn_enabled(const struct conn *c)
{
    return c->enabled;
}

/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Master-worker channel: one datagram-like record per message over a
 * SOCK_SEQPACKET socketpair, so records never split or merge; a
 * descriptor travels as SCM_RIGHTS ancillary data of its record. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "core/channel.h"
#include "core/errors.h"

/* The two ints every record carries on the wire. */
struct channel_wire {
    int cmd;
    int arg;
};

/* A record as sendmsg/recvmsg see it, with room for one descriptor. */
struct channel_frame {
    struct channel_wire w;
    struct iovec iov[2];
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr mh;
};

/* Prepares <f> for one record, with the room for a descriptor if
 * <with_fd>. */
static void channel_frame_init(struct channel_frame *f, int with_fd)
{
    memset(f, 0, sizeof(*f));
    f->iov[0].iov_base = &f->w;
    f->iov[0].iov_len = sizeof(f->w);
    f->mh.msg_iov = f->iov;
    f->mh.msg_iovlen = 1;
    if (with_fd) {
        f->mh.msg_control = f->ctl.buf;
        f->mh.msg_controllen = sizeof(f->ctl.buf);
    }
}

/* Makes <f> carry the <len> bytes at <data> after the two ints. */
static void channel_frame_data(struct channel_frame *f, void *data, size_t len)
{
    f->iov[1].iov_base = data;
    f->iov[1].iov_len = len;
    f->mh.msg_iovlen = 2;
}

/* Sends a record, with descriptor <pass> unless it is -1 and the <len>
 * bytes of <data>. */
static int channel_sendmsg(int fd, enum channel_cmd cmd, int arg, int pass,
                           const void *data, size_t len)
{
    struct channel_frame f;
    ssize_t n;

    if (len > CHANNEL_DATA_MAX)
        return RC_ERR;
    channel_frame_init(&f, pass >= 0);
    channel_frame_data(&f, (void *)data, len);
    f.w.cmd = cmd;
    f.w.arg = arg;
    if (pass >= 0) {
        f.ctl.h.cmsg_level = SOL_SOCKET;
        f.ctl.h.cmsg_type = SCM_RIGHTS;
        f.ctl.h.cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(&f.ctl.h), &pass, sizeof(int));
    }
    do {
        n = sendmsg(fd, &f.mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)(sizeof(f.w) + len) ? RC_OK : RC_ERR;
}

int channel_send(int fd, enum channel_cmd cmd, int arg)
{
    return channel_sendmsg(fd, cmd, arg, -1, NULL, 0);
}

int channel_send_fd(int fd, enum channel_cmd cmd, int arg, int pass)
{
    return channel_sendmsg(fd, cmd, arg, pass, NULL, 0);
}

int channel_send_data(int fd, enum channel_cmd cmd, int arg, const void *data,
                      size_t len)
{
    return channel_sendmsg(fd, cmd, arg, -1, data, len);
}

int channel_send_fd_data(int fd, enum channel_cmd cmd, int arg, int pass,
                         const void *data, size_t len)
{
    return channel_sendmsg(fd, cmd, arg, pass, data, len);
}

int channel_recv(int fd, struct channel_msg *msg)
{
    struct channel_frame f;
    struct cmsghdr *c;
    ssize_t n;

    channel_frame_init(&f, 1);
    channel_frame_data(&f, msg->data, sizeof(msg->data));
    do {
        n = recvmsg(fd, &f.mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return RC_AGAIN;
    msg->fd = -1;
    for (c = CMSG_FIRSTHDR(&f.mh); c != NULL; c = CMSG_NXTHDR(&f.mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(&msg->fd, CMSG_DATA(c), sizeof(int));
    msg->cmd = f.w.cmd;
    msg->arg = f.w.arg;
    msg->len = n >= (ssize_t)sizeof(f.w) ? (size_t)n - sizeof(f.w) : 0;
    return n >= (ssize_t)sizeof(f.w) && !(f.mh.msg_flags & MSG_TRUNC) ? RC_OK
                                                                      : RC_ERR;
}

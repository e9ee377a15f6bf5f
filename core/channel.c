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
    struct iovec iov;
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
    f->iov.iov_base = &f->w;
    f->iov.iov_len = sizeof(f->w);
    f->mh.msg_iov = &f->iov;
    f->mh.msg_iovlen = 1;
    if (with_fd) {
        f->mh.msg_control = f->ctl.buf;
        f->mh.msg_controllen = sizeof(f->ctl.buf);
    }
}

/* Sends a record, with descriptor <pass> unless it is -1. */
static int channel_sendmsg(int fd, enum channel_cmd cmd, int arg, int pass)
{
    struct channel_frame f;
    ssize_t n;

    channel_frame_init(&f, pass >= 0);
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
    return n == (ssize_t)sizeof(f.w) ? RC_OK : RC_ERR;
}

int channel_send(int fd, enum channel_cmd cmd, int arg)
{
    return channel_sendmsg(fd, cmd, arg, -1);
}

int channel_send_fd(int fd, enum channel_cmd cmd, int arg, int pass)
{
    return channel_sendmsg(fd, cmd, arg, pass);
}

int channel_recv(int fd, struct channel_msg *msg)
{
    struct channel_frame f;
    struct cmsghdr *c;
    ssize_t n;

    channel_frame_init(&f, 1);
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
    return n == (ssize_t)sizeof(f.w) ? RC_OK : RC_ERR;
}

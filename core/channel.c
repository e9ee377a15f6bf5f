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

/* Sends a record, with descriptor <pass> unless it is -1. */
static int channel_sendmsg(int fd, enum channel_cmd cmd, int arg, int pass)
{
    struct channel_wire w = {cmd, arg};
    struct iovec iov = {&w, sizeof(w)};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr mh;
    ssize_t n;

    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (pass >= 0) {
        memset(&ctl, 0, sizeof(ctl));
        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof(ctl.buf);
        ctl.h.cmsg_level = SOL_SOCKET;
        ctl.h.cmsg_type = SCM_RIGHTS;
        ctl.h.cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(&ctl.h), &pass, sizeof(int));
    }
    do {
        n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof(w) ? RC_OK : RC_ERR;
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
    struct channel_wire w;
    struct iovec iov = {&w, sizeof(w)};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr mh;
    struct cmsghdr *c;
    ssize_t n;

    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof(ctl.buf);
    do {
        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return RC_AGAIN;
    msg->fd = -1;
    for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(&msg->fd, CMSG_DATA(c), sizeof(int));
    msg->cmd = w.cmd;
    msg->arg = w.arg;
    return n == (ssize_t)sizeof(w) ? RC_OK : RC_ERR;
}

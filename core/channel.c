/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Master-worker channel: one datagram-like record per message over a
 * SOCK_SEQPACKET socketpair, so records never split or merge. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <sys/socket.h>

#include "core/channel.h"
#include "core/errors.h"

int channel_send(int fd, enum channel_cmd cmd, int arg)
{
    struct channel_msg msg = {cmd, arg};
    ssize_t n;

    do {
        n = send(fd, &msg, sizeof(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof(msg) ? RC_OK : RC_ERR;
}

int channel_recv(int fd, struct channel_msg *msg)
{
    ssize_t n;

    do {
        n = recv(fd, msg, sizeof(*msg), MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return RC_AGAIN;
    return n == (ssize_t)sizeof(*msg) ? RC_OK : RC_ERR;
}

/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Binding listening sockets in the master, and matching them across
 * generations so that a reload reuses the same fd for an unchanged bind. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/listener.h"
#include "core/util.h"

#define LISTENER_DEFAULT_BACKLOG 1024

/* Applies the unix socket's mode and owner. */
static int listener_unix_perms(struct listener *l, char **err)
{
    const char *path = ((struct sockaddr_un *)&l->addr.ss)->sun_path;

    if (l->mode != 0 && chmod(path, l->mode) < 0)
        return set_err(err, "cannot chmod %s: %s", path, strerror(errno));
    if ((l->uid != -1 || l->gid != -1) && chown(path, l->uid, l->gid) < 0)
        return set_err(err, "cannot chown %s: %s", path, strerror(errno));
    return RC_OK;
}

int listener_bind(struct listener *l, char **err)
{
    int fd, one = 1;
    char buf[128];

    if (l->fd >= 0)
        return RC_OK;
    fd = socket(l->addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return set_err(err, "cannot create socket for %s: %s", l->name,
                       strerror(errno));
    if (l->addr.family == AF_UNIX)
        unlink(((struct sockaddr_un *)&l->addr.ss)->sun_path);
    else
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&l->addr.ss, l->addr.len) < 0) {
        set_err(err, "cannot bind socket (%s) for %s [%s]", strerror(errno),
                l->name, cfgval_addr_str(&l->addr, buf, sizeof(buf)));
        close(fd);
        return RC_ERR;
    }
    if (l->addr.family == AF_UNIX && listener_unix_perms(l, err) != RC_OK) {
        close(fd);
        return RC_ERR;
    }
    if (listen(fd, l->backlog > 0 ? l->backlog : LISTENER_DEFAULT_BACKLOG) <
        0) {
        set_err(err, "cannot listen on %s: %s", l->name, strerror(errno));
        close(fd);
        return RC_ERR;
    }
    l->fd = fd;
    return RC_OK;
}

int listener_same(const struct listener *a, const struct listener *b)
{
    return a->addr.family == b->addr.family && a->addr.len == b->addr.len &&
           memcmp(&a->addr.ss, &b->addr.ss, a->addr.len) == 0 &&
           a->backlog == b->backlog && a->mode == b->mode && a->uid == b->uid &&
           a->gid == b->gid && !a->inherited && !b->inherited;
}

void listener_close(struct listener *l)
{
    if (l->fd >= 0 && !l->inherited)
        close(l->fd);
    l->fd = -1;
}

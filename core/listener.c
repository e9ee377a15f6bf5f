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
#include "core/proxy.h"
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

/* 1 if a "bind" line of <l>'s proxy sets <id>. */
static int listener_id_taken(const struct listener *l, int id)
{
    for (l = l->px->listeners; l != NULL; l = l->next)
        if (l->id == id)
            return 1;
    return 0;
}

int listener_id(const struct listener *l)
{
    const struct listener *o;
    int next = 1;

    if (l->id != 0 || l->px == NULL)
        return l->id;
    /* each listener uses up a number; one without an id takes the first
     * free one from there */
    for (o = l->px->listeners; o != NULL && o != l; o = o->next, next++)
        if (o->id == 0)
            while (listener_id_taken(l, next))
                next++;
    while (listener_id_taken(l, next))
        next++;
    return next;
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

/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Master-worker messages: fixed-size typed records over one socketpair per
 * worker (nginx's channel). A closed channel tells a worker its master is
 * gone. */
#ifndef LUAPROXY_CORE_CHANNEL_H
#define LUAPROXY_CORE_CHANNEL_H

enum channel_cmd {
    CHANNEL_DRAIN = 1, /* stop accepting, finish in-flight work, exit */
    CHANNEL_STOP,      /* close everything now and exit */
};

struct channel_msg {
    int cmd;
    int arg;
};

/* Sends <cmd> on <fd>; RC_OK or RC_ERR (the peer is gone or full). */
int channel_send(int fd, enum channel_cmd cmd, int arg);
/* Reads one message; RC_OK, RC_AGAIN (nothing yet) or RC_ERR (closed). */
int channel_recv(int fd, struct channel_msg *msg);

#endif

/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Master-worker messages: fixed-size typed records over one socketpair per
 * worker (nginx's channel), which may carry one descriptor (nginx passes
 * sockets the same way). A closed channel tells a worker its master is
 * gone. */
#ifndef LUAPROXY_CORE_CHANNEL_H
#define LUAPROXY_CORE_CHANNEL_H

enum channel_cmd {
    CHANNEL_DRAIN = 1, /* stop accepting, finish in-flight work, exit */
    CHANNEL_STOP,      /* close everything now and exit */
    CHANNEL_CLI,       /* serve the runtime API command on the fd passed */
};

struct channel_msg {
    int cmd;
    int arg;
    int fd; /* the descriptor received with the message, or -1 */
};

/* Sends <cmd> on <fd>; RC_OK or RC_ERR (the peer is gone or full). */
int channel_send(int fd, enum channel_cmd cmd, int arg);
/* Sends <cmd> with a copy of descriptor <pass>; same results. */
int channel_send_fd(int fd, enum channel_cmd cmd, int arg, int pass);
/* Reads one message; RC_OK, RC_AGAIN (nothing yet) or RC_ERR (closed).
 * The receiver owns msg->fd when it is not -1. */
int channel_recv(int fd, struct channel_msg *msg);

#endif

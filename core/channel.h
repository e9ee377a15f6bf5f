/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Master-worker messages: typed records over one socketpair per worker
 * (nginx's channel), which may carry one descriptor (nginx passes sockets
 * the same way) or some bytes of data. A closed channel tells a worker its
 * master is gone. */
#ifndef LUAPROXY_CORE_CHANNEL_H
#define LUAPROXY_CORE_CHANNEL_H

enum channel_cmd {
    CHANNEL_DRAIN = 1, /* stop accepting, finish in-flight work, exit */
    CHANNEL_STOP,      /* close everything now and exit */
    CHANNEL_CLI,       /* serve the runtime API command on the fd passed */
    CHANNEL_MAP_EDIT,  /* a map edit, worker to master to the others */
    CHANNEL_SRV_ADMIN, /* a server's admin state, the same way */
    CHANNEL_PX_OP,     /* a proxy operation (enum proxy_op), the same way */
    CHANNEL_CLI_ASK,   /* worker to master: run the runtime API line of the
                        * data at level user, answer on the fd passed */
};

/* The most bytes a record carries after its two ints. */
#define CHANNEL_DATA_MAX 32768

struct channel_msg {
    int cmd;
    int arg;
    int fd;     /* the descriptor received with the message, or -1 */
    size_t len; /* bytes of <data> */
    char data[CHANNEL_DATA_MAX];
};

/* Sends <cmd> on <fd>; RC_OK or RC_ERR (the peer is gone or full). */
int channel_send(int fd, enum channel_cmd cmd, int arg);
/* Sends <cmd> with a copy of descriptor <pass>; same results. */
int channel_send_fd(int fd, enum channel_cmd cmd, int arg, int pass);
/* Sends <cmd> with the <len> bytes of <data> (at most CHANNEL_DATA_MAX);
 * same results. */
int channel_send_data(int fd, enum channel_cmd cmd, int arg, const void *data,
                      size_t len);
/* Sends <cmd> with a copy of descriptor <pass> and the <len> bytes of
 * <data>; same results. */
int channel_send_fd_data(int fd, enum channel_cmd cmd, int arg, int pass,
                         const void *data, size_t len);
/* Reads one message; RC_OK, RC_AGAIN (nothing yet) or RC_ERR (closed).
 * The receiver owns msg->fd when it is not -1. */
int channel_recv(int fd, struct channel_msg *msg);

#endif

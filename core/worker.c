/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* Worker processes. After fork a worker raises its descriptor limit,
 * chroots, drops privileges, then runs one event loop: it accepts on the
 * listening sockets inherited from the master and hands each connection to
 * the protocol layer of its frontend. On a drain order it stops accepting,
 * lets its sessions finish (the protocol layers are told, to close idle
 * keep-alive connections), and exits when the last one is gone or when
 * hard-stop-after expires. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/cfg.h"
#include "core/channel.h"
#include "core/cli.h"
#include "core/conn.h"
#include "core/errors.h"
#include "core/listener.h"
#include "core/log.h"
#include "core/map.h"
#include "core/module.h"
#include "core/proxy.h"
#include "core/rate_limit.h"
#include "core/server.h"
#include "core/stream.h"
#include "core/worker.h"

#define ACCEPT_BATCH    64
#define DRAIN_HOOKS_MAX 8

static struct event_base *loop;
static struct cfg *cur_cfg;
static int my_id, draining, accepting, my_chan = -1;
static int hard_maxconn; /* the configured global maxconn */
static unsigned long nsessions;
static unsigned long long cum_sessions;
static time_t started;
static struct event *chan_ev, *hard_stop_ev;
static void (*drain_hooks[DRAIN_HOOKS_MAX])(void);
static int ndrain_hooks;

struct event_base *worker_loop(void)
{
    if (loop == NULL)
        loop = event_base_new();
    return loop;
}

int worker_share(enum channel_cmd cmd, int arg, const void *data, size_t len)
{
    if (my_chan < 0)
        return RC_DECLINED;
    return channel_send_data(my_chan, cmd, arg, data, len);
}

int worker_tell_master(enum channel_cmd cmd, int pass, const void *data,
                       size_t len)
{
    if (my_chan < 0)
        return RC_DECLINED;
    return channel_send_fd_data(my_chan, cmd, 0, pass, data, len);
}

struct cfg *worker_cfg(void)
{
    return cur_cfg;
}

int worker_draining(void)
{
    return draining;
}

int worker_id(void)
{
    return my_id;
}

void worker_drain_register(void (*fn)(void))
{
    if (ndrain_hooks < DRAIN_HOOKS_MAX)
        drain_hooks[ndrain_hooks++] = fn;
}

/* Returns 1 if <l> or its frontend reached its maxconn. */
static int listener_full(const struct listener *l)
{
    return (l->maxconn > 0 && l->nconn >= (unsigned)l->maxconn) ||
           (l->px->maxconn > 0 && l->px->feconn >= (unsigned)l->px->maxconn);
}

/* Watches <l> when the worker accepts, <l> has room and its frontend is
 * neither disabled nor shut down by the runtime API, else not. */
static void listener_update(struct listener *l)
{
    int want = accepting && !listener_full(l) && l->px->fe_state == PX_FE_READY;

    if (l->ev == NULL || want == l->watched)
        return;
    l->watched = want;
    want ? event_add(l->ev, NULL) : event_del(l->ev);
}

/* Turns accepting on or off on every listener (global maxconn, drain). */
static void worker_accept_set(int on)
{
    struct proxy *px;
    struct listener *l;

    if (on == accepting || (on && draining))
        return;
    accepting = on;
    for (px = cur_cfg->proxies; px != NULL; px = px->next)
        for (l = px->listeners; l != NULL; l = l->next)
            listener_update(l);
}

void worker_get_counts(struct worker_counts *wc)
{
    wc->cur_conns = nsessions;
    wc->cum_conns = cum_sessions;
    wc->started = started;
    wc->hard_maxconn = hard_maxconn;
}

void worker_frontend_update(struct proxy *px)
{
    struct listener *l;

    for (l = px->listeners; l != NULL; l = l->next)
        listener_update(l);
}

void worker_frontend_close(struct proxy *px)
{
    struct listener *l;

    worker_frontend_update(px);
    for (l = px->listeners; l != NULL; l = l->next)
        listener_close(l); /* our copy: the master keeps its own */
}

void worker_set_maxconn(int n)
{
    cur_cfg->global.maxconn = n;
    worker_accept_set(nsessions < (unsigned long)n);
}

void worker_session_add(struct session *sess)
{
    nsessions++;
    cum_sessions++;
    sess->li->nconn++;
    sess->fe->feconn++;
    freq_ctr_inc(&sess->fe->fe_sess_rate);
    if (cur_cfg != NULL && nsessions >= (unsigned long)cur_cfg->global.maxconn)
        worker_accept_set(0);
    else
        listener_update(sess->li);
}

void worker_session_remove(struct session *sess)
{
    struct listener *l;

    nsessions--;
    sess->li->nconn--;
    sess->fe->feconn--;
    if (draining && nsessions == 0) {
        event_base_loopexit(loop, NULL);
        return;
    }
    if (cur_cfg != NULL && nsessions < (unsigned long)cur_cfg->global.maxconn)
        worker_accept_set(1);
    for (l = sess->fe->listeners; l != NULL; l = l->next)
        listener_update(l); /* the frontend's maxconn may have room again */
}

/* The rate-limit pause is over: the listeners it stopped accept again. */
static void worker_rate_resume(evutil_socket_t fd, short what, void *arg)
{
    struct proxy *px;
    struct listener *l;

    for (px = cur_cfg->proxies; px != NULL; px = px->next)
        for (l = px->listeners; l != NULL; l = l->next)
            listener_update(l);
}

/* <l> is at a rate limit for <ms>: it stops accepting until then (its
 * clients wait in the kernel's backlog). */
static void worker_rate_pause(struct listener *l, unsigned ms)
{
    static struct event *resume;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (resume == NULL)
        resume = evtimer_new(loop, worker_rate_resume, NULL);
    if (resume == NULL)
        return;
    l->watched = 0;
    event_del(l->ev);
    if (!evtimer_pending(resume, NULL))
        evtimer_add(resume, &tv);
}

/* Accepts a batch of connections on a listener. */
static void worker_accept_cb(evutil_socket_t fd, short what, void *arg)
{
    struct listener *l = arg;
    struct sockaddr_storage ss;
    struct session *sess;
    int i, cfd, one = 1;
    unsigned wait;

    for (i = 0; i < ACCEPT_BATCH && l->watched; i++) {
        socklen_t len = sizeof(ss);

        if ((wait = rate_limit_wait(l)) != 0) {
            worker_rate_pause(l, wait);
            return;
        }

        cfd = accept4(fd, (struct sockaddr *)&ss, &len,
                      SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                log_alert("accept on %s: %s", l->name, strerror(errno));
            return;
        }
        rate_limit_count(l);
        if (ss.ss_family != AF_UNIX)
            setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        sess = session_new(l, cfd, (struct sockaddr *)&ss, len);
        if (sess != NULL)
            session_start(sess);
    }
}

/* Stops the worker now. */
static void worker_stop(void)
{
    event_base_loopbreak(loop);
}

/* hard-stop-after expired while draining: whatever is left is cut. */
static void worker_hard_stop_cb(evutil_socket_t fd, short what, void *arg)
{
    log_warning("worker %d (pid %d): hard-stop-after expired, closing %lu "
                "remaining connections",
                my_id, (int)getpid(), nsessions);
    worker_stop();
}

/* Begins draining: no more accepts, protocol layers close idle work. */
static void worker_drain(void)
{
    struct proxy *px;
    struct listener *l;
    int i;

    if (draining)
        return;
    worker_accept_set(0);
    draining = 1;
    for (px = cur_cfg->proxies; px != NULL; px = px->next)
        for (l = px->listeners; l != NULL; l = l->next)
            listener_close(l); /* our copy: the master keeps its own */
    if (cur_cfg->global.hard_stop_after > 0) {
        struct timeval tv = {cur_cfg->global.hard_stop_after / 1000,
                             (cur_cfg->global.hard_stop_after % 1000) * 1000};

        hard_stop_ev = evtimer_new(loop, worker_hard_stop_cb, NULL);
        evtimer_add(hard_stop_ev, &tv);
    }
    for (i = 0; i < ndrain_hooks; i++)
        drain_hooks[i]();
    if (nsessions == 0)
        event_base_loopexit(loop, NULL);
}

/* Reads the master's orders; a closed channel means the master is gone. */
static void worker_chan_cb(evutil_socket_t fd, short what, void *arg)
{
    struct channel_msg msg;
    int rc;

    while ((rc = channel_recv(fd, &msg)) == RC_OK) {
        if (msg.cmd == CHANNEL_DRAIN)
            worker_drain();
        else if (msg.cmd == CHANNEL_STOP)
            worker_stop();
        else if (msg.cmd == CHANNEL_CLI && msg.fd >= 0)
            cli_worker_serve(msg.fd);
        else if (msg.cmd == CHANNEL_MAP_EDIT)
            map_edit_receive(msg.arg, msg.data, msg.len);
        else if (msg.cmd == CHANNEL_SRV_ADMIN)
            server_admin_receive(msg.arg, msg.data, msg.len);
        else if (msg.cmd == CHANNEL_PX_OP)
            proxy_op_receive(msg.arg, msg.data, msg.len);
        else if (msg.fd >= 0)
            close(msg.fd);
    }
    if (rc == RC_ERR)
        worker_stop();
}

/* Signals sent to a worker directly (by an operator or by the master's
 * escalation): TERM/INT stop, QUIT/USR1 drain. */
static void worker_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    if (sig == SIGTERM || sig == SIGINT)
        worker_stop();
    else
        worker_drain();
}

/* Sets the splicing pipes allowed (maxpipes, as HAProxy by default a
 * quarter of maxconn) and sets RLIMIT_NOFILE to "ulimit-n", else raises it
 * to fit maxconn (two fds a session) and the pipes (two fds each), plus
 * margin. */
static void worker_raise_nofile(const struct cfg *cfg)
{
    int pipes = cfg->global.maxpipes >= 0 ? cfg->global.maxpipes
                                          : cfg->global.maxconn / 4;
    struct rlimit rl;
    rlim_t want = (rlim_t)cfg->global.maxconn * 2 + (rlim_t)pipes * 2 + 256;

    conn_set_max_pipes((unsigned)pipes);
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    if (cfg->global.ulimit_n > 0) { /* "ulimit-n": exactly that */
        want = (rlim_t)cfg->global.ulimit_n;
        if (want > rl.rlim_max)
            rl.rlim_max = want; /* allowed to root only */
    } else if (rl.rlim_cur >= want) {
        return;
    }
    rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        log_warning("cannot raise the file descriptor limit to %lu",
                    (unsigned long)want);
}

/* Resolves a user or group given as a name or a number. */
static int resolve_id(const char *s, int is_group, uid_t *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);

    if (*s != '\0' && *end == '\0') {
        *out = (uid_t)v;
        return RC_OK;
    }
    if (is_group) {
        struct group *gr = getgrnam(s);

        if (gr == NULL)
            return RC_ERR;
        *out = gr->gr_gid;
    } else {
        struct passwd *pw = getpwnam(s);

        if (pw == NULL)
            return RC_ERR;
        *out = pw->pw_uid;
    }
    return RC_OK;
}

/* Resolves the configured user and group; without a group, the user's
 * primary group (as nginx does). Exits fatally if one is unknown. */
static void worker_resolve_ids(const struct global *g, uid_t *uid, gid_t *gid)
{
    uid_t id;

    if (g->user != NULL) {
        struct passwd *pw;

        if (resolve_id(g->user, 0, uid) != RC_OK) {
            log_alert("worker: unknown user '%s'", g->user);
            exit(WORKER_EXIT_FATAL);
        }
        if ((pw = getpwuid(*uid)) != NULL)
            *gid = pw->pw_gid;
    }
    if (g->group != NULL) {
        if (resolve_id(g->group, 1, &id) != RC_OK) {
            log_alert("worker: unknown group '%s'", g->group);
            exit(WORKER_EXIT_FATAL);
        }
        *gid = (gid_t)id;
    }
}

/* chroot, then group and user, as configured; exits fatally on failure
 * so that the master does not respawn a worker that can never start. */
static void worker_drop_privileges(const struct global *g)
{
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;

    worker_resolve_ids(g, &uid, &gid); /* before chroot: needs /etc */
    if (g->chroot && (chroot(g->chroot) < 0 || chdir("/") < 0)) {
        log_alert("worker: cannot chroot to %s: %s", g->chroot,
                  strerror(errno));
        exit(WORKER_EXIT_FATAL);
    }
    if (gid != (gid_t)-1 && (setgroups(0, NULL) < 0 || setgid(gid) < 0)) {
        log_alert("worker: cannot set group %u: %s", (unsigned)gid,
                  strerror(errno));
        exit(WORKER_EXIT_FATAL);
    }
    if (uid != (uid_t)-1 && setuid(uid) < 0) {
        log_alert("worker: cannot set user %s: %s", g->user, strerror(errno));
        exit(WORKER_EXIT_FATAL);
    }
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
#ifdef __SANITIZE_ADDRESS__
    /* a uid change makes the process non-dumpable, and LeakSanitizer
     * then cannot inspect it at exit; only sanitizer builds stay dumpable */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
}

/* Creates the accept events on every frontend listener. */
static void worker_listen(struct cfg *cfg)
{
    struct proxy *px;
    struct listener *l;

    for (px = cfg->proxies; px != NULL; px = px->next)
        for (l = px->listeners; l != NULL; l = l->next)
            l->ev = event_new(loop, l->fd, EV_READ | EV_PERSIST,
                              worker_accept_cb, l);
    worker_accept_set(1);
}

/* Adds a persistent signal event. */
static void worker_signal(int sig)
{
    struct event *ev = evsignal_new(loop, sig, worker_signal_cb, NULL);

    event_add(ev, NULL);
}

/* Installs the worker's signal dispositions, then unblocks the signals the
 * master blocked around fork. */
static void worker_signals(void)
{
    sigset_t none;

    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGUSR2, SIG_IGN);
    worker_signal(SIGTERM);
    worker_signal(SIGINT);
    worker_signal(SIGQUIT);
    worker_signal(SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Frees the worker's own events at exit (sessions die with the process). */
static void worker_free_events(void)
{
    event_free(chan_ev);
    if (hard_stop_ev != NULL)
        event_free(hard_stop_ev);
    conn_loop_done();
}

/* Puts worker <id> on the CPUs its "cpu-map" lines give (the last line
 * naming it wins); a failure is logged and the worker runs anywhere. */
static void worker_set_cpus(const struct cfg *cfg, int id)
{
    const struct cpu_map *m;
    cpu_set_t set;
    int i, any = 0;

    for (m = cfg->global.cpu_maps; m != NULL; m = m->next) {
        if (id < m->lo || id > m->hi || m->ncpus == 0 ||
            (m->autom && id - m->lo >= m->ncpus))
            continue;
        CPU_ZERO(&set);
        if (m->autom)
            CPU_SET(m->cpus[id - m->lo], &set);
        else
            for (i = 0; i < m->ncpus; i++)
                CPU_SET(m->cpus[i], &set);
        any = 1;
    }
    if (any && sched_setaffinity(0, sizeof(set), &set) < 0)
        log_warning("worker %d: cannot bind to the CPUs of cpu-map: %s", id,
                    strerror(errno));
}

void worker_run(struct cfg *cfg, int id, int chan)
{
    const struct module *const *m;

    cur_cfg = cfg;
    my_id = id;
    my_chan = chan;
    started = time(NULL);
    hard_maxconn = cfg->global.maxconn;
    /* a loop the master made (a module used it at load time) shares the
     * master's epoll instance: give it its own */
    if (loop != NULL)
        event_reinit(loop);
    worker_loop();
    /* never outlive the master; if it died before this, the channel is
     * already at EOF and the first loop turn stops us */
    prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
    worker_raise_nofile(cfg);
    worker_set_cpus(cfg, id);
    /* each request frees what it allocated: keep the freed top of the heap
     * instead of returning it to the kernel and asking again (brk) */
    mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TOP_PAD, 4 * 1024 * 1024);
    /* buffers come and go by the thousand: from the heap, never mmap */
    mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
    worker_drop_privileges(&cfg->global);
    worker_signals();
    chan_ev = event_new(loop, chan, EV_READ | EV_PERSIST, worker_chan_cb, NULL);
    event_add(chan_ev, NULL);
    for (m = modules; *m != NULL; m++) {
        if ((*m)->worker_init != NULL && (*m)->worker_init(cfg) != RC_OK) {
            log_alert("worker %d: module %s failed to start", id, (*m)->name);
            exit(WORKER_EXIT_FATAL);
        }
    }
    worker_listen(cfg);
    log_notice("worker %d (pid %d) ready, generation %u", id, (int)getpid(),
               cfg->generation);
    event_base_dispatch(loop);
    worker_free_events();
    exit(0);
}

/* Copyright (c) luaproxy developers. Licensed under the MIT licence. */
/* The master process (nginx's model): it parses each configuration
 * generation, binds the listeners once and keeps them across reloads,
 * forks the workers, and runs a small event loop for signals and the
 * workers' exits. A reload builds the whole new generation first; only if
 * that succeeds are new workers forked on the same sockets and the old ones
 * told to drain, so a bad configuration never takes the service down. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/cfg.h"
#include "core/cfgparse.h"
#include "core/channel.h"
#include "core/cli.h"
#include "core/errors.h"
#include "core/listener.h"
#include "core/log.h"
#include "core/master.h"
#include "core/proxy.h"
#include "core/server_slots.h"
#include "core/util.h"
#include "core/worker.h"

#define MAX_PROCS            SERVER_SLOTS_MAX_PROCS
#define KILL_DELAY_MS        3000
#define RESPAWN_MAX_DELAY_MS 10000

enum master_stop {
    STOP_NONE,
    STOP_GRACEFUL,
    STOP_FAST,
};

struct proc {
    pid_t pid; /* 0: free slot */
    int id;    /* worker number 1..N within its generation */
    unsigned gen;
    int chan;              /* master's end of the channel */
    struct event *chan_ev; /* reads what the worker shares */
    int old;               /* of a previous generation, draining */
    int reloads;           /* reloads survived while old */
    struct timespec started;
};

/* A worker slot of the current generation waiting to be respawned. */
struct respawn {
    int id;
    int failures; /* quick deaths in a row: drives the back-off */
    struct event *ev;
};

static struct event_base *mbase;
static const struct master_opts *mopts;
static struct cfg *cur;
static struct proc procs[MAX_PROCS];
static struct respawn *respawns;
static int nworkers;
static enum master_stop stopping;
static struct event *kill_ev;
static unsigned failed_reloads;
static int exit_code;

static void master_stop(enum master_stop how);

struct cfg *master_load(const struct master_opts *opts)
{
    struct cfg *cfg = cfg_new();
    int errors = cfgparse_paths(cfg, opts->npaths, opts->paths);

    if (errors == 0)
        errors = cfgparse_check(cfg);
    if (errors != 0) {
        log_alert("Fatal errors found in configuration.");
        cfg_free(cfg);
        return NULL;
    }
    if (cfg->global.quiet)
        log_stderr_level = LOG_LVL_ALERT; /* "quiet": as -q */
    if (cfg->global.nbproc == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        cfg->global.nbproc = n > 0 ? (int)n : 1;
    }
    return cfg;
}

/* Finds in <old> the bound listener that <l> can take over. */
static struct listener *master_find_socket(struct cfg *old,
                                           const struct listener *l)
{
    struct proxy *px;
    struct listener *o;

    for (px = old ? old->proxies : NULL; px != NULL; px = px->next)
        for (o = px->listeners; o != NULL; o = o->next)
            if (o->fd >= 0 && listener_same(o, l))
                return o;
    return NULL;
}

/* Closes what master_bind opened in <cfg> before it failed. */
static void master_unbind_new(struct cfg *cfg, struct cfg *old)
{
    struct proxy *px;
    struct listener *l;

    for (px = cfg->proxies; px != NULL; px = px->next)
        for (l = px->listeners; l != NULL; l = l->next)
            if (l->fd >= 0 && master_find_socket(old, l) == NULL)
                listener_close(l);
            else if (!l->inherited)
                l->fd = -1;
}

int master_bind(struct cfg *cfg, struct cfg *old)
{
    struct proxy *px;
    struct listener *l, *o;
    char *err = NULL;

    for (px = cfg->proxies; px != NULL; px = px->next) {
        for (l = px->listeners; l != NULL; l = l->next) {
            o = master_find_socket(old, l);
            if (o != NULL)
                l->fd = o->fd;
            else if (listener_bind(l, &err) != RC_OK)
                goto fail;
        }
    }
    if (cli_master_bind(cfg, old) != RC_OK)
        goto fail_cli;
    /* commit: the old generation no longer owns the sockets taken over */
    for (px = cfg->proxies; px != NULL; px = px->next)
        for (l = px->listeners; l != NULL; l = l->next)
            if ((o = master_find_socket(old, l)) != NULL && o->fd == l->fd)
                o->fd = -1;
    return RC_OK;
fail_cli:
    master_unbind_new(cfg, old);
    return RC_ERR;
fail:
    log_alert("%s:%d: %s", l->file, l->line, err);
    free(err);
    master_unbind_new(cfg, old);
    return RC_ERR;
}

/* Closes the master's copy of every socket <cfg> still owns: at a reload
 * those of the previous generation that were not taken over (before the new
 * workers are forked, so that they do not inherit a removed bind), and at a
 * stop all of them (new connections are refused at once). */
static void master_close_listeners(struct cfg *cfg)
{
    struct proxy *px;
    struct listener *l;

    for (px = cfg->proxies; px != NULL; px = px->next)
        for (l = px->listeners; l != NULL; l = l->next)
            listener_close(l);
}

/* Writes the master's pid to the pid file, if one is configured. */
static void master_write_pidfile(const char *path)
{
    char buf[32];
    int fd, n;

    if (path == NULL)
        return;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        log_alert("cannot write pid file %s: %s", path, strerror(errno));
        return;
    }
    n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
    if (write(fd, buf, (size_t)n) != n)
        log_alert("cannot write pid file %s", path);
    close(fd);
}

/* Returns the free slot, or NULL. */
static struct proc *proc_slot(void)
{
    int i;

    for (i = 0; i < MAX_PROCS; i++)
        if (procs[i].pid == 0)
            return &procs[i];
    return NULL;
}

/* In a new child: closes every descriptor that belongs to the master. */
static void child_forget_master(void)
{
    int i;

    /* the epoll instance is shared with the master after fork: freeing the
     * base as it is would unregister the master's events from it */
    event_reinit(mbase);
    for (i = 0; i < MAX_PROCS; i++)
        if (procs[i].pid != 0) {
            event_free(procs[i].chan_ev);
            close(procs[i].chan);
        }
    event_base_free(mbase);
    mbase = NULL;
    cli_master_forget(); /* after the base let go of their events */
}

/* Passes what worker <from> shared to the other workers of its
 * generation, in the order it came. */
static void master_relay(const struct proc *from, const struct channel_msg *msg)
{
    int i;

    for (i = 0; i < MAX_PROCS; i++)
        if (procs[i].pid != 0 && &procs[i] != from &&
            procs[i].gen == from->gen &&
            channel_send_data(procs[i].chan, msg->cmd, msg->arg, msg->data,
                              msg->len) != RC_OK)
            log_warning("worker %d (pid %d) missed a shared edit: %s",
                        procs[i].id, (int)procs[i].pid, strerror(errno));
}

/* Reads what a worker sends: map edits and server states to relay, runtime
 * API lines it asks the master to run. At the end of the channel the
 * worker is gone; its exit is handled on SIGCHLD. */
static void master_chan_cb(evutil_socket_t fd, short what, void *arg)
{
    struct proc *p = arg;
    struct channel_msg msg;
    int rc;

    while ((rc = channel_recv(fd, &msg)) == RC_OK) {
        if (msg.cmd == CHANNEL_CLI_ASK && msg.fd >= 0) {
            cli_master_adopt(msg.fd, msg.data, msg.len);
            continue;
        }
        if (msg.fd >= 0)
            close(msg.fd);
        if (msg.cmd == CHANNEL_MAP_EDIT || msg.cmd == CHANNEL_SRV_ADMIN ||
            msg.cmd == CHANNEL_PX_OP)
            master_relay(p, &msg);
    }
    if (rc == RC_ERR)
        event_del(p->chan_ev);
}

/* Forks worker number <id> of the current generation. */
static int master_spawn(int id)
{
    struct proc *p = proc_slot();
    sigset_t all, prev;
    int sv[2];
    pid_t pid;

    if (p == NULL ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        log_alert("cannot create worker %d: %s", id,
                  p ? strerror(errno) : "too many processes");
        return RC_ERR;
    }
    /* no signal may run the master's handlers in the child: the worker
     * unblocks them once its own are in place */
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &prev);
    pid = fork();
    if (pid == 0) {
        close(sv[0]);
        child_forget_master();
        server_slots_owner_set((int)(p - procs));
        worker_run(cur, id, sv[1]);
    }
    sigprocmask(SIG_SETMASK, &prev, NULL);
    if (pid < 0) {
        log_alert("cannot fork worker %d: %s", id, strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return RC_ERR;
    }
    close(sv[1]);
    p->pid = pid;
    p->id = id;
    p->gen = cur->generation;
    p->chan = sv[0];
    p->chan_ev =
        event_new(mbase, p->chan, EV_READ | EV_PERSIST, master_chan_cb, p);
    event_add(p->chan_ev, NULL);
    p->old = 0;
    p->reloads = 0;
    clock_gettime(CLOCK_MONOTONIC, &p->started);
    log_notice("worker %d (pid %d) started, generation %u", id, (int)pid,
               cur->generation);
    return RC_OK;
}

/* The runtime API's view of the workers: those of the current generation,
 * by id (cli_targets_cb). */
static int master_cli_targets(struct cli_target *t, int max)
{
    int id, i, n = 0;

    for (id = 1; id <= nworkers && n < max; id++)
        for (i = 0; i < MAX_PROCS; i++)
            if (procs[i].pid != 0 && !procs[i].old && procs[i].id == id &&
                procs[i].gen == cur->generation) {
                t[n].id = id;
                t[n].pid = (int)procs[i].pid;
                t[n].chan = procs[i].chan;
                n++;
                break;
            }
    return n;
}

/* Returns the number of live worker processes. */
static int proc_count(void)
{
    int i, n = 0;

    for (i = 0; i < MAX_PROCS; i++)
        n += procs[i].pid != 0;
    return n;
}

/* Sends <cmd> to <p>, falling back to a signal if the channel is gone. */
static void proc_order(struct proc *p, enum channel_cmd cmd)
{
    if (channel_send(p->chan, cmd, 0) != RC_OK)
        kill(p->pid, cmd == CHANNEL_DRAIN ? SIGQUIT : SIGTERM);
}

/* Respawn timer: forks the worker of a slot again. */
static void master_respawn_cb(evutil_socket_t fd, short what, void *arg)
{
    struct respawn *r = arg;

    if (stopping == STOP_NONE && master_spawn(r->id) != RC_OK)
        log_alert("worker %d could not be respawned", r->id);
}

/* Schedules the respawn of worker <p>, backing off on a crash loop. */
static void master_schedule_respawn(const struct proc *p, int crashed)
{
    struct respawn *r = &respawns[p->id - 1];
    struct timespec ts;
    long long lived, delay = 0;
    struct timeval tv;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    lived = (ts.tv_sec - p->started.tv_sec) * 1000 +
            (ts.tv_nsec - p->started.tv_nsec) / 1000000;
    /* the first quick crash is replaced at once, the next ones wait
     * 100 ms, 200 ms... up to RESPAWN_MAX_DELAY_MS */
    if (crashed && lived < 1000) {
        r->failures++;
        if (r->failures > 1)
            delay = 100LL << (r->failures < 9 ? r->failures - 2 : 7);
        if (delay > RESPAWN_MAX_DELAY_MS)
            delay = RESPAWN_MAX_DELAY_MS;
    } else {
        r->failures = 0;
    }
    tv.tv_sec = delay / 1000;
    tv.tv_usec = (delay % 1000) * 1000;
    evtimer_add(r->ev, &tv);
}

/* Logs how worker <p> ended, with its status. */
static void master_log_exit(const struct proc *p, int status)
{
    const char *what = p->old ? "old worker" : "worker";

    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        log_notice("%s %d (pid %d) exited", what, p->id, (int)p->pid);
    else if (WIFEXITED(status))
        log_alert("%s %d (pid %d) exited with status %d", what, p->id,
                  (int)p->pid, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        log_alert("%s %d (pid %d) exited on signal %d (%s)", what, p->id,
                  (int)p->pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
}

/* Handles the end of worker <p>. */
static void master_proc_exited(struct proc *p, int status)
{
    int fatal = WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_FATAL;
    int crashed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct proc copy = *p;

    master_log_exit(p, status);
    server_slots_forget((int)(p - procs)); /* even after a SIGKILL */
    event_free(p->chan_ev);
    close(p->chan);
    memset(p, 0, sizeof(*p));
    if (copy.old || stopping != STOP_NONE)
        return;
    if (fatal) {
        log_alert("worker %d cannot initialise and will not be respawned; "
                  "stopping",
                  copy.id);
        exit_code = 1;
        master_stop(STOP_FAST);
        return;
    }
    /* a current worker is replaced whatever the cause; only a crash
     * counts towards the back-off */
    master_schedule_respawn(&copy, crashed);
}

/* Reaps every child that has exited. */
static void master_reap(void)
{
    pid_t pid;
    int status, i;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (i = 0; i < MAX_PROCS; i++)
            if (procs[i].pid == pid)
                master_proc_exited(&procs[i], status);
    }
    if (stopping != STOP_NONE && proc_count() == 0)
        event_base_loopexit(mbase, NULL);
}

/* Escalation timer of a fast stop: whatever is alive gets SIGKILL. */
static void master_kill_cb(evutil_socket_t fd, short what, void *arg)
{
    int i;

    for (i = 0; i < MAX_PROCS; i++)
        if (procs[i].pid != 0) {
            log_alert("worker %d (pid %d) still alive, killing it", procs[i].id,
                      (int)procs[i].pid);
            kill(procs[i].pid, SIGKILL);
        }
}

/* Stops every worker, gracefully or fast. */
static void master_stop(enum master_stop how)
{
    struct timeval tv = {KILL_DELAY_MS / 1000, (KILL_DELAY_MS % 1000) * 1000};
    int i;

    if (how <= stopping)
        return;
    stopping = how;
    log_notice("%s stop requested", how == STOP_FAST ? "fast" : "graceful");
    master_close_listeners(cur);
    for (i = 0; i < MAX_PROCS; i++)
        if (procs[i].pid != 0)
            proc_order(&procs[i],
                       how == STOP_FAST ? CHANNEL_STOP : CHANNEL_DRAIN);
    if (how == STOP_FAST) {
        kill_ev = evtimer_new(mbase, master_kill_cb, NULL);
        evtimer_add(kill_ev, &tv);
    }
    if (proc_count() == 0)
        event_base_loopexit(mbase, NULL);
}

/* (Re)creates the respawn slots for the current generation. */
static void master_respawns_init(void)
{
    int i;

    if (respawns != NULL) {
        for (i = 0; i < nworkers; i++)
            event_free(respawns[i].ev);
        free(respawns);
    }
    nworkers = cur->global.nbproc;
    respawns = xcalloc((size_t)nworkers, sizeof(*respawns));
    for (i = 0; i < nworkers; i++) {
        respawns[i].id = i + 1;
        respawns[i].ev = evtimer_new(mbase, master_respawn_cb, &respawns[i]);
    }
}

/* Tells the old generation to drain and stops those past
 * mworker-max-reloads. */
static void master_retire_old(int max_reloads)
{
    int i;

    for (i = 0; i < MAX_PROCS; i++) {
        struct proc *p = &procs[i];

        if (p->pid == 0 || p->gen == cur->generation)
            continue;
        if (!p->old) {
            p->old = 1;
            proc_order(p, CHANNEL_DRAIN);
        } else if (++p->reloads >= max_reloads && max_reloads > 0) {
            log_warning("old worker %d (pid %d) survived %d reloads, "
                        "stopping it",
                        p->id, (int)p->pid, p->reloads);
            proc_order(p, CHANNEL_STOP);
        }
    }
}

/* SIGHUP: builds the new generation, and switches to it if it is sound. */
static void master_reload(void)
{
    struct cfg *next, *prev = cur;
    char **env;
    int i;

    log_notice("reload begun");
    /* setenv and friends act while the new configuration is read */
    env = env_snapshot();
    next = master_load(mopts);
    if (next == NULL || master_bind(next, cur) != RC_OK) {
        env_restore(env);
        env_snapshot_free(env);
        failed_reloads++;
        log_alert("reload refused (%u so far): the running workers keep "
                  "serving the previous configuration",
                  failed_reloads);
        cfg_free(next);
        return;
    }
    env_snapshot_free(env);
    cur = next;
    master_close_listeners(prev); /* the binds no longer configured */
    cli_master_start(cur, mbase, master_cli_targets);
    cli_master_cfg_free(prev); /* before the new workers inherit them */
    master_respawns_init();
    for (i = 1; i <= cur->global.nbproc; i++)
        master_spawn(i);
    master_retire_old(cur->global.mworker_max_reloads);
    cfg_free(prev);
    log_notice("reload done, generation %u", cur->generation);
}

/* Master signal handler, run from the loop. */
static void master_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    switch (sig) {
    case SIGCHLD:
        master_reap();
        break;
    case SIGHUP:
    case SIGUSR2:
        if (stopping == STOP_NONE)
            master_reload();
        break;
    case SIGTERM:
    case SIGINT:
        master_stop(STOP_FAST);
        break;
    case SIGQUIT:
    case SIGUSR1:
        master_stop(STOP_GRACEFUL);
        break;
    }
}

/* Detaches from the terminal (-D / "daemon"). */
static void master_daemonize(void)
{
    pid_t pid = fork();
    int fd;

    if (pid < 0) {
        log_alert("cannot daemonize: %s", strerror(errno));
        exit(1);
    }
    if (pid > 0)
        _exit(0);
    setsid();
    fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
}

/* Frees what the master loop owned, at exit. */
static void master_cleanup(void)
{
    int i;

    for (i = 0; i < nworkers; i++)
        event_free(respawns[i].ev);
    free(respawns);
    respawns = NULL;
    if (kill_ev != NULL)
        event_free(kill_ev);
    cli_master_stop();
    cfg_free(cur);
    cur = NULL;
    event_base_free(mbase);
    mbase = NULL;
}

int master_run(struct cfg *cfg, const struct master_opts *opts)
{
    static const int sigs[] = {SIGCHLD, SIGHUP,  SIGUSR2, SIGTERM,
                               SIGINT,  SIGQUIT, SIGUSR1};
    struct event *evs[sizeof(sigs) / sizeof(sigs[0])];
    sigset_t all, prev;
    size_t i;
    int id;

    cur = cfg;
    mopts = opts;
    if ((opts->daemon || cfg->global.daemon) && !opts->foreground)
        master_daemonize();
    master_write_pidfile(opts->pidfile ? opts->pidfile : cfg->global.pidfile);
    signal(SIGPIPE, SIG_IGN);
    mbase = event_base_new();
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        evs[i] = evsignal_new(mbase, sigs[i], master_signal_cb, NULL);
        event_add(evs[i], NULL);
    }
    master_respawns_init();
    cli_master_start(cfg, mbase, master_cli_targets);
    for (id = 1; id <= cfg->global.nbproc; id++)
        master_spawn(id);
    event_base_dispatch(mbase);
    log_notice("master (pid %d) exiting", (int)getpid());
    /* a stop signal repeated now must not kill the master by its default
     * action, which would turn a clean exit into a death by signal: held
     * while libevent puts the default actions back, then ignored */
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &prev);
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        event_free(evs[i]);
        if (sigs[i] != SIGCHLD)
            signal(sigs[i], SIG_IGN);
    }
    sigprocmask(SIG_SETMASK, &prev, NULL);
    master_cleanup();
    return exit_code;
}

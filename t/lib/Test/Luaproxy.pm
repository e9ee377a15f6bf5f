# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Test::Luaproxy: the integration test harness, modelled on nginx-tests'
# lib/Test/Nginx.pm. It owns a per-file temp dir, free loopback ports, the
# server process (started in the foreground in its own process group and
# always stopped by PID), forked Perl helper daemons (origins, verify
# services), raw and HTTP clients with deadlines, and the automatic
# end-of-file checks: no [ALERT] line, no sanitizer report, no server process
# left after stop. Core Perl modules only.

package Test::Luaproxy;

use strict;
use warnings;

use Test::More ();
use Exporter qw(import);
use Cwd qw(abs_path);
use Errno qw(EAGAIN EINTR ECONNRESET);
use File::Spec;
use File::Temp qw(tempdir);
use FindBin;
use IO::Select;
use IO::Socket::IP;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);
use IPC::Open3 qw(open3);
use POSIX qw(WNOHANG);
use Symbol qw(gensym);
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(parse_response http_request_bytes run_command fd_count
    fds_settle rss_kb syslog_sink syslog_drain syslog_next syslog_line
    return_config binary_has stat_rows);

# Tests checked automatically when the file ends (see finish()).
use constant FINAL_TESTS => 3;

$SIG{PIPE} = 'IGNORE';

# Every harness object, held until END (file lexicals are already gone by
# then) so END can finish them before Test::Builder's own END counts tests.
my @instances;

# Ports held for the whole file: index => { port, lock }.
my %ports;

# ---------------------------------------------------------------------------
# Construction, files, configuration
# ---------------------------------------------------------------------------

# Create the harness: a temp dir, the binary path and the file's time limit.
# Options: timeout (whole file, s), start_timeout (run(), s).
sub new {
    my ($class, %opts) = @_;
    my $self = bless {
        owner_pid     => $$,
        daemons       => [],
        expect_alerts => [],
        config        => undef,
        wait_ports    => undef,
        finished      => 0,
        stop_forced   => 0,
        leftover      => [],
        start_timeout => $opts{start_timeout} // 5,
    }, $class;

    $self->{testdir} = tempdir('luaproxy-test-XXXXXXXXXX', TMPDIR => 1,
        CLEANUP => !$ENV{LUAPROXY_TEST_LEAVE});
    $self->{binary} = $ENV{LUAPROXY_BINARY}
        // File::Spec->catfile($FindBin::Bin, '..', 'luaproxy');

    my $limit = $opts{timeout} // $ENV{LUAPROXY_TEST_TIMEOUT} // 180;
    if ($limit) {
        $SIG{ALRM} = sub { die "test file exceeded ${limit}s time limit\n" };
        alarm($limit);
    }
    push @instances, $self;
    return $self;
}

# The temp dir all files and logs go to.
sub testdir { return $_[0]->{testdir}; }

# The binary under test; with an argument, use that one instead.
sub binary {
    my ($self, $path) = @_;
    $self->{binary} = $path if defined $path;
    return $self->{binary};
}

# Declare N tests plus the automatic end-of-file checks.
sub plan {
    my ($self, $n) = @_;
    Test::More::plan(tests => $n + FINAL_TESTS);
    return $self;
}

# Run the end-of-file checks, then Test::More's done_testing.
sub done_testing {
    my ($self) = @_;
    $self->finish;
    Test::More::done_testing();
}

# Skip the whole file, remembering that no final checks must be emitted.
sub skip_all {
    my ($self, $reason) = @_;
    $self->{skipped} = 1;
    $self->_stop_all_quietly;
    Test::More::plan(skip_all => $reason);
}

# Write a file into the temp dir; a .cfg file becomes the default config.
sub write_file {
    my ($self, $name, $content) = @_;
    $self->{config} //= $name if $name =~ /\.cfg\z/;
    return $self->_write($name, $content);
}

# Write a file into the temp dir; returns its path.
sub _write {
    my ($self, $name, $content) = @_;
    my $path = File::Spec->catfile($self->{testdir}, $name);
    open(my $fh, '>', $path) or die "can't write $path: $!\n";
    binmode $fh;
    print $fh $content;
    close $fh or die "can't close $path: $!\n";
    return $path;
}

# Write a file after expanding %%PORT_n%%, %%TESTDIR%% and %%SEED%%.
sub write_file_expand {
    my ($self, $name, $content) = @_;
    return $self->write_file($name, $self->expand($content));
}

# Expand the placeholders in a string.
sub expand {
    my ($self, $text) = @_;
    $text =~ s/%%PORT_(\d+)%%/$self->port($1)/ge;
    $text =~ s/%%TESTDIR%%/$self->{testdir}/g;
    $text =~ s/%%SEED%%/$self->seed_dir/ge;
    return $text;
}

# The configuration most process-model tests need: $o{workers} workers
# (2 by default), one HTTP frontend "fe" bound to each of @{$o{binds}}
# (ports as %%PORT_N%% placeholders; one on 8080 by default) answering
# every request with "http-request return" of $o{body} ("ok").
sub return_config {
    my (%o) = @_;
    my $binds = join('', map { "    bind 127.0.0.1:$_\n" }
        @{ $o{binds} // ['%%PORT_8080%%'] });
    my $workers = $o{workers} // 2;
    my $body = $o{body} // 'ok';
    return <<"CFG";
global
    nbproc $workers

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
${binds}    http-request return status 200 content-type text/plain string $body
CFG
}

# Choose the config file passed to -f (relative to the temp dir).
sub config {
    my ($self, $name) = @_;
    $self->{config} = $name if defined $name;
    return $self->{config};
}

# The seed examples dir; skips the file when it cannot be found.
sub seed_dir {
    my ($self) = @_;
    # The repo sits next to shared/ (../shared from the top of the tree).
    my @candidates = defined $ENV{LUAPROXY_SEED_DIR}
        ? ($ENV{LUAPROXY_SEED_DIR})
        : ("$FindBin::Bin/../../shared/seed/examples");
    for my $dir (@candidates) {
        return abs_path($dir) if -d $dir;
    }
    $self->skip_all("seed examples not found at @candidates (set "
            . 'LUAPROXY_SEED_DIR to shared/seed/examples)');
}

# Read a seed file's content.
sub seed_file {
    my ($self, $name) = @_;
    my $path = File::Spec->catfile($self->seed_dir, $name);
    open(my $fh, '<', $path) or die "can't read $path: $!\n";
    local $/;
    return scalar <$fh>;
}

# Copy a seed file into the temp dir, moving each listed 127.0.0.1:N to
# port(N); dies if a listed address is absent, so a changed seed cannot
# silently run on fixed ports.
sub copy_seed {
    my ($self, $name, @numbers) = @_;
    my $text = $self->seed_file($name);
    for my $n (@numbers) {
        my $port = $self->port($n);
        my $count = ($text =~ s/\b127\.0\.0\.1:$n\b/127.0.0.1:$port/g);
        die "seed $name has no 127.0.0.1:$n\n" unless $count;
    }
    return $self->write_file($name, $text);
}

# ---------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------

# A free loopback TCP port for index n, the same for the whole file. A UDP
# socket on the same number is held as a lock (nginx-tests' trick), so two
# files run by prove -j never pick the same port.
sub port {
    my ($self, $n) = @_;
    die "port index required\n" unless defined $n;
    return $ports{$n}{port} if $ports{$n};
    my %taken = map { $_->{port} => 1 } values %ports;
    for (1 .. 100) {
        my $port = 20000 + int(rand(12000));
        next if $taken{$port};
        my $lock = IO::Socket::IP->new(Proto => 'udp',
            LocalHost => '127.0.0.1', LocalPort => $port) or next;
        my $probe = IO::Socket::IP->new(Proto => 'tcp',
            LocalHost => '127.0.0.1', LocalPort => $port, Listen => 1,
            ReuseAddr => 1) or next;
        close $probe;
        $ports{$n} = { port => $port, lock => $lock };
        return $port;
    }
    die "no free loopback port found for index $n\n";
}

# Reserves <len> consecutive free ports, the first one being port(n), for
# configurations that bind port(n) + 1, + 2...; returns port(n).
sub port_block {
    my ($self, $n, $len) = @_;
    return $ports{$n}{port} if $ports{$n};
    my %taken = map { $_->{port} => 1 } values %ports;
    for (1 .. 100) {
        my $base = 20000 + int(rand(12000 - $len));
        my @locks;
        for my $port ($base .. $base + $len - 1) {
            last if $taken{$port};
            my $lock = IO::Socket::IP->new(Proto => 'udp',
                LocalHost => '127.0.0.1', LocalPort => $port) or last;
            my $probe = IO::Socket::IP->new(Proto => 'tcp',
                LocalHost => '127.0.0.1', LocalPort => $port, Listen => 1,
                ReuseAddr => 1) or last;
            close $probe;
            push @locks, $lock;
        }
        next if @locks < $len;
        $ports{$n} = { port => $base, lock => shift @locks };
        $ports{"$n+$_"} = { port => $base + $_, lock => $locks[$_ - 1] }
            for 1 .. $len - 1;
        return $base;
    }
    die "no $len free consecutive loopback ports found for index $n\n";
}

# A listening socket on port(n), made before forking a daemon so that it
# accepts from the moment the fork returns.
sub listen_socket {
    my ($self, $n) = @_;
    my $port = $self->port($n);
    my $sock = IO::Socket::IP->new(Proto => 'tcp', LocalHost => '127.0.0.1',
        LocalPort => $port, Listen => 128, ReuseAddr => 1)
        or die "can't listen on 127.0.0.1:$port: $@\n";
    return $sock;
}

# Wait (bounded) until 127.0.0.1:port accepts a connection; 1 if it did.
sub waitforsocket {
    my ($self, $port, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    while (time < $deadline) {
        my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
            PeerPort => $port, Proto => 'tcp', Timeout => 1);
        if ($s) {
            close $s;
            return 1;
        }
        sleep 0.05;
    }
    return 0;
}

# ---------------------------------------------------------------------------
# The server process
# ---------------------------------------------------------------------------

# Skip the file unless the binary exists and is executable.
sub _require_binary {
    my ($self) = @_;
    return if -x $self->{binary};
    $self->skip_all("binary under test not found at $self->{binary} "
            . '(build it or set LUAPROXY_BINARY)');
}

# Override the ports run() waits for (default: the config's bind lines).
sub wait_ports {
    my ($self, @ports) = @_;
    $self->{wait_ports} = [@ports];
    return $self;
}

# The loopback ports the config binds, read from its "bind addr:port" lines.
sub _config_ports {
    my ($self) = @_;
    return @{ $self->{wait_ports} } if $self->{wait_ports};
    my $path = File::Spec->catfile($self->{testdir}, $self->{config});
    open(my $fh, '<', $path) or return ();
    my @ports;
    while (my $line = <$fh>) {
        push @ports, $1 if $line =~ /^\s*bind\s+(?:127\.0\.0\.1)?:(\d+)\b/;
    }
    return @ports;
}

# Start "binary -db -f CONFIG @extra" in the temp dir in its own process
# group, output to stderr.log, and wait until every bound port accepts.
sub run {
    my ($self, @extra) = @_;
    $self->_require_binary;
    die "no config written\n" unless defined $self->{config};
    die "server already running\n" if $self->{pid};

    my $log = $self->log_path;
    my $pid = fork() // die "fork: $!\n";
    if ($pid == 0) {
        POSIX::setpgid(0, 0);
        $SIG{PIPE} = 'DEFAULT';
        chdir $self->{testdir} or POSIX::_exit(126);
        open(STDIN, '<', '/dev/null');
        open(STDOUT, '>>', $log) or POSIX::_exit(126);
        open(STDERR, '>&', \*STDOUT) or POSIX::_exit(126);
        exec($self->{binary}, '-db', '-f', $self->{config}, @extra)
            or POSIX::_exit(127);
    }
    POSIX::setpgid($pid, $pid);
    $self->{pid} = $pid;
    delete $self->{exit_status};

    my $error = $self->_wait_started($self->{start_timeout});
    return $self unless defined $error;
    Test::More::diag("$error; log tail:\n" . $self->log_tail(20));
    $self->stop;
    die "server failed to start: $error\n";
}

# Whether every worker the log says was started also says it is ready
# (luaproxy logs both); another server (HAProxy) that logs neither counts
# as ready.
sub _workers_ready {
    my ($self) = @_;
    my $log = $self->log_contents;
    my $started = () = $log =~ /\bworker \d+ \(pid \d+\) started\b/g;
    my $ready = () = $log =~ /\bworker \d+ \(pid \d+\) ready\b/g;
    # the master binds before it forks: a port may accept before any
    # worker exists, so luaproxy must have logged at least one start
    return 0 if $started == 0 && $self->version_info =~ /^luaproxy /m;
    return $ready >= $started;
}

# Poll until the server accepts on every bound port and every worker it
# started is ready; undef or the reason.
sub _wait_started {
    my ($self, $timeout) = @_;
    my @pending = $self->_config_ports;
    my $deadline = time + $timeout;
    while (1) {
        if (waitpid($self->{pid}, WNOHANG) == $self->{pid}) {
            my $status = $self->{exit_status} = $?;
            # The PID stays recorded so stop() still clears its group.
            return "server exited with status " . ($status >> 8)
                . " (signal " . ($status & 127) . ")";
        }
        @pending = grep { !$self->waitforsocket($_, 0.01) } @pending;
        return undef unless @pending || !$self->_workers_ready;
        return "ports @pending not accepting after ${timeout}s"
            if time > $deadline;
        sleep 0.05;
    }
}

# Like run(), but skip the whole file if the server cannot start.
sub try_run {
    my ($self, @extra) = @_;
    eval { $self->run(@extra); 1 } and return $self;
    chomp(my $why = $@);
    $self->skip_all("can't start server: $why");
}

# Master PID of the running server, or undef.
sub pid { return $_[0]->{pid}; }

# Live (non-zombie) processes whose parent is the master.
sub worker_pids {
    my ($self) = @_;
    return () unless $self->{pid};
    return map { $_->{pid} }
        grep { $_->{ppid} == $self->{pid} } _processes();
}

# Live processes of the server's process group.
sub group_pids {
    my ($self, $pgrp) = @_;
    $pgrp //= $self->{pgrp} // $self->{pid};
    return () unless $pgrp;
    return map { $_->{pid} } grep { $_->{pgrp} == $pgrp } _processes();
}

# Every non-zombie process from /proc, as { pid, ppid, pgrp }.
sub _processes {
    my @procs;
    opendir(my $dh, '/proc') or return ();
    for my $pid (grep { /^\d+\z/ } readdir $dh) {
        open(my $fh, '<', "/proc/$pid/stat") or next;
        my $stat = <$fh> // next;
        # comm may contain spaces and parentheses: parse after the last ')'.
        my ($state, $ppid, $pgrp) = ($stat =~ /\)\s+(\S)\s+(\d+)\s+(\d+)/)
            or next;
        next if $state eq 'Z' || $state eq 'X';
        push @procs, { pid => $pid, ppid => $ppid, pgrp => $pgrp };
    }
    return @procs;
}

# Send SIGHUP to the master (a reload in luaproxy's process model).
sub reload {
    my ($self) = @_;
    $self->signal('HUP');
    return $self;
}

# Send a signal to the master.
sub signal {
    my ($self, $sig) = @_;
    die "server not running\n" unless $self->{pid};
    kill($sig, $self->{pid});
    return $self;
}

# Stop the server (SIGTERM by default), wait up to 5 s for the whole group to
# go, then SIGKILL it. Returns 1 if it stopped without SIGKILL. Also stops
# the helper daemons.
sub stop {
    my ($self, %opts) = @_;
    my $clean = 1;
    if (my $pid = delete $self->{pid}) {
        $clean = $self->_stop_group($pid, $opts{signal} // 'TERM',
            $opts{timeout} // 5);
    }
    $self->stop_daemons unless $opts{keep_daemons};
    return $clean;
}

# Signal the master, reap it, wait for its group, escalate to SIGKILL.
sub _stop_group {
    my ($self, $pid, $sig, $timeout) = @_;
    kill($sig, $pid);
    my $deadline = time + $timeout;
    my $reaped = 0;
    while (time < $deadline) {
        my $w = $reaped ? -1 : waitpid($pid, WNOHANG);
        $self->{exit_status} //= $? if $w == $pid;
        # -1: reaped already (e.g. it exited during run()).
        $reaped ||= $w == $pid || $w == -1;
        return 1 if $reaped && !$self->group_pids($pid);
        sleep 0.05;
    }
    my @left = ($reaped ? () : ($pid), $self->group_pids($pid));
    push @{ $self->{leftover} }, @left;
    $self->{stop_forced} = 1;
    kill('KILL', -$pid);
    kill('KILL', $pid);
    waitpid($pid, 0) unless $reaped;
    # the rest of the group dies a moment after kill() returns (seen in CI)
    my $until = time + 2;
    sleep 0.01 while $self->group_pids($pid) && time < $until;
    return 0;
}

# Exit status of the master after stop(), as waitpid's $?.
sub exit_status { return $_[0]->{exit_status}; }

# ---------------------------------------------------------------------------
# Other runs of the binary
# ---------------------------------------------------------------------------

# Run the binary with args in the temp dir; returns (exit code, output).
sub run_cmd {
    my ($self, @args) = @_;
    $self->_require_binary;
    return run_command($self->{testdir}, 10, $self->{binary}, @args);
}

# Run a command in $dir with a deadline in seconds, capturing stdout and
# stderr together; returns (exit code, or -1 if killed by a signal, output).
sub run_command {
    my ($dir, $timeout, @cmd) = @_;
    my $out = gensym;
    my $pid = do {
        my $cwd = Cwd::getcwd();
        chdir $dir or die "chdir $dir: $!\n";
        local $SIG{PIPE} = 'DEFAULT';
        my $p = open3(my $in, $out, undef, @cmd);
        chdir $cwd;
        close $in;
        $p;
    };
    my $sel = IO::Select->new($out);
    my ($output, $deadline) = ('', time + $timeout);
    while (time < $deadline) {
        next unless $sel->can_read($deadline - time);
        my $n = sysread($out, $output, 65536, length $output);
        last unless $n;
    }
    # EOF can come just before the exit: give the child the rest of the time.
    my $done = 0;
    until (($done = waitpid($pid, WNOHANG) == $pid) || time > $deadline) {
        sleep 0.01;
    }
    if (!$done) {
        kill('KILL', $pid);
        waitpid($pid, 0);
        return (-1, $output . "\n[harness: killed after ${timeout}s]\n");
    }
    return ($? & 127 ? -1 : $? >> 8, $output);
}

# For each [rule line, expected text] of @cases: a frontend in mode http
# with that rule is refused by -c with "bad.cfg:4: ..." and the text (one
# test each).
sub rule_errors {
    my ($self, @cases) = @_;
    for my $c (@cases) {
        my ($rc, $out) = $self->check_config("frontend fe\n    mode http\n"
            . "    bind 127.0.0.1:1\n    $c->[0]\n", 'bad.cfg');
        Test::More::ok($rc != 0 && $out =~ /bad\.cfg:4: .*\Q$c->[1]\E/,
            "$c->[0]: an error at its line") or Test::More::diag($out);
    }
}

# For each [line, regex] of @cases: a section opened by $header ("backend
# b", "global") holding that line (which may hold several, the last being
# the bad one) is refused by -c with "bad.cfg:N: ..." matching the regex,
# N the bad line's number (one test each).
sub line_errors {
    my ($self, $header, @cases) = @_;
    for my $c (@cases) {
        my ($line, $re) = @$c;
        my $n = 2 + (() = $line =~ /\n/g);
        my ($rc, $out) = $self->check_config("$header\n    $line\n",
            'bad.cfg');
        Test::More::ok($rc != 0 && $out =~ /bad\.cfg:$n: .*$re/,
            "refused: $line") or Test::More::diag($out);
    }
}

# Check a config (placeholders expanded) with -c -f, without making it the
# run config; returns (exit code, output). Its alerts do not go to the log.
sub check_config {
    my ($self, $text, $name) = @_;
    $name //= 'check.cfg';
    $self->_write($name, $self->expand($text)) if defined $text;
    return $self->run_cmd('-c', '-f', $name);
}

# The -vv output (cached).
sub version_info {
    my ($self) = @_;
    $self->{vv} //= ($self->run_cmd('-vv'))[1];
    return $self->{vv};
}

# Skip the file unless every feature is in the -vv "Feature list" as +NAME.
sub has {
    my ($self, @features) = @_;
    my ($list) = $self->version_info =~ /^Feature list\s*:(.*)$/m;
    $list //= '';
    for my $f (@features) {
        $self->skip_all("feature $f not built in")
            unless $list =~ /(?:^|\s)\+\Q$f\E(?:\s|$)/;
    }
    return $self;
}

# ---------------------------------------------------------------------------
# The server log and the automatic checks
# ---------------------------------------------------------------------------

# Path of the server's stdout+stderr log.
sub log_path {
    return File::Spec->catfile($_[0]->{testdir}, 'stderr.log');
}

# The whole server log.
sub log_contents {
    my ($self) = @_;
    open(my $fh, '<', $self->log_path) or return '';
    local $/;
    return scalar <$fh> // '';
}

# A mark in the log, for log_since: its current length.
sub log_mark {
    my ($self) = @_;
    return -s $self->log_path // 0;
}

# What the server logged after a log_mark.
sub log_since {
    my ($self, $mark) = @_;
    return substr($self->log_contents, $mark // 0);
}

# Wait (bounded, 5 s by default) until the log after $mark matches $re;
# returns the match as a true value, or undef.
sub wait_log {
    my ($self, $re, %opts) = @_;
    my $deadline = time + ($opts{timeout} // 5);
    while (1) {
        my $text = $self->log_since($opts{mark});
        return $1 // 1 if $text =~ $re;
        return undef if time > $deadline;
        sleep 0.05;
    }
}

# The last n lines of the server log.
sub log_tail {
    my ($self, $n) = @_;
    my @lines = split /\n/, $self->log_contents;
    splice(@lines, 0, @lines - $n) if @lines > $n;
    return join("\n", @lines) . "\n";
}

# Declare alert lines this file provokes on purpose (regexps).
sub expect_alerts {
    my ($self, @patterns) = @_;
    push @{ $self->{expect_alerts} }, @patterns;
    return $self;
}

# [ALERT] lines in the log not matched by an expect_alerts pattern.
sub alerts {
    my ($self) = @_;
    my @expected = @{ $self->{expect_alerts} };
    return grep {
        my $line = $_;
        !grep { $line =~ $_ } @expected
    } grep { /\[ALERT\]/ } split /\n/, $self->log_contents;
}

# Sanitizer or UBSan report lines in the log.
sub sanitizer_errors {
    my ($self) = @_;
    # UBSan writes "file.c:LINE:COL: runtime error: ..."; a Lua "runtime
    # error" is reported as an [ALERT] instead.
    return grep { /Sanitizer|^\S+:\d+:\d+: runtime error:/ }
        split /\n/, $self->log_contents;
}

# Stop everything and emit the automatic end-of-file tests (once).
sub finish {
    my ($self) = @_;
    return if $self->{finished}++ || $self->{skipped};
    return if $$ != $self->{owner_pid};
    $self->stop;

    my @alerts = $self->alerts;
    Test::More::ok(!@alerts, 'no alerts')
        or Test::More::diag(join("\n", @alerts));
    my @san = $self->sanitizer_errors;
    Test::More::ok(!@san, 'no sanitizer errors')
        or Test::More::diag(join("\n", @san));
    Test::More::ok(!$self->{stop_forced},
        'no server process left after stop')
        or Test::More::diag("still alive: @{ $self->{leftover} }");
    Test::More::diag("server log:\n" . $self->log_contents)
        if $ENV{LUAPROXY_TEST_CATLOG};
    Test::More::diag("temp dir kept: $self->{testdir}")
        if $ENV{LUAPROXY_TEST_LEAVE};
}

# Kill everything without emitting tests (skip paths, forked children).
sub _stop_all_quietly {
    my ($self) = @_;
    return if $$ != $self->{owner_pid};
    $self->stop;
}

# Run the final checks of every harness object still alive.
END {
    my $status = $?;
    for my $t (@instances) {
        my $tb = Test::More->builder;
        if ($t->{skipped} || $tb->{Skip_All} || !$tb->has_plan) {
            $t->_stop_all_quietly;
        } else {
            $t->finish;
        }
    }
    $? = $status;
}

# Last-chance cleanup if an object is dropped before END.
sub DESTROY {
    my ($self) = @_;
    $self->_stop_all_quietly if $self->{pid} || @{ $self->{daemons} };
}

# ---------------------------------------------------------------------------
# A process seen from /proc, and syslog lines
# ---------------------------------------------------------------------------

# Number of descriptors $pid holds, or -1 if /proc does not tell.
sub fd_count {
    my ($pid) = @_;
    opendir(my $d, "/proc/$pid/fd") or return -1;
    my $n = grep { /^\d+\z/ } readdir $d;
    closedir $d;
    return $n;
}

# Polls (for at most $wait seconds, 4 by default: a lingering close takes
# 1 s) until $pid holds at most $base descriptors; returns the last count.
sub fds_settle {
    my ($pid, $base, $wait) = @_;
    my $deadline = time + ($wait // 4);
    my $n;
    while (($n = fd_count($pid)) > $base && time < $deadline) {
        sleep 0.05;
    }
    return $n;
}

# 1 if the file at <path> contains <needle> (used to spot a sanitizer build).
sub binary_has {
    my ($path, $needle) = @_;
    open(my $fh, '<', $path) or return 0;
    binmode $fh;
    local $/ = \(1 << 20);
    my $tail = '';
    while (my $block = <$fh>) {
        return 1 if index($tail . $block, $needle) >= 0;
        $tail = substr($block, -length $needle);
    }
    return 0;
}

# Resident memory of $pid in kB (VmRSS), or -1.
sub rss_kb {
    my ($pid) = @_;
    open(my $fh, '<', "/proc/$pid/status") or return -1;
    while (<$fh>) {
        return $1 if /^VmRSS:\s+(\d+)/;
    }
    return -1;
}

# A UDP socket on a free loopback port for "log 127.0.0.1:PORT" lines.
sub syslog_sink {
    return IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0,
        Proto => 'udp') // die "udp socket: $!";
}

# Reads and drops whatever $sock received until it stays quiet 0.2 s.
sub syslog_drain {
    my ($sock) = @_;
    my $sel = IO::Select->new($sock);
    while ($sel->can_read(0.2)) { my $b; $sock->recv($b, 65536) }
}

# The next datagram $sock receives within $secs (3 by default) as it came,
# but for its syslog header ("<134>... tag[pid]: "); '<none>' if nothing.
sub syslog_line {
    my ($sock, $secs) = @_;
    return '<none>' unless IO::Select->new($sock)->can_read($secs // 3);
    my $b;
    $sock->recv($b, 65536);
    $b =~ s/^<\d+>.*?: //;
    $b =~ s/\n\z//;
    return $b;
}

# The next datagram $sock receives within $secs (3 by default), with what
# changes from run to run masked, so that two servers' lines compare: the
# syslog date, tag and pid ("<134>HDR: "), the request date ("[DATE]"),
# loopback ports, and the timers and byte counts of httplog ("T/T/T/T/T
# 200 B") and tcplog ("T/T/T B") lines. '<none>' if nothing came.
sub syslog_next {
    my ($sock, $secs) = @_;
    return '<none>' unless IO::Select->new($sock)->can_read($secs // 3);
    my $b;
    $sock->recv($b, 65536);
    $b =~ s/^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d [\w.-]+\[\d+\]: /<$1>HDR: /;
    $b =~ s{\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]}{[DATE]}g;
    $b =~ s{127\.0\.0\.1:\d+}{127.0.0.1:PORT}g;
    $b =~ s{ -?\d+/-?\d+/-?\d+/-?\d+/-?\d+ (\d{3}) \d+ }{ T/T/T/T/T $1 B }g;
    $b =~ s{ -?\d+/-?\d+/-?\d+ \d+ }{ T/T/T B }g;
    $b =~ s{\n\z}{};
    return $b;
}

# ---------------------------------------------------------------------------
# Helper daemons
# ---------------------------------------------------------------------------

# Fork a Perl helper running $code->(@args); it exits on its own after the
# file's time limit or when the test process goes away. Returns its PID.
sub run_daemon {
    my ($self, $code, @args) = @_;
    my $parent = $$;
    my $pid = fork() // die "fork: $!\n";
    if ($pid == 0) {
        $SIG{ALRM} = sub { POSIX::_exit(0) };
        $SIG{TERM} = sub { POSIX::_exit(0) };
        alarm($ENV{LUAPROXY_TEST_TIMEOUT} // 180);
        local $Test::Luaproxy::DAEMON_PARENT = $parent;
        eval { $code->(@args); 1 } or print STDERR "daemon died: $@";
        POSIX::_exit(0);
    }
    push @{ $self->{daemons} }, $pid;
    return $pid;
}

# Starts HAProxy ($binary, in the foreground) on the configuration file
# $cfg of the temp dir, its output in haproxy.log there; BAIL_OUT (with
# that output) unless it listens on every port of @ports within 20 s, a
# bound generous enough for a loaded machine.
sub run_haproxy {
    my ($self, $binary, $cfg, @ports) = @_;
    my $dir = $self->{testdir};
    $self->run_daemon(sub {
        open(STDOUT, '>>', "$dir/haproxy.log");
        open(STDERR, '>&', \*STDOUT);
        exec($binary, '-db', '-f', "$dir/$cfg") or exit 127;
    });
    for my $port (@ports) {
        next if $self->waitforsocket($port, 20);
        my $log = '';
        if (open(my $fh, '<', "$dir/haproxy.log")) {
            local $/;
            $log = <$fh> // '';
        }
        $log =~ s/\n/ | /g;
        Test::More::BAIL_OUT("haproxy did not start on port $port: $log");
    }
}

# In a daemon: true once the test process has gone.
sub orphaned {
    return getppid() != ($Test::Luaproxy::DAEMON_PARENT // getppid());
}

# Stop one daemon by PID (TERM, bounded wait, KILL).
sub stop_daemon {
    my ($self, $pid) = @_;
    kill('TERM', $pid);
    my $deadline = time + 2;
    while (waitpid($pid, WNOHANG) != $pid) {
        if (time > $deadline) {
            kill('KILL', $pid);
            waitpid($pid, 0);
            last;
        }
        sleep 0.02;
    }
    $self->{daemons} = [grep { $_ != $pid } @{ $self->{daemons} }];
    return $self;
}

# Stop every daemon.
sub stop_daemons {
    my ($self) = @_;
    my @pids = @{ $self->{daemons} };
    $self->stop_daemon($_) for @pids;
    return $self;
}

# Start an HTTP/1.1 origin on port(n). $handler->($req) returns
# [status, [name => value, ...], body] or a raw response string; the
# request ($req: method, uri, version, headers, header_list, body, raw,
# and peer, the address it came from) is
# appended to $opts{log} (in the temp dir) before the answer is sent.
sub http_origin {
    my ($self, $n, $handler, %opts) = @_;
    my $listener = $self->listen_socket($n);
    my $log = defined $opts{log}
        ? File::Spec->catfile($self->{testdir}, $opts{log}) : undef;
    my $pid = $self->run_daemon(\&_origin_loop, $listener, $handler, $log);
    close $listener;
    return $pid;
}

# The origin's event loop: many connections, keep-alive, idle timeout.
sub _origin_loop {
    my ($listener, $handler, $log) = @_;
    $listener->blocking(0);
    my $sel = IO::Select->new($listener);
    my %conns;
    while (!orphaned()) {
        for my $fh ($sel->can_read(0.5)) {
            if ($fh == $listener) {
                my $c = $listener->accept or next;
                $c->blocking(0);
                $sel->add($c);
                $conns{fileno $c} = { buf => '', last => time };
                next;
            }
            my $st = $conns{fileno $fh};
            my $n = sysread($fh, $st->{buf}, 65536, length $st->{buf});
            next if !defined $n && ($! == EAGAIN || $! == EINTR);
            my $keep = $n ? _origin_serve($fh, $st, $handler, $log) : 0;
            $st->{last} = time;
            next if $keep;
            $sel->remove($fh);
            delete $conns{fileno $fh};
            close $fh;
        }
        for my $fh (grep { $_ != $listener } $sel->handles) {
            next if time - $conns{fileno $fh}{last} < 10;
            $sel->remove($fh);
            delete $conns{fileno $fh};
            close $fh;
        }
    }
}

# Answer every complete request in a connection's buffer; 0 to close.
sub _origin_serve {
    my ($fh, $st, $handler, $log) = @_;
    while (my $req = parse_request(\$st->{buf})) {
        $req->{peer} = $fh->peerhost;
        if (defined $log && open(my $lf, '>>', $log)) {
            binmode $lf;
            printf $lf "=== request %d\n%s\n", length $req->{raw}, $req->{raw};
            close $lf;
        }
        my $resp = $handler->($req);
        my $close = ($req->{headers}{connection} // '') =~ /close/i
            || $req->{version} eq 'HTTP/1.0';
        my $bytes = ref $resp ? _response_bytes($resp, $close) : $resp;
        $close ||= !ref $resp;
        _write_all($fh, $bytes);
        return 0 if $close;
    }
    return 1;
}

# Serialise [status, [headers], body] with a Content-Length.
sub _response_bytes {
    my ($resp, $close) = @_;
    my ($status, $headers, $body) = @$resp;
    $body //= '';
    my @h = @{ $headers // [] };
    my $out = "HTTP/1.1 $status " . _reason($status) . "\r\n";
    while (my ($k, $v) = splice(@h, 0, 2)) {
        $out .= "$k: $v\r\n";
    }
    $out .= 'Content-Length: ' . length($body) . "\r\n";
    $out .= "Connection: close\r\n" if $close;
    return "$out\r\n$body";
}

# A reason phrase for the statuses the helpers use.
sub _reason {
    my %r = (200 => 'OK', 204 => 'No Content', 400 => 'Bad Request',
        403 => 'Forbidden', 404 => 'Not Found', 500 => 'Internal Server Error',
        502 => 'Bad Gateway', 503 => 'Service Unavailable');
    return $r{ $_[0] } // 'Status';
}

# Write every byte to a non-blocking socket (bounded to 5 s).
sub _write_all {
    my ($fh, $bytes) = @_;
    my $sel = IO::Select->new($fh);
    my $deadline = time + 5;
    while (length $bytes && time < $deadline) {
        my $n = syswrite($fh, $bytes);
        if (defined $n) {
            substr($bytes, 0, $n, '');
        } elsif ($! == EAGAIN || $! == EINTR) {
            $sel->can_write(0.1);
        } else {
            return 0;
        }
    }
    return !length $bytes;
}

# Requests recorded by an origin's log, parsed, in arrival order.
sub origin_requests {
    my ($self, $name) = @_;
    my $path = File::Spec->catfile($self->{testdir}, $name);
    open(my $fh, '<', $path) or return ();
    binmode $fh;
    local $/;
    my $data = <$fh> // '';
    my @reqs;
    while ($data =~ /\G=== request (\d+)\n/gc) {
        my $raw = substr($data, pos $data, $1);
        pos($data) = pos($data) + $1 + 1;
        my $copy = $raw;
        push @reqs, parse_request(\$copy) // { raw => $raw };
    }
    return @reqs;
}

# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------

# Parse the head of a message: (start line, [[name, value]...], head length)
# or () if the head is incomplete.
sub _parse_head {
    my ($buf) = @_;
    my $end = index($buf, "\r\n\r\n");
    my $sep = 4;
    my $lf = index($buf, "\n\n");
    ($end, $sep) = ($lf, 2) if $lf >= 0 && ($end < 0 || $lf < $end);
    return () if $end < 0;
    my @lines = split /\r?\n/, substr($buf, 0, $end);
    my $start = shift @lines;
    my @list = map { /^([^:]+):[ \t]*(.*?)[ \t]*\z/ ? [$1, $2] : [$_, undef] }
        @lines;
    return ($start, \@list, $end + $sep);
}

# Lower-cased name => value, duplicates joined with ", ".
sub _header_hash {
    my ($list) = @_;
    my %h;
    for my $pair (grep { defined $_->[1] } @$list) {
        my $k = lc $pair->[0];
        $h{$k} = defined $h{$k} ? "$h{$k}, $pair->[1]" : $pair->[1];
    }
    return \%h;
}

# Decode a chunked body from $buf at offset; (body, end offset) or ().
sub _dechunk {
    my ($buf, $pos) = @_;
    my $body = '';
    while (1) {
        my $eol = index($buf, "\r\n", $pos);
        return () if $eol < 0;
        my ($size) = substr($buf, $pos, $eol - $pos) =~ /^([0-9a-fA-F]+)/;
        return (undef, -1) unless defined $size;
        $size = hex $size;
        $pos = $eol + 2;
        if ($size == 0) {
            my $end = index($buf, "\r\n\r\n", $pos - 2);
            return () if $end < 0;
            return ($body, $end + 4);
        }
        return () if length($buf) < $pos + $size + 2;
        $body .= substr($buf, $pos, $size);
        $pos += $size + 2;
    }
}

# Take one complete request off the front of $$bufref, or undef.
sub parse_request {
    my ($bufref) = @_;
    my ($start, $list, $hlen) = _parse_head($$bufref) or return undef;
    my $h = _header_hash($list);
    my ($body, $end) = ('', $hlen);
    if (($h->{'transfer-encoding'} // '') =~ /chunked/i) {
        ($body, $end) = _dechunk($$bufref, $hlen) or return undef;
        $end = length $$bufref if $end < 0;
    } elsif (defined $h->{'content-length'}) {
        my $len = $h->{'content-length'} =~ /^(\d+)/ ? $1 : 0;
        return undef if length($$bufref) < $hlen + $len;
        $body = substr($$bufref, $hlen, $len);
        $end = $hlen + $len;
    }
    my ($method, $uri, $version) = split ' ', $start, 3;
    my $raw = substr($$bufref, 0, $end, '');
    return { method => $method // '', uri => $uri // '',
        version => $version // '', headers => $h, header_list => $list,
        body => $body, raw => $raw };
}

# Parse one response from the front of $buf. Returns (response, consumed)
# or () when incomplete; $closed says the peer closed (a body delimited by
# the close is then complete). $method HEAD means no body.
sub parse_response {
    my ($buf, $closed, $method) = @_;
    my ($start, $list, $hlen) = _parse_head($buf) or return ();
    my ($version, $status, $reason) =
        $start =~ m{^(HTTP/\d\.\d) (\d{3})(?: (.*))?\z} or return ();
    my $h = _header_hash($list);
    my $resp = { version => $version, status => $status + 0,
        reason => $reason // '', headers => $h, header_list => $list };
    my $end;
    if (($method // '') eq 'HEAD' || $status =~ /^(1..|204|304)\z/) {
        ($resp->{body}, $end) = ('', $hlen);
    } elsif (($h->{'transfer-encoding'} // '') =~ /chunked/i) {
        ($resp->{body}, $end) = _dechunk($buf, $hlen) or return ();
        return () if $end < 0;
    } elsif (defined $h->{'content-length'}) {
        my $len = $h->{'content-length'} =~ /^(\d+)\z/ ? $1 : return ();
        return () if length($buf) < $hlen + $len;
        ($resp->{body}, $end) = (substr($buf, $hlen, $len), $hlen + $len);
    } else {
        return () unless $closed;
        ($resp->{body}, $end) = (substr($buf, $hlen), length $buf);
    }
    $resp->{raw} = substr($buf, 0, $end);
    return ($resp, $end);
}

# Bytes of a simple request: method, path, headers (arrayref of pairs or
# hashref), body; adds Host and, unless keepalive, Connection: close.
sub http_request_bytes {
    my ($method, $path, %opts) = @_;
    my @h = ref $opts{headers} eq 'HASH' ? %{ $opts{headers} }
        : @{ $opts{headers} // [] };
    my %seen = map { lc($_) => 1 } @h[grep { !($_ % 2) } 0 .. $#h];
    unshift @h, Host => 'localhost' unless $seen{host};
    push @h, Connection => 'close'
        unless $opts{keepalive} || $seen{connection};
    push @h, 'Content-Length' => length $opts{body}
        if defined $opts{body} && !$seen{'content-length'};
    my $out = "$method $path HTTP/1.1\r\n";
    while (my ($k, $v) = splice(@h, 0, 2)) {
        $out .= "$k: $v\r\n";
    }
    return "$out\r\n" . ($opts{body} // '');
}

# ---------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------

# A blocking-connect, then non-blocking, loopback TCP client socket.
sub _connect {
    my ($port, $timeout, $host) = @_;
    my $s = IO::Socket::IP->new(PeerHost => $host // '127.0.0.1',
        PeerPort => $port, Proto => 'tcp', Timeout => $timeout // 3)
        or return undef;
    $s->blocking(0);
    return $s;
}

# Read from $s into $$bufref until $done->() is true, the peer closes, an
# idle read times out or the total deadline passes. Returns a status hash.
sub _read_until {
    my ($s, $bufref, $done, $read_timeout, $deadline) = @_;
    my $sel = IO::Select->new($s);
    my %st = (closed => 0, reset => 0, timed_out => 0);
    my $first = 1;
    while (!$done->()) {
        my $wait = $deadline - time;
        $wait = 0 if $wait < 0;
        # Poll at least once, so a zero wait still sees pending data or EOF.
        if (!$first && $wait == 0) {
            $st{timed_out} = 1;
            last;
        }
        $first = 0;
        $wait = $read_timeout if $read_timeout < $wait;
        if (!$sel->can_read($wait)) {
            $st{timed_out} = 1;
            last;
        }
        my $n = sysread($s, $$bufref, 65536, length $$bufref);
        next if !defined $n && ($! == EAGAIN || $! == EINTR);
        if (!defined $n) {
            $st{reset} = $! == ECONNRESET ? 1 : 0;
            $st{error} = "$!";
            $st{closed} = 1;
            last;
        }
        if ($n == 0) {
            $st{closed} = 1;
            last;
        }
    }
    return \%st;
}

# Send raw bytes (a string, or an arrayref of packets sent $opts{delay}
# seconds apart) to port, then read. Options: timeout (total, 5 s),
# read_timeout (idle, 3 s), shutdown_write, until (sub on the data read so
# far). Returns { data, closed, reset, timed_out, connected, elapsed }.
sub raw_request {
    my ($self, $port, $bytes, %opts) = @_;
    my $t0 = time;
    my $deadline = $t0 + ($opts{timeout} // 5);
    my $s = _connect($port, $opts{timeout})
        or return { data => '', connected => 0, closed => 1, reset => 0,
            timed_out => 0, error => "$@", elapsed => time - $t0 };
    my @packets = ref $bytes ? @$bytes : ($bytes);
    my $data = '';
    my $st = { closed => 0, reset => 0, timed_out => 0 };
    for my $i (0 .. $#packets) {
        sleep($opts{delay} // 0.1) if $i > 0;
        last if !_write_all($s, $packets[$i]);
    }
    shutdown($s, 1) if $opts{shutdown_write};
    my $until = $opts{until};
    $st = _read_until($s, \$data, sub { $until && $until->($data) },
        $opts{read_timeout} // 3, $deadline);
    close $s;
    return { %$st, data => $data, connected => 1, elapsed => time - $t0 };
}

# Send "GET $path" on a new connection and leave it in flight: returns the
# socket, to close when done (the request then loses its client).
sub http_hold {
    my ($self, $port, $path) = @_;
    my $s = _connect($port) or die "connect to $port: $@\n";
    _write_all($s, "GET $path HTTP/1.1\r\nHost: localhost\r\n\r\n")
        or die "write to $port: $!\n";
    return $s;
}

# Send a request and parse the response: { status, reason, version,
# headers (lower-cased), header_list, body, raw, closed, timed_out }.
# Options: method, headers, body, keepalive, plus raw_request's.
sub http_get {
    my ($self, $port, $path, %opts) = @_;
    my $method = $opts{method} // 'GET';
    return $self->http($port, http_request_bytes($method, $path, %opts),
        %opts, method => $method);
}

# Send raw request bytes and parse one response from what comes back.
sub http {
    my ($self, $port, $bytes, %opts) = @_;
    my $r = $self->raw_request($port, $bytes, %opts,
        until => sub { scalar parse_response($_[0], 0, $opts{method}) });
    my ($resp) = parse_response($r->{data}, $r->{closed}, $opts{method});
    $resp //= { status => undef, headers => {}, header_list => [],
        body => undef };
    @$resp{qw(closed reset timed_out connected)} =
        @$r{qw(closed reset timed_out connected)};
    $resp->{data} = $r->{data};
    return $resp;
}

# Send $text to the runtime API on the unix socket $path (relative to the
# test directory unless absolute), close the writing side unless
# keep_open, and return everything read until the server closes (or
# undef if it could not connect), within timeout seconds (5).
sub cli {
    my ($self, $path, $text, %opts) = @_;
    $path = File::Spec->catfile($self->{testdir}, $path)
        unless File::Spec->file_name_is_absolute($path);
    my $s = IO::Socket::UNIX->new(Peer => $path, Type => SOCK_STREAM)
        or return undef;
    _write_all($s, $text);
    shutdown($s, 1) unless $opts{keep_open};
    my ($out, $deadline) = ('', time + ($opts{timeout} // 5));
    my $sel = IO::Select->new($s);
    while (time < $deadline) {
        next unless $sel->can_read($deadline - time);
        my $n = sysread($s, $out, 65536, length $out);
        next if !defined $n && ($! == EAGAIN || $! == EINTR);
        last unless $n;
    }
    close $s;
    return $out;
}

# Send the same kind of request for every path at once on separate
# connections, multiplexed; returns the parsed responses in order.
# "show stat" on the runtime API socket $path (see cli) as
# { "pxname/svname" => { column => value } }.
sub show_stat {
    my ($self, $path, $prefix) = @_;
    return stat_rows($self->cli($path, ($prefix // '') . "show stat\n"));
}

# The CSV of "show stat" (or of the statistics page's ";csv") as
# { "pxname/svname" => { column => value } }.
sub stat_rows {
    my @lines = split /\n/, $_[0] // '';
    my @cols = split /,/, ((shift(@lines) // '') =~ s/^# //r);
    my %stat;
    for my $line (@lines) {
        my %row;
        @row{@cols} = split /,/, $line, -1;
        $stat{"$row{pxname}/$row{svname}"} = \%row if defined $row{svname};
    }
    return \%stat;
}

sub http_get_many {
    my ($self, $port, $paths, %opts) = @_;
    my @socks = map {
        my $s = _connect($port);
        _write_all($s, http_request_bytes('GET', $_, %opts)) if $s;
        $s;
    } @$paths;
    return $self->http_read_many(\@socks, %opts);
}

# Read one response from each socket of @$socks (undef entries stand for
# failed connections), multiplexed, within timeout seconds (10); returns
# the parsed responses in order and closes the sockets.
sub http_read_many {
    my ($self, $socks, %opts) = @_;
    my $deadline = time + ($opts{timeout} // 10);
    my (@conns, %by_fd);
    for my $sock (@$socks) {
        my $c = { buf => '', sock => $sock, done => !$sock };
        $by_fd{ fileno $sock } = $c if $sock;
        push @conns, $c;
    }
    my $sel = IO::Select->new(map { $_->{sock} } grep { !$_->{done} } @conns);
    while ($sel->count && time < $deadline) {
        for my $fh ($sel->can_read($deadline - time)) {
            my $c = $by_fd{ fileno $fh };
            my $n = sysread($fh, $c->{buf}, 65536, length $c->{buf});
            next if !defined $n && ($! == EAGAIN || $! == EINTR);
            $c->{closed} = 1 unless $n;
            next unless $c->{closed} || parse_response($c->{buf}, 0);
            $sel->remove($fh);
        }
    }
    return map {
        my ($r) = parse_response($_->{buf}, $_->{closed});
        close $_->{sock} if $_->{sock};
        $r // { status => undef, headers => {}, body => undef,
            data => $_->{buf} };
    } @conns;
}

# A keep-alive session on one connection (see Test::Luaproxy::Session).
sub http_keepalive {
    my ($self, $port, %opts) = @_;
    return Test::Luaproxy::Session->new($port, %opts);
}

package Test::Luaproxy::Session;

use Errno qw(EAGAIN EINTR);
use Time::HiRes qw(time);

# Open the connection (to 127.0.0.1, or the host option); undef if it
# cannot connect.
sub new {
    my ($class, $port, %opts) = @_;
    my $s = Test::Luaproxy::_connect($port, undef, $opts{host})
        or return undef;
    return bless { sock => $s, buf => '', closed => 0,
        timeout => $opts{timeout} // 5 }, $class;
}

# Send raw bytes on the connection.
sub send {
    my ($self, $bytes) = @_;
    return Test::Luaproxy::_write_all($self->{sock}, $bytes);
}

# Read one response (bounded); the parsed response or undef.
sub read_response {
    my ($self, %opts) = @_;
    my $method = $opts{method};
    my $st = Test::Luaproxy::_read_until($self->{sock}, \$self->{buf},
        sub { scalar Test::Luaproxy::parse_response($self->{buf}, 0, $method) },
        $opts{read_timeout} // 3, time + ($opts{timeout} // $self->{timeout}));
    $self->{closed} ||= $st->{closed};
    my ($resp, $used) = Test::Luaproxy::parse_response($self->{buf},
        $self->{closed}, $method) or return undef;
    substr($self->{buf}, 0, $used, '');
    return $resp;
}

# Send a keep-alive request for path and read its response.
sub get {
    my ($self, $path, %opts) = @_;
    my $method = $opts{method} // 'GET';
    $self->send(Test::Luaproxy::http_request_bytes($method, $path,
            keepalive => 1, %opts));
    return $self->read_response(%opts, method => $method);
}

# Send raw bytes and read one response.
sub request {
    my ($self, $bytes, %opts) = @_;
    $self->send($bytes);
    return $self->read_response(%opts);
}

# Whether the server has closed the connection; waits up to $wait seconds.
sub is_closed {
    my ($self, $wait) = @_;
    return 1 if $self->{closed};
    my $st = Test::Luaproxy::_read_until($self->{sock}, \$self->{buf},
        sub { 0 }, $wait // 0, time + ($wait // 0));
    $self->{closed} = $st->{closed};
    return $self->{closed};
}

# Close our side.
sub close {
    my ($self) = @_;
    close $self->{sock} if $self->{sock};
    delete $self->{sock};
}

1;

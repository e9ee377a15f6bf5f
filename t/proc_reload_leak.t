#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# After 50 reloads the master holds the same descriptors (count and kinds),
# its memory is roughly where it was, and the process count is back to the
# master plus its workers: nothing leaks per generation.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy qw(return_config);
use Time::HiRes qw(time sleep);

my $RELOADS = 50;

my $t = Test::Luaproxy->new(timeout => 60);
# AddressSanitizer's allocator keeps freed memory (its quarantine, its
# per-size caches), so the master's RSS grows with each reload's
# allocations (about 900 kB over 50 there, 12 kB in a plain build): the
# RSS bound is for plain builds, and LeakSanitizer checks leaks there.
my $rss_bound =
    Test::Luaproxy::binary_has($t->binary, '__asan_init') ? 4096 : 1024;
$t->write_file_expand('leak.cfg', return_config(binds => ['%%PORT_8080%%', '%%PORT_8081%%']));
$t->run;
$t->plan(7);

my $port = $t->port(8080);
my $master = $t->pid;
# Two warm-up reloads: the first ones may fill caches (libc, libevent).
reload_and_settle() for 1 .. 2;
my %before = settled_snapshot();

my $done = 0;
$done += reload_and_settle() for 1 .. $RELOADS;
is($done, $RELOADS, "$RELOADS reloads done, each generation replaced");
is($t->http_get($port, '/')->{body}, 'ok', 'still serving');
my %after = settled_snapshot();

is($after{nfds}, $before{nfds}, "master fd count unchanged ($after{nfds})")
    or diag("before: $before{fds}\nafter:  $after{fds}");
note("master fds: $after{fds}");
is($after{fds}, $before{fds}, 'master holds the same kinds of fds');
cmp_ok($after{rss} - $before{rss}, '<', $rss_bound,
    "master RSS roughly unchanged ($before{rss} kB -> $after{rss} kB)");
is($after{procs}, $before{procs},
    "process count back to $before{procs} (master and workers)");
# fds the test process passes on to what it runs (stdio, and whatever the
# environment running the tests left open) are not the master's doing
my %passed = map { $_ => 1 } grep { !cloexec($$, $_) } fds($$);
my @inherit = grep { !$passed{$_} && !cloexec($master, $_) } fds($master);
is("@inherit", '', 'every fd the master opened is close-on-exec')
    or diag(join "\n", map { "$_: " . (readlink("/proc/$master/fd/$_")
    // '?') } @inherit);

# The open fd numbers of a process (the master by default).
sub fds {
    my ($pid) = @_;
    $pid //= $master;
    opendir(my $dh, "/proc/$pid/fd") or return ();
    return sort { $a <=> $b } grep { /^\d+\z/ } readdir $dh;
}

# 1 if the process's fd has O_CLOEXEC (02000000 in fdinfo's octal flags).
sub cloexec {
    my ($pid, $fd) = @_;
    open(my $fh, '<', "/proc/$pid/fdinfo/$fd") or return 0;
    while (my $line = <$fh>) {
        return oct($1) & 02000000 ? 1 : 0 if $line =~ /^flags:\s+(\d+)/;
    }
    return 0;
}

# Reload, wait until it is done and the previous workers are gone; 1 if so.
sub reload_and_settle {
    my %old = map { $_ => 1 } $t->worker_pids;
    my $mark = $t->log_mark;
    $t->reload;
    $t->wait_log(qr/reload done/, mark => $mark) or return 0;
    my $deadline = time + 5;
    while (time < $deadline) {
        return 1 unless grep { $old{$_} } $t->worker_pids;
        sleep 0.01;
    }
    return 0;
}

# A snapshot once two readings 50 ms apart agree: the master closes an
# old worker's channel just after reaping it, so a reading taken as the
# worker vanishes may still show that channel.
sub settled_snapshot {
    my %s = snapshot();
    for (1 .. 40) {
        sleep 0.05;
        my %n = snapshot();
        return %n if $n{fds} eq $s{fds};
        %s = %n;
    }
    return %s;
}

# The master's fd count, fd kinds (sorted link targets with inode numbers
# dropped), RSS in kB, and the process count of the server's group.
sub snapshot {
    my @links = sort map {
        (my $l = readlink("/proc/$master/fd/$_") // '?') =~ s/\[\d+\]/[]/;
        $l;
    } fds();
    my $rss = 0;
    if (open(my $fh, '<', "/proc/$master/status")) {
        while (my $line = <$fh>) {
            $rss = $1 if $line =~ /^VmRSS:\s+(\d+)/;
        }
    }
    return (nfds => scalar @links, fds => "@links", rss => $rss,
        procs => scalar $t->group_pids);
}

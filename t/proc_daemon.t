#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# -D daemonises: the command returns at once with status 0, the master
# runs detached in its own session, the pid file names the master (the
# parent of the workers), it reloads on SIGHUP and stops on SIGTERM.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy qw(return_config);
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new(timeout => 30);
$t->write_file_expand('daemon.cfg', return_config());
my $pidfile = $t->testdir . '/luaproxy.pid';
my $master;
END { kill('KILL', $master) if $master && kill(0, $master); }

my ($rc, $out) = $t->run_cmd('-D', '-p', $pidfile, '-f', 'daemon.cfg');
$t->plan(9);
is($rc, 0, '-D returns with status 0') or diag($out);

my $deadline = time + 5;
sleep 0.02 while time < $deadline && !-s $pidfile;
$master = read_pid();
ok($master && kill(0, $master), 'the pid file names a live process');
my %st = stat_of($master // 0);
is($st{sid}, $master, 'the master leads its own session');
isnt($st{ppid}, $$, 'the master is detached from the test');
my @workers = children($master // 0);
$deadline = time + 5;
while (@workers < 2 && time < $deadline) {
    sleep 0.05;
    @workers = children($master);
}
is(scalar @workers, 2, 'the pid file names the parent of the 2 workers');
is($t->http_get($t->port(8080), '/')->{body}, 'ok', 'the daemon serves');

kill('HUP', $master);
$deadline = time + 5;
sleep 0.05 while time < $deadline
    && grep { my $w = $_; grep { $_ == $w } children($master) } @workers;
my @new = children($master);
ok(@new == 2 && !grep({ my $w = $_; grep { $_ == $w } @workers } @new),
    'SIGHUP: the same master has a new generation of workers');

kill('TERM', $master);
$deadline = time + 5;
sleep 0.05 while time < $deadline && kill(0, $master);
ok(!kill(0, $master), 'SIGTERM stops the master');
ok(!grep({ kill(0, $_) } @workers, @new), 'and every worker');

# The PID in the pid file.
sub read_pid {
    open(my $fh, '<', $pidfile) or return undef;
    my $line = <$fh> // '';
    return $line =~ /^(\d+)\n\z/ ? $1 : undef;
}

# ppid and session id of a process, from /proc/PID/stat.
sub stat_of {
    my ($pid) = @_;
    open(my $fh, '<', "/proc/$pid/stat") or return ();
    my ($ppid, $pgrp, $sid) = (<$fh> // '') =~ /\)\s+\S+\s+(\d+)\s+(\d+)\s+(\d+)/
        or return ();
    return (ppid => $ppid, pgrp => $pgrp, sid => $sid);
}

# Live children of a process.
sub children {
    my ($pid) = @_;
    opendir(my $dh, '/proc') or return ();
    return grep {
        my %s = stat_of($_);
        ($s{ppid} // 0) == $pid && -e "/proc/$_/exe"
    } grep { /^\d+\z/ } readdir $dh;
}

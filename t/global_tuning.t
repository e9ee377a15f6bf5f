#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Global keywords of HAProxy configurations: "ulimit-n" sets the workers'
# descriptor limit, "node" and "description" name the host in "show
# info" (as HAProxy's fields), and "spread-checks" moves each check
# interval by up to that percent either way. Out-of-range values are
# errors at their line. HAProxy shows the same fields.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);
my $dir = $t->testdir;

sub config {
    my ($who, $chk) = @_;
    return <<"CFG";
global
    nbthread 1
    ulimit-n 4096
    node mynode
    description the test\\ host
    spread-checks 50
    stats socket $dir/$who.sock level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
backend b
    server s 127.0.0.1:$chk check inter 100ms
CFG
}

sub info {
    my ($who) = @_;
    my $out = $t->cli("$who.sock", "show info\n") // '';
    return join(' | ', map { $out =~ /^\Q$_\E: (.*)$/m ? "$_: $1" : "$_: none" }
        'Ulimit-n', 'node', 'description');
}

# The check connections a listener sees for about 3 s: the intervals
# between them, in ms.
sub check_intervals {
    my ($l) = @_;
    my $sel = IO::Select->new($l);
    my @at;
    my $end = time + 3;
    while (time < $end && @at < 26) {
        next unless $sel->can_read($end - time);
        my $c = $l->accept or next;
        push @at, time;
        close $c;
    }
    return map { int(($at[$_] - $at[$_ - 1]) * 1000) } 1 .. $#at;
}

my $l = $t->listen_socket(8091);
$t->write_file('lp.cfg', config('lp', $t->port(8091)));
$t->run;
my $lp = info('lp');
is($lp, 'Ulimit-n: 4096 | node: mynode | description: the test host',
    'show info: ulimit-n, node and description');
my @iv = check_intervals($l);
my ($min, $max) = (sort { $a <=> $b } @iv)[0, -1];
ok(@iv >= 15 && $max - $min >= 40,
    'spread-checks 50: intervals of 100 ms spread over 50..150 ms')
    or diag("@iv");

for my $c (['spread-checks 51', 'out of range'], ['ulimit-n 0', 'out of range']) {
    my ($rc, $out) = $t->check_config("global\n    $c->[0]\n", 'bad.cfg');
    ok($rc != 0 && $out =~ /bad\.cfg:2: .*\Q$c->[1]\E/, "global $c->[0]")
        or diag($out);
}

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8091)));
    $t->run_haproxy($haproxy, 'ha.cfg');
    my $ha = '';
    for (1 .. 50) {
        $ha = info('ha');
        last if $ha !~ /Ulimit-n: none/;
        select(undef, undef, undef, 0.05);
    }
    is($ha, $lp, 'HAProxy shows the same');
}

$t->done_testing;

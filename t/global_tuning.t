#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Global keywords of HAProxy configurations: "ulimit-n" sets the workers'
# descriptor limit, "node" and "description" name the host in "show
# info" (as HAProxy's fields), "spread-checks" moves each check
# interval by up to that percent either way, and tune.rcvbuf/sndbuf
# .client/.server size the sockets' buffers (ss shows the kernel's double). Out-of-range values are
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
    my ($who, $chk, $port) = @_;
    my $o = $t->port(8092);
    return <<"CFG";
global
    nbthread 1
    ulimit-n 4096
    node mynode
    description the test\\ host
    spread-checks 50
    tune.rcvbuf.client 32768
    tune.sndbuf.client 16384
    tune.rcvbuf.server 24576
    tune.sndbuf.server 12288
    stats socket $dir/$who.sock level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
backend b
    server s 127.0.0.1:$chk check inter 100ms
listen l
    bind 127.0.0.1:$port
    server o 127.0.0.1:$o
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

$t->http_origin(8092, sub { return [200, [], 'ok'] });

# The buffer sizes ss shows for the client socket of a connection through
# <port> and for its server socket.
my $ss = (grep { -x } map { "$_/ss" } qw(/usr/bin /bin /usr/sbin /sbin))[0];
sub buffers {
    my ($port) = @_;
    my $s = $t->http_keepalive($port);
    $s->get('/');
    my $cport = $s->{sock}->sockport;
    my $o = $t->port(8092);
    my @r = map {
        my $out = `$ss -Htnm '$_' 2>&1`;
        $out =~ /rb(\d+),t\d+,tb(\d+)/ ? "rb=$1 tb=$2" : 'none';
    } "( sport = :$port and dport = :$cport )", "( dport = :$o )";
    $s->close;
    return "client $r[0], server $r[1]";
}

my $l = $t->listen_socket(8091);
$t->write_file('lp.cfg', config('lp', $t->port(8091), $t->port(8080)));
$t->run;
my $lp = info('lp');
is($lp, 'Ulimit-n: 4096 | node: mynode | description: the test host',
    'show info: ulimit-n, node and description');
SKIP: {
    skip('no ss(8)', 1) unless $ss;
    $lp .= ' | ' . buffers($t->port(8080));
    like($lp, qr/client rb=65536 tb=32768, server rb=49152 tb=24576$/,
        'tune.rcvbuf/sndbuf for client and server sockets');
}
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
    $t->write_file('ha.cfg', config('ha', $t->port(8091), $t->port(8180)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    my $ha = '';
    for (1 .. 50) {
        $ha = info('ha');
        last if $ha !~ /Ulimit-n: none/;
        select(undef, undef, undef, 0.05);
    }
    $ha .= ' | ' . buffers($t->port(8180)) if $ss;
    is($ha, $lp, 'HAProxy shows the same');
}

$t->done_testing;

#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# The server option "addr IP": health checks go to that address (on the
# "port" given, else the server's port) instead of the server's own, so a
# server whose traffic address refuses checks is UP when its check
# address answers, and DOWN the other way round. A bad address is a
# configuration error. HAProxy finds the same states.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);
my $dir = $t->testdir;

# The origin listens on 127.0.0.1 only: 127.0.0.3 refuses.
sub config {
    my ($who) = @_;
    my $o = $t->port(8091);
    return <<"CFG";
global
    nbthread 1
    stats socket $dir/$who.sock level admin
defaults
    mode http
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
backend b
    server via_addr 127.0.0.3:$o check inter 100ms rise 1 fall 1 addr 127.0.0.1
    server via_port 127.0.0.3:1 check inter 100ms rise 1 fall 1 addr 127.0.0.1 port $o
    server own 127.0.0.3:$o check inter 100ms rise 1 fall 1
    server away 127.0.0.1:$o check inter 100ms rise 1 fall 1 addr 127.0.0.3
CFG
}

$t->http_origin(8091, sub { return [200, [], 'ok'] });

# The servers' states once the checks have run a few times.
sub states {
    my ($who) = @_;
    my $out = '';
    for (1 .. 60) {
        $out = $t->cli("$who.sock", "show stat\n") // '';
        last if $out !~ /^b,(via_addr|via_port|own|away),.*,(UP|DOWN) \d/m
            && $out =~ /^b,own,.*,DOWN,/m;
        select(undef, undef, undef, 0.05);
    }
    return join(' ', map { /^b,(\w+),(?:[^,]*,){15}([^,]+),/ ? "$1=$2" : () }
        grep { /^b,/ && !/BACKEND/ } split /\n/, $out);
}

$t->write_file('lp.cfg', config('lp'));
$t->run;
my $lp = states('lp');
is($lp, 'via_addr=UP via_port=UP own=DOWN away=DOWN',
    'checks go to addr, on port or the server\'s port');

my ($rc, $out) = $t->check_config(<<'CFG', 'bad.cfg');
backend b
    server s 127.0.0.1:1 check addr nowhere!
CFG
ok($rc != 0 && $out =~ /bad\.cfg:2: /, 'a bad check address') or diag($out);

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha'));
    $t->run_haproxy($haproxy, 'ha.cfg');
    sleep 1;
    is(states('ha'), $lp, 'HAProxy: the same states');
}

$t->done_testing;

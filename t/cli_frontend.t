#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# The runtime API's frontend commands, with HAProxy 2.6's names, answers
# and errors: "disable frontend" pauses the accepts (clients wait in the
# kernel's queue and are served on "enable frontend"), "shutdown
# frontend" stops them for good, "set maxconn frontend" and "set maxconn
# global" change the limits; every worker follows (nbthread 2: two
# workers). HAProxy answers the same on the same configuration.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use IO::Socket::IP;
use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);
my $dir = $t->testdir;
my $o = $t->port(8091);

sub config {
    my ($who, $port, $port2) = @_;
    return <<"CFG";
global
    nbthread 2
    maxconn 400
    stats socket $dir/$who.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$port
    default_backend app
frontend fe2
    bind 127.0.0.1:$port2
    default_backend app
backend app
    server s1 127.0.0.1:$o
CFG
}

$t->http_origin(8091, sub { [200, [], 'ok'] });

my @commands = (
    'disable frontend fe2',
    'disable frontend fe2',
    'enable frontend fe2',
    'enable frontend fe2',
    'disable frontend',
    'disable frontend nope',
    'disable frontend app',
    'enable frontend nope',
    'set maxconn frontend fe2 50',
    'set maxconn frontend fe2',
    'set maxconn frontend fe2 -1',
    'set maxconn frontend',
    'set maxconn frontend app 3',
    'set maxconn global 100',
    'set maxconn global',
    'set maxconn global 100000',
    'set maxconn global 0',
    'shutdown frontend',
    'shutdown frontend nope',
    'shutdown frontend fe2',
    'shutdown frontend fe2',
    'enable frontend fe2',
    'disable frontend fe2',
);

sub transcript {
    my ($who) = @_;
    return join('', map {
        "> $_\n" . ($t->cli("$who.sock", "$_\n") // '(no answer)')
    } @commands);
}

# A column of the FRONTEND line of <px> in worker <n>'s "show stat".
sub fe_stat {
    my ($n, $px, $col) = @_;
    my $out = $t->cli('lp.sock', "\@$n show stat\n") // '';
    return undef unless $out =~ /^# (.*)$/m;
    my @c = split /,/, $1;
    my ($i) = grep { $c[$_] eq $col } 0 .. $#c;
    my ($line) = $out =~ /^(\Q$px\E,FRONTEND,.*)$/m or return undef;
    return (split /,/, $line, -1)[$i];
}

sub both { my ($px, $col) = @_; join ' ', map { fe_stat($_, $px, $col) } 1, 2 }

# 1 if a response comes on <s> within <secs>.
sub answered {
    my ($s, $secs) = @_;
    return 0 unless IO::Select->new($s)->can_read($secs);
    my $buf = '';
    sysread($s, $buf, 4096);
    return $buf =~ m{^HTTP/1\.1 200} ? 1 : 0;
}

$t->write_file('lp.cfg', config('lp', $t->port(8080), $t->port(8081)));
$t->run;
my $port = $t->port(8080);

is($t->cli('lp.sock', "disable frontend fe\n"), "\n", 'disable frontend');
is(both('fe', 'status'), 'PAUSED PAUSED', 'both workers pause it');
my $held = $t->http_hold($port, '/');
ok(!answered($held, 0.5), 'a client of a disabled frontend waits');
is($t->cli('lp.sock', "enable frontend fe\n"), "\n", 'enable frontend');
ok(answered($held, 3), 'then it is served');
close $held;
is(both('fe', 'status'), 'OPEN OPEN', 'both workers accept again');

is($t->cli('lp.sock', "set maxconn frontend fe 1\n"), "\n",
    'set maxconn frontend');
is(both('fe', 'slim'), '1 1', 'both workers take it');
my @idle = map {
    IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
} 1 .. 2;
sleep 0.3;
is(both('fe', 'scur'), '1 1', 'one connection in each worker');
$held = $t->http_hold($port, '/');
ok(!answered($held, 0.5), 'a third one waits');
close $idle[0];
ok(answered($held, 3), 'served once one left');
close $_ for $held, @idle;
$t->cli('lp.sock', "set maxconn frontend fe 0\n");

is($t->cli('lp.sock', "set maxconn global 1\n"), "\n", 'set maxconn global');
my @maxconn = map {
    ($t->cli('lp.sock', "\@$_ show info\n") // '') =~ /^(Maxconn: \d+\nHard_maxconn: \d+)$/m
} 1, 2;
is("@maxconn", "Maxconn: 1\nHard_maxconn: 400 Maxconn: 1\nHard_maxconn: 400",
    'both workers: the configured maxconn stays the hard one');
@idle = map {
    IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
} 1 .. 2;
sleep 0.3;
$held = $t->http_hold($t->port(8081), '/');
ok(!answered($held, 0.5), 'at the global maxconn no frontend accepts');
close $idle[1];
ok(answered($held, 3), 'until a connection leaves');
close $_ for $held, @idle;
$t->cli('lp.sock', "set maxconn global 0\n");
like($t->cli('lp.sock', "\@2 show info\n"), qr/^Maxconn: 400$/m,
    'set maxconn global 0: back to the configured one');

is($t->cli('lp.sock', "shutdown frontend fe\n"), "\n", 'shutdown frontend');
is(both('fe', 'status'), 'STOP STOP', 'both workers stop it');
$held = $t->http_hold($port, '/');
ok(!answered($held, 0.5), 'nobody serves it any more');
close $held;
is($t->http_get($t->port(8081), '/')->{status}, 200, 'the other one serves');

my $lp = transcript('lp');
is($lp, <<'ANS', 'the answers and errors');
> disable frontend fe2

> disable frontend fe2
All sockets are already disabled.

> enable frontend fe2

> enable frontend fe2
All sockets are already enabled.

> disable frontend
A frontend name is expected.

> disable frontend nope
No such frontend.

> disable frontend app
No such frontend.

> enable frontend nope
No such frontend.

> set maxconn frontend fe2 50

> set maxconn frontend fe2
Integer value expected.

> set maxconn frontend fe2 -1
Value out of range.

> set maxconn frontend
A frontend name is expected.

> set maxconn frontend app 3
No such frontend.

> set maxconn global 100

> set maxconn global
Expects an integer value.

> set maxconn global 100000
Value out of range.

> set maxconn global 0

> shutdown frontend
A frontend name is expected.

> shutdown frontend nope
No such frontend.

> shutdown frontend fe2

> shutdown frontend fe2
Frontend was already shut down.

> enable frontend fe2
Frontend was previously shut down, cannot enable.

> disable frontend fe2
Frontend was previously shut down, cannot disable.

ANS

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg',
        config('ha', $t->port(8180), $t->port(8181)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180), $t->port(8181));
    is(transcript('ha'), $lp, 'HAProxy: the same answers');
}

$t->done_testing;

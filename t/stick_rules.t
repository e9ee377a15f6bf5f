#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Sticking rules: "stick on" (match and store) keeps a key on the server
# it first went to, whatever the balancing algorithm says; "stick match"
# with "stick store-response" learns the key from the server's answer (a
# session cookie); in TCP mode "stick on src" keeps a client on one
# server; a stuck server taken out of service loses its keys to another,
# which then keeps them; the table stores server_id without being told;
# bad lines are errors at their line. HAProxy on the same configuration
# sends every request to the same server.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);
my $dir = $t->testdir;

sub config {
    my ($who, $hport, $tport) = @_;
    my ($o1, $o2) = ($t->port(8091), $t->port(8092));
    return <<"CFG";
global
    nbthread 1
    stats socket $dir/$who.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$hport
    use_backend resp if { path_beg /r/ }
    default_backend web
backend web
    balance roundrobin
    stick-table type string len 32 size 1k expire 1m
    stick on req.hdr(x-user)
    server s1 127.0.0.1:$o1
    server s2 127.0.0.1:$o2
backend resp
    balance roundrobin
    stick match req.cook(sid) table sessions
    stick store-response res.cook(sid) table sessions
    server s1 127.0.0.1:$o1
    server s2 127.0.0.1:$o2
backend sessions
    stick-table type string len 32 size 1k
listen tcp
    mode tcp
    bind 127.0.0.1:$tport
    balance roundrobin
    stick-table type ip size 1k
    stick on src
    server s1 127.0.0.1:$o1
    server s2 127.0.0.1:$o2
CFG
}

# Each origin answers its name; a login gets a session cookie.
for my $n (1, 2) {
    $t->http_origin(8090 + $n, sub {
        my ($req) = @_;
        my @h = $req->{uri} =~ /login/ ? ('Set-Cookie' => "sid=s$n-x") : ();
        return [200, \@h, "s$n"];
    });
}

# The servers <n> requests with these headers went to, in order.
sub servers {
    my ($port, $path, $n, @h) = @_;
    return join(' ', map {
        my $r = $t->http_get($port, $path, headers => [@h]);
        $r->{body} // 'none';
    } 1 .. $n);
}

sub outcomes {
    my ($who, $hport, $tport) = @_;
    my %o;
    $o{'stick on: first of A'} = servers($hport, '/', 1, 'X-User' => 'A');
    $o{'stick on: first of B'} = servers($hport, '/', 1, 'X-User' => 'B');
    $o{'stick on: A again'} = servers($hport, '/', 4, 'X-User' => 'A');
    $o{'stick on: B again'} = servers($hport, '/', 4, 'X-User' => 'B');
    $o{'no key: round robin'} = servers($hport, '/', 4);
    my $login = $t->http_get($hport, '/r/login');
    my ($sid) = ($login->{headers}{'set-cookie'} // '') =~ /sid=([^;]+)/;
    $o{'store-response: the login'} = ($login->{body} // 'none') . " sid=$sid";
    $o{'store-response: the session stays'} =
        servers($hport, '/r/x', 4, 'Cookie' => "sid=$sid");
    $o{'store-response: an unknown session balances'} =
        servers($hport, '/r/x', 2, 'Cookie' => 'sid=nobody');
    $o{'tcp: stick on src'} = servers($tport, '/', 4);
    # the stuck server goes out of service: A moves, and stays moved
    $t->cli("$who.sock", "disable server web/s1\n");
    $o{'server disabled: A moves'} = servers($hport, '/', 2, 'X-User' => 'A');
    $t->cli("$who.sock", "enable server web/s1\n");
    $o{'server back: A stays where it moved'} =
        servers($hport, '/', 2, 'X-User' => 'A');
    my $table = $t->cli("$who.sock", "show table web\n") // '';
    $o{'show table'} = join(' ', sort map { /key=(\w+) .*server_id=(\d+)/
        ? "$1=$2" : () } split /\n/, $table);
    return %o;
}

$t->write_file('lp.cfg', config('lp', $t->port(8080), $t->port(8081)));
$t->run;
my %lp = outcomes('lp', $t->port(8080), $t->port(8081));

is($lp{'stick on: first of A'}, 's1', 'A balanced to s1');
is($lp{'stick on: first of B'}, 's2', 'B balanced to s2');
is($lp{'stick on: A again'}, 's1 s1 s1 s1', 'A stays on s1');
is($lp{'stick on: B again'}, 's2 s2 s2 s2', 'B stays on s2');
like($lp{'no key: round robin'}, qr/^(s1 s2 s1 s2|s2 s1 s2 s1)$/,
    'without a key the algorithm balances');
like($lp{'store-response: the login'}, qr/^(s\d) sid=\1-x$/,
    'the session cookie of the answer');
my ($ls) = $lp{'store-response: the login'} =~ /^(s\d)/;
is($lp{'store-response: the session stays'}, join(' ', ($ls) x 4),
    'stick match on the cookie the server set');
like($lp{'store-response: an unknown session balances'}, qr/^(s1 s2|s2 s1)$/,
    'an unknown session is balanced');
like($lp{'tcp: stick on src'}, qr/^(s1 s1 s1 s1|s2 s2 s2 s2)$/,
    'TCP: stick on src');
is($lp{'server disabled: A moves'}, 's2 s2', 'a disabled server: A moves');
is($lp{'server back: A stays where it moved'}, 's2 s2',
    'the move was stored');
is($lp{'show table'}, 'A=2 B=2', 'show table: server_id stored without "store"');

$t->rule_errors(['stick on src', 'not allowed'],
    ['http-request stick on src', 'unknown action']);
for my $c (["backend b\n    stick on src\n    server s 127.0.0.1:1\n", 2,
        "'stick': unable to find table 'b'"],
    ["backend b\n    stick-table type ip size 1k\n    stick forever src\n", 3,
        "'stick' expects 'on', 'match', 'store-request' or 'store-response'"],
    ["backend b\n    stick-table type ip size 1k\n    stick on\n", 3,
        'expects'],
    ["backend b\n    stick-table type ip size 1k\n    stick on nosuch\n", 3,
        'nosuch']) {
    my ($rc, $out) = $t->check_config($c->[0], 'bad.cfg');
    ok($rc != 0 && $out =~ /bad\.cfg:$c->[1]: .*\Q$c->[2]\E/,
        "bad: $c->[2]") or diag($out);
}

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180), $t->port(8181)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180), $t->port(8181));
    my %ha = outcomes('ha', $t->port(8180), $t->port(8181));
    # Under load HAProxy's first TCP connection may land on either
    # server; what must match is that every later one follows it.
    $_->{'tcp: stick on src'} =~ s/s\d/sN/g for \%lp, \%ha;
    is_deeply(\%lp, \%ha, 'HAProxy: the same servers')
        or diag(explain(\%lp, \%ha));
}

$t->done_testing;

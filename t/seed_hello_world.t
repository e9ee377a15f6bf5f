#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# The seed guide's first example runs unchanged (only its two loopback bind
# ports are moved to free ones): the HTTP applet answers with the requested
# path, on keep-alive connections and under 50 concurrent clients, and the
# TCP applet sends "hello world\n" and closes.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new;
$t->copy_seed('hello_world.lua');
$t->copy_seed('hello_world.cfg', 8080, 8081);
$t->config('hello_world.cfg');
$t->run;
$t->plan(13);

my $http = $t->port(8080);
my $expected = "The path which was requested is: '/some/path'\n";

my $r = $t->http_get($http, '/some/path?x=1');
is($r->{status}, 200, 'GET: status 200');
is($r->{headers}{'content-type'}, 'text/plain', 'GET: content-type');
is($r->{body}, $expected, 'GET: body names the path without the query');
is($r->{headers}{'content-length'}, length $expected,
    'GET: content-length matches the body');

my $s = $t->http_keepalive($http);
my $r1 = $s && $s->get('/first');
my $r2 = $s && $s->get('/second');
is($r1 && $r1->{body}, "The path which was requested is: '/first'\n",
    'keep-alive: first request answered');
is($r2 && $r2->{body}, "The path which was requested is: '/second'\n",
    'keep-alive: second request answered on the same connection');
$s->close if $s;

my $tcp = $t->raw_request($t->port(8081), '', timeout => 5);
is($tcp->{data}, "hello world\n", 'TCP: hello world');
ok($tcp->{closed} && !$tcp->{timed_out}, 'TCP: server closes after it');

my @paths = map {"/concurrent/$_"} 1 .. 50;
my @many = $t->http_get_many($http, \@paths);
my @wrong = grep {
    ($many[$_]{body} // '') ne
        "The path which was requested is: '$paths[$_]'\n"
} 0 .. $#paths;
is(scalar @wrong, 0, '50 concurrent clients: every body right')
    or diag("wrong answers for: @paths[@wrong]");
is(scalar(grep { ($_->{status} // 0) == 200 } @many), 50,
    '50 concurrent clients: every status 200');

$r = $t->http_get($http, '/after');
is($r->{status}, 200, 'still serving after the concurrent burst');

my $pid = $t->pid;
ok($t->stop, 'SIGTERM stops the server within 5 s');
ok(!kill(0, $pid), 'master gone after stop');

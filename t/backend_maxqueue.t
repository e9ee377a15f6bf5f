#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Server queues and "maxqueue": a hashing algorithm sends a key to its
# server even when that server is full, and the request waits in that
# server's queue, not the backend's, so a request for another server is
# not held behind it. "maxqueue N" (from default-server here) bounds that
# queue over every worker: beyond it the request gets 503 at once instead
# of waiting. With leastconn, a request finding every server full waits
# in the queue of a server whose maxqueue has room, as HAProxy does. A
# bad value is a configuration error.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time);

my $t = Test::Luaproxy->new(timeout => 60);
$t->write_file_expand('maxqueue.cfg', <<'CFG');
global
    nbproc 2

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout queue 10s

frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    use_backend lc if { path_beg /lc/ }
    default_backend hq

backend lc
    balance leastconn
    server a 127.0.0.1:%%PORT_8091%% maxconn 1 maxqueue 1
    server b 127.0.0.1:%%PORT_8092%% maxconn 1 maxqueue 1

backend hq
    balance hdr(X-Key)
    default-server maxconn 1 maxqueue 2
    server a 127.0.0.1:%%PORT_8091%%
    server b 127.0.0.1:%%PORT_8092%%
CFG

# Each origin answers its name, one request at a time: after 0.4 s for
# /slow, and for /lc/ after 1.5 s (a) or 0.2 s (b).
for my $n (1, 2) {
    my $name = $n == 1 ? 'a' : 'b';
    $t->http_origin(8090 + $n, sub {
        my $lc = $n == 1 ? 1.5 : 0.2;
        select(undef, undef, undef, $_[0]{uri} =~ m{^/lc/} ? $lc : 0.4)
            if $_[0]{uri} =~ /slow|^\/lc\//;
        return [200, [], $name];
    });
}
$t->run;
$t->plan(8);
$t->wait_log(qr/(?s:ready, generation 1.*){2}/);
my $port = $t->port(8080);

# A key for each server.
my %key;
for my $k (map { "k$_" } 1 .. 40) {
    my $r = $t->http_get($port, '/', headers => { 'X-Key' => $k });
    $key{ $r->{body} } //= $k if ($r->{status} // 0) == 200;
    last if keys %key == 2;
}
ok($key{a} && $key{b}, 'keys found for both servers')
    or BAIL_OUT('no key per server');

# Seven requests for server a at once: one served, two queued (maxqueue
# 2, however the workers share them), four refused at once.
my $t0 = time;
my @r = $t->http_get_many($port, [map { '/slow' } 1 .. 7],
    headers => { 'X-Key' => $key{a} }, timeout => 10);
my @st = sort map { $_->{status} // 0 } @r;
is_deeply(\@st, [200, 200, 200, 503, 503, 503, 503],
    'maxconn 1 maxqueue 2: three served, four refused');
is(scalar(grep { ($_->{body} // '') eq 'a' } @r), 3,
    'the served ones all went to the key\'s server');

# While a's queue is full, b's key is served at once: the waiting
# requests are a's, not the backend's.
my @held = map {
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
        or die "connect: $!\n";
    print $s "GET /slow HTTP/1.1\r\nHost: x\r\nX-Key: $key{a}\r\n\r\n";
    $s;
} 1 .. 3;
select(undef, undef, undef, 0.1);
$t0 = time;
my $r = $t->http_get($port, '/', headers => { 'X-Key' => $key{b} });
my $took = time - $t0;
is($r->{body}, 'b', 'the other key is served while a has a queue');
cmp_ok($took, '<', 0.35, "without waiting behind a's queue ($took s)");
close $_ for @held;

# leastconn with maxqueue 1: when both are full, one more request waits
# in each server's own queue, for that server, and the fifth in the
# backend's; so the slow server a serves two of five, not one, and they
# take two of its turns.
$t0 = time;
@r = $t->http_get_many($port, [map { '/lc/' } 1 .. 5], timeout => 10);
$took = time - $t0;
my %by;
$by{ $_->{body} // 'none' }++ for @r;
is_deeply(\%by, { a => 2, b => 3 },
    'leastconn maxqueue 1: a request waits for the slow server');
cmp_ok($took, '>=', 2.8, "it waited for a's two turns ($took s)");

# maxqueue takes a number.
my ($rc, $out) = $t->check_config(<<'CFG', 'bad.cfg');
defaults
    mode http
backend b
    server s 127.0.0.1:1 maxqueue many
CFG
ok($rc != 0 && $out =~ /bad\.cfg:4: 'many' is not a valid integer/,
    'a bad maxqueue is reported with file and line') or diag($out);

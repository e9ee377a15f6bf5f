#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Graceful stop (SIGQUIT) with a slow response in flight: new connections
# are refused at once, the response completes, then the master exits 0.
# Fast stop (SIGTERM) exits promptly, without waiting for the response.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time sleep);

my $SLOW = 1.5;

my $t = Test::Luaproxy->new(timeout => 30);
$t->write_file_expand('stop.cfg', <<'CFG');
global
    nbproc 2

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    default_backend slow

backend slow
    server o1 127.0.0.1:%%PORT_8081%%
CFG
$t->http_origin(8081, sub {
    sleep $SLOW;
    return [200, ['Content-Type' => 'text/plain'], 'slow answer'];
}, log => 'origin.log');
$t->run;
$t->plan(9);

my $port = $t->port(8080);

# Graceful: the slow response completes before the master exits.
my $s = in_flight();
my $t0 = time;
$t->signal('QUIT');
sleep 0.2;
ok(!$t->waitforsocket($port, 0.1),
    'graceful: new connections refused once stopping');
my $r = $s->read_response(timeout => 5);
my $answered = time - $t0;
is($r && $r->{body}, 'slow answer', 'graceful: the in-flight response '
    . 'completes');
ok(!$r || ($r->{headers}{connection} // '') =~ /close/i,
    'graceful: it carries connection: close');
$s->close;
my $pid = $t->pid;
ok($t->stop(signal => 'QUIT', timeout => 5, keep_daemons => 1),
    'graceful: the master exits after the response');
is($t->exit_status, 0, 'graceful: exit status 0');
cmp_ok($answered, '>', $SLOW - 0.5, 'graceful: the response was really '
    . 'in flight when the stop began');

# Fast: the master exits without waiting for the slow origin.
$t->run;
$s = in_flight();
$t0 = time;
ok($t->stop(signal => 'TERM', timeout => 5, keep_daemons => 1),
    'fast: the master exits');
my $took = time - $t0;
cmp_ok($took, '<', 1, sprintf('fast: it exits promptly (%.2fs)', $took));
is($t->exit_status, 0, 'fast: exit status 0');

# Opens a keep-alive request to the slow origin and waits until the origin
# has received it; returns the session.
sub in_flight {
    my $n = () = $t->origin_requests('origin.log');
    my $sess = $t->http_keepalive($port, timeout => 5);
    $sess->send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    my $deadline = time + 3;
    sleep 0.02 while time < $deadline
        && (() = $t->origin_requests('origin.log')) <= $n;
    return $sess;
}

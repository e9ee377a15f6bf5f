#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# hard-stop-after bounds how long an old worker may drain: with a client
# stuck in the middle of its request head, the old worker survives the
# reload (it drains), then is stopped once the delay has passed, closing
# that connection; the new worker serves all along.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new(timeout => 30);
$t->write_file_expand('hard.cfg', <<'CFG');
global
    nbproc 1
    hard-stop-after 1s

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout http-request 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    http-request return status 200 content-type text/plain string ok
CFG
$t->run;
$t->plan(7);
$t->wait_log(qr/ready, generation/);

my $port = $t->port(8080);
my ($old) = $t->worker_pids;
my $stuck = $t->http_keepalive($port, timeout => 5);
$stuck->send("GET /stuck HTTP/1.1\r\nHost: x\r\n");
sleep 0.2;

my $mark = $t->log_mark;
my $t0 = time;
$t->reload;
ok($t->wait_log(qr/reload done/, mark => $mark), 'reload done');
sleep 0.5;
ok(kill(0, $old) && grep({ $_ == $old } $t->worker_pids),
    'the old worker still drains half a second later');
is($t->http_get($port, '/')->{body}, 'ok', 'the new worker serves');
ok($t->wait_log(qr/old worker \d \(pid $old\) exited/, mark => $mark,
    timeout => 4), 'the old worker is stopped');
my $took = time - $t0;
ok($took > 0.9 && $took < 2.5,
    sprintf('after hard-stop-after (1s): %.2fs', $took));
ok($stuck->is_closed(1), 'the stuck connection is closed');
like($t->log_since($mark), qr/pid $old\): hard-stop-after expired, closing 1 /,
    'the hard stop is logged with the connections it cut');

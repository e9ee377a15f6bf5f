#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Reload under load (issue 3): while one-shot and keep-alive clients send
# requests to a local "return" frontend and to a Perl origin through a
# backend, the master gets 20 SIGHUPs. Every request must get a complete,
# correct response (no refused connection, no reset, nothing truncated),
# and afterwards only the last generation's workers may be left.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;
use Test::Luaproxy::Load;
use Time::HiRes qw(time sleep);

my $RELOADS = 20;

my $t = Test::Luaproxy->new(timeout => 60);
$t->write_file_expand('reload.cfg', <<'CFG');
global
    nbproc 2

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend local
    bind 127.0.0.1:%%PORT_8080%%
    http-request return status 200 content-type text/plain string ok

frontend proxied
    bind 127.0.0.1:%%PORT_8081%%
    default_backend origin

backend origin
    server o1 127.0.0.1:%%PORT_8082%%
CFG
$t->http_origin(8082,
    sub { [200, ['Content-Type' => 'text/plain'], "path=$_[0]{uri}"] });
$t->run;
$t->plan(6);

my ($local, $proxied) = ($t->port(8080), $t->port(8081));
my $ok = sub {'ok'};
my $echo = sub {"path=$_[0]"};
my $load = Test::Luaproxy::Load->start($t,
    { port => $local, path => '/l1', expect => $ok },
    { port => $local, path => '/l2', expect => $ok, keepalive => 1 },
    { port => $local, path => '/l3', expect => $ok, keepalive => 1,
        pause => 0.05 },
    { port => $proxied, path => '/p1', expect => $echo },
    { port => $proxied, path => '/p2', expect => $echo, keepalive => 1 },
    { port => $proxied, path => '/p3', expect => $echo, keepalive => 1,
        pause => 0.05 });
sleep 0.3;

my ($done, $mark, $gen) = (0);
my $t0 = time;
for (1 .. $RELOADS) {
    $mark = $t->log_mark;
    $t->reload;
    $gen = $t->wait_log(qr/reload done, generation (\d+)/, mark => $mark);
    $done++ if $gen;
    sleep 0.1;
}
my $elapsed = time - $t0;
sleep 0.3;
my $res = $load->finish;

is($done, $RELOADS, "$RELOADS reloads done");
cmp_ok($res->{requests}, '>', 500, 'the clients kept sending requests')
    or diag("per client: @{ $res->{per_client} }");
is(scalar @{ $res->{failures} }, 0,
    'every request got a complete, correct response')
    or diag(join("\n", @{ $res->{failures} }[0 .. 19]));
diag(sprintf('%d requests on %d connections, %d reloads in %.1fs, '
        . '%d failures', $res->{requests}, $res->{connections}, $done,
    $elapsed, scalar @{ $res->{failures} }));

my %last = map { $_ => 1 }
    ($t->log_since($mark) =~ /\(pid (\d+)\) started, generation \Q$gen\E/g);
is(scalar keys %last, 2, 'the last reload started 2 workers');
my $deadline = time + 5;
my @left;
while (time < $deadline) {
    @left = $t->worker_pids;
    last if @left == 2 && !grep { !$last{$_} } @left;
    sleep 0.05;
}
is_deeply([sort @left], [sort keys %last],
    'only the last generation of workers is left');
unlike($t->log_contents, qr/exited (with status|on signal)/,
    'no worker died abnormally');

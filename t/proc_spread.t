#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# How evenly connections spread over 2 workers accepting on the one shared
# listening socket. Connections are opened one after the other, each
# answered and then held open, and each worker's share is counted from the
# sockets it holds (/proc/PID/fd). The figures are reported; the test only
# asserts that neither worker is starved.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy qw(return_config);
use Time::HiRes qw(time sleep);

my $N = 200;

my $t = Test::Luaproxy->new(timeout => 30);
$t->write_file_expand('spread.cfg', return_config());
$t->run;
$t->plan(3);
$t->wait_log(qr/(?s:ready, generation 1.*){2}/);

my $port = $t->port(8080);
my @workers = sort $t->worker_pids;
my %base = map { $_ => sockets($_) } @workers;

my (@held, $answered);
for (1 .. $N) {
    my $s = $t->http_keepalive($port) or next;
    my $r = $s->get('/');
    $answered++ if $r && $r->{status} == 200;
    push @held, $s;
}
is($answered, $N, "$N sequential connections answered");
my @seq = map { sockets($_) - $base{$_} } @workers;
$_->close for @held;
@held = ();
diag("sequential: $N connections spread @seq over 2 workers");
cmp_ok(min(@seq), '>=', $N / 10, 'sequential: no worker is starved');

# A burst: N clients connect at once, each held until all are answered.
sleep 0.5; # let the closes above be processed
%base = map { $_ => sockets($_) } @workers;
my @socks = grep {defined} map { $t->http_keepalive($port) } 1 .. $N;
$_->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n") for @socks;
my $ok = grep { my $r = $_->read_response; $r && $r->{status} == 200 }
    @socks;
my @burst = map { sockets($_) - $base{$_} } @workers;
$_->close for @socks;
is($ok, $N, "burst of $N answered");
# how a burst spreads depends on which worker the scheduler wakes first:
# a figure to report (bench/, closing notes), not a property to assert
diag("burst: $N connections spread @burst over 2 workers");

# The number of sockets a process holds.
sub sockets {
    my ($pid) = @_;
    opendir(my $dh, "/proc/$pid/fd") or return 0;
    return scalar grep {
        (readlink("/proc/$pid/fd/$_") // '') =~ /^socket:/
    } readdir $dh;
}

# The smallest of a list.
sub min {
    my $m = shift;
    $_ < $m and $m = $_ for @_;
    return $m;
}

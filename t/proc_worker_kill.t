#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# A worker killed with SIGKILL is logged with its signal and replaced at
# once, and requests never fail meanwhile: the other worker keeps
# accepting on the shared socket, nothing queued is lost.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy qw(return_config);
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new(timeout => 30);
$t->write_file_expand('kill.cfg', return_config());
$t->run;
$t->plan(7);
$t->expect_alerts(qr/exited on signal 9/);

my $port = $t->port(8080);
# both workers must be up: the port may accept as soon as the first is
my $ready_by = time + 5;
sleep 0.05 while $t->worker_pids < 2 && time < $ready_by;
my @workers = sort $t->worker_pids;
is(scalar @workers, 2, 'two workers');

# One-shot requests in a row; the kill happens between two of them.
my ($sent, @fails) = (0);
my $mark = $t->log_mark;
my $request = sub {
    my $r = $t->http_get($port, '/x', timeout => 3);
    $sent++;
    push @fails, $r->{status} // ($r->{reset} ? 'reset' : 'no response')
        unless ($r->{status} // 0) == 200 && $r->{body} eq 'ok';
};
$request->() for 1 .. 50;
kill('KILL', $workers[0]);
my $deadline = time + 2;
$request->() while time < $deadline
    && $t->log_since($mark) !~ /\(pid \d+\) started, generation 1/;
$request->() for 1 .. 50;

is(scalar @fails, 0, "all $sent requests answered around the kill")
    or diag("failures: @fails");
like($t->log_since($mark),
    qr/worker \d \(pid $workers[0]\) exited on signal 9/,
    'the death is logged with its signal');
my ($new) = $t->log_since($mark) =~ /\(pid (\d+)\) started, generation 1/;
ok($new, 'a replacement worker was started in the same generation');
my @now = sort $t->worker_pids;
is(scalar @now, 2, 'two workers again');
ok((grep { $_ == $workers[1] } @now) && (grep { $_ == ($new // 0) } @now),
    'the survivor and the replacement are the workers');
ok(!grep({ $_ == $workers[0] } @now), 'the killed worker is gone');

#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# "slowstart": a server its health checks bring back up takes a weight
# that grows from a small share to its full weight over the slowstart
# time (with roundrobin, a dynamic algorithm), so it gets little traffic
# at first; at start-up it is at full weight at once; with static-rr the
# weight does not ramp. Every worker follows the ramp (nbproc 2). HAProxy
# shows the same ramp in its statistics.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 90);
my $dir = $t->testdir;

sub config {
    my ($who, $port) = @_;
    my ($o1, $o2) = map { $t->port($_) } 8091, 8092;
    my $nb = $who eq 'lp' ? 'nbproc 2' : 'nbthread 2';
    return <<"CFG";
global
    $nb
    stats socket $dir/$who.sock level admin
defaults
    mode http
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$port
    use_backend st if { path_beg /st }
    default_backend rr
backend rr
    balance roundrobin
    server s1 127.0.0.1:$o1 check inter 100ms rise 1 fall 1 slowstart 4s weight 100
    server s2 127.0.0.1:$o2 weight 100
backend st
    balance static-rr
    server s1 127.0.0.1:$o1 check inter 100ms rise 1 fall 1 slowstart 4s weight 100
    server s2 127.0.0.1:$o2 weight 100
CFG
}

$t->http_origin(8092, sub { return [200, [], 's2'] });

# s1's weight in <backend> as <who>'s statistics show it (worker <n>).
sub weight {
    my ($who, $backend, $n) = @_;
    my $out = $t->cli("$who.sock", ($n ? "\@$n " : '') . "show stat\n") // '';
    my ($cols) = $out =~ /^# (.*)$/m;
    my @c = split /,/, $cols // '';
    my ($i) = grep { $c[$_] eq 'weight' } 0 .. $#c;
    my ($line) = $out =~ /^(\Q$backend\E,s1,.*)$/m or return -1;
    return (split /,/, $line)[$i // 0];
}

# Waits until s1 of backend rr is <want> ("UP"/"DOWN") in <who>'s stats.
sub wait_status {
    my ($who, $want) = @_;
    for (1 .. 100) {
        my $out = $t->cli("$who.sock", "show stat\n") // '';
        return 1 if $out =~ /^rr,s1,.*,\Q$want\E,/m;
        select(undef, undef, undef, 0.05);
    }
    return 0;
}

# The ramp seen by <who>: weights at start, then while s1 comes back.
sub ramp {
    my ($who) = @_;
    my %o;
    $o{'at start'} = weight($who, 'rr');
    # s1's origin is not there: its checks take it down
    $o{'down'} = wait_status($who, 'DOWN') ? 'DOWN' : 'not down';
    my $pid = $t->http_origin(8091, sub { return [200, [], 's1'] });
    $o{'up'} = wait_status($who, 'UP') ? 'UP' : 'not up';
    my $t0 = time;
    select(undef, undef, undef, 0.8);
    my $w = weight($who, 'rr');
    $o{'early'} = ($w > 0 && $w < 60) ? 'a share' : "weight $w";
    $o{'static-rr'} = weight($who, 'st');
    select(undef, undef, undef, 0.1) while time - $t0 < 4.6;
    $o{'later'} = weight($who, 'rr');
    $t->stop_daemon($pid);
    return %o;
}

$t->write_file('lp.cfg', config('lp', $t->port(8080)));
$t->run;
$t->wait_log(qr/(?s:ready, generation 1.*){2}/);

# Both workers follow the ramp: look at worker 2 while it is early.
my %lp = ramp('lp');
is($lp{'at start'}, 100, 'at start-up: full weight, no ramp');
is($lp{'down'}, 'DOWN', 's1 down while its origin is away');
is($lp{'up'}, 'UP', 'up when it comes back');
is($lp{'early'}, 'a share', 'early in the slowstart: a share of the weight');
is($lp{'static-rr'}, 100, 'static-rr does not ramp');
is($lp{'later'}, 100, 'after the slowstart: full weight');

# The ramp in the other worker too.
my $pid = $t->http_origin(8091, sub { return [200, [], 's1'] });
$t->stop_daemon($pid);
ok(wait_status('lp', 'DOWN'), 'down again');
$pid = $t->http_origin(8091, sub { return [200, [], 's1'] });
ok(wait_status('lp', 'UP'), 'up again');
select(undef, undef, undef, 0.8);
my @w = map { weight('lp', 'rr', $_) } 1, 2;
ok($w[0] > 0 && $w[0] < 60 && $w[1] > 0 && $w[1] < 60,
    'each worker ramps its own weight') or diag("@w");
$t->stop_daemon($pid);

my ($rc, $out) = $t->check_config(<<'CFG', 'bad.cfg');
backend b
    server s 127.0.0.1:1 slowstart soon
CFG
ok($rc != 0 && $out =~ /bad\.cfg:2: .*soon/, 'a bad slowstart time')
    or diag($out);

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    my %ha = ramp('ha');
    is_deeply(\%lp, \%ha, 'HAProxy: the same ramp') or diag(explain(\%lp, \%ha));
}

$t->done_testing;

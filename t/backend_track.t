#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# "track [backend/]server": a server without checks of its own follows the
# state of the server it tracks (in its backend or another one, through a
# chain of trackers): down with it, even though its own origin answers,
# and up again with it; each change is logged "via" the tracked server.
# A tracker with checks, an unknown tracked server or one without checks
# are configuration errors, as in HAProxy. HAProxy on the same
# configuration answers and logs the same, on its output and to the log
# targets (alert when a server goes down, notice when it comes up).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy qw(syslog_sink syslog_next);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);
my $dir = $t->testdir;
my %udp = map { $_ => syslog_sink() } qw(lp ha);

sub config {
    my ($who, $port) = @_;
    my ($o1, $o2) = map { $t->port($_) } 8091, 8092;
    my $uport = $udp{$who}->sockport;
    return <<"CFG";
global
    nbthread 1
    log 127.0.0.1:$uport local0
defaults
    mode http
    log global
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$port
    use_backend b if { path_beg /b }
    default_backend a
backend a
    balance first
    server s1 127.0.0.1:$o1 check inter 100ms rise 1 fall 1
    server s2 127.0.0.1:$o2 track s1
backend b
    server t1 127.0.0.1:$o2 track a/s2
CFG
}

$t->http_origin(8092, sub { return [200, [], 'o2'] });

# What <who> printed so far (our log; HAProxy's output).
sub printed {
    my ($who) = @_;
    return $t->log_contents if $who eq 'lp';
    open(my $fh, '<', "$dir/haproxy.log") or return '';
    local $/;
    return <$fh>;
}

# The "via" lines <who> printed after <from> bytes, once <re> shows;
# moves <from> past them.
sub via_lines {
    my ($who, $re, $from) = @_;
    my $text = '';
    for (1 .. 100) {
        $text = substr(printed($who), $$from);
        last if $text =~ $re;
        select(undef, undef, undef, 0.05);
    }
    $$from += length $text;
    my @via = $text =~ /Server (\S+) is (UP|DOWN) via (\S+)\./g;
    my @l;
    push @l, "$via[$_] $via[$_ + 1] via $via[$_ + 2]" for grep { $_ % 3 == 0 } 0 .. $#via;
    return join(', ', sort @l);
}

# The state changes <who> sent to its log targets so far: priority and
# the words up to the first period ("<129> Server a/s1 is DOWN, reason:
# Layer4 connection problem, ..."), sorted.
sub syslogged {
    my ($who) = @_;
    my @l;
    while ((my $l = syslog_next($udp{$who}, 0.3)) ne '<none>') {
        push @l, "$1 $2" if $l =~ /^<(\d+)>HDR: (Server \S+ is \w+|backend '\w+' has no server)/;
    }
    return join(', ', sort @l);
}

sub outcomes {
    my ($who, $port) = @_;
    my ($from, %o) = (0);
    # s1's origin is away: s1, and s2 and t1 through it, go down
    $o{'down: via'} = via_lines($who, qr{Server b/t1 is DOWN via}, \$from);
    $o{'down: log targets'} = syslogged($who);
    $o{'down: /b'} = $t->http_get($port, '/b')->{status};
    $o{'down: /a'} = $t->http_get($port, '/a')->{status};
    my $pid = $t->http_origin(8091, sub { return [200, [], 'o1'] });
    $o{'up: via'} = via_lines($who, qr{Server b/t1 is UP via}, \$from);
    $o{'up: log targets'} = syslogged($who);
    $o{'up: /b'} = join(' ', map { $_->{status} . ' ' . ($_->{body} // '') }
        $t->http_get($port, '/b'));
    $t->stop_daemon($pid);
    $o{'down again: via'} = via_lines($who, qr{Server b/t1 is DOWN via}, \$from);
    return %o;
}

$t->write_file('lp.cfg', config('lp', $t->port(8080)));
$t->expect_alerts(qr/backend '(a|b)' has no server available/);
$t->run;
my %lp = outcomes('lp', $t->port(8080));
is($lp{'down: via'}, 'a/s2 DOWN via a/s1, b/t1 DOWN via a/s2',
    'the trackers go down via the servers they track');
is($lp{'down: /b'}, 503, 'a tracker down with its tracked server: 503');
is($lp{'down: /a'}, 503, 'so is the tracker in the same backend');
is($lp{'up: via'}, 'a/s2 UP via a/s1, b/t1 UP via a/s2', 'and up with it');
is($lp{'up: /b'}, '200 o2', 'the tracker serves again');
is($lp{'down: log targets'},
    '129 Server a/s1 is DOWN, 129 Server a/s2 is DOWN, 129 Server b/t1 is DOWN',
    'the log targets get the changes at alert (local0: 129)');
is($lp{'up: log targets'},
    '133 Server a/s1 is UP, 133 Server a/s2 is UP, 133 Server b/t1 is UP',
    'and at notice when they come up');
is($lp{'down again: via'}, 'a/s2 DOWN via a/s1, b/t1 DOWN via a/s2',
    'down again');

for my $c (["backend a\n    server s1 127.0.0.1:1 check\n    server s2 127.0.0.1:1 track s1 check\n",
        3, "unable to enable checks and tracking at the same time"],
    ["backend a\n    server s1 127.0.0.1:1 check\n    server s2 127.0.0.1:1 track nope\n",
        3, "unable to find required server 'nope' for tracking"],
    ["backend a\n    server s1 127.0.0.1:1\n    server s2 127.0.0.1:1 track s1\n",
        3, "unable to use s1 for tracking as it does not have any check"],
    ["backend a\n    server s1 127.0.0.1:1 track s2\n    server s2 127.0.0.1:1 track s1\n",
        2, 'for tracking as it does not have any check']) {
    my ($rc, $out) = $t->check_config($c->[0], 'bad.cfg');
    ok($rc != 0 && $out =~ /bad\.cfg:$c->[1]: .*\Q$c->[2]\E/,
        "bad: $c->[2]") or diag($out);
}

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    my %ha = outcomes('ha', $t->port(8180));
    is_deeply(\%lp, \%ha, 'HAProxy: the same answers and via lines')
        or diag(explain(\%lp, \%ha));
}

$t->done_testing;

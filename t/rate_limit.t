#!/usr/bin/perl
# Connection rate limits: a frontend's "rate-limit sessions N" and the
# global "maxconnrate N" let N connections a second in, counted over
# both workers; the others wait in the kernel's backlog and are served as
# the sliding one-second window lets them through, while a frontend
# without a limit serves at once. HAProxy on the same configuration lets
# them through the same way. Bad values are errors at their line.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use IO::Select;
use Time::HiRes qw(time sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';

sub config {
    my ($t, $global, $base) = @_;
    my ($lim, $free) = ($t->port($base), $t->port($base + 1));
    return <<"CFG";
global
    nbthread 2
$global
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend limited
    bind 127.0.0.1:$lim
    rate-limit sessions 5
    http-request return status 200 content-type text/plain string ok
frontend free
    bind 127.0.0.1:$free
    http-request return status 200 content-type text/plain string ok
CFG
}

# Opens <n> connections to <port> at once, each sending a request; the
# seconds after which each got its answer, in order (9 for none in 6 s).
sub burst {
    my ($port, $n) = @_;
    my $t0 = time;
    my %c;
    for (1 .. $n) {
        my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
            PeerPort => $port) or next;
        syswrite($s, "GET / HTTP/1.0\r\n\r\n");
        $s->blocking(0);
        $c{fileno $s} = { s => $s, buf => '' };
    }
    my $sel = IO::Select->new(map { $_->{s} } values %c);
    my @when;
    while ($sel->count && time - $t0 < 6) {
        for my $s ($sel->can_read(0.05)) {
            my $n = sysread($s, my $b, 4096);
            next if !defined $n;
            $c{fileno $s}{buf} .= $b;
            next if $n > 0;
            push @when, time - $t0;
            $sel->remove($s);
            close $s;
        }
    }
    push @when, 9 for 1 .. $sel->count;
    return sort { $a <=> $b } @when;
}

# What a burst of 15 shows: how many were answered within 0.9 s, and
# when the last was. The window slides over one-second periods aligned on
# the first event counted (a start-up probe), so the first five go in at
# once and up to five more before 0.9 s, depending on where the period
# ends (HAProxy's threads may let one or two more in); at five a second,
# the last of 15 cannot come before 1.8 s.
sub shape {
    my (@w) = @_;
    my $early = grep { $_ < 0.9 } @w;
    return ($early >= 5 && $early <= 12 ? '5 to 12' : $early) . ' early, '
        . ($w[-1] >= 1.8 && $w[-1] < 6 ? 'the last after 1.8 s'
            : sprintf('the last at %.2f s', $w[-1]));
}

sub outcomes {
    my ($t, $base) = @_;
    my %o;
    sleep 1.1; # the start-up probes leave the window
    my @w = burst($t->port($base), 15);
    $o{limited} = shape(@w);
    $o{free} = grep { $_ < 0.9 } burst($t->port($base + 1), 15);
    return %o;
}

my $t = Test::Luaproxy->new(timeout => 60);
$t->write_file('lp.cfg', config($t, '', 8080));
$t->run;
my %lp = outcomes($t, 8080);
is($lp{limited}, '5 to 12 early, the last after 1.8 s',
    'rate-limit sessions 5: five at once, the rest as the window allows, '
    . 'counted over both workers');
is($lp{free}, 15, 'a frontend without a limit answers all at once');

# maxconnrate limits every frontend together
my $g = Test::Luaproxy->new(timeout => 60);
$g->write_file('lp.cfg', config($g, '    maxconnrate 5', 8090));
$g->run;
sleep 1.1;
my @w = burst($g->port(8091), 15);
is(shape(@w), '5 to 12 early, the last after 1.8 s',
    'maxconnrate 5: the frontend without its own limit too');

for my $c (["global\n    maxconnrate x\n", "'x' is not a valid integer"],
    ["global\n    maxsessrate -1\n", "'-1' is out of range"],
    ["frontend f\n    rate-limit sessions\n", 'rate-limit sessions'],
    ["frontend f\n    rate-limit connections 3\n", 'rate-limit'],
    ["backend b\n    rate-limit sessions 3\n", 'rate-limit sessions']) {
    my ($rc, $out) = $t->check_config($c->[0], 'bad.cfg');
    my ($line) = $c->[0] =~ /\n\s*(.*)\n/;
    ok($rc != 0 && $out =~ /bad\.cfg:2: .*\Q$c->[1]\E/, "bad: $line")
        or diag($out);
}

SKIP: {
    skip("no haproxy at $haproxy", 2) unless -x $haproxy;
    $t->write_file('ha.cfg', config($t, '', 8180));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180), $t->port(8181));
    my %ha = outcomes($t, 8180);
    is_deeply(\%lp, \%ha, 'HAProxy: the same') or diag(explain(\%ha));
    $t->write_file('hag.cfg', config($t, '    maxconnrate 5', 8190));
    $t->run_haproxy($haproxy, 'hag.cfg', $t->port(8190), $t->port(8191));
    sleep 1.1;
    is(shape(burst($t->port(8191), 15)), '5 to 12 early, the last after 1.8 s',
        'HAProxy: maxconnrate');
}

$g->finish;
$t->done_testing;

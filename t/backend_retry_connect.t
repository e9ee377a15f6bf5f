#!/usr/bin/perl
# Connection retries in HTTP and TCP mode, as HAProxy makes them: a
# connect that times out is tried again at once, one that is refused after
# the turn-around delay (timeout connect, one second at most) when it goes
# to the same server; "option redispatch" goes to another without
# waiting. When none is left: 503 sC / SC in HTTP, the connection closed
# in TCP, the retries counted in the log. HAProxy on the same
# configuration gives the same answers, timings and log fields.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new;
my $dir = $t->testdir;

# A server that never answers a connect: a listener with a full backlog
# (the kernel drops the SYNs that follow).
my $hole = IO::Socket::IP->new(LocalHost => '127.0.0.1',
    LocalPort => $t->port(8093), ReuseAddr => 1, Proto => 'tcp')
    or die "hole: $@";
listen($hole, 0) or die "listen: $!";
my @fill = map {
    IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $t->port(8093),
        Blocking => 0)
} 1 .. 3;
$t->port(8094); # refuses: nothing listens there
$t->http_origin(8091, sub { [200, [], 'alive'] });

sub config {
    my ($who, $base) = @_;
    my %p = map { $_ => $t->port($_) } 8091, 8093, 8094;
    my %b = map { $_ => $t->port($base + $_) } 0 .. 3;
    my $backends = sub {
        my ($pre) = @_;
        return <<"B";
    retries 2
    server s1 127.0.0.1:$p{8093}
backend ${pre}refused
    retries 2
    server s1 127.0.0.1:$p{8094}
backend ${pre}redisp
    retries 1
    option redispatch 2
    server dead 127.0.0.1:$p{8094}
    server alive 127.0.0.1:$p{8091}
B
    };
    return <<"CFG" . $backends->('') . <<"CFG2" . $backends->('t');
defaults
    mode http
    log stderr local0
    option httplog
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$b{0}
    use_backend refused if { path_beg /refused }
    use_backend redisp if { path_beg /redisp }
    default_backend hole
backend hole
CFG
frontend tcp_hole
    mode tcp
    option tcplog
    bind 127.0.0.1:$b{1}
    default_backend thole
frontend tcp_refused
    mode tcp
    option tcplog
    bind 127.0.0.1:$b{2}
    default_backend trefused
frontend tcp_redisp
    mode tcp
    option tcplog
    bind 127.0.0.1:$b{3}
    default_backend tredisp
defaults
    mode tcp
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
backend thole
CFG2
}

# How long an answer took, in turn-arounds of 300 ms: HAProxy's timers
# make it three attempts (0.9 s), two waits (0.6 s) or none.
sub took {
    my ($secs) = @_;
    return $secs >= 0.85 ? '3 attempts' : $secs >= 0.55 ? '2 waits'
        : $secs < 0.25 ? 'at once' : "odd ($secs s)";
}

# The fields of the last log line of <frontend> in <log>: the status
# (HTTP), the termination state and the retries.
sub logged {
    my ($log, $fe) = @_;
    open(my $fh, '<', "$dir/$log") or return 'no log';
    my ($l) = reverse grep { /\] \Q$fe\E / } <$fh>;
    return 'none' unless defined $l;
    my ($st, $term) = $l =~ m{ (\d{3}) \d+ - - (\S{4}) };
    ($term) = $l =~ m{ \d+ (\S\S) \d+/} unless defined $term;
    my ($rc) = $l =~ m{ \d+/\d+/\d+/\d+/(\+?\d+) \d+/\d+};
    return join(' ', grep { defined } $st, $term, $rc);
}

sub outcomes {
    my ($base, $log) = @_;
    my %o;
    for my $path (qw(/hole /refused /redisp)) {
        my $t0 = time;
        my $r = $t->http_get($t->port($base), $path);
        $o{"http $path"} = join(' ', $r->{status} // 'none',
            $r->{status} && $r->{status} == 200 ? $r->{body} : (),
            took(time - $t0));
        sleep 0.2;
        $o{"http $path: log"} = logged($log, 'fe');
    }
    for my $i (1 .. 3) {
        my $name = (qw(x hole refused redisp))[$i];
        my $t0 = time;
        my $r = $t->http_get($t->port($base + $i), '/');
        $o{"tcp $name"} = join(' ',
            $r->{status} ? "$r->{status} $r->{body}" : 'closed',
            took(time - $t0));
        sleep 0.2;
        $o{"tcp $name: log"} = logged($log, "tcp_$name");
        # the start-up probe of the port may have taken the dead server's
        # round-robin turn (in HAProxy too): retried once or not at all
        $o{"tcp $name: log"} =~ s/ (?:0|\+1)$/ 0 or +1/ if $name eq 'redisp';
    }
    return %o;
}

$t->write_file('lp.cfg', config('lp', 8100));
$t->run;
my %lp = outcomes(8100, 'stderr.log');
is_deeply(\%lp, {
    'http /hole' => '503 3 attempts',
    'http /hole: log' => '503 sC-- 2',
    'http /refused' => '503 2 waits',
    'http /refused: log' => '503 SC-- 2',
    'http /redisp' => '200 alive at once',
    'http /redisp: log' => '200 ---- +1',
    'tcp hole' => 'closed 3 attempts',
    'tcp hole: log' => 'sC 2',
    'tcp refused' => 'closed 2 waits',
    'tcp refused: log' => 'SC 2',
    'tcp redisp' => '200 alive at once',
    'tcp redisp: log' => '-- 0 or +1',
}, 'timed-out and refused connects retried, redispatched at once')
    or diag(explain(\%lp));

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', 8200));
    $t->run_haproxy($haproxy, 'ha.cfg', map { $t->port(8200 + $_) } 0 .. 3);
    my %ha = outcomes(8200, 'haproxy.log');
    is_deeply(\%lp, \%ha, 'HAProxy: the same') or diag(explain(\%ha));
}

# "option redispatch <interval>" is taken, 0 and words are not
for my $c (['2', 0], ['-1', 0], ['0', 1], ['x', 1]) {
    my ($rc, $out) = $t->check_config("backend b\n    option redispatch "
        . "$c->[0]\n    server s 127.0.0.1:1\n", 'bad.cfg');
    ok($c->[1] ? $rc != 0 && $out =~ /bad\.cfg:2: / : $rc == 0,
        "option redispatch $c->[0]: " . ($c->[1] ? 'refused' : 'taken'))
        or diag($out);
}

close $_ for grep { defined } @fill;
$t->done_testing;

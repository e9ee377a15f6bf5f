#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Proxy options that HAProxy configurations commonly carry:
# - option clitcpka / srvtcpka / tcpka with clitcpka-* and srvtcpka-*:
#   TCP keep-alive on the client and server sockets, its idle time as
#   ss(8) shows the timer;
# - option nolinger: the connection ends with a reset, leaving no
#   TIME_WAIT behind;
# - option dontlog-normal: only failed streams are logged, and option
#   log-separate-errors logs them at "err";
# - http-send-name-header: the server's name replaces the header;
# - option abortonclose: accepted; a queued request whose client shut its
#   side is still served, as HAProxy 2.6 does with HTTP/1 clients;
# - option http-pretend-keepalive: no "Connection: close" to the server
#   under http-server-close;
# - option prefer-last-server: accepted; a keep-alive client's requests
#   are balanced as without it, as by HAProxy 2.6.
# HAProxy on the same configuration gives the same outcomes.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Errno qw(EAGAIN EINTR);
use IO::Select;
use Test::More;
use Test::Luaproxy qw(syslog_sink syslog_drain syslog_next);
use Time::HiRes qw(time);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $ss = (grep { -x } map { "$_/ss" } qw(/usr/bin /bin /usr/sbin /sbin))[0];
my $t = Test::Luaproxy->new(timeout => 60);
my %udp = map { $_ => syslog_sink() } qw(lp ha);

# <who>'s configuration; its ports start at <base>.
sub config {
    my ($who, $base) = @_;
    my ($ka, $quiet, $nl, $tcp, $aoc, $sc) = map { $t->port($base + $_) } 0 .. 5;
    my ($slow, $echo) = ($t->port(8093), $t->port(8094));
    my ($o, $dead) = ($t->port(8091), $t->port(8092));
    my $uport = $udp{$who}->sockport;
    return <<"CFG";
global
    nbthread 1
    log 127.0.0.1:$uport local0
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend ka
    bind 127.0.0.1:$ka
    option clitcpka
    clitcpka-idle 50s
    clitcpka-intvl 7s
    clitcpka-cnt 4
    default_backend kab
backend kab
    option srvtcpka
    srvtcpka-idle 40s
    http-send-name-header X-Srv
    server s1 127.0.0.1:$o
frontend quiet
    bind 127.0.0.1:$quiet
    log global
    log-format "%ST %tsc %r"
    option dontlog-normal
    option log-separate-errors
    http-request return status 200 if { path /ok }
    http-request deny if { path /deny }
    default_backend dead
backend dead
    server d 127.0.0.1:$dead
frontend nl
    bind 127.0.0.1:$nl
    option nolinger
    http-request return status 200 content-type text/plain string hi
frontend aoc
    bind 127.0.0.1:$aoc
    log global
    log-format "%ST %tsc %r"
    use_backend abort if { path_beg /a/ }
    default_backend keep
backend abort
    option abortonclose
    timeout queue 5s
    server s 127.0.0.1:$slow maxconn 1
backend keep
    timeout queue 5s
    server s 127.0.0.1:$slow maxconn 1
frontend sc
    bind 127.0.0.1:$sc
    option http-server-close
    use_backend pretend if { path_beg /p }
    use_backend last if { path_beg /l }
    default_backend plain
backend pretend
    option http-pretend-keepalive
    server e 127.0.0.1:$echo
backend plain
    server e 127.0.0.1:$echo
backend last
    balance roundrobin
    option prefer-last-server
    server a 127.0.0.1:$o
    server e 127.0.0.1:$echo
listen tcpka
    mode tcp
    bind 127.0.0.1:$tcp
    option tcpka
    server s1 127.0.0.1:$o
CFG
}

# The origin answers the X-Srv header it got.
$t->http_origin(8091, sub {
    return [200, [], 'srv=' . ($_[0]{headers}{'x-srv'} // '-')];
});
$t->port(8092); # stays closed
# An origin telling the Connection header it got.
$t->http_origin(8094, sub {
    return [200, [], 'conn=' . ($_[0]{headers}{connection} // '-')];
});

# A slow origin with one slot: what waits behind it is queued.
$t->http_origin(8093, sub {
    select(undef, undef, undef, 0.8);
    return [200, [], 'slow'];
});

# A request held in the queue of <prefix>'s single slot while its client
# shuts its side: "answer | log line of the held one".
sub half_closed {
    my ($who, $port, $prefix) = @_;
    my $first = $t->http_hold($port, "$prefix/first");
    select(undef, undef, undef, 0.2);
    my $held = $t->http_hold($port, "$prefix/held");
    select(undef, undef, undef, 0.2);
    shutdown($held, 1);
    my @r = $t->http_read_many([$first, $held], timeout => 5);
    my @log = sort map { syslog_next($udp{$who}, 3) } 1 .. 2;
    return join(' | ', $r[1]{status} // 'no answer', grep { /held/ } @log);
}

# The keep-alive timer ss shows for the socket on <port> whose peer port
# is <peer> (local end when <local>, else the remote end), rounded to
# tens of seconds, or to ten minutes from ten minutes on (ss counts those
# in whole minutes, so the same timer may show 119 or 120):
# "keepalive ~50s", or "none".
sub ka_timer {
    my ($filter) = @_;
    my $out = `$ss -Htno state established '$filter' 2>&1`;
    return 'none' unless
        $out =~ /timer:\(keepalive,(?:(\d+)min)?(?:(\d+)(?:\.\d+)?(m?sec))?/;
    my $secs = ($1 // 0) * 60 + (($3 // '') eq 'msec' ? $2 / 1000 : $2 // 0);
    my $unit = $secs >= 600 ? 600 : 10;
    return 'keepalive ~' . int(($secs + $unit / 2) / $unit) * $unit . 's';
}

# A keep-alive request on the ka frontend: the client socket's timer and
# the server connection's, and what the origin saw.
sub keepalive_case {
    my ($port) = @_;
    my $s = $t->http_keepalive($port);
    my $r = $s->get('/', headers => ['X-Srv' => 'fake']);
    my $cport = $s->{sock}->sockport;
    my %o = (
        'send-name-header' => $r ? $r->{body} : 'none',
        'clitcpka' => ka_timer("( sport = :$port and dport = :$cport )"),
        'srvtcpka' => ka_timer('( dport = :' . $t->port(8091) . ' )'),
    );
    $s->close;
    return %o;
}

# The TCP listener with option tcpka: both sides.
sub tcp_case {
    my ($port) = @_;
    my $s = $t->http_keepalive($port);
    $s->get('/');
    my $cport = $s->{sock}->sockport;
    my $r = ka_timer("( sport = :$port and dport = :$cport )");
    $s->close;
    return $r;
}

# What a Connection: close exchange on <port> leaves on the server's side:
# "time-wait" (a normal close) or "nothing" (a reset, option nolinger).
sub close_trace {
    my ($port) = @_;
    my $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $port, Proto => 'tcp') or return 'no connection';
    syswrite($sock, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    my ($buf, $deadline, $sel) = ('', time + 5, IO::Select->new($sock));
    while (time < $deadline) {
        next unless $sel->can_read($deadline - time);
        my $n = sysread($sock, $buf, 4096, length $buf);
        next if !defined $n && ($! == EAGAIN || $! == EINTR);
        last unless $n;
    }
    my $cport = $sock->sockport;
    # our FIN comes after the server's close: what it leaves is its own
    select(undef, undef, undef, 0.3);
    close $sock;
    select(undef, undef, undef, 0.3);
    my $out = `$ss -Htn state time-wait '( sport = :$port and dport = :$cport )'`;
    return $out =~ /\S/ ? 'time-wait' : 'nothing';
}

sub logged {
    my ($who, $port, $path) = @_;
    $t->http_get($port, $path);
    return syslog_next($udp{$who}, 1);
}

sub outcomes {
    my ($who, $base) = @_;
    my %o = keepalive_case($t->port($base));
    if (!$ss) {
        delete @o{qw(clitcpka srvtcpka)};
    } else {
        $o{'tcpka'} = tcp_case($t->port($base + 3));
    }
    if ($ss) {
        $o{'nolinger'} = close_trace($t->port($base + 2));
        $o{'no nolinger'} = close_trace($t->port($base));
    }
    my $q = $t->port($base + 1);
    $o{'dontlog-normal: 200'} = logged($who, $q, '/ok');
    $o{'dontlog-normal: deny'} = logged($who, $q, '/deny');
    $o{'dontlog-normal: 503'} = logged($who, $q, '/down');
    $o{'abortonclose'} = half_closed($who, $t->port($base + 4), '/a');
    $o{'no abortonclose'} = half_closed($who, $t->port($base + 4), '/k');
    my $sc = $t->port($base + 5);
    $o{'pretend-keepalive'} = $t->http_get($sc, '/p')->{body} // 'none';
    $o{'no pretend-keepalive'} = $t->http_get($sc, '/x')->{body} // 'none';
    my $s = $t->http_keepalive($sc);
    $o{'prefer-last-server'} = join(' ', map {
        my $r = $s->get('/l');
        $r && $r->{body} =~ /^(\w+)=/ ? $1 : 'none';
    } 1 .. 4);
    $s->close;
    return %o;
}

$t->write_file('lp.cfg', config('lp', 8080));
$t->run;
syslog_drain($udp{lp});
my %lp = outcomes('lp', 8080);

is($lp{'send-name-header'}, 'srv=s1', 'http-send-name-header replaces the header');
SKIP: {
    skip('no ss(8)', 5) unless $ss;
    is($lp{'clitcpka'}, 'keepalive ~50s', 'clitcpka with clitcpka-idle 50s');
    is($lp{'srvtcpka'}, 'keepalive ~40s', 'srvtcpka with srvtcpka-idle 40s');
    like($lp{'tcpka'}, qr/^keepalive ~\d+s$/, 'option tcpka: the system\'s idle time');
    is($lp{'nolinger'}, 'nothing',
        'option nolinger: closed with a reset, no TIME_WAIT left');
    is($lp{'no nolinger'}, 'time-wait', 'without it, a TIME_WAIT');
}
is($lp{'dontlog-normal: deny'}, '<131>HDR: 403 PR-- GET /deny HTTP/1.1',
    'a denied request is logged, at err with log-separate-errors');
is($lp{'dontlog-normal: 503'}, '<131>HDR: 503 SC-- GET /down HTTP/1.1',
    'a failed one too');
is($lp{'dontlog-normal: 200'}, '<none>', 'a normal request is not logged');

is($lp{'abortonclose'}, '200 | <134>HDR: 200 ---- GET /a/held HTTP/1.1',
    'abortonclose: the half-closed queued request is served, as by HAProxy');
is($lp{'no abortonclose'}, '200 | <134>HDR: 200 ---- GET /k/held HTTP/1.1',
    'and without it');

is($lp{'pretend-keepalive'}, 'conn=-',
    'http-pretend-keepalive: no Connection: close to the server');
is($lp{'no pretend-keepalive'}, 'conn=close', 'without it, http-server-close says close');
like($lp{'prefer-last-server'}, qr/^(srv conn srv conn|conn srv conn srv)$/,
    'prefer-last-server: balanced as without it');

$t->rule_errors(['clitcpka-cnt 0', 'out of range'],
    ['clitcpka-idle soon', 'soon'],
    ['http-send-name-header X', 'not allowed in \'frontend\'']);

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', 8180));
    $t->run_haproxy($haproxy, 'ha.cfg', map { $t->port(8180 + $_) } 0 .. 5);
    syslog_drain($udp{ha});
    my %ha = outcomes('ha', 8180);
    is_deeply(\%lp, \%ha, 'HAProxy: the same outcomes')
        or diag(explain(\%lp, \%ha));
}

$t->done_testing;

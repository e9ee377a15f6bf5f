#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Rules that change the connection as the rest of the stream sees it:
# set-src, set-dst, set-src-port, set-dst-port (http-request,
# tcp-request connection and content): the src/dst fetches, the log's
# %ci/%cp/%fi/%fp and option forwardfor all see the new values, the port
# is kept when only the address changes, an expression giving no address
# changes nothing, and a change by an http-request rule lasts for that
# request only (by tcp-request connection, for the connection). And "http-request reject": the connection closes with no
# answer, logged as PR with status -1. HAProxy on the same configuration
# answers and logs the same.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy qw(syslog_sink syslog_drain syslog_next);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);
my %udp = map { $_ => syslog_sink() } qw(lp ha);

sub config {
    my ($who, $hport, $tport) = @_;
    my $uport = $udp{$who}->sockport;
    my $o = $t->port(8091);
    return <<"CFG";
global
    nbthread 1
    log 127.0.0.1:$uport local0
    stats socket @{[$t->testdir]}/$who.sock level admin
defaults
    log global
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    mode http
    bind 127.0.0.1:$hport
    log-format "%ci:%cp %fi:%fp %ST %tsc %r TR=%TR"
    option forwardfor
    http-request reject if { path /reject }
    http-request set-src hdr(x-ip) if { req.hdr(x-ip) -m found }
    http-request set-src-port hdr(x-port) if { req.hdr(x-port) -m found }
    http-request set-dst hdr(x-dst) if { req.hdr(x-dst) -m found }
    http-request set-dst-port hdr(x-dport) if { req.hdr(x-dport) -m found }
    http-request return status 200 content-type text/plain lf-string "%[src] %[src_port] %[dst] %[dst_port]" unless { path /origin }
    default_backend origin
backend origin
    mode http
    server s 127.0.0.1:$o
listen tcpfe
    mode tcp
    bind 127.0.0.1:$tport
    log-format "%ci:%cp %fi:%fp %ts"
    tcp-request connection set-src ipv4(192.0.2.1)
    tcp-request connection set-dst ipv4(127.0.0.2)
    tcp-request connection set-dst-port int(4242)
    tcp-request content set-src-port int(1)
    server s 127.0.0.1:$o
CFG
}

# The origin tells what X-Forwarded-For it got.
$t->http_origin(8091, sub {
    return [200, [], 'xff=' . ($_[0]{headers}{'x-forwarded-for'} // '-')];
});

$t->write_file('lp.cfg', config('lp', $t->port(8080), $t->port(8081)));
$t->run;
syslog_drain($udp{lp});

my @cases = (
    ['nothing changed', '/', []],
    ['set-src IPv4, the port kept', '/', ['X-Ip' => '10.1.2.3']],
    ['set-src IPv6', '/', ['X-Ip' => '2001:db8::1']],
    ['set-src with a mapped address', '/', ['X-Ip' => '::ffff:10.0.0.1']],
    ['set-src with no address: unchanged', '/', ['X-Ip' => 'garbage']],
    ['set-src-port', '/', ['X-Port' => '1234']],
    ['set-src and its port', '/', ['X-Ip' => '10.1.2.3', 'X-Port' => '7']],
    ['set-dst', '/', ['X-Dst' => '192.0.2.9']],
    ['set-dst-port', '/', ['X-Dport' => '99']],
    ['the last X-Ip value', '/', ['X-Ip' => '10.1.2.3, 10.9.9.9']],
    ['option forwardfor sends the new source', '/origin',
        ['X-Ip' => '10.4.4.4']],
);

# The next log line; a request time that is not -1 is "TR=N".
sub log_line {
    my $l = syslog_next($udp{ $_[0] });
    $l =~ s/ TR=\d+$/ TR=N/;
    return $l;
}

# "status body | log line", ports of our own sockets hidden.
sub ask {
    my ($who, $port, $path, $hdrs) = @_;
    my $r = $t->http_get($port, $path, headers => $hdrs);
    my $body = $r->{body} // '';
    $body =~ s/^(127\.0\.0\.1) \d+/$1 PORT/;
    return ($r->{status} // 'none') . " $body | " . log_line($who);
}

# Two requests on one connection: the second one sends no X-Ip.
sub keepalive {
    my ($who, $port) = @_;
    my $s = $t->http_keepalive($port);
    my @b = map { $_ ? $_->{body} : 'none' }
        $s->get('/', headers => ['X-Ip' => '10.5.5.5']), $s->get('/');
    $s->close;
    log_line($who) for 1 .. 2;
    s/ \d+ / PORT / for @b;
    return join(' / ', @b);
}

# What a client of the TCP listener sees of the origin, and the log.
sub tcp_case {
    my ($who, $port) = @_;
    my $r = $t->http_get($port, '/origin');
    return ($r->{body} // 'none') . ' | ' . log_line($who);
}

sub reject_case {
    my ($who, $port) = @_;
    my $r = $t->http_get($port, '/reject');
    my $log = log_line($who);
    return ($r->{status} // 'no answer')
        . ($r->{closed} ? ', closed' : ', open') . " | $log | dreq="
        . ($t->show_stat("$who.sock")->{'fe/FRONTEND'}{dreq} // 'none');
}

sub outcomes {
    my ($who, $hport, $tport) = @_;
    my %o = map { $_->[0] => ask($who, $hport, @$_[1, 2]) } @cases;
    $o{'keep-alive'} = keepalive($who, $hport);
    $o{'tcp-request connection and content'} = tcp_case($who, $tport);
    $o{'http-request reject'} = reject_case($who, $hport);
    return %o;
}

my %lp = outcomes('lp', $t->port(8080), $t->port(8081));
my $fe = '127.0.0.1:PORT';
is($lp{'nothing changed'}, "200 127.0.0.1 PORT 127.0.0.1 "
    . $t->port(8080) . " | <134>HDR: $fe $fe 200 LR-- GET / HTTP/1.1 TR=N",
    'no rule: the real addresses');
like($lp{'set-src IPv4, the port kept'},
    qr{^200 10\.1\.2\.3 (\d+) 127\.0\.0\.1 \d+ \| <134>HDR: 10\.1\.2\.3:\1 },
    'set-src: src and %ci, the port kept');
like($lp{'set-src IPv6'}, qr{^200 2001:db8::1 \d+ .*HDR: 2001:db8::1:\d+ },
    'set-src with an IPv6 address');
like($lp{'set-src with no address: unchanged'}, qr{^200 127\.0\.0\.1 PORT },
    'no address: src unchanged');
like($lp{'set-src and its port'}, qr{^200 10\.1\.2\.3 7 .*HDR: 10\.1\.2\.3:7 },
    'set-src then set-src-port');
like($lp{'set-dst'}, qr{^200 127\.0\.0\.1 PORT 192\.0\.2\.9 \d+ .*HDR: \S+ 192\.0\.2\.9:\d+ },
    'set-dst: dst and %fi');
like($lp{'set-dst-port'}, qr{^200 \S+ PORT 127\.0\.0\.1 99 },
    'set-dst-port');
like($lp{'option forwardfor sends the new source'}, qr{^200 xff=10\.4\.4\.4 },
    'option forwardfor sends the new source');
is($lp{'keep-alive'}, '10.5.5.5 PORT 127.0.0.1 ' . $t->port(8080)
    . ' / 127.0.0.1 PORT 127.0.0.1 ' . $t->port(8080),
    'the next request on the connection has its real address again');
like($lp{'tcp-request connection and content'},
    qr{^xff=- \| <134>HDR: 192\.0\.2\.1:1 127\.0\.0\.2:4242 --$},
    'tcp-request connection set-src and set-dst-port, content set-src-port');
like($lp{'http-request reject'},
    qr{^no answer, closed \| <134>HDR: \S+ \S+ -1 PR-- GET /reject HTTP/1\.1 TR=-1 \| dreq=1$},
    'reject: closed without an answer, logged PR, status and TR -1, in dreq');

$t->rule_errors(['http-request set-src', "'set-src' expects a sample"],
    ['http-request set-dst nosuchfetch', 'nosuchfetch'],
    ['http-request reject now', "unexpected word 'now'"],
    ['http-response reject', 'reject']);

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180), $t->port(8181)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180), $t->port(8181));
    syslog_drain($udp{ha});
    my %ha = outcomes('ha', $t->port(8180), $t->port(8181));
    # the port numbers of the two servers' listeners differ
    my ($p1, $p2) = ($t->port(8080), $t->port(8180));
    for (values %lp, values %ha) {
        s/\b(?:$p1|$p2)\b/FPORT/g;
        s/\b(?:3[2-9]\d{3}|[45]\d{4}|60\d{3})\b/EPHEMERAL/g;
    }
    is_deeply(\%lp, \%ha, 'HAProxy: the same answers and log lines')
        or diag(explain(\%lp, \%ha));
}

$t->done_testing;

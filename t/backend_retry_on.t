#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Layer-7 retries: "retry-on" sends a request that a server saw again
# when it answered with a status named, closed without answering
# (empty-response), answered garbage (junk-response) or never answered
# (response-timeout); with "retries 1" and "option redispatch" the second
# attempt goes to the other server, and the client only sees its answer.
# The log counts the retry (%rc "+1", no failure in the termination
# state) and so do the statistics (wretr, wredis). Not retried: a status
# not named, a request whose body is larger than a buffer, a request for
# which "http-request disable-l7-retry" ran; without conn-failure in the
# list a refused connection is not retried either. HAProxy answers, logs
# and counts the same. Bad keywords are configuration errors.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy qw(syslog_sink syslog_drain syslog_next);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 90);
my $dir = $t->testdir;
my %udp = map { $_ => syslog_sink() } qw(lp ha);

# 8091 fails as its path says, 8092 answers well, 8093 accepts (in its
# backlog) and never answers, 8094 refuses.
my ($bad, $good, $mute, $shut) = map { $t->port($_) } 8091 .. 8094;

# backend => [retry-on line, s1, s2]: each backend takes one request, so
# that round robin gives it to s1 first.
my %backends = (
    b503 => ['retry-on 503', $bad, $good],
    b504 => ['retry-on 503 504', $bad, $good],
    b500 => ['retry-on 503', $bad, $good],
    same => ["retry-on 503\n    no option redispatch", $bad, $good],
    mid => ['retry-on 503', $bad, $good],
    chunked => ['retry-on 503', $bad, $good],
    dflt => ['', $bad, $good],
    big => ['retry-on 503', $bad, $good],
    both => ['retry-on 503', $bad, $bad],
    close => ['retry-on empty-response', $bad, $good],
    junk => ['retry-on junk-response', $bad, $good],
    part => ['retry-on empty-response', $bad, $good],
    mute => ["retry-on response-timeout\n    timeout server 300ms", $mute,
        $good],
    nol7 => ['retry-on all-retryable-errors', $bad, $good],
    noconn => ['retry-on 503', $shut, $good],
    connfail => ['', $shut, $good],
);

sub config {
    my ($who, $port) = @_;
    my $uport = $udp{$who}->sockport;
    my $be = join('', map { <<"BE" } sort keys %backends);
backend $_
    $backends{$_}[0]
    server s1 127.0.0.1:$backends{$_}[1]
    server s2 127.0.0.1:$backends{$_}[2]
BE
    return <<"CFG";
global
    nbthread 1
    tune.bufsize 16384
    log 127.0.0.1:$uport local0
    stats socket $dir/$who.sock level admin
defaults
    mode http
    log global
    log-format "%ST %tsc %b/%s %rc %r"
    balance roundrobin
    retries 1
    option redispatch
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$port
    http-request disable-l7-retry if { path_beg /nol7 }
    use_backend %[path,field(2,/)]
$be
defaults
    mode http
    log global
    log-format "%ST %tsc %b/%s %rc %r"
    retry-on 503
    retries 1
    option redispatch
    timeout connect 1s
    timeout client 5s
    timeout server 5s
backend inherit
    server s1 127.0.0.1:$bad
    server s2 127.0.0.1:$good
CFG
}

$t->http_origin(8091, sub {
    my ($req) = @_;
    my ($what) = $req->{uri} =~ m{/(\w+)$};
    return '' if $what eq 'close';
    return "HTTP/1.1 200 OK\r\nContent-Le" if $what eq 'part';
    return "junk\r\n\r\n" if $what eq 'junk';
    return [$what, [], "bad $what"];
}, log => 'bad.log');
$t->http_origin(8092, sub {
    my ($req) = @_;
    my $b = $req->{body};
    return [200, [], "good $req->{method} $req->{uri} " . length($b)
        . ($b eq '' ? '' : ' sum ' . unpack('%32C*', $b))];
});
my $mute_sock = $t->listen_socket(8093);

sub ask {
    my ($who, $port, $method, $uri, $body) = @_;
    my %o = (method => $method, timeout => 8);
    $o{body} = $body if defined $body;
    my $r = $t->http_get($port, $uri, %o);
    return join(' | ', $r->{status} // 'none', $r->{body} // '',
        syslog_next($udp{$who}));
}

sub ask_raw {
    my ($who, $port, $bytes) = @_;
    my $r = $t->http($port, $bytes, timeout => 8);
    return join(' | ', $r->{status} // 'none', $r->{body} // '',
        syslog_next($udp{$who}));
}

my $mid = join('', map { chr(32 + $_ % 90) } 1 .. 8000);
my $midsum = unpack('%32C*', $mid);

sub outcomes {
    my ($who, $port) = @_;
    my %out = (
        503 => ask($who, $port, 'GET', '/b503/503'),
        '504, POST' => ask($who, $port, 'POST', '/b504/504', 'hello'),
        '500 not named' => ask($who, $port, 'GET', '/b500/500'),
        'no redispatch' => ask($who, $port, 'GET', '/same/503'),
        'body of 8000' => ask($who, $port, 'POST', '/mid/503', $mid),
        chunked => ask_raw($who, $port, "POST /chunked/503 HTTP/1.1\r\n"
            . "Host: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            . "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
        'no retry-on' => ask($who, $port, 'GET', '/dflt/503'),
        'from defaults' => ask($who, $port, 'GET', '/inherit/503'),
        'big body' => ask($who, $port, 'POST', '/big/503', 'x' x 100000),
        'both fail' => ask($who, $port, 'GET', '/both/503'),
        close => ask($who, $port, 'GET', '/close/close'),
        junk => ask($who, $port, 'GET', '/junk/junk'),
        part => ask($who, $port, 'GET', '/part/part'),
        timeout => ask($who, $port, 'GET', '/mute/x'),
        'disable-l7-retry' => ask($who, $port, 'GET', '/nol7/503'),
        'no conn-failure' => ask($who, $port, 'GET', '/noconn/x'),
        'conn-failure' => ask($who, $port, 'GET', '/connfail/x'),
    );
    my $st = $t->show_stat("$who.sock");
    $out{stats} = join(' ', map {
        "$_=" . ($st->{"$_/BACKEND"}{wretr} // '?') . '/'
            . ($st->{"$_/BACKEND"}{wredis} // '?')
    } sort keys %backends);
    return %out;
}

$t->write_file('lp.cfg', config('lp', $t->port(8080)));
$t->run;
syslog_drain($udp{lp});
my %lp = outcomes('lp', $t->port(8080));
my $l = '<134>HDR: ';
sub retried {
    my ($uri, $be, $method) = @_;
    $method //= 'GET';
    my $n = $method eq 'POST' ? '5 sum ' . unpack('%32C*', 'hello') : 0;
    return "200 | good $method $uri $n | ${l}200 ---- $be/s2 +1 "
        . "$method $uri HTTP/1.1";
}
is($lp{503}, retried('/b503/503', 'b503'), '503: the second server answers');
is($lp{'504, POST'}, retried('/b504/504', 'b504', 'POST'),
    'a POST is sent again, its body too');
is($lp{'no redispatch'}, "503 | bad 503 | ${l}503 ---- same/s1 1 "
    . 'GET /same/503 HTTP/1.1', 'without redispatch, the same server again');
is($lp{'body of 8000'}, "200 | good POST /mid/503 8000 sum $midsum | ${l}200 "
    . '---- mid/s2 +1 POST /mid/503 HTTP/1.1', 'a body of 8000 bytes, whole');
is($lp{chunked}, "200 | good POST /chunked/503 11 sum "
    . unpack('%32C*', 'hello world') . " | ${l}200 ---- chunked/s2 +1 "
    . 'POST /chunked/503 HTTP/1.1', 'a chunked body, whole');
is($lp{'500 not named'}, "500 | bad 500 | ${l}500 ---- b500/s1 0 "
    . 'GET /b500/500 HTTP/1.1', 'a status not named is not retried');
is($lp{'no retry-on'}, "503 | bad 503 | ${l}503 ---- dflt/s1 0 "
    . 'GET /dflt/503 HTTP/1.1', 'by default, a 503 is not retried');
is($lp{'from defaults'}, retried('/inherit/503', 'inherit'),
    'retry-on comes from the defaults section');
is($lp{'big body'}, "503 | bad 503 | ${l}503 ---- big/s1 0 "
    . 'POST /big/503 HTTP/1.1', 'a body larger than a buffer: no retry');
is($lp{'both fail'}, "503 | bad 503 | ${l}503 ---- both/s2 +1 "
    . 'GET /both/503 HTTP/1.1', 'retries run out: the last answer passes');
is($lp{close}, retried('/close/close', 'close'), 'empty-response');
is($lp{junk}, retried('/junk/junk', 'junk'), 'junk-response');
is($lp{part}, retried('/part/part', 'part'),
    'a part of a head, then a close: empty-response');
is($lp{timeout}, retried('/mute/x', 'mute'), 'response-timeout');
is($lp{'disable-l7-retry'}, "503 | bad 503 | ${l}503 ---- nol7/s1 0 "
    . 'GET /nol7/503 HTTP/1.1', 'disable-l7-retry');
like($lp{'no conn-failure'}, qr{^503 \| .* \| ${l}503 SC-- noconn/s1 0 }s,
    'retry-on without conn-failure: a refused connection is not retried');
is($lp{'conn-failure'}, "200 | good GET /connfail/x 0 | ${l}200 ---- "
    . 'connfail/s2 +1 GET /connfail/x HTTP/1.1', 'by default, it is');
is($lp{stats}, 'b500=0/0 b503=1/1 b504=1/1 big=0/0 both=1/1 chunked=1/1 '
    . 'close=1/1 connfail=0/1 dflt=0/0 junk=1/1 mid=1/1 mute=1/1 noconn=0/0 '
    . 'nol7=0/0 part=1/1 same=2/0',
    'wretr and wredis count the retries as HAProxy');
my @bad = $t->origin_requests('bad.log');
is(scalar(grep { $_->{uri} eq '/b504/504' && $_->{body} eq 'hello' } @bad),
    1, 'the failed server saw the POST and its body once');

# bad keywords
for my $case (['retry-on 503 bogus', qr/bad\.cfg:2: .*'bogus'/],
        ['retry-on 418', qr/bad\.cfg:2: .*'418'/],
        ['retry-on none 503', qr/bad\.cfg:2: .*'none'/],
        ['retry-on', qr/bad\.cfg:2: /]) {
    my ($rc, $out) = $t->check_config(<<"CFG", 'bad.cfg');
backend b
    $case->[0]
    server s1 127.0.0.1:1
CFG
    ok($rc != 0 && $out =~ $case->[1], "'$case->[0]' refused") or diag($out);
}
my ($rc, $out) = $t->check_config(<<'CFG', 'ok.cfg');
defaults
    retry-on all-retryable-errors 401 403 404 408 425 500 501 0rtt-rejected
backend b
    retry-on none
    server s1 127.0.0.1:1
CFG
is($rc, 0, 'every keyword of HAProxy 2.6 is accepted') or diag($out);

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    syslog_drain($udp{ha});
    my %ha = outcomes('ha', $t->port(8180));
    is_deeply(\%lp, \%ha, 'HAProxy: the same answers, log lines and counts')
        or diag(explain(\%lp, \%ha));
}

close $mute_sock;
$t->done_testing;

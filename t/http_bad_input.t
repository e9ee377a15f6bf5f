#!/usr/bin/perl
# Bad HTTP input gets the right status, the connection closes, nothing bad
# reaches the server, and the worker goes on serving: smuggling attempts,
# malformed heads, limits, slow clients, and servers that misbehave.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new;
$t->write_file_expand('lp.cfg', <<'EOF2');
global
    nbproc 1
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 1s
    timeout http-request 1s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    http-request return status 200 content-type text/plain string ok if { path /local }
    use_backend silent if { path /silent }
    use_backend broken if { path_beg /broken }
    default_backend origin
frontend probes
    bind 127.0.0.1:%%PORT_8081%%
    option http-ignore-probes
    http-request return status 200
backend origin
    server o1 127.0.0.1:%%PORT_8091%%
backend silent
    server s1 127.0.0.1:%%PORT_8092%%
backend broken
    server b1 127.0.0.1:%%PORT_8093%%
EOF2

# The origin: echoes the request line; logs what it received.
$t->http_origin(8091, sub {
    my ($req) = @_;
    return [200, ['content-type' => 'text/plain'], "origin saw $req->{uri}\n"];
}, log => 'origin.log');

# A server that accepts and never answers.
my $silent = $t->listen_socket(8092);
$t->run_daemon(sub {
    my @held;
    while (my $c = $silent->accept) { push @held, $c }
});
close $silent;

# A server that answers garbage or closes mid-body, by path.
my $broken = $t->listen_socket(8093);
$t->run_daemon(sub {
    while (my $c = $broken->accept) {
        my $buf = '';
        while ($buf !~ /\r\n\r\n/) {
            my $n = sysread($c, $buf, 4096, length $buf) or last;
        }
        if ($buf =~ m{GET /broken/garbage}) {
            print $c "HTTP/1.1 2OO Fine\r\nContent-Length: 2\r\n\r\nok";
        } elsif ($buf =~ m{GET /broken/cl-short}) {
            print $c "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-part";
        } elsif ($buf =~ m{GET /broken/chunk-cut}) {
            print $c "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                . "5\r\nhello\r\n";
        } elsif ($buf =~ m{GET /broken/smuggle}) {
            print $c "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                . "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        }
        close $c;
    }
});
close $broken;

$t->run;
my $port = $t->port(8080);

# [name, raw request, expected status]
my @bad = (
    ['CL and TE together', "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
    ['two different CL', "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400],
    ['negative CL', "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400],
    ['TE chunked twice', "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400],
    ['TE gzip alone', "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400],
    ['TE gzip, chunked', "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501],
    ['TE on HTTP/1.0', "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
    ['space before colon', "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400],
    ['bad chunk size', "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400],
    ['space in header name', "GET / HTTP/1.1\r\nHost: a\r\nFoo Bar: x\r\n\r\n", 400],
    ['line without colon', "GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n", 400],
    ['NUL in value', "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 400],
    ['obs-fold', "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n", 400],
    ['HTTP/1.1 without Host', "GET / HTTP/1.1\r\n\r\n", 400],
    ['two different Host', "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
    ['HTTP/2.0 request line', "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505],
    ['bad method char', "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ['URI of 16000 bytes', "GET /" . ('a' x 16000) . " HTTP/1.1\r\nHost: a\r\n\r\n", 414],
    ['header of 16000 bytes', "GET / HTTP/1.1\r\nHost: a\r\nX: " . ('a' x 16000) . "\r\n\r\n", 431],
    ['CONNECT', "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 405],
    ['102 header fields', "GET / HTTP/1.1\r\nHost: a\r\n" . join('', map { "X$_: v\r\n" } 1 .. 101) . "\r\n", 431],
);

my @good = (
    ['bare LF line endings', "GET /local HTTP/1.1\nHost: a\n\n", 200],
    ['101 header fields', "GET /local HTTP/1.1\r\nHost: a\r\n" . join('', map { "X$_: v\r\n" } 1 .. 100) . "\r\n", 200],
    ['identical CL twice', "POST /local HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 200],
);

$t->plan(3 * @bad + @good + 29);

for my $c (@bad) {
    my ($name, $req, $status) = @$c;
    my $r = $t->raw_request($port, $req, timeout => 3);
    like($r->{data}, qr{^HTTP/1\.1 $status }, "$name: $status");
    ok($r->{closed} || $r->{reset}, "$name: connection closed");
    my $ok = $t->http_get($port, '/local');
    is($ok->{status}, 200, "$name: worker still serves");
}
for my $c (@good) {
    my ($name, $req, $status) = @$c;
    my $r = $t->raw_request($port, $req, timeout => 3,
        until => sub { $_[0] =~ /\r\n\r\nok/ });
    like($r->{data}, qr{^HTTP/1\.1 $status }, "$name: accepted");
}

# Nothing of the bad requests reached the origin.
is(scalar(() = $t->origin_requests('origin.log')), 0,
    'no bad request was forwarded');

# A head split at every byte still parses.
my $req = "GET /split/path?q=1 HTTP/1.1\r\nHost: example\r\nX-Long: abc\r\n\r\n";
my $r = $t->raw_request($port, [split //, $req], delay => 0.001,
    timeout => 5, until => sub { $_[0] =~ /origin saw [^\n]*\n/ });
like($r->{data}, qr{^HTTP/1\.1 200 .*origin saw /split/path\?q=1}s,
    'a head sent one byte at a time is served');
my @seen = $t->origin_requests('origin.log');
is(scalar @seen, 1, 'the split request reached the origin once');
is($seen[0]{headers}{'x-long'}, 'abc', 'with its headers intact');

# A chunked request body goes through to the origin as sent.
$r = $t->raw_request($port, "POST /chunked HTTP/1.1\r\nHost: a\r\n"
    . "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    timeout => 3, until => sub { $_[0] =~ /origin saw [^\n]*\n/ });
like($r->{data}, qr{^HTTP/1\.1 200 }, 'chunked request body: 200');
@seen = $t->origin_requests('origin.log');
is($seen[-1]{body}, "hello world", 'chunked body reached the origin whole');

# Slowloris: one byte per 0.3 s gets 408 at timeout http-request (1 s),
# while another client is served meanwhile.
my $t0 = time;
my $slow = $t->raw_request($port, [split //, "GET / HTTP/1.1\r\nHost: a\r\n"],
    delay => 0.3, timeout => 4);
my $took = time - $t0;
like($slow->{data}, qr{^HTTP/1\.1 408 }, 'slow head: 408');
ok($took >= 0.9 && $took < 3, "slow head: answered at the head timeout ($took s)");
is($t->http_get($port, '/local')->{status}, 200, 'slow head: others served');

# A connection that sends nothing gets 408 at the head timeout, as from
# HAProxy; with "option http-ignore-probes" it is closed silently.
$r = $t->raw_request($port, '', timeout => 4);
like($r->{data}, qr{^HTTP/1\.1 408 }, 'idle new connection: 408');
ok($r->{closed}, 'idle new connection: closed');
$r = $t->raw_request($t->port(8081), '', timeout => 4);
is($r->{data}, '', 'http-ignore-probes: closed without a response');
ok($r->{closed}, 'http-ignore-probes: closed');

# Servers that misbehave.
my $g = $t->http_get($port, '/broken/garbage');
is($g->{status}, 502, 'invalid response from the server: 502');
my $smug = $t->http_get($port, '/broken/smuggle');
is($smug->{status}, 502, 'response with CL and TE: 502');
$t0 = time;
my $s = $t->http_get($port, '/silent', timeout => 5);
is($s->{status}, 504, 'server never answers: 504');
ok(time - $t0 < 3, 'server never answers: after timeout server');
$r = $t->raw_request($port, "GET /broken/cl-short HTTP/1.1\r\nHost: a\r\n\r\n",
    timeout => 3);
like($r->{data}, qr{^HTTP/1\.1 200 .*only-part}s,
    'server closes mid-body: what came is passed on');
ok($r->{closed} || $r->{reset}, 'server closes mid-body: client connection closed');
$r = $t->raw_request($port, "GET /broken/chunk-cut HTTP/1.1\r\nHost: a\r\n\r\n",
    timeout => 3);
unlike($r->{data}, qr/\r\n0\r\n\r\n$/, 'cut chunked response: no fake end');
ok($r->{closed} || $r->{reset}, 'cut chunked response: connection closed');

# Keep-alive and pipelining: responses in order on one connection.
$r = $t->raw_request($port, "GET /local HTTP/1.1\r\nHost: a\r\n\r\n"
    . "GET /p2 HTTP/1.1\r\nHost: a\r\n\r\nGET /local HTTP/1.1\r\nHost: a\r\n"
    . "Connection: close\r\n\r\n", timeout => 3);
my @st = $r->{data} =~ m{HTTP/1\.1 (\d{3}) }g;
is(scalar @st, 3, 'pipelined: three responses');
like($r->{data}, qr{ok.*origin saw /p2.*ok}s, 'pipelined: in order');
ok($r->{closed}, 'pipelined: closed after Connection: close');

# HTTP/1.0 without keep-alive is closed after the response.
$r = $t->raw_request($port, "GET /local HTTP/1.0\r\n\r\n", timeout => 3);
like($r->{data}, qr{^HTTP/1\.1 200 }, 'HTTP/1.0: answered');
ok($r->{closed}, 'HTTP/1.0: closed');

# HEAD gets headers only.
$r = $t->raw_request($port, "HEAD /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    timeout => 3);
like($r->{data}, qr{^HTTP/1\.1 200 }, 'HEAD: 200');
unlike($r->{data}, qr/origin saw/, 'HEAD: no body');

is($t->http_get($port, '/local')->{status}, 200, 'the worker still serves');

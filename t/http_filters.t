#!/usr/bin/perl
# Filters: "filter trace" instances of a frontend and of its backend see
# every stream in declaration order, frontend first; a filter that takes
# the payload makes the body go out re-framed (chunked to HTTP/1.1 peers,
# close-delimited to an HTTP/1.0 client) and byte for byte the same;
# proxies without filters forward bodies as they were framed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new;
$t->write_file_expand('lp.cfg', <<'EOF2');
global
    nbproc 1
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    filter trace name fe-one
    filter trace name fe-two random-forwarding
    default_backend be
backend be
    filter trace name be-one
    server o1 127.0.0.1:%%PORT_8091%%
frontend plain
    bind 127.0.0.1:%%PORT_8081%%
    default_backend be_plain
backend be_plain
    server o1 127.0.0.1:%%PORT_8091%%
EOF2

# The origin answers /big/N with N bytes of a pattern, and describes the
# body it received (length, framing) on /echo.
$t->http_origin(8091, sub {
    my ($req) = @_;
    if ($req->{uri} =~ m{^/big/(\d+)}) {
        return [200, ['content-type' => 'text/plain'], pattern($1)];
    }
    my $te = $req->{headers}{'transfer-encoding'} // 'none';
    my $cl = $req->{headers}{'content-length'} // 'none';
    return [200, ['content-type' => 'text/plain'],
        "len=" . length($req->{body}) . " te=$te cl=$cl ok="
        . ($req->{body} eq pattern(length $req->{body}) ? 1 : 0)];
});
$t->run;

sub pattern {
    my ($n) = @_;
    my $unit = join('', map { chr(32 + $_ % 90) } 0 .. 996);
    return substr($unit x (int($n / length($unit)) + 1), 0, $n);
}

$t->plan(20);
my $port = $t->port(8080);

my $mark = $t->log_mark;
my $r = $t->http_get($port, '/big/300000', timeout => 10);
is($r->{status}, 200, 'filtered response');
ok($r->{body} eq pattern(300000), 'filtered body arrives byte for byte');
is($r->{headers}{'transfer-encoding'}, 'chunked', 'filtered body is re-chunked');
ok(!exists $r->{headers}{'content-length'}, 'no Content-Length on a filtered body');

$t->wait_log(qr/\[be-one\] stream \d+: end/, mark => $mark);
my @ev = grep { /\[(?:fe-one|fe-two|be-one)\] stream/ }
    split /\n/, $t->log_since($mark);
my @names = map { /\[([\w-]+)\] stream \d+: (.*)$/ ? "$1 $2" : () } @ev;
my @order = grep { !/ data \d+ bytes$/ } @names;
is_deeply([@order[0 .. 2]], ['fe-one start', 'fe-two start', 'be-one start'],
    'frontend filters attach first, backend filters when it is chosen');
is_deeply([grep { / request headers$/ } @order],
    ['fe-one request headers', 'fe-two request headers', 'be-one request headers'],
    'request head hooks in declaration order');
is_deeply([grep { / response (headers|end)$/ } @order],
    ['fe-one response headers', 'fe-two response headers',
     'be-one response headers', 'fe-one response end', 'fe-two response end',
     'be-one response end'],
    'response hooks in order, end after the payload');
my %bytes;
for (@names) { $bytes{$1} += $2 if /^([\w-]+) response data (\d+) bytes$/ }
is_deeply(\%bytes, {'fe-one' => 300000, 'fe-two' => 300000, 'be-one' => 300000},
    'every filter saw the whole payload once');
ok((grep { /^be-one end$/ } @order), 'stream end hooks ran');

# a request body through the filters reaches the server chunked, intact
my $body = pattern(70000);
$r = $t->http_get($port, '/echo', method => 'POST', body => $body,
    timeout => 10);
like($r->{body}, qr/^len=70000 te=chunked cl=none ok=1$/,
    'filtered request body: chunked to the server, same bytes');
$r = $t->raw_request($port,
    "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    . "5\r\n" . pattern(5) . "\r\n3\r\n" . substr(pattern(8), 5) . "\r\n0\r\n\r\n",
    timeout => 5);
like($r->{data}, qr/len=8 te=chunked cl=none ok=1/,
    'a chunked request body is re-framed through the filters');

# HTTP/1.0 client: the filtered body ends with the connection
$r = $t->raw_request($port, "GET /big/5000 HTTP/1.0\r\n\r\n", timeout => 5);
my ($head, $b10) = split /\r\n\r\n/, $r->{data}, 2;
like($head, qr/^HTTP\/1\.1 200/, 'HTTP/1.0 client answered');
ok(defined $b10 && $b10 eq pattern(5000) && $r->{closed},
    'HTTP/1.0 client: close-delimited filtered body');

# HEAD and an empty body
$r = $t->http_get($port, '/big/100', method => 'HEAD');
is($r->{status}, 200, 'HEAD through filters');
$r = $t->http_get($port, '/big/0');
is($r->{body}, '', 'empty body through filters');

# no filter: the framing is left as it was
$r = $t->http_get($t->port(8081), '/big/1000');
is($r->{headers}{'content-length'}, 1000, 'no filter: Content-Length kept');

# configuration errors
my ($rc, $out) = $t->check_config(
    "frontend f\n    mode http\n    bind 127.0.0.1:1\n    filter nosuch\n",
    'bad1.cfg');
like($out, qr/bad1\.cfg:4: .*unknown filter 'nosuch'/, 'unknown filter: file:line');
($rc, $out) = $t->check_config("defaults\n    mode http\n    filter trace\n",
    'bad2.cfg');
isnt($rc, 0, "'filter' is not allowed in defaults, as HAProxy");
($rc, $out) = $t->check_config(<<'EOF3', 'tcp.cfg');
defaults
    mode tcp
    compression algo gzip
frontend quiet
    bind 127.0.0.1:1
    default_backend b
frontend loud
    bind 127.0.0.1:2
    filter trace
    default_backend b
backend b
    server s 127.0.0.1:3
EOF3
like($out, qr/frontend 'loud' is in tcp mode: its filters are ignored/,
    'a filter line in a tcp proxy: warned');
unlike($out, qr/'quiet'/, 'compression from a tcp defaults section: no warning');

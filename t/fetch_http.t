#!/usr/bin/perl
# HTTP sample fetches through real requests, with exact values: the
# request body (req.body_len, req.body_size, req.body_param) with
# Content-Length and chunked, buffered by option http-buffer-request; the
# capture.* fetches; url_ip and url_port; hdr_val on both sides; res.ver;
# req.hdr keeping empty list elements; and the same fetches from Lua.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new;
my @req = ('req.body_len', 'req.body_size', 'req.body_param(a)',
    'req.body_param', 'req.body_param(b),length', 'req.body_param(c),length',
    'req.body_param(A)', 'req.body_param(A,i)', 'capture.req.method',
    'capture.req.uri', 'capture.req.ver', 'capture.req.hdr(0)',
    'capture.req.hdr(1)', 'capture.req.hdr(2)', 'url_ip', 'url_port',
    'req.hdr_val(x-n)', 'hdr_val(x-n,1)', 'req.hdr_val(x-q)',
    'req.hdr_val(x-e)', 'req.hdr_cnt(x-c)', 'req.hdr(x-c,2),length');
my @res = ('res.ver', 'capture.res.ver', 'capture.res.hdr(0)',
    'res.hdr_val(x-num)', 'res.hdr_val(x-num,1)', 'capture.req.uri',
    'res.hdr_names(;)', 'http_first_req', 'fe_id', 'be_id', 'srv_id');
my $i = 0;
my $reqs = join('', map { $i++; "    http-request set-header X-F-$i \"$_=%[$_]\"\n" } @req);
$i = 0;
my $ress = join('', map { $i++; "    http-response set-header X-R-$i \"$_=%[$_]\"\n" } @res);
$t->write_file('f.lua', <<'EOF2');
core.register_action("lua_fetches", { "http-req" }, function(txn)
  txn.http:req_set_header("X-F-Lua", "lua=" .. tostring(txn.f:req_body_len())
    .. "," .. tostring(txn.f:req_body_param("a")) .. ","
    .. tostring(txn.f:capture_req_method()) .. "," .. tostring(txn.f:fe_conn()))
end)
EOF2
$t->write_file_expand('lp.cfg', <<"EOF2");
global
    nbproc 1
    lua-load %%TESTDIR%%/f.lua
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 3s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    option http-buffer-request
    capture request header Host len 20
    capture request header X-Cap len 3
    capture response header X-Num len 2
    http-request return status 200 content-type text/plain string in-acl if { req.body_param(k) -m str two }
$reqs$ress    http-request lua.lua_fetches
    default_backend origin
backend origin
    server o1 127.0.0.1:%%PORT_8091%%
EOF2

$t->http_origin(8091, sub {
    my ($req) = @_;
    my $body = join('', map { "$_->[1]\n" }
        grep { $_->[0] =~ /^x-f-/i } @{ $req->{header_list} });
    return [200, ['content-type' => 'text/plain', 'X-Num' => '12abc',
        'X-Num' => '-7'], $body];
});
$t->run;
my $port = $t->port(8080);

# "name=value" of every fetch, request ones then response ones.
sub fetched {
    my ($raw) = @_;
    my $r = $t->http($port, $raw);
    my %v = map { split /=/, $_, 2 } split /\n/, $r->{body} // '';
    for my $n (1 .. @res) {
        my ($k, $val) = split /=/, $r->{headers}{"x-r-$n"} // '', 2;
        $v{"res:$k"} = $val if defined $k;
    }
    return \%v;
}

my $v = fetched("POST /p?x=1 HTTP/1.1\r\nHost: h1\r\nX-N: 5x, 42\r\nX-Q: abc\r\n"
    . "X-E:\r\nX-C: a,,b, \r\nX-Cap: abcdef\r\nContent-Length: 13\r\n"
    . "Connection: close\r\n\r\na=1&b&c=&a=2x");
my %want = (
    'req.body_len' => 13, 'req.body_size' => 13, 'req.body_param(a)' => 1,
    'req.body_param' => 1, 'req.body_param(b),length' => '',
    'req.body_param(c),length' => 0, 'req.body_param(A)' => '',
    'req.body_param(A,i)' => 1,
    'capture.req.method' => 'POST', 'capture.req.uri' => '/p?x=1',
    'capture.req.ver' => 'HTTP/1.1', 'capture.req.hdr(0)' => 'h1',
    'capture.req.hdr(1)' => 'abc', 'capture.req.hdr(2)' => '',
    'url_ip' => '', 'url_port' => '', 'req.hdr_val(x-n)' => 42,
    'hdr_val(x-n,1)' => 5, 'req.hdr_val(x-q)' => 0, 'req.hdr_val(x-e)' => 0,
    'req.hdr_cnt(x-c)' => 4, 'req.hdr(x-c,2),length' => 0,
    'res:res.ver' => '1.1', 'res:capture.res.ver' => 'HTTP/1.1',
    'res:capture.res.hdr(0)' => '-7', 'res:res.hdr_val(x-num)' => -7,
    'res:res.hdr_val(x-num,1)' => 12, 'res:capture.req.uri' => '/p?x=1',
    'lua' => '13,1,POST,1',
    'res:res.hdr_names(;)' => 'content-type;x-num;x-num;content-length;'
        . 'x-r-1;x-r-2;x-r-3;x-r-4;x-r-5;x-r-6',
    'res:http_first_req' => 1, 'res:fe_id' => 1, 'res:be_id' => 2,
    'res:srv_id' => 1,
);
is($v->{$_}, $want{$_}, "form with Content-Length: $_") for sort keys %want;

$v = fetched("POST /c HTTP/1.1\r\nHost: h1\r\nTransfer-Encoding: chunked\r\n"
    . "Connection: close\r\n\r\n3\r\na=1\r\n5\r\n&A=22\r\n0\r\n\r\n");
is(join(' ', map { $v->{$_} } 'req.body_len', 'req.body_size',
    'req.body_param(a)', 'req.body_param(A)'), '8 8 1 22',
    'chunked form: lengths without the framing, parameters');

$v = fetched("GET http://10.1.2.3:8080/x HTTP/1.1\r\nHost: 10.1.2.3:8080\r\n"
    . "Connection: close\r\n\r\n");
is("$v->{url_ip} $v->{url_port} $v->{'capture.req.uri'}", '10.1.2.3 8080 /x',
    'absolute URI: url_ip, url_port, capture.req.uri from the path');
is(join(' ', map { $v->{$_} } 'req.body_len', 'req.body_size'), '0 0',
    'no body: req.body_len and req.body_size are 0');
$v = fetched("GET https://10.1.2.3/x HTTP/1.1\r\nHost: 10.1.2.3\r\n"
    . "Connection: close\r\n\r\n");
is($v->{url_port}, 443, 'https: url_port 443 by default');
$v = fetched("GET http://10.1.2.3/x HTTP/1.1\r\nHost: 10.1.2.3\r\n"
    . "Connection: close\r\n\r\n");
is($v->{url_port}, 80, 'http: url_port 80 by default');
$v = fetched("GET http://example.com:81/x HTTP/1.1\r\nHost: example.com:81\r\n"
    . "Connection: close\r\n\r\n");
is("$v->{url_ip}|$v->{url_port}", '|', 'a host name: neither url_ip nor url_port');
$v = fetched("GET /a HTTP/1.0\r\n\r\n");
is("$v->{'capture.req.ver'} $v->{'capture.req.method'}", 'HTTP/1.0 GET',
    'capture.req.ver and method as received');

my $two = $t->raw_request($port, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
    . "GET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")->{data};
is(join(' ', $two =~ /^x-r-8: http_first_req=(\d)/mgi), '1 0',
    'http_first_req: only the first request of a connection');

is($t->http_get($port, '/', method => 'POST', body => 'k=one&k=two')->{body},
    'in-acl', 'ACL on req.body_param tries every occurrence');
isnt($t->http_get($port, '/', method => 'POST', body => 'k=one&kk=two')->{body},
    'in-acl', 'ACL on req.body_param: names match whole');
$t->done_testing;

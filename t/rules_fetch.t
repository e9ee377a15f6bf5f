#!/usr/bin/perl
# Sample fetches through real requests: url_param/urlp, cookies on both
# sides, req.hdr splitting comma lists (every value in ACLs, the last one
# in expressions) against req.fhdr, hdr_ip, req.hdrs, req.hdr_names,
# nbsrv, srv_is_up and ssl_fc.
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
    timeout client 3s
    timeout server 3s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    http-request return status 200 content-type text/plain string acl-any-value if { req.hdr(x-list) -m str b }
    http-request return status 200 content-type text/plain string fhdr-whole if { req.fhdr(x-full) -m str "c, d" }
    http-request return status 200 content-type text/plain string urlp-any if { urlp(tag) -m str two }
    http-request return status 200 content-type text/plain string cook-any if { req.cook(k) -m str v1 }
    http-request return status 200 content-type text/plain string hdr-ip if { hdr_ip(x-real-ip) 10.0.0.0/8 }
    http-request return status 200 content-type text/plain string ssl if { ssl_fc }
    http-request return status 503 content-type text/plain string down if { path /nbsrv } { nbsrv(dead) eq 0 }
    http-request set-var(txn.names) req.hdr_names(;)
    http-request set-var(txn.hdrs_len) req.hdrs,length
    http-request set-header X-Names %[var(txn.names)]
    http-request set-header X-Hdrs-Len %[var(txn.hdrs_len)]
    http-request set-header X-Urlp %[url_param(id)]
    http-request set-header X-Urlp-Semi %[url_param(id,;)]
    http-request set-header X-Urlp-Val %[urlp_val(n),add(1)]
    http-request set-header X-Cook %[req.cook(sid)]
    http-request set-header X-Cook-First %[req.cook()]
    http-request set-header X-Cook-Cnt %[req.cook_cnt(sid)]
    http-request set-header X-Last %[req.hdr(x-list)]
    http-request set-header X-First %[req.hdr(x-list,1)]
    http-request set-header X-Cnt %[req.hdr_cnt(x-list)]
    http-request set-header X-Fcnt %[req.fhdr_cnt(x-list)]
    http-request set-header X-Nbsrv %[nbsrv(two)]
    http-request set-header X-Up %[srv_is_up(two/s1)]
    http-request set-header X-Up-Disabled %[srv_is_up(two/s2)]
    default_backend origin
    http-response set-header X-Res-Cook %[res.cook(theme)]
    http-response set-header X-Res-Cook-Cnt %[res.cook_cnt]
backend origin
    server o1 127.0.0.1:%%PORT_8091%%
backend two
    server s1 127.0.0.1:%%PORT_8091%%
    server s2 127.0.0.1:%%PORT_8091%% disabled
    server s3 127.0.0.1:%%PORT_8091%%
backend dead
    server s1 127.0.0.1:%%PORT_8091%% disabled
EOF2

$t->http_origin(8091, sub {
    my ($req) = @_;
    my $body = join('', map { "$_->[0]: $_->[1]\n" } @{ $req->{header_list} });
    return [200, ['content-type' => 'text/plain',
        'Set-Cookie' => 'theme=dark; Path=/', 'Set-Cookie' => 'lang=en'], $body];
});
$t->run;
my $port = $t->port(8080);
$t->plan(28);

my $r = $t->http_get($port, '/p?x=1&id=first&id=second;id=semi&n=41',
    headers => ['Cookie' => 'a=1; sid=abc; b=2', 'Cookie' => 'sid=def',
        'X-List' => 'a, c', 'X-List' => 'd, e,f']);
like($r->{body}, qr/^X-Urlp: first$/mi, 'url_param: first occurrence');
like($r->{body}, qr/^X-Urlp-Semi: semi&n=41$/mi, 'url_param with a delimiter');
like($r->{body}, qr/^X-Urlp-Val: 42$/mi, 'urlp_val is an integer');
like($r->{body}, qr/^X-Cook: def$/mi, 'req.cook: last occurrence');
like($r->{body}, qr/^X-Cook-First: 1$/mi, 'req.cook(): first cookie');
like($r->{body}, qr/^X-Cook-Cnt: 2$/mi, 'req.cook_cnt');
like($r->{body}, qr/^X-Last: f$/mi, 'req.hdr: last comma-separated value');
like($r->{body}, qr/^X-First: a$/mi, 'req.hdr(name,1): first value');
like($r->{body}, qr/^X-Cnt: 5$/mi, 'req.hdr_cnt counts values');
like($r->{body}, qr/^X-Fcnt: 2$/mi, 'req.fhdr_cnt counts lines');
like($r->{body}, qr/^X-Names: host;cookie;cookie;x-list;x-list(;connection)?$/mi,
    'req.hdr_names with a delimiter, lower case');
is($r->{headers}{'x-res-cook'}, 'dark', 'res.cook: value without attributes');
# HAProxy 2.6 counts the attributes with a value too without a name
# (t/fetch_more.t compares it live)
is($r->{headers}{'x-res-cook-cnt'}, '3', 'res.cook_cnt: cookies and Path=/');
like($r->{body}, qr/^X-Nbsrv: 2$/mi, 'nbsrv(backend) skips disabled servers');
like($r->{body}, qr/^X-Up: 1$/mi, 'srv_is_up: enabled server');
like($r->{body}, qr/^X-Up-Disabled: 0$/mi, 'srv_is_up: disabled server is down');

my $raw = "GET /h HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n";
$r = $t->http($port, $raw);
my $hdrs_len = length("Host: x\r\nX-A: 1\r\n\r\n");
like($r->{body}, qr/^X-Hdrs-Len: $hdrs_len$/mi, 'req.hdrs: the block with its final CRLF');

is($t->http_get($port, '/', headers => ['X-List' => 'a, b, c'])->{body},
    'acl-any-value', 'ACL on req.hdr tries every comma-separated value');
isnt($t->http_get($port, '/', headers => ['X-List' => 'a, bb'])->{body},
    'acl-any-value', 'ACL on req.hdr: no partial match');
is($t->http_get($port, '/', headers => ['X-Full' => 'c, d'])->{body},
    'fhdr-whole', 'req.fhdr keeps the whole line');
isnt($t->http_get($port, '/', headers => ['X-Full' => 'c'])->{body},
    'fhdr-whole', 'req.fhdr does not split');
is($t->http_get($port, '/?tag=one&tag=two')->{body}, 'urlp-any',
    'ACL on urlp tries every occurrence');
is($t->http_get($port, '/', headers => ['Cookie' => 'k=v0', 'Cookie' => 'x=1; k=v1'])->{body},
    'cook-any', 'ACL on req.cook tries every occurrence');
is($t->http_get($port, '/', headers => ['X-Real-IP' => 'junk, 10.1.2.3:8080'])->{body},
    'hdr-ip', 'hdr_ip: skips non-addresses, ignores a port');
isnt($t->http_get($port, '/', headers => ['X-Real-IP' => '192.168.1.1'])->{body},
    'hdr-ip', 'hdr_ip: other network');
is($t->http_get($port, '/nbsrv')->{status}, 503, 'nbsrv 0 when all are disabled');
isnt($t->http_get($port, '/')->{body}, 'ssl', 'ssl_fc is false without TLS');
is($t->http_get($port, '/')->{status}, 200, 'still serving');

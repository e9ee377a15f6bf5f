#!/usr/bin/perl
# HTTP rules through real requests: each action changes what the origin
# receives or what the client gets, in rule order, under its condition.
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
    acl is_api path_beg /api
    acl is_admin path_beg /admin
    http-request return status 200 content-type text/plain lf-string "you are %[src] on %[path]" if { path /lf }
    http-request allow if { path /allowed }
    http-request deny deny_status 429 if is_admin { req.hdr(x-user) -m str bob }
    http-request deny if is_admin
    http-request redirect location /moved code 301 if { path /old }
    http-request redirect prefix /v2 if { path_beg /v1 }
    http-request redirect prefix /p drop-query append-slash if { path_beg /dq }
    http-request redirect scheme https if { path /secure }
    http-request set-header X-Set one
    http-request add-header X-Add a
    http-request add-header X-Add b
    http-request del-header X-Drop
    http-request replace-header X-Rep ^(\w+)-(\w+)$ \2-\1
    http-request replace-value X-Val ^old$ new
    http-request set-path /rewritten if { path /torewrite }
    http-request set-query q=2 if { path /setq }
    http-request set-uri /whole?x=1 if { path /seturi }
    http-request set-method PUT if { path /setmethod }
    http-request set-var(txn.route) str(api) if is_api
    http-request set-header X-Route %[var(txn.route)] if is_api
    http-request set-header X-Mix "id-%[var(txn.route)]-%[path,field(2,/)]" if is_api
    http-request return status 200 content-type text/plain string allowed-not-reached if { path /allowed }
    use_backend api if is_api
    default_backend origin
    http-response set-header X-Resp added
    http-response del-header X-Secret
frontend xff
    bind 127.0.0.1:%%PORT_8081%%
    option forwardfor
    default_backend origin
frontend xff_custom
    bind 127.0.0.1:%%PORT_8082%%
    option forwardfor header X-Client if-none
    default_backend origin
frontend tcprules
    bind 127.0.0.1:%%PORT_8084%%
    tcp-request connection reject if { src 10.0.0.0/8 }
    tcp-request content reject if { req.hdr(x-evil) -m found }
    tcp-request content set-var(txn.seen) str(yes)
    http-after-response set-header X-After done
    default_backend origin
frontend tcpconn_reject
    bind 127.0.0.1:%%PORT_8085%%
    tcp-request connection reject if { src 127.0.0.0/8 }
    http-request return status 200
frontend bodyrules
    bind 127.0.0.1:%%PORT_8086%%
    option http-buffer-request
    http-request deny if { req.body -m sub secret }
    http-request set-header X-Body-Len %[req.body,length]
    default_backend origin
frontend xff_except
    bind 127.0.0.1:%%PORT_8083%%
    option forwardfor except 127.0.0.0/8
    default_backend origin
frontend xorig
    bind 127.0.0.1:%%PORT_8087%%
    option originalto
    default_backend origin
frontend xorig_be
    bind 127.0.0.1:%%PORT_8088%%
    default_backend origto_be
frontend xorig_except
    bind 127.0.0.1:%%PORT_8089%%
    option originalto except 127.0.0.1
    default_backend origin
frontend uidself
    bind 127.0.0.1:%%PORT_8092%%
    unique-id-format x%ID-%[unique-id]
    http-request return status 200 content-type text/plain lf-string "%[unique-id]"
frontend uid
    bind 127.0.0.1:%%PORT_8090%%
    unique-id-format %[req.hdr(x-a)]-%HM
    unique-id-header X-UID
    http-request set-header X-Seen %[unique-id]
    http-request return status 200 content-type text/plain lf-string "%[unique-id,length]" if { path /len }
    default_backend origin
backend origto_be
    option originalto header X-Dst except 10.0.0.0/8
    server o1 127.0.0.1:%%PORT_8091%%
backend origin
    http-response set-header X-Backend origin
    server o1 127.0.0.1:%%PORT_8091%%
backend api
    http-response deny if { status 500 }
    server o1 127.0.0.1:%%PORT_8091%%
EOF2

# The origin echoes the request line and the headers it received (and,
# on /b, the body it decoded).
$t->http_origin(8091, sub {
    my ($req) = @_;
    my $body = "$req->{method} $req->{uri}\n"
        . join('', map { "$_->[0]: $_->[1]\n" } @{ $req->{header_list} });
    $body .= "body: $req->{body}\n" if $req->{uri} eq '/b';
    my $status = $req->{uri} =~ m{/api/fail} ? 500 : 200;
    return [$status, ['content-type' => 'text/plain', 'X-Secret' => 's'],
        $body];
});
$t->run;
my $port = $t->port(8080);

$t->plan(54);

my $r = $t->http_get($port, '/plain', headers => ['X-Drop' => 'x',
    'X-Rep' => 'ab-cd', 'X-Val' => 'old, keep, old']);
is($r->{status}, 200, 'proxied');
like($r->{body}, qr/^GET \/plain\n/, 'request line unchanged');
like($r->{body}, qr/^X-Set: one$/mi, 'set-header');
like($r->{body}, qr/^X-Add: a\nX-Add: b$/mi, 'add-header twice keeps both');
unlike($r->{body}, qr/^X-Drop:/mi, 'del-header');
like($r->{body}, qr/^X-Rep: cd-ab$/mi, 'replace-header with groups');
like($r->{body}, qr/^X-Val: new, keep, new$/mi, 'replace-value per element');
is($r->{headers}{'x-resp'}, 'added', 'http-response set-header (frontend)');
is($r->{headers}{'x-backend'}, 'origin', 'http-response set-header (backend)');
ok(!exists $r->{headers}{'x-secret'}, 'http-response del-header');

$r = $t->http_get($port, '/lf');
is($r->{body}, 'you are 127.0.0.1 on /lf', 'return lf-string renders per request');

$r = $t->http_get($port, '/allowed');
like($r->{body}, qr/^GET \/allowed/, 'allow stops the rules: later return skipped');

$r = $t->http_get($port, '/admin/x', headers => ['X-User' => 'bob']);
is($r->{status}, 429, 'deny with deny_status');
$r = $t->http_get($port, '/admin/x');
is($r->{status}, 403, 'deny');
like($r->{body}, qr/403 Forbidden/, 'deny: built-in page');

$r = $t->http_get($port, '/old');
is($r->{status}, 301, 'redirect location: code');
is($r->{headers}{location}, '/moved', 'redirect location: Location');
$r = $t->http_get($port, '/v1/a?b=c');
is($r->{status}, 302, 'redirect prefix: default code 302');
is($r->{headers}{location}, '/v2/v1/a?b=c', 'redirect prefix keeps the query');
$r = $t->http_get($port, '/dq/x?y=1');
is($r->{headers}{location}, '/p/dq/x/', 'redirect drop-query append-slash');
$r = $t->http_get($port, '/secure', headers => ['Host' => 'example.com']);
is($r->{headers}{location}, 'https://example.com/secure', 'redirect scheme');

$r = $t->http_get($port, '/torewrite?k=v');
like($r->{body}, qr/^GET \/rewritten\?k=v\n/, 'set-path keeps the query');
$r = $t->http_get($port, '/setq?a=1');
like($r->{body}, qr/^GET \/setq\?q=2\n/, 'set-query');
$r = $t->http_get($port, '/seturi');
like($r->{body}, qr/^GET \/whole\?x=1\n/, 'set-uri');
$r = $t->http_get($port, '/setmethod');
like($r->{body}, qr/^PUT \/setmethod\n/, 'set-method');

$r = $t->http_get($port, '/api/users');
like($r->{body}, qr/^X-Route: api$/mi, 'set-var then %[var()] in set-header');
like($r->{body}, qr/^X-Mix: id-api-api$/mi, 'log-format value with text and samples');
is($r->{headers}{'x-backend'}, undef, 'use_backend picked the api backend');
is($r->{headers}{'x-resp'}, 'added', 'frontend response rules run after the backend ones');
$r = $t->http_get($port, '/api/fail');
is($r->{status}, 502, 'http-response deny: 502');

$r = $t->http_get($t->port(8081), '/xff');
like($r->{body}, qr/^X-Forwarded-For: 127\.0\.0\.1$/mi,
    'option forwardfor adds the client address');
$r = $t->http_get($t->port(8082), '/xff');
like($r->{body}, qr/^X-Client: 127\.0\.0\.1$/mi, 'forwardfor header NAME');
$r = $t->http_get($t->port(8082), '/xff', headers => ['X-Client' => 'given']);
unlike($r->{body}, qr/^X-Client: 127/mi, 'forwardfor if-none keeps a given one');
$r = $t->http_get($t->port(8083), '/xff');
unlike($r->{body}, qr/^X-Forwarded-For:/mi, 'forwardfor except NET');

$r = $t->http_get($t->port(8087), '/xorig', headers => ['X-Original-To' => 'given']);
like($r->{body}, qr/^X-Original-To: given\nX-Original-To: 127\.0\.0\.1$/mi,
    'option originalto appends the address the client connected to');
$r = $t->http_get($t->port(8088), '/xorig');
like($r->{body}, qr/^X-Dst: 127\.0\.0\.1$/mi, 'originalto header NAME, in a backend');
unlike($r->{body}, qr/^X-Original-To:/mi, 'and only that header');
$r = $t->http_get($t->port(8089), '/xorig');
unlike($r->{body}, qr/^X-Original-To:/mi, 'originalto except ADDR');
my ($rc, $out) = $t->run_cmd('-c', '-f', $t->write_file('bad_orig.cfg',
    "defaults\n    mode http\nfrontend f\n    bind 127.0.0.1:1\n"
    . "    option originalto if-none\n"));
like($out, qr/bad_orig\.cfg:5: .*'option originalto': unexpected 'if-none'/,
    'originalto has no if-none: file:line error');

$r = $t->http_get($t->port(8090), '/uid', headers => ['X-A' => 'v']);
like($r->{body}, qr/^X-Seen: v-GET\nX-UID: v-GET$/mi,
    'unique-id: the fetch in a rule, then unique-id-header, one identifier');
$r = $t->http_get($t->port(8090), '/len', headers => ['X-A' => 'a' x 300]);
is($r->{body}, '127', 'unique-id: cut to 127 bytes');
is($t->http_get($t->port(8092), '/self')->{body}, 'x-',
    'a unique-id-format naming itself sees it empty (no endless recursion)');

$r = $t->http_get($t->port(8084), '/evil', headers => ['X-Evil' => '1']);
ok(!$r->{status}, 'tcp-request content reject in an HTTP frontend closes');
$r = $t->http_get($t->port(8084), '/after');
is($r->{headers}{'x-after'}, 'done', 'http-after-response rules run');
$r = $t->raw_request($t->port(8085), "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    timeout => 2);
is($r->{data}, '', 'tcp-request connection reject in an HTTP frontend');
$r = $t->http_get($t->port(8084), '/plain');
like($r->{body}, qr/^GET \/plain/, 'tcp-request content accepts the rest');

# option http-buffer-request: the rules wait for the body, even when it
# comes after the head, and req.body sees it.
$r = $t->raw_request($t->port(8086),
    ["POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 14\r\n\r\n",
     "my secret here"], delay => 0.3, timeout => 3);
like($r->{data}, qr{^HTTP/1\.1 403 }, 'req.body: a body arriving late is seen by the rules');
$r = $t->raw_request($t->port(8086),
    "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    timeout => 3);
like($r->{data}, qr{^HTTP/1\.1 200 }, 'req.body: an innocent body passes');
like($r->{data}, qr{^X-Body-Len: 5$}mi, 'req.body: the whole body, then forwarded');
# a chunked body: the rules see the payload without its framing, even
# a word split over two chunks arriving apart; the server gets the framing
$r = $t->raw_request($t->port(8086),
    ["POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nmy se\r\n",
     "9\r\ncret here\r\n0\r\n\r\n"], delay => 0.3, timeout => 3);
like($r->{data}, qr{^HTTP/1\.1 403 }, 'req.body: a chunked body is seen without its framing');
$r = $t->raw_request($t->port(8086),
    "POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    . "3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n", timeout => 3);
like($r->{data}, qr{^HTTP/1\.1 200 }, 'req.body: an innocent chunked body passes');
like($r->{data}, qr{^X-Body-Len: 5$}mi, 'req.body: the chunked payload length');
like($r->{data}, qr{^Transfer-Encoding: chunked\r?\n.*^body: hello$}msi, 'req.body: the chunked body reaches the server whole');

is($t->http_get($port, '/plain')->{status}, 200, 'still serving');

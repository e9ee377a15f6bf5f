#!/usr/bin/perl
# http-after-response rules run on every response, the server's and the
# ones the proxy makes itself (return, deny, redirect, error pages and
# errorfiles, a Lua txn:reply), the backend's rules before the
# frontend's; not on the answer to a request that could not be parsed
# (HAProxy's multiplexer answers those before any rule); and a failing
# rule leaves a plain 500 that no rule touches.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new;
$t->write_file('page503.http', "HTTP/1.1 503 Service Unavailable\r\n"
    . "Content-Type: text/plain\r\nContent-Length: 9\r\n\r\nown page\n");
$t->write_file('after.lua', <<'EOF2');
core.register_action("fail", { "http-after-res" }, function(txn)
  return act.ERROR
end)
core.register_action("luareply", { "http-req" }, function(txn)
  local r = txn:reply()
  r:set_status(202)
  r:add_header("content-type", "text/plain")
  r:set_body("from lua")
  txn:done(r)
end)
EOF2
$t->write_file_expand('lp.cfg', <<'EOF2');
global
    nbproc 1
    lua-load after.lua
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 1s
    timeout http-request 1s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    http-request return status 200 content-type text/plain string hello if { path /return }
    http-request deny if { path /deny }
    http-request deny deny_status 429 content-type text/plain string slow if { path /denybody }
    http-request redirect location /elsewhere if { path /redirect }
    http-request lua.luareply if { path /lua }
    use_backend be_none if { path /none }
    use_backend be_slow if { path /slow }
    use_backend be_page if { path /page }
    default_backend be
    http-after-response set-header X-After fe
    http-after-response add-header X-Order fe
    http-after-response set-status 299 if { path /return } { req.hdr(x-status) -m found }
backend be
    http-response return status 203 content-type text/plain string replaced if { path /resreturn }
    http-after-response add-header X-Order be
    server o1 127.0.0.1:%%PORT_8091%%
backend be_none
    http-after-response add-header X-Order be
    server o1 127.0.0.1:%%PORT_8092%% disabled
backend be_slow
    server o1 127.0.0.1:%%PORT_8091%%
backend be_page
    errorfile 503 page503.http
    server o1 127.0.0.1:%%PORT_8092%% disabled
frontend failing
    bind 127.0.0.1:%%PORT_8081%%
    http-request return status 200 string x content-type text/plain if { path /return }
    http-after-response set-header X-Before-Fail yes
    http-after-response lua.fail
    http-after-response set-header X-After-Fail yes
    default_backend be
EOF2
$t->http_origin(8091, sub {
    my ($req) = @_;
    sleep 3 if $req->{uri} eq '/slow';
    return [200, ['content-type' => 'text/plain'], 'origin'];
});
$t->run;
my $port = $t->port(8080);

$t->plan(33);

my $r = $t->http_get($port, '/');
is($r->{headers}{'x-after'}, 'fe', 'server response: after-response ran');
is($r->{headers}{'x-order'}, 'be, fe', 'server response: backend rules first');

$r = $t->http_get($port, '/return');
is($r->{status}, 200, 'return');
is($r->{body}, 'hello', 'return: body');
is($r->{headers}{'x-after'}, 'fe', 'return: after-response header');
is($r->{headers}{'x-order'}, 'fe', 'return before a backend: frontend rules only');
$r = $t->http_get($port, '/return', headers => ['X-Status' => '1']);
is($r->{status}, 299, 'return: set-status from after-response');

$r = $t->http_get($port, '/resreturn', keepalive => 1);
is($r->{status}, 203, 'http-response return');
is($r->{body}, 'replaced', 'http-response return: its body alone');
is($r->{headers}{'x-order'}, 'be, fe', 'http-response return: after-response rules');
$r = $t->raw_request($port, "GET /resreturn HTTP/1.1\r\nHost: a\r\n\r\n",
    timeout => 2, read_timeout => 1);
like($r->{data}, qr/\r\n\r\nreplaced\z/, 'http-response return: nothing after it');

$r = $t->http_get($port, '/deny');
is($r->{status}, 403, 'deny');
is($r->{headers}{'x-after'}, 'fe', 'deny: after-response header');
like($r->{body}, qr/403 Forbidden/, 'deny: the built-in page');
$r = $t->http_get($port, '/denybody');
is($r->{status}, 429, 'deny with a reply');
is($r->{headers}{'x-after'}, 'fe', 'deny with a reply: after-response header');

$r = $t->http_get($port, '/redirect');
is($r->{status}, 302, 'redirect');
is($r->{headers}{'x-after'}, 'fe', 'redirect: after-response header');

$r = $t->http_get($port, '/lua');
is($r->{status}, 202, 'Lua txn:done(reply)');
is($r->{headers}{'x-after'}, 'fe', 'Lua reply: after-response header');

$r = $t->http_get($port, '/none');
is($r->{status}, 503, 'no server: 503');
is($r->{headers}{'x-order'}, 'be, fe', '503: backend then frontend rules');

$r = $t->http_get($port, '/slow', timeout => 5);
is($r->{status}, 504, 'server timeout: 504');
is($r->{headers}{'x-after'}, 'fe', '504: after-response header');

$r = $t->http_get($port, '/page');
is($r->{body}, "own page\n", 'errorfile page sent');
is($r->{headers}{'x-after'}, 'fe', 'errorfile page: after-response header');

$r = $t->raw_request($port, "GET /\x01bad HTTP/1.1\r\nHost: a\r\n\r\n", timeout => 3);
like($r->{data}, qr/^HTTP\/1\.1 400 /, 'malformed request: 400');
unlike($r->{data}, qr/x-after/i, 'malformed request: no after-response rule');
$r = $t->raw_request($port, "GET / HTTP/1.1\r\n", timeout => 3);
like($r->{data}, qr/^HTTP\/1\.1 408 /, 'incomplete request: 408, without rules')
    and unlike($r->{data}, qr/x-after/i, '408: no after-response rule');

$r = $t->http_get($t->port(8081), '/return');
is($r->{status}, 500, 'failing after-response rule: plain 500');
ok(!exists $r->{headers}{'x-before-fail'} && !exists $r->{headers}{'x-after-fail'},
    'the 500 goes through no rule');
$r = $t->http_get($t->port(8081), '/');
is($r->{status}, 500, 'failing after-response on a server response: 500');

#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# core.httpclient() through real requests to a Perl origin: get, head,
# put, post, delete; the result table (status, reason, lower-cased
# headers indexed from 0, body); the request it sends (origin-form path,
# host, accept, user-agent, user headers, content-length); 2 MB bodies
# both ways; chunked, close-delimited and 1xx-prefixed responses; dst
# overriding the URL's host; HAProxy's answers when the server is down
# (503), silent (504 after "timeout") or broken (502); HAProxy's argument
# errors; the contexts (nil in the body, an error in a fetch, works in a
# task, inside pcall and a user coroutine); and 200 concurrent calls
# waiting in one worker while it serves other requests.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Spec;
use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time);

my $BIG = 2 * 1024 * 1024;
my $PAT = '0123456789abcdef';

my $t = Test::Luaproxy->new(timeout => 120);
$t->write_file_expand('hc.lua', <<'EOF');
local ORIGIN = "http://127.0.0.1:%%PORT_8201%%"
local BIG = 2 * 1024 * 1024
BODY_HC = tostring((core.httpclient()))
TASK_RESULT = "not run"

-- Status, reason, sorted headers and body of a result, one per line.
local function dump(res)
  local names, lines = {}, {}
  for k in pairs(res.headers) do names[#names + 1] = k end
  table.sort(names)
  lines[1] = tostring(res.status) .. " " .. tostring(res.reason)
  for _, k in ipairs(names) do
    local v, vals = res.headers[k], {}
    for i = 0, #v do vals[#vals + 1] = v[i] end
    lines[#lines + 1] = k .. "=" .. table.concat(vals, ",")
  end
  lines[#lines + 1] = "body=" .. res.body
  return table.concat(lines, "\n") .. "\n"
end

local function err_of(f)
  local ok, err = pcall(f)
  -- luaL_error's "file:line: " prefix (the caller's, as in HAProxy) cut
  return ok and "no error" or (tostring(err):gsub("^hc%.lua:%d+: ", ""))
end

local tests = {}
tests.small = function(hc)
  return dump(hc:get{url = ORIGIN .. "/small",
                     headers = {["x-custom"] = {"v1", "v2"}, skip = "x"}})
end
tests.big = function(hc)
  local res = hc:get{url = ORIGIN .. "/big"}
  local same = res.body == string.rep("0123456789abcdef", BIG // 16)
  return res.status .. " " .. #res.body .. " " .. tostring(same) .. "\n"
end
tests.chunked = function(hc)
  return dump(hc:get{url = ORIGIN .. "/chunked"})
end
tests.bigchunked = function(hc)
  local res = hc:get{url = ORIGIN .. "/bigchunked"}
  local same = res.body == string.rep("0123456789abcdef", BIG // 16)
  return res.status .. " " .. #res.body .. " " .. tostring(same) .. "\n"
end
tests.post = function(hc)
  local res = hc:post{url = ORIGIN .. "/echo?x=1",
                      body = string.rep("0123456789abcdef", BIG // 16)}
  return res.status .. " " .. res.body
end
tests.put = function(hc)
  return hc:put{url = ORIGIN .. "/echo", body = "abc"}.body
end
tests.delete = function(hc)
  return hc:delete{url = ORIGIN .. "/echo"}.body
end
tests.head = function(hc)
  return dump(hc:head{url = ORIGIN .. "/head", timeout = 5000})
end
tests.close = function(hc)
  return dump(hc:get{url = ORIGIN .. "/close"})
end
tests.continue = function(hc)
  return dump(hc:get{url = ORIGIN .. "/continue"})
end
tests.bad = function(hc)
  return dump(hc:get{url = ORIGIN .. "/bad"})
end
tests.empty = function(hc)
  return hc:get{url = ORIGIN .. "/empty"}.status .. "\n"
end
tests.dst = function(hc)
  return dump(hc:get{url = "http://origin.example:9/small?q",
                     dst = "127.0.0.1:%%PORT_8201%%"})
end
tests.down = function(hc)
  return dump(hc:get{url = "http://127.0.0.1:%%PORT_8203%%/"})
end
tests.timeout = function(hc)
  local t0 = core.now()
  local res = hc:get{url = "http://127.0.0.1:%%PORT_8202%%/", timeout = 300}
  local t1 = core.now()
  local ms = (t1.sec - t0.sec) * 1000 + (t1.usec - t0.usec) // 1000
  return res.status .. " " .. tostring(ms >= 250 and ms < 3000) .. "\n"
end
tests.errors = function(hc)
  local u = ORIGIN .. "/small"
  return table.concat({
    err_of(function() return hc:get("x") end),
    err_of(function() return hc.get({url = u}) end),
    err_of(function() return hc:get{} end),
    err_of(function() return hc:get{url = 1} end),
    err_of(function() return hc:get{url = u, foo = 1} end),
    err_of(function() return hc:get{url = u, [1] = 1} end),
    err_of(function() return hc:get{url = u, timeout = "1"} end),
    err_of(function() return hc:get{url = u, headers = "x"} end),
    err_of(function() return hc:get{url = u, body = {}} end),
    err_of(function() return hc:get{url = u, dst = "nowhere"} end),
    err_of(function() return hc:get{url = "http://example.com/"} end),
    err_of(function() return hc:get{url = "ftp://127.0.0.1/"} end),
    "body: " .. BODY_HC,
  }, "\n") .. "\n"
end
tests.coroutine = function(hc)
  local f = coroutine.wrap(function()
    local ok, res = pcall(hc.get, hc, {url = ORIGIN .. "/small"})
    return tostring(ok) .. " " .. res.body
  end)
  return f() .. "\n"
end
tests.task = function(hc)
  return TASK_RESULT .. "\n"
end

core.register_service("hc", "http", function(applet)
  local name = applet.path:match("^/t/(%w+)$")
  local body = tests[name](core.httpclient())
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)

core.register_fetches("hc_in_fetch", function(txn)
  return err_of(function()
    return core.httpclient():get{url = ORIGIN .. "/small"}
  end)
end)

-- The sub-request of the concurrency test goes to a slow local service.
core.register_action("sub", { "http-req" }, function(txn)
  local res = core.httpclient():get{
    url = "http://127.0.0.1:%%PORT_8200%%/slow" .. txn.sf:path()}
  txn:set_var("txn.r", res.status .. " " .. res.body)
end)

core.register_service("slow", "http", function(applet)
  core.msleep(1000)
  local body = "slow " .. applet.path
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)

core.register_service("show", "http", function(applet)
  local body = tostring(applet:get_var("txn.r"))
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)

core.register_task(function()
  local res = core.httpclient():get{url = ORIGIN .. "/small"}
  TASK_RESULT = res.status .. " " .. res.body
end)
EOF
$t->write_file_expand('hc.cfg', <<'EOF');
global
   nbproc 1
   maxconn 2000
   lua-load hc.lua

defaults
   mode http
   timeout connect 5s
   timeout client 30s
   timeout server 30s

frontend fe
   bind 127.0.0.1:%%PORT_8200%%
   http-request set-var(txn.r) lua.hc_in_fetch if { path /fetch }
   http-request use-service lua.show if { path /fetch }
   http-request return status 200 content-type text/plain string "fast" if { path /fast }
   http-request use-service lua.slow if { path_beg /slow/ }
   http-request lua.sub if { path_beg /c/ }
   http-request use-service lua.show if { path_beg /c/ }
   http-request use-service lua.hc
EOF

# The origin.
$t->http_origin(8201, \&origin, log => 'origin.log');
# A listener that never accepts: connections wait in its backlog.
my $silent = $t->listen_socket(8202);
# Port 8203 is reserved and left unbound: nothing listens there.
$t->port(8203);

$t->run;
$t->plan(26);

my $port = $t->port(8200);
my $o = $t->port(8201);
my ($worker) = $t->worker_pids;

sub get { return $t->http_get($port, $_[0], timeout => 20); }

my $r = get('/t/small');
is($r->{body}, "200 OK\ncontent-length=5\nx-multi=a,b\nx-test=yes\n"
    . "body=hello\n", 'get: status, reason, lower-cased headers from 0, body');
# The last one: the task made one at start-up.
my ($req) = reverse grep { $_->{uri} eq '/small' }
    $t->origin_requests('origin.log');
like($req->{raw} // '', qr{\AGET /small HTTP/1\.1\r\n}, 'origin-form path');
is(join('|', map { $req->{headers}{$_} // '-' }
        qw(host accept user-agent content-length)),
    "127.0.0.1:$o|*/*|HAProxy|-", 'host, accept and user-agent by default');
is(join(',', map { $_->[1] } grep { lc $_->[0] eq 'x-custom' }
        @{ $req->{header_list} // [] }), 'v1,v2', 'user headers, each value');

is(get('/t/big')->{body}, "200 $BIG true\n", 'a 2 MB response body');
like(get('/t/chunked')->{body}, qr/^200 OK\n.*^x-c=1\nbody=hello, world\n\z/ms,
    'a chunked response is de-chunked');
is(get('/t/bigchunked')->{body}, "200 $BIG true\n",
    'a 2 MB chunked response in small chunks');
is(get('/t/post')->{body}, "200 POST /echo?x=1 len=$BIG same=1 cl=$BIG",
    'post: a 2 MB request body with its content-length');
is(get('/t/put')->{body}, 'PUT /echo len=3 same=0 cl=3', 'put');
is(get('/t/delete')->{body}, 'DELETE /echo len=0 same=0 cl=-', 'delete');
is(get('/t/head')->{body}, "200 OK\ncontent-length=1234\nbody=\n",
    'head: the content-length is not waited for');
is(get('/t/close')->{body}, "200 OK\nbody=until the close\n",
    'a close-delimited HTTP/1.0 response');
is(get('/t/continue')->{body}, "200 OK\ncontent-length=2\nbody=ok\n",
    'an interim 100 response is skipped');
like(get('/t/bad')->{body}, qr/^502 Bad Gateway\n.*body=<html><body><h1>502 /ms,
    'a broken response gives a 502, as HAProxy');
is(get('/t/empty')->{body}, "502\n", 'a close without response: 502');

$r = get('/t/dst');
is($r->{body}, "200 OK\ncontent-length=5\nx-multi=a,b\nx-test=yes\n"
    . "body=hello\n", 'dst overrides the host of the url');
($req) = grep { $_->{uri} eq '/small?q' } $t->origin_requests('origin.log');
is($req && $req->{headers}{host}, 'origin.example:9',
    'the host header still comes from the url');

is(get('/t/down')->{body}, "503 Service Unavailable\ncache-control=no-cache\n"
    . "content-length=107\ncontent-type=text/html\nbody=<html><body><h1>503 "
    . "Service Unavailable</h1>\nNo server is available to handle this "
    . "request.\n</body></html>\n\n",
    'a server that is down: HAProxy\'s 503');
is(get('/t/timeout')->{body}, "504 true\n",
    'a server that does not answer: 504 after the timeout');

my @errors = split /\n/, get('/t/errors')->{body} // '';
is_deeply(\@errors, [
    "'get' needs a table as argument",
    "'get' needs a table as argument",
    "'get' need a 'url' argument",
    "invalid parameter in 'url', must be a string",
    "'foo' invalid parameter name",
    "'1' invalid parameter name",
    "invalid parameter in 'timeout', must be a number",
    "invalid parameter in 'headers', must be a table",
    "invalid parameter in 'body', must be a string",
    "Can't use the 'dst' argument",
    "couldn't start the httpclient",
    "couldn't start the httpclient",
    'body: nil',
], 'HAProxy\'s argument errors; core.httpclient() is nil in the body');
is(get('/fetch')->{body},
    "The 'get' function is only allowed in 'frontend', 'backend' or 'task'",
    'not in a sample fetch');
is(get('/t/task')->{body}, "200 hello\n", 'in a task');
is(get('/t/coroutine')->{body}, "true hello\n",
    'inside pcall inside a user coroutine');

# 200 concurrent calls, each waiting 1 s on a slow local service, while a
# plain request is answered at once.
my @paths = map { "/c/$_" } 1 .. 200;
my $t0 = time;
my $pid = $t->run_daemon(\&many, File::Spec->catfile($t->testdir, 'many'));
select(undef, undef, undef, 0.3);
my $t1 = time;
my $fast = get('/fast');
my $fast_s = time - $t1;
ok(($fast->{body} // '') eq 'fast' && $fast_s < 0.5,
    sprintf('another request is served meanwhile (%.2fs)', $fast_s));
my $file = File::Spec->catfile($t->testdir, 'many');
select(undef, undef, undef, 0.05) while !-e $file && time - $t0 < 40;
my $ok = 0;
if (open(my $fh, '<', $file)) {
    $ok = <$fh> // 0;
}
chomp $ok;
my $elapsed = time - $t0;
is($ok, 200, sprintf('200 concurrent httpclient calls all answered right '
    . '(%.2fs)', $elapsed));
is_deeply([$t->worker_pids], [$worker], 'same worker throughout');

# In a daemon: send all requests at once, write how many were right.
sub many {
    my ($out) = @_;
    my @resp = $t->http_get_many($port, \@paths, timeout => 30);
    my $n = grep { ($resp[$_]{body} // '') eq "200 slow /slow$paths[$_]" }
        0 .. $#paths;
    open(my $fh, '>', "$out.tmp") or die "$out: $!";
    print $fh "$n\n";
    close $fh;
    rename "$out.tmp", $out;
}

# The origin's answers, by path.
sub origin {
    my ($req) = @_;
    my ($path) = $req->{uri} =~ m{^([^?]*)};
    return [200, ['X-Multi' => 'a', 'X-Multi' => 'b', 'X-Test' => 'yes'],
        'hello'] if $path eq '/small';
    return [200, [], $PAT x ($BIG / 16)] if $path eq '/big';
    if ($path eq '/echo') {
        my $b = $req->{body};
        return [200, [], sprintf('%s %s len=%d same=%d cl=%s',
            $req->{method}, $req->{uri}, length $b,
            $b eq $PAT x ($BIG / 16) ? 1 : 0,
            $req->{headers}{'content-length'} // '-')];
    }
    return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-C: 1\r\n\r\n"
        . "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n" if $path eq '/chunked';
    return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        . join('', map { sprintf("%x\r\n%s\r\n", 1000, substr(
            $PAT x ($BIG / 16), $_ * 1000, 1000)) } 0 .. int($BIG / 1000) - 1)
        . sprintf("%x\r\n%s\r\n", $BIG % 1000, substr($PAT x ($BIG / 16),
            $BIG - $BIG % 1000)) . "0\r\n\r\n" if $path eq '/bigchunked';
    return "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
        if $path eq '/head';
    return "HTTP/1.0 200 OK\r\n\r\nuntil the close" if $path eq '/close';
    return "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
        . "Content-Length: 2\r\n\r\nok" if $path eq '/continue';
    return "garbage\r\n\r\n" if $path eq '/bad';
    return '' if $path eq '/empty';
    return [404, [], 'no'];
}

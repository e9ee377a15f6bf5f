#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Lua errors follow HAProxy's semantics and never take the worker down: an
# action error is logged with the script's file:line and the next rules
# run; wrong-type calls into the API raise Lua errors (logged), not
# crashes; a yield where it is not allowed fails the fetch; an HTTP
# service that fails (or returns) before start_response answers 500, one
# that fails after it cuts the connection; a TCP service error closes; and
# the same worker keeps serving throughout.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new;
$t->write_file_expand('errors.lua', <<'EOF');
core.register_action("boom", { "http-req" }, function(txn)
  txn:set_var("txn.answer", "before")
  error("kaboom")
end)

core.register_action("wrongself", { "http-req" }, function(txn)
  txn.set_var("txn.answer", "x")
end)

core.register_action("wrongarg", { "http-req" }, function(txn)
  txn.sf:path(function() end)
end)

core.register_action("wrongconv", { "http-req" }, function(txn)
  txn.c:field("a,b", "notanumber", ",")
end)

core.register_action("badsock", { "http-req" }, function(txn)
  local s = core.tcp()
  local ok, err = pcall(s.connect, s, "not-an-address")
  txn:set_var("txn.answer", tostring(ok) .. "/" .. tostring(err))
  s.connect(42)
end)

core.register_action("lateregister", { "http-req" }, function(txn)
  core.register_service("late", "http", function() end)
end)

core.register_fetches("sleepy", function(txn)
  core.msleep(10)
  return "woke"
end)

core.register_service("echo", "http", function(applet)
  local body = "after " .. tostring(applet:get_var("txn.answer")) .. "\n"
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)

core.register_service("svc_early", "http", function(applet)
  error("service failed early")
end)

core.register_service("svc_silent", "http", function(applet)
  return
end)

core.register_service("svc_late", "http", function(applet)
  applet:start_response()
  applet:send("partial")
  error("service failed late")
end)

core.register_service("tcp_fail", "tcp", function(applet)
  applet:send("hi\n")
  error("tcp service failed")
end)
EOF
$t->write_file_expand('errors.cfg', <<'EOF');
global
   nbproc 1
   lua-load errors.lua

defaults
   mode http
   timeout connect 5s
   timeout client 30s
   timeout server 30s

frontend fe
   bind 127.0.0.1:%%PORT_8110%%
   http-request lua.boom if { path /boom }
   http-request lua.wrongself if { path /wrongself }
   http-request lua.wrongarg if { path /wrongarg }
   http-request lua.wrongconv if { path /wrongconv }
   http-request lua.badsock if { path /badsock }
   http-request lua.lateregister if { path /late }
   http-request set-var(txn.answer) lua.sleepy if { path /sleepy }
   http-request use-service lua.svc_early if { path /svc_early }
   http-request use-service lua.svc_silent if { path /svc_silent }
   http-request use-service lua.svc_late if { path /svc_late }
   http-request use-service lua.echo

frontend tcp
   bind 127.0.0.1:%%PORT_8111%%
   mode tcp
   tcp-request inspect-delay 1s
   tcp-request content use-service lua.tcp_fail
EOF
$t->expect_alerts(qr/Lua (function|sample-fetch|applet http|applet tcp) '/);
$t->run;
$t->plan(22);

my $port = $t->port(8110);
my @workers = $t->worker_pids;

my $mark = $t->log_mark;
my $r = $t->http_get($port, '/boom');
is($r->{status}, 200, 'action error: the next rule still ran');
is($r->{body}, "after before\n", 'action error: work done before it stays');
ok($t->wait_log(qr/Lua function 'boom': runtime error: \S*errors\.lua:3: kaboom/,
        mark => $mark),
    'action error logged with the script file:line');
ok($t->wait_log(qr/kaboom.* from .*errors\.lua:3/, mark => $mark),
    'action error logged with a traceback');

$mark = $t->log_mark;
$r = $t->http_get($port, '/wrongself');
is($r->{status}, 200, 'wrong self: request continues');
ok($t->wait_log(qr/errors\.lua:7: bad argument #1 to 'set_var' \(TXN expected, got string\)/,
        mark => $mark),
    'wrong self: Lua error at the calling line');

$mark = $t->log_mark;
$r = $t->http_get($port, '/wrongarg');
is($r->{status}, 200, 'wrong argument type: request continues');
ok($t->wait_log(qr/errors\.lua:11: bad argument #2 to '\?' \(string expected, got function\)|errors\.lua:11: .*string expected, got function/,
        mark => $mark),
    'wrong argument type: Lua error logged');

$mark = $t->log_mark;
$r = $t->http_get($port, '/wrongconv');
is($r->{status}, 200, 'bad converter argument: request continues');
ok($t->wait_log(qr/errors\.lua:15: 'field': /, mark => $mark),
    'bad converter argument: the checker\'s error is a Lua error');

$mark = $t->log_mark;
$r = $t->http_get($port, '/badsock');
is($r->{body},
    "after false/connect: cannot parse destination address 'not-an-address'\n",
    'socket: an unparsable address raises HAProxy\'s error');
ok($t->wait_log(qr/errors\.lua:22: bad argument #1 to '\?' \(Socket expected, got number\)|errors\.lua:22: .*Socket expected/,
        mark => $mark),
    'socket: method called on a number raises');

$mark = $t->log_mark;
$r = $t->http_get($port, '/late');
is($r->{status}, 200, 'register_service at runtime: request continues');
ok($t->wait_log(qr/'register_service' is not available outside of body context/,
        mark => $mark),
    'register_service at runtime: refused by context');

$mark = $t->log_mark;
$r = $t->http_get($port, '/sleepy');
is($r->{body}, "after nil\n", 'yield in a sample fetch: the sample fails');
ok($t->wait_log(qr/Lua sample-fetch 'sleepy': runtime error: .*yield not allowed/,
        mark => $mark),
    'yield in a sample fetch: "yield not allowed" logged');

$r = $t->http_get($port, '/svc_early');
is($r->{status}, 500, 'HTTP service error before start_response: 500');
$r = $t->http_get($port, '/svc_silent');
is($r->{status}, 500, 'HTTP service returning without a response: 500');
$r = $t->http_get($port, '/svc_late');
ok($r->{data} =~ m{^HTTP/1\.1 200 } && $r->{data} =~ /partial/
        && $r->{data} !~ /\r\n0\r\n\r\n\z/ && $r->{closed},
    'HTTP service error after start_response: chunked body cut, closed');

my $tcp = $t->raw_request($t->port(8111), '', timeout => 5);
ok($tcp->{data} eq "hi\n" && $tcp->{closed} && !$tcp->{timed_out},
    'TCP service error: what was sent arrives, then the connection closes');

$r = $t->http_get($port, '/fine');
is($r->{body}, "after nil\n", 'still serving after all of that');
is_deeply([$t->worker_pids], \@workers, 'the same worker served everything');

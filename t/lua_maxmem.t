#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# tune.lua.maxmem caps the Lua state: a memory bomb in an action, in a
# service and in a task ends with a logged Lua error (the action's
# ruleset goes on, the service answers 500), never an abort or an OOM
# kill, and the worker keeps serving. When memory is so short that even
# pushing the arguments of a new run fails, that run fails with a logged
# error too, and the worker recovers once memory is freed.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(sleep);

my $t = Test::Luaproxy->new;
$t->write_file_expand('mem.lua', <<'EOF');
local function bomb()
  local t = {}
  for i = 1, 1e8 do
    t[i] = string.rep("x", 200) .. i
  end
end

core.register_action("bomb", { "http-req" }, function(txn)
  bomb()
end)

core.register_service("bomb_svc", "http", function(applet)
  bomb()
end)

core.register_task(function()
  core.msleep(100)
  bomb()
end)

-- fills the state up to the cap and keeps it until /release
hog = nil
core.register_action("hog", { "http-req" }, function(txn)
  hog = {}
  local ok = pcall(function()
    for i = 1, 1e8 do hog[i] = string.rep("y", 100) .. i end
  end)
  txn:set_var("txn.r", "full")
end)

core.register_task(function()
  while true do
    core.msleep(50)
    if hog ~= nil and core.get_var("proc.release") ~= nil then
      hog = nil
      collectgarbage()
    end
  end
end)

core.register_service("show", "http", function(applet)
  local body = "served " .. tostring(applet:get_var("txn.r")) .. "\n"
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)
EOF
$t->write_file_expand('mem.cfg', <<'EOF');
global
   nbproc 1
   tune.lua.maxmem 16
   lua-load mem.lua

defaults
   mode http
   timeout connect 5s
   timeout client 30s
   timeout server 30s

frontend fe
   bind 127.0.0.1:%%PORT_8200%%
   http-request lua.bomb if { path /bomb }
   http-request lua.hog if { path /hog }
   http-request set-var(proc.release) str(yes) if { path /release }
   http-request use-service lua.bomb_svc if { path /bomb_svc }
   http-request use-service lua.show
EOF
$t->expect_alerts(qr/not enough memory|out of memory/);
$t->run;
$t->plan(10);

my $port = $t->port(8200);
my ($worker) = $t->worker_pids;

ok($t->wait_log(qr/Lua task 'task'.*(?:not enough memory|out of memory)/),
    'a task hitting the cap logs a Lua error');

my $mark = $t->log_mark;
my $r = $t->http_get($port, '/bomb');
is($r->{body}, "served nil\n", 'an action hitting the cap: the ruleset goes on');
ok($t->wait_log(qr/Lua function 'bomb'.*(?:not enough memory|out of memory)/,
    mark => $mark), 'and the error is logged');

$r = $t->http_get($port, '/bomb_svc');
is($r->{status}, 500, 'a service hitting the cap answers 500');

$r = $t->http_get($port, '/');
is($r->{body}, "served nil\n", 'the worker keeps serving');

# Memory so short that starting a run fails.
$r = $t->http_get($port, '/hog');
ok(defined $r->{status}, 'the state is full');
$mark = $t->log_mark;
$r = $t->http_get($port, '/');
ok(!defined $r->{status} || $r->{status} == 500 || $r->{status} == 200,
    'a run that cannot even start gets an answer or a close, no crash');
$r = $t->http_get($port, '/release');
my $back;
for (1 .. 40) {
    $r = $t->http_get($port, '/');
    last if $back = ($r->{body} // '') eq "served nil\n";
    sleep 0.1;
}
ok($back, 'once memory is freed, scripts run again');
is_deeply([$t->worker_pids], [$worker], 'same worker throughout: no abort');
unlike($t->log_contents, qr/unprotected error|PANIC/i, 'no Lua panic');

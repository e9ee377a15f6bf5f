#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# lua-load-per-thread runs the file again in every worker after the
# first, with core.thread = the worker number, while lua-load code keeps
# core.thread = 0. The blocking-call guard (beyond HAProxy):
# tune.lua.blocking warn logs each blocking call site once with its
# file:line when called while serving (not from the file body), deny
# refuses the call with a Lua error. Per-script figures (calls, errors,
# yields, CPU time) are logged when a worker drains at a reload.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new;
$t->write_file_expand('main.lua', <<'EOF');
local f = io.open("/dev/null")   -- body: blocking is fine here
f:close()
function shared_thread() return core.thread end

core.register_action("blk", { "http-req" }, function(txn)
  local ok, h
  for _ = 1, 3 do
    ok, h = pcall(io.open, "/dev/null") -- line 8: one warning only
    if ok and h then h:close() end
  end
  txn:set_var("txn.r", ok and "allowed" or tostring(h))
end)

core.register_action("slow", { "http-req" }, function(txn)
  core.msleep(20)
  if txn.sf:path() == "/fail" then error("on purpose") end
end)
EOF
$t->write_file_expand('pt.lua', <<'EOF');
local mine = core.thread
core.register_service("who", "http", function(applet)
  local body = mine .. " " .. core.thread .. " " .. shared_thread() .. " "
    .. tostring(applet:get_var("txn.r")) .. "\n"
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)
EOF
my $cfg = <<'EOF';
global
   nbproc 2
   tune.lua.blocking %%MODE%%
   lua-load main.lua
   lua-load-per-thread pt.lua

defaults
   mode http
   timeout connect 5s
   timeout client 30s
   timeout server 30s

frontend fe
   bind 127.0.0.1:%%PORT_8250%%
   http-request lua.blk if { path /blk }
   http-request lua.slow if { path /slow } || { path /fail }
   http-request use-service lua.who
EOF
$t->write_file_expand('guard.cfg', $cfg =~ s/%%MODE%%/warn/r);
$t->expect_alerts(qr/Lua function 'slow'.*on purpose/);
$t->run;
$t->plan(8);

my $port = $t->port(8250);
my %threads;
for (1 .. 60) {
    my $b = $t->http_get($port, '/')->{body} // '';
    $threads{$b}++;
    last if keys %threads >= 2;
}
is_deeply([sort keys %threads], ["1 1 0 nil\n", "2 2 0 nil\n"],
    'per-thread code sees core.thread 1..N, lua-load code 0');

my $mark = $t->log_mark;
my $r1 = $t->http_get($port, '/blk');
like($r1->{body}, qr/ allowed\n\z/, 'warn: the blocking call still runs');
ok($t->wait_log(qr/blocking call 'io\.open' at main\.lua:8/, mark => $mark),
    'warn: the call site is logged with file:line');
$t->http_get($port, '/blk') for 1 .. 4;
my @warnings = $t->log_since($mark) =~ /blocking call 'io\.open' at main\.lua:8/g;
ok(@warnings <= 2, 'each site once per worker (' . scalar(@warnings) . ')');
unlike($t->log_contents, qr/blocking call 'io\.open' at main\.lua:1\b/,
    'calls from the file body are not reported');

$t->http_get($port, '/slow') for 1 .. 3;
$t->http_get($port, '/fail');
$t->write_file_expand('guard.cfg', $cfg =~ s/%%MODE%%/deny/r);
$mark = $t->log_mark;
$t->reload;
ok($t->wait_log(qr/Lua action 'slow': calls=\d+ errors=\d+ yields=\d+ /
    . qr/cpu_total_ms=[\d.]+ cpu_max_ms=[\d.]+/, mark => $mark, timeout => 10),
    'per-script figures are logged when the old workers drain');
ok($t->wait_log(qr/reload done, generation/, mark => $mark, timeout => 10),
    'reloaded with tune.lua.blocking deny');
my $r;
for (1 .. 20) {
    $r = $t->http_get($port, '/blk');
    last if ($r->{body} // '') =~ /refused/;
}
like($r->{body}, qr/blocking call 'io\.open' refused/,
    'deny: the call raises a Lua error');

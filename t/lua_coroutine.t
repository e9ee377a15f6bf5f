#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# User coroutines: an API call that waits inside coroutine.create or
# coroutine.wrap (core.msleep, a cosocket) suspends the whole action or
# service and the user coroutine continues where it stopped; the
# coroutine's own yields still go to its resumer; errors keep Lua's
# shapes; in a sample fetch (which may not wait) the wait fails with
# "yield not allowed" inside the coroutine only.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time);

my $t = Test::Luaproxy->new;
$t->write_file_expand('co.lua', <<'EOF');
core.register_service("echo_tcp", "tcp", function(applet)
  applet:send("echo " .. applet:getline())
end)

core.register_action("co", { "http-req" }, function(txn)
  local out = {}
  -- a generator whose body sleeps between its own yields
  local gen = coroutine.wrap(function(a)
    for i = 1, 3 do
      core.msleep(50)
      coroutine.yield(a .. i)
    end
    return "end"
  end)
  for _ = 1, 4 do out[#out + 1] = gen("g") end
  -- a cosocket inside a nested coroutine
  local co = coroutine.create(function()
    local inner = coroutine.wrap(function()
      local s = core.tcp()
      s:connect("127.0.0.1:%%PORT_8221%%")
      s:send("nested\n")
      return s:receive("*l")
    end)
    return inner()
  end)
  local ok, line = coroutine.resume(co)
  out[#out + 1] = tostring(ok) .. ":" .. tostring(line)
  -- errors keep Lua's shapes
  local eok, err = coroutine.resume(coroutine.create(function() error("boom") end))
  out[#out + 1] = tostring(eok) .. ":" .. tostring(err):gsub("^.*: ", "")
  local wok, werr = pcall(coroutine.wrap(function() error("wboom") end))
  out[#out + 1] = tostring(wok) .. ":" .. tostring(werr):gsub("^.*: ", "")
  out[#out + 1] = tostring(coroutine.resume(co))
  txn:set_var("txn.r", table.concat(out, ","))
end)

core.register_fetches("co_fetch", function(txn)
  local ok, err = coroutine.resume(coroutine.create(function()
    core.msleep(10)
  end))
  return tostring(ok) .. ":" .. tostring(err)
end)

core.register_service("show", "http", function(applet)
  local t0 = core.now()
  local waited = coroutine.wrap(function()
    core.msleep(200)
    return "svc"
  end)()
  local body = tostring(applet:get_var("txn.r")) .. "|" .. waited .. "\n"
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)
EOF
$t->write_file_expand('co.cfg', <<'EOF');
global
   nbproc 1
   lua-load co.lua

defaults
   mode http
   timeout connect 5s
   timeout client 30s
   timeout server 30s

frontend fe
   bind 127.0.0.1:%%PORT_8220%%
   http-request lua.co if { path /co }
   http-request set-var(txn.r) lua.co_fetch if { path /fetch }
   http-request use-service lua.show

frontend echo
   bind 127.0.0.1:%%PORT_8221%%
   mode tcp
   tcp-request inspect-delay 1s
   tcp-request content use-service lua.echo_tcp
EOF
$t->run;
$t->plan(4);

my $port = $t->port(8220);
my $t0 = time;
my ($slow, $fast) = $t->http_get_many($port, ['/co', '/fetch']);
is($slow->{body}, "g1,g2,g3,end,true:echo nested,false:boom,false:wboom,"
    . "false|svc\n", 'waits inside user coroutines suspend the run and resume it');
like($fast->{body}, qr/^false:.*yield not allowed\|svc\n\z/,
    'in a fetch the wait fails inside the coroutine only');
cmp_ok(time - $t0, '<', 3, 'no wait blocked the worker');
my ($a, $b) = $t->http_get_many($port, ['/', '/']);
is($a->{body} . $b->{body}, "nil|svc\nnil|svc\n",
    'services waiting in coroutines run side by side');

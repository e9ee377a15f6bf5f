#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Wrong-type calls into every class raise Lua errors, never crash: core,
# act, TXN, Reply, Fetches, Converters, HTTP, Channel, Socket, Concat,
# Map, Regex, Proxy, Server, coroutine, AppletHTTP and AppletTCP methods
# are called with bad arguments (and bad selves) inside pcall; each must
# fail with the expected message, and the worker serves on. Run it under
# the sanitizer build too.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy qw(http_request_bytes);

my $t = Test::Luaproxy->new;
$t->write_file('good.map', "a 1\nb 2\n");
$t->write_file_expand('bad.lua', <<'EOF');
-- Each case: a name, a pattern its error must contain, and the call.
local function run_cases(cases)
  local bad, n = {}, 0
  for _, c in ipairs(cases) do
    n = n + 1
    local ok, err = pcall(c[3])
    if ok then
      bad[#bad + 1] = c[1] .. ": no error"
    elseif not string.find(tostring(err), c[2], 1, true) then
      bad[#bad + 1] = c[1] .. ": " .. tostring(err)
    end
  end
  if #bad == 0 then return "OK " .. n end
  return table.concat(bad, "\n")
end

local BAD = "bad argument"
local m = Map.new("%%TESTDIR%%/good.map", Map._str)

core.register_action("bad", { "http-req" }, function(txn)
  local s = core.tcp()
  local ok, re = Regex.new("a(b)c", true)
  local px = core.frontends["fe"]
  local sv = core.backends["be"].servers["s1"]
  local cc = core.concat()
  local reply = txn:reply()
  local cases = {
    { "core.log level type", BAD, function() core.log("x", "y") end },
    { "core.log level range", "Invalid loglevel", function() core.log(99, "y") end },
    { "core.Info", BAD, function() core.Info({}) end },
    { "core.register_action", "not available", function()
        core.register_action("x", { "http-req" }, function() end) end },
    { "core.register_service", "not available", function()
        core.register_service("x", "http", function() end) end },
    { "core.register_task", BAD, function() core.register_task("nofn") end },
    { "core.msleep", BAD, function() core.msleep("abc") end },
    { "core.sleep", BAD, function() core.sleep({}) end },
    { "core.tokenize str", BAD, function() core.tokenize(nil, ",") end },
    { "core.tokenize seps", BAD, function() core.tokenize("a", nil) end },
    { "core.parse_addr", BAD, function() core.parse_addr({}) end },
    { "core.match_addr", BAD, function() core.match_addr(1, 2) end },
    { "core.get_var scope", "Only 'proc' scope", function() core.get_var("txn.x") end },
    { "core.get_var type", BAD, function() core.get_var(nil) end },
    { "core.set_map unknown", "unknown map file", function()
        core.set_map("/nonexistent", "a", "b") end },
    { "core.set_map type", BAD, function() core.set_map(nil) end },
    { "core.del_map type", BAD, function() core.del_map("%%TESTDIR%%/good.map", {}) end },
    { "core.http_date", BAD, function() core.http_date({}) end },
    { "core.set_nice", BAD, function() core.set_nice("x") end },
    { "act:wake_time", BAD, function() act:wake_time("x") end },
    { "Concat:add", BAD, function() cc:add({}) end },
    { "Concat self", BAD, function() cc.add(nil, "x") end },
    { "TXN self", "TXN expected", function() txn.set_var(nil, "txn.x", 1) end },
    { "TXN:set_var name", BAD, function() txn:set_var(nil, 1) end },
    { "TXN:set_var value", BAD, function() txn:set_var("txn.x") end },
    { "TXN:get_var", BAD, function() txn:get_var({}) end },
    { "TXN:log level", BAD, function() txn:log("x", "y") end },
    { "TXN:log msg", BAD, function() txn:log(1) end },
    { "TXN:Info", BAD, function() txn:Info(nil) end },
    { "TXN:set_priv", BAD, function() txn:set_priv() end },
    { "TXN:get_priv self", "TXN expected", function() txn.get_priv({}) end },
    { "Reply:set_status", BAD, function() reply:set_status("x") end },
    { "Reply:add_header", BAD, function() reply:add_header(nil, "x") end },
    { "Fetches arg", BAD, function() txn.f:hdr({}) end },
    { "Fetches too many", "too many arguments", function() txn.f:path(1, 2, 3, 4, 5, 6, 7) end },
    { "Fetches self", "Fetches expected", function() txn.f.path(nil) end },
    { "Fetches arg check", "hdr", function() txn.f:hdr("host", "x") end },
    { "Converters input", BAD, function() txn.c:lower() end },
    { "Converters self", "Converters expected", function() txn.c.lower(nil, "x") end },
    { "Converters arg check", "bytes", function() txn.c:bytes("abc", "x") end },
    { "HTTP arg", BAD, function() txn.http:req_set_header(nil, "v") end },
    { "HTTP direction", "not available", function() txn.http:res_set_status(200) end },
    { "HTTP self", "HTTP expected", function() txn.http.req_get_headers(nil) end },
    { "HTTP method", BAD, function() txn.http:req_set_method({}) end },
    { "Channel HTTP mode", "Cannot manipulate HAProxy channels in HTTP mode.",
      function() txn.req:data() end },
    { "Channel self", "Channel expected", function() txn.req.input(nil) end },
    { "Socket connect", BAD, function() s:connect(nil) end },
    { "Socket self", "Socket expected", function() s.connect(nil, "x") end },
    { "Socket receive pattern", BAD, function() s:receive({}) end },
    { "Socket receive size", "invalid size", function() s:receive(-5) end },
    { "Socket settimeout", BAD, function() s:settimeout("abc") end },
    { "Socket send", BAD, function() s:send({}) end },
    { "Map.new file", BAD, function() Map.new(nil) end },
    { "Map.new at run time", "cannot load map at runtime", function() Map.new("/nonexistent/map", Map._str) end },
    { "Map.new method", "unknown match method", function() Map.new("%%TESTDIR%%/good.map", 99) end },
    { "Map self", "Map expected", function() m.lookup(nil, "x") end },
    { "Map:lookup", BAD, function() m:lookup({}) end },
    { "Regex.new", BAD, function() Regex.new(nil) end },
    { "Regex self", "Regex expected", function() re.exec(nil, "x") end },
    { "Regex:match", BAD, function() re:match({}) end },
    { "Proxy self", "Proxy expected", function() px.get_name(nil) end },
    { "Server self", "Server expected", function() sv.get_addr(px) end },
    { "Server:set_weight", BAD, function() sv:set_weight({}) end },
    { "Server:set_addr", BAD, function() sv:set_addr(nil) end },
    { "coroutine.resume", "coroutine expected", function() coroutine.resume(1) end },
    { "coroutine.wrap", BAD, function() coroutine.wrap(1) end },
  }
  local report = run_cases(cases)
  -- soft failures: documented results, not errors
  local rok, rmsg = Regex.new("(")
  if rok ~= false or type(rmsg) ~= "string" then
    report = report .. "\nRegex.new('(') should return false, msg"
  end
  if type(sv:set_weight("abc")) ~= "string" then
    report = report .. "\nset_weight('abc') should return a message"
  end
  txn:set_var("txn.report", report)
end)

core.register_service("report", "http", function(applet)
  local body = tostring(applet:get_var("txn.report")) .. "\n"
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)

core.register_service("bad_http", "http", function(applet)
  local report = run_cases({
    { "AppletHTTP:set_status", BAD, function() applet:set_status("abc") end },
    { "AppletHTTP self", "AppletHTTP expected", function() applet.send(nil, "x") end },
    { "AppletHTTP:add_header", BAD, function() applet:add_header(nil, "x") end },
    { "AppletHTTP:receive", BAD, function() applet:receive({}) end },
    { "AppletHTTP:set_var", BAD, function() applet:set_var("txn.x") end },
    { "AppletHTTP:get_var", BAD, function() applet:get_var({}) end },
    { "AppletHTTP:set_priv", BAD, function() applet:set_priv() end },
    { "AppletHTTP fetch", "not available in Lua services", function() applet.f:path() end },
    { "AppletHTTP converter", BAD, function() applet.c:lower() end },
    { "core.tcp connect", BAD, function() core.tcp():connect({}) end },
  }) .. "\n"
  applet:add_header("content-length", #report)
  applet:start_response()
  applet:send(report)
end)

core.register_service("bad_tcp", "tcp", function(applet)
  local report = run_cases({
    { "AppletTCP self", "AppletTCP expected", function() applet.getline(nil) end },
    { "AppletTCP:send", BAD, function() applet:send({}) end },
    { "AppletTCP:receive", BAD, function() applet:receive("x") end },
    { "AppletTCP:set_priv", BAD, function() applet:set_priv() end },
    { "AppletTCP:set_var", BAD, function() applet:set_var(nil, 1) end },
    { "AppletTCP fetch self", "Fetches expected", function() applet.f.src(nil) end },
  })
  applet:send(report .. "\n")
end)

core.register_action("bad_chn", { "tcp-req" }, function(txn)
  local report = run_cases({
    { "Channel:data off", BAD, function() txn.req:data("x") end },
    { "Channel:set", BAD, function() txn.req:set({}) end },
    { "Channel:forward", BAD, function() txn.req:forward("x") end },
    { "Channel:forward neg", "invalid length", function() txn.req:forward(-1) end },
    { "Channel:insert", BAD, function() txn.req:insert(nil) end },
    { "TXN.http is nil on TCP", "attempt to index", function() return txn.http:req_get_headers() end },
  })
  txn.req:set("report " .. report .. "\n")
end)

core.register_service("echo_tcp", "tcp", function(applet)
  applet:send(applet:getline())
end)
EOF
$t->write_file_expand('bad.cfg', <<'EOF');
global
   nbproc 1
   lua-load bad.lua

defaults
   mode http
   timeout connect 5s
   timeout client 30s
   timeout server 30s

frontend fe
   bind 127.0.0.1:%%PORT_8210%%
   http-request use-service lua.bad_http if { path /applet }
   http-request lua.bad
   http-request use-service lua.report

backend be
   server s1 127.0.0.1:%%PORT_8213%%

frontend tcp
   bind 127.0.0.1:%%PORT_8211%%
   mode tcp
   tcp-request inspect-delay 1s
   tcp-request content use-service lua.bad_tcp

frontend chn
   bind 127.0.0.1:%%PORT_8212%%
   mode tcp
   tcp-request inspect-delay 2s
   tcp-request content lua.bad_chn
   tcp-request content use-service lua.echo_tcp
EOF
$t->run;
$t->plan(5);

my ($worker) = $t->worker_pids;
my $r = $t->http_get($t->port(8210), '/');
like($r->{body}, qr/^OK \d+\n\z/, 'core, TXN, Fetches, Converters, HTTP, '
    . 'Channel, Socket, Concat, Map, Regex, Proxy, Server: Lua errors')
    or diag($r->{body});
$r = $t->http_get($t->port(8210), '/applet');
like($r->{body}, qr/^OK \d+\n\z/, 'AppletHTTP: Lua errors') or diag($r->{body});
$r = $t->raw_request($t->port(8211), "hello\n", until => sub { $_[0] =~ /\n/ });
like($r->{data}, qr/^OK \d+\n\z/, 'AppletTCP: Lua errors') or diag($r->{data});
$r = $t->raw_request($t->port(8212), "x\n", until => sub { $_[0] =~ /\n/ });
like($r->{data}, qr/^report OK \d+\n\z/, 'Channel on TCP: Lua errors')
    or diag($r->{data});
is_deeply([$t->worker_pids], [$worker], 'the worker survived every call');

#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# The load-time side of the Lua bindings: lua-load runs the file while the
# configuration is parsed, with its extra words as "...", and a runtime
# error in the body is a configuration error at the lua-load line carrying
# the script's file:line; core.register_init runs after parsing and its
# error fails the load; lua-prepend-path reaches require(); actions consume
# exactly their nb_args words; service kinds are checked; tasks start in
# the worker; register_* is refused outside the body.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new;
mkdir $t->testdir . '/mods';
$t->write_file('mods/greeting.lua', "return { text = 'hi from module' }\n");
$t->write_file_expand('ok.lua', <<'EOF');
local a, b = ...
local greeting = require("greeting")
core.msleep(5000) -- skipped in body context, as in HAProxy
local inited = "no"
core.register_init(function() inited = "yes" end)

core.register_action("say", { "http-req" }, function(txn, x, y)
  txn:set_var("txn.answer", table.concat({ a, b, greeting.text, inited, x, y }, "|"))
end, 2)

core.register_task(function(word)
  core.msleep(50)
  core.Warning("task says " .. word .. " in worker")
end, "hello")

core.register_service("show", "http", function(applet)
  local body = tostring(applet:get_var("txn.answer")) .. "\n"
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)

core.register_service("tcpsvc", "tcp", function(applet) end)
EOF
$t->write_file_expand('ok.cfg', <<'EOF');
global
   nbproc 1
   lua-prepend-path %%TESTDIR%%/mods/?.lua
   lua-load ok.lua first second

defaults
   mode http
   timeout connect 5s
   timeout client 30s
   timeout server 30s

frontend fe
   bind 127.0.0.1:%%PORT_8150%%
   http-request lua.say one two if { path /say }
   http-request use-service lua.show
EOF
$t->write_file('body_error.lua', "local x = 1\nerror('bad body')\n");
$t->write_file('init_error.lua',
    "core.register_init(function()\n  error('init failed')\nend)\n");

$t->run;
$t->plan(9);

my $r = $t->http_get($t->port(8150), '/say');
is($r->{body}, "first|second|hi from module|yes|one|two\n",
    'lua-load args, lua-prepend-path, register_init, action args');
ok($t->wait_log(qr/task says hello in worker/), 'register_task ran in the worker');

my ($rc, $out) = $t->check_config(<<'EOF', 'body.cfg');
global
   lua-load body_error.lua
EOF
ok($rc != 0 && $out =~ /body\.cfg:2: .*body_error\.lua:2: bad body/,
    'body error: config error at the lua-load line with the script line')
    or diag($out);

($rc, $out) = $t->check_config(<<'EOF', 'init.cfg');
global
   lua-load init_error.lua
EOF
ok($rc != 0 && $out =~ /Lua init: init_error\.lua:2: init failed/,
    'register_init error fails the load') or diag($out);

($rc, $out) = $t->check_config(<<'EOF', 'noaction.cfg');
global
   lua-load ok.lua
frontend fe
   mode http
   bind 127.0.0.1:%%PORT_8151%%
   http-request lua.nosuch
EOF
ok($rc != 0 && $out =~ /noaction\.cfg:6: .*Lua action 'nosuch' not found/,
    'unknown Lua action: config error') or diag($out);

($rc, $out) = $t->check_config(<<'EOF', 'nargs.cfg');
global
   lua-prepend-path %%TESTDIR%%/mods/?.lua
   lua-load ok.lua
frontend fe
   mode http
   bind 127.0.0.1:%%PORT_8151%%
   http-request lua.say onlyone
EOF
ok($rc != 0 && $out =~ /nargs\.cfg:7: .*expects 2 arguments/,
    'too few action arguments: config error') or diag($out);

($rc, $out) = $t->check_config(<<'EOF', 'kind.cfg');
global
   lua-prepend-path %%TESTDIR%%/mods/?.lua
   lua-load ok.lua
frontend fe
   mode http
   bind 127.0.0.1:%%PORT_8151%%
   http-request use-service lua.tcpsvc
EOF
ok($rc != 0 && $out =~ /Lua TCP services cannot be used on HTTP proxies/,
    'TCP service on an HTTP proxy refused') or diag($out);

$t->write_file('fetch.lua', "core.register_fetches('f', function() return 1 end)\n");
($rc, $out) = $t->check_config(<<'EOF', 'fetch.cfg');
global
   lua-load fetch.lua
frontend fe
   mode http
   bind 127.0.0.1:%%PORT_8151%%
   http-request set-var(txn.x) lua.nosuchfetch
EOF
ok($rc != 0 && $out =~ /nosuchfetch/, 'unknown lua.* fetch refused')
    or diag($out);

($rc, $out) = $t->check_config(<<'EOF', 'fetchok.cfg');
global
   lua-load fetch.lua
frontend fe
   mode http
   bind 127.0.0.1:%%PORT_8151%%
   http-request set-var(txn.x) lua.f,lua.conv
EOF
ok($rc != 0 && $out =~ /conv/, 'unknown lua.* converter refused')
    or diag($out);

#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# txn:set_var / get_var / unset_var convert as HAProxy does: a boolean is
# stored as a boolean that "-m bool" matches, a number stores its value
# when it is an integer (2.0 too) and 0 otherwise (HAProxy 2.6 reads it
# with lua_tointeger: 2.9 gives 0), a string stays a string (cast with a leading-integer parse by
# -m bool), and nil or a table store boolean false. get_var returns
# booleans as integers 0/1. set_var/unset_var return booleans; an unknown
# scope is refused with false. Variables reach the config's ACLs and are
# shared between an action and the service that answers.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new;
$t->write_file_expand('vars.lua', <<'EOF');
local values = {
  ["true"] = true, ["false"] = false, one = 1, zero = 0, float = 0.7,
  float2 = 2.9, whole = 2.0, str1 = "1", strtrue = "true", table = {},
}

core.register_action("setv", { "http-req" }, function(txn)
  local which = string.match(txn.sf:path(), "^/%a+/(.*)$")
  if which == "unset" then return end
  local ok = txn:set_var("txn.v", values[which])
  txn:set_var("txn.ret", ok)
end)

core.register_action("misc", { "http-req" }, function(txn)
  local r = {}
  r[#r + 1] = tostring(txn:set_var("nosuchscope.x", 1))
  r[#r + 1] = tostring(txn:set_var("txn.s", "abc"))
  r[#r + 1] = tostring(txn:get_var("txn.s"))
  r[#r + 1] = tostring(txn:unset_var("txn.s"))
  r[#r + 1] = tostring(txn:get_var("txn.s"))
  r[#r + 1] = tostring(txn:get_var("txn.never"))
  r[#r + 1] = tostring(txn:set_var("req.r", 5))
  r[#r + 1] = tostring(txn:get_var("req.r"))
  txn:set_var("txn.misc", table.concat(r, ","))
end)

core.register_service("show", "http", function(applet)
  local v = applet:get_var("txn.v")
  local body = math.type(v) or type(v)
  body = body .. ":" .. tostring(v) .. ":" .. tostring(applet:get_var("txn.ret"))
  if applet:get_var("txn.misc") then body = applet:get_var("txn.misc") end
  body = body .. "\n"
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)
EOF
$t->write_file_expand('vars.cfg', <<'EOF');
global
   nbproc 1
   lua-load vars.lua

defaults
   mode http
   timeout connect 5s
   timeout client 30s
   timeout server 30s

frontend matrix
   bind 127.0.0.1:%%PORT_8130%%
   http-request lua.setv
   http-request deny deny_status 200 if { var(txn.v) -m bool }
   http-request deny deny_status 404

frontend show
   bind 127.0.0.1:%%PORT_8131%%
   http-request lua.misc if { path /misc/x }
   http-request lua.setv
   http-request use-service lua.show
EOF
$t->run;

# value => [matches -m bool, what get_var returns (math.type or type:value)]
my @cases = (
    ['true',    1, 'integer:1'],
    ['false',   0, 'integer:0'],
    ['one',     1, 'integer:1'],
    ['zero',    0, 'integer:0'],
    ['float',   0, 'integer:0'],
    ['float2',  0, 'integer:0'],
    ['whole',   1, 'integer:2'],
    ['str1',    1, 'string:1'],
    ['strtrue', 0, 'string:true'],
    ['nil',     0, 'integer:0'],
    ['table',   0, 'integer:0'],
);
$t->plan(2 * @cases + 2);

for my $c (@cases) {
    my ($name, $match, $got) = @$c;
    my $r = $t->http_get($t->port(8130), "/m/$name");
    is($r->{status}, $match ? 200 : 404,
        "set_var($name) " . ($match ? 'matches' : 'does not match')
            . ' -m bool');
    $r = $t->http_get($t->port(8131), "/s/$name");
    is($r->{body}, "$got:1\n", "set_var($name): get_var gives $got, "
        . "set_var returned true (read back as 1)");
}

my $r = $t->http_get($t->port(8130), '/m/unset');
is($r->{status}, 404, 'unset variable does not match -m bool');

$r = $t->http_get($t->port(8131), '/misc/x');
is($r->{body}, "false,true,abc,true,nil,nil,true,5\n",
    'unknown scope refused; unset_var removes; req scope works');

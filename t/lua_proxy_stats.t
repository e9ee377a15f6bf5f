#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Proxy.listeners (keyed by the bind's "name", else "sock-N") and
# Listener:get_stats(); Proxy:get_stats() for a frontend (current
# sessions) and a backend (sessions, totals, queue, active and backup
# servers, status); Server:get_stats(), get_cur_sess() and
# get_pend_conn() while requests wait in the backend's queue behind a
# server with maxconn 1; and core.register_cli accepted at load.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::IP;
use Test::More;
use Test::Luaproxy qw(http_request_bytes parse_response);
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new(timeout => 60);
$t->write_file('stats.lua', <<'EOF');
core.register_cli({"show", "hello"}, "show hello : says hello",
  function(applet) applet:send("hello\n") end)
local cli_errors = {
  (select(2, pcall(core.register_cli, "show", "u", print))),
  (select(2, pcall(core.register_cli, {"a", 1}, "u", print))),
  (select(2, pcall(core.register_cli, {"a"}, "u", "x"))),
}

local function line(t, keys)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = k .. "=" .. tostring(t[k]) end
  return table.concat(out, " ")
end

core.register_service("slow", "http", function(applet)
  core.msleep(tonumber(applet.qs) or 100)
  applet:add_header("content-length", 2)
  applet:start_response()
  applet:send("ok")
end)

core.register_service("stats", "http", function(applet)
  local fe, be = core.frontends.fe, core.backends.be
  local s1 = be.servers.s1
  local names = {}
  for k in pairs(fe.listeners) do names[#names + 1] = k end
  table.sort(names)
  local out = {
    "listeners " .. table.concat(names, ","),
    line(fe.listeners.web:get_stats(),
         {"pxname", "svname", "sid", "type", "status", "slim"}),
    line(fe.listeners["sock-2"]:get_stats(), {"svname", "sid", "slim"}),
    line(fe:get_stats(), {"pxname", "svname", "type", "status", "scur"}),
    line(be:get_stats(), {"pxname", "svname", "type", "status", "act", "bck",
                          "scur", "stot", "qcur"}),
    "s1 " .. s1:get_cur_sess() .. " " .. s1:get_pend_conn(),
    line(s1:get_stats(), {"pxname", "svname", "iid", "sid", "type", "status",
                          "scur", "stot", "lbtot", "slim"}),
    "srv " .. be:get_srv_act() .. " " .. be:get_srv_bck(),
    "cli " .. table.concat(cli_errors, "|"),
  }
  local body = table.concat(out, "\n") .. "\n"
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)
EOF
$t->write_file_expand('stats.cfg', <<'EOF');
global
   nbproc 1
   lua-load stats.lua

defaults
   mode http
   timeout connect 5s
   timeout client 30s
   timeout server 30s
   timeout queue 30s

frontend fe
   bind 127.0.0.1:%%PORT_8210%% name web
   bind 127.0.0.1:%%PORT_8211%% maxconn 50
   http-request use-service lua.stats if { path /stats }
   default_backend be

backend be
   server s1 127.0.0.1:%%PORT_8212%% maxconn 1
   server s2 127.0.0.1:%%PORT_8212%% backup

frontend slow
   bind 127.0.0.1:%%PORT_8212%%
   http-request use-service lua.slow
EOF
$t->run;
$t->plan(11);

my $port = $t->port(8210);
for (1 .. 3) {
    $t->http_get($port, '/x');
}

# Three requests at once: one on s1 (maxconn 1), two in the queue.
my @socks = map {
    my $s = IO::Socket::IP->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        Proto => 'tcp') or die "connect: $!";
    print $s http_request_bytes('GET', '/y?1500');
    $s;
} 1 .. 3;
sleep 0.5;
my @l = split /\n/, $t->http_get($port, '/stats')->{body} // '';

is($l[0], 'listeners sock-2,web', 'listeners: the name option, else sock-N');
is($l[1], 'pxname=fe svname=web sid=1 type=3 status=OPEN slim=0',
    'Listener:get_stats()');
is($l[2], 'svname=sock-2 sid=2 slim=50', 'an unnamed listener, its maxconn');
is($l[3], 'pxname=fe svname=FRONTEND type=0 status=OPEN scur=4',
    'frontend stats: the current sessions');
is($l[4], 'pxname=be svname=BACKEND type=1 status=UP act=1 bck=1 scur=1 '
    . 'stot=4 qcur=2', 'backend stats: sessions, total, queue, servers');
is($l[5], 's1 1 2', 'Server:get_cur_sess() and get_pend_conn()');
is($l[6], 'pxname=be svname=s1 iid=2 sid=1 type=2 status=no check scur=1 '
    . 'stot=4 lbtot=4 slim=1',
    'Server:get_stats(): the "show stat" line ("no check", as HAProxy)');
is($l[7], 'srv 1 1', 'get_srv_act() and get_srv_bck()');
like($l[8] // '', qr/^cli .*#1 .*\(1st argument must be a table\)\|
    .*\(1st\ argument\ must\ be\ a\ table\ filled\ with\ strings\)\|
    .*\#3\ .*\(function\ expected,\ got\ string\)\z/x,
    'register_cli: HAProxy\'s argument errors');

my $ok = 0;
for my $s (@socks) {
    my ($buf, $resp) = ('');
    my $end = time + 10;
    while (!$resp && time < $end) {
        last unless sysread($s, $buf, 4096, length $buf);
        ($resp) = parse_response($buf, 0);
    }
    $ok++ if $resp && $resp->{body} eq 'ok';
}
is($ok, 3, 'the queued requests are served');
@l = split /\n/, $t->http_get($port, '/stats')->{body} // '';
is($l[4], 'pxname=be svname=BACKEND type=1 status=UP act=1 bck=1 scur=0 '
    . 'stot=6 qcur=0', 'the queue drained, the totals counted');

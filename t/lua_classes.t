#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# The utility classes through real requests: Map (every match method,
# lookup/slookup, core.set_map/del_map/add_acl/del_acl), Regex (new,
# exec, match), core.parse_addr/match_addr, the core.http_date family,
# core.get_var, core.proxies/frontends/backends with Proxy and Server
# (names, caps, modes, stats, addresses, weights, maxconn, drain, maint,
# ready, and the weight change reaching load balancing), and
# act:wake_time with act.YIELD.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time);

my $t = Test::Luaproxy->new;
$t->write_file('str.map', "# comment\n\nalpha one\nbeta  two words \n");
$t->write_file('beg.map', "/api v1\n/api/v2 v2\n");
$t->write_file('ip.map', "10.0.0.0/8 ten\n10.1.0.0/16 ten-one\n::1 six\n");
$t->write_file('int.map', "1:10 small\n11: big\n");
$t->write_file('reg.map', "^/img/.*\\.png\$ png\n");
$t->write_file('dom.map', "example.com dom\n");
$t->write_file('dir.map', "/static dir\n");
$t->write_file_expand('cls.lua', <<'EOF');
local D = "%%TESTDIR%%/"
local maps = {
  str = Map.new(D .. "str.map", Map._str),
  beg = Map.new(D .. "beg.map", Map._beg),
  ip = Map.new(D .. "ip.map", Map._ip),
  int = Map.new(D .. "int.map", Map.int),
  reg = Map.new(D .. "reg.map", Map._reg),
  dom = Map.new(D .. "dom.map", Map._dom),
  dir = Map.new(D .. "dir.map", Map._dir),
  sub = Map.new(D .. "str.map", Map._sub),
  fin = Map.new(D .. "beg.map", Map._end),
}
local ok, re = Regex.new("^(\\w+)-(\\d+)$", true)
local _, rei = Regex.new("abc", false)

local function out(...)
  local lines = {}
  for i = 1, select("#", ...) do lines[i] = tostring((select(i, ...))) end
  return table.concat(lines, "\n") .. "\n"
end

local function reply(applet, body)
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end

core.register_service("maps", "http", function(applet)
  reply(applet, out(
    maps.str:lookup("alpha"), maps.str:lookup("beta"), maps.str:lookup("gamma"),
    "[" .. maps.str:slookup("gamma") .. "]",
    maps.beg:lookup("/api/v2/x"), maps.beg:lookup("/other"),
    maps.ip:lookup("10.1.2.3"), maps.ip:lookup("10.9.9.9"), maps.ip:lookup("::1"),
    maps.ip:lookup("11.0.0.1"),
    maps.int:lookup("5"), maps.int:lookup("500"), maps.int:lookup("x"),
    maps.reg:lookup("/img/a.png"), maps.reg:lookup("/img/a.gif"),
    maps.dom:lookup("www.example.com"), maps.dom:lookup("example.community"),
    maps.dir:lookup("/a/static/b"), maps.dir:lookup("/a/staticx"),
    maps.sub:lookup("xxbetayy"), maps.fin:lookup("x/api")
  ))
end)

core.register_service("edit", "http", function(applet)
  core.set_map(D .. "str.map", "gamma", "three")
  core.set_map(D .. "str.map", "alpha", "uno")
  core.del_map(D .. "str.map", "beta")
  core.add_acl(D .. "dom.map", "example.org")
  local r = { maps.str:lookup("gamma"), maps.str:lookup("alpha"),
              maps.str:lookup("beta"), maps.sub:lookup("zzgammazz"),
              "[" .. maps.dom:slookup("a.example.org") .. "]" }
  core.del_acl(D .. "dom.map", "example.org")
  r[6] = maps.dom:lookup("a.example.org")
  reply(applet, out(table.unpack(r, 1, 6)))
end)

core.register_service("regex", "http", function(applet)
  local m, caps = re:match("abc-42")
  local nm = re:match("abc")
  reply(applet, out(ok, re:exec("abc-42"), re:exec("ABC_x"), m, caps[1],
    caps[2], caps[3], nm, rei:exec("xABCx"), (Regex.new("("))))
end)

core.register_service("util", "http", function(applet)
  local n8 = core.parse_addr("10.0.0.0/8")
  local h = core.parse_addr("10.2.3.4")
  local o = core.parse_addr("192.168.0.1/255.255.0.0")
  local v6 = core.parse_addr("2001:db8::/32")
  local v6h = core.parse_addr("2001:db8::1")
  reply(applet, out(
    core.match_addr(n8, h), core.match_addr(h, n8), core.match_addr(n8, o),
    core.match_addr(v6, v6h), core.match_addr(v6, h), tostring(o),
    core.parse_addr("nonsense"),
    core.http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
    core.http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
    core.http_date("Sun Nov  6 08:49:37 1994"),
    core.imf_date("Sun Nov  6 08:49:37 1994"),
    core.rfc850_date("Sunday, 06-Nov-94 08:49:37 GMT"),
    core.asctime_date("Sun Nov  6 08:49:37 1994"),
    core.http_date("garbage"),
    core.get_var("proc.greeting"), core.get_var("proc.unset")
  ))
end)

core.register_service("proxies", "http", function(applet)
  local be = core.backends["be"]
  local s1, s2 = be.servers["s1"], be.servers["s2"]
  local names = {}
  for name in pairs(core.proxies) do names[#names + 1] = name end
  table.sort(names)
  local fes = {}
  for name in pairs(core.frontends) do fes[#fes + 1] = name end
  table.sort(fes)
  reply(applet, out(
    table.concat(names, " "), table.concat(fes, " "),
    be:get_name(), be.name, be:get_cap(), core.proxies["fe"]:get_cap(),
    core.proxies["both"]:get_cap(), be:get_mode(), core.proxies["tcpfe"]:get_mode(),
    be:get_stats().pxname, be:get_srv_act(), be:get_srv_bck(),
    s1:get_name(), s1.name, s1:get_addr(), s1:get_weight(), s1:get_maxconn(),
    s2:is_backup(), s1:is_backup(), s1:get_proxy():get_name(),
    s1:set_maxconn("42"), s1:get_maxconn(), s1:set_maxconn("x")
  ))
end)

core.register_service("weights", "http", function(applet)
  local be = core.backends["be"]
  local s1 = be.servers["s1"]
  local w = applet.qs
  local r = {}
  if w == "drain" then
    s1:set_drain()
    r = { s1:is_draining(), s1:get_weight(), s1:get_stats().status, n = 3 }
  elseif w == "ready" then
    s1:set_ready()
    r = { s1:is_draining(), s1:get_weight(), s1:get_stats().status, n = 3 }
  elseif w == "maint" then
    s1:set_maint()
    r = { s1:get_stats().status, be:get_srv_act() }
  else
    r = { s1:set_weight(w), s1:get_weight() }
  end
  reply(applet, out(table.unpack(r, 1, r.n)))
end)

core.register_action("again", { "http-req" }, function(txn)
  local n = (txn:get_priv() or 0) + 1
  txn:set_priv(n)
  if n < 3 then
    act:wake_time(150)
    return act.YIELD
  end
  txn:set_var("txn.n", n)
end)

core.register_service("show_n", "http", function(applet)
  reply(applet, tostring(applet:get_var("txn.n")) .. "\n")
end)
EOF
$t->write_file_expand('cls.cfg', <<'EOF');
global
   nbproc 1
   lua-load cls.lua

defaults
   mode http
   timeout connect 5s
   timeout client 30s
   timeout server 30s

frontend fe
   bind 127.0.0.1:%%PORT_8230%%
   http-request use-service lua.maps if { path /maps }
   http-request use-service lua.edit if { path /edit }
   http-request use-service lua.regex if { path /regex }
   http-request set-var(proc.greeting) str(hello) if { path /util }
   http-request use-service lua.util if { path /util }
   http-request use-service lua.proxies if { path /proxies }
   http-request use-service lua.weights if { path /weights }
   http-request lua.again if { path /again }
   http-request use-service lua.show_n if { path /again }
   default_backend be

backend be
   server s1 127.0.0.1:%%PORT_8231%% weight 10 maxconn 7
   server s2 127.0.0.1:%%PORT_8232%% backup

listen both
   bind 127.0.0.1:%%PORT_8233%%
   server x 127.0.0.1:%%PORT_8231%%

frontend tcpfe
   bind 127.0.0.1:%%PORT_8234%%
   mode tcp
   default_backend tcpbe

backend tcpbe
   mode tcp
   server t 127.0.0.1:%%PORT_8231%%
EOF
$t->http_origin(8231, sub { [200, [], "s1\n"] });
$t->http_origin(8232, sub { [200, [], "s2\n"] });
$t->run;
$t->plan(12);

my $port = $t->port(8230);
my $s1 = "127.0.0.1:" . $t->port(8231);
sub body { return $t->http_get($port, $_[0])->{body} // '' }

is(body('/maps'), join("\n", qw(one), 'two words', 'nil', '[]', 'v2', 'nil',
    'ten-one', 'ten', 'six', 'nil', 'small', 'big', 'nil', 'png', 'nil', 'dom',
    'nil', 'dir', 'nil', 'two words', 'v1') . "\n",
    'Map: str, beg, ip (longest prefix), int ranges, reg, dom, dir, sub, end');
is(body('/edit'), "three\nuno\nnil\nthree\n[]\nnil\n",
    'core.set_map/del_map edit every map of the file; add_acl/del_acl');
like(body('/regex'), qr/^true\ntrue\nfalse\ntrue\nabc-42\nabc\n42\nfalse\n
    true\nfalse\n\z/x, 'Regex: new, exec, match with captures, caseless');
is(body('/util'), join("\n", qw(true true false true false 192.168.0.1/16 nil
    784111777 784111777 784111777 nil 784111777 784111777 nil hello nil))
    . "\n", 'parse_addr/match_addr, the http_date family, core.get_var');
is(body('/proxies'), join("\n", 'be both fe tcpbe tcpfe', 'both fe tcpfe', 'be',
    'be', 'backend', 'frontend', 'proxy', 'http', 'tcp', 'be', 1, 1, 's1', 's1',
    $s1, 10, 7, 'true', 'false', 'be', 'nil', 42, 'Integer value expected.')
    . "\n", 'core.proxies/frontends/backends, Proxy and Server getters');

my %seen;
$seen{ body('/x') }++ for 1 .. 4;
is_deeply(\%seen, { "s1\n" => 4 }, 'traffic goes to s1 (s2 is a backup)');
is(body('/weights?drain'), "1\n0\nDRAIN\n",
    'set_drain: weight 0; is_draining is 1 (an integer, as in HAProxy 2.6)');
$seen{ body('/x') }++ for 1 .. 2;
is($seen{"s2\n"}, 2, 'a drained server gets no new traffic');
is(body('/weights?ready'), "0\n10\nno check\n",
    'set_ready restores the weight; status "no check" as HAProxy');
is(body('/weights?50%'), "nil\n5\n", 'set_weight("50%")');
is(body('/weights?maint'), "MAINT\n0\n", 'set_maint');

my $t0 = time;
my $r = $t->http_get($port, '/again');
ok($r->{body} eq "3\n" && time - $t0 >= 0.28,
    sprintf('act.YIELD runs again after act:wake_time (%.2fs)', time - $t0));

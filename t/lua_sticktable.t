#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# The StickTable class through real requests: track-sc rules fill tables
# of every key type (ip, ipv6, integer, string with and without "len",
# binary) in two workers, then a Lua service prints Proxy.stktable,
# tbl:info(), tbl:dump() with and without filters (and every bad filter)
# and tbl:lookup() of present, absent and unconvertible keys, one line
# per call. The lines must be those written below, which are HAProxy
# 2.6's but for one documented difference (dump gives integer keys whole,
# HAProxy their first byte); when HAProxy is installed, its answers to the
# same requests are compared too. Then wrong-type calls raise Lua errors
# and the worker lives on, an action reads the entry of its own client,
# a dump of many keys, and expired entries leaving dump and info.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 90);

$t->write_file('st.lua', <<'EOF2');
-- v as text, tables with sorted keys; an entry's "expire" (next to its
-- "use") is "set" when counting down, as its value depends on time
local function ser(v, k, parent)
  if type(v) ~= "table" then
    if k == "expire" and parent.use and v > 0 then
      return "set"
    end
    local ty = math.type(v) or type(v)
    if type(v) == "string" then v = string.format("%q", v) end
    return tostring(v) .. "(" .. ty .. ")"
  end
  local keys = {}
  for key in pairs(v) do keys[#keys + 1] = key end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for _, key in ipairs(keys) do
    parts[#parts + 1] = tostring(key) .. "=" .. ser(v[key], key, v)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- "name: results" of f(...), or "name: error"
local function show(out, name, f, ...)
  local r = table.pack(pcall(f, ...))
  if not r[1] then out[#out + 1] = name .. ": error"; return end
  local parts = {}
  for i = 2, r.n do parts[#parts + 1] = ser(r[i]) end
  out[#out + 1] = name .. ": " .. table.concat(parts, " | ")
end

local function reply(applet, out)
  local body = table.concat(out, "\n") .. "\n"
  applet:set_status(200)
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end

local function tables(out, px)
  for _, n in ipairs({ "ipt", "ip6", "intt", "strt", "strl", "bint", "nost" }) do
    local t = px[n].stktable
    show(out, n .. " stktable", function() return type(t) end)
    if t then
      show(out, n .. " info", t.info, t)
      if n ~= "intt" then show(out, n .. " dump", t.dump, t) end
    end
  end
end

local function lookups(out, px)
  local t, t6, ti = px.ipt.stktable, px.ip6.stktable, px.intt.stktable
  local ts, tl, tb = px.strt.stktable, px.strl.stktable, px.bint.stktable
  show(out, "lookup ip", t.lookup, t, "127.0.0.1")
  show(out, "lookup ip absent", t.lookup, t, "10.0.0.1")
  show(out, "lookup ip bad", t.lookup, t, "nope")
  show(out, "lookup ip number", t.lookup, t, 12)
  show(out, "lookup ip table", t.lookup, t, {})
  show(out, "lookup ip nil", t.lookup, t)
  show(out, "lookup ip v6 text", t.lookup, t, "::1")
  show(out, "lookup6", t6.lookup, t6, "::ffff:127.0.0.1")
  show(out, "lookup6 v4 text", t6.lookup, t6, "127.0.0.1")
  show(out, "lookup int", ti.lookup, ti, "300")
  show(out, "lookup int number", ti.lookup, ti, 300)
  show(out, "lookup int negative", ti.lookup, ti, "-5")
  show(out, "lookup int bad", ti.lookup, ti, "3x")
  show(out, "lookup str", ts.lookup, ts, "alpha")
  show(out, "lookup str absent", ts.lookup, ts, "zzz")
  show(out, "lookup str long", ts.lookup, ts, string.rep("0123456789", 4))
  show(out, "lookup str cut", ts.lookup, ts, string.rep("0123456789", 3) .. "0")
  show(out, "lookup strl long", tl.lookup, tl, "abcdefghij")
  show(out, "lookup strl cut", tl.lookup, tl, "abcd")
  show(out, "lookup strl short", tl.lookup, tl, "abc")
  show(out, "lookup bin", function()
    local e = tb:lookup("ab")
    return e and e.http_req_cnt
  end)
  show(out, "lookup bin absent", tb.lookup, tb, "ac")
end

local function dumps(out, px)
  local t = px.ipt.stktable
  local g0 = { "gpc0", "eq", 0 }
  local cases = {
    { "f gt", { { "http_req_cnt", "gt", 1 } } },
    { "f two", { { "http_req_cnt", "ge", 1 }, g0 } },
    { "f none", { { "http_req_cnt", "lt", 1 } } },
    { "f ne", { { "gpc0", "ne", 0 } } },
    { "f le", { { "http_req_cnt", "le", 8 } } },
    { "f five", { g0, g0, g0, g0, g0 } },
    { "f four", { g0, g0, g0, g0 } },
    { "f pair", { { "gpc0", "eq" } } },
    { "f word", { "gpc0" } },
    { "f col number", { { 1, "eq", 0 } } },
    { "f col unknown", { { "nope", "eq", 0 } } },
    { "f col not stored", { { "gpc1", "eq", 0 } } },
    { "f op number", { { "gpc0", 1, 0 } } },
    { "f op unknown", { { "gpc0", "xx", 0 } } },
    { "f second bad", { g0, { "gpc0", "xx", 0 } } },
    { "f value text", { { "gpc0", "eq", "0" } } },
    { "f value word", { { "gpc0", "eq", "zz" } } },
    { "f value float", { { "gpc0", "eq", 0.5 } } },
    { "f string", "x" },
    { "f number", 5 },
    { "f empty", {} },
    { "f rate", { { "http_req_rate", "ge", 1 } } },
    { "f keyed", { a = g0 } },
  }
  for _, c in ipairs(cases) do show(out, "dump " .. c[1], t.dump, t, c[2]) end
  local ts = px.strt.stktable
  show(out, "dump str gpc0_rate", ts.dump, ts, { { "gpc0_rate", "eq", 0 } })
  local tb = px.bint.stktable
  show(out, "dump bin none", tb.dump, tb, { { "http_req_cnt", "gt", 5 } })
end

core.register_service("st", "http", function(applet)
  local out = {}
  local px = core.proxies
  tables(out, px)
  lookups(out, px)
  dumps(out, px)
  reply(applet, out)
end)

-- integer keys: HAProxy 2.6 gives their first byte, we the whole key
core.register_service("ints", "http", function(applet)
  local out = {}
  local ti = core.proxies.intt.stktable
  show(out, "intt dump", ti.dump, ti)
  reply(applet, out)
end)

-- wrong types: each call raises an error (messages are ours)
core.register_service("bad", "http", function(applet)
  local out = {}
  local t = core.proxies.ipt.stktable
  for name, f in pairs({
    info_nil = function() return t.info() end,
    info_table = function() return t.info({}) end,
    dump_number = function() return t.dump(5) end,
    lookup_string = function() return t.lookup("x", "y") end,
    info_proxy = function() return t.info(core.proxies.ipt) end,
    dot_call = function() return t.dump() end,
  }) do
    local ok, err = pcall(f)
    out[#out + 1] = name .. " " .. tostring(ok) .. " " .. tostring(err)
  end
  table.sort(out)
  reply(applet, out)
end)

-- the entry of this request's client, from an action
core.register_action("mine", { "http-req" }, function(txn)
  local e = core.proxies.ipt.stktable:lookup(txn.f:src())
  txn:set_var("txn.mine", e and e.http_req_cnt .. " " .. e.use or "none")
end)

-- a count of dump()'s entries, and of those with a filter
core.register_service("many", "http", function(applet)
  local t = core.proxies.many.stktable
  local function count(d)
    local n = 0
    for _ in pairs(d) do n = n + 1 end
    return n
  end
  local _, sample = next(t:dump({ { "http_req_cnt", "eq", 2 } }))
  reply(applet, { count(t:dump()) .. " " .. count(t:dump({ { "http_req_cnt",
    "ge", 2 } })) .. " " .. t:info().used .. " " .. ser(sample) })
end)

core.register_service("short", "http", function(applet)
  local t = core.proxies.short.stktable
  local n = 0
  for _ in pairs(t:dump()) do n = n + 1 end
  reply(applet, { n .. " " .. t:info().used .. " " .. ser(t:lookup("k")) })
end)
EOF2

# One configuration; HAProxy 2.6 has no nbproc, so $global is ours only.
sub config {
    my ($port, $global) = @_;
    my $dir = $t->testdir;
    return <<"CFG";
global
    lua-load $dir/st.lua
$global
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:$port
    http-request track-sc0 src table ipt
    http-request track-sc1 src table ip6
    http-request track-sc2 req.hdr(x-i) table intt if { req.hdr(x-i) -m found }
    http-request sc-inc-gpc0(2) if { req.hdr(x-i) -m found }
    http-request track-sc2 req.hdr(x-s) table strt if { req.hdr(x-s) -m found }
    http-request track-sc2 req.hdr(x-l) table strl if { req.hdr(x-l) -m found }
    http-request track-sc2 req.hdr(x-b) table bint if { req.hdr(x-b) -m found }
    http-request track-sc2 req.hdr(x-m) table many if { req.hdr(x-m) -m found }
    http-request track-sc2 req.hdr(x-t) table short if { req.hdr(x-t) -m found }
    http-request use-service lua.st if { path /st }
    http-request use-service lua.ints if { path /ints }
    http-request use-service lua.bad if { path /bad }
    http-request use-service lua.many if { path /many }
    http-request use-service lua.short if { path /short }
    http-request lua.mine if { path /mine }
    http-request return status 200 content-type text/plain lf-string "%[var(txn.mine)]" if { path /mine }
    http-request return status 200
backend ipt
    stick-table type ip size 100 expire 30s store http_req_cnt,gpc0,http_req_rate(10s),conn_cur
backend ip6
    stick-table type ipv6 size 100 store http_req_cnt
backend intt
    stick-table type integer size 100 expire 20s store http_req_cnt,gpc0,server_id,gpt0 nopurge
backend strt
    stick-table type string size 100 expire 20s store http_req_cnt,gpc0_rate(5s)
backend strl
    stick-table type string len 4 size 100 store http_req_cnt
backend bint
    stick-table type binary len 6 size 100 store http_req_cnt
backend many
    stick-table type string size 1000 store http_req_cnt
backend short
    stick-table type string size 10 expire 1s store http_req_cnt
backend nost
    server s 127.0.0.1:1
CFG
}

my @fill = ([], [], ['x-i' => 300], ['x-i' => -5], ['x-s' => 'alpha'],
    ['x-s' => '0123456789' x 4], ['x-l' => 'abcdefghij'], ['x-b' => 'ab']);

# What HAProxy 2.6 answers to /st after @fill (checked against it when it
# is installed, below).
my $expected = <<'OUT';
ipt stktable: "table"(string)
ipt info: {data={conn_cur=-1(integer),gpc0=-1(integer),http_req_cnt=-1(integer),http_req_rate=10000(integer)},expire=30000(integer),length=4(integer),nopurge=false(boolean),size=100(integer),type="ip"(string),used=1(integer)}
ipt dump: {127.0.0.1={conn_cur=1(integer),gpc0=0(integer),http_req_cnt=9(integer),http_req_rate=9(integer)}}
ip6 stktable: "table"(string)
ip6 info: {data={http_req_cnt=-1(integer)},expire=0(integer),length=16(integer),nopurge=false(boolean),size=100(integer),type="ipv6"(string),used=1(integer)}
ip6 dump: {::ffff:127.0.0.1={http_req_cnt=9(integer)}}
intt stktable: "table"(string)
intt info: {data={gpc0=-1(integer),gpt0=-1(integer),http_req_cnt=-1(integer),server_id=-1(integer)},expire=20000(integer),length=4(integer),nopurge=true(boolean),size=100(integer),type="integer"(string),used=2(integer)}
strt stktable: "table"(string)
strt info: {data={gpc0_rate=5000(integer),http_req_cnt=-1(integer)},expire=20000(integer),length=32(integer),nopurge=false(boolean),size=100(integer),type="string"(string),used=2(integer)}
strt dump: {0123456789012345678901234567890={gpc0_rate=0(integer),http_req_cnt=1(integer)},alpha={gpc0_rate=0(integer),http_req_cnt=1(integer)}}
strl stktable: "table"(string)
strl info: {data={http_req_cnt=-1(integer)},expire=0(integer),length=5(integer),nopurge=false(boolean),size=100(integer),type="string"(string),used=1(integer)}
strl dump: {abcd={http_req_cnt=1(integer)}}
bint stktable: "table"(string)
bint info: {data={http_req_cnt=-1(integer)},expire=0(integer),length=6(integer),nopurge=false(boolean),size=100(integer),type="binary"(string),used=1(integer)}
bint dump: nil(nil) | "Unsupported stick table key type"(string)
nost stktable: "nil"(string)
lookup ip: {conn_cur=1(integer),expire=set,gpc0=0(integer),http_req_cnt=9(integer),http_req_rate=9(integer),use=1(integer)}
lookup ip absent: nil(nil)
lookup ip bad: nil(nil)
lookup ip number: nil(nil)
lookup ip table: nil(nil)
lookup ip nil: nil(nil)
lookup ip v6 text: nil(nil)
lookup6: {expire=0(integer),http_req_cnt=9(integer),use=1(integer)}
lookup6 v4 text: nil(nil)
lookup int: {expire=set,gpc0=1(integer),gpt0=0(integer),http_req_cnt=1(integer),server_id=0(integer),use=0(integer)}
lookup int number: {expire=set,gpc0=1(integer),gpt0=0(integer),http_req_cnt=1(integer),server_id=0(integer),use=0(integer)}
lookup int negative: {expire=set,gpc0=1(integer),gpt0=0(integer),http_req_cnt=1(integer),server_id=0(integer),use=0(integer)}
lookup int bad: nil(nil)
lookup str: {expire=set,gpc0_rate=0(integer),http_req_cnt=1(integer),use=0(integer)}
lookup str absent: nil(nil)
lookup str long: {expire=set,gpc0_rate=0(integer),http_req_cnt=1(integer),use=0(integer)}
lookup str cut: {expire=set,gpc0_rate=0(integer),http_req_cnt=1(integer),use=0(integer)}
lookup strl long: {expire=0(integer),http_req_cnt=1(integer),use=0(integer)}
lookup strl cut: {expire=0(integer),http_req_cnt=1(integer),use=0(integer)}
lookup strl short: nil(nil)
lookup bin: 1(integer)
lookup bin absent: nil(nil)
dump f gt: {127.0.0.1={conn_cur=1(integer),gpc0=0(integer),http_req_cnt=9(integer),http_req_rate=9(integer)}}
dump f two: {127.0.0.1={conn_cur=1(integer),gpc0=0(integer),http_req_cnt=9(integer),http_req_rate=9(integer)}}
dump f none: {}
dump f ne: {}
dump f le: {}
dump f five: nil(nil) | "Filter table too large (len > 4)"(string)
dump f four: {127.0.0.1={conn_cur=1(integer),gpc0=0(integer),http_req_cnt=9(integer),http_req_rate=9(integer)}}
dump f pair: nil(nil) | "Filter table entry must be a triplet: {\"data_col\", \"op\", val} (entry #1)"(string)
dump f word: nil(nil) | "Filter table entry must be a triplet: {\"data_col\", \"op\", val} (entry #1)"(string)
dump f col number: nil(nil) | "Filter table data column must be string (entry #1)"(string)
dump f col unknown: nil(nil) | "Filter table data column not present in stick table (entry #1)"(string)
dump f col not stored: nil(nil) | "Filter table data column not present in stick table (entry #1)"(string)
dump f op number: nil(nil) | "Filter table operator must be string (entry #1)"(string)
dump f op unknown: nil(nil) | "Unknown operator in filter table (entry #1)"(string)
dump f second bad: nil(nil) | "Unknown operator in filter table (entry #2)"(string)
dump f value text: {127.0.0.1={conn_cur=1(integer),gpc0=0(integer),http_req_cnt=9(integer),http_req_rate=9(integer)}}
dump f value word: {127.0.0.1={conn_cur=1(integer),gpc0=0(integer),http_req_cnt=9(integer),http_req_rate=9(integer)}}
dump f value float: {127.0.0.1={conn_cur=1(integer),gpc0=0(integer),http_req_cnt=9(integer),http_req_rate=9(integer)}}
dump f string: nil(nil) | "filter table expected"(string)
dump f number: nil(nil) | "filter table expected"(string)
dump f empty: {127.0.0.1={conn_cur=1(integer),gpc0=0(integer),http_req_cnt=9(integer),http_req_rate=9(integer)}}
dump f rate: {127.0.0.1={conn_cur=1(integer),gpc0=0(integer),http_req_cnt=9(integer),http_req_rate=9(integer)}}
dump f keyed: {127.0.0.1={conn_cur=1(integer),gpc0=0(integer),http_req_cnt=9(integer),http_req_rate=9(integer)}}
dump str gpc0_rate: {0123456789012345678901234567890={gpc0_rate=0(integer),http_req_cnt=1(integer)},alpha={gpc0_rate=0(integer),http_req_cnt=1(integer)}}
dump bin none: {}
OUT

# Sends @fill then GET /st to <port>; the answer's lines. The fill's
# connections must have left the tables first (conn_cur): the other worker
# may see a client close a moment later, so <settled> waits for it.
sub answers {
    my ($port, $settled) = @_;
    $t->http_get($port, '/', headers => $_) for @fill;
    $settled->();
    return split /\n/, $t->http_get($port, '/st')->{body} // '';
}

my $lp_port = $t->port(8080);
$t->write_file('lp.cfg', config($lp_port, "    nbproc 2\n"
    . "    stats socket @{[$t->testdir]}/admin.sock level admin"));
$t->run;
$t->wait_log(qr/(?s:ready, generation 1.*){2}/);
my @lp = answers($lp_port, sub {
    my $n = 0;
    sleep 0.05 while ($t->cli('admin.sock', "show table ipt\n") // '')
        =~ /conn_cur=[1-9]/ && ++$n < 40;
});
my @want = split /\n/, $expected;

my @ha;
if (-x $haproxy) {
    $t->write_file('ha.cfg', config($t->port(8081), ''));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8081));
    @ha = answers($t->port(8081), sub { sleep 0.3 });
}

$t->plan(2 * @want + 2 + 16);
for my $i (0 .. $#want) {
    my ($name) = $want[$i] =~ /^([^:]+):/;
    is($lp[$i] // '<none>', $want[$i], $name);
  SKIP: {
        skip "no haproxy at $haproxy", 1 unless @ha;
        is($ha[$i] // '<none>', $want[$i], "$name (HAProxy 2.6)");
    }
}
is(scalar @lp, scalar @want, 'no other line');

# integer keys whole (HAProxy 2.6: 300 -> 44, -5 -> 251), as "show table"
# prints them
is($t->http_get($lp_port, '/ints')->{body},
    'intt dump: {300={gpc0=1(integer),gpt0=0(integer),http_req_cnt=1(integer),'
    . 'server_id=0(integer)},4294967291={gpc0=1(integer),gpt0=0(integer),'
    . "http_req_cnt=1(integer),server_id=0(integer)}}\n", 'integer keys whole');
like($t->cli('admin.sock', "show table intt\n"), qr/key=4294967291 .*key=300 |key=300 .*key=4294967291 /s,
    'show table prints integer keys unsigned, as HAProxy');

# wrong types raise errors; the worker answers on
my $bad = $t->http_get($lp_port, '/bad')->{body} // '';
like($bad, qr/^dot_call false .*StickTable expected, got no value/m,
    'method called with a dot');
like($bad, qr/^dump_number false .*StickTable expected, got number/m,
    'dump on a number');
like($bad, qr/^info_nil false .*StickTable expected, got no value/m,
    'info without self');
like($bad, qr/^info_proxy false .*StickTable expected, got table/m,
    'info on a Proxy');
like($bad, qr/^info_table false .*StickTable expected, got table/m,
    'info on a plain table');
like($bad, qr/^lookup_string false .*StickTable expected, got string/m,
    'lookup on a string');
is($t->http_get($lp_port, '/')->{status}, 200, 'the workers live on');

# an action reads its own client's entry: counted, and held by this stream
my $mine = $t->http_get($lp_port, '/mine')->{body} // '';
like($mine, qr/^\d+ 1$/, 'action: lookup of its own source, in use');
my ($n1) = $mine =~ /^(\d+)/;
my ($n2) = ($t->http_get($lp_port, '/mine')->{body} // '') =~ /^(\d+)/;
is($n2, $n1 + 1, 'the next request counts one more');

# many keys: every one dumped once, filters select, both workers counted
for my $i (1 .. 150) {
    $t->http_get($lp_port, '/', headers => ['x-m' => "k$i"]);
    $t->http_get($lp_port, '/', headers => ['x-m' => "k$i"]) if $i % 3 == 0;
}
is($t->http_get($lp_port, '/many')->{body},
    "150 50 150 {http_req_cnt=2(integer)}\n", 'dump of 150 keys, filtered');

# expired entries leave dump, info and lookup
$t->http_get($lp_port, '/', headers => ['x-t' => 'k']);
is($t->http_get($lp_port, '/short')->{body},
    "1 1 {expire=set,http_req_cnt=1(integer),use=0(integer)}\n",
    'a fresh entry');
sleep 1.3;
is($t->http_get($lp_port, '/short')->{body}, "0 0 nil(nil)\n",
    'expired: gone from dump, info and lookup');

# the worker still answers the dumps after all of it
like($t->http_get($lp_port, '/st')->{body} // '', qr/^ipt stktable: /,
    'dumps again');
is(scalar(() = $t->log_contents =~ /Lua.*error|ALERT/g), 0,
    'no Lua error logged');
$t->stop;
is($t->exit_status, 0, 'clean stop');

#!/usr/bin/perl
# One Lua script run by HAProxy (Debian's /usr/sbin/haproxy, when
# installed) and by us: a service and an action call the API with plain
# and awkward arguments and print what each call returned (values and
# their Lua types, or "error"), one line per call; every line must be the
# same from both servers. This is how the API keeps HAProxy's semantics
# where its documentation is silent. Values that differ by nature (pids,
# ports, times, the product name) are not printed, nor APIs HAProxy 2.6
# lacks (core.get_var came in 2.9), nor core.register_* at run time, which
# 2.6 ignores and we refuse (the Lua issue asks for body-only, as the
# documentation says).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use IO::Socket::INET;
use Time::HiRes qw(sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new;
$t->skip_all("no haproxy at $haproxy") unless -x $haproxy;

$t->write_file('str.map', "alpha one\nbeta two\n");
$t->write_file_expand('cmp.lua', <<'EOF2');
local D = "%%TESTDIR%%/"

-- "name: v1 (type) | v2 (type)" for what f returned, or "name: error".
local function show(out, name, f, ...)
  local r = table.pack(pcall(f, ...))
  local parts = {}
  if not r[1] then
    out[#out + 1] = name .. ": error"
    return
  end
  for i = 2, r.n do
    local v = r[i]
    local ty = math.type(v) or type(v)
    if type(v) == "table" then
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      v = "{" .. table.concat(keys, ",") .. "}"
    elseif type(v) == "userdata" or type(v) == "function" then
      v = type(v)
    elseif type(v) == "string" then
      v = string.format("%q", v):gsub("\\\n", "\\n")
    end
    parts[#parts + 1] = tostring(v) .. " (" .. ty .. ")"
  end
  out[#out + 1] = name .. ": " .. table.concat(parts, " | ")
end

local function core_calls(out)
  show(out, "tokenize", core.tokenize, "a,b;;c", ",;")
  show(out, "tokenize noblank", core.tokenize, "a,b;;c", ",;", true)
  show(out, "tokenize bad", core.tokenize, nil, ",")
  show(out, "parse_addr v4", function() return core.parse_addr("10.0.0.0/8") ~= nil end)
  show(out, "parse_addr bad", core.parse_addr, "nope")
  show(out, "match_addr", core.match_addr, core.parse_addr("10.1.0.0/16"),
    core.parse_addr("10.0.0.0/8"))
  show(out, "match_addr no", core.match_addr, core.parse_addr("192.168.0.1"),
    core.parse_addr("10.0.0.0/8"))
  show(out, "http_date", core.http_date, 784111777)
  show(out, "imf_date", core.imf_date, "Sun, 06 Nov 1994 08:49:37 GMT")
  show(out, "rfc850_date", core.rfc850_date, "Sunday, 06-Nov-94 08:49:37 GMT")
  show(out, "asctime_date", core.asctime_date, "Sun Nov  6 08:49:37 1994")
  show(out, "http_date bad", core.http_date, "x")
  show(out, "concat", function()
    local c = core.concat(); c:add("a"); c:add("b"); return c:dump() end)
  show(out, "concat number", function()
    local c = core.concat(); c:add(12); return c:dump() end)
  show(out, "regex", function()
    local ok, re = Regex.new("^(\\w+)-(\\d+)$", true)
    return ok, re:match("ab-12"), re:exec("AB-12")
  end)
  show(out, "regex bad", Regex.new, "(", true)
  show(out, "map lookup", function()
    local m = Map.new(D .. "str.map", Map._str)
    return m:lookup("alpha"), m:lookup("gamma"), m:slookup("gamma")
  end)
  show(out, "proxies", function()
    local n = {}
    for k in pairs(core.backends) do n[#n + 1] = k end
    table.sort(n)
    return table.concat(n, ",")
  end)
  local s = core.backends.app.servers.s1
  -- the methods HAProxy 2.6 has (get_name, is_backup... came in 2.8)
  for _, m in ipairs({ "get_weight", "get_maxconn", "is_draining",
      "get_addr" }) do
    show(out, "server " .. m, function() return s[m](s) end)
  end
  show(out, "server attributes", function() return s.name, s.puid end)
  local p = core.backends.app
  for _, m in ipairs({ "get_cap", "get_mode" }) do
    show(out, "proxy " .. m, function() return p[m](p) end)
  end
  show(out, "proxy attributes", function() return p.name, p.uuid end)
  show(out, "info keys", function()
    local i = core.get_info()
    return math.type(i.Pid), i.Nbthread ~= nil
  end)
end

core.register_service("cmp", "http", function(applet)
  local out = {}
  core_calls(out)
  show(out, "applet fields", function()
    return applet.method, applet.path, applet.qs, applet.version, applet.length
  end)
  show(out, "applet headers", function()
    local h = applet.headers
    return h["x-a"][0], h["x-a"][1], h["x-b"][0], h["x-missing"]
  end)
  show(out, "applet getline", applet.getline, applet)
  show(out, "applet receive 3", applet.receive, applet, 3)
  show(out, "applet receive rest", applet.receive, applet)
  show(out, "applet receive eof", applet.receive, applet)
  show(out, "applet f", function() return applet.f:path(), applet.sf:method() end)
  show(out, "applet set_var", applet.set_var, applet, "txn.a", 1.5)
  show(out, "applet get_var", applet.get_var, applet, "txn.a")
  show(out, "applet set_var bad", applet.set_var, applet, "nope", 1)
  local body = table.concat(out, "\n") .. "\n"
  applet:set_status(200)
  applet:add_header("content-type", "text/plain")
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)

-- the same reads on a chunked body with LF-only line ends, and the
-- response side: a reason, a numeric header value, no content-length
core.register_service("chunked", "http", function(applet)
  local out = {}
  show(out, "chunked length", function() return applet.length end)
  show(out, "chunked getline", applet.getline, applet)
  show(out, "chunked receive 3", applet.receive, applet, 3)
  show(out, "chunked getline 2", applet.getline, applet)
  show(out, "chunked receive rest", applet.receive, applet)
  show(out, "chunked receive eof", applet.receive, applet)
  show(out, "set_status", applet.set_status, applet, 201, "Made")
  show(out, "add_header number", applet.add_header, applet, "x-n", 5)
  show(out, "start_response", applet.start_response, applet)
  applet:send(table.concat(out, "\n") .. "\n")
end)

-- a socket to the test's peer, which sends "line1\nline2\npartial" and
-- closes; <dead> is a port nobody listens on
local function socket_calls(out, peer, dead)
  local function sock()
    local s = core.tcp()
    s:settimeout(2)
    return s
  end
  show(out, "sock settimeout", function() return core.tcp():settimeout(1) end)
  show(out, "sock connect", function()
    local s = sock(); local r = table.pack(s:connect("127.0.0.1", peer))
    s:close(); return table.unpack(r, 1, r.n) end)
  show(out, "sock connect refused", function()
    local s = sock(); return s:connect("127.0.0.1", dead) end)
  show(out, "sock connect bad addr", function()
    local s = sock(); return s:connect("nope:x") end)
  show(out, "sock receive lines", function()
    local s = sock(); s:connect("127.0.0.1", peer)
    local a = table.pack(s:receive("*l"))
    local b = table.pack(s:receive())
    local c = table.pack(s:receive("*l"))
    s:close()
    return a[1], b[1], c[1], c[2], c[3]
  end)
  show(out, "sock receive count", function()
    local s = sock(); s:connect("127.0.0.1", peer)
    local a = s:receive(3)
    local b = table.pack(s:receive(100))
    s:close()
    return a, b[1], b[2], b[3]
  end)
  show(out, "sock receive all", function()
    local s = sock(); s:connect("127.0.0.1", peer)
    local a = table.pack(s:receive("*a", "pre-"))
    s:close(); return table.unpack(a, 1, a.n)
  end)
  show(out, "sock send", function()
    local s = sock(); s:connect("127.0.0.1", peer)
    local a = table.pack(s:send("abcdef", 2, 4))
    s:close(); return table.unpack(a, 1, a.n)
  end)
  show(out, "sock send closed", function()
    local s = sock(); s:connect("127.0.0.1", peer); s:close()
    return s:send("x")
  end)
  show(out, "sock close twice", function()
    local s = sock(); s:connect("127.0.0.1", peer)
    return s:close(), s:close()
  end)
end

-- core.httpclient against the test's HTTP origin <origin>
local function httpclient_calls(out, origin)
  local url = "http://127.0.0.1:" .. origin
  show(out, "hc get", function()
    local r = core.httpclient():get{ url = url .. "/x?y=1",
      headers = { ["x-h"] = { "a", "b" } } }
    return r.status, r.reason, r.body, r.headers["x-o"][0],
      r.headers["content-type"][0], r.headers["x-none"]
  end)
  show(out, "hc keys", function()
    local r = core.httpclient():get{ url = url .. "/" }
    local k = {}
    for name in pairs(r) do k[#k + 1] = name end
    table.sort(k)
    return table.concat(k, ",")
  end)
  show(out, "hc post", function()
    local r = core.httpclient():post{ url = url .. "/p", body = "data" }
    return r.status, r.body
  end)
  show(out, "hc head", function()
    local r = core.httpclient():head{ url = url .. "/h" }
    return r.status, r.body
  end)
end

core.register_service("socks", "http", function(applet)
  local out = {}
  socket_calls(out, tonumber(applet.qs:match("peer=(%d+)")),
    tonumber(applet.qs:match("dead=(%d+)")))
  httpclient_calls(out, tonumber(applet.qs:match("origin=(%d+)")))
  local body = table.concat(out, "\n") .. "\n"
  applet:set_status(200)
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)

-- the client sends "hello\nabcdefgh\nrest" and closes its side
core.register_service("tcmp", "tcp", function(applet)
  local out = {}
  show(out, "tcp getline", applet.getline, applet)
  show(out, "tcp receive 3", applet.receive, applet, 3)
  show(out, "tcp getline 2", applet.getline, applet)
  show(out, "tcp receive all", applet.receive, applet)
  show(out, "tcp receive eof", applet.receive, applet)
  show(out, "tcp getline eof", applet.getline, applet)
  show(out, "tcp set_var", applet.set_var, applet, "txn.x", "v")
  show(out, "tcp get_var", applet.get_var, applet, "txn.x")
  show(out, "tcp send", applet.send, applet, "")
  applet:send(table.concat(out, "\n") .. "\n")
end)

-- the channel of a tcp-request content action: the client sent
-- "hello\nworld\n" (and waits). Not append(): HAProxy 2.6.12 inserts its
-- string at the start of the input, like prepend(), where its manual and
-- later versions (and we) add it at the end.
core.register_action("chn", { "tcp-req" }, function(txn)
  local out = {}
  local req = txn.req
  show(out, "chn input", req.input, req)
  show(out, "chn output", req.output, req)
  show(out, "chn data", req.data, req)
  show(out, "chn data off", req.data, req, 2, 3)
  show(out, "chn data neg", req.data, req, -3)
  show(out, "chn line", req.line, req)
  show(out, "chn line off", req.line, req, 6)
  show(out, "chn dup", req.dup, req)
  show(out, "chn is_full", req.is_full, req)
  show(out, "chn is_resp", req.is_resp, req)
  show(out, "chn may_recv", req.may_recv, req)
  show(out, "chn set", req.set, req, "HE", 0, 2)
  show(out, "chn after set", req.data, req)
  show(out, "chn prepend", req.prepend, req, "<")
  show(out, "chn insert", req.insert, req, "_", 3)
  show(out, "chn remove", req.remove, req, 0, 1)
  show(out, "chn after edits", req.data, req)
  show(out, "chn getline", req.getline, req)
  show(out, "chn send", req.send, req, "S")
  show(out, "chn forward", req.forward, req, 2)
  show(out, "chn after forward", function() return req:input(), req:output() end)
  show(out, "chn res", txn.res.input, txn.res)
  show(out, "chn get", req.get, req)
  txn:set_var("txn.chn", table.concat(out, "\n"))
end)

core.register_service("chn_show", "tcp", function(applet)
  applet:send(tostring(applet:get_var("txn.chn")) .. "\n")
end)

core.register_action("cmp_act", { "http-req" }, function(txn)
  local out = {}
  show(out, "f path", txn.f.path, txn.f)
  show(out, "f missing hdr", txn.f.req_hdr, txn.f, "x-none")
  show(out, "sf missing hdr", txn.sf.req_hdr, txn.sf, "x-none")
  show(out, "f hdr_cnt", txn.f.req_hdr_cnt, txn.f, "x-a")
  show(out, "sf hdr_cnt", txn.sf.req_hdr_cnt, txn.sf, "x-a")
  show(out, "f bool", txn.f.always_true, txn.f)
  show(out, "f src", txn.f.src, txn.f)
  show(out, "c lower", txn.c.lower, txn.c, "AbC")
  show(out, "c length", txn.c.length, txn.c, "abcd")
  show(out, "sc length", txn.sc.length, txn.sc, "abcd")
  show(out, "c bad arg", txn.c.field, txn.c, "a,b", "x")
  show(out, "set_var int", txn.set_var, txn, "txn.i", 42)
  show(out, "get_var int", txn.get_var, txn, "txn.i")
  show(out, "set_var float", txn.set_var, txn, "txn.f", 2.7)
  show(out, "get_var float", txn.get_var, txn, "txn.f")
  show(out, "set_var bool", txn.set_var, txn, "txn.b", true)
  show(out, "get_var bool", txn.get_var, txn, "txn.b")
  show(out, "set_var table", txn.set_var, txn, "txn.t", {})
  show(out, "get_var table", txn.get_var, txn, "txn.t")
  show(out, "set_var nil", txn.set_var, txn, "txn.n", nil)
  show(out, "set_var ifexist", txn.set_var, txn, "txn.nope", 1, true)
  show(out, "get_var ifexist", txn.get_var, txn, "txn.nope")
  show(out, "unset_var", txn.unset_var, txn, "txn.i")
  show(out, "get_var unset", txn.get_var, txn, "txn.i")
  show(out, "set_var bad scope", txn.set_var, txn, "bad.x", 1)
  show(out, "get_priv empty", txn.get_priv, txn)
  show(out, "f req_hdr occ", txn.f.req_hdr, txn.f, "x-a", 1)
  show(out, "f req_hdr last", txn.f.req_hdr, txn.f, "x-a", -1)
  show(out, "f url_param", txn.f.url_param, txn.f, "q")
  show(out, "f url_param none", txn.f.url_param, txn.f, "none")
  show(out, "f int", txn.f.int, txn.f, 42)
  show(out, "f str", txn.f.str, txn.f, "abc")
  show(out, "f method", txn.f.method, txn.f)
  show(out, "f req_ver", txn.f.req_ver, txn.f)
  show(out, "f nbsrv", txn.f.nbsrv, txn.f, "app")
  show(out, "f no such arg", txn.f.path, txn.f, "extra")
  show(out, "c field", txn.c.field, txn.c, "a,b,c", 2, ",")
  show(out, "c word", txn.c.word, txn.c, "a,,b", 2, ",")
  show(out, "c hex", txn.c.hex, txn.c, "AB")
  show(out, "c base64", txn.c.base64, txn.c, "hello")
  show(out, "c json", txn.c.json, txn.c, "a\"b")
  show(out, "c ipmask", txn.c.ipmask, txn.c, "10.1.2.3", 24)
  show(out, "c url_dec", txn.c.url_dec, txn.c, "a%20b")
  show(out, "c regsub", txn.c.regsub, txn.c, "aXbX", "X", "-", "g")
  show(out, "c bytes", txn.c.bytes, txn.c, "abcdef", 1, 3)
  show(out, "c upper number", txn.c.upper, txn.c, 12)
  show(out, "c lower nil", txn.c.lower, txn.c, nil)
  show(out, "regex methods", function()
    local _, re = Regex.new("(a+)(b)?", false)
    return re:exec("xaay"), re:match("xaay"), re:match("zzz")
  end)
  show(out, "regex captures", function()
    local _, re = Regex.new("(a+)(b)?(c)", false)
    local ok, caps = re:match("xaacy")
    local n, parts = 0, {}
    for k, v in pairs(caps) do n = n + 1; parts[#parts + 1] = k .. "=" .. v end
    table.sort(parts)
    return ok, n, table.concat(parts, ",")
  end)
  show(out, "map constants", function()
    return Map._str, Map._beg, Map._sub, Map._dir, Map._dom, Map._end,
      Map._reg, Map._int, Map._ip, Map.str, Map.int
  end)
  show(out, "now fields", function()
    local n = core.now()
    return math.type(n.sec), math.type(n.usec), n.usec < 1000000
  end)
  show(out, "msleep", core.msleep, 1)
  show(out, "sleep", core.sleep, 0)
  show(out, "yield", core.yield)
  show(out, "log", core.log, core.info, "x")
  show(out, "txn log", txn.log, txn, core.info, "x")
  show(out, "txn deflog", txn.deflog, txn, "x")
  show(out, "set_var sess", txn.set_var, txn, "sess.s", "v")
  show(out, "get_var sess", txn.get_var, txn, "sess.s")
  show(out, "set_var proc", txn.set_var, txn, "proc.p", 7)
  show(out, "get_var proc", txn.get_var, txn, "proc.p")
  show(out, "set_var req", txn.set_var, txn, "req.r", "x")
  show(out, "set_priv", txn.set_priv, txn, { 1 })
  show(out, "get_priv", function() return type(txn:get_priv()) end)
  show(out, "set_loglevel bad", txn.set_loglevel, txn, 99)
  show(out, "tokenize many", core.tokenize, "  a  b ", " ", true)
  show(out, "headers", function()
    local h = txn.http:req_get_headers()
    return h["x-a"][0], h["x-a"][1], #h["x-a"]
  end)
  show(out, "res side from req", txn.http.res_set_status, txn.http, 200)
  show(out, "reply", function() return type(txn:reply()) end)
  txn:set_var("txn.cmp", table.concat(out, "\n"))
end)
EOF2

# One configuration; <port> is the frontend's.
sub config {
    my ($port, $tport, $cport) = @_;
    my $o = $t->port(8091);
    return <<"EOF2";
global
    lua-load @{[$t->testdir]}/cmp.lua
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:$port
    http-request use-service lua.cmp if { path /svc }
    http-request use-service lua.socks if { path /socks }
    http-request use-service lua.chunked if { path /chunked }
    http-request lua.cmp_act
    http-request return status 200 content-type text/plain lf-string "%[var(txn.cmp)]"
frontend chn
    mode tcp
    bind 127.0.0.1:$cport
    tcp-request inspect-delay 2s
    tcp-request content lua.chn if { req.len ge 12 }
    tcp-request content use-service lua.chn_show
frontend tcp
    mode tcp
    bind 127.0.0.1:$tport
    tcp-request content use-service lua.tcmp
backend app
    server s1 127.0.0.1:$o weight 7 maxconn 20
EOF2
}
# the peer of the socket calls
my $peer = $t->listen_socket(8092);
$t->run_daemon(sub {
    while (my $c = $peer->accept) {
        syswrite($c, "line1\nline2\npartial");
        sleep 0.2;
        close $c;
    }
});
# the origin of the httpclient calls: echoes method, path and body
$t->http_origin(8094, sub {
    my ($req) = @_;
    return [200, ['content-type' => 'text/plain', 'X-O' => 'o'],
        "$req->{method} $req->{uri} " . ($req->{body} // '')];
});
$t->write_file('lp.cfg', config($t->port(8080), $t->port(8082), $t->port(8084)));
$t->write_file('ha.cfg', config($t->port(8081), $t->port(8083), $t->port(8085)));
$t->run;
$t->run_haproxy($haproxy, 'ha.cfg', $t->port(8081));

my $post = "POST /svc?q=1 HTTP/1.1\r\nHost: h\r\nX-A: one\r\nX-A: two\r\n"
    . "X-B: b\r\nContent-Length: 12\r\nConnection: close\r\n\r\nline1\nabcdef";
my $chunked = "POST /chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
    . "Connection: close\r\n\r\n4\r\nline\r\n4\r\n1\nab\r\n"
    . "9\r\ncdef\nrest\r\n0\r\n\r\n";
my $get = "GET /act?q=v&r=w HTTP/1.1\r\nHost: h\r\nX-A: one\r\nX-A: two\r\n"
    . "Connection: close\r\n\r\n";
my $socks = "GET /socks?peer=" . $t->port(8092) . "&dead=" . $t->port(8093)
    . "&origin=" . $t->port(8094)
    . " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
my %got;
for my $who (qw(lp ha)) {
    my $port = $t->port($who eq 'lp' ? 8080 : 8081);
    $got{$who} = join("\n", map { $t->http($port, $_, timeout => 10)->{body}
        // '' } $post, $get, $socks, $chunked) =~ s/%0A/\n/gr;
    my $c = IO::Socket::INET->new('127.0.0.1:'
        . $t->port($who eq 'lp' ? 8082 : 8083)) or die "connect: $!";
    print $c "hello\nabcdefgh\nrest";
    shutdown($c, 1);
    $got{$who} .= "\n" . join('', <$c>);
    $c = IO::Socket::INET->new('127.0.0.1:'
        . $t->port($who eq 'lp' ? 8084 : 8085)) or die "connect: $!";
    print $c "hello\nworld\n";
    local $SIG{ALRM} = sub { die "no channel answer\n" };
    alarm 8;
    $got{$who} .= "\n" . join('', <$c>);
    alarm 0;
    close $c;
}
my @lp = grep { /^[^:]+:/ } split /\n/, $got{lp};
my @ha = grep { /^[^:]+:/ } split /\n/, $got{ha};
$t->plan(1 + @ha);
is(scalar @lp, scalar @ha, 'as many answers as HAProxy')
    or diag(join("\n", "ours:", @lp, "HAProxy's:", @ha));
my %lp = map { /^([^:]+):/ ? ($1 => $_) : () } @lp;
for my $line (@ha) {
    my ($name) = $line =~ /^([^:]+):/;
    is($lp{ $name // '' } // '<none>', $line, $name // $line);
}

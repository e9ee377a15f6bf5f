#!/usr/bin/perl
# The core functions and return codes the other Lua tests leave out,
# through real requests: register_converters (a ",lua.NAME(arg)"
# converter), core.done() ending a fetch with its value, core.yield(),
# core.get_info(), core.Alert and txn:Alert, the act return codes of an
# action (CONTINUE goes on, STOP ends the rule list, DONE ends processing,
# ERROR answers 500), Reply objects built with set_status/add_header/
# del_header/set_body, Concat:dump(), a Socket's getsockname,
# getpeername and setoption, Server:check_force_down/up and
# check_disable/enable.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new;
my $origin = $t->port(8091);
$t->write_file('core.lua', <<"EOF2");
core.register_converters("wrap", function(v, arg)
  return arg .. v .. arg
end)

core.register_fetches("early", function(txn)
  core.done("from-done")
  return "not-reached"
end)

core.register_action("code", { "http-req" }, function(txn)
  local p = txn.sf:path()
  core.yield()
  if p == "/stop" then return act.STOP end
  if p == "/done" then return act.DONE end
  if p == "/error" then return act.ERROR end
  return act.CONTINUE
end)

core.register_action("info", { "http-req" }, function(txn)
  local i = core.get_info()
  local c = core.concat()
  c:add(i.Name)
  c:add("/")
  c:add(tostring(i.Pid))
  c:add("/")
  c:add(math.type(i.Uptime_sec))
  c:add("/")
  c:add(math.type(i.CumReq) .. "/" .. math.type(i.CurrConns) .. "/" ..
    tostring(i.Uptime):gsub("%d+", "N"))
  txn:set_var("txn.info", c:dump())
  core.Alert("core alert line")
  txn:Alert("txn alert line")
end)

core.register_action("made", { "http-req" }, function(txn)
  local r = txn:reply()
  r:set_status(207, "Multi")
  r:add_header("X-One", "1")
  r:add_header("X-Gone", "g")
  r:del_header("X-Gone")
  r:add_header("content-type", "text/plain")
  r:set_body("built\\n")
  txn:done(r)
end)

core.register_action("force", { "http-req" }, function(txn)
  local sv = core.backends.checked.servers.c1
  if txn.sf:path() == "/force-down" then sv:check_force_down() end
  if txn.sf:path() == "/force-up" then sv:check_force_up() end
end)

core.register_action("pause", { "http-req" }, function(txn)
  local sv = core.backends.paused.servers.p1
  if txn.sf:path() == "/pause-down" then
    sv:check_disable()
    sv:check_force_down()
  elseif txn.sf:path() == "/pause-end" then
    sv:check_enable()
  end
end)

core.register_action("sock", { "http-req" }, function(txn)
  local s = core.tcp()
  s:settimeout(2)
  assert(s:connect("127.0.0.1", $origin))
  local n = select("#", s:setoption("keepalive", true))
  local here, none = s:getsockname()
  local there = s:getpeername()
  s:close()
  txn:set_var("txn.sock", string.format("%d %s %s %s", n, here,
    tostring(none), there))
end)
EOF2
$t->write_file_expand('lp.cfg', <<'EOF2');
global
    nbproc 1
    lua-load %%TESTDIR%%/core.lua
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 3s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    http-request return status 200 content-type text/plain lf-string "%[path,lua.wrap(*)] %[lua.early]" if { path /conv }
    http-request lua.info if { path /info }
    http-request return status 200 content-type text/plain lf-string "%[var(txn.info)]" if { path /info }
    http-request lua.made if { path /made }
    http-request lua.sock if { path /sock }
    http-request return status 200 content-type text/plain lf-string "%[var(txn.sock)]" if { path /sock }
    http-request lua.force if { path_beg /force- }
    http-request return status 200 content-type text/plain lf-string "%[srv_is_up(checked/c1)] %[nbsrv(checked)]" if { path_beg /force- }
    http-request lua.pause if { path_beg /pause- }
    http-request return status 200 content-type text/plain lf-string "%[srv_is_up(paused/p1)]" if { path_beg /pause- }
    http-request lua.code
    http-request return status 200 content-type text/plain string after-the-action
backend checked
    server c1 127.0.0.1:%%PORT_8091%% check inter 30s
backend paused
    server p1 127.0.0.1:%%PORT_8091%% check inter 200ms rise 1
EOF2
my $peer = $t->listen_socket(8091); # for the socket to connect to
$t->run;
$t->plan(17);

my $port = $t->port(8080);
is($t->http_get($port, '/conv')->{body}, '*/conv* from-done',
    'register_converters with an argument; core.done() returns its value');
my ($wpid) = $t->worker_pids;
is($t->http_get($port, '/info')->{body},
    "luaproxy/$wpid/integer/integer/integer/Nd NhNmNs",
    'core.get_info: the show info fields (Name, Pid, Uptime_sec, CumReq, '
    . 'CurrConns, Uptime); Concat:dump');
ok($t->wait_log(qr/core alert line/), 'core.Alert reaches the log');
ok($t->wait_log(qr/txn alert line/), 'txn:Alert reaches the log');
$t->expect_alerts(qr/alert line/,
    qr/is DOWN, changed from Lua script|has no server available/);

my $r = $t->http_get($port, '/made');
is("$r->{status} $r->{reason}", '207 Multi', 'Reply: set_status with a reason');
is($r->{headers}{'x-one'}, '1', 'Reply: add_header');
ok(!exists $r->{headers}{'x-gone'}, 'Reply: del_header');
is($r->{body}, "built\n", 'Reply: set_body');

is($t->http_get($port, '/go')->{body}, 'after-the-action',
    'act.CONTINUE (after core.yield): the next rule runs');
isnt($t->http_get($port, '/stop')->{body}, 'after-the-action',
    'act.STOP: the rule list ends there');
is($t->http_get($port, '/error')->{status}, 500, 'act.ERROR: 500');

like($t->http_get($port, '/sock')->{body},
    qr/^0 127\.0\.0\.1:\d+ nil 127\.0\.0\.1:$origin$/,
    'Socket: setoption returns nothing, get*name one "ip:port" string');

is($t->http_get($port, '/force-down')->{body}, '0 0',
    'Server:check_force_down: down at once, no server left');
is($t->http_get($port, '/force-up')->{body}, '1 1', 'Server:check_force_up');

# check_disable holds the state a check would change (rise 1, inter 200ms)
is($t->http_get($port, '/pause-down')->{body}, '0',
    'Server:check_disable then check_force_down: down');
select(undef, undef, undef, 1.2);
is($t->http_get($port, '/pause-state')->{body}, '0',
    'Server:check_disable: six check intervals later, still down');
$t->http_get($port, '/pause-end');
my $up = '0';
for (1 .. 30) {
    $up = $t->http_get($port, '/pause-state')->{body};
    last if $up eq '1';
    select(undef, undef, undef, 0.1);
}
is($up, '1', 'Server:check_enable: the next check brings it up');

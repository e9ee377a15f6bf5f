#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Runaway Lua code is cut, and the worker serves meanwhile. An action
# "while true do end" is forced to yield every tune.lua.forced-yield
# instructions, so other requests are answered while it spins, and it is
# aborted after tune.lua.session-timeout of CPU ("execution timeout"); the
# next rules then run. The same loop in a sample fetch (which may not
# yield) is cut by tune.lua.burst-timeout instead.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::IP;
use IO::Select;
use Test::More;
use Test::Luaproxy qw(http_request_bytes parse_response);
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new;
$t->write_file_expand('loop.lua', <<'EOF');
core.register_action("spin", { "http-req" }, function(txn)
  txn:set_var("txn.answer", "spun")
  while true do end
end)

core.register_fetches("spin", function(txn)
  while true do end
end)

core.register_service("echo", "http", function(applet)
  local body = "after " .. tostring(applet:get_var("txn.answer")) .. "\n"
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)
EOF
$t->write_file_expand('loop.cfg', <<'EOF');
global
   nbproc 1
   tune.lua.session-timeout 1500
   tune.lua.burst-timeout 500
   lua-load loop.lua

defaults
   mode http
   timeout connect 5s
   timeout client 30s
   timeout server 30s

frontend fe
   bind 127.0.0.1:%%PORT_8120%%
   http-request lua.spin if { path /spin }
   http-request set-var(txn.answer) lua.spin if { path /fetch }
   http-request use-service lua.echo
EOF
$t->expect_alerts(qr/Lua (function|sample-fetch) 'spin': (execution|burst) timeout/);
$t->run;
$t->plan(8);

my $port = $t->port(8120);
my @workers = $t->worker_pids;

my $mark = $t->log_mark;
my $t0 = time;
my $spin = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port,
    Proto => 'tcp', Timeout => 3);
print $spin http_request_bytes('GET', '/spin');
sleep 0.3;
my $fast = $t->http_get($port, '/fast');
my $fast_time = time - $t0;
is($fast->{body}, "after nil\n", 'a request is served while an action spins');

my $r = read_response($spin, 10);
my $spin_time = time - $t0;
# wall-clock bounds are loose: CI machines are shared and sanitized builds
# are slow; what matters is the order of events and that the cut happens
ok($fast_time < $spin_time - 0.2,
    "... before the spinning action is cut (${fast_time}s < ${spin_time}s)");
is($r && $r->{body}, "after spun\n",
    'the spinning action was cut and the next rule ran');
ok($spin_time >= 1.3 && $spin_time < 6,
    "cut after the session timeout of CPU (${spin_time}s)");
ok($t->wait_log(qr/Lua function 'spin': execution timeout/, mark => $mark),
    '"execution timeout" logged');

$mark = $t->log_mark;
$t0 = time;
$r = $t->http_get($port, '/fetch', timeout => 10);
my $fetch_time = time - $t0;
ok(($r->{body} // '') eq "after nil\n" && $fetch_time < 5,
    "a spinning fetch is cut by the burst timeout (${fetch_time}s)");
ok($t->wait_log(qr/Lua sample-fetch 'spin': burst timeout/, mark => $mark),
    '"burst timeout" logged');
is_deeply([$t->worker_pids], \@workers, 'the worker survived');

# Reads one response from $s within $timeout seconds.
sub read_response {
    my ($s, $timeout) = @_;
    my ($buf, $closed, $deadline) = ('', 0, time + $timeout);
    my $sel = IO::Select->new($s);
    while (!$closed && time < $deadline) {
        last unless $sel->can_read($deadline - time);
        my $n = sysread($s, $buf, 65536, length $buf);
        $closed = 1 unless $n;
        my ($resp) = parse_response($buf, $closed);
        return $resp if $resp;
    }
    return undef;
}

#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Cosockets a script never closes are closed when the action that created
# them ends, not left to the garbage collector (HAProxy 2.6 leaves them in
# CLOSE-WAIT). 200 requests whose action opens a socket and forgets it
# (connected and used, never connected, refused, or kept alive in a Lua
# global so the GC can never collect it) leave the worker's descriptor
# count flat, and a socket kept in a global fails cleanly when used later.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy qw(fd_count);
use Time::HiRes qw(sleep);

my $t = Test::Luaproxy->new;
$t->write_file_expand('leak.lua', <<'EOF');
kept = {}

core.register_service("echo_tcp", "tcp", function(applet)
  local line = applet:getline()
  applet:send("echo " .. line)
end)

local function talk(txn)
  local s = core.tcp()
  s:connect("127.0.0.1:%%PORT_8141%%")
  s:send("hello\n")
  txn:set_var("txn.answer", s:receive("*l") or "nil")
  return s
end

core.register_action("leak", { "http-req" }, function(txn)
  local which = txn.sf:path()
  if which == "/used" then
    talk(txn)
  elseif which == "/kept" then
    kept[#kept + 1] = talk(txn)
  elseif which == "/unconnected" then
    kept[#kept + 1] = core.tcp()
  elseif which == "/refused" then
    local s = core.tcp()
    local ok, err = s:connect("127.0.0.1:%%PORT_8142%%")
    txn:set_var("txn.answer", tostring(ok) .. " " .. tostring(err))
  elseif which == "/reuse" then
    local s = kept[1]
    local ok, err = s:send("again\n")
    local line, rerr = s:receive("*l")
    txn:set_var("txn.answer", tostring(ok) .. " " .. tostring(err) .. " "
                .. tostring(line) .. " " .. tostring(rerr))
  end
end)

core.register_service("show", "http", function(applet)
  local body = tostring(applet:get_var("txn.answer")) .. "\n"
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)
EOF
$t->write_file_expand('leak.cfg', <<'EOF');
global
   nbproc 1
   lua-load leak.lua

defaults
   mode http
   timeout connect 5s
   timeout client 30s
   timeout server 30s

frontend fe
   bind 127.0.0.1:%%PORT_8140%%
   http-request lua.leak
   http-request use-service lua.show

frontend echo
   bind 127.0.0.1:%%PORT_8141%%
   mode tcp
   tcp-request inspect-delay 1s
   tcp-request content use-service lua.echo_tcp
EOF
$t->port(8142); # reserved, never bound: connections are refused
$t->run;
$t->plan(8);

my $port = $t->port(8140);
my ($worker) = $t->worker_pids;

my $r = $t->http_get($port, '/used');
is($r->{body}, "echo hello\n", 'the cosocket works');
$r = $t->http_get($port, '/refused');
is($r->{body}, "nil Can't connect\n", 'a refused connect gives nil, "Can\'t connect"');

run_mix(20); # warm up: Lua state, buffers, libevent internals
my $before = fd_count($worker);
my $ok = run_mix(200);
sleep 0.3;
my $after = fd_count($worker);
is($ok, 200, '200 requests with forgotten sockets all answered');
ok(defined $before && defined $after && $after <= $before + 2,
    "worker fd count flat: $before before, $after after");
is(close_wait($worker), 0, 'no socket of the worker left in CLOSE-WAIT');

$r = $t->http_get($port, '/reuse');
is($r->{body}, "-1 nil nil connection closed.\n",
    'a kept socket whose action ended fails cleanly (send -1, as HAProxy)');
is($t->http_get($port, '/used')->{body}, "echo hello\n", 'still serving');
is_deeply([$t->worker_pids], [$worker], 'same worker throughout');

# Runs $n requests over the four forgetful variants; returns how many got
# a 200.
sub run_mix {
    my ($n) = @_;
    my @paths = qw(/used /kept /unconnected /refused);
    my $ok = 0;
    for my $i (1 .. $n) {
        my $resp = $t->http_get($port, $paths[$i % @paths]);
        $ok++ if ($resp->{status} // 0) == 200;
    }
    return $ok;
}

# Loopback TCP sockets of $pid in CLOSE-WAIT (state 08 in /proc/net/tcp).
sub close_wait {
    my ($pid) = @_;
    my %inodes;
    opendir(my $dh, "/proc/$pid/fd") or return -1;
    for my $fd (grep { /^\d+\z/ } readdir $dh) {
        my $l = readlink("/proc/$pid/fd/$fd") // next;
        $inodes{$1} = 1 if $l =~ /^socket:\[(\d+)\]/;
    }
    my $n = 0;
    for my $file ("/proc/$pid/net/tcp", "/proc/$pid/net/tcp6") {
        open(my $fh, '<', $file) or next;
        while (<$fh>) {
            my @f = split;
            $n++ if @f > 9 && $f[3] eq '08' && $inodes{ $f[9] };
        }
    }
    return $n;
}

#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# A Lua action that waits never blocks its worker. With a single worker, an
# http-req action asks a Lua TCP service of the same process over core.tcp()
# (the service answers after core.msleep(1000)), and another action sleeps
# with core.msleep(1000): while each waits, other requests are answered at
# once, and each then resumes with the right result. A blocking
# implementation deadlocks (the service can never answer) or serialises.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::IP;
use IO::Select;
use Test::More;
use Test::Luaproxy qw(http_request_bytes parse_response);
use Time::HiRes qw(time);

my $t = Test::Luaproxy->new;
$t->write_file_expand('yield.lua', <<'EOF');
core.register_service("slow_tcp", "tcp", function(applet)
  local line = applet:getline()
  core.msleep(1000)
  applet:send("pong " .. line)
end)

core.register_action("ask", { "http-req" }, function(txn)
  local s = core.tcp()
  if s:connect("127.0.0.1", %%PORT_8102%%) == nil then
    txn:set_var("txn.answer", "connect failed")
    return
  end
  s:send("ping\n")
  txn:set_var("txn.answer", s:receive("*l") or "nil")
  s:close()
end)

core.register_action("nap", { "http-req" }, function(txn)
  core.msleep(1000)
  txn:set_var("txn.answer", "slept")
end)

core.register_service("echo", "http", function(applet)
  local body = (applet:get_var("txn.answer") or "nothing") .. "\n"
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)
EOF
$t->write_file_expand('yield.cfg', <<'EOF');
global
   nbproc 1
   lua-load yield.lua

defaults
   mode http
   timeout connect 5s
   timeout client 30s
   timeout server 30s

frontend fe
   bind 127.0.0.1:%%PORT_8100%%
   http-request lua.ask if { path /slow }
   http-request lua.nap if { path /nap }
   http-request use-service lua.echo

frontend slow
   bind 127.0.0.1:%%PORT_8102%%
   mode tcp
   tcp-request inspect-delay 1s
   tcp-request content use-service lua.slow_tcp
EOF
$t->run;
$t->plan(10);

my $port = $t->port(8100);

for my $case (['/slow', "pong ping\n", 'cosocket'], ['/nap', "slept\n", 'core.msleep']) {
    my ($path, $expect, $what) = @$case;
    my $t0 = time;
    my $pending = start_request($port, $path);
    my $fast = $t->http_get($port, '/fast');
    my $fast_time = time - $t0;
    is($fast->{status}, 200, "$what: another request served meanwhile");
    my $r = finish_request($pending);
    my $slow_time = time - $t0;
    # ordered, not timed: shared CI machines stretch wall clocks
    ok($fast_time < $slow_time - 0.3,
        "$what: it did not wait for the sleeping action (${fast_time}s)");
    is($r && $r->{body}, $expect, "$what: the action resumed with its result");
    ok($slow_time >= 0.9 && $slow_time < 5,
        "$what: the action waited for the delay (${slow_time}s)");
}

# Many waiting actions at once, one worker: they overlap.
my $t0 = time;
my @many = $t->http_get_many($port, [map {'/nap'} 1 .. 20]);
my $elapsed = time - $t0;
is(scalar(grep { ($_->{body} // '') eq "slept\n" } @many), 20,
    '20 concurrent sleeping actions all answered');
ok($elapsed < 3, "they slept together, not in turn (${elapsed}s)");

# Sends a GET and returns the connected socket without reading.
sub start_request {
    my ($p, $path) = @_;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $p,
        Proto => 'tcp', Timeout => 3) or return undef;
    print $s http_request_bytes('GET', $path);
    return $s;
}

# Reads the response of start_request (5 s deadline).
sub finish_request {
    my ($s) = @_;
    return undef unless $s;
    my ($buf, $closed, $deadline) = ('', 0, time + 5);
    my $sel = IO::Select->new($s);
    while (!$closed && time < $deadline) {
        last unless $sel->can_read($deadline - time);
        my $n = sysread($s, $buf, 65536, length $buf);
        $closed = 1 unless $n;
        my ($r) = parse_response($buf, $closed);
        return $r if $r;
    }
    my ($r) = parse_response($buf, 1);
    return $r;
}

#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Thousands of scripts wait at once in one worker without blocking it:
# while an action sleeps with core.sleep(5), 1000 concurrent requests,
# each doing a cosocket sub-request to a Lua TCP service of the same
# worker, all complete with the right answer well before the sleep ends;
# then the sleeping request is answered. A send() far bigger than the
# socket's high watermark waits for the peer instead of queueing it all.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Spec;
use IO::Select;
use IO::Socket::IP;
use Test::More;
use Test::Luaproxy qw(http_request_bytes parse_response);
use Time::HiRes qw(time sleep);

my $CLIENTS = 4;      # forked client processes
my $PER_CLIENT = 250; # concurrent connections each (select() limit)
my $BIG = 4 * 1024 * 1024;

my $t = Test::Luaproxy->new(timeout => 120);
$t->write_file_expand('load.lua', <<'EOF');
core.register_service("echo_tcp", "tcp", function(applet)
  local line = applet:getline()
  applet:send("echo " .. line)
end)

core.register_service("sink_tcp", "tcp", function(applet)
  local n = 0
  while n < 4 * 1024 * 1024 do
    local d = applet:receive(65536)
    if d == nil or d == "" then break end
    n = n + #d
    core.msleep(2)
  end
  applet:send("got " .. n .. "\n")
end)

core.register_action("sub", { "http-req" }, function(txn)
  local s = core.tcp()
  s:settimeout(20)
  if not s:connect("127.0.0.1:%%PORT_8191%%") then
    txn:set_var("txn.r", "connect failed")
    return
  end
  s:send(txn.sf:path() .. "\n")
  txn:set_var("txn.r", s:receive("*l") or "nil")
  s:close()
end)

core.register_action("sleep5", { "http-req" }, function(txn)
  core.sleep(5)
  txn:set_var("txn.r", "slept")
end)

core.register_action("big", { "http-req" }, function(txn)
  local s = core.tcp()
  s:settimeout(20)
  s:connect("127.0.0.1:%%PORT_8192%%")
  local last = s:send(string.rep("x", 4 * 1024 * 1024))
  local answer = s:receive("*l")
  txn:set_var("txn.r", tostring(last) .. " " .. tostring(answer))
  s:close()
end)

core.register_service("show", "http", function(applet)
  local body = tostring(applet:get_var("txn.r")) .. "\n"
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)
EOF
$t->write_file_expand('load.cfg', <<'EOF');
global
   nbproc 1
   maxconn 6000
   lua-load load.lua

defaults
   mode http
   timeout connect 5s
   timeout client 60s
   timeout server 60s

frontend fe
   bind 127.0.0.1:%%PORT_8190%%
   http-request lua.sleep5 if { path /sleep }
   http-request lua.big if { path /big }
   http-request lua.sub if { path_beg /r/ }
   http-request use-service lua.show

frontend echo
   bind 127.0.0.1:%%PORT_8191%%
   mode tcp
   tcp-request inspect-delay 10s
   tcp-request content use-service lua.echo_tcp

frontend sink
   bind 127.0.0.1:%%PORT_8192%%
   mode tcp
   tcp-request inspect-delay 10s
   tcp-request content use-service lua.sink_tcp
EOF
$t->run;
$t->plan(6);

my $port = $t->port(8190);
my ($worker) = $t->worker_pids;

# The sleeper: sent first, answered last.
my $sleeper = IO::Socket::IP->new(PeerAddr => '127.0.0.1', PeerPort => $port,
    Proto => 'tcp') or die "connect: $!";
print $sleeper http_request_bytes('GET', '/sleep');
my $t0 = time;
sleep 0.2;

# 1000 concurrent sub-requests from forked clients.
my @pids;
for my $c (1 .. $CLIENTS) {
    my $out = File::Spec->catfile($t->testdir, "client.$c");
    push @pids, $t->run_daemon(\&client, $c, $out);
}
my $deadline = time + 40;
my $ok = 0;
for my $c (1 .. $CLIENTS) {
    my $out = File::Spec->catfile($t->testdir, "client.$c");
    sleep 0.05 while !-e $out && time < $deadline;
    open(my $fh, '<', $out) or next;
    $ok += <$fh>;
}
my $elapsed = time - $t0;
$t->stop_daemon($_) for @pids;
is($ok, $CLIENTS * $PER_CLIENT,
    '1000 concurrent cosocket sub-requests all answered right');
cmp_ok($elapsed, '<', 5, sprintf(
    'they completed while core.sleep(5) still waits (%.2fs)', $elapsed));

# The sleeper's answer comes after its 5 s.
my $resp = read_response($sleeper, 15);
my $slept = time - $t0;
is($resp && $resp->{body}, "slept\n", 'the sleeping action finished');
cmp_ok($slept, '>=', 4.8, sprintf('after its 5 s (%.2fs)', $slept));

my $r = $t->http_get($port, '/big', timeout => 30);
is($r->{body}, "$BIG got $BIG\n",
    'a 4 MB send() waits for the peer and reports the last index');
is_deeply([$t->worker_pids], [$worker], 'same worker throughout');

# A client process: $PER_CLIENT requests at once; writes how many got the
# right answer to $out.
sub client {
    my ($c, $out) = @_;
    my @paths = map { "/r/$c-$_" } 1 .. $PER_CLIENT;
    my @resp = $t->http_get_many($port, \@paths, timeout => 30);
    my $n = 0;
    for my $i (0 .. $#paths) {
        $n++ if ($resp[$i]{status} // 0) == 200
            && ($resp[$i]{body} // '') eq "echo $paths[$i]\n";
    }
    open(my $fh, '>', "$out.tmp") or die "$out: $!";
    print $fh "$n\n";
    close $fh;
    rename "$out.tmp", $out;
}

# One HTTP response read from $sock within $secs seconds, or undef.
sub read_response {
    my ($sock, $secs) = @_;
    my ($buf, $resp) = ('', undef);
    my $end = time + $secs;
    my $sel = IO::Select->new($sock);
    while (!$resp && time < $end) {
        next unless $sel->can_read($end - time);
        last unless sysread($sock, $buf, 4096, length $buf);
        ($resp) = parse_response($buf, 0);
    }
    return $resp;
}

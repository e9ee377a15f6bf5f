#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Lua services wait without blocking their worker: an HTTP service calling
# core.sleep(1) lets another one answer meanwhile; a TCP service reading
# with getline()/receive(n) waits for bytes that arrive in separate
# packets; an HTTP service reads a request body with receive() and answers
# with chunked framing when it gives no content-length.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use IO::Socket::IP;
use Test::More;
use Test::Luaproxy qw(http_request_bytes parse_response);
use Time::HiRes qw(time);

my $t = Test::Luaproxy->new;
$t->write_file_expand('svc.lua', <<'EOF');
core.register_service("sleeper", "http", function(applet)
  core.sleep(1)
  applet:add_header("content-length", "6")
  applet:start_response()
  applet:send("awake\n")
end)

core.register_service("fast", "http", function(applet)
  local body = applet.method .. " " .. applet.path .. " " .. applet.qs .. " "
    .. applet.version .. " " .. tostring(applet.headers["x-test"][0]) .. "\n"
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)

core.register_service("upper", "http", function(applet)
  local body = applet:receive()
  applet:set_status(201, "Made")
  applet:start_response()
  applet:send(string.upper(body))
  applet:send("|" .. applet.length)
end)

core.register_service("lines", "tcp", function(applet)
  local first = applet:getline()
  local four = applet:receive(4)
  applet:send("[" .. first .. "][" .. four .. "]\n")
end)
EOF
$t->write_file_expand('svc.cfg', <<'EOF');
global
   nbproc 1
   lua-load svc.lua

defaults
   mode http
   timeout connect 5s
   timeout client 30s
   timeout server 30s

frontend fe
   bind 127.0.0.1:%%PORT_8160%%
   http-request use-service lua.sleeper if { path /sleep }
   http-request use-service lua.upper if { path /upper }
   http-request use-service lua.fast

frontend tcp
   bind 127.0.0.1:%%PORT_8161%%
   mode tcp
   tcp-request inspect-delay 1s
   tcp-request content use-service lua.lines
EOF
$t->run;
$t->plan(7);

my $port = $t->port(8160);
my $t0 = time;
my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port,
    Proto => 'tcp', Timeout => 3);
print $s http_request_bytes('GET', '/sleep');
my $r = $t->http_get($port, '/p/q?a=1', headers => ['X-Test' => 'yes']);
my $fast = time - $t0;
is($r->{body}, "GET /p/q a=1 HTTP/1.1 yes\n",
    'another service answers while one sleeps (method, path, qs, version, headers[0])');
ok($fast < 0.7, "without waiting for the sleeper (${fast}s)");
my ($buf, $sel) = ('', IO::Select->new($s));
while ($sel->can_read(5)) {
    last unless sysread($s, $buf, 65536, length $buf);
    last if parse_response($buf, 0);
}
my ($slept) = parse_response($buf, 1);
my $took = time - $t0;
is($slept && $slept->{body}, "awake\n", 'the sleeping service answered');
ok($took >= 0.9, "after its sleep (${took}s)");

$r = $t->http_get($port, '/upper', method => 'POST', body => 'some body');
is($r->{status}, 201, 'set_status with a reason');
ok(($r->{headers}{'transfer-encoding'} // '') =~ /chunked/
        && $r->{body} eq 'SOME BODY|9',
    'body read with receive(); chunked answer without content-length');

my $tcp = $t->raw_request($t->port(8161), ["hel", "lo\nab", "cd"],
    delay => 0.2, timeout => 5);
is($tcp->{data}, "[hello\n][abcd]\n",
    'TCP service waits for getline and receive(4) across packets');

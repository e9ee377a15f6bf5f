#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# txn.req on TCP streams: a tcp-request content action reads the client's
# bytes (waiting for a line that arrives in two packets), rewrites them
# with set/remove/insert/append/prepend, forwards some (output), and the
# service behind sees the result; the old get/dup/getline API works too.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::IP;
use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(sleep);

my $t = Test::Luaproxy->new;
$t->write_file_expand('chn.lua', <<'EOF');
core.register_action("edit", { "tcp-req" }, function(txn)
  local req = txn.req
  local line = req:line()           -- waits for the LF
  if line == nil then return end    -- closed without data (port probes)
  local info = { line:gsub("\n", "\\n"), req:input(), req:output(),
    req:get_in_len(), req:get_out_len(), tostring(req:is_resp()), tostring(txn.res:is_resp()), req:data(0, 3) }
  req:set("HELLO", 0, 5)            -- "hello world\n" -> "HELLO world\n"
  req:remove(5, 6)                  -- -> "HELLO\n"
  req:insert("-", 5)                -- -> "HELLO-\n"
  req:append("tail\n")
  req:prepend(">")
  req:send("[sent]")
  info[#info + 1] = req:output()
  info[#info + 1] = req:dup():gsub("\n", "\\n")
  txn:set_var("txn.info", table.concat(info, "|"))
end)

core.register_action("old", { "tcp-req" }, function(txn)
  local first = txn.req:getline()
  if first == "" then return end
  local rest = txn.req:get()
  txn.req:send("getline=" .. first:gsub("\n", "") .. " get=" .. rest)
end)

core.register_service("dump", "tcp", function(applet)
  local data = applet:receive()
  applet:send(tostring(applet:get_var("txn.info")) .. "\n" .. data)
end)
EOF
$t->write_file_expand('chn.cfg', <<'EOF');
global
   nbproc 1
   lua-load chn.lua

defaults
   mode tcp
   timeout connect 5s
   timeout client 30s
   timeout server 30s

frontend edit
   bind 127.0.0.1:%%PORT_8240%%
   tcp-request inspect-delay 3s
   tcp-request content lua.edit
   tcp-request content use-service lua.dump

frontend old
   bind 127.0.0.1:%%PORT_8241%%
   tcp-request inspect-delay 3s
   tcp-request content lua.old
   tcp-request content use-service lua.dump
EOF
$t->run;
$t->plan(2);

my $c = IO::Socket::IP->new(PeerAddr => '127.0.0.1',
    PeerPort => $t->port(8240), Proto => 'tcp') or die "connect: $!";
syswrite($c, "hello ");
sleep 0.2;
syswrite($c, "world\n");
shutdown($c, 1);
my $got = '';
1 while sysread($c, $got, 4096, length $got);
is($got, "hello world\\n|12|0|12|0|false|true|hel|6|>HELLO-\\ntail\\n\n"
    . "[sent]>HELLO-\ntail\n",
    'line waits for the LF; input/output and their old names get_in_len/'
    . 'get_out_len; set/remove/insert/append/prepend/send rewrite');

my $r = $t->raw_request($t->port(8241), "one\ntwo three",
    until => sub { 0 }, timeout => 2, shutdown_write => 1);
like($r->{data}, qr/^nil\ngetline=one get=two three/,
    'getline and get consume the input');

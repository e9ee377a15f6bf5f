#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# core.queue() and the Queue class (HAProxy 2.8): a producer task pushes
# while a consumer task waits in pop_wait() and gets every item in order;
# a service waiting in pop_wait() is answered by another request's push,
# and the worker serves others meanwhile; size, pop (nil when empty), any
# value but nil pushed; pop_wait where no wait is allowed is an error.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new(timeout => 60);
my $dir = $t->testdir;

$t->write_file('q.lua', <<'LUA');
local q, shared, got = core.queue(), core.queue(), {}
core.register_task(function()
  for i = 1, 3 do core.msleep(50); q:push("item" .. i) end
end)
core.register_task(function()
  while #got < 3 do got[#got + 1] = q:pop_wait() end
end)
local function reply(applet, body)
  applet:set_status(200)
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end
core.register_service("show", "http", function(applet)
  local q2 = core.queue()
  local nilpush = pcall(q2.push, q2, nil)
  q2:push(1); q2:push({ a = 2 }); q2:push("x")
  local size = q2:size()
  local a, b, c, d = q2:pop(), q2:pop(), q2:pop(), q2:pop()
  reply(applet, table.concat(got, ",") .. " size=" .. size .. " a=" .. a
    .. " b=" .. b.a .. " c=" .. c .. " d=" .. tostring(d) .. " nilpush="
    .. tostring(nilpush) .. " left=" .. q2:size())
end)
core.register_service("wait", "http", function(applet)
  reply(applet, "got " .. tostring(shared:pop_wait()))
end)
core.register_action("feed", { "http-req" }, function(txn)
  shared:push(txn.sf:req_hdr("x-item"))
end)
core.register_fetches("popwait", function(txn)
  return shared:pop_wait()
end)
LUA
$t->write_file_expand('lp.cfg', <<"CFG");
global
    nbproc 1
    lua-load $dir/q.lua
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend f
    bind 127.0.0.1:%%PORT_8080%%
    http-request lua.feed if { path /feed }
    http-request return status 200 content-type text/plain string fed if { path /feed }
    http-request return status 200 content-type text/plain lf-string "[%[lua.popwait]]" if { path /fetch }
    http-request use-service lua.wait if { path /wait }
    http-request use-service lua.show
CFG
$t->expect_alerts(qr/Lua sample-fetch 'popwait': runtime error: .*yield not allowed/);
$t->run;

my $n = 0;
my $show;
until ((($show = $t->http_get($t->port(8080), '/show')->{body} // '')
        =~ /^item1,item2,item3 /) || ++$n > 50) {
    sleep 0.1;
}
is($show, 'item1,item2,item3 size=3 a=1 b=2 c=x d=nil nilpush=false left=0',
    'a task waiting in pop_wait gets every item in order; size, pop, push');

# What a held request on <s> gets within 3 s, up to the service's answer.
sub answer_of {
    my ($s) = @_;
    my ($buf, $sel) = ('', IO::Select->new($s));
    while ($buf !~ /got / && $sel->can_read(3)) {
        sysread($s, $buf, 4096, length $buf) or last;
    }
    return $buf;
}

my $held = $t->http_hold($t->port(8080), '/wait');
my $sel = IO::Select->new($held);
ok(!$sel->can_read(0.3), 'a service waits in pop_wait');
is($t->http_get($t->port(8080), '/show')->{status}, 200,
    'the worker serves others meanwhile');
is($t->http_get($t->port(8080), '/feed', headers => ['x-item' => 'hello'])
    ->{body}, 'fed', 'another request pushes');
like(answer_of($held), qr/\r\n\r\ngot hello$/,
    'the waiting service gets the item');
close $held;

# a waiter whose client left: as in HAProxy, its service takes an item
# and its answer goes nowhere; the worker goes on
my $gone = $t->http_hold($t->port(8080), '/wait');
sleep 0.2;
close $gone;
sleep 0.2;
is($t->http_get($t->port(8080), '/feed', headers => ['x-item' => 'late'])
    ->{body}, 'fed', 'a push after a waiter left');
$held = $t->http_hold($t->port(8080), '/wait');
sleep 0.2;
$t->http_get($t->port(8080), '/feed', headers => ['x-item' => 'later']);
like(answer_of($held), qr/\r\n\r\ngot later?$/, 'the next waiter is served');
close $held;

is($t->http_get($t->port(8080), '/fetch')->{body}, '[]',
    'pop_wait in a fetch: an error, the sample fails');

$t->stop;
$t->done_testing;

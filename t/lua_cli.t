#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# core.register_cli commands on the runtime API, with two workers: the
# function gets the applet and every word; without "@N" the command runs
# in both workers (it may change state) and worker 1 answers; a command
# that sleeps holds up neither its worker's traffic nor the other worker's
# commands; a failing command reports a failure and the worker lives on;
# one slower than stats timeout costs a timeout; "show lua" gives the
# per-script figures.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);
use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new(timeout => 60);
$t->write_file('cli.lua', <<'LUA');
local count = 0

core.register_cli({"hello", "world"}, "hello world <who>   : greets",
    function(applet, ...)
        applet:send("hello " .. table.concat({...}, ",") .. "\n")
    end)

core.register_cli({"count"}, "count               : counts its calls",
    function(applet)
        count = count + 1
        applet:send("count=" .. count .. "\n")
    end)

core.register_cli({"nap"}, "nap <ms>            : sleeps, then answers",
    function(applet, word, ms)
        core.msleep(tonumber(ms))
        applet:send("rested " .. ms .. "\n")
        applet:send("input [" .. applet:getline() .. "]\n")
    end)

core.register_cli({"boom"}, "boom                : fails",
    function(applet)
        error("kaboom")
    end)

local mapfile = ...
core.register_cli({"setmap"}, "setmap <k> <v>      : core.set_map on m.map",
    function(applet, word, k, v)
        core.set_map(mapfile, k, v)
    end)

core.register_action("hit", {"http-req"}, function(txn) end)
LUA
$t->write_file('m.map', "/a one\n");
$t->write_file_expand('lua_cli.cfg', <<'CFG');
global
    nbproc 2
    stats socket %%TESTDIR%%/admin.sock level admin
    stats timeout 3s
    lua-load %%TESTDIR%%/cli.lua %%TESTDIR%%/m.map

defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    http-request return status 200 content-type text/plain lf-string "%[path,map(%%TESTDIR%%/m.map,none)] %pid" if { path_beg /m/ }
    http-request lua.hit
    http-request return status 200 content-type text/plain string ok
CFG
$t->expect_alerts(qr/Lua cli 'boom': runtime error: .*cli\.lua:\d+: kaboom/);
$t->run;
$t->plan(15);

my $port = $t->port(8080);
sub cli { return $t->cli('admin.sock', "$_[0]\n", @_[1 .. $#_]) // '' }

is(cli('hello world a b'), "hello hello,world,a,b\n\n",
    'the function gets the applet, then every word');
like(cli('help'), qr/^  hello world <who>   : greets$/m,
    'help lists the Lua commands with their usage');

is(cli('count'), "count=1\n\n", 'count: worker 1 answers');
is(cli('@2 count'), "count=2\n\n",
    'the command without @N ran in worker 2 too');
is(cli('@1 count; @1 count'), "count=2\n\ncount=3\n\n", '@1 runs it in worker 1 only');

# A command sleeping in worker 1: its traffic and worker 2 go on.
my $slow = IO::Socket::UNIX->new(Peer => $t->testdir . '/admin.sock',
    Type => SOCK_STREAM) or die "connect: $!\n";
print $slow "\@1 nap 2000\n";
shutdown($slow, 1);
my $t0 = time;
my @ok = grep { ($_->{body} // '') eq 'ok' }
    map { $t->http_get($port, '/') } 1 .. 10;
is(scalar @ok, 10, 'both workers serve while worker 1 runs a command');
like(cli('@2 hello world x'), qr/^hello hello,world,x\n/,
    'worker 2 answers meanwhile');
like(cli('@1 hello world y'), qr/^hello hello,world,y\n/,
    'and so does worker 1');
ok(time - $t0 < 1.5, 'without waiting for the sleeping command');
my ($answer, $sel, $end) = ('', IO::Select->new($slow), time + 5);
while (time < $end && $sel->can_read($end - time)) {
    last unless sysread($slow, $answer, 4096, length $answer);
}
is($answer, "rested 2000\ninput []\n\n",
    'the sleeping command answers in the end; its input is over');

like(cli('boom'), qr/^Lua command 'boom' failed/, 'a failing command fails');
like(cli('@1 nap 5000', timeout => 6),
    qr/^worker 1 \(pid \d+\) did not answer in time\.\n\n\z/,
    'a command slower than stats timeout times out');

# A Lua command that changes state runs in both workers: core.set_map
# edits the configuration's map in each.
is(cli('setmap /m/ lua-set'), "\n", 'a Lua command calling core.set_map');
# (the answer is worker 1's: worker 2 may run it a moment later)
my %last;
for (1 .. 200) {
    my ($v, $pid) = split / /, $t->http_get($port, '/m/')->{body} // '';
    $last{$pid} = $v if $pid;
    last if keys %last == 2 && !grep { $_ ne 'lua-set' } values %last;
    select(undef, undef, undef, 0.01);
}
ok(keys %last == 2 && !grep({ $_ ne 'lua-set' } values %last),
    'both workers answer the value the Lua command set');

$t->http_get($port, '/') for 1 .. 4;
my $figures = join '', map { cli("\@$_ show lua") } 1, 2;
my $calls = 0;
$calls += $1 while $figures =~ /^action hit (\d+) 0 0 /mg;
ok($calls >= 14 && $figures =~ /^cli boom 1 1 0 /m
        && $figures =~ /^# kind name calls errors yields cpu_total_ms cpu_max_ms$/m,
    'show lua: calls, errors and yields per function, in each worker')
    or diag($figures);

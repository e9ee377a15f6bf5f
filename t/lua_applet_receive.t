#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# AppletTCP's newer reads (HAProxy 3.2): receive(size, timeout) gives
# what has arrived when the timeout expires (nil when nothing has) and
# returns as soon as the bytes asked for are in; try_receive() never
# waits: the bytes there, nil, or "" once the client has closed. The
# worker serves other clients meanwhile.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use IO::Socket::IP;
use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new(timeout => 60);
my $dir = $t->testdir;

$t->write_file('rt.lua', <<'LUA');
core.register_service("rt", "tcp", function(applet)
  local a = applet:receive(5, 300)
  local b = applet:receive(5, 200)
  local c = applet:try_receive()
  applet:send(string.format("%s|%s|%s\n", tostring(a), tostring(b), tostring(c)))
  local d = applet:receive(3, 10000)
  local e = applet:receive(nil, 10000)
  local f = applet:try_receive()
  applet:send(string.format("%s|%s|[%s]\n", d, tostring(e), tostring(f)))
end)
LUA
$t->write_file_expand('lp.cfg', <<"CFG");
global
    nbproc 1
    lua-load $dir/rt.lua
defaults
    mode tcp
    timeout connect 2s
    timeout client 20s
    timeout server 20s
listen rt
    bind 127.0.0.1:%%PORT_8080%%
    tcp-request content use-service lua.rt
listen other
    bind 127.0.0.1:%%PORT_8081%%
    tcp-request content use-service lua.rt
CFG
$t->run;

# Reads one line from <s> within <secs>; undef if none.
sub line_of {
    my ($s, $secs) = @_;
    my ($buf, $sel, $end) = ('', IO::Select->new($s), time + $secs);
    while ($buf !~ /\n/ && (my $left = $end - time) > 0) {
        last unless $sel->can_read($left);
        sysread($s, $buf, 4096, length $buf) or last;
    }
    return $buf =~ /^(.*)\n/ ? $1 : undef;
}

my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $t->port(8080))
    or die "connect: $@";
my $t0 = time;
syswrite($s, 'ab');
my $first = line_of($s, 10);
my $waited = time - $t0;
is($first, 'ab|nil|nil',
    'receive(5, 300) gives what came, receive(5, 200) nil, try_receive nil');
ok($waited >= 0.45, sprintf('both timeouts were waited for (%.2f s)', $waited));

# meanwhile, another client is served by the same worker
my $o = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $t->port(8081))
    or die "connect: $@";
syswrite($o, 'hello');
is(line_of($o, 5), 'hello|nil|nil', 'another client of the worker is served');
close $o;

$t0 = time;
syswrite($s, 'xyz');
sleep 0.2;
syswrite($s, 'tail');
shutdown($s, 1);
is(line_of($s, 10), 'xyz|tail|[]',
    'receive(3, 10000) returns once 3 bytes are in; all until the close; '
    . 'try_receive "" after it');
ok(time - $t0 < 5, 'without waiting for the 10 s timeouts');
close $s;

$t->stop;
$t->done_testing;

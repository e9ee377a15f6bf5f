#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# The Proxy and Server methods that act on the whole process in HAProxy,
# here on every worker: px:pause() and resume() (a paused frontend's
# clients wait, then are served), px:stop() (for good), sv:shut_sess()
# and px:shut_bcksess() end the streams of both workers on the server
# (the waiting requests get a 502; the operation runs in the worker that
# holds fewest of them, through a Lua runtime API command sent there, so
# the other worker's are ended through the master); and the tracking
# relations,
# sv:tracking() and get_trackers(), with is_dynamic() and get_rid().

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(sleep);

my $t = Test::Luaproxy->new(timeout => 60);
my $dir = $t->testdir;

$t->write_file('ops.lua', <<'LUA');
core.register_service("ops", "http", function(applet)
  local what, name = applet.path:match("^/(%w+)/(.+)$")
  local px, out = core.proxies[name], "done"
  if what == "pause" then px:pause()
  elseif what == "resume" then px:resume()
  elseif what == "stop" then px:stop()
  elseif what == "track" then
    local s, t1 = px.servers, core.backends.trk.servers.t1
    local tr = s.s1:get_trackers()
    out = t1:tracking():get_name() .. "/"
      .. t1:tracking():get_proxy():get_name() .. " "
      .. tostring(s.s1:tracking()) .. " " .. #tr .. " " .. tr[1]:get_name()
      .. "/" .. tr[1]:get_proxy():get_name() .. " " .. #t1:get_trackers()
      .. " " .. tostring(s.s1:is_dynamic()) .. " " .. s.s1:get_rid()
  end
  applet:set_status(200)
  applet:add_header("content-length", #out)
  applet:start_response()
  applet:send(out)
end)
core.register_cli({"ops"}, "ops shutsrv|shutbck <proxy> : ends streams",
  function(applet, word, what, name)
    local px = core.proxies[name]
    if what == "shutsrv" then px.servers.s1:shut_sess() else px:shut_bcksess() end
    applet:send("done\n")
  end)
LUA

my ($silent, $silent_bck) = map { $t->port($_) } 8091, 8092;
$t->write_file_expand('lp.cfg', <<"CFG");
global
    nbproc 2
    stats socket $dir/admin.sock level admin
    lua-load $dir/ops.lua
defaults
    mode http
    log stderr local0
    option httplog
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend admin
    bind 127.0.0.1:%%PORT_8080%%
    http-request use-service lua.ops
frontend web
    bind 127.0.0.1:%%PORT_8081%%
    http-request return status 200 content-type text/plain string ok
frontend relay
    bind 127.0.0.1:%%PORT_8082%%
    use_backend bck if { path /bck }
    default_backend be
backend be
    server s1 127.0.0.1:$silent check inter 5s
backend trk
    server t1 127.0.0.1:$silent track be/s1
backend bck
    server s1 127.0.0.1:$silent disabled
    server b1 127.0.0.1:$silent_bck backup
CFG
my @origins = map { $t->listen_socket($_) } 8091, 8092;
$t->run;
ok($t->wait_log(qr/(?s:ready, generation 1.*){2}/), 'two workers ready');

sub op { return $t->http_get($t->port(8080), $_[0])->{body} // '' }

# The column <col> of the line <px>,<sv> in worker <w>'s show stat.
sub stat_of {
    my ($w, $px, $sv, $col) = @_;
    my $out = $t->cli('admin.sock', "\@$w show stat\n") // '';
    return undef unless $out =~ /^# (.*)$/m;
    my @c = split /,/, $1;
    my ($i) = grep { $c[$_] eq $col } 0 .. $#c;
    my ($line) = $out =~ /^(\Q$px,$sv\E,.*)$/m or return undef;
    return (split /,/, $line, -1)[$i];
}
sub both { my @a = @_; join ' ', map { stat_of($_, @a) // '?' } 1, 2 }

# 1 if an answer matching <re> comes on <s> within <secs>.
sub answered {
    my ($s, $secs, $re) = @_;
    my ($buf, $sel) = ('', IO::Select->new($s));
    my $end = time + $secs;
    while ($buf !~ $re && (my $left = $end - time) > 0) {
        last unless $sel->can_read($left);
        sysread($s, $buf, 4096, length $buf) or last;
    }
    return $buf =~ $re ? 1 : 0;
}

is(op('/track/be'), 's1/be nil 1 t1/trk 0 false 0',
    'tracking, get_trackers, is_dynamic and get_rid');

is(op('/pause/web'), 'done', 'px:pause()');
is(both('web', 'FRONTEND', 'status'), 'PAUSED PAUSED', 'both workers pause it');
my $held = $t->http_hold($t->port(8081), '/');
ok(!answered($held, 0.5, qr{^HTTP/1\.1 200}), 'a client of a paused frontend waits');
is(op('/resume/web'), 'done', 'px:resume()');
ok(answered($held, 3, qr{^HTTP/1\.1 200}), 'then it is served');
close $held;
is(both('web', 'FRONTEND', 'status'), 'OPEN OPEN', 'both workers accept again');

# The requests of both workers on <px>/<sv>.
sub total {
    my $sum = 0;
    $sum += /^\d+$/ ? $_ : 0 for split / /, both(@_, 'scur');
    return $sum;
}

# Six requests waiting on a silent server (<path> on relay), counted in
# the column scur of <px>/<sv>; the workers share them as the kernel
# likes, so the operation then runs in the one holding fewest.
sub waiting {
    my ($path, $px, $sv) = @_;
    my @held = map { $t->http_hold($t->port(8082), $path) } 1 .. 6;
    my $n = 0;
    sleep 0.05 until total($px, $sv) == 6 || ++$n > 100;
    my @per = split / /, both($px, $sv, 'scur');
    return ($per[0] <= $per[1] ? 1 : 2, @held);
}

# Runs "ops <what> <px>" in worker <w> only; every request must get a 502.
sub ends_all {
    my ($what, $px, $w, @held) = @_;
    is($t->cli('admin.sock', "\@$w ops $what $px\n"), "done\n\n",
        "$what in worker $w only");
    return scalar(grep { answered($_, 3, qr{^HTTP/1\.1 502 }) } @held)
        == @held;
}

my ($w, @held) = waiting('/', 'be', 's1');
is(total('be', 's1'), 6, 'six requests wait on s1');
ok(ends_all('shutsrv', 'be', $w, @held),
    'sv:shut_sess(): every waiting request of both workers gets a 502');
close $_ for @held;

($w, @held) = waiting('/bck', 'bck', 'b1');
is(total('bck', 'b1'), 6, 'six requests wait on the backup server');
ok(ends_all('shutbck', 'bck', $w, @held),
    'px:shut_bcksess(): every request on a backup server gets a 502');
close $_ for @held;

is(op('/stop/web'), 'done', 'px:stop()');
is(both('web', 'FRONTEND', 'status'), 'STOP STOP', 'both workers stop it');
is(op('/resume/web'), 'done', 'px:resume() after stop()');
is(both('web', 'FRONTEND', 'status'), 'STOP STOP', 'changes nothing: stopped for good');

$t->stop;
$t->done_testing;

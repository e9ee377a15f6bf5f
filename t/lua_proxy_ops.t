#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# The Proxy and Server methods that act on the whole process in HAProxy,
# here on every worker: px:pause() and resume() (a paused frontend's
# clients wait, then are served), px:stop() (for good), sv:shut_sess()
# and px:shut_bcksess() end the streams of both workers on the server
# (the waiting requests get a 502); and the tracking relations,
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
  elseif what == "shutbck" then px:shut_bcksess()
  elseif what == "shutsrv" then px.servers.s1:shut_sess()
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

# Requests waiting on a silent server in both workers (<path> on relay),
# and the column of <px>/<sv> that counts them.
sub waiting {
    my ($path, $px, $sv) = @_;
    my @held;
    for (1 .. 30) {
        push @held, $t->http_hold($t->port(8082), $path);
        my $n = 0;
        sleep 0.05 until both($px, $sv, 'scur') !~ /\?/ || ++$n > 20;
        last if @held >= 4 && both($px, $sv, 'scur') =~ /^[1-9]\d* [1-9]/;
    }
    return @held;
}

my @held = waiting('/', 'be', 's1');
like(both('be', 's1', 'scur'), qr/^[1-9]\d* [1-9]\d*$/,
    'requests wait on s1 in both workers');
is(op('/shutsrv/be'), 'done', 'sv:shut_sess()');
is(scalar(grep { answered($_, 3, qr{^HTTP/1\.1 502 }) } @held), scalar(@held),
    'every waiting request of both workers gets a 502');
close $_ for @held;

@held = waiting('/bck', 'bck', 'b1');
like(both('bck', 'b1', 'scur'), qr/^[1-9]\d* [1-9]\d*$/,
    'requests wait on the backup server in both workers');
is(op('/shutbck/bck'), 'done', 'px:shut_bcksess()');
is(scalar(grep { answered($_, 3, qr{^HTTP/1\.1 502 }) } @held), scalar(@held),
    'every request on a backup server gets a 502');
close $_ for @held;

is(op('/stop/web'), 'done', 'px:stop()');
is(both('web', 'FRONTEND', 'status'), 'STOP STOP', 'both workers stop it');
is(op('/resume/web'), 'done', 'px:resume() after stop()');
is(both('web', 'FRONTEND', 'status'), 'STOP STOP', 'changes nothing: stopped for good');

$t->stop;
$t->done_testing;

#!/usr/bin/perl
# The Lua Server methods that force a state: check_force_up/down/nolb,
# agent_force_up/down, check_disable/enable, agent_disable/enable, as the
# statistics show them and the log words them ("changed from Lua script"),
# the same as HAProxy; shut_sess ends the streams on the server (a request
# waiting for its answer gets a 502).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use IO::Select;
use Time::HiRes qw(sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new;
my $dir = $t->testdir;

$t->write_file('s.lua', <<'LUA');
core.register_service("op", "http", function(applet)
  local sv = core.backends.b.servers.s1
  local what = applet.path:sub(2)
  sv[what](sv)
  applet:set_status(200)
  applet:start_response()
  applet:send(what)
end)
core.register_service("shut", "http", function(applet)
  core.backends.slow.servers.s1:shut_sess()
  applet:set_status(200)
  applet:start_response()
end)
LUA

sub config {
    my ($who, $port, $slow) = @_;
    my ($o, $a, $s) = map { $t->port($_) } 8091, 8092, 8093;
    return <<"CFG";
global
    nbthread 1
    lua-load $dir/s.lua
    stats socket $dir/$who.sock level admin
defaults
    mode http
    log stderr local0
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:$port
    use_backend slow if { path /slow }
    http-request use-service lua.shut if { path /shut }
    http-request use-service lua.op unless { path /slow }
backend b
    server s1 127.0.0.1:$o check inter 1h agent-check agent-port $a agent-inter 1h
    server s2 127.0.0.1:$o
backend slow
    server s1 127.0.0.1:$s
CFG
}

$t->http_origin(8091, sub { [200, [], 'origin'] });
$t->http_origin(8092, sub { [200, [], 'up'] });  # the agent: says nothing useful
$t->http_origin(8093, sub { sleep 3; [200, [], 'slow'] });

sub outcomes {
    my ($who, $port, $log) = @_;
    my @seen;
    sleep 0.3;
    for my $op (qw(check_force_down check_force_up agent_force_down
        agent_force_up check_force_nolb check_force_up agent_disable
        agent_enable check_disable check_enable)) {
        $t->http_get($port, "/$op");
        push @seen, "$op: " . $t->show_stat("$who.sock")->{'b/s1'}{status};
    }
    open(my $fh, '<', "$dir/$log") or return (\@seen, []);
    my @lines = map { /: (Server b\/s1 is .*)$/ ? $1 : () }
        grep { /^</ && /changed from Lua script/ } <$fh>;
    return (\@seen, \@lines);
}

$t->expect_alerts(qr/is DOWN/);
$t->write_file('lp.cfg', config('lp', $t->port(8080)));
$t->run;
my ($seen, $logged) = outcomes('lp', $t->port(8080), 'stderr.log');
is_deeply($seen, [
    'check_force_down: DOWN', 'check_force_up: UP',
    'agent_force_down: DOWN (agent)', 'agent_force_up: UP',
    'check_force_nolb: NOLB', 'check_force_up: UP', 'agent_disable: UP',
    'agent_enable: UP', 'check_disable: no check', 'check_enable: UP',
], 'each forced state as the statistics show it') or diag(explain($seen));
is(scalar @$logged, 6, 'each change of state logged') or diag(explain($logged));
is($logged->[0], 'Server b/s1 is DOWN, changed from Lua script. 1 active and '
    . '0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in '
    . 'queue.', 'worded as HAProxy words it');
is($logged->[4], 'Server b/s1 is stopping, changed from Lua script. 1 active '
    . 'and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
    'NOLB is "stopping"');

# shut_sess: a request waiting on the slow server gets a 502 at once
my $held = $t->http_hold($t->port(8080), '/slow');
sleep 0.5;
$t->http_get($t->port(8080), '/shut');
my ($buf, $sel) = ('', IO::Select->new($held));
while ($sel->can_read(2)) { sysread($held, $buf, 4096, length $buf) or last }
like($buf, qr{^HTTP/1\.1 502 }, 'shut_sess: the waiting request gets a 502');
ok($t->wait_log(qr{ slow/s1 \S+ 502 \d+ - - KH-- }),
    'shut_sess: logged KH--');

SKIP: {
    skip("no haproxy at $haproxy", 2) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    my ($hseen, $hlogged) = outcomes('ha', $t->port(8180), 'haproxy.log');
    is_deeply($seen, $hseen, 'HAProxy: the same states') or diag(explain($hseen));
    is_deeply($logged, $hlogged, 'HAProxy: the same log lines')
        or diag(explain($hlogged));
}

$t->done_testing;

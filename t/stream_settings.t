#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Per-stream settings, as HAProxy has them:
# - "set-priority-class" and "set-priority-offset" (and the Lua setters
#   txn:set_priority_class/offset) order a backend queue: a lower class
#   is served first, then the earlier arrival time plus offset; the
#   prio_class and prio_offset fetches read them back, clamped to
#   HAProxy's bounds;
# - "set-tos" and "set-mark" (txn:set_tos, txn:set_mark, and HAProxy 3's
#   set-fc-tos / set-fc-mark with an expression) set the client
#   socket's IP_TOS / IPV6_TCLASS and SO_MARK, which ss(8) shows;
# - bad arguments are configuration errors with file:line.
# HAProxy on the same configuration serves the queue in the same order
# and marks the same sockets.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Socket qw(SOL_SOCKET);
use Test::More;
use Test::Luaproxy;

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $ss = (grep { -x } map { "$_/ss" } qw(/usr/bin /bin /usr/sbin /sbin))[0];
my $t = Test::Luaproxy->new(timeout => 90);
my $dir = $t->testdir;

$t->write_file('prio.lua', <<'LUA');
core.register_action('urgent', {'http-req'}, function(txn)
    txn:set_priority_class(-10)
end)
core.register_action('marks', {'http-req'}, function(txn)
    txn:set_tos(0x48)
    txn:set_mark(77)
end)
core.register_action('badtos', {'http-req'}, function(txn)
    txn:set_tos('high')
end)
LUA

# The same configuration for both servers; set-fc-* (HAProxy 3) only
# where <who> is luaproxy.
sub config {
    my ($who, $fport, $tport, $v6port) = @_;
    my $o = $t->port(8091);
    my $v6 = $v6port ? "    bind [::1]:$v6port\n" : '';
    my $fc = $who eq 'lp' ? <<'FC' : '';
    http-request set-fc-tos req.hdr(x-tos) if { path /fctos }
    http-request set-fc-mark int(9) if { path /fcmark }
FC
    return <<"CFG";
global
    nbthread 1
    lua-load $dir/prio.lua
defaults
    timeout connect 2s
    timeout client 20s
    timeout server 20s
    timeout queue 20s
frontend fe
    mode http
    bind 127.0.0.1:$fport
$v6    acl prio path_beg /q/ /show/
    http-request set-priority-class path,field(3,/) if prio
    http-request set-priority-offset path,field(4,/) if prio
    http-request lua.urgent if { path /urgent }
    http-request return status 200 content-type text/plain lf-string "%[prio_class] %[prio_offset]" if { path_beg /show/ }
    http-request set-tos 0x20 if { path /tos }
    http-request set-mark 0x1ab if { path /mark }
    http-request lua.marks if { path /luamarks }
    http-request lua.badtos if { path /badtos }
$fc    default_backend b
backend b
    mode http
    server s 127.0.0.1:$o maxconn 1
listen tcpfe
    mode tcp
    bind 127.0.0.1:$tport
    tcp-request connection set-tos 16
    server s 127.0.0.1:$o
CFG
}

# The origin numbers the requests it serves; the first one is slow, so
# that the others wait in the queue of its single slot.
$t->http_origin(8091, sub {
    my ($req) = @_;
    our $served;
    $served++;
    select(undef, undef, undef, $req->{uri} eq '/first' ? 1.5 : 0.05);
    return [200, [], $served];
});

my $has_v6 = IO::Socket::IP->new(LocalHost => '::1', Proto => 'tcp',
    Listen => 1);
$t->write_file('lp.cfg', config('lp', $t->port(8080), $t->port(8081),
        $has_v6 ? $t->port(8082) : 0));
$t->run;

# The queue: one request holds the slot, then five arrive one by one.
# Served: the Lua class -10, class -5, class 0 with offset -5 s (later
# but "earlier"), class 0, class 5.
my @queued = ('/q/0/0', '/q/5/0', '/q/-5/0', '/q/0/-5000', '/urgent');
my $expect = '/urgent /q/-5/0 /q/0/-5000 /q/0/0 /q/5/0';
sub queue_order {
    my ($port) = @_;
    my @socks = ($t->http_hold($port, '/first'));
    select(undef, undef, undef, 0.3);
    for my $p (@queued) {
        push @socks, $t->http_hold($port, $p);
        select(undef, undef, undef, 0.15);
    }
    my @r = $t->http_read_many(\@socks, timeout => 20);
    my %at = map { $queued[$_] => $r[$_ + 1]{body} // 'none' } 0 .. $#queued;
    return join(' ', sort { $at{$a} <=> $at{$b} } @queued)
        . (grep({ ($_->{status} // 0) != 200 } @r) ? ' (errors)' : '');
}

# The settings of one request as the fetches see them.
sub shown { return $t->http_get($_[0], $_[1])->{body} // 'none' }

# What ss(8) shows of the socket serving a keep-alive connection after
# <path>: "tos:0x20", "tclass:0x20", "fwmark:0x1ab"...
sub socket_marks {
    my ($port, $path, %opts) = @_;
    my $sess = $t->http_keepalive($port, $opts{v6} ? (host => '::1') : ());
    return 'no connection' unless $sess;
    $sess->get($path, headers => $opts{headers} // []);
    my $cport = $sess->{sock}->sockport;
    my $out = `$ss -Htnie --tos '( sport = :$port and dport = :$cport )' 2>&1`;
    $sess->close;
    my @m = $out =~ /\b((?:tos|tclass|fwmark):0x[0-9a-f]+)/g;
    return join(' ', @m) || 'none';
}

my $can_mark = do {
    my $s = IO::Socket::IP->new(Proto => 'udp', LocalHost => '127.0.0.1');
    $s && setsockopt($s, SOL_SOCKET, 36, pack('I', 1)); # SO_MARK
};

# Runs every check against <port> (and its TCP and IPv6 ports); returns
# name => outcome.
sub outcomes {
    my ($fport, $tport, $v6port) = @_;
    my %o;
    $o{'queue order'} = queue_order($fport);
    $o{'fetches'} = shown($fport, '/show/3/-250');
    $o{'fetches, clamped'} = shown($fport, '/show/5000/-999999');
    $o{'fetches, no rule'} = shown($fport, '/show/x/y');
    if ($ss) {
        $o{'set-tos'} = socket_marks($fport, '/tos');
        $o{'no set-tos'} = socket_marks($fport, '/plain');
        $o{'txn:set_tos'} = socket_marks($fport, '/luamarks');
        # a request through, so the connection's rules have run
        $o{'tcp-request connection set-tos'} = socket_marks($tport, '/tcp');
        $o{'set-tos over IPv6'} = socket_marks($v6port, '/tos', v6 => 1)
            if $v6port;
        $o{'set-mark'} = socket_marks($fport, '/mark');
    }
    return %o;
}

my $port = $t->port(8080);
my %lp = outcomes($port, $t->port(8081), $has_v6 ? $t->port(8082) : 0);
is($lp{'queue order'}, $expect, 'queue: by class, then arrival plus offset');
is($lp{'fetches'}, '3 -250', 'prio_class and prio_offset');
is($lp{'fetches, clamped'}, '2047 -524287', 'clamped to HAProxy\'s bounds');
is($lp{'fetches, no rule'}, '0 0', 'a string that is no number counts as 0, as HAProxy casts it');

SKIP: {
    skip('no ss(8): socket options not visible', 9) unless $ss;
    like($lp{'set-tos'}, qr/^tos:0x20\b/, 'set-tos 0x20 on the client socket');
    is($lp{'no set-tos'}, 'none', 'no rule: TOS 0, which ss does not show');
    like($lp{'txn:set_tos'}, qr/\btos:0x48\b/, 'txn:set_tos');
    like($lp{'tcp-request connection set-tos'}, qr/^tos:0x10\b/,
        'tcp-request connection set-tos');
    like(socket_marks($port, '/fctos', headers => ['X-Tos' => '40']),
        qr/^tos:0x28\b/, 'set-fc-tos with an expression');
    SKIP: {
        skip('no IPv6 loopback', 1) unless $has_v6;
        like($lp{'set-tos over IPv6'}, qr/tclass:0x20\b/,
            'over IPv6 it is the traffic class');
    }
    SKIP: {
        skip('SO_MARK needs CAP_NET_ADMIN', 3) unless $can_mark;
        like($lp{'set-mark'}, qr/fwmark:0x1ab\b/, 'set-mark 0x1ab');
        like(socket_marks($port, '/luamarks'), qr/fwmark:0x4d\b/,
            'txn:set_mark');
        like(socket_marks($port, '/fcmark'), qr/fwmark:0x9\b/,
            'set-fc-mark with an expression');
    }
}

# A wrong type from Lua is an error of that action; the request goes on.
$t->expect_alerts(qr/Lua function 'badtos': runtime error/);
my $log = $t->log_mark;
is($t->http_get($port, '/badtos')->{status}, 200,
    'txn:set_tos with a string: the request is still served');
ok($t->wait_log(qr/prio\.lua:\d+:.*number expected/, mark => $log),
    'the Lua error is logged with its file and line');

# Bad arguments.
$t->rule_errors(['http-request set-tos', "'set-tos' expects a number"],
    ['http-request set-tos high', "'set-tos' expects a number, got 'high'"],
    ['http-request set-mark 12x', "'set-mark' expects a number, got '12x'"],
    ['http-request set-priority-class',
        "'set-priority-class' expects a sample"],
    ['http-request set-priority-offset nosuchfetch', 'nosuchfetch'],
    ['http-response set-priority-class int(1)', 'set-priority-class']);

# HAProxy gives the same outcomes (set-fc-* is HAProxy 3: not compared).
SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180), $t->port(8181),
            $has_v6 ? $t->port(8182) : 0));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    my %ha = outcomes($t->port(8180), $t->port(8181),
        $has_v6 ? $t->port(8182) : 0);
    is_deeply(\%lp, \%ha, 'HAProxy: the same outcomes')
        or diag(explain(\%lp, \%ha));
}

$t->done_testing;

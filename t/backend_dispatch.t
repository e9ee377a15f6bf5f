#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# "dispatch ADDR:PORT" (backend, listen): the one server of a legacy
# backend. Without "balance" every stream goes there, even when the
# backend also lists servers, and logs name no server ("<NOSRV>"); a TCP
# listen section relays to it, its host name resolved at load. With
# "balance" the servers serve and the dispatch address is ignored, with a
# warning. A missing port or an unknown host is a file:line error. HAProxy
# answers and logs the same.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy qw(syslog_sink syslog_drain syslog_next);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);
my %udp = map { $_ => syslog_sink() } qw(lp ha);

sub config {
    my ($who, $port, $relay) = @_;
    my ($o1, $o2) = map { $t->port($_) } 8091, 8092;
    my $uport = $udp{$who}->sockport;
    return <<"CFG";
global
    nbthread 1
    log 127.0.0.1:$uport local0
defaults
    mode http
    log global
    log-format "%b/%s %ST"
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$port
    use_backend both if { path_beg /both }
    use_backend bal if { path_beg /bal }
    default_backend only
backend only
    dispatch 127.0.0.1:$o1
backend both
    dispatch 127.0.0.1:$o1
    server s1 127.0.0.1:$o2
backend bal
    balance roundrobin
    dispatch 127.0.0.1:$o1
    server s1 127.0.0.1:$o2
listen relay
    mode tcp
    no log
    bind 127.0.0.1:$relay
    dispatch localhost:$o1
CFG
}

$t->http_origin(8091, sub { return [200, [], 'dispatch'] });
$t->http_origin(8092, sub { return [200, [], 's1'] });

# Which origin answered each path, with the log line.
sub outcomes {
    my ($who, $port, $relay) = @_;
    my %o = map {
        my $r = $t->http_get($port, $_);
        ($_ => ($r->{body} // 'none') . ' | ' . syslog_next($udp{$who}))
    } qw(/only /both /bal);
    $o{relay} = $t->http_get($relay, '/relay')->{body} // 'none';
    return \%o;
}

$t->write_file('lp.cfg', config('lp', $t->port(8080), $t->port(8081)));
my ($rc, $out) = $t->run_cmd('-c', '-f', 'lp.cfg');
like($out, qr/lp\.cfg:\d+: dispatch address of backend 'bal' will be ignored/,
    'with balance: a warning at the dispatch line');
$t->run;
syslog_drain($udp{lp});
my $lp = outcomes('lp', $t->port(8080), $t->port(8081));
is_deeply($lp, {
    '/only' => 'dispatch | <134>HDR: only/<NOSRV> 200',
    '/both' => 'dispatch | <134>HDR: both/<NOSRV> 200',
    '/bal' => 's1 | <134>HDR: bal/s1 200',
    relay => 'dispatch',
}, 'dispatch serves without balance, servers with it; TCP relays')
    or diag(explain($lp));

$t->line_errors('backend b',
    ['dispatch 127.0.0.1', qr/port/],
    ['dispatch 127.0.0.1:1 127.0.0.1:2', qr/at most 1 argument/],
    ['dispatch nohost.invalid:80', qr/nohost/],
    ['dispatch', qr/expects 1 argument/],
);
($rc, $out) = $t->check_config("frontend f\n    dispatch 127.0.0.1:1\n",
    'fe.cfg');
ok($rc != 0 && $out =~ /fe\.cfg:2: /, 'not in a frontend') or diag($out);

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180), $t->port(8181)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180), $t->port(8181));
    syslog_drain($udp{ha});
    my $ha = outcomes('ha', $t->port(8180), $t->port(8181));
    is_deeply($lp, $ha, 'HAProxy: the same answers and log lines')
        or diag(explain($lp, $ha));
}

$t->done_testing;

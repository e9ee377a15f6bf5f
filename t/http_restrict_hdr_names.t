#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# "option http-restrict-req-hdr-names preserve|delete|reject": request
# headers whose names have characters other than letters, digits and
# hyphens ("X_Under", "X.Dot") go to the server (preserve, the default),
# are removed (delete), or get the request refused with 403 (reject), in
# the frontend or the backend. HAProxy answers and logs the same.

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
    my ($who, $port, $fport) = @_;
    my $o = $t->port(8091);
    my $uport = $udp{$who}->sockport;
    return <<"CFG";
global
    nbthread 1
    log 127.0.0.1:$uport local0
defaults
    mode http
    log global
    log-format "%ST %tsc %b %r"
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$port
    use_backend del if { path_beg /d }
    use_backend rej if { path_beg /r }
    default_backend keep
frontend strict
    bind 127.0.0.1:$fport
    option http-restrict-req-hdr-names reject
    default_backend keep
backend del
    option http-restrict-req-hdr-names delete
    server s 127.0.0.1:$o
backend rej
    option http-restrict-req-hdr-names reject
    server s 127.0.0.1:$o
backend keep
    server s 127.0.0.1:$o
CFG
}

# The origin answers the names of the X headers it got.
$t->http_origin(8091, sub {
    my ($req) = @_;
    return [200, [], join(';', sort grep { /^x/ } keys %{ $req->{headers} })];
});

sub ask {
    my ($who, $port, $path) = @_;
    my $r = $t->http_get($port, $path,
        headers => ['X_Under' => '1', 'X.Dot' => '2', 'X-Ok' => '3']);
    my $body = ($r->{status} // 0) == 200 ? $r->{body} : '';
    return ($r->{status} // 'none') . " $body | " . syslog_next($udp{$who});
}

sub outcomes {
    my ($who, $port, $fport) = @_;
    return (
        preserve => ask($who, $port, '/k'),
        delete => ask($who, $port, '/d'),
        reject => ask($who, $port, '/r'),
        'frontend reject' => ask($who, $fport, '/k'),
    );
}

$t->write_file('lp.cfg', config('lp', $t->port(8080), $t->port(8081)));
$t->run;
syslog_drain($udp{lp});
my %lp = outcomes('lp', $t->port(8080), $t->port(8081));
is($lp{preserve}, '200 x-ok;x.dot;x_under | <134>HDR: 200 ---- keep GET /k HTTP/1.1',
    'preserve: every header goes');
is($lp{delete}, '200 x-ok | <134>HDR: 200 ---- del GET /d HTTP/1.1',
    'delete: only the plain names go');
is($lp{reject}, '403  | <134>HDR: 403 PR-- rej GET /r HTTP/1.1',
    'reject: 403, PR');
is($lp{'frontend reject'}, '403  | <134>HDR: 403 PR-- strict GET /k HTTP/1.1',
    'the frontend\'s setting applies too, before a backend is chosen');
$t->rule_errors(['option http-restrict-req-hdr-names drop', "expects 'preserve', 'delete' or 'reject'"]);

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180), $t->port(8181)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180), $t->port(8181));
    syslog_drain($udp{ha});
    is_deeply({ outcomes('ha', $t->port(8180), $t->port(8181)) }, \%lp,
        'HAProxy: the same answers and log lines');
}

$t->done_testing;

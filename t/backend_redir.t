#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# The server option "redir PREFIX": a GET or HEAD the balancing gives to
# that server is answered with a 302 to the prefix followed by the path
# and query (absolute-form requests included), and the connection
# closes; other methods go to the server. The log names the server with
# the termination state LC. HAProxy answers and logs the same.

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
    my ($who, $port) = @_;
    my $o = $t->port(8091);
    my $uport = $udp{$who}->sockport;
    return <<"CFG";
global
    nbthread 1
    log 127.0.0.1:$uport local0
defaults
    mode http
    log global
    log-format "%ST %tsc %b/%s %r"
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$port
    default_backend b
backend b
    server s1 127.0.0.1:$o redir http://other.example:8080
CFG
}

$t->http_origin(8091, sub { return [200, [], 'origin'] });

sub ask {
    my ($who, $port, $method, $uri) = @_;
    my $len = $method eq 'POST' ? "Content-Length: 1\r\n" : '';
    my $r = $t->http($port, "$method $uri HTTP/1.1\r\nHost: a\r\n$len\r\n"
            . ($len ? 'x' : ''), method => $method);
    return join(' | ', $r->{status} // 'none',
        $r->{headers}{location} // '-', $r->{headers}{'cache-control'} // '-',
        $r->{body} // '', $r->{headers}{connection} // '-',
        syslog_next($udp{$who}));
}

sub outcomes {
    my ($who, $port) = @_;
    return (
        'GET' => ask($who, $port, 'GET', '/a/b?c=d'),
        'HEAD' => ask($who, $port, 'HEAD', '/h'),
        'absolute form' => ask($who, $port, 'GET', 'http://a/abs?x'),
        'POST' => ask($who, $port, 'POST', '/p'),
    );
}

$t->write_file('lp.cfg', config('lp', $t->port(8080)));
$t->run;
syslog_drain($udp{lp});
my %lp = outcomes('lp', $t->port(8080));
is($lp{GET}, '302 | http://other.example:8080/a/b?c=d | no-cache |  | close | '
    . '<134>HDR: 302 LC-- b/s1 GET /a/b?c=d HTTP/1.1', 'GET: 302 to the prefix');
like($lp{HEAD}, qr{^302 \| http://other\.example:8080/h \|}, 'HEAD too');
like($lp{'absolute form'}, qr{^302 \| http://other\.example:8080/abs\?x \|},
    'the path and query of an absolute-form request');
like($lp{POST}, qr{^200 \| - \| - \| origin \| - \| <134>HDR: 200 ---- b/s1 POST},
    'POST goes to the server');

my ($rc, $out) = $t->check_config(<<'CFG', 'bad.cfg');
backend b
    server s1 127.0.0.1:1 redir
CFG
ok($rc != 0 && $out =~ /bad\.cfg:2: .*redir/, 'redir without a prefix')
    or diag($out);

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    syslog_drain($udp{ha});
    my %ha = outcomes('ha', $t->port(8180));
    is_deeply(\%lp, \%ha, 'HAProxy: the same answers and log lines')
        or diag(explain(\%lp, \%ha));
}

$t->done_testing;

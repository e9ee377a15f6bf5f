#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# "http-request early-hint NAME FMT": each rule sends an interim "103
# Early Hints" with its header (a log-format value) to an HTTP/1.1
# client before the response; an HTTP/1.0 client gets none. HAProxy
# 2.6 sends the same bytes (one 103 per rule, as it does).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);

sub config {
    my ($port) = @_;
    return <<"CFG";
defaults
    mode http
    timeout client 5s
frontend fe
    bind 127.0.0.1:$port
    http-request early-hint link "</style.css>; rel=preload; as=style" if { path /e }
    http-request early-hint link "</script.js>; rel=preload; as=script" if { path /e }
    http-request early-hint x-note %[path] if { path_beg /e }
    http-request set-header x-a b
    http-request early-hint link "</late.css>; rel=preload" if { path /e }
    http-request return status 200 content-type text/plain string done
CFG
}

# Everything before the final response, and its status line.
sub hints {
    my ($port, $ver, $path) = @_;
    my $r = $t->raw_request($port,
        "GET $path HTTP/$ver\r\nHost: a\r\nConnection: close\r\n\r\n");
    my $data = $r->{data} // '';
    my ($interim, $final) = $data =~ /\A(.*?)(HTTP\/1\.1 200 OK)\r\n/s;
    return defined $final ? "$interim$final" : "no final answer: $data";
}

sub outcomes {
    my ($port) = @_;
    return (
        '1.1' => hints($port, '1.1', '/e'),
        '1.0' => hints($port, '1.0', '/e'),
        'no rule' => hints($port, '1.1', '/x'),
    );
}

$t->write_file('lp.cfg', config($t->port(8080)));
$t->run;
my %lp = outcomes($t->port(8080));
is($lp{'1.1'}, "HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload; as=style\r\n\r\n"
    . "HTTP/1.1 103 Early Hints\r\nlink: </script.js>; rel=preload; as=script\r\n\r\n"
    . "HTTP/1.1 103 Early Hints\r\nx-note: /e\r\n\r\n"
    . "HTTP/1.1 103 Early Hints\r\nlink: </late.css>; rel=preload\r\n\r\n"
    . 'HTTP/1.1 200 OK', 'one 103 per rule, in order, before the response');
is($lp{'1.0'}, 'HTTP/1.1 200 OK', 'none for an HTTP/1.0 client');
is($lp{'no rule'}, 'HTTP/1.1 200 OK', 'none when no rule applies');
$t->rule_errors(['http-request early-hint link', "'early-hint' expects a header name and a value"],
    ['http-response early-hint link x', 'early-hint']);

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config($t->port(8180)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    is_deeply(\%lp, { outcomes($t->port(8180)) }, 'HAProxy sends the same');
}

$t->done_testing;

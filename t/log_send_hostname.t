#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# "log-send-hostname [NAME]" (global): syslog headers name the host, the
# one given or the system's, in the default format and in rfc3164 and
# rfc5424; without it rfc3164 says "localhost" and rfc5424 "-", and the
# default format names none. "format local" never does, "short" has no
# header to hold it. A reload applies a changed line. HAProxy writes the
# same headers.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use Test::More;
use Test::Luaproxy qw(syslog_sink syslog_drain);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);
my %udp = map { $_ => syslog_sink() } qw(lp ha0 ha1 ha2);
my @send = ('', 'log-send-hostname', 'log-send-hostname my-host.example');

sub config {
    my ($who, $port, $hn) = @_;
    my $u = $udp{$who}->sockport;
    return <<"CFG";
global
    nbthread 1
    $hn
    log-tag t
    log 127.0.0.1:$u local0
    log 127.0.0.1:$u format rfc3164 local0
    log 127.0.0.1:$u format rfc5424 local0
    log 127.0.0.1:$u format local local0
    log 127.0.0.1:$u format short local0
defaults
    mode http
    log global
    log-format "x"
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$port
    http-request return status 200
CFG
}

# The five headers one request makes <who> send, dates and pids masked.
sub headers {
    my ($who, $port) = @_;
    syslog_drain($udp{$who});
    $t->http_get($port, '/');
    my ($sel, @h) = (IO::Select->new($udp{$who}));
    while (@h < 5 && $sel->can_read(3)) {
        $udp{$who}->recv(my $b, 65536);
        $b =~ s/\w{3} [ \d]\d \d\d:\d\d:\d\d/DATE/;
        $b =~ s/\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d/DATE/;
        $b =~ s/\[\d+\]:|(?<= t) \d+ (?=- -)/ PID /;
        push @h, $b =~ s/\n\z//r;
    }
    return join(' | ', @h);
}

my $host = `hostname`;
chomp $host;
my @want = (
    '<134>DATE t PID  x | <134>DATE localhost t PID  x | '
        . '<134>1 DATE - t PID - - x | <134>DATE t PID  x | <6>x',
    "<134>DATE $host t PID  x | <134>DATE $host t PID  x | "
        . "<134>1 DATE $host t PID - - x | <134>DATE t PID  x | <6>x",
    '<134>DATE my-host.example t PID  x | <134>DATE my-host.example t PID  x'
        . ' | <134>1 DATE my-host.example t PID - - x | <134>DATE t PID  x'
        . ' | <6>x',
);
my @lp;
for my $i (0 .. 2) {
    $t->write_file('lp.cfg', config('lp', $t->port(8080), $send[$i]));
    if ($i == 0) {
        $t->run;
    } else {
        my $mark = $t->log_mark;
        $t->reload;
        $t->wait_log(qr/reload done/, mark => $mark);
        select(undef, undef, undef, 0.3); # the old worker's last lines
    }
    push @lp, headers('lp', $t->port(8080));
    is($lp[$i], $want[$i], "headers with '$send[$i]'");
}

$t->line_errors('global',
    ['log-send-hostname a b', qr/at most 1 argument/]);
my ($rc, $out) = $t->check_config(
    "defaults\n    log-send-hostname\n", 'sec.cfg');
ok($rc != 0 && $out =~ /sec\.cfg:2: /, 'only in the global section')
    or diag($out);

SKIP: {
    skip("no haproxy at $haproxy", 3) unless -x $haproxy;
    for my $i (0 .. 2) {
        my $port = $t->port(8180 + $i);
        $t->write_file("ha$i.cfg", config("ha$i", $port, $send[$i]));
        $t->run_haproxy($haproxy, "ha$i.cfg", $port);
        is(headers("ha$i", $port), $lp[$i], "HAProxy with '$send[$i]'");
    }
}

$t->done_testing;

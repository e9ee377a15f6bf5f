#!/usr/bin/perl
# "tcp-request connection" rules judge the peer itself, before a PROXY
# header is read; "tcp-request session" rules judge the session it makes,
# with the address the header gives (HTTP and TCP frontends), and what they
# set lasts for the connection. HAProxy gives the same answers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new;

sub config {
    my ($who, $base) = @_;
    my %p = map { $_ => $t->port($base + $_) } 0 .. 3;
    my $o = $t->port(8091);
    my $dir = $t->testdir;
    return <<"CFG";
global
    nbthread 1
    stats socket $dir/$who.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 3s
frontend sess
    bind 127.0.0.1:$p{0} accept-proxy
    tcp-request connection reject if !{ src 127.0.0.1 }
    tcp-request session reject if { src 192.0.2.66 }
    tcp-request session set-var(sess.tag) str(s1)
    http-request return status 200 content-type text/plain lf-string "src=%[src] tag=%[var(sess.tag)]"
frontend conn
    bind 127.0.0.1:$p{1} accept-proxy
    tcp-request connection reject if { src 192.0.2.1 }
    http-request return status 200 content-type text/plain lf-string "src=%[src]"
frontend tcp
    mode tcp
    bind 127.0.0.1:$p{2} accept-proxy
    tcp-request session reject if { src 192.0.2.66 }
    default_backend origin
frontend deny
    mode tcp
    bind 127.0.0.1:$p{3}
    tcp-request connection reject
    tcp-request content reject
    default_backend origin
backend origin
    mode tcp
    server o 127.0.0.1:$o
CFG
}

$t->http_origin(8091, sub { [200, [], 'origin'] });

# What a client behind a PROXY header from <from> gets on <port>.
sub through {
    my ($port, $from) = @_;
    my $r = $t->raw_request($port, "PROXY TCP4 $from 127.0.0.1 1234 80\r\n"
        . "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    my ($body) = ($r->{data} // '') =~ /\r\n\r\n(.*)$/s;
    return length($r->{data} // '') ? $body : 'closed';
}

# dcon, dses and dreq of each frontend in "show stat" (one worker: the
# statistics are the answering worker's).
sub denied {
    my ($who) = @_;
    my $stat = $t->show_stat("$who.sock");
    return join(' ', map {
        my $r = $stat->{$_};
        "$r->{pxname}=" . join('/', map { $r->{$_} || 0 } qw(dcon dses dreq))
    } sort grep { /\/FRONTEND$/ } keys %$stat);
}

sub outcomes {
    my ($who, $base) = @_;
    my $p = sub { $t->port($base + $_[0]) };
    return (
        'session rules see the PROXY address' => through($p->(0), '192.0.2.1'),
        'session reject' => through($p->(0), '192.0.2.66'),
        'connection rules see the peer' => through($p->(1), '192.0.2.1'),
        'TCP: session rules pass' => through($p->(2), '192.0.2.1'),
        'TCP: session reject' => through($p->(2), '192.0.2.66'),
        'connection reject' => through($p->(3), '192.0.2.1'),
        'dcon/dses/dreq' => denied($who),
    );
}

$t->write_file('lp.cfg', config('lp', 8080));
$t->run;
my %lp = outcomes('lp', 8080);
is_deeply(\%lp, {
    'session rules see the PROXY address' => 'src=192.0.2.1 tag=s1',
    'session reject' => 'closed',
    'connection rules see the peer' => 'src=192.0.2.1',
    'TCP: session rules pass' => 'origin',
    'TCP: session reject' => 'closed',
    'connection reject' => 'closed',
    # the harness's probe of each port: one more connection rejected
    'dcon/dses/dreq' => 'conn=0/0/0 deny=2/0/0 sess=0/1/0 tcp=0/1/0',
}, 'connection rules before the PROXY header, session rules after, each '
    . 'reject counted')
    or diag(explain(\%lp));

$t->rule_errors(['tcp-request session set-nice 1', 'not allowed'],
    ['tcp-request session lua.nothing', 'lua.nothing']);
my ($rc, $out) = $t->check_config(
    "backend b\n    tcp-request session reject\n", 'bad.cfg');
ok($rc != 0 && $out =~ /bad\.cfg:2: .*only allowed in frontends/,
    'tcp-request session in a backend: an error at its line') or diag($out);

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', 8180));
    $t->run_haproxy($haproxy, 'ha.cfg', map { $t->port(8180 + $_) } 0 .. 3);
    my %ha = outcomes('ha', 8180);
    is_deeply(\%lp, \%ha, 'HAProxy: the same') or diag(explain(\%ha));
}

$t->done_testing;

#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# "minconn" with "fullconn": a server's connection limit follows its
# backend's load, from minconn up to maxconn, reached when the backend
# holds fullconn streams. With minconn 2, maxconn 8 and fullconn 10, five
# requests at once to a slow origin find a limit of 5 * 8 / 10 = 4: four
# reach the origin, the fifth when one of them ends; three find the
# minconn, 2. A fixed maxconn 8 lets all five through. Without "fullconn"
# the backend takes a tenth of the maxconn of the frontends that use it.
# A minconn alone is the maxconn; be_conn_free and srv_conn_free count
# under the limit of the moment. HAProxy computes the same limit, but a
# request it has queued waits for a connection to end even when the
# backend's load has raised the limit meanwhile, where luaproxy lets it in
# at once; so only the fixed limit, the statistics and the free slots
# are compared.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use IO::Socket::INET;
use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 90);
my $dir = $t->testdir;
my $hold = 0.5; # how long the origin holds each request

sub config {
    my ($who, $port, $port2) = @_;
    my $o = $t->port(8091);
    return <<"CFG";
global
    nbthread 1
    stats socket $dir/$who.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    timeout queue 10s
frontend fe
    bind 127.0.0.1:$port
    maxconn 60
    http-request return status 200 content-type text/plain lf-string "%[be_conn_free(dyn)] %[srv_conn_free(dyn/s1)] %[be_conn_free(fixed)]" if { path /free }
    use_backend dyn if { path_beg /dyn }
    use_backend auto if { path_beg /auto }
    use_backend auto if { path_beg /again }
    default_backend fixed
frontend fe2
    bind 127.0.0.1:$port2
    maxconn 40
    default_backend auto
backend dyn
    fullconn 10
    server s1 127.0.0.1:$o minconn 2 maxconn 8
backend auto
    server s1 127.0.0.1:$o minconn 2 maxconn 8
backend fixed
    server s1 127.0.0.1:$o maxconn 8
backend alone
    server s1 127.0.0.1:$o minconn 3
CFG
}

# An origin that answers each request $hold seconds after it came, many
# at once, and notes when each came in $dir/arrivals.
my $listener = $t->listen_socket(8091);
$t->run_daemon(sub {
    my ($l) = @_;
    my $sel = IO::Select->new($l);
    my %c;
    until (Test::Luaproxy::orphaned()) {
        for my $fh ($sel->can_read(0.02)) {
            if ($fh == $l) {
                my $s = $l->accept or next;
                $sel->add($s);
                $c{ fileno $s } = { sock => $s, buf => '' };
                next;
            }
            my $st = $c{ fileno $fh };
            if (!sysread($fh, $st->{buf}, 4096, length $st->{buf})) {
                $sel->remove($fh);
                delete $c{ fileno $fh };
                next;
            }
            next unless !$st->{at} && $st->{buf} =~ m{^GET (\S+).*?\r\n\r\n}s;
            $st->{at} = time;
            open(my $a, '>>', "$dir/arrivals") or die;
            printf $a "%.3f %s\n", $st->{at}, $1;
            close $a;
        }
        for my $st (grep { $_->{at} && time - $_->{at} >= $hold } values %c) {
            syswrite($st->{sock}, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                . "Connection: close\r\n\r\nok");
            $sel->remove($st->{sock});
            delete $c{ fileno $st->{sock} };
            close $st->{sock};
        }
    }
}, $listener);
close $listener;

# Sends <n> requests for <path> at once; returns how many reached the
# origin in each wave ("4 1") and the statuses.
sub waves {
    my ($port, $path, $n) = @_;
    unlink "$dir/arrivals";
    my @socks = map { $t->http_hold($port, "$path/$_") } 1 .. $n;
    my @st = map { $_->{status} // 'none' }
        $t->http_read_many(\@socks, timeout => 10);
    open(my $fh, '<', "$dir/arrivals") or return 'none';
    my @at = map { (split / /)[0] } <$fh>;
    my %wave;
    $wave{ int(($_ - $at[0]) / $hold + 0.5) }++ for @at;
    return join(' ', map { $wave{$_} } sort { $a <=> $b } keys %wave)
        . ' | ' . join(',', sort { $a <=> $b } @st);
}

sub outcomes {
    my ($who, $port) = @_;
    my %o = (fixed => waves($port, '/fixed', 5));
    $o{slim} = $t->show_stat("$who.sock")->{'alone/s1'}{slim} // 'none';
    $o{free} = $t->http_get($port, '/free')->{body} // 'none';
    return \%o;
}

sub ok_for { return ' | ' . join(',', (200) x $_[0]) }
$t->write_file('lp.cfg', config('lp', $t->port(8080), $t->port(8081)));
$t->run;
my $lp = outcomes('lp', $t->port(8080));
is(waves($t->port(8080), '/dyn', 5), '4 1' . ok_for(5),
    'fullconn 10, five streams: a limit of 4');
is(waves($t->port(8080), '/dyn', 3), '2 1' . ok_for(3),
    'three streams: the minconn, 2');
is(waves($t->port(8080), '/auto', 5), '4 1' . ok_for(5),
    'fullconn from the frontends: (60 + 40) / 10');
is($lp->{fixed}, '5' . ok_for(5), 'without minconn: a fixed maxconn');
is($lp->{slim}, 3, 'a minconn alone is the maxconn');
is($lp->{free}, '2 2 8', 'be_conn_free and srv_conn_free: the limit of now');

$t->line_errors('backend b',
    ['fullconn -1', qr/out of range/],
    ['fullconn x', qr/not a valid integer/],
    ['server s 127.0.0.1:1 minconn', qr/'minconn' expects an integer/],
    ['server s 127.0.0.1:1 minconn -1', qr/out of range/],
);

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180), $t->port(8181)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    my $ha = outcomes('ha', $t->port(8180));
    is_deeply($lp, $ha, 'HAProxy: the same fixed limit, statistics and free slots')
        or diag(explain($lp, $ha));
}

$t->done_testing;

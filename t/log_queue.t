#!/usr/bin/perl
# Queue positions in traffic logs: %bq counts, for a request that waited
# in its backend's queue, the requests that left that queue with a slot
# while it waited, itself included (1, 2, 3 for the second, third and
# fourth of four requests to a server with maxconn 1); %sq does the same
# for a server's own queue (a hashed key whose server is full); a request
# that never waited logs 0, and one that gave up on "timeout queue" logs
# where it stood. The lines are also compared with HAProxy's when
# /usr/sbin/haproxy is installed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy qw(syslog_sink syslog_drain syslog_next);
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $with_ha = -x $haproxy;
my $t = Test::Luaproxy->new(timeout => 60);
my %udp = map { $_ => syslog_sink() } qw(lp ha);

# One configuration; <who> picks the frontend port and the log target.
sub config {
    my ($who, $port) = @_;
    my $uport = $udp{$who}->sockport;
    my $o = $t->port(8091);
    return <<"EOF2";
global
    nbthread 1
    log 127.0.0.1:$uport local0
    log-tag lb
defaults
    mode http
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout queue 5s
frontend fe
    bind 127.0.0.1:$port
    log-format "%b/%s bq=%bq sq=%sq %ST %HU"
    use_backend hashed if { path_beg /h/ }
    use_backend short if { path_beg /t/ }
    default_backend one
backend one
    server o1 127.0.0.1:$o maxconn 1
backend hashed
    balance uri
    server h1 127.0.0.1:$o maxconn 1
    server h2 127.0.0.1:$o maxconn 1
backend short
    timeout queue 150ms
    server s1 127.0.0.1:$o maxconn 1
EOF2
}

# An origin that takes 0.3 s over each request, several at once.
my $l = $t->listen_socket(8091);
$t->run_daemon(sub {
    $SIG{CHLD} = 'IGNORE';
    while (my $c = $l->accept) {
        if (fork() == 0) {
            my $buf = '';
            while ($buf !~ /\r\n\r\n/) {
                sysread($c, $buf, 4096, length $buf) or exit 0;
            }
            sleep 0.3;
            print $c "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                . "Connection: close\r\n\r\nok\n";
            exit 0;
        }
        close $c;
    }
});
close $l;

$t->write_file('lp.cfg', config('lp', $t->port(8080)));
$t->write_file('ha.cfg', config('ha', $t->port(8081)));
$t->run;
$t->run_haproxy($haproxy, 'ha.cfg', $t->port(8081)) if $with_ha;
sleep 0.3;
syslog_drain($_) for values %udp;

# Sends a request for each path, 50 ms apart so that they queue in this
# order, waits for every answer, and returns the log lines sorted.
sub burst {
    my ($who, @paths) = @_;
    my $port = $t->port($who eq 'lp' ? 8080 : 8081);
    my @socks;
    for my $p (@paths) {
        my $s = IO::Socket::INET->new("127.0.0.1:$port") or die "connect: $!";
        print $s "GET $p HTTP/1.1\r\nHost: q\r\nConnection: close\r\n\r\n";
        push @socks, $s;
        sleep 0.05;
    }
    for my $s (@socks) {
        IO::Select->new($s)->can_read(5) and sysread($s, my $b, 4096);
        close $s;
    }
    my @lines = map { syslog_next($udp{$who}) } @paths;
    s/^<\d+>HDR: // for @lines;
    s{^hashed/h\d}{hashed/hN} for @lines; # whichever the key hashes to
    return join("\n", sort @lines);
}

my @cases = (
    ['backend queue: each waiting request counts those served before it',
        [map {"/r$_"} 1 .. 4],
        "one/o1 bq=0 sq=0 200 /r1\none/o1 bq=1 sq=0 200 /r2\n"
        . "one/o1 bq=2 sq=0 200 /r3\none/o1 bq=3 sq=0 200 /r4"],
    ['server queue: one hashed key waits for its full server',
        [('/h/k') x 4],
        "hashed/hN bq=0 sq=0 200 /h/k\nhashed/hN bq=0 sq=1 200 /h/k\n"
        . "hashed/hN bq=0 sq=2 200 /h/k\nhashed/hN bq=0 sq=3 200 /h/k"],
    ['timeout queue: where the request stood when it gave up',
        ['/t/1', '/t/2', '/t/3'],
        "short/<NOSRV> bq=1 sq=0 503 /t/2\nshort/<NOSRV> bq=1 sq=0 503 /t/3\n"
        . "short/s1 bq=0 sq=0 200 /t/1"],
);
$t->plan(@cases * ($with_ha ? 2 : 1));
for my $c (@cases) {
    my ($name, $paths, $want) = @$c;
    my $lp = burst('lp', @$paths);
    is($lp, $want, $name);
    is(burst('ha', @$paths), $lp, "$name: as HAProxy") if $with_ha;
}

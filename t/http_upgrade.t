#!/usr/bin/perl
# Protocol switches (WebSocket and the like): the Upgrade request reaches
# the server with its Connection and Upgrade headers, the 101 reaches the
# client, then bytes flow both ways until each side closes; a refused
# upgrade is an ordinary response.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use IO::Socket::IP;
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new;
$t->write_file_expand('lp.cfg', <<'EOF2');
global
    nbproc 1
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout tunnel 2s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    default_backend ws
backend ws
    server w1 127.0.0.1:%%PORT_8091%%
EOF2

# A server that switches protocols when asked (and records the request),
# then echoes every byte in upper case until the client closes its side.
my $l = $t->listen_socket(8091);
$t->run_daemon(sub {
    while (my $c = $l->accept) {
        next if fork();
        my $buf = '';
        while ($buf !~ /\r\n\r\n/) { sysread($c, $buf, 4096, length $buf) or exit 0 }
        my ($head) = $buf =~ /^(.*?\r\n)\r\n/s;
        my $rest = substr($buf, length($head) + 2);
        if ($head !~ /^upgrade: websocket/mi) {
            my $b = "no upgrade\n";
            print $c "HTTP/1.1 426 Upgrade Required\r\nContent-Length: "
                . length($b) . "\r\n\r\n$b";
            exit 0;
        }
        (my $seen = $head) =~ s/\r\n/|/g;
        print $c "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            . "Connection: Upgrade\r\nX-Seen: $seen\r\n\r\n";
        syswrite($c, uc $rest) if length $rest;
        while (sysread($c, my $d, 4096)) { syswrite($c, uc $d) }
        syswrite($c, "BYE\n");
        exit 0;
    }
});
close $l;
$t->run;
my $port = $t->port(8080);

$t->plan(8);

my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port);
print $s "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
    . "Upgrade: websocket\r\nSec-WebSocket-Key: x\r\n\r\nearly";
my $resp = '';
$s->blocking(0);
my $deadline = time + 3;
while ($resp !~ /\r\n\r\n.*EARLY/s && time < $deadline) {
    my $n = sysread($s, my $b, 4096);
    $resp .= $b if $n;
    sleep 0.01;
}
like($resp, qr{^HTTP/1\.1 101 }, '101 reaches the client');
like($resp, qr{^upgrade: websocket\r$}mi, 'with its Upgrade header');
like($resp, qr{X-Seen: [^\r]*upgrade: websocket}i,
    'the server got the Upgrade header');
like($resp, qr{X-Seen: [^\r]*connection: upgrade}i,
    'and Connection: upgrade');
like($resp, qr{\r\n\r\nEARLY}, 'bytes sent with the request go through');
syswrite($s, "hello");
my $got = '';
$deadline = time + 3;
while ($got !~ /HELLO/ && time < $deadline) {
    my $n = sysread($s, my $b, 4096);
    $got .= $b if $n;
    sleep 0.01;
}
is($got, 'HELLO', 'tunnel: bytes flow both ways');
shutdown($s, 1);
$deadline = time + 3;
$got = '';
while (time < $deadline) {
    my $n = sysread($s, my $b, 4096);
    last if defined $n && $n == 0;
    $got .= $b if $n;
    sleep 0.01;
}
is($got, "BYE\n", 'half-close crosses the tunnel, then it ends');

my $r = $t->http_get($port, '/plain');
is($r->{status}, 426, 'without Upgrade: an ordinary response');

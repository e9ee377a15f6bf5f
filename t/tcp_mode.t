#!/usr/bin/perl
# TCP mode: bidirectional forwarding with half-close, a large transfer
# intact, content rules that wait for data within tcp-request
# inspect-delay (payload, TLS SNI), and the PROXY protocol in and out.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use Digest::MD5 qw(md5_hex);
use IO::Socket::IP;
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new;
$t->write_file_expand('lp.cfg', <<'EOF2');
global
    nbproc 1
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend plain
    bind 127.0.0.1:%%PORT_8080%%
    default_backend echo
frontend inspect
    bind 127.0.0.1:%%PORT_8081%%
    tcp-request inspect-delay 2s
    tcp-request content reject if { req.payload(0,4) -m str QUIT }
    tcp-request content accept if { req_len ge 4 }
    default_backend echo
frontend sni
    bind 127.0.0.1:%%PORT_8082%%
    tcp-request inspect-delay 2s
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend tag_a if { req.ssl_sni -m str a.example }
    use_backend tag_a if { req_ssl_sni -m str old.example }
    default_backend tag_b
frontend pp_in
    bind 127.0.0.1:%%PORT_8083%% accept-proxy
    mode http
    http-request return status 200 content-type text/plain string real-client if { src 192.0.2.7 }
    http-request return status 200 content-type text/plain string v6-client if { src 2001:db8::7 }
    http-request return status 403 content-type text/plain string other
frontend pp_out
    bind 127.0.0.1:%%PORT_8084%%
    default_backend pp_server
frontend pp_out2
    bind 127.0.0.1:%%PORT_8085%%
    default_backend pp_server2
frontend pp_relay
    bind 127.0.0.1:%%PORT_8086%% accept-proxy
    default_backend pp_server
frontend pp_relay2
    bind 127.0.0.1:%%PORT_8087%% accept-proxy
    default_backend pp_server2
backend echo
    server e1 127.0.0.1:%%PORT_8091%%
backend tag_a
    server a 127.0.0.1:%%PORT_8092%%
backend tag_b
    server b 127.0.0.1:%%PORT_8093%%
backend pp_server
    server p 127.0.0.1:%%PORT_8094%% send-proxy
backend pp_server2
    server p 127.0.0.1:%%PORT_8094%% send-proxy-v2
EOF2

# An echo server: echoes until the client shuts its side, then says "bye".
my $echo = $t->listen_socket(8091);
$t->run_daemon(sub {
    while (my $c = $echo->accept) {
        if (fork() == 0) {
            my $buf;
            while (sysread($c, $buf, 65536)) { syswrite($c, $buf) }
            syswrite($c, "bye\n");
            exit 0;
        }
        close $c;
    }
});
close $echo;
# Servers that say who they are.
for my $p ([8092, "A\n"], [8093, "B\n"]) {
    my $l = $t->listen_socket($p->[0]);
    $t->run_daemon(sub {
        while (my $c = $l->accept) { syswrite($c, $p->[1]); close $c }
    });
    close $l;
}
# A server that reports the first bytes it got (the PROXY header).
my $pp = $t->listen_socket(8094);
$t->run_daemon(sub {
    while (my $c = $pp->accept) {
        my $buf = '';
        sysread($c, $buf, 4096);
        syswrite($c, unpack('H*', $buf) . "\n");
        close $c;
    }
});
close $pp;
$t->run;

$t->plan(16);

# Connects to <n>, sends <data>, shuts the write side, reads everything.
sub exchange {
    my ($n, $data, %o) = @_;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port($n)) or return undef;
    syswrite($s, $_) for (ref $data ? @$data : ($data));
    shutdown($s, 1) unless $o{keep_open};
    my ($out, $buf) = ('');
    my $deadline = time + ($o{timeout} // 5);
    $s->blocking(0);
    while (time < $deadline) {
        my $r = sysread($s, $buf, 65536);
        if (defined $r) { last if $r == 0; $out .= $buf; next }
        sleep 0.01;
    }
    return $out;
}

is(exchange(8080, "hello\n"), "hello\nbye\n",
    'echo through the proxy, half-close reaches the server');
my $big = join('', map { chr(($_ * 7) % 251) } 1 .. 1_000_000) x 8;
my $got = exchange(8080, $big, timeout => 20);
is(length($got), length($big) + 4, '8 MB through and back: length');
is(md5_hex(substr($got, 0, length $big)), md5_hex($big), '8 MB: content intact');

# inspect-delay: the rule waits for 4 bytes that come in two parts.
my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $t->port(8081));
syswrite($s, "ab");
sleep 0.3;
syswrite($s, "cd\n");
shutdown($s, 1);
my $reply = '';
$s->blocking(1);
while (sysread($s, my $b, 4096)) { $reply .= $b }
is($reply, "abcd\nbye\n", 'content rule waited for the data, then accepted');
is(exchange(8081, "QUIT now"), '', 'content rule rejects on the payload');

# TLS SNI routing with a hand-made ClientHello.
sub client_hello {
    my ($name) = @_;
    my $sni = pack('n', 0) . pack('n', length($name) + 5)
        . pack('n', length($name) + 3) . "\0" . pack('n', length $name) . $name;
    my $body = "\x03\x03" . ("r" x 32) . "\0" . pack('n', 2) . "\x00\x2f"
        . "\x01\x00" . pack('n', length $sni) . $sni;
    my $hs = "\x01" . substr(pack('N', length $body), 1) . $body;
    return "\x16\x03\x01" . pack('n', length $hs) . $hs;
}
my $hello = client_hello('a.example');
is(exchange(8082, [substr($hello, 0, 10), substr($hello, 10)]), "A\n",
    'SNI a.example routed to its backend, hello split in two');
is(exchange(8082, client_hello('b.example')), "B\n", 'other SNI: default backend');
is(exchange(8082, client_hello('old.example')), "A\n",
    'req_ssl_sni, the old name of req.ssl_sni');

# PROXY protocol in: v1 and v2 set the client address.
my $req = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
like(exchange(8083, "PROXY TCP4 192.0.2.7 198.51.100.1 4444 80\r\n$req"),
    qr/\r\n\r\nreal-client$/, 'PROXY v1: src is the real client');
my $v2 = "\r\n\r\n\0\r\nQUIT\n" . "\x21\x21" . pack('n', 36)
    . pack('H*', '20010db8000000000000000000000007')
    . pack('H*', '20010db8000000000000000000000001') . pack('nn', 4444, 80);
like(exchange(8083, $v2 . $req), qr/\r\n\r\nv6-client$/,
    'PROXY v2 (IPv6): src is the real client');
is(exchange(8083, "GET / HTTP/1.1\r\n\r\n"), '',
    'no PROXY header: closed without an answer');
is(exchange(8083, "PROXY TCP4 999.1.1.1 1.1.1.1 1 2\r\n$req"), '',
    'malformed PROXY header: closed without an answer');

# PROXY protocol out.
my $line = exchange(8084, "x", keep_open => 1, timeout => 2);
like(pack('H*', ($line =~ /^([0-9a-f]+)/)[0] // ''),
    qr/^PROXY TCP4 127\.0\.0\.1 127\.0\.0\.1 \d+ \d+\r\n/, 'send-proxy: v1 header first');
$line = exchange(8085, "x", keep_open => 1, timeout => 2);
like($line, qr/^0d0a0d0a000d0a515549540a2111000c7f0000017f000001/,
    'send-proxy-v2: v2 header first');

# Addresses a PROXY header brought in are the ones sent on, IPv6 too.
$line = exchange(8086, "PROXY TCP6 2001:db8::7 2001:db8::1 4444 80\r\nx",
    keep_open => 1, timeout => 2);
is(pack('H*', ($line =~ /^([0-9a-f]+)/)[0] // ''),
    "PROXY TCP6 2001:db8::7 2001:db8::1 4444 80\r\nx",
    'PROXY v1 in, send-proxy out: the IPv6 client and destination relayed');
$line = exchange(8087, $v2 . "x", keep_open => 1, timeout => 2);
is($line, unpack('H*', $v2 . "x") . "\n",
    'PROXY v2 in, send-proxy-v2 out: the same IPv6 addresses and ports');

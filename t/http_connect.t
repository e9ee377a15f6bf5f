#!/usr/bin/perl
# CONNECT: refused with 405 unless the chosen backend says that its
# servers take it ("option http-connect", luaproxy's opt-in; HAProxy
# always forwards). Then, as HAProxy, the request goes to the server, a
# 2xx answer turns the connection into a tunnel both ways, and any other
# answer is an ordinary response on a connection that lives on.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use IO::Select;
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new;
$t->write_file_expand('lp.cfg', <<'EOF2');
global
    nbproc 1
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 3s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    use_backend fwd if METH_CONNECT { req.hdr(x-via) -m str fwd }
    default_backend plain
backend fwd
    option http-connect
    server p1 127.0.0.1:%%PORT_8091%%
backend plain
    server p1 127.0.0.1:%%PORT_8091%%
EOF2

# A forward proxy: "CONNECT ok:N" opens a tunnel that echoes in upper
# case; "CONNECT no:N" is refused with a 403 and a body; the request it
# received is echoed in a header so the test sees what was forwarded.
my $listener = $t->listen_socket(8091);
$t->run_daemon(sub {
    while (!Test::Luaproxy::orphaned()) {
        my $sel = IO::Select->new($listener);
        next unless $sel->can_read(0.5);
        my $c = $listener->accept or next;
        my $head = '';
        while ($head !~ /\r\n\r\n/) {
            my $n = sysread($c, $head, 4096, length $head) or last;
        }
        my ($target) = $head =~ /^CONNECT (\S+) HTTP/;
        if (!defined $target || $target !~ /^ok:/) {
            my $body = 'refused';
            syswrite($c, "HTTP/1.1 403 Forbidden\r\nContent-Length: "
                . length($body) . "\r\n\r\n$body");
            close $c;
            next;
        }
        my $conn = $head =~ /^connection:\s*(\S+)/mi ? $1 : 'none';
        syswrite($c, "HTTP/1.1 200 Connection established\r\nX-Conn: $conn\r\n\r\n");
        while (my $n = sysread($c, my $buf, 4096)) {
            syswrite($c, uc $buf);
        }
        close $c;
    }
});
close $listener;
$t->run;
my $port = $t->port(8080);

$t->plan(9);

my $r = $t->raw_request($port,
    "CONNECT ok:443 HTTP/1.1\r\nHost: ok:443\r\n\r\n", timeout => 3);
like($r->{data}, qr/^HTTP\/1\.1 405 /, 'CONNECT to a backend without option http-connect: 405');

# through the opted-in backend: a tunnel
my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
    or die "connect: $!";
print $s "CONNECT ok:443 HTTP/1.1\r\nHost: ok:443\r\nX-Via: fwd\r\n\r\n";
my $got = read_until($s, qr/\r\n\r\n/);
like($got, qr/^HTTP\/1\.1 200 Connection established\r\n/, 'CONNECT forwarded: 200');
like($got, qr/^X-Conn: none\r$/mi, 'no Connection header added towards the server');
print $s "hello tunnel\n";
is(read_until($s, qr/\n/), "HELLO TUNNEL\n", 'bytes go both ways in the tunnel');
print $s "again\n";
is(read_until($s, qr/\n/), "AGAIN\n", 'and again');
close $s;

# a refusal from the server is an ordinary response
$r = $t->raw_request($port,
    "CONNECT no:443 HTTP/1.1\r\nHost: no:443\r\nX-Via: fwd\r\n\r\n"
    . "GET / HTTP/1.1\r\nHost: a\r\n\r\n", timeout => 3);
like($r->{data}, qr/^HTTP\/1\.1 403 Forbidden\r\n.*\r\n\r\nrefused/s,
    'a refused CONNECT: the server\'s answer');
like($r->{data}, qr/refusedHTTP\/1\.1 403 .*refused\z/s,
    'the connection lives on for the next request');

($r) = $t->check_config(<<'EOF3', 'bad.cfg');
frontend f
    mode http
    bind 127.0.0.1:1
    option http-connect
EOF3
isnt($r, 0, 'option http-connect is a backend option');
$r = $t->raw_request($port,
    "CONNECT ok:443 HTTP/1.1\r\nHost: ok:443\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    timeout => 3);
like($r->{data}, qr/^HTTP\/1\.1 405 [^\n]*\r\n(?:(?!HTTP\/1).)*\z/s,
    'a refused CONNECT closes the connection');

sub read_until {
    my ($sock, $re) = @_;
    my ($buf, $deadline) = ('', time + 3);
    my $sel = IO::Select->new($sock);
    while ($buf !~ $re && time < $deadline) {
        next unless $sel->can_read(0.2);
        sysread($sock, $buf, 4096, length $buf) or last;
    }
    return $buf;
}

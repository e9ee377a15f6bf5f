#!/usr/bin/perl
# Server-side connection reuse (http-reuse): keep-alive requests after the
# first of a client connection go over an idle server connection; "never"
# opens one per request; a server that closes its idle connections costs no
# request (the request is retried on a new connection); the idle pool keeps
# no more than recent use needs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new;
$t->write_file_expand('lp.cfg', <<'EOF2');
global
    nbproc 1
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 3s
frontend reuse
    bind 127.0.0.1:%%PORT_8080%%
    default_backend keep
frontend never
    bind 127.0.0.1:%%PORT_8081%%
    default_backend never
frontend closing
    bind 127.0.0.1:%%PORT_8082%%
    default_backend closing
frontend nopool
    bind 127.0.0.1:%%PORT_8083%%
    default_backend nopool
backend keep
    server o1 127.0.0.1:%%PORT_8091%%
backend never
    http-reuse never
    server o1 127.0.0.1:%%PORT_8093%%
backend closing
    server c1 127.0.0.1:%%PORT_8092%%
frontend burst
    bind 127.0.0.1:%%PORT_8084%%
    default_backend burst
backend nopool
    server o1 127.0.0.1:%%PORT_8095%% pool-max-conn 0
backend burst
    server o1 127.0.0.1:%%PORT_8096%%
EOF2

# An origin that names the connection each answer comes from; with
# <close_after_answer> it closes each connection after answering, without
# saying so, as a server whose keep-alive timeout is very short does.
sub origin {
    my ($n, $close_after_answer) = @_;
    my $l = $t->listen_socket($n);
    $t->run_daemon(sub {
        my $conn = 0;
        while (my $c = $l->accept) {
            $conn++;
            my $buf = '';
            while (1) {
                while ($buf !~ /\r\n\r\n/) {
                    my $r = sysread($c, $buf, 4096, length $buf);
                    last unless $r;
                }
                last unless $buf =~ s/^(.*?)\r\n\r\n//s;
                my $head = $1;
                my $body = "conn $conn\n";
                print $c "HTTP/1.1 200 OK\r\nContent-Length: "
                    . length($body) . "\r\n\r\n$body";
                last if $close_after_answer
                    || $head =~ /^connection:\s*close/mi;
            }
            close $c;
        }
    });
    close $l;
}
# one origin a backend: each serves one connection at a time
origin(8091, 0);
origin(8092, 1);
origin(8093, 0);
origin(8095, 0);
$t->http_origin(8096, sub { return [200, ['content-type' => 'text/plain'], "ok\n"] });
$t->run;

$t->plan(8);

# Answers of <n> requests on one keep-alive client connection to <port>.
sub bodies {
    my ($port, $n) = @_;
    my $ka = $t->http_keepalive($port);
    my @b = map { $ka->get("/r$_")->{body} // 'none' } 1 .. $n;
    $ka->close;
    return @b;
}

my @b = bodies($t->port(8080), 6);
my %conns = map { $_ => 1 } @b;
is(scalar(grep { /^conn \d+$/ } @b), 6, 'reuse: every request answered');
is(scalar keys %conns, 1, 'reuse: six requests over one server connection');

@b = bodies($t->port(8081), 4);
%conns = map { $_ => 1 } @b;
is(scalar keys %conns, 4, 'http-reuse never: one server connection each');

@b = bodies($t->port(8082), 6);
is(scalar(grep { /^conn \d+$/ } @b), 6,
    'a server closing idle connections: every request answered');
%conns = map { $_ => 1 } @b;
is(scalar keys %conns, 6, 'a server closing idle connections: new ones');

@b = bodies($t->port(8083), 3);
%conns = map { $_ => 1 } @b;
is(scalar keys %conns, 3, 'pool-max-conn 0: no connection kept idle');

# Established connections from the proxy to local port <port>.
sub conns_to {
    my ($port) = @_;
    my $n = 0;
    for my $f ('/proc/net/tcp', '/proc/net/tcp6') {
        open(my $fh, '<', $f) or next;
        while (<$fh>) {
            my @c = split;
            $n++ if @c > 3 && $c[3] eq '01' && $c[2] =~ /:(\w+)$/ && hex($1) == $port;
        }
    }
    return $n;
}

# Bursts of 10 clients each sending one request and closing: every one
# is the first request of its client connection, which "safe" reuse never
# puts on an idle connection. As HAProxy, the pool keeps what recent use
# needs (about one burst's worth), not every connection of every burst.
my $answered = 0;
for (1 .. 5) {
    my @r = $t->http_get_many($t->port(8084), [map { "/b$_" } 1 .. 10],
        timeout => 10);
    $answered += grep { ($_->{status} // 0) == 200 } @r;
}
is($answered, 50, 'bursts: all answered');
my $kept = conns_to($t->port(8096));
cmp_ok($kept, '<=', 15,
    "5 bursts of 10 first requests: $kept server connections kept, not 50");

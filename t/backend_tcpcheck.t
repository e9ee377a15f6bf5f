#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# tcp-check health checks: "option tcp-check" with connect, send,
# send-binary, expect string/rstring/binary (and "!"), comments; the
# sequence runs against Perl servers (a fake Redis answering "+PONG" to
# "PING") that go down and come back, and the transitions are logged in
# HAProxy's words with its step numbers.
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
    nbproc 2
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 1500ms
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    default_backend redis
backend redis
    option tcp-check
    tcp-check comment "redis ping"
    tcp-check send PING\r\n
    tcp-check expect string +PONG
    tcp-check send QUIT\r\n
    default-server check inter 100ms rise 2 fall 2
    server r1 127.0.0.1:%%PORT_8091%%
    server r2 127.0.0.1:%%PORT_8092%%
backend multi
    option tcp-check
    tcp-check connect port %%PORT_8094%%
    tcp-check send-binary 50494e470d0a
    tcp-check expect binary 2b504f4e47
    tcp-check connect
    tcp-check send hello\n
    tcp-check expect rstring ^OK\ [0-9]+
    tcp-check expect ! string ERR
    server m1 127.0.0.1:%%PORT_8093%% check inter 100ms rise 1 fall 1
backend banner
    option tcp-check
    tcp-check expect string 220
    server b1 127.0.0.1:%%PORT_8095%% check inter 100ms rise 1 fall 1
backend banner2
    option tcp-check
    tcp-check expect string 220
    server b2 127.0.0.1:%%PORT_8098%% check inter 100ms fall 1
backend silent
    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect string +PONG
    server q1 127.0.0.1:%%PORT_8096%% check inter 100ms fall 1
backend wrong
    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect string +PONG comment "redis alive"
    server w1 127.0.0.1:%%PORT_8097%% check inter 100ms fall 1
backend unwanted
    option tcp-check
    tcp-check send hello\n
    tcp-check expect ! rstring ^OK
    server u1 127.0.0.1:%%PORT_8093%% check inter 100ms fall 1
EOF2

# A fake Redis: "+PONG" to "PING" (in two parts, to make the check wait),
# "+OK" to "QUIT"; it also answers the proxied traffic with its name.
sub redis {
    my ($n, $name) = @_;
    my $l = $t->listen_socket($n);
    my $pid = $t->run_daemon(sub {
        while (my $c = $l->accept) {
            next if fork();
            my $buf = '';
            while (sysread($c, $buf, 4096, length $buf)) {
                while ($buf =~ s/^([^\n]*)\n//) {
                    my $cmd = $1;
                    $cmd =~ s/\r$//;
                    if ($cmd eq 'PING') {
                        syswrite($c, "+PO");
                        sleep 0.05;
                        syswrite($c, "NG\r\n");
                    } elsif ($cmd eq 'QUIT') {
                        syswrite($c, "+OK\r\n");
                        exit 0;
                    } else {
                        syswrite($c, "$name\r\n");
                    }
                }
            }
            exit 0;
        }
    });
    close $l;
    return $pid;
}

# A server that sends <banner>, then answers the first bytes it reads
# with <reply>, or with nothing when <reply> is undef; with <hold> it keeps
# the connection open a while, with <close> it closes without reading.
sub line_server {
    my ($n, $reply, %o) = @_;
    my $l = $t->listen_socket($n);
    $t->run_daemon(sub {
        while (my $c = $l->accept) {
            next if fork();
            syswrite($c, $o{banner}) if defined $o{banner};
            exit 0 if $o{close};
            my $buf = '';
            sysread($c, $buf, 4096);
            syswrite($c, $reply) if defined $reply;
            sleep 2 if $o{hold};
            exit 0;
        }
    });
    close $l;
}

my $r1 = redis(8091, 'r1');
$t->port(8092); # r2 refuses at first
line_server(8093, "OK 42 fine\r\n");
redis(8094, 'side');
line_server(8095, undef, banner => "220 smtp.example ESMTP\r\n");
line_server(8098, undef, close => 1);
line_server(8096, undef, hold => 1);
line_server(8097, "-ERR unknown command\r\n");
$t->expect_alerts(qr/backend '(redis|silent|wrong|unwanted|banner2)' has no server available/);
$t->run;

$t->plan(14);

ok($t->wait_log(qr{Server redis/r2 is DOWN, reason: Layer4 connection problem, info: "Connection refused at initial connection step of tcp-check", check duration: \d+ms}),
    'refusing server: DOWN, Layer4 reason at the implicit connect');
ok($t->wait_log(qr{Server wrong/w1 is DOWN, reason: Layer7 invalid response, info: "TCPCHK did not match content '\+PONG' at step 2 comment: redis alive"}),
    'wrong answer: DOWN, Layer7 invalid response with the step and comment');
ok($t->wait_log(qr{Server silent/q1 is DOWN, reason: Layer7 timeout, info: " at step 2 of tcp-check \(expect string '\+PONG'\)"}),
    'no answer: DOWN, Layer7 timeout at the expect step');
ok($t->wait_log(qr{Server banner2/b2 is DOWN, reason: Layer7 invalid response, info: "TCPCHK got an empty response at step 1"}),
    'closed without a word: DOWN, empty response');
ok($t->wait_log(qr{Server unwanted/u1 is DOWN, reason: Layer7 invalid response, info: "TCPCHK matched unwanted content \(regex\) at step 2"}),
    'negated rstring that matches: DOWN');

# Servers that pass stay up: nothing logged about them.
sleep 0.5;
my $log = $t->log_contents;
unlike($log, qr{Server redis/r1 is DOWN}, 'fake Redis (PONG in two parts) stays UP');
unlike($log, qr{Server multi/m1 is DOWN},
    'connect port, send-binary, expect binary, rstring, ! string: UP');
unlike($log, qr{Server banner/b1 is DOWN}, 'expect on a banner without send: UP');

# Traffic goes only to the server that passes.
sub ask {
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port(8080)) or return '';
    syswrite($s, "WHO\n");
    my $got = '';
    $s->blocking(1);
    sysread($s, $got, 100);
    $got =~ s/\r\n$//;
    return $got;
}
my %seen;
$seen{ ask() }++ for 1 .. 10;
is_deeply(\%seen, { r1 => 10 }, 'every connection goes to the server that is up');

# r2 comes up: after rise checks it is UP, in HAProxy's words.
my $mark = $t->log_mark;
redis(8092, 'r2');
ok($t->wait_log(qr{Server redis/r2 is UP, reason: Layer7 check passed, code: 0, info: "\(tcp-check\)", check duration: \d+ms},
    mark => $mark), 'the server answering PONG again comes UP');
%seen = ();
$seen{ ask() }++ for 1 .. 20;
ok(($seen{r2} // 0) >= 5, 'and takes traffic again (' . ($seen{r2} // 0) . '/20)');

# r1 goes down: the check sees it refuse.
$mark = $t->log_mark;
$t->stop_daemon($r1);
ok($t->wait_log(qr{Server redis/r1 is DOWN, reason: Layer4 connection problem},
    mark => $mark), 'stopped server goes DOWN');
%seen = ();
$seen{ ask() }++ for 1 .. 10;
is_deeply(\%seen, { r2 => 10 }, 'the remaining server serves all');

# Configuration errors name the problem.
my ($rc, $out) = $t->check_config(<<'EOF2', 'bad.cfg');
backend b
    option tcp-check
    tcp-check send x
    tcp-check connect
    server s 127.0.0.1:1 check
EOF2
like($out, qr/first step MUST also be a 'connect'/,
    'a connect after a send is refused');

#!/usr/bin/perl
# Health checks: a dead server is taken out within rise/fall x inter and
# comes back when it answers again, with HAProxy's log lines; HTTP checks
# judge the status; one worker checks for all (no N-fold check traffic) and
# every worker follows its verdict; all servers down answers 503 at once.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new;
$t->write_file_expand('lp.cfg', <<'EOF2');
global
    nbproc 2
defaults
    mode http
    timeout connect 3s
    timeout client 5s
    timeout server 5s
    timeout check 500ms
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    use_backend http_chk if { path_beg /h/ }
    use_backend alldown if { path_beg /down/ }
    default_backend tcp_chk
backend tcp_chk
    default-server check inter 100ms rise 2 fall 2
    server s1 127.0.0.1:%%PORT_8091%%
    server s2 127.0.0.1:%%PORT_8092%%
backend http_chk
    option httpchk GET /health
    http-check expect status 200
    server good 127.0.0.1:%%PORT_8093%% check inter 100ms rise 2 fall 2
    server sick 127.0.0.1:%%PORT_8094%% check inter 100ms rise 2 fall 2
backend alldown
    server gone 127.0.0.1:%%PORT_8095%% check inter 100ms fall 1
EOF2

$t->http_origin(8091, sub { [200, [], 's1'] });
# s2 (8092) and gone (8095) start refusing; s2 comes up later
$t->port($_) for 8092, 8095;
$t->http_origin(8093, sub { [200, [], 'good'] }, log => 'good.log');
$t->http_origin(8094, sub { $_[0]{uri} eq '/health' ? [503, [], 'no']
                                                   : [200, [], 'sick'] });
$t->expect_alerts(qr/backend 'alldown' has no server available/);
$t->run;
my $port = $t->port(8080);

$t->plan(11);

my $ok = $t->wait_log(qr{Server tcp_chk/s2 is DOWN, reason: Layer4 connection problem},
    timeout => 3);
ok($ok, 'refusing server logged DOWN with the Layer4 reason');
my %seen;
$seen{ $t->http_get($port, "/x$_")->{body} // 'none' }++ for 1 .. 20;
is_deeply(\%seen, { s1 => 20 }, 'every request goes to the server that is up');

ok($t->wait_log(qr{Server http_chk/sick is DOWN, reason: Layer7 wrong status, code: 503},
    timeout => 3), 'HTTP check: a 503 takes the server down');
%seen = ();
$seen{ $t->http_get($port, "/h/$_")->{body} // 'none' }++ for 1 .. 10;
is_deeply(\%seen, { good => 10 }, 'HTTP check: only the healthy server serves');

ok($t->wait_log(qr{backend 'alldown' has no server available}, timeout => 3),
    'all servers down: alert logged');
my $t0 = time;
is($t->http_get($port, '/down/x')->{status}, 503, 'all servers down: 503');
ok(time - $t0 < 2, 'all servers down: at once, not after the 3 s connect timeout');

# One worker checks for all: over 1 s at inter 100ms, about 10 checks.
my $before = () = $t->origin_requests('good.log');
sleep 1;
my $checks = (() = $t->origin_requests('good.log')) - $before;
ok($checks >= 5 && $checks <= 14, "one worker's worth of checks ($checks/s)");

# s2 comes back: it is marked UP and takes traffic again.
my $mark = $t->log_mark;
$t->http_origin(8092, sub { [200, [], 's2'] });
ok($t->wait_log(qr{Server tcp_chk/s2 is UP, reason: Layer4 check passed},
    mark => $mark, timeout => 3), 'the server is UP again after rise checks');
%seen = ();
$seen{ $t->http_get($port, "/y$_")->{body} // 'none' }++ for 1 .. 20;
ok(($seen{s2} // 0) >= 5, 'every worker sends it traffic again');
is($t->http_get($port, '/z')->{status}, 200, 'still serving');

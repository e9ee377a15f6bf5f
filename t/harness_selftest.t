#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Tests of Test::Luaproxy itself that need no luaproxy binary: port
# allocation and locking, placeholder expansion, the raw and HTTP clients
# against Perl origins, response parsing, deadlines, alert and sanitizer
# detection, and process start/stop against a fake Perl "server".

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::IP;
use POSIX ();
use Test::More;
use Test::Luaproxy qw(parse_response);
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new;
$t->plan(63);

# --- ports ------------------------------------------------------------------

my $p1 = $t->port(8080);
my $p2 = $t->port(8081);
like($p1, qr/^\d+\z/, 'port() returns a number');
is($t->port(8080), $p1, 'same index, same port for the whole file');
isnt($p1, $p2, 'different indexes, different ports');
ok(!IO::Socket::IP->new(Proto => 'udp', LocalHost => '127.0.0.1',
        LocalPort => $p1), 'the UDP lock is held, so other files skip it');
my $probe = IO::Socket::IP->new(Proto => 'tcp', LocalHost => '127.0.0.1',
    LocalPort => $p1, Listen => 1, ReuseAddr => 1);
ok($probe, 'the TCP port itself is free for the server');
close $probe if $probe;

# --- files and placeholders -------------------------------------------------

my $path = $t->write_file_expand('x.cfg',
    "bind 127.0.0.1:%%PORT_8080%%\ndir %%TESTDIR%%\n");
open(my $fh, '<', $path) or die;
my $text = do { local $/; <$fh> };
is($text, "bind 127.0.0.1:$p1\ndir " . $t->testdir . "\n",
    'write_file_expand replaces %%PORT_n%% and %%TESTDIR%%');
is($t->config, 'x.cfg', 'the first .cfg written becomes the config');
is_deeply([$t->_config_ports], [$p1], 'run() would wait for the bind port');

# --- HTTP client against a Perl origin -------------------------------------

$t->http_origin(8082, sub {
    my ($req) = @_;
    return [404, [], "no\n"] if $req->{uri} eq '/missing';
    return [200, ['Content-Type' => 'text/plain', 'X-Dup' => 'a',
            'X-Dup' => 'b'], "you asked $req->{method} $req->{uri}"
            . (length $req->{body} ? " with $req->{body}" : '')];
}, log => 'origin.log');
my $op = $t->port(8082);

my $r = $t->http_get($op, '/a?b=c');
is($r->{status}, 200, 'http_get: status');
is($r->{headers}{'content-type'}, 'text/plain', 'http_get: header');
is($r->{headers}{'x-dup'}, 'a, b', 'http_get: duplicate headers joined');
is($r->{body}, 'you asked GET /a?b=c', 'http_get: body');
is($t->http_get($op, '/missing')->{status}, 404, 'http_get: other status');

$r = $t->http_get($op, '/p', method => 'POST', body => 'xyz');
is($r->{body}, 'you asked POST /p with xyz', 'http_get: POST body sent');

my @reqs = $t->origin_requests('origin.log');
is(scalar @reqs, 3, 'origin logged every request');
is($reqs[0]{uri}, '/a?b=c', 'origin log: uri');
is($reqs[0]{headers}{host}, 'localhost', 'origin log: headers');
like($reqs[2]{raw}, qr/\r\n\r\nxyz\z/, 'origin log keeps the raw bytes');

my $s = $t->http_keepalive($op);
my $r1 = $s->get('/one');
my $r2 = $s->get('/two');
is($r1->{body}, 'you asked GET /one', 'keepalive: first response');
is($r2->{body}, 'you asked GET /two', 'keepalive: second response');
ok(!$s->is_closed(0.2), 'keepalive: connection still open');
$s->send("GET /x HTTP/1.1\r\nHost: a\r\n\r\nGET /y HTTP/1.1\r\nHost: a\r\n"
        . "Connection: close\r\n\r\n");
is($s->read_response->{body}, 'you asked GET /x', 'pipelined: first');
is($s->read_response->{body}, 'you asked GET /y', 'pipelined: second');
ok($s->is_closed(2), 'keepalive: closed after Connection: close');
$s->close;

my $raw = $t->raw_request($op,
    ["GET /split HT", "TP/1.1\r\nHost: a\r\nConne", "ction: close\r\n\r\n"],
    delay => 0.05);
like($raw->{data}, qr{^HTTP/1\.1 200 .*you asked GET /split\z}s,
    'raw_request: packets reassembled by the origin');
ok($raw->{closed}, 'raw_request: close seen');
ok(!$raw->{timed_out}, 'raw_request: no timeout');

my @many = $t->http_get_many($op, [map {"/m$_"} 1 .. 30]);
my $i = 0;
my $good = grep { $i++; ($_->{body} // '') eq "you asked GET /m$i" } @many;
is($good, 30, 'http_get_many: 30 concurrent answers, each its own');

# --- raw client deadlines, closes, garbage ----------------------------------

my $lsilent = $t->listen_socket(8083);
my $silent = $t->run_daemon(sub {
    my @keep;
    while (my $c = $lsilent->accept) { push @keep, $c; }
});
close $lsilent;
my $t0 = time;
$raw = $t->raw_request($t->port(8083), "GET / HTTP/1.1\r\n\r\n",
    timeout => 0.6);
ok($raw->{timed_out}, 'raw_request: silent server times out');
ok(time - $t0 < 2, 'raw_request: total deadline honoured');
$r = $t->http_get($t->port(8083), '/', timeout => 0.4, read_timeout => 0.2);
ok(!defined $r->{status} && $r->{timed_out}, 'http_get: no answer, no status');
$t->stop_daemon($silent);
ok(!IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port(8083)), 'stop_daemon: port no longer accepts');
$raw = $t->raw_request($t->port(8083), 'x');
ok(!$raw->{connected}, 'raw_request: refused connection reported');

my $lbad = $t->listen_socket(8084);
$t->run_daemon(sub {
    while (my $c = $lbad->accept) {
        print $c "HTTP/1.1 200 OK\r\nno colon here\r\n\r\nbody-to-close";
        close $c;
    }
});
close $lbad;
$r = $t->http_get($t->port(8084), '/');
is($r->{body}, 'body-to-close', 'http_get: close-delimited body');
is_deeply($r->{header_list}, [['no colon here', undef]],
    'http_get: malformed header line kept for inspection');

# --- response parser --------------------------------------------------------

my $chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    . "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nNEXT";
my ($pr, $used) = parse_response($chunked, 0);
is($pr->{body}, 'abcde', 'parse_response: chunked body');
is(substr($chunked, $used), 'NEXT', 'parse_response: consumes one message');
ok(!parse_response(substr($chunked, 0, 50), 0),
    'parse_response: incomplete chunked is not complete');
($pr) = parse_response("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", 0,
    'HEAD');
is($pr->{body}, '', 'parse_response: HEAD has no body');
($pr) = parse_response("HTTP/1.1 304 Not Modified\r\n\r\n", 0);
is($pr->{status}, 304, 'parse_response: 304 without length is complete');

# --- alert and sanitizer detection ------------------------------------------

$t->write_file('stderr.log', "[NOTICE]   (1) : Loading success.\n"
        . "[WARNING]  (1) : config : missing timeouts\n"
        . "[ALERT]    (1) : config : parsing [x.cfg:3] : unknown keyword\n"
        . "[ALERT]    (1) : Fatal errors found in configuration.\n");
is(scalar $t->alerts, 2, 'alerts: every [ALERT] line found');
$t->expect_alerts(qr/unknown keyword/);
is_deeply([$t->alerts],
    ["[ALERT]    (1) : Fatal errors found in configuration."],
    'alerts: expected ones are ignored');
is(scalar $t->sanitizer_errors, 0, 'sanitizer: clean log');
$t->write_file('stderr.log', "==7==ERROR: AddressSanitizer: heap-use-after-"
        . "free\nx.c:3:5: runtime error: signed integer overflow\n");
is(scalar $t->sanitizer_errors, 2, 'sanitizer: ASan and UBSan lines found');
$t->write_file('stderr.log', "[NOTICE]   (1) : generation 1\n");
my $mark = $t->log_mark;
open(my $lf, '>>', $t->log_path) or die;
print $lf "[NOTICE]   (1) : generation 2\n";
close $lf;
is($t->log_since($mark), "[NOTICE]   (1) : generation 2\n",
    'log_since: only what came after the mark');
is($t->wait_log(qr/generation (\d+)/, mark => $mark, timeout => 1), 2,
    'wait_log: returns the capture');
ok(!$t->wait_log(qr/never/, timeout => 0.2), 'wait_log: bounded');
$t->write_file('stderr.log', '');

# --- process control against a fake server ----------------------------------

my $fake = $t->write_file('fake-server', <<"EOF");
#!$^X
# A stand-in server: -vv, -c -f, and -db -f CONFIG with one worker child.
use strict;
use IO::Socket::IP;
if (grep { \$_ eq '-vv' } \@ARGV) {
    print "Fake version\\nFeature list : +LUA +OPENSSL\\n"; exit 0;
}
my (\$cfg) = map { \$ARGV[\$_ + 1] } grep { \$ARGV[\$_] eq '-f' } 0 .. \$#ARGV;
open(my \$fh, '<', \$cfg) or die "[ALERT]    (\$\$) : can't open \$cfg\\n";
my \@ports = map { /bind 127\\.0\\.0\\.1:(\\d+)/ ? \$1 : () } <\$fh>;
exit 1 if grep { /^-c\$/ } \@ARGV and !\@ports;
if (grep { /^-c\$/ } \@ARGV) { print "Configuration file is valid\\n"; exit 0; }
exit 3 if grep { /^-exit\$/ } \@ARGV;
my \@l = map { IO::Socket::IP->new(LocalHost => '127.0.0.1',
    LocalPort => \$_, Listen => 5, ReuseAddr => 1) or die } \@ports;
my \$worker = fork;
if (!\$worker) { \$SIG{TERM} = sub { exit 0 }; sleep 1 while 1; }
print STDERR "[NOTICE]   (\$\$) : started\\n";
\$SIG{TERM} = sub { kill 'TERM', \$worker; waitpid \$worker, 0; exit 0 };
sleep 1 while 1;
EOF
chmod 0755, $fake;
$t->binary($fake);

$t->has('LUA');
pass('has: a listed feature does not skip');
my ($rc, $out) = $t->check_config("bind 127.0.0.1:1\n");
is($rc, 0, 'check_config: exit code');
like($out, qr/Configuration file is valid/, 'check_config: output');
($rc) = $t->check_config("nothing\n");
is($rc, 1, 'check_config: failing exit code');
is($t->config, 'x.cfg', 'check_config: the run config is unchanged');

ok(!eval { $t->run('-exit'); 1 }, 'run: dies when the server exits');
like($@, qr/exited with status 3/, 'run: says why');
is($t->exit_status >> 8, 3, 'exit_status: recorded');

$t->run;
ok($t->pid, 'run: master PID');
ok(IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $p1),
    'run: returned once the bind port accepts');
my @w = $t->worker_pids;
is(scalar @w, 1, 'worker_pids: children of the master');
like($t->log_contents, qr/\[NOTICE\].*started/, 'log_contents: server output');
ok($t->stop, 'stop: clean stop within the timeout');
ok(!kill(0, @w), 'stop: worker gone too');

# A group that ignores SIGTERM is SIGKILLed after the timeout.
my $stubborn = fork // die;
if (!$stubborn) {
    POSIX::setpgid(0, 0);
    $SIG{TERM} = 'IGNORE';
    fork;
    sleep 30;
    POSIX::_exit(0);
}
POSIX::setpgid($stubborn, $stubborn);
sleep 0.2;
ok(!$t->_stop_group($stubborn, 'TERM', 0.5), 'stop: escalates to SIGKILL');
is(scalar $t->group_pids($stubborn), 0, 'stop: whole group killed');
$t->{stop_forced} = 0;    # provoked on purpose, not a leftover

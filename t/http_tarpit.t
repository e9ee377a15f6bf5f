#!/usr/bin/perl
# The HTTP actions that hold or retime a request: "tarpit" with "timeout
# tarpit" (and its fall back on "timeout connect"), "wait-for-body" and
# "set-timeout" with the cur_*_timeout fetches. A held request waits on a
# timer while the worker serves others; a client that leaves a tarpit is
# dropped at once; the log line has HAProxy's termination state and timers
# for each case, compared with HAProxy itself when it is installed. Bad
# lines give file:line errors.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Select;
use IO::Socket::IP;
use Time::HiRes qw(time sleep);
use Test::Luaproxy qw(syslog_sink syslog_drain syslog_line);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new;
my %udp = map { $_ => syslog_sink() } qw(lp ha);

# One configuration; <who> picks the ports and the log target.
sub config {
    my ($who, $port, $port2) = @_;
    my $uport = $udp{$who}->sockport;
    my ($slow, $slow2) = ($t->port(8090), $t->port(8091));
    return <<"EOF2";
global
    nbthread 1
    log 127.0.0.1:$uport local0
    stats socket %%TESTDIR%%/$who.sock level admin
defaults
    mode http
    log global
    log-format "%HP %ST %ts %TR/%Tw/%Tc/%Tr/%Ta cs=%[cur_server_timeout]"
    timeout connect 1500ms
    timeout client 10s
    timeout server 8s
listen fe
    bind 127.0.0.1:$port
    timeout tarpit 700ms
    http-request wait-for-body time 4s at-least 10 if { path /wb10 }
    http-request wait-for-body time 600ms if { path /wb }
    http-request return status 200 content-type text/plain lf-string "len=%[req.body_len] body=%[req.body]" if { path_beg /wb } || { path /nowait }
    http-request tarpit if { path /tp }
    http-request tarpit deny_status 429 content-type text/plain string slow-down hdr X-T yes if { path /tp429 }
    http-request set-timeout server 400ms if { path /st }
    http-request set-timeout server req.hdr(x-t) if { path_beg /sx }
    http-request set-timeout tunnel 2s if { path /cur }
    http-request set-timeout client 900ms if { path /cur }
    http-request return status 200 content-type text/plain lf-string "s=%[cur_server_timeout] t=%[cur_tunnel_timeout] c=%[cur_client_timeout]" if { path /cur } || { path /cur2 }
    http-request return status 200 content-type text/plain string fast if { path /fast }
    use_backend late2 if { path /sx2 }
    server slow 127.0.0.1:$slow
backend late2
    server slow2 127.0.0.1:$slow2
listen fe2
    bind 127.0.0.1:$port2
    timeout tarpit 10s
    http-request tarpit if { path /long }
    http-request tarpit if { path /cc }
    server slow 127.0.0.1:$slow
listen fe4
    bind 127.0.0.1:%%PORT_8083%%
    no log
    timeout tarpit 4s
    http-request tarpit
    server slow 127.0.0.1:$slow
frontend fe3
    bind 127.0.0.1:%%PORT_8082%%
    http-request tarpit
    default_backend none
backend none
    server slow 127.0.0.1:$slow
EOF2
}

# The origins answer after 4 s, one request at a time: any server
# timeout below that is a 504.
$t->http_origin($_, sub {
    sleep 4;
    return [200, [], 'late'];
}) for 8090, 8091;

my $port = $t->port(8080);
my $port2 = $t->port(8081);
$t->write_file_expand('lp.cfg', config('lp', $port, $port2));
$t->run;
syslog_drain($udp{lp});

# The next log line of <who>.
sub logline { return syslog_line($udp{ $_[0] }, $_[1] // 5) }

# A request and how long its answer took.
sub timed {
    my ($p, $path, %o) = @_;
    my $t0 = time;
    my $r = $t->http_get($p, $path, timeout => 12, read_timeout => 12, %o);
    return ($r, time - $t0);
}

# tarpit: held for "timeout tarpit", then 500, "PT", the time held as Tw.
my ($r, $el) = timed($port, '/tp');
is($r->{status}, 500, 'tarpit: 500 by default');
cmp_ok($el, '>=', 0.65, 'tarpit: not answered before "timeout tarpit"');
cmp_ok($el, '<', 5, 'tarpit: answered once it is over');
my $log = logline('lp');
like($log, qr{^/tp 500 PT -1/(\d+)/-1/-1/\d+ }, 'tarpit: logged PT, TR -1, Tc -1');
my ($tw) = $log =~ m{ -1/(\d+)/};
cmp_ok($tw // 0, '>=', 650, 'tarpit: Tw is the time held');

# the reply options of deny
($r) = timed($port, '/tp429');
is(join(' ', $r->{status} // 'none', $r->{body} // '', $r->{headers}{'x-t'} // ''),
    '429 slow-down yes', 'tarpit: deny_status, string and hdr as deny has them');
logline('lp');

# the worker goes on serving while a request is held
my $held = $t->http_hold($port2, '/long');
sleep 0.2;
($r, $el) = timed($port, '/fast');
is($r->{status}, 200, 'another request is served during a tarpit');
cmp_ok($el, '<', 5, '... without waiting for the tarpit to end');
logline('lp');

# a client that leaves a tarpit is dropped at once: CT, Tw its stay
close $held;
$log = logline('lp', 6);
like($log, qr{^/long -1 CT -1/(\d+)/-1/-1/}, 'client gone from the tarpit: CT');
($tw) = $log =~ m{ -1/(\d+)/};
cmp_ok($tw // 99999, '<', 8000, '... logged before "timeout tarpit" would end');

# what a tarpitted client sends meanwhile is not all taken in: past a
# buffer, it stays in the kernel's socket buffers and then with the client
{
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port(8083)) or die "connect: $!";
    syswrite($s, "POST /big HTTP/1.1\r\nHost: x\r\n"
        . "Content-Length: 67108864\r\n\r\n");
    $s->blocking(0);
    my ($sent, $chunk, $deadline) = (0, 'x' x 65536, time + 2.5);
    my $sel = IO::Select->new($s);
    while ($sent < 67108864 && time < $deadline) {
        my $n = syswrite($s, $chunk);
        if ($n) { $sent += $n; next }
        last unless $sel->can_write(0.5);
    }
    cmp_ok($sent, '<', 48 << 20,
        'a tarpitted request body is not read without bound');
    close $s;
}

# no "timeout tarpit": "timeout connect" holds it
($r, $el) = timed($t->port(8082), '/x');
is($r->{status}, 500, 'tarpit in a frontend: 500');
cmp_ok($el, '>=', 1.4, 'no "timeout tarpit": held for "timeout connect"');
logline('lp');

# wait-for-body: the rules see the body sent after the head
my $head = "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n"
    . "Connection: close\r\n\r\n";
$r = $t->http(
    $port, [sprintf($head, '/wb'), 'abcdefghij', 'klmnopqrst'],
    delay => 0.2);
is($r->{body}, 'len=20 body=abcdefghijklmnopqrst',
    'wait-for-body: the rules run once the body is in');
like(logline('lp'), qr{^/wb 200 LR 0/}, 'wait-for-body: LR');
$r = $t->http($port, [sprintf($head, '/nowait'), 'abcdefghijklmnopqrst'],
    delay => 0.3);
is($r->{body}, 'len=0 body=', 'without it they run on the head alone');
logline('lp');

# a client that expects 100-continue is told to send the body
{
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
        or die "connect: $!";
    syswrite($s, "POST /wb HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n"
        . "Expect: 100-continue\r\nConnection: close\r\n\r\n");
    my ($got, $sel) = ('', IO::Select->new($s));
    sysread($s, $got, 4096, length $got) while $got !~ /\r\n\r\n/
        && $sel->can_read(0.5);
    is($got, "HTTP/1.1 100 Continue\r\n\r\n",
        'wait-for-body: 100 Continue to a client that expects it');
    syswrite($s, '0123456789ab');
    my $n = 1;
    $n = sysread($s, $got, 4096, length $got) while $n && $sel->can_read(2);
    like($got, qr/\r\n\r\nlen=12 body=0123456789ab\z/, '... then the body is seen');
    close $s;
    logline('lp');
}

# at-least: enough of it is enough
my $t0 = time;
$r = $t->http($port, [sprintf($head, '/wb10') . '0123456789ab'],
    timeout => 5);
is($r->{body}, 'len=12 body=0123456789ab', 'wait-for-body at-least: 12 of 20');
cmp_ok(time - $t0, '<', 3, '... without waiting for the rest');
logline('lp');

# the time runs out: 408, cR, TR -1
$t0 = time;
$r = $t->http($port, [sprintf($head, '/wb') . 'abc'], timeout => 5);
is($r->{status}, 408, 'wait-for-body: 408 once the time is over');
cmp_ok(time - $t0, '>=', 0.55, '... not before');
like(logline('lp'), qr{^/wb 408 cR -1/-1/-1/-1/\d+ }, 'wait-for-body timeout: cR');

# set-timeout server: 504 after the stream's timeout, not the backend's
($r, $el) = timed($port, '/st');
is($r->{status}, 504, 'set-timeout server 400ms: 504');
cmp_ok($el, '>=', 0.35, '... not before 400 ms');
cmp_ok($el, '<', 3, '... well before the 8 s of the backend');
like(logline('lp'), qr{^/st 504 sH .* cs=400$}, 'set-timeout: sH, cur_server_timeout 400');
($r, $el) = timed($port, '/sx', headers => ['X-T' => '300']);
is($r->{status}, 504, 'set-timeout server from an expression: 504');
cmp_ok($el, '<', 3, '... early too');
logline('lp');
($r, $el) = timed($port, '/sx2', headers => ['X-T' => 'none']);
is(join(' ', $r->{status}, $r->{body}), '200 late',
    'an expression without a number leaves the timeout as it is');
logline('lp');

# the cur_* fetches; a keep-alive connection's next request has its own
my $ka = $t->http_keepalive($port);
$r = $ka->get('/cur');
is($r->{body}, 's=8000 t=2000 c=900',
    'cur_*_timeout: what set-timeout set, else the configured ones');
$r = $ka->get('/cur2');
is($r->{body}, 's=8000 t=0 c=10000',
    'the next request of the connection is back to the configured ones');
$ka->close;
logline('lp') for 1 .. 2;

# tarpits are counted in dreq when they begin, as HAProxy counts them
my $stat = $t->show_stat('lp.sock');
is($stat->{'fe/FRONTEND'}{dreq}, 2,
    'show stat: the frontend counts its 2 tarpits in dreq');
is($stat->{'fe3/FRONTEND'}{dreq}, 1, '... and fe3 its one');
is($stat->{'fe2/FRONTEND'}{dreq}, 1, '... and fe2 the one its client left');

# The same with HAProxy: status, termination state and which timers are
# set (-1 or not) for each case.
SKIP: {
    skip("no haproxy at $haproxy", 5) unless -x $haproxy;
    my %run;
    my @cases = (['/tp'], ['/wb', [sprintf($head, '/wb') . 'abc']],
        ['/st'], ['/wb10', [sprintf($head, '/wb10') . '0123456789ab']]);
    my $shape = sub {
        my ($l) = @_;
        $l =~ s{(-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)}
            {join('/', map { $_ < 0 ? '-1' : 'T' } $1, $2, $3, $4, $5)}e;
        # HAProxy's cur_server_timeout is 0 before a server connection
        return $l =~ s/ cs=\d+$//r;
    };
    for my $who (qw(lp ha)) {
        my ($p) = $who eq 'lp' ? ($port) : ($t->port(8180));
        if ($who eq 'ha') {
            # HAProxy 2.6 has no "set-timeout client" (2.8 has)
            my $cfg = config('ha', $p, $t->port(8181));
            $cfg =~ s/%%PORT_808([23])%%/%%PORT_818$1%%/g;
            $cfg =~ s/^.*(?:set-timeout client|cur_client_timeout).*\n//mg;
            $t->write_file_expand('ha.cfg', $cfg);
            $t->run_haproxy($haproxy, 'ha.cfg', $p);
            syslog_drain($udp{ha});
        }
        for my $c (@cases) {
            if ($c->[1]) {
                $t->http($p, $c->[1], timeout => 5);
            } else {
                $t->http_get($p, $c->[0], timeout => 5);
            }
            $run{$who}{ $c->[0] } = $shape->(logline($who));
        }
    }
    is($run{lp}{$_}, $run{ha}{$_}, "as HAProxy logs it: $_ ($run{ha}{$_})")
        for map { $_->[0] } @cases;
    my ($hr) = $t->http_get($t->port(8180), '/tp429', timeout => 5);
    is(join(' ', $hr->{status} // 'none', $hr->{body} // ''), '429 slow-down',
        'HAProxy answers the custom tarpit the same');
}

# Bad lines.
$t->rule_errors(
    ['http-request tarpit deny_status 99', "'99' is out of range"],
    ['http-response tarpit', "action 'tarpit' is not allowed in 'http-response'"],
    ['http-request wait-for-body', "expects 'time <time>'"],
    ['http-request wait-for-body time x', "invalid duration 'x'"],
    ['http-request wait-for-body time 1s at-least', "'at-least' expects a size"],
    ['http-request wait-for-body time 1s at-least 1q', "invalid unit 'q'"],
    ['http-request set-timeout client', 'expects'],
    ['http-request set-timeout queue 1s', "got 'queue'"],
    ['http-request set-timeout client 0', 'non-null'],
    ['http-request set-timeout client nosuchfetch', 'nosuchfetch'],
    ['timeout tarpit 1x', "invalid unit 'x'"]);
my ($rc, $out) = $t->check_config(<<'CFG', 'bad2.cfg');
frontend f
    mode http
    bind 127.0.0.1:1
    http-request set-timeout server 1s
CFG
ok($rc != 0 && $out =~ /bad2\.cfg:4: .*no backend capability/,
    'set-timeout server in a frontend: no backend capability') or diag($out);
($rc, $out) = $t->check_config(<<'CFG', 'good.cfg');
defaults
    timeout tarpit 2s
backend b
    mode http
    http-request set-timeout tunnel 1m
    http-request wait-for-body time 1s at-least 1k
    http-request tarpit status 403
    server s1 127.0.0.1:1
CFG
is($rc, 0, 'the good forms load') or diag($out);

$t->done_testing;

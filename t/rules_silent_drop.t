#!/usr/bin/perl
# "silent-drop" in each ruleset that has it: the client connection goes
# without an answer and without an orderly close (no byte, no FIN: the
# client sees nothing, or a reset), the stream is logged "PR" and counted
# in dreq; compared with HAProxy when it is installed. And "set-nice",
# accepted where HAProxy accepts it, range-checked, without effect.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy qw(syslog_sink syslog_drain syslog_line);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new;
my %udp = map { $_ => syslog_sink() } qw(lp ha);

# <base> offsets the frontend ports: 8080.. for luaproxy, 8180.. for HAProxy.
sub config {
    my ($who, $base) = @_;
    my $uport = $udp{$who}->sockport;
    my %p = map { $_ => $t->port($base + $_) } 0 .. 4;
    my $o = $t->port(8090);
    return <<"EOF2";
global
    nbthread 1
    log 127.0.0.1:$uport local0
    stats socket %%TESTDIR%%/$who.sock level admin
defaults
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen hreq
    mode http
    log-format "%HP %ST %ts %TR %Tr"
    bind 127.0.0.1:$p{0}
    http-request set-nice -1024
    http-request silent-drop if { path /drop }
    http-request return status 200 content-type text/plain string kept
listen hres
    mode http
    log-format "%HP %ST %ts %TR %Tr"
    bind 127.0.0.1:$p{1}
    http-request set-var(txn.drop) bool(1) if { path /drop }
    http-response set-nice 1024
    http-response silent-drop if { var(txn.drop) -m bool }
    server o 127.0.0.1:$o
listen tconn
    mode tcp
    log-format "tconn %ts"
    bind 127.0.0.1:$p{2}
    tcp-request connection silent-drop
    server o 127.0.0.1:$o
listen tcont
    mode tcp
    log-format "tcont %ts"
    bind 127.0.0.1:$p{3}
    tcp-request inspect-delay 2s
    tcp-request content set-nice 5
    tcp-request content silent-drop if { req.payload(0,4) -m str DROP }
    tcp-request content reject if { req.payload(0,4) -m str REJE }
    tcp-request content accept if { req.len gt 0 }
    server o 127.0.0.1:$o
listen tres
    mode tcp
    log-format "tres %ts"
    bind 127.0.0.1:$p{4}
    tcp-response inspect-delay 2s
    tcp-response content set-nice 0
    tcp-response content silent-drop if { res.len gt 0 }
    server o 127.0.0.1:$o
EOF2
}

$t->http_origin(8090, sub { return [200, [], 'from origin'] });
$t->write_file_expand('lp.cfg', config('lp', 8080));
$t->run;
syslog_drain($udp{lp});

my $get = "GET %s HTTP/1.1\r\nHost: x\r\n\r\n";
# <name>, frontend port offset, bytes sent.
my @cases = (
    ['http-request', 0, sprintf($get, '/drop')],
    ['http-response', 1, sprintf($get, '/drop')],
    ['tcp-request connection', 2, 'hello'],
    ['tcp-request content', 3, "DROP it\r\n"],
    ['tcp-response content', 4, sprintf($get, '/x')],
);

# What the client of <port> sees within <wait> seconds (1 by default):
# "silent" (nothing, or a reset: no byte and no orderly close), "closed"
# (a clean close), "answered".
sub seen {
    my ($port, $bytes, $wait) = @_;
    my $r = $t->raw_request($port, $bytes, timeout => 5,
        read_timeout => $wait // 1);
    return 'answered' if length $r->{data};
    return 'closed' if $r->{closed} && !$r->{reset};
    return 'silent';
}

# The next log line of <who>.
sub logline { return syslog_line($udp{ $_[0] }) }

# The probe tells the cases apart: a plain request is answered, a
# connection closed after its bytes were read ends with a clean close.
is(seen($t->port(8080), sprintf($get, '/x'), 4), 'answered',
    'the control request is answered');
logline('lp');
is(seen($t->port(8083), sprintf($get, '/x'), 4), 'answered',
    'the control TCP stream is relayed');
logline('lp');
is(seen($t->port(8083), "REJECT\r\n", 4), 'closed',
    'a rejected TCP stream is closed cleanly');
logline('lp');

# The dreq column of each frontend in "show stat".
sub dreq {
    my $stat = $t->show_stat('lp.sock');
    return { map { /^(.*)\/FRONTEND$/ ? ($1 => $stat->{$_}{dreq}) : () }
            keys %$stat };
}
# (the harness's readiness probe was dropped by tconn already)
my $before = dreq();

my %lp;
for my $c (@cases) {
    $lp{ $c->[0] } = seen($t->port(8080 + $c->[1]), $c->[2]);
    is($lp{ $c->[0] }, 'silent', "$c->[0] silent-drop: no answer, no orderly close");
}
my @lines = map { logline('lp') } @cases;
like(join("\n", @lines), qr{^/drop -1 PR -1 -1$}m,
    'http-request silent-drop: PR, no request time');
like(join("\n", @lines), qr{^/drop -1 PR \d+ -1$}m,
    'http-response silent-drop: PR, no response time');
like(join("\n", @lines), qr/^tcont PR$/m, 'tcp-request content: PR');
like(join("\n", @lines), qr/^tres PR$/m, 'tcp-response content: PR');

# each drop counts as a denied request of its frontend
my $after = dreq();
is(join(' ', map { "$_+" . (($after->{$_} // 0) - ($before->{$_} // 0)) }
        qw(hreq hres tconn tcont tres)),
    'hreq+1 hres+1 tconn+1 tcont+1 tres+1', 'show stat: dreq of each frontend');

# HAProxy on the same configuration: what the client sees, and the
# termination state (it logs no line for a connection-level drop).
SKIP: {
    skip("no haproxy at $haproxy", scalar @cases) unless -x $haproxy;
    $t->write_file_expand('ha.cfg', config('ha', 8180));
    $t->run_haproxy($haproxy, 'ha.cfg', map { $t->port(8180 + $_) } 0 .. 4);
    syslog_drain($udp{ha});
    for my $c (@cases) {
        is($lp{ $c->[0] }, seen($t->port(8180 + $c->[1]), $c->[2]),
            "as HAProxy: the client of $c->[0] silent-drop sees the same");
    }
}

# Bad lines.
$t->rule_errors(
    ['http-request set-nice 1025', "'1025' is out of range"],
    ['http-request set-nice -1025', "'-1025' is out of range"],
    ['http-request set-nice x', "'x'"],
    ['http-request set-nice', "'set-nice' expects a value"],
    ['tcp-request connection set-nice 1',
        "action 'set-nice' is not allowed in 'tcp-request connection'"],
    ['http-after-response silent-drop',
        "action 'silent-drop' is not allowed in 'http-after-response'"]);

$t->done_testing;

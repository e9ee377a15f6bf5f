#!/usr/bin/perl
# The same configuration run by HAProxy (Debian's /usr/sbin/haproxy, when
# installed) and by us, logging to two UDP listeners: the lines of option
# httplog (connections that send nothing among them), option tcplog, the
# "Connect from" line and log-format lines
# (unique-id-format among them)
# must be identical once dates, ports, timers, byte counts and pids are
# masked. Byte counts differ on purpose in HTTP mode: HAProxy 2.6 counts
# its internal HTX representation, we count bytes on the wire.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy qw(syslog_sink syslog_drain syslog_next);
use Time::HiRes qw(sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new;
$t->skip_all("no haproxy at $haproxy") unless -x $haproxy;

my %udp = map { $_ => syslog_sink() } qw(lp ha);

# One configuration; <who> picks the ports and the log destination.
sub config {
    my ($who, $base) = @_;
    my $uport = $udp{$who}->sockport;
    my %p = map { $_ => $t->port($base + $_) } 0 .. 5;
    my $o = $t->port(8091);
    return <<"EOF2";
global
    log 127.0.0.1:$uport local0
    log-tag lb
defaults
    mode http
    log global
    timeout connect 1s
    timeout client 3s
    timeout server 2s
frontend web
    bind 127.0.0.1:$p{0}
    option httplog
    timeout http-request 500ms
    http-request return status 200 content-type text/plain string ok if { path /local }
    http-request deny if { path /deny }
    default_backend origin
frontend plain
    bind 127.0.0.1:$p{1}
    default_backend origin
frontend custom
    bind 127.0.0.1:$p{2}
    log-format "%{+Q}o %HM %HU %HP %HV %ST %b %s %f %ft %ts %tsc %CC %CS %[str(x)] %%"
    default_backend origin
frontend uid
    bind 127.0.0.1:$p{4}
    unique-id-format %[req.hdr(x-a)]:%HM:%[req.hdr(x-none)]:%HU
    unique-id-header X-UID
    log-format "%ID %{+Q}ID [%[unique-id]]"
    default_backend origin
frontend nouid
    bind 127.0.0.1:$p{5}
    log-format "%ID %{+Q}ID [%[unique-id]]"
    default_backend origin
listen raw
    mode tcp
    bind 127.0.0.1:$p{3}
    option tcplog
    server o1 127.0.0.1:$o
backend origin
    server o1 127.0.0.1:$o
EOF2
}

$t->write_file('lp.cfg', config('lp', 8100));
$t->write_file('ha.cfg', config('ha', 8200));
$t->http_origin(8091, sub { return [200, ['content-type' => 'text/plain'], "hello\n"] });
$t->run;
$t->run_haproxy($haproxy, 'ha.cfg', map { $t->port(8200 + $_) } 0 .. 5);
# drain what the start-up connections logged
sleep 0.5;
syslog_drain($_) for values %udp;


# Sends the same thing to both and compares what they log.
sub same {
    my ($name, $send) = @_;
    $send->(8100);
    my $lp = syslog_next($udp{lp});
    $send->(8200);
    my $ha = syslog_next($udp{ha});
    is($lp, $ha, $name);
    return $lp;
}

my $get = sub { my ($path, $off) = @_; sub { $t->http_get($t->port($_[0] + ($off // 0)), $path) } };
same('option httplog, proxied', $get->('/p/a?x=1&y=%22'));
same('option httplog, http-request return', $get->('/local'));
same('option httplog, deny', $get->('/deny'));
same('option httplog, bad request', sub {
    $t->raw_request($t->port($_[0]), "GARBAGE\r\n\r\n") });
# a connection that sends nothing: closed (400 CR), or left to time out
# (408 cR), both "<BADREQ>"
sub silent {
    my ($port, $wait) = @_;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
        or return;
    sleep $wait;
    close $s;
}
same('option httplog, closed before its first byte',
    sub { silent($t->port($_[0]), 0) });
same('option httplog, timed out before its first byte',
    sub { silent($t->port($_[0]), 0.8) });
same('no format: Connect from, once the request comes', $get->('/plain', 1));
same('log-format with %o, HTTP tags and a sample', $get->('/c/d?e', 2));
same('option tcplog', $get->('/tcp', 3));
is(same('unique-id-format: %ID, quoted, and the unique-id fetch', sub {
    $t->http_get($t->port($_[0] + 4), '/u?x', headers => ['X-A' => 'v1']) }),
    '<134>HDR: v1:GET::/u?x "v1:GET::/u?x" [v1:GET::/u?x]', 'the identifier');
is(same('no unique-id-format: %ID is "-", the fetch has no value',
    $get->('/n', 5)), '<134>HDR: - "" [-]', 'no identifier');

$t->done_testing;

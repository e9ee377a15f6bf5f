#!/usr/bin/perl
# Header captures and log levels in traffic logs, through real requests:
# "capture request|response header" printed by option httplog as
# "{v1|v2} {v3}" and by %hr, %hrl, %hs, %hsl (quoted or not, with '"',
# '|', '{', '}' encoded as #XX, values cut to their length, '-' for a
# missing one), nothing at all without captures; "http-request capture"
# (len and id forms) and "declare capture";
# %rc counting connection retries ('+' after a change of server); "set-log-level silent"
# suppressing the line and "set-log-level err" changing its syslog
# priority. Each line is checked against what HAProxy 2.6 writes, and,
# when /usr/sbin/haproxy is installed, compared with its own line for the
# same configuration and request.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy qw(syslog_sink syslog_drain syslog_next);
use Time::HiRes qw(sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $with_ha = -x $haproxy;
my $t = Test::Luaproxy->new;

my %udp = map { $_ => syslog_sink() } qw(lp ha);

# One configuration; <who> picks the ports and the log destination.
sub config {
    my ($who, $base) = @_;
    my $uport = $udp{$who}->sockport;
    my %p = map { $_ => $t->port($base + $_) } 0 .. 3;
    my $o = $t->port(8091);
    my $dead = $t->port(8092);
    return <<"EOF2";
global
    log 127.0.0.1:$uport local0
    log-tag lb
defaults
    mode http
    log global
    timeout connect 200ms
    timeout client 3s
    timeout server 2s
frontend web
    bind 127.0.0.1:$p{0}
    option httplog
    capture request header Host len 20
    capture request header X-A len 5
    capture response header Content-Type len 10
    http-request set-log-level silent if { path /silent }
    http-request set-log-level err if { path /err }
    http-request return status 200 content-type text/plain string ok if { path /local }
    http-request deny if { path /deny }
    use_backend dead if { path /dead }
    use_backend deadr if { path /deadr }
    use_backend retry if { path /retry }
    default_backend origin
frontend fmt
    bind 127.0.0.1:$p{1}
    capture request header Host len 20
    capture request header X-A len 5
    capture response header Content-Type len 10
    log-format "A %hr B %hrl C %hs D %hsl E %{+Q}hr F %{+Q}hrl G %{+Q}hsl H"
    default_backend origin
frontend nocap
    bind 127.0.0.1:$p{2}
    log-format "A %hr B %hrl C %hs D %hsl E %{+Q}hrl F"
    default_backend origin
frontend smp
    bind 127.0.0.1:$p{3}
    capture request header Host len 20
    http-request capture req.hdr(x-b),lower len 4
    http-request capture path len 20 if { path_beg /c }
    capture request header X-A len 5
    declare capture request len 3
    declare capture response len 6
    log-format "A %hr B %hrl C %hs D"
    default_backend origin_cap
backend origin_cap
    http-request capture req.hdr(x-c) id 4
    http-response capture res.hdr(content-type) id 0
    server o1 127.0.0.1:$o
backend origin
    server o1 127.0.0.1:$o
backend dead
    server d1 127.0.0.1:$dead
backend retry
    option redispatch
    server d1 127.0.0.1:$dead
    server o1 127.0.0.1:$o
backend deadr
    retries 1
    option redispatch
    server d1 127.0.0.1:$dead
EOF2
}

$t->write_file('lp.cfg', config('lp', 8100));
$t->write_file('ha.cfg', config('ha', 8200));
$t->http_origin(8091, sub {
    return [200, ['content-type' => 'text/plain; charset=utf-8'], "hello\n"] });
$t->run;
$t->run_haproxy($haproxy, 'ha.cfg', map { $t->port(8200 + $_) } 0 .. 3)
    if $with_ha;
# drain what the start-up connections logged
sleep 0.5;
syslog_drain($_) for values %udp;

# The next line logged to <who>'s listener within <secs>, masked.
sub next_line {
    my ($who, $secs) = @_;
    return syslog_next($udp{$who}, $secs);
}

# Sends the same thing to us (and HAProxy): our line must be <want>, and
# HAProxy's the same.
sub same {
    my ($name, $want, $send) = @_;
    $send->(8100);
    my $lp = next_line('lp');
    is($lp, $want, $name);
    return unless $with_ha;
    $send->(8200);
    is(next_line('ha'), $lp, "$name: as HAProxy");
}

my $get = sub {
    my ($path, $off, @h) = @_;
    sub { $t->http_get($t->port($_[0] + $off), $path, headers => [@h]) }
};
my $req = '"GET %s HTTP/1.1"';

same('httplog: request and response captures, cut to their length',
    '<134>HDR: 127.0.0.1:PORT [DATE] web origin/o1 T/T/T/T/T 200 B - - '
    . '---- 1/1/0/0/0 0/0 {127.0.0.1:PORT|abcde} {text/plain} '
    . sprintf($req, '/p'),
    $get->('/p', 0, Host => '127.0.0.1:1234', 'X-A' => 'abcdefgh'));
same('httplog: a missing header is an empty slot, no response captured',
    '<134>HDR: 127.0.0.1:PORT [DATE] web web/<NOSRV> T/T/T/T/T 200 B - - '
    . 'LR-- 1/1/0/0/0 0/0 {127.0.0.1:PORT|} {} ' . sprintf($req, '/local'),
    $get->('/local', 0, Host => '127.0.0.1:1234'));
same('set-log-level err: priority local0.err',
    '<131>HDR: 127.0.0.1:PORT [DATE] web origin/o1 T/T/T/T/T 200 B - - '
    . '---- 1/1/0/0/0 0/0 {127.0.0.1:PORT|} {text/plain} '
    . sprintf($req, '/err'),
    $get->('/err', 0, Host => '127.0.0.1:1234'));
same('httplog: a bad request has no captures at all',
    '<134>HDR: 127.0.0.1:PORT [DATE] web web/<NOSRV> T/T/T/T/T 400 B - - '
    . 'PR-- 1/1/0/0/0 0/0 "<BADREQ>"',
    sub { $t->raw_request($t->port($_[0]), "GARBAGE\r\n\r\n") });
same('httplog: a denied request',
    '<134>HDR: 127.0.0.1:PORT [DATE] web web/<NOSRV> T/T/T/T/T 403 B - - '
    . 'PR-- 1/1/0/0/0 0/0 {127.0.0.1:PORT|x} {} ' . sprintf($req, '/deny'),
    $get->('/deny', 0, Host => '127.0.0.1:1234', 'X-A' => 'x'));
same('httplog: no server answered, no response captured',
    '<134>HDR: 127.0.0.1:PORT [DATE] web dead/d1 T/T/T/T/T 503 B - - '
    . 'SC-- 1/1/0/0/3 0/0 {127.0.0.1:PORT|} {} ' . sprintf($req, '/dead'),
    $get->('/dead', 0, Host => '127.0.0.1:1234'));
same('httplog: redispatch to the same server: retries without "+"',
    '<134>HDR: 127.0.0.1:PORT [DATE] web deadr/d1 T/T/T/T/T 503 B - - '
    . 'SC-- 1/1/0/0/1 0/0 {127.0.0.1:PORT|} {} ' . sprintf($req, '/deadr'),
    $get->('/deadr', 0, Host => '127.0.0.1:1234'));

# roundrobin over a dead and a live server: within two requests one meets
# the dead server first, and its retry on the other one is a "+1"
for my $who (qw(lp ha)) {
    next if $who eq 'ha' && !$with_ha;
    my @lines = map {
        $t->http_get($t->port($who eq 'lp' ? 8100 : 8200), '/retry');
        next_line($who);
    } 1 .. 2;
    ok((grep { m{ retry/o1 T/T/T/T/T 200 B - - ---- 1/1/0/0/\+1 0/0 } }
            @lines), "$who: a retry on another server is counted as \"+1\"")
        or diag(join("\n", @lines));
}

# silent: no line at all, for us and for HAProxy
for my $who (qw(lp ha)) {
    next if $who eq 'ha' && !$with_ha;
    my $r = $t->http_get($t->port($who eq 'lp' ? 8100 : 8200), '/silent');
    is($r->{status}, 200, "$who: silent request answered");
    is(next_line($who, 0.7), '<none>', "$who: set-log-level silent logs nothing");
}

same('log-format: every capture tag, quoted or not, encoded',
    '<134>HDR: A {h#22x|a#7Cb#7Bc} B h#22x a#7Cb#7Bc C {text/plain} '
    . 'D text/plain E "{h#22x|a#7Cb#7Bc}" F "h#22x" "a#7Cb#7Bc" '
    . 'G "text/plain" H',
    $get->('/p', 1, Host => 'h"x', 'X-A' => 'a|b{c}'));
same('log-format: a missing header is "-" in a list, "" quoted',
    '<134>HDR: A {h|} B h - C {text/plain} D text/plain E "{h|}" F "h" "" '
    . 'G "text/plain" H',
    $get->('/p', 1, Host => 'h'));
same('log-format without captures: the tags and their separators vanish',
    '<134>HDR: A B C D E F', $get->('/p', 2));

# http-request capture: slots in declaration order among the header ones,
# the value converted and cut, empty when absent or when the rule's
# condition did not hold
# "declare capture" slots filled by "capture ... id N" in the backend
same('http-request capture: a sample in its slot, cut to its length',
    '<134>HDR: A {h|abcd|/c/d|x|xyz} B h abcd /c/d x xyz C {text/p} D',
    $get->('/c/d', 3, Host => 'h', 'X-B' => 'ABCDEF', 'X-A' => 'x',
        'X-C' => 'xyzzy'));
same('http-request capture: missing sample, condition false',
    '<134>HDR: A {h||||} B h - - - - C {text/p} D',
    $get->('/p', 3, Host => 'h'));

$t->done_testing;

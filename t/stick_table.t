#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Stick tables: the rate-limiting pattern (the 11th request within the
# period is denied, allowed again once the period has passed), one count
# shared by two workers, conn_cur rising and falling with connections,
# gpc0 through sc-inc-gpc0 and src_get_gpc0, expiry and LRU eviction seen
# on the runtime API, a table of another section named with "table",
# string and integer keys, http_err_cnt, "clear table"; bad lines; and,
# when HAProxy is installed, the rate-limiting answers compared with its.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 90);

# The rate-limiting frontend, as the HAProxy documentation writes it
# (with a 2 s period to keep the test short).
sub rate_limit {
    my ($port) = @_;
    return <<"CFG";
frontend rl
    bind 127.0.0.1:$port
    stick-table type ip size 100k expire 30s store http_req_rate(2s),conn_cur,gpc0
    http-request track-sc0 src
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 10 }
    http-request return status 200 content-type text/plain lf-string "rate=%[sc_http_req_rate(0)]"
CFG
}

# The general purpose counters and tag, and the src_ fetches that write.
sub gpc_frontend {
    my ($port) = @_;
    return <<"CFG";
frontend gp
    bind 127.0.0.1:$port
    stick-table type ip size 10 store gpc0,gpc1,gpt0,conn_cnt,http_req_cnt
    http-request track-sc2 src
    http-request sc-inc-gpc1(2) if { path /inc1 }
    http-request sc-set-gpt0(2) 42 if { path /gpt }
    http-request sc-set-gpt0(2) req.hdr(x-v) if { path /gptv }
    http-request return status 200 content-type text/plain lf-string "inc=%[src_inc_gpc0] get=%[src_get_gpc0] g1=%[sc2_get_gpc1] gpt=%[sc_get_gpt0(2)] updt=%[src_updt_conn_cnt] cnt=%[sc2_conn_cnt] clr=%[src_clr_gpc0] after=%[src_get_gpc0] trackers=%[sc2_trackers] http=%[sc2_http_req_cnt] in=%[src,in_table(gp)] t=%[src,table_gpc1(gp)] u=%[str(x),in_table(gp)]" if { path /show }
    http-request return status 200 content-type text/plain lf-string "inc=%[src_inc_gpc0] g1=%[sc2_get_gpc1] gpt=%[sc_get_gpt0(2)]"
CFG
}
my @gp_reqs = (['/'], ['/inc1'], ['/inc1'], ['/gpt'], ['/gptv', 'x-v' => 7],
    ['/show'], ['/']);

my $defaults = <<'CFG';
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
CFG

my $fronts = rate_limit($t->port(8080)) . gpc_frontend($t->port(8086));
$t->write_file_expand('stick.cfg', <<"CFG" . $fronts . <<'CFG2');
global
    nbproc 2
    stats socket %%TESTDIR%%/admin.sock level admin

$defaults
CFG

frontend cnt
    bind 127.0.0.1:%%PORT_8081%%
    timeout client 3s
    stick-table type ip size 10 expire 30s store http_req_cnt,conn_cur,conn_cnt,sess_cnt,gpc0,gpc0_rate(10s)
    tcp-request connection track-sc1 src
    http-request sc-inc-gpc0(1) if { path /inc }
    http-request return status 200 content-type text/plain lf-string "%pid req=%[sc1_http_req_cnt] cur=%[sc_conn_cur(1)] gpc0=%[src_get_gpc0] rate=%[sc1_gpc0_rate] trk=%[sc_tracked(1)] trk0=%[sc0_tracked] trackers=%[sc1_trackers]"

frontend keys
    bind 127.0.0.1:%%PORT_8082%%
    http-request track-sc0 req.hdr(x-k) table lru if { req.hdr(x-k) -m found }
    http-request track-sc1 req.hdr(x-id) table ints if { req.hdr(x-id) -m found }
    http-request track-sc2 req.hdr(x-e) table short if { req.hdr(x-e) -m found }
    http-request return status 404 if { path /missing }
    http-request return status 200 content-type text/plain lf-string "k=%[sc0_http_req_cnt] id=%[sc1_http_req_cnt] err=%[sc_http_err_cnt(1)] byname=%[req.hdr(x-k),table_http_req_cnt(lru)] in=%[req.hdr(x-k),in_table(lru)] nogpc=%[sc0_get_gpc0] lru=%[table_cnt(lru)] avl=%[table_avl(lru)] o=%[sc_http_req_cnt(0,short)]"

backend lru
    stick-table type string len 8 size 2 store http_req_cnt

backend ints
    stick-table type integer size 10 store http_req_cnt,http_err_cnt

backend short
    stick-table type string size 10 expire 1s store http_req_cnt

listen tcplim
    mode tcp
    bind 127.0.0.1:%%PORT_8084%%
    stick-table type ip size 10 store conn_cur,conn_cnt,bytes_in_cnt,bytes_out_cnt
    tcp-request connection track-sc0 src
    tcp-request connection reject if { sc0_conn_cur gt 2 }
    server s 127.0.0.1:%%PORT_8085%%
CFG2
$t->http_origin(8085, sub { [200, [], 'from origin'] });
$t->run;
$t->wait_log(qr/(?s:ready, generation 1.*){2}/);

sub cli { return $t->cli('admin.sock', "$_[0]\n") // '' }
sub body {
    my ($port, $path, %h) = @_;
    my $r = $t->http_get($t->port($port), $path, headers => [%h]);
    return ($r->{status} // 0) . ' ' . ($r->{body} // '');
}

# A client gone before its first byte (the harness's start-up probe of the
# port among them) is untracked at once, not when "timeout client" (3 s)
# notices.
my $probe = IO::Socket::IP->new(PeerHost => '127.0.0.1',
    PeerPort => $t->port(8081));
close $probe if $probe;
my $wait = 0;
sleep 0.05 until cli('show table cnt') =~ /conn_cur=0\b/ || ++$wait > 20;
like(cli('show table cnt'), qr/key=127\.0\.0\.1 .*conn_cur=0\b/,
    'a client gone before its first byte leaves conn_cur at once');

# The same answers from HAProxy's rate limiting are compared below.
sub statuses { return map { /^(200 .*|\d+)/ } @_ }
my @rl = statuses(map { body(8080, '/') } 1 .. 12);
is_deeply(\@rl, [(map {"200 rate=$_"} 1 .. 10), ('429') x 2],
    'the 11th request within the period is denied, and the next');
sleep 4.2; # two periods: nothing left of the burst
like(body(8080, '/'), qr/^200 rate=1$/, 'allowed again after the period');

cli('clear table cnt');
# Clients held open, one more at a time, until both workers served some
# (the kernel picks the worker): one count for all of them.
my (@held, @seen, %pids);
while (@held < 100 && (@held < 20 || keys %pids < 2)) {
    my $s = $t->http_keepalive($t->port(8081)) or last;
    push @held, $s;
    my $r = $s->get('/');
    my ($pid, $rest) = ($r->{body} // '') =~ /^(\d+) (.*)$/ or last;
    $pids{$pid} = 1;
    push @seen, $rest;
}
my $n = @held;
is_deeply(\@seen,
    [map {"req=$_ cur=$_ gpc0=0 rate=0 trk=1 trk0=0 trackers=$_"} 1 .. $n],
    "nbproc 2: one request count and conn_cur for both workers ($n clients)");
is(scalar keys %pids, 2, 'the requests were served by both workers');
$_->close for @held;
sleep 0.5;
like(body(8081, '/'), qr/ req=@{[$n + 1]} cur=1 /,
    'conn_cur falls as clients leave');
# the last client's close may reach its worker a moment after the answer
$wait = 0;
sleep 0.05 until cli('show table cnt') =~ /conn_cur=0\b/ || ++$wait > 40;
like(cli('show table cnt'),
    qr/^0x1: key=127\.0\.0\.1 use=0 exp=\d+ gpc0=0 gpc0_rate\(10000\)=0 conn_cnt=@{[$n + 1]} conn_cur=0 sess_cnt=@{[$n + 1]} http_req_cnt=@{[$n + 1]}$/m,
    'show table: the connections, sessions and requests counted');

my @gpc = map { body(8081, '/inc') } 1 .. 3;
is_deeply([map { / gpc0=(\d+) rate=(\d+)/ ? "$1/$2" : '' } @gpc],
    ['1/1', '2/2', '3/3'], 'sc-inc-gpc0 counts into gpc0 and gpc0_rate');

# The /show request counts its trackers: wait until the server has let
# the previous connections go, which it does after the client has read.
sub gp_answers {
    my ($port, $sock) = @_;
    my @answers;
    for my $req (@gp_reqs) {
        if ($req->[0] eq '/show') {
            my $n = 0;
            sleep 0.05 until $t->cli($sock, "show table gp\n") =~ /use=0 / || ++$n > 100;
        }
        push @answers, body($port, @$req);
    }
    return @answers;
}

my @gp = gp_answers(8086, 'admin.sock');
is_deeply(\@gp, ['200 inc=1 g1=0 gpt=0', '200 inc=2 g1=1 gpt=0',
    '200 inc=3 g1=2 gpt=0', '200 inc=4 g1=2 gpt=42', '200 inc=5 g1=2 gpt=7',
    '200 inc=6 get=6 g1=2 gpt=7 updt=7 cnt=7 clr=6 after=0 trackers=1 '
        . 'http=6 in=1 t=2 u=',
    '200 inc=1 g1=2 gpt=7'],
    'gpc0, gpc1, gpt0 and the src_ fetches that write') or diag(explain(\@gp));

# string keys, a table of another section, LRU eviction with size 2
is(body(8082, '/', 'x-k' => 'a'),
    '200 k=1 id= err= byname=1 in=1 nogpc= lru=1 avl=1 o=0',
    'string key tracked in the table of another section; no value from '
    . 'an untracked counter or a type the table does not store');
body(8082, '/', 'x-k' => 'b');
body(8082, '/', 'x-k' => 'a');
body(8082, '/', 'x-k' => 'c');
my $lru = cli('show table lru');
like($lru, qr/^# table: lru, type: string, size:2, used:2$/m, 'show table header');
ok($lru =~ /key=a / && $lru =~ /key=c / && $lru !~ /key=b /,
    'full: the least recently used entry (b) made room');
like(body(8082, '/', 'x-k' => 'b'), qr/^200 k=1 /, 'b starts again from 1');
like(body(8082, '/', 'x-k' => 'abcdefghij'), qr/^200 k=1 /, 'a long key');
like(cli('show table lru'), qr/key=abcdefgh use/, 'truncated to len 8');

# integer keys and http_err_cnt (a 404 sent to the client)
body(8082, '/missing', 'x-id' => '42');
like(body(8082, '/', 'x-id' => '42'), qr/^200 k= id=2 err=1 /,
    'integer key; the 404 counted as an HTTP error');
like(cli('show table ints data.http_err_cnt gt 0'),
    qr/key=42 use=0 exp=0 http_req_cnt=2 http_err_cnt=1$/m,
    'show table with a data filter');
unlike(cli('show table ints data.http_err_cnt eq 0'), qr/key=/,
    'the filter leaves out the others');
like(cli('show table ints data.gpc0 gt 0'), qr/not stored/,
    'a filter on a type the table does not store is refused');

# expiry
like(body(8082, '/', 'x-e' => 'gone', 'x-k' => 'gone'), qr/ o=1$/,
    'sc_*(ctr,table): the tracked key looked up in another table');
like(cli('show table short'), qr/used:1\n.*key=gone use=0 exp=\d+ http_req_cnt=1/,
    'the entry is there before it expires');
sleep 1.5;
like(cli('show table short'), qr/used:0\n$/, 'and gone after expire');

# the runtime API's listing and clearing
like(cli('show table'), qr/^# table: rl, type: ip, size:102400, used:1\n# table: gp, type: ip, size:10, used:1\n# table: cnt, type: ip, size:10, used:1\n# table: lru, type: string, size:2, used:2\n# table: ints, type: integer, size:10, used:1\n# table: short, type: string, size:10, used:0\n/,
    'show table lists every table');
like(cli('show table lru key gone'), qr/^0x\w+: key=gone use=0 /m,
    'show table NAME key K');
cli('clear table lru key gone');
my $left = cli('show table lru');
ok($left !~ /key=gone / && $left =~ /key=abcdefgh /,
    'clear table NAME key K removes that key only');
cli('clear table ints');
like(cli('show table ints'), qr/used:0/, 'clear table NAME');
like(cli('show table nosuch'), qr/No such table/, 'unknown table');
like(cli('show table ints data.http_req_cnt gt x'),
    qr/^Filter entry #1: Require a valid integer value to compare against$/m,
    'a filter needs an integer, in HAProxy\'s words');
like(cli('clear table'), qr/^Required arguments: <table>/, 'clear table needs a name');

# TCP mode: connections limited to 2 at once per client, bytes counted
$wait = 0;
sleep 0.1 until cli('show table tcplim') =~ /conn_cur=0/ || ++$wait > 50;
cli('clear table tcplim');
my @tcp = map { $t->http_keepalive($t->port(8084)) } 1 .. 2;
is(join(',', map { my $r = $_->get('/'); $r ? $r->{status} : 0 } @tcp),
    '200,200', 'mode tcp: two connections at once pass');
my $third = $t->raw_request($t->port(8084),
    "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
ok($third->{closed} && $third->{data} eq '', 'the third is rejected');
$_->close for @tcp;
sleep 0.3;
like($t->http_get($t->port(8084), '/')->{body}, qr/from origin/,
    'allowed again once the others left');
# the last connection ends in the worker a moment after its answer
$wait = 0;
sleep 0.05 until cli('show table tcplim') =~ /conn_cur=0/ || ++$wait > 100;
like(cli('show table tcplim'),
    qr/use=0 exp=0 conn_cnt=4 conn_cur=0 bytes_in_cnt=[1-9]\d* bytes_out_cnt=[1-9]\d*$/m,
    'mode tcp: connections and bytes counted');

# a reload starts new, empty tables
my $mark = $t->log_mark;
$t->reload;
ok($t->wait_log(qr/(?s:ready, generation 2.*){2}/, mark => $mark,
    timeout => 10), 'reloaded: two new workers ready');
like(cli('show table cnt'), qr/used:0\n$/, 'a reload starts empty tables');
like(body(8081, '/'), qr/ req=1 /, 'and counts from nothing');

# bad lines: file:line and a non-zero exit from -c
$t->rule_errors(
    ['stick-table type ipx size 10', "unknown key type 'ipx'"],
    ['stick-table type ip size 0', "'size' 0 out of range"],
    ['stick-table type ip size 10 store nosuch', "unknown data type 'nosuch'"],
    ['stick-table type ip size 10 store http_req_rate', 'expects a period'],
    ['stick-table type ip size 10 store conn_cur(10s)', 'takes no argument'],
    ['stick-table type ip', "expects 'type' and 'size'"],
    ['http-request track-sc0 src table nosuch', "unable to find table 'nosuch'"],
    ['http-request track-sc0 src', 'has no stick-table'],
    ['http-request track-sc1', 'expects a key expression'],
    ['http-request sc-inc-gpc0(3)', 'counter number 0 to 2'],
    ['http-request deny if { sc_http_req_rate(3) gt 1 }',
        'invalid stick counter 3'],
    ['http-request deny if { src_conn_cur(nosuch) gt 1 }',
        "unable to find stick table 'nosuch'"],
    ['http-request set-var(txn.x) src,table_gpc0(nosuch)',
        "unable to find stick table 'nosuch'"],
);
my ($rc, $out) = $t->check_config(<<'CFG', 'twice.cfg');
backend b
    stick-table type ip size 10
    stick-table type ip size 10
CFG
ok($rc != 0 && $out =~ /twice\.cfg:3: .*only one stick-table per proxy; 'b' has one at \S*twice\.cfg:2/,
    'a second stick-table in a section') or diag($out);

SKIP: {
    skip("no haproxy at $haproxy", 2) unless -x $haproxy;
    $t->write_file('ha.cfg', "$defaults\n" . rate_limit($t->port(8180)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    my @ha = statuses(map { body(8180, '/') } 1 .. 12);
    is_deeply(\@ha, \@rl, 'as HAProxy: the rate-limiting answers')
        or diag("@ha");
    sleep 4.2;
    is(body(8180, '/'), '200 rate=1', 'as HAProxy: allowed again');
}
SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file_expand('gp.cfg', "global\n    stats socket %%TESTDIR%%/ha.sock level admin\n"
        . "$defaults\n" . gpc_frontend($t->port(8181)));
    $t->run_haproxy($haproxy, 'gp.cfg', $t->port(8181));
    my @ha = gp_answers(8181, 'ha.sock');
    is_deeply(\@ha, \@gp, 'as HAProxy: the general purpose counters')
        or diag(explain(\@ha));
}

$t->done_testing;

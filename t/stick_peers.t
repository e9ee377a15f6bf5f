#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# A "peers" section with the local peer only: the stick tables naming it
# keep their entries across reloads (counts, general purpose counters,
# rates, expiry), as HAProxy's local peer carries them to the new
# process, and the new workers count on from there; conn_cur starts
# again at 0; a table naming no peers section starts empty, as does one
# whose section is disabled or whose key type changed. The local peer is
# named by "localpeer" or by the host name. Remote peers, unknown
# sections and bad lines are refused with file:line; HAProxy accepts the
# same configuration.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;
use Sys::Hostname;
use Time::HiRes qw(sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);
my $host = hostname();

# The configuration: <local> names the local peer ("localpeer" when set,
# else the host), <peers_extra> goes into the peers section, <key> is the
# key type of table "kept".
sub config {
    my (%o) = @_;
    my $global = $o{global} // "    nbproc 2\n"
        . "    stats socket %%TESTDIR%%/admin.sock level admin\n";
    my $localpeer = defined $o{localpeer} ? "    localpeer $o{localpeer}\n" : '';
    my $local = $o{localpeer} // $host;
    my $extra = $o{peers_extra} // '';
    my $key = $o{key} // 'ip';
    return <<"CFG";
global
$global$localpeer
defaults
    mode http
    timeout connect 2s
    timeout client 3s
    timeout server 10s

peers local
    peer $local 127.0.0.1:%%PORT_8090%%
$extra
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    stick-table type $key size 100 expire 60s store http_req_cnt,gpc0,conn_cur,http_req_rate(30s) peers local
    tcp-request connection track-sc0 src
    http-request sc-inc-gpc0(0) if { path /inc }
    http-request track-sc1 req.hdr(x-k) table other if { req.hdr(x-k) -m found }
    http-request return status 200 content-type text/plain lf-string "cnt=%[sc0_http_req_cnt] gpc0=%[sc0_get_gpc0]"

backend other
    stick-table type string size 10 store http_req_cnt
CFG
}

sub cli { return $t->cli('admin.sock', "$_[0]\n") // '' }
sub entry {
    my ($table) = @_;
    my ($line) = cli("show table $table") =~ /^(0x\S+: key=.*)$/m;
    return $line // '<none>';
}
# The entry once the closed connections are no longer counted (5 s: the
# harness's probes of the port end with the client timeout).
sub settled {
    my ($table) = @_;
    my $line;
    for (1 .. 250) {
        $line = entry($table);
        last if $line =~ / use=0 /;
        sleep 0.02;
    }
    return $line;
}
sub reload {
    my ($cfg) = @_;
    $t->write_file_expand('peers.cfg', $cfg);
    my $mark = $t->log_mark;
    $t->reload;
    my $ok = $t->wait_log(qr/reload done/, mark => $mark)
        && $t->wait_log(qr/(?s:ready, generation \d+.*){2}/, mark => $mark);
    diag("reload failed:\n" . $t->log_since($mark)) unless $ok;
    return $ok;
}

$t->plan(22);

$t->write_file_expand('peers.cfg', config(localpeer => 'me'));
$t->run;
$t->wait_log(qr/(?s:ready, generation 1.*){2}/);
$t->http_get($t->port(8080), '/inc') for 1 .. 3;
$t->http_get($t->port(8080), '/', headers => ['x-k' => 'gone']);
like(settled('fe'), qr/ key=127\.0\.0\.1 use=0 exp=\d+ gpc0=3 conn_cur=0 http_req_cnt=4 http_req_rate\(30000\)=4$/,
    'generation 1 counted');

ok(reload(config(localpeer => 'me')), 'reload');
my $e = entry('fe');
like($e, qr/ key=127\.0\.0\.1 use=0 exp=(\d+) gpc0=3 conn_cur=0 http_req_cnt=4 http_req_rate\(30000\)=4$/,
    'the entry survived the reload, counters and rate');
my ($exp) = $e =~ /exp=(\d+)/;
ok($exp > 50000 && $exp <= 60000, "its expiry carried on ($exp ms left)");
like(cli('show table other'), qr/used:0\n(?!0x)/,
    'a table naming no peers section starts empty');
is($t->http_get($t->port(8080), '/inc')->{body}, 'cnt=5 gpc0=4',
    'the new workers count on from the carried values');

# conn_cur held by a connection across the reload: not carried
my $held = IO::Socket::INET->new('127.0.0.1:' . $t->port(8080));
print $held "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
my $got = '';
sysread($held, $got, 4096);
like(entry('fe'), qr/conn_cur=1 /, 'a connection is counted');
ok(reload(config(localpeer => 'me')), 'reload with a connection open');
like(entry('fe'), qr/gpc0=4 conn_cur=0 http_req_cnt=6 /,
    'conn_cur is not carried: the old workers count it down');
close $held;

# the local peer named after the host
ok(reload(config()), 'reload: the local peer named after the host');
like(entry('fe'), qr/gpc0=4 conn_cur=0 http_req_cnt=6 /,
    'entries carried again');

# a disabled section, then a changed key type: nothing carried
ok(reload(config(peers_extra => "    disabled\n")), 'reload: section disabled');
like(cli('show table fe'), qr/used:0\n(?!0x)/, 'a disabled section carries nothing');
$t->http_get($t->port(8080), '/inc');
ok(reload(config(key => 'string')), 'reload: key type changed');
like(cli('show table fe'), qr/used:0\n(?!0x)/,
    'a table whose key type changed starts empty');

# bad lines
my @bad = (
    [ "a remote peer",
      config(global => '', localpeer => 'me') . "peers two\n    peer me 127.0.0.1:1\n    peer other 127.0.0.2:1\n",
      qr/check\.cfg:25: peers section 'two': peer 'other' is a remote peer \(the local one is 'me'\); remote peers are not supported/ ],
    [ "an unknown peers section",
      config(global => '') =~ s/ peers local$/ peers nope/mr,
      qr/check\.cfg:14: stick-table: unknown peers section 'nope'/ ],
    [ "a peers section without a name",
      "peers\n    peer a 127.0.0.1:1\n",
      qr/check\.cfg:1: 'peers' expects exactly one name/ ],
    [ "two sections of one name",
      "peers p\npeers p\n",
      qr/check\.cfg:2: peers section 'p' has the same name as the one declared at check\.cfg:1/ ],
    [ "a peer without a port",
      "peers p\n    peer a 127.0.0.1\n",
      qr/check\.cfg:2: .*port/ ],
);
for my $b (@bad) {
    my ($rc, $out) = $t->check_config($b->[1]);
    ok($rc != 0 && $out =~ $b->[2], $b->[0]) or diag($out);
}

my ($rc, $out) = $t->check_config("peers empty\n    disabled\n");
ok($rc == 0 && $out =~ /check\.cfg:1: peers section 'empty' has no local peer '\Q$host\E': the tables naming it start empty on a reload/,
    'a section without its local peer: a warning') or diag($out);

SKIP: {
    skip "no haproxy at $haproxy", 1 unless -x $haproxy;
    $t->write_file_expand('ha.cfg', config(global => '', localpeer => 'me'));
    my ($rc, $out) = Test::Luaproxy::run_command($t->testdir, 10, $haproxy,
        '-c', '-f', 'ha.cfg');
    is($rc, 0, 'HAProxy accepts the configuration') or diag($out);
}

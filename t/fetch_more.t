#!/usr/bin/perl
# Sample fetches about the request line, the listener, the client socket,
# the last final rule and the response aliases (pathq, base, baseq, base32, url32 and
# their "+src" forms, so_id, so_name, dst_conn, *_is_local, fc_*, last_rule_*,
# req.proto_http and the "HTTP" ACL, scook, shdr, srv_sess_rate,
# txn.status, uptime), run by HAProxy (Debian's /usr/sbin/haproxy, when
# installed) and by us on one configuration: every deterministic value must
# be the same from both, through real requests.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy qw(syslog_sink syslog_drain syslog_next);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new;
my $have_ha = -x $haproxy;
my %udp = map { $_ => syslog_sink() } qw(lp ha);

# Values of the request, answered by "http-request return".
my @req = (
    'pathq', 'base', 'baseq', 'base32', 'url32', 'base32+src,hex', 'url32+src,hex', 'so_id',
    'so_name', 'req.proto_http', 'req_proto_http', 'dst_conn',
    'dst_is_local', 'src_is_local', 'src', 'fc_src', 'fc_dst', 'fc_dst_port',
    'fc_src_is_local', 'fc_dst_is_local', 'fc_rcvd_proxy',
    'fc_unacked', 'fc_retrans', 'fc_lost', 'last_rule_file', 'last_rule_line',
);
# Values of the response, copied into "X-R-<n>: <name>=<value>".
my @res = (
    'scook(a)', 'scook_cnt', 'res.cook_cnt', 'scook_cnt(a)', 'scook_cnt(b)', 'scook_val(a)', 'shdr(x-a)',
    'shdr(x-a,1)', 'shdr_cnt(x-a)', 'shdr_val(x-n)', 'shdr_ip(x-ip)',
    'bc_src', 'bc_dst', 'bc_dst_port',
);

# Values of "tcp-request content" rules in a TCP frontend, logged.
my @tcp = (
    'req.ssl_ver', 'req_ssl_ver', 'req.rdp_cookie', 'rdp_cookie(mstshash)',
    'req.rdp_cookie(mstshash)', 'req.rdp_cookie_cnt',
    'req.rdp_cookie_cnt(other)', 'req.payload_lv(0,1),hex',
    'req.payload_lv(1,2,5),hex', 'req.payload_lv(0,1,+1),hex',
    'req.payload_lv(0,1,-1),hex', 'req.proto_http', 'req_proto_http',
);

sub config {
    my ($base, $with_new, $who) = @_;
    my $uport = $udp{$who}->sockport;
    my $k = 0;
    my $tcp_rules = join('', map { $k++; "    tcp-request content set-var(txn.v$k) $_\n" } @tcp);
    my $tcp_log = join(' ', map { "v$_=%[var(txn.v$_)]" } 1 .. @tcp)
        . ' acl=%[var(txn.rc)]%[var(txn.rq)] ver=%[var(txn.s1)]%[var(txn.s2)]';
    my $p = $t->port($base);
    my $o = $t->port(8391);
    my $probe = join(' ', map { "$_=%[$_]" } @req);
    my $i = 0;
    my $ress = join('', map { $i++; "    http-response set-header X-R-$i \"$_=%[$_]\"\n" } @res);
    # Not in HAProxy 2.6: only ours answers them.
    # the same line numbers in both files (last_rule_line)
    my ($lua_load, $lua) = ("    # no Lua\n", "    # no Lua\n" x 2);
    if ($with_new) {
        $lua_load = "    lua-load @{[$t->testdir]}/f.lua\n";
        $lua = "    http-request lua.fm if { path /rl }\n"
            . "    http-request return status 200 content-type text/plain lf-string \"%[var(txn.fm)]\" if { path /rl }\n";
    }
    my $new = $with_new ? "    http-response set-header X-New \"%[txn.status] %[uptime] %[bc_src_port] %[srv_sess_rate(s1)] %[srv_sess_rate(bk/s2)] %[fc_rtt(us)] %[fc_rttvar]\"\n" : '';
    return <<"EOF2";
global
    nbthread 1
${lua_load}defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 3s
frontend fe
    bind 127.0.0.1:$p name first id 7
    bind 127.0.0.1:@{[$p + 1]}
    bind 127.0.0.1:@{[$p + 2]} id 2
    bind 127.0.0.1:@{[$p + 5]} accept-proxy
    http-request set-header x-a b
    http-request set-src hdr(x-src) if { hdr(x-src) -m found }
$lua    http-request deny if { path /d }
    http-request allow if { path /a }
    http-request return status 200 content-type text/plain lf-string "$probe\\n" if { path_beg /r } HTTP
    http-after-response set-header X-LR "%[last_rule_file]:%[last_rule_line]"
    default_backend bk
backend bk
    http-request deny if { path /a }
$ress$new    server s1 127.0.0.1:$o
    server s2 127.0.0.1:$o
frontend fz
    bind 127.0.0.1:@{[$p + 4]}
    log 127.0.0.1:$uport local0
    log-format "comp=%[res.comp] algo=%[res.comp_algo]"
    compression algo gzip deflate
    compression type text/plain
    default_backend bk
frontend ft
    mode tcp
    bind 127.0.0.1:@{[$p + 3]}
    log 127.0.0.1:$uport local0
    log-format "$tcp_log"
    tcp-request inspect-delay 100ms
    # the values once every byte is in, for both servers alike
    tcp-request content set-var(txn.w) int(1) if WAIT_END
$tcp_rules    tcp-request content set-var(txn.rc) str(RDP) if RDP_COOKIE
    tcp-request content set-var(txn.rq) str(REQ) if REQ_CONTENT
    tcp-request content set-var(txn.s1) str(TLS1.2) if { req_ssl_ver 3.3 }
    tcp-request content set-var(txn.s2) str(+) if { req.ssl_ver ge 3.1 } { req.ssl_ver 3:3.2 }
    tcp-request content reject
EOF2
}

# The new fetches are txn.f methods, names mangled as HAProxy does.
$t->write_file('f.lua', <<'LUA');
core.register_action("fm", { "http-req" }, function(txn)
  txn:set_var("txn.fm", table.concat({ txn.f:pathq(), txn.f:base32(),
    txn.f:base32_src():len(), txn.f:so_name(), tostring(txn.f:req_proto_http()),
    tostring(txn.f:fc_rtt("us") >= 0) }, " "))
end)
LUA
# the binds are port(base) + 0 to 5
$t->port_block($_, 6) for 8300, 8350;
$t->write_file('lp.cfg', config(8300, 1, 'lp'));
$t->write_file('ha.cfg', config(8350, 0, 'ha'));
$t->config('lp.cfg');
$t->http_origin(8391, sub {
    return [200, ['content-type' => 'text/plain', 'Set-Cookie' => 'a=12; path=/',
        'Set-Cookie' => 'b=x', 'X-A' => 'one, two', 'X-A' => 'three',
        'X-N' => '42', 'X-IP' => '10.0.0.9'], "hi\n"];
});
$t->run;
$t->run_haproxy($haproxy, 'ha.cfg', $t->port(8350)) if $have_ha;

# The body and the headers we compare of one exchange on <port>.
sub exchange {
    my ($port, $raw) = @_;
    my $r = $t->http($port, $raw);
    my @lines = ("status: $r->{status}", split(/ /, $r->{body} // ''));
    push @lines, map { "$_: " . ($r->{headers}{$_} // '(none)') }
        'x-lr', map { "x-r-$_" } 1 .. @res;
    return \@lines;
}

# Sends the same bytes to both (to the <n>th bind); every value must match,
# the config file names aside.
sub same {
    my ($name, $raw, $n) = @_;
    my $lp = exchange($t->port(8300) + ($n // 0), $raw);
    s/[^ :]*lp\.cfg/X.cfg/g for @$lp;
    # the ports differ: compare their place among the binds
    s/^fc_dst_port=(\d+)$/'fc_dst_port=+' . ($1 - $t->port(8300))/e
        for grep { /=(\d+)$/ && $1 >= $t->port(8300) } @$lp;
    SKIP: {
        skip "no haproxy at $haproxy", 1 unless $have_ha;
        my $ha = exchange($t->port(8350) + ($n // 0), $raw);
        s/[^ :]*ha\.cfg/X.cfg/g for @$ha;
        s/^fc_dst_port=(\d+)$/'fc_dst_port=+' . ($1 - $t->port(8350))/e
            for grep { /=(\d+)$/ && $1 >= $t->port(8350) } @$ha;
        is_deeply($lp, $ha, $name) or diag(explain($lp, $ha));
    }
    return join("\n", @$lp);
}

# HAProxy's base32 of "example.com/rl", for the Lua check below (ours
# without HAProxy).
my $rl = "GET /rl?q HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n";
my ($lua_b32) = $have_ha
    ? map { /^base32=(\d+)$/ ? $1 : () } @{ exchange($t->port(8350), $rl) }
    : ('3389216386');
my $v = same('a path with a query', "GET /r/a/b?x=1 HTTP/1.1\r\n"
    . "Host: example.com\r\nConnection: close\r\n\r\n");
like($v, qr/^pathq=\/r\/a\/b\?x=1$/m, 'pathq keeps the query');
like($v, qr/^base32=2766690504$/m, 'base32 hashes the Host and the path');
like($v, qr/^url32=2049038084$/m, 'url32 hashes the Host and the URI');
like($v, qr/^base32\+src,hex=A4E858C87F000001$/m,
    'base32+src: the hash then the address');
like($v, qr/^so_id=7\nso_name=first$/m, 'the listener\'s id and name');
like($v, qr/^req.proto_http=1$/m, 'HTTP is HTTP');
like($v, qr/^fc_src=127.0.0.1$/m, 'fc_src');
like($v, qr/^last_rule_file=$/m, 'no final rule before the return ends');
same('a bare question mark', "GET /r? HTTP/1.1\r\nHost: example.com\r\n"
    . "Connection: close\r\n\r\n");
same('a percent-encoded path', "GET /r/%41 HTTP/1.1\r\nHost: Ex.Com\r\n"
    . "Connection: close\r\n\r\n");
$v = same('HTTP/1.0 without Host on the second bind', "GET /rr HTTP/1.0\r\n\r\n", 1);
like($v, qr/^so_id=3\nso_name=$/m,
    'an unnamed listener: the next free number, no name');
like($v, qr/^fc_dst_port=\+1$/m, 'fc_dst_port');
same('the third bind', "GET /r HTTP/1.0\r\n\r\n", 2);
$v = same('set-src changes src, not fc_src', "GET /r HTTP/1.1\r\nHost: h\r\n"
    . "X-Src: 10.1.1.1\r\nConnection: close\r\n\r\n");
like($v, qr/^src=10.1.1.1\nfc_src=127.0.0.1$/m, 'fc_src keeps the connection\'s');
$v = same('a PROXY header', "PROXY TCP4 10.9.8.7 10.0.0.1 4444 80\r\n"
    . "GET /r HTTP/1.0\r\n\r\n", 5);
like($v, qr/^src=10.9.8.7\nfc_src=127.0.0.1\nfc_dst=127.0.0.1\nfc_dst_port=\+5$/m,
    'fc_* are the socket\'s addresses, not the PROXY header\'s');
like($v, qr/^fc_src_is_local=1\nfc_dst_is_local=1\nfc_rcvd_proxy=1$/m,
    'fc_*_is_local, fc_rcvd_proxy');
$v = same('a deny: the last rule is where', "GET /d HTTP/1.1\r\nHost: h\r\n"
    . "Connection: close\r\n\r\n");
like($v, qr/^x-lr: X.cfg:\d+$/m, 'last_rule_* after a deny');
$v = same('the backend\'s deny after the frontend\'s allow',
    "GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
# the line of the backend's deny: the last "deny if { path /a }"
open(my $cfg, '<', $t->testdir . '/lp.cfg') or die "lp.cfg: $!";
my @lines = <$cfg>;
close $cfg;
my ($deny_line) = (grep { $lines[$_ - 1] =~ /deny if \{ path \/a \}/ } 1 .. @lines)[-1];
like($v, qr/^x-lr: X.cfg:$deny_line$/m, 'the backend rule is the last');
$v = same('response aliases', "GET /x HTTP/1.1\r\nHost: h\r\n"
    . "Connection: close\r\n\r\n");
like($v, qr/^x-r-1: scook\(a\)=12$/m, 'scook reads Set-Cookie');
like($v, qr/^x-r-14: bc_dst_port=@{[$t->port(8391)]}$/m, 'bc_dst_port');
like($v, qr/^x-lr: :$/m, 'no final rule: no last rule');

my $r = $t->http($t->port(8300), "GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
# Values that depend on timing, from us only.
my @new = split / /, $r->{headers}{'x-new'} // '';
is($new[0], '200', 'txn.status');
ok(defined $new[1] && $new[1] >= 0 && $new[1] <= time - $^T, 'uptime');
like($new[2], qr/^\d+$/, 'bc_src_port');
cmp_ok($new[3] + $new[4], '>=', 1, 'srv_sess_rate counts this stream');
like("@new[5, 6]", qr/^\d+ \d+$/, 'fc_rtt, fc_rttvar');

# The line each server logs when $send->(its base port) talks to it:
# both must be the same; returns ours.
sub logged_same {
    my ($name, $send) = @_;
    syslog_drain($udp{$_}) for qw(lp ha);
    $send->($t->port(8300));
    my $lp = syslog_next($udp{lp});
    SKIP: {
        skip "no haproxy at $haproxy", 1 unless $have_ha;
        $send->($t->port(8350));
        is($lp, syslog_next($udp{ha}), $name);
    }
    return $lp;
}

# The values TCP content rules logged for <bytes>.
sub tcp_same {
    my ($name, $bytes) = @_;
    return logged_same($name, sub { $t->raw_request($_[0] + 3, $bytes) });
}

my $z32 = "\0" x 32;
$v = tcp_same('a TLS 1.2 hello in a TLS 1.0 record',
    pack('H*', '1603010029010000250303') . $z32 . "\0\0\0\0");
like($v, qr/ v1=196611 v2=196611 .* ver=TLS1.2-$/,
    'req.ssl_ver: the hello\'s version');
$v = tcp_same('a TLS 1.0 hello in an SSLv3 record',
    pack('H*', '1603000029010000250301') . $z32 . "\0\0\0\0");
like($v, qr/ ver=-\+$/, 'req.ssl_ver: versions as ACL patterns');
tcp_same('an application data record', pack('H*', '170301002901000025030300')
    . $z32 . "\0\0\0");
tcp_same('an SSLv2 record version', pack('H*', '1602000029010000250303')
    . $z32 . "\0\0\0\0");
tcp_same('a record too short for a hello', pack('H*', '160301000601000002030300'));
tcp_same('the smallest record', pack('H*', '1603010007010000030303ff'));
tcp_same('an SSLv2 hello', pack('H*', '802e01030000150000001000') . ("\0" x 37));
my $rdp = pack('H*', '0300002a25e00000000000');
$v = tcp_same('an RDP cookie', $rdp . "Cookie: mstshash=bob\r\n\x01\0\x08\0");
like($v, qr/ v3=bob v4=bob v5=bob v6=1 v7=0 /, 'req.rdp_cookie');
like($v, qr/ acl=RDPREQ /, 'the RDP_COOKIE and REQ_CONTENT ACLs');
tcp_same('an RDP cookie of another name', $rdp . "Cookie: other=1\r\n\x01\0");
tcp_same('an RDP cookie without a name', $rdp . "Cookie: =abc\r\n\x01\0");
tcp_same('an RDP cookie without =', $rdp . "Cookie:  abc\r\n\x01\0");
tcp_same('an RDP cookie with = in its value',
    $rdp . "cookie: mstshash=x=y;z\r\n\x01");
tcp_same('an empty RDP cookie', $rdp . "Cookie: mstshash=\r\n\x01\0");
$v = tcp_same('a length-value block', "\x03ABCDEF");
like($v, qr/ v8=414243 /, 'req.payload_lv');
tcp_same('a short block', "\x09ABCDEF");
$v = tcp_same('an HTTP request', "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
like($v, qr/ v12=1 v13=1 acl=-REQ /, 'req.proto_http in TCP mode');
tcp_same('half an HTTP request', "GET / HTTP/1.1\r\nHost: a\r\n");

# res.comp and res.comp_algo, logged.
sub comp_same {
    my ($name, $ae) = @_;
    my $raw = "GET /z HTTP/1.1\r\nHost: h\r\n$ae\r\n";
    return logged_same($name, sub { $t->http($_[0] + 4, $raw) });
}
like(comp_same('gzip accepted', "Accept-Encoding: gzip\r\nConnection: close\r\n"),
    qr/ comp=1 algo=gzip$/, 'res.comp, res.comp_algo');
like(comp_same('no compression', "Connection: close\r\n"),
    qr/ comp=0 algo=-$/, 'nothing compressed');

is($t->http($t->port(8300), $rl)->{body}, "/rl?q $lua_b32 8 first 1 true",
    'the fetches from Lua');

# Wrong arguments are refused at load, at their line.
$t->rule_errors(
    ['http-request set-var(txn.x) fc_rtt(s)', "expects 'ms' or 'us'"],
    ['http-request set-var(txn.x) srv_sess_rate(bk/)', 'expects [<backend>/]<server>'],
    ['http-request set-var(txn.x) pathq(1)', 'pathq'],
    ['http-request set-var(txn.x) req.payload_lv(0,0)', 'payload length must be > 0'],
    ['http-request set-var(txn.x) req.payload_lv(0,1,x)', 'integer'],
    ['http-request set-var(txn.x) req.payload_lv(a,1)', 'req.payload_lv'],
    ['http-request deny if { req.ssl_ver 3.x }', "'3.x' is not a version"],
);
my ($rc, $out) = $t->check_config("frontend fe\n    mode http\n"
    . "    bind 127.0.0.1:1 id x\n", 'bad.cfg');
ok($rc != 0 && $out =~ /bad\.cfg:3: /, 'a bind id must be a number') or diag($out);
($rc, $out) = $t->check_config("frontend fe\n    mode http\n"
    . "    bind 127.0.0.1:1 id 4\n    bind 127.0.0.1:2 id 4\n", 'bad.cfg');
ok($rc != 0 && $out =~ /bad\.cfg:4: .*custom id 4 already used at .*bad\.cfg:3/,
    'two binds with one id') or diag($out);
$t->done_testing;

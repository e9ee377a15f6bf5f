#!/usr/bin/perl
# Every fetch, converter and ACL matching method of the rules issue that
# the other rule tests do not already cover, through real requests, each
# with the exact value HAProxy gives: connection and proxy names, request
# line parts, internal fetches, string, encoding and arithmetic
# converters, and the ACL methods (-m str/beg/end/sub/dir/dom/reg/len/
# found/bool/int/ip, -i, integer operators and ranges, the derived
# path_beg/path_end/path_reg/hdr_beg/hdr_sub forms), plus the set-pathq
# action and "tcp-request connection accept".
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use IO::Socket::INET;

$ENV{LP_SAMPLE_ENV} = 'from-env';
my $t = Test::Luaproxy->new;

# The ACLs under test: each sets txn.<name> when it matches.
my @acls = (
    [str_yes => '{ req.hdr(x-s) -m str Hello }'],
    [str_no => '{ req.hdr(x-s) -m str hello }'],
    [str_icase => '{ req.hdr(x-s) -i -m str hello }'],
    [beg_yes => '{ path -m beg /f/ }'],
    [beg_no => '{ path -m beg /g/ }'],
    [end_yes => '{ path -m end .txt }'],
    [sub_yes => '{ path -m sub dir }'],
    [dir_yes => '{ path -m dir dir }'],
    [dir_no => '{ path -m dir di }'],
    [dom_yes => '{ req.hdr(host) -m dom example }'],
    [dom_no => '{ req.hdr(host) -m dom exam }'],
    [reg_yes => '{ path -m reg ^/f/[a-z]+/ }'],
    [reg_icase => '{ path -i -m reg ^/F/DIR/ }'],
    [len_yes => '{ req.hdr(x-s) -m len 5 }'],
    [len_no => '{ req.hdr(x-s) -m len 4 }'],
    [found_yes => '{ req.hdr(x-s) -m found }'],
    [found_no => '{ req.hdr(x-none) -m found }'],
    [bool_yes => '{ req.hdr_cnt(x-s) -m bool }'],
    [bool_no => '{ req.hdr_cnt(x-none) -m bool }'],
    [int_yes => '{ req.hdr(x-n) -m int 42 }'],
    [gt_yes => '{ req.hdr(x-n),add(0) gt 41 }'],
    [gt_no => '{ req.hdr(x-n),add(0) gt 42 }'],
    [ge_yes => '{ req.hdr(x-n),add(0) ge 42 }'],
    [lt_yes => '{ req.hdr(x-n),add(0) lt 43 }'],
    [le_no => '{ req.hdr(x-n),add(0) le 41 }'],
    [range_yes => '{ req.hdr(x-n),add(0) 40:45 }'],
    [range_no => '{ req.hdr(x-n),add(0) 43: }'],
    [ip_yes => '{ req.hdr(x-ip) -m ip 10.0.0.0/8 }'],
    [ip_no => '{ req.hdr(x-ip) -m ip 192.168.0.0/16 }'],
    [src_net => '{ src 127.0.0.0/8 }'],
    [path_beg => '{ path_beg /f/dir }'],
    [path_end => '{ path_end file.txt }'],
    [path_reg => '{ path_reg dir/.*\.txt$ }'],
    [hdr_beg => '{ hdr_beg(x-s) He }'],
    [hdr_sub => '{ hdr_sub(x-s) ell }'],
    [always_true => '{ always_true }'],
    [always_false => '{ always_false }'],
);
my $acl_rules = join('', map {
    "    http-request set-var(txn.$_->[0]) int(1) if $_->[1]\n" } @acls);
my $acl_out = join(' ', map { "$_->[0]=%[var(txn.$_->[0])]" } @acls);

$t->write_file_expand('lp.cfg', <<"EOF2");
global
    nbproc 1
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 3s
frontend samples
    bind 127.0.0.1:%%PORT_8080%%
    tcp-request connection accept if { src 127.0.0.1 }
    tcp-request connection reject
    http-request set-var(txn.v) str(abc)
${acl_rules}    http-request return status 200 content-type text/plain lf-string "$acl_out" if { req.hdr(x-acl) -m found }
    http-request set-header X-Src %[src]:%[src_port]
    http-request set-header X-Dst %[dst]:%[dst_port]
    http-request set-header X-Fe %[fe_name]
    http-request set-header X-Ver %[req.ver]
    http-request set-header X-Method %[method]
    http-request set-header X-Url %[url]
    http-request set-header X-Base %[base]
    http-request set-header X-Query %[query]
    http-request set-header X-Env %[env(LP_SAMPLE_ENV)]
    http-request set-header X-Const %[int(42)]/%[str(s)]/%[bool(1)]
    http-request set-header X-Rand %[rand(10)]
    http-request set-header X-Date %[date]
    http-request set-header X-Case %[req.hdr(x-s),lower]/%[req.hdr(x-s),upper]/%[req.hdr(x-s),length]
    http-request set-header X-B64 %[req.hdr(x-s),base64]/%[req.hdr(x-b64),b64dec]/%[req.hdr(x-s),hex]
    http-request set-header X-Urldec %[query,url_dec]
    http-request set-header X-Field %[path,field(3,/)]/%[path,word(2,/)]
    http-request set-header X-Regsub %[path,regsub(/,_,g)]/%[path,regsub(/,_)]
    http-request set-header X-Arith %[int(10),add(5)]/%[int(10),sub(3)]/%[int(10),mul(4)]/%[int(10),div(3)]/%[int(10),mod(3)]
    http-request set-header X-Bool %[int(0),bool]/%[int(5),bool]
    http-request set-header X-Mask %[req.hdr(x-ip),ipmask(24)]
    http-request set-header X-Json %[req.hdr(x-j),json]
    http-request set-header X-Concat %[str(x),concat(-,txn.v,+)]
    http-request set-header X-Strcmp %[str(abc),strcmp(txn.v)]/%[str(abd),strcmp(txn.v)]
    http-request set-header X-Setvar %[str(kept),set-var(txn.sv)]/%[var(txn.sv)]
    http-request set-pathq /rewritten?q=1 if { path /pathq }
    default_backend be1
    http-response set-header X-Be %[be_name]
    http-response set-header X-Srv %[srv_name]
backend be1
    server s1 127.0.0.1:%%PORT_8091%%
frontend urlport
    bind 127.0.0.1:%%PORT_8082%%
    http-request return status 200 content-type text/plain lf-string "%[url_port]"
frontend refused
    bind 127.0.0.1:%%PORT_8081%%
    tcp-request connection accept if { src 10.0.0.0/8 }
    tcp-request connection reject
    http-request return status 200
EOF2

# The origin echoes the request line and every header it received.
$t->http_origin(8091, sub {
    my ($req) = @_;
    return [200, ['content-type' => 'text/plain'], "$req->{method} $req->{uri}\n"
        . join('', map { "$_->[0]: $_->[1]\n" } @{ $req->{header_list} })];
});
$t->run;
my $port = $t->port(8080);
$t->plan(36 + @acls);

# A request on a socket of ours, so that its source port is known.
my $c = IO::Socket::INET->new("127.0.0.1:$port") or die "connect: $!";
my $cport = $c->sockport;
print $c "GET /f/dir/file.txt?a%20b=c%2Fd HTTP/1.1\r\nHost: www.example.com\r\n"
    . "X-S: Hello\r\nX-B64: aGk=\r\nX-IP: 10.1.2.3\r\nX-J: a\"b\\c\r\n"
    . "Connection: close\r\n\r\n";
my $resp = join('', <$c>);
close $c;
my ($head, $body) = split /\r\n\r\n/, $resp, 2;
my %h;
for (split /\n/, $body // '') {
    $h{ lc $1 } = $2 if /^([^:]+):\s*(.*?)\s*$/;
}

is($h{'x-src'} // '<none>', "127.0.0.1:$cport", 'src, src_port: the client');
is($h{'x-dst'} // '<none>', "127.0.0.1:$port", 'dst, dst_port: the frontend address');
is($h{'x-fe'}, 'samples', 'fe_name');
like($head, qr/^X-Be: be1\r?$/mi, 'be_name, in a response rule');
like($head, qr/^X-Srv: s1\r?$/mi, 'srv_name, in a response rule');
is($h{'x-ver'}, '1.1', 'req.ver');
is($h{'x-method'}, 'GET', 'method');
is($h{'x-url'}, '/f/dir/file.txt?a%20b=c%2Fd', 'url');
is($h{'x-base'}, 'www.example.com/f/dir/file.txt', 'base: host and path');
is($h{'x-query'}, 'a%20b=c%2Fd', 'query');
is($h{'x-env'}, 'from-env', 'env()');
is($h{'x-const'}, '42/s/1', 'int(), str(), bool()');
like($h{'x-rand'}, qr/^\d$/, 'rand(10) is below 10');
cmp_ok(abs(($h{'x-date'} // 0) - time), '<', 5, 'date: now, in seconds');
is($h{'x-case'}, 'hello/HELLO/5', 'lower, upper, length');
is($h{'x-b64'}, 'SGVsbG8=/hi/48656C6C6F',
    'base64, b64dec, hex; set-header reads the header it replaces');
is($h{'x-urldec'}, 'a b=c/d', 'url_dec');
is($h{'x-field'}, 'dir/dir', 'field(3,/) counts the empty first field, word(2,/) does not');
is($h{'x-regsub'}, '_f_dir_file.txt/_f/dir/file.txt', 'regsub, global and once');
is($h{'x-arith'}, '15/7/40/3/1', 'add, sub, mul, div, mod');
is($h{'x-bool'}, '0/1', 'bool');
is($h{'x-mask'}, '10.1.2.0', 'ipmask(24)');
is($h{'x-json'}, 'a\"b\\\\c', 'json escapes quotes and backslashes');
is($h{'x-concat'}, 'x-abc+', 'concat(prefix,var,suffix)');
is($h{'x-strcmp'}, '0/1', 'strcmp: 0 when equal, positive when greater');
is($h{'x-setvar'}, 'kept/kept', 'set-var converter passes its input on');

my $r = $t->http_get($port, '/pathq?x=y');
like($r->{body}, qr{^GET /rewritten\?q=1\n}, 'set-pathq replaces path and query');
$r = $t->http_get($port, '/f/');
like($r->{body}, qr{^GET /f/\n}, 'an unmatched set-pathq leaves the request alone');

# ACL methods: a matching and a failing case of each
$r = $t->http_get($port, '/f/dir/file.txt', headers => ['Host' => 'www.example.com',
    'X-Acl' => '1', 'X-S' => 'Hello', 'X-N' => '42', 'X-IP' => '10.9.8.7']);
my %m = map { /^(\w+)=(.*)$/ ? ($1 => $2) : () } split / /, $r->{body};
for my $a (@acls) {
    my $want = $a->[0] =~ /_no$|^always_false$/ ? '' : '1';
    is($m{ $a->[0] } // '<none>', $want, "ACL $a->[1]");
}
$r = $t->http_get($port, '/', headers => ['X-Acl' => '1', 'X-N' => 'x42']);
%m = map { /^(\w+)=(.*)$/ ? ($1 => $2) : () } split / /, $r->{body};
is($m{int_yes}, '', '-m int: a non-number never matches');
is($m{found_yes}, '', '-m found: an absent header');
is($m{gt_yes}, '', 'an integer operator on a failed conversion is false');

# url_port of an absolute URI wraps as HAProxy's (measured: 99999 gives
# 34463, 9223372036854775808 gives 0)
for my $c (['99999', 34463], ['9223372036854775808', 0]) {
    my $x = $t->http($t->port(8082), "GET http://1.2.3.4:$c->[0]/ HTTP/1.1\r\n"
        . "Host: 1.2.3.4:$c->[0]\r\nConnection: close\r\n\r\n");
    is($x->{body}, $c->[1], "url_port of :$c->[0]");
}

# tcp-request connection accept stops the connection rules
is($t->http_get($port, '/accept')->{status}, 200,
    'tcp-request connection accept: the reject after it is not reached');
ok(!$t->http_get($t->port(8081), '/')->{status},
    'without a matching accept the reject closes the connection');
is($t->http_get($port, '/')->{status}, 200, 'still serving');

#!/usr/bin/perl
# Map files through real requests: each map_* converter picks the entry
# its index should (exact, longest prefix, first list match, longest
# network; map_regm fills in the groups), defaults apply on a miss, typed
# outputs feed other converters and ACLs, and bad map files are load
# errors naming the file and line.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new;
$t->write_file('hosts.map', <<'EOF2');
# host to backend tag
example.com       ex
www.example.com   www
EOF2
$t->write_file('paths.map', <<'EOF2');
/api        api
/api/v2/    api-v2
/           root
EOF2
$t->write_file('dom.map', "example.org dom\n");
$t->write_file('end.map', ".png image\n.js script\n");
$t->write_file('sub.map', "admin has-admin\n");
$t->write_file('dir.map', "img dir-img\n");
$t->write_file('reg.map', "^/u/[0-9]+\$ numeric-user\n^/u/ other-user\n");
$t->write_file('regm.map',
    "^/u/([0-9]+)\$ id=\\1\n^/(u)/(.*)\$ \\2\@\\1 \\\\ \\x41 [\\3]\n");
$t->write_file('int.map', "200:299 2xx\n404 not-found\n");
$t->write_file('rate.map', "gold 100\nsilver 10\n");
$t->write_file('nets.map', <<'EOF2');
127.0.0.0/8   loopback
127.0.0.1     exact-host
10.0.0.0/8    private
EOF2
$t->write_file('ips.map', "a 192.0.2.7\n");
$t->write_file('deny.lst', "/blocked\n/forbidden\n");
$t->write_file_expand('lp.cfg', <<'EOF2');
global
    nbproc 1
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 3s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    http-request deny if { path -f %%TESTDIR%%/deny.lst }
    http-request set-header X-Host %[req.hdr(host),lower,map(%%TESTDIR%%/hosts.map,nohost)]
    http-request set-header X-Beg %[path,map_beg(%%TESTDIR%%/paths.map)]
    http-request set-header X-Dom %[req.hdr(host),map_dom(%%TESTDIR%%/dom.map,nodom)]
    http-request set-header X-End %[path,map_end(%%TESTDIR%%/end.map,noend)]
    http-request set-header X-Sub %[path,map_sub(%%TESTDIR%%/sub.map,nosub)]
    http-request set-header X-Dir %[path,map_dir(%%TESTDIR%%/dir.map,nodir)]
    http-request set-header X-Reg %[path,map_reg(%%TESTDIR%%/reg.map,noreg)]
    http-request set-header X-Regm %[path,map_regm(%%TESTDIR%%/regm.map,noregm)]
    http-request set-header X-Int %[req.hdr(x-code),map_int(%%TESTDIR%%/int.map,noint)]
    http-request set-header X-Rate %[req.hdr(x-plan),map_str_int(%%TESTDIR%%/rate.map,1),mul(2)]
    http-request set-header X-Net %[src,map_ip(%%TESTDIR%%/nets.map,nonet)]
    http-request set-header X-Xff-Net %[req.hdr(x-ip),map_ip(%%TESTDIR%%/nets.map,nonet)]
    http-request set-header X-Ip %[req.hdr(x-k),map_str_ip(%%TESTDIR%%/ips.map,0.0.0.0),ipmask(24)]
    http-request return status 200 content-type text/plain string api-hit if { path,map_beg(%%TESTDIR%%/paths.map) -m str api-v2 }
    default_backend origin
backend origin
    server o1 127.0.0.1:%%PORT_8091%%
EOF2

$t->http_origin(8091, sub {
    my ($req) = @_;
    my $body = join('', map { "$_->[0]: $_->[1]\n" } @{ $req->{header_list} });
    return [200, ['content-type' => 'text/plain'], $body];
});
$t->run;
my $port = $t->port(8080);
$t->plan(27);

my $r = $t->http_get($port, '/api/users', headers => ['Host' => 'WWW.Example.COM']);
like($r->{body}, qr/^X-Host: www$/mi, 'map: exact key after lower');
like($r->{body}, qr/^X-Beg: api$/mi, 'map_beg: /api is the longest prefix');
like($r->{body}, qr/^X-Dom: nodom$/mi, 'map_dom: default on a miss');
$r = $t->http_get($port, '/api/v2/x.png', headers => ['Host' => 'a.example.org:80']);
is($r->{body}, 'api-hit', 'map_beg in an ACL: /api/v2/ beats /api');
$r = $t->http_get($port, '/img/admin/x.png', headers => ['Host' => 'a.example.org:80']);
like($r->{body}, qr/^X-Host: nohost$/mi, 'map: default on a miss');
like($r->{body}, qr/^X-Beg: root$/mi, 'map_beg: falls back to /');
like($r->{body}, qr/^X-Dom: dom$/mi, 'map_dom: domain word between dots');
like($r->{body}, qr/^X-End: image$/mi, 'map_end');
like($r->{body}, qr/^X-Sub: has-admin$/mi, 'map_sub');
like($r->{body}, qr/^X-Dir: dir-img$/mi, 'map_dir');
like($r->{body}, qr/^X-Regm: noregm$/mi, 'map_regm: default on a miss');
$r = $t->http_get($port, '/u/42', headers => ['X-Code' => '204', 'X-Plan' => 'gold']);
like($r->{body}, qr/^X-Reg: numeric-user$/mi, 'map_reg: first matching regex');
like($r->{body}, qr/^X-Regm: id=42$/mi, 'map_regm: value with the group captured');
like($r->{body}, qr/^X-Int: 2xx$/mi, 'map_int: range key');
like($r->{body}, qr/^X-Rate: 200$/mi, 'map_str_int: integer output usable by mul');
like($r->{body}, qr/^X-Net: exact-host$/mi, 'map_ip: /32 beats /8 for src');
$r = $t->http_get($port, '/u/bob', headers => ['X-Code' => '404', 'X-Plan' => 'none',
    'X-Ip' => '10.1.2.3', 'X-K' => 'a']);
like($r->{body}, qr/^X-Reg: other-user$/mi, 'map_reg: second regex');
like($r->{body}, qr/^X-Regm: bob\@u \\ A \[\]$/mi,
    'map_regm: groups reordered, escaped backslash, hex byte, absent group empty');
like($r->{body}, qr/^X-Int: not-found$/mi, 'map_int: exact integer');
like($r->{body}, qr/^X-Rate: 2$/mi, 'map_str_int: integer default');
like($r->{body}, qr/^X-Xff-Net: private$/mi, 'map_ip on a string sample');
like($r->{body}, qr/^X-Ip: 192\.0\.2\.0$/mi, 'map_str_ip: address output feeds ipmask');
is($t->http_get($port, '/blocked')->{status}, 403, 'ACL -f pattern file');

# load errors: the bad line of the map file, a missing file
my $bad = $t->write_file('bad.map', "a 1\nb two\n");
my $cfg = $t->write_file_expand('bad.cfg', <<'EOF2');
defaults
    mode http
frontend fe
    bind 127.0.0.1:%%PORT_8085%%
    http-request set-header X-V %[str(a),map_str_int(%%TESTDIR%%/bad.map)]
    http-request set-header X-W %[str(a),map(%%TESTDIR%%/missing.map)]
EOF2
my ($rc, $out) = $t->run_cmd('-c', '-f', $cfg);
isnt($rc, 0, 'bad maps: -c fails');
like($out, qr/bad\.cfg:5: .*'two' is not a valid integer value at line 2 of file '\Q$bad\E'/,
    'bad value: config file:line and map file:line');
like($out, qr/bad\.cfg:6: .*failed to open pattern file <[^>]*missing\.map>/,
    'missing map file named with the config line');
is($t->http_get($port, '/api')->{status}, 200, 'still serving');

#!/usr/bin/perl
# The hash, date and encoding converters through real requests: the
# request body is the input of each expression, returned by "http-request
# return ... lf-string". First exact values (HAProxy 2.6's, recorded), then,
# when Debian's /usr/sbin/haproxy is installed, the same configuration run
# by both and compared expression by expression on awkward inputs
# (json_query on malformed, deep and oddly escaped JSON among them).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use MIME::Base64 ();

# ltime must not depend on the machine: a POSIX zone needs no tzdata.
$ENV{TZ} = 'XST-5:30';

my $t = Test::Luaproxy->new;
my $all_bytes = join '', map { chr } 0 .. 255;

# [expression, body, the value HAProxy 2.6 returns]
my @exact = (
    ['req.body,crc32', 'hello', '907060870'],
    ['req.body,crc32(1)', 'hello', '3902247103'],
    ['req.body,djb2', 'hello', '261238937'],
    ['req.body,djb2(1)', 'hello', '1119739105'],
    ['req.body,sdbm', 'hello', '684824882'],
    ['req.body,sdbm(1)', 'hello', '2061535398'],
    ['req.body,wt6', 'hello', '3538347703'],
    ['req.body,wt6(1)', 'hello', '140457739'],
    ['req.body,wt6', $all_bytes, '4090277559'],
    ['req.body,xxh32', 'hello', '4211111929'],
    ['req.body,xxh32(7)', 'hello', '2401278968'],
    ['req.body,xxh32', $all_bytes, '1497633363'],
    ['req.body,xxh64', 'hello', '2794345569481354659'],
    ['req.body,xxh64(7)', 'hello', '-3230996971225133522'],
    ['req.body,xxh64', $all_bytes, '2282408585429094475'],
    ['req.body,sha1,hex', 'hello', 'AAF4C61DDCC5E8A2DABEDE0F3B482CD9AEA9434D'],
    ['req.body,sha2,hex', 'hello',
        '2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824'],
    ['req.body,sha2(224),hex', 'abc',
        '23097D223405D8228642A477BDA255B32AADBCE4BDA0B3F7E36C9DA7'],
    ['req.body,digest(md5),hex', 'hello', '5D41402ABC4B2A76B9719D911017C592'],
    ['req.body,hmac(sha256,txn.key),hex', 'hello',
        '88AAB3EDE8D3ADF94D26AB90D3BAFD4A2083070C3BCCE9C014EE04A443847C0B'],
    ['req.body,hmac(sha256,txn.badkey),hex', 'hello', ''],
    ['req.body,lower,ltime(%Y-%m-%dT%H:%M:%S)', '1700000000', '2023-11-15T03:43:20'],
    ['req.body,lower,utime(%Y-%m-%dT%H:%M:%S,3600)', '1700000000',
        '2023-11-14T23:13:20'],
    ['req.body,lower,http_date', '1700000000', 'Tue, 14 Nov 2023 22:13:20 GMT'],
    ['req.body,lower,http_date(10)', '1700000000', 'Tue, 14 Nov 2023 22:13:30 GMT'],
    ['req.body,lower,http_date(0,ms)', '1700000000123',
        'Tue, 14 Nov 2023 22:13:20.123 GMT'],
    ['req.body,lower,http_date(0,us)', '1700000000123456',
        'Tue, 14 Nov 2023 22:13:20.123456 GMT'],
    ['req.body,lower,http_date(0,ms)', '1700000000005',
        'Tue, 14 Nov 2023 22:13:20.5 GMT'],
    ['req.body,lower,http_date(0,ms)', '-5', 'Thu, 01 Jan 1970 00:00:00.-5 GMT'],
    ['req.body,lower,http_date', '-1', 'Sun, 13 Jun 1141709097 06:26:07 GMT'],
    ['req.body,lower,ltime(%s)', '-1', '36028797018963967'],
    ['req.body,url_enc', "a b&c=d/\xc3\xa9?~-._", 'a%20b%26c%3Dd%2F%C3%A9%3F~-._'],
    ['req.body,ub64enc', 'hello??>', 'aGVsbG8_Pz4'],
    ['req.body,ub64dec,hex', 'aGVsbG8_Pz4', '68656C6C6F3F3F3E'],
    ['req.body,ub64dec,hex', 'aGVsbG8_Pz4=', '68656C6C6F3F3F3E3F'],
    ['req.body,ub64dec,hex', 'abcde', ''],
    ['req.body,be2dec(-,3)', "\x01\x02\x03\x04\x05", '66051-1029'],
    ['req.body,be2dec(-,3,1)', "\x01\x02\x03\x04\x05", '66051'],
    ['req.body,be2dec(:,8)', "\xff" x 8, '18446744073709551615'],
    ['req.body,be2hex', 'abcd', '61626364'],
    ['req.body,be2hex(:,3)', 'abcd', '616263:64'],
    ['req.body,be2hex(:,3,1)', 'abcd', '616263'],
    ['req.body,host_only', 'WWW.Example.COM:8080', 'www.example.com'],
    ['req.body,host_only', '[::1]:80', '[::1]'],
    ['req.body,host_only', '[::1]', '[::1]'],
    ['req.body,port_only', '[::1]:80', '80'],
    ['req.body,port_only', 'example.com', '0'],
    ['req.body,port_only', 'a:12x', '192'],
    ['req.body,port_only', 'a:-5', '4294967271'],
    ['req.body,cut_crlf', "line1\r\nline2", 'line1'],
    ['req.body,crc32c', 'hello', '2591144780'],
    ['req.body,crc32c(1)', 'hello', '2290590055'],
    ['req.body,hex2i', 'ffffffffffffffffff', '-1'],
    ['req.body,hex2i', '12g', ''],
    ['req.body,lower,htonl,hex', '4294967297', '00000001'],
    ['req.body,secure_memcmp(txn.key)', 'c2VjcmV0', '1'],
    ['req.body,secure_memcmp(txn.key)', 'c2VjcmV1', '0'],
    ['req.body,add_item(-,txn.key,z)', 'a', 'a-c2VjcmV0z'],
    ['req.body,add_item(-,txn.none,z)', '', 'z'],
    ['req.body,add_item(-,txn.none)', 'a', 'a'],
    ["req.body,json_query('\\\$.a.b[1]')", '{"a":{"b":[1,2.5e1,3]}}', '25'],
    ["req.body,json_query('\\\$.a.b[1]','int')", '{"a":{"b":[1,"x",3]}}', 'x'],
    ["req.body,json_query('\\\$.a','int')", '{"a":010}', '8'],
    ["req.body,json_query('\\\$.a'),hex", '{"a":"q\\"\\u00e9\\n"}', '7122E90A'],
    ["req.body,json_query('\\\$.a')", '{"a":"\\u20ac"}', ''],
    ["req.body,json_query('\\\$.a'),hex", "{\"a\":\"\\u00\x10\x11\"}", ''],
    ["req.body,json_query('\\\$.a')", '{"a":[1]}', ''],
    ["req.body,json_query('\\\$.a')", '{"a":true} trailing', '1'],
    ["req.body,jwt_payload_query('\\\$.n','int')",
        'eyJhbGciOiJIUzI1NiJ9.eyJuIjo0Mn0.c2ln', '42'],
    ["req.body,jwt_header_query('\\\$.alg')",
        'eyJhbGciOiJIUzI1NiJ9.eyJuIjo0Mn0.c2ln', 'HS256'],
);

# Expressions compared with HAProxy's, on every input below.
my @compared = split ' ', <<'EOF2';
    crc32 crc32(1) djb2 djb2(1) sdbm sdbm(1) wt6 wt6(1) xxh32 xxh32(-9)
    xxh64 xxh64(123456789012) sha1,hex sha2,hex sha2(224),hex sha2(384),hex
    sha2(512),hex digest(md5),hex digest(sha512-256),hex
    hmac(sha256,txn.key),hex hmac(sha1,txn.badkey),hex ub64enc ub64dec,hex
    url_enc url_enc(query) be2dec(-,3) be2dec(:,8) be2dec(,2,1) be2hex
    be2hex(:,3) be2hex(-,3,1) be2hex(,5) host_only port_only cut_crlf,hex
    lower,ltime(%Y-%m-%dT%H:%M:%S) lower,utime(%s|%j|%U|%w|%y|%e,-3600)
    lower,http_date lower,http_date(-5) lower,http_date(1000,ms)
    lower,http_date(0,us) crc32c crc32c(1) hex2i lower,htonl,hex
    secure_memcmp(txn.key) secure_memcmp(txn.none) add_item(-,txn.key)
    add_item(,txn.none,z) add_item(;,txn.key,z)
EOF2
# json_query: paths compared on the JSON inputs below.
my @json_paths = map { "json_query('\\\$$_')" } ('.a', '.a.b', '[1][0]', '.a[2]');
push @json_paths, map { "$_,hex" } @json_paths;
push @json_paths, "json_query('\\\$.a','int')", "json_query('\\\$.a.b','int')";
my @json_inputs = ('{"a":1,"b":tru}', '{"b":tru,"a":1}', '{"a":1', '{"a":"x" !',
    '[1,[2,3]]', ' {"a" : [ 1 , 2 ,-3.5e2] } ', '{"a":010}', '{"a":-0012}',
    '{"a":1.}', '{"a":.5}', '{"a":"\\u00e9\\u0000z"}', '{"a\\"b":1,"a":"\\/"}',
    '{"a":"\\u20ac"}', '{"a":true,"b":false}', '{"a":1e400}', '{"a":null}',
    '{"a":9007199254740991}', '{"a":-9007199254740992}', '{"a":{"b":"\\t\\"\\\\"}}',
    '{"a":{"b":0.1,"b":2}}', '{"x":{"a":1},"a":[0,{},[]]}', '{"a":"unterminated',
    '{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":'
        . '{"a":{"a":{"a":{"a":{"a":{"a":{"a":1}}}}}}}}}}}}}}}}}}}}}');
my @inputs = ('', 'hello', '1700000000', '-1', '1700000000123456',
    '99999999999999999999', 'WWW.Example.COM:8080', '[2001:db8::1]:443',
    '[::1]', 'a:b:c', 'host:12x', ':80', 'aGVsbG8_Pz4=', 'a===', 'a.b',
    "a b&c=d/\xc3\xa9?~", "line1\r\nline2", "\nx",
    substr($all_bytes, 1), join('', 0 .. 99));

# JWT queries: base64url JSON parts, some broken.
my $b64url = sub {
    (my $s = MIME::Base64::encode_base64($_[0], '')) =~ tr{+/=}{-_}d;
    return $s;
};
my ($jh, $jp) = map { $b64url->($_) } '{"alg":"HS256","typ":"JWT"}',
    '{"sub":"1234","n":42,"a":{"b":[true,"\\u00e9"]}}';
my @jwt_exprs = ((map { "jwt_header_query('\\\$$_')" } '.alg', '.typ', '.none'),
    (map { "jwt_payload_query('\\\$$_')" } '.sub', '.a.b[0]', '.a.b[1]'),
    "jwt_payload_query('\\\$.a.b[1]'),hex", "jwt_payload_query('\\\$.n','int')",
    'jwt_header_query');
my @jwt_inputs = ("$jh.$jp.sig", "$jh.$jp", $jh, "$jh.$jp.s.x", "!!.$jp.x",
    "$jh..x", ".$jp.x", '.', 'a.b.c', "$jh=.$jp=", "$jh.${jp}A");

# [expressions, inputs] compared with HAProxy's, each on each.
my @groups = ([\@compared, \@inputs], [\@json_paths, \@json_inputs],
    [\@jwt_exprs, \@jwt_inputs]);

my %seen;
my @exprs = grep { !$seen{$_}++ } (map { $_->[0] } @exact),
    map { "req.body,$_" } map { @{ $_->[0] } } @groups;
my %path = map { $exprs[$_] => "/$_" } 0 .. $#exprs;

# The same configuration for both servers, on the port of <base>.
sub config {
    my ($port) = @_;
    my $rules = join '', map {
        "    http-request return status 200 content-type text/plain "
            . "lf-string \"[%[$exprs[$_]]]\" if { path /$_ }\n"
    } 0 .. $#exprs;
    return <<"EOF2";
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 3s
frontend conv
    bind 127.0.0.1:$port
    option http-buffer-request
    http-request set-var(txn.key) str(c2VjcmV0)
    http-request set-var(txn.badkey) str(c2Vj\@mV0)
${rules}    http-request return status 404
EOF2
}

# The value <expr> gives for <body> on <port>; '<no response>' if none.
sub value {
    my ($port, $expr, $body) = @_;
    my $r = $t->http_get($port, $path{$expr}, method => 'POST',
        body => $body);
    return ($r->{status} // 0) == 200 && $r->{body} =~ /\A\[(.*)\]\z/s
        ? $1 : '<no response>';
}

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $compare = -x $haproxy;
$t->write_file('lp.cfg', config($t->port(8080)));
$t->write_file('ha.cfg', config($t->port(8081)));
$t->run;
$t->run_haproxy($haproxy, 'ha.cfg', $t->port(8081)) if $compare;

# <in> printable and short, for test names.
sub shown {
    (my $s = $_[0]) =~ s/([^\x21-\x7e])/sprintf('\\x%02x', ord $1)/ge;
    return length $s > 23 ? substr($s, 0, 20) . '...' : $s;
}

for my $e (@exact) {
    is(value($t->port(8080), $e->[0], $e->[1]), $e->[2],
        "$e->[0] on '" . shown($e->[1]) . "'");
}

SKIP: {
    my $n = 0;
    $n += @{ $_->[0] } * @{ $_->[1] } for @groups;
    skip("no haproxy at $haproxy", $n) unless $compare;
    for my $g (@groups) {
        for my $in (@{ $g->[1] }) {
            my $shown = shown($in);
            for my $c (@{ $g->[0] }) {
                my $expr = "req.body,$c";
                is(value($t->port(8080), $expr, $in),
                    value($t->port(8081), $expr, $in), "$expr on '$shown'");
            }
        }
    }
}

is($t->http_get($t->port(8080), '/')->{status}, 404, 'still serving');
$t->done_testing;

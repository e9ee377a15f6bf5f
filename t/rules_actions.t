#!/usr/bin/perl
# Actions through real requests: deny with a described reply, return with
# headers, http-response set-status with and without a reason,
# normalize-uri (each normalizer changes what the origin receives),
# set-log-level and capture accepted, monitor-uri answering HAProxy's page
# before any rule, and the seed's verified-request rule with a variable
# set true, false or not at all.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new;
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
    http-request deny if { path /monitor }
    capture request header Host len 5
    capture request header User-Agent len 64
    capture response header Server len 10
    monitor-uri /monitor
    http-request set-log-level silent if { path /quiet }
    http-request deny deny_status 429 content-type text/plain string "slow down" hdr Retry-After 7 if { path /limited }
    http-request deny deny_status 418 if { path /teapot }
    http-request return status 201 content-type application/json string "{}" hdr X-One 1 hdr X-Two 2 if { path /made }
    http-request normalize-uri path-merge-slashes if { req.hdr(x-norm) -m str slashes }
    http-request normalize-uri path-strip-dot if { req.hdr(x-norm) -m str dot }
    http-request normalize-uri path-strip-dotdot if { req.hdr(x-norm) -m str dotdot }
    http-request normalize-uri path-strip-dotdot full if { req.hdr(x-norm) -m str dotdot-full }
    http-request normalize-uri percent-to-uppercase if { req.hdr(x-norm) -m str pct }
    http-request normalize-uri percent-to-uppercase strict if { req.hdr(x-norm) -m str pct-strict }
    http-request normalize-uri query-sort-by-name if { req.hdr(x-norm) -m str qsort }
    default_backend origin
    http-response set-status 299 if { path /st }
    http-response set-status 202 reason "Taken Care Of" if { path /st-reason }
frontend seed
    bind 127.0.0.1:%%PORT_8081%%
    http-request set-var(txn.request_verified) bool(true) if { req.hdr(x-verify) -m str yes }
    http-request set-var(txn.request_verified) bool(false) if { req.hdr(x-verify) -m str no }
    http-request deny if !{ var(txn.request_verified) -m bool }
    default_backend origin
backend origin
    server o1 127.0.0.1:%%PORT_8091%%
EOF2

$t->http_origin(8091, sub {
    my ($req) = @_;
    return [200, ['content-type' => 'text/plain', 'Server' => 'origin'],
        "$req->{method} $req->{uri}\n"];
});
$t->run;
my $port = $t->port(8080);
$t->plan(32);

my $r = $t->http_get($port, '/monitor');
is($r->{status}, 200, 'monitor-uri: 200 even though a deny rule comes first');
is($r->{body}, "<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n",
    'monitor-uri: HAProxy page');
is($r->{headers}{'content-type'}, 'text/html', 'monitor-uri: content-type');
is($r->{headers}{connection}, 'close', 'monitor-uri: connection closed');
is($t->http_get($port, '/monitor?x=1')->{status}, 403,
    'monitor-uri: exact URI only, the deny rule then applies');

$r = $t->http_get($port, '/limited');
is($r->{status}, 429, 'deny deny_status with a reply');
is($r->{body}, 'slow down', 'deny string');
is($r->{headers}{'content-type'}, 'text/plain', 'deny content-type');
is($r->{headers}{'retry-after'}, '7', 'deny hdr');
$r = $t->http_get($port, '/teapot');
is($r->{status}, 418, 'plain deny_status');
like($r->{body}, qr/418/, 'plain deny: built-in page');

$r = $t->http_get($port, '/made');
is($r->{status}, 201, 'return status');
is($r->{body}, '{}', 'return string');
is($r->{headers}{'x-one'} . $r->{headers}{'x-two'}, '12', 'return hdr twice');

$r = $t->http_get($port, '/st');
is($r->{status}, 299, 'http-response set-status');
$r = $t->http_get($port, '/st-reason');
is($r->{status}, 202, 'set-status with reason: code');
is($r->{reason}, 'Taken Care Of', 'set-status reason');
like($t->http_get($port, '/st')->{raw} // '', qr{^HTTP/1\.1 299 }, 'status line rewritten');

# normalize-uri: what the origin receives
sub norm { my ($how, $uri) = @_;
    my $b = $t->http_get($port, $uri, headers => ['X-Norm' => $how])->{body} // '';
    $b =~ s/^GET //; chomp $b; return $b; }
is(norm('slashes', '//a///b//?q=//x'), '/a/b/?q=//x', 'path-merge-slashes: path only');
is(norm('dot', '/./a/./b/.'), '/a/b/', 'path-strip-dot');
is(norm('dot', '/.well-known/x'), '/.well-known/x', 'path-strip-dot keeps dot names');
is(norm('dotdot', '/a/b/../c/'), '/a/c/', 'path-strip-dotdot');
is(norm('dotdot', '/../a/../../b'), '/../../b', 'path-strip-dotdot keeps leading ones');
is(norm('dotdot-full', '/../a/../../b'), '/b', 'path-strip-dotdot full');
is(norm('dotdot', '/a/b/..'), '/a/', 'path-strip-dotdot: final /..');
is(norm('pct', '/a%2fb?x=%c3%a9&y=%zz'), '/a%2Fb?x=%C3%A9&y=%zz', 'percent-to-uppercase');
is($t->http_get($port, '/a%zz', headers => ['X-Norm' => 'pct-strict'])->{status}, 400,
    'percent-to-uppercase strict: 400 on a bad escape');
is(norm('qsort', '/s?b=2&a=1&ab=0&a=0'), '/s?a=1&a=0&ab=0&b=2', 'query-sort-by-name, stable');

is($t->http_get($port, '/quiet')->{status}, 200, 'set-log-level silent accepted');

my $s = $t->port(8081);
is($t->http_get($s, '/', headers => ['X-Verify' => 'yes'])->{status}, 200,
    'seed: var true passes');
is($t->http_get($s, '/', headers => ['X-Verify' => 'no'])->{status}, 403,
    'seed: var false is denied');
is($t->http_get($s, '/')->{status}, 403, 'seed: unset var is denied');

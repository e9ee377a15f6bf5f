#!/usr/bin/perl
# The HTTP cache ("cache" sections, http-request cache-use, http-response
# cache-store, res.cache_hit, res.cache_name, "show cache"): a counting
# origin shows that hits are not forwarded and that what HAProxy 2.6 does
# not store (no-store, private, no lifetime, too large, not 200, Vary)
# always reaches it; max-age expires; HEAD and conditional requests are
# answered from a GET's entry; two workers share the entries; the same
# script gives the same answers through HAProxy; bad lines are file:line
# errors.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy qw(syslog_sink syslog_line);
use Time::HiRes qw(sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);
my %udp = map { $_ => syslog_sink() } qw(lp ha);

# The origin: each answer carries how many times its path was asked.
my %seen;
my $origin = sub {
    my ($r) = @_;
    my $u = $r->{uri};
    my $n = ++$seen{$u};
    my @ma = ('Cache-Control', 'max-age=100');
    return [200, [@ma, 'Set-Cookie', 'a=b'], "ck$n"] if $u =~ /cookie/;
    return [200, ['Cache-Control', 'max-age=1'], "ma$n"] if $u =~ /short/;
    return [200, ['Cache-Control', 's-maxage=1, max-age=50'], "sm$n"]
        if $u =~ /smax/;
    return [200, ['Expires', 'Thu, 01 Dec 2044 16:00:00 GMT'], "ex$n"]
        if $u =~ /expires/;
    return [200, ['ETag', '"v1"'], "et$n"] if $u =~ /etag/;
    return [200, ['Cache-Control', 'no-store'], "ns$n"] if $u =~ /nostore/;
    return [200, ['Cache-Control', 'private, max-age=100'], "pr$n"]
        if $u =~ /private/;
    return [200, ['Cache-Control', 'public'], "pu$n"] if $u =~ /public/;
    return [200, [@ma, 'Vary', 'Accept-Encoding'], "va$n"] if $u =~ /vary/;
    return [200, [@ma], 'x' x 1950 . $n] if $u =~ /big/;
    return [404, [@ma], "nf$n"] if $u =~ /missing/;
    return [200, [@ma, 'Age', '30'], "ag$n"] if $u =~ /aged/;
    return [200, [@ma, 'Age', '200'], "st$n"] if $u =~ /stale/;
    return [200, [@ma, 'Age', '0'], "a0$n"] if $u =~ /agezero/;
    return [200, [@ma], join(',', $n, 1 .. 60000)] if $u =~ /large/;
    return "HTTP/1.1 200 OK\r\nCache-Control: max-age=100\r\n"
        . "Transfer-Encoding: chunked\r\n\r\n3\r\nc$n!\r\n0\r\n\r\n"
        if $u =~ /chunked/;
    return [200, [@ma, 'Last-Modified', 'Tue, 15 Nov 1994 12:45:26 GMT'],
        "lm$n"] if $u =~ /lastmod/;
    return [200, [@ma], "$r->{method}$n"];
};
$t->http_origin(8081, $origin, log => 'origin.log');
$t->http_origin(8091, $origin, log => 'origin_ha.log');

sub config {
    my ($who, $port, $oport, $extra) = @_;
    return <<"EOF";
global
    stats socket %%TESTDIR%%/$who.sock level admin
    log 127.0.0.1:@{[$udp{$who}->sockport]} local0
$extra
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    log global
    option dontlognull
    log-format "%s %ST %HM %HU"
listen fe
    bind 127.0.0.1:$port
    http-request cache-use c1
    http-response cache-store c1
    http-after-response set-header X-Hit %[res.cache_hit]/%[res.cache_name]
    http-after-response set-header X-Worker %[thread]
    server s1 127.0.0.1:$oport
cache c1
    total-max-size 1
    max-object-size 2000
    max-age 10
    process-vary off
EOF
}

# How many times the origin logged at <log> was asked for <uri>.
sub asked {
    my ($log, $uri) = @_;
    return scalar grep { $_->{uri} eq $uri } $t->origin_requests($log);
}

# Runs the script against <port>, returning what the client saw.
sub outcomes {
    my ($port, $log, $sock) = @_;
    my %o;
    my $get = sub {
        my ($path, %opts) = @_;
        my $r = $t->http_get($port, $path, %opts);
        my $body = $r->{body} // '';
        $body = length($body) . ' bytes' if length $body > 40;
        return join(' ', $r->{status} // 'none', $body,
            $r->{headers}{'x-hit'} // '-',
            defined $r->{headers}{age} ? 'age' : 'no-age');
    };
    for my $p (qw(/plain /cookie /expires /etag /nostore /private /public
        /vary /big /missing /chunked /lastmod /aged /stale /agezero)) {
        $o{"$p first"} = $get->($p);
        $o{"$p second"} = $get->($p);
        $o{"$p asked"} = asked($log, $p);
    }
    my $aged = $t->http_get($port, '/aged')->{headers}{age} // -1;
    $o{'aged age'} = $aged >= 30 && $aged < 40 ? 'from 30 on' : $aged;
    $o{'head hit'} = $get->('/plain', method => 'HEAD');
    $o{'head miss'} = $get->('/headonly', method => 'HEAD');
    $o{'get after head'} = $get->('/headonly');
    $o{'inm match'} = $get->('/etag', headers => ['If-None-Match' => '"v1"']);
    $o{'inm weak'} = $get->('/etag', headers => ['If-None-Match' => 'W/"v1"']);
    $o{'inm other'} = $get->('/etag', headers => ['If-None-Match' => '"v2"']);
    $o{'ims match'} = $get->('/lastmod',
        headers => ['If-Modified-Since' => 'Tue, 15 Nov 1994 12:45:26 GMT']);
    $o{'ims older'} = $get->('/lastmod',
        headers => ['If-Modified-Since' => 'Tue, 15 Nov 1994 12:45:25 GMT']);
    $o{'query differs'} = $get->('/plain?x=1');
    $o{'host differs'} = $get->('/plain', headers => ['Host' => 'other']);
    $o{'authorization'} = $get->('/plain',
        headers => ['Authorization' => 'Basic eDp5']);
    $o{'http/1.0'} = do {
        my $r = $t->http($port, "GET /plain HTTP/1.0\r\n\r\n");
        "$r->{status} $r->{body}";
    };
    $o{'/plain asked at end'} = asked($log, '/plain');
    # a request may ask for a fresh answer (stored again) or none stored
    $o{'reqcc'} = join(', ', map { $get->('/reqcc', headers => $_) }
        [], ['Cache-Control' => 'max-age=0'], [],
        ['Cache-Control' => 'no-cache'], ['Pragma' => 'no-cache'], []);
    $o{'reqns'} = join(', ', map { $get->('/reqns', headers => $_) }
        ['Cache-Control' => 'no-store'], [], [],
        ['Cache-Control' => 'no-store']);
    $o{'short first'} = $get->('/short');
    $o{'short hit'} = $get->('/short');
    $o{'smax first'} = $get->('/smax');
    sleep 2.2;
    $o{'short after max-age'} = $get->('/short');
    $o{'smax after s-maxage'} = $get->('/smax');
    $o{'post'} = $get->('/expires', method => 'POST', body => 'x');
    $o{'after post'} = $get->('/expires');
    # the server the log names for each request (one line each, in order)
    $o{'log'} = join("\n", map { syslog_line($sock) } 1 .. 10);
    return %o;
}

# HAProxy first, on its own origin: its answers are compared at the end.
my %ha;
if (-x $haproxy) {
    $t->write_file_expand('ha.cfg',
        config('ha', '%%PORT_8090%%', '%%PORT_8091%%', ''));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8090));
    %ha = outcomes($t->port(8090), 'origin_ha.log', $udp{ha});
}

$t->write_file_expand('lp.cfg',
    config('lp', '%%PORT_8080%%', '%%PORT_8081%%', "    nbthread 2"));
$t->config('lp.cfg');
$t->run;
my %lp = outcomes($t->port(8080), 'origin.log', $udp{lp});

is($lp{'/plain first'}, '200 GET1 0/ no-age', 'a miss goes to the origin');
is($lp{'/plain second'}, '200 GET1 1/c1 age',
    'a hit: the stored body, res.cache_hit and res.cache_name, an Age');
is($lp{'/plain asked'}, 1, 'the hit was not forwarded');
is($lp{'/cookie asked'}, 1, 'Set-Cookie does not keep a response out (2.6)');
is($lp{"$_ asked"}, 2, "$_: never stored")
    for qw(/nostore /private /public /vary /big /missing);
is($lp{'/chunked second'}, '200 c1! 1/c1 age', 'a chunked response is stored');
is("$lp{'/aged first'}|$lp{'/aged second'}", '200 ag1 0/ no-age|200 ag1 1/c1 age',
    "the server's Age: dropped from the miss, counted in the hit's");
is($lp{'aged age'}, 'from 30 on', "a hit's Age adds the server's");
is($lp{"$_ asked"}, 2, "$_: never stored (HAProxy's rule on Age)")
    for qw(/stale /agezero);
is($lp{'head hit'}, '200  1/c1 age', 'HEAD is answered from a GET entry');
is($lp{'get after head'}, '200 GET2 0/ no-age', 'HEAD stores nothing');
is($lp{'inm match'}, '304  1/c1 age', 'If-None-Match on the ETag: 304');
is($lp{'inm weak'}, '304  1/c1 age', 'If-None-Match compares weakly');
is($lp{'inm other'}, '200 et1 1/c1 age', 'another ETag: the body');
is($lp{'ims match'}, '304  1/c1 age', 'If-Modified-Since not older: 304');
is($lp{'ims older'}, '200 lm1 1/c1 age', 'If-Modified-Since older: the body');
is($lp{reqcc}, '200 GET1 0/ no-age, 200 GET2 0/ no-age, 200 GET2 1/c1 age, '
    . '200 GET3 0/ no-age, 200 GET4 0/ no-age, 200 GET4 1/c1 age',
    'a request with max-age=0 or no-cache goes to the server, and is stored');
is($lp{reqns}, '200 GET1 0/ no-age, 200 GET2 0/ no-age, 200 GET2 1/c1 age, '
    . '200 GET2 1/c1 age',
    'a request with no-store is not stored, but is answered from the cache');
is($lp{'/plain asked at end'}, 4,
    'query, Host, Authorization and HTTP/1.0 each went to the origin');
is($lp{'short hit'}, '200 ma1 1/c1 age', 'fresh: a hit');
is($lp{'short after max-age'}, '200 ma2 0/ no-age', 'max-age expired');
is($lp{'smax after s-maxage'}, '200 sm2 0/ no-age', 's-maxage comes first');
is($lp{'after post'}, '200 ex3 0/ no-age',
    'a successful POST drops the entry');
like($lp{log}, qr{\As1 200 GET /plain\n<CACHE> 200 GET /plain\n},
    'the log names <CACHE> as the server of a hit');

# Both workers serve the entry one of them stored.
my %workers;
my $shared = '/shared';
for (1 .. 40) {
    my $r = $t->http_get($t->port(8080), $shared);
    $workers{ $r->{headers}{'x-worker'} // '?' }++ if defined $r->{status};
    last if keys %workers > 1 && $_ > 5;
}
my @w = $t->worker_pids;
is(scalar @w, 2, 'nbthread 2: two workers');
is(scalar keys %workers, 2, 'both workers answered')
    or diag(explain(\%workers));
is(asked('origin.log', $shared), 1, 'one request reached the origin');

my $show = $t->cli('lp.sock', "show cache\n") // '';
like($show, qr/^0x[0-9a-f]+: c1 \(shctx:0x[0-9a-f]+, available blocks:1024\)$/m,
    'show cache: the cache line');
like($show, qr/^0x[0-9a-f]+ hash:\d+ vary:0x0{16} size:\d+ \(1 blocks\), refcount:0, expire:\d+$/m,
    'show cache: an entry line');
$t->stop(keep_daemons => 1);

# With compression: the cache stores what the server sent, before the
# compression filter (HAProxy's order), so a client that accepts no
# encoding gets the plain body from an entry a gzip client's miss made.
$t->write_file_expand('comp.cfg', <<'EOF2');
global
    nbproc 1
    stats socket %%TESTDIR%%/comp.sock level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen fe
    bind 127.0.0.1:%%PORT_8082%%
    compression algo gzip
    http-request cache-use c1
    http-response cache-store c1
    http-after-response set-header X-Hit %[res.cache_hit]
    server s1 127.0.0.1:%%PORT_8081%%
listen large
    bind 127.0.0.1:%%PORT_8083%%
    http-request cache-use c2
    http-response cache-store c2
    http-after-response set-header X-Hit %[res.cache_hit]
    server s1 127.0.0.1:%%PORT_8081%%
cache c1
    total-max-size 1
cache c2
    total-max-size 4
    max-object-size 1000000
EOF2
$t->config('comp.cfg');
$t->run;
my $miss = $t->http_get($t->port(8082), '/zipped',
    headers => ['Accept-Encoding' => 'gzip']);
my $hit = $t->http_get($t->port(8082), '/zipped');
is(($miss->{headers}{'content-encoding'} // '-') . " $miss->{headers}{'x-hit'}",
    'gzip 0', 'compression: the miss is compressed');
is("$hit->{body} $hit->{headers}{'x-hit'}", 'GET1 1',
    'compression: the entry holds the plain body');
# An object of many buffers is stored whole and served whole.
my $large = $t->http_get($t->port(8083), '/large');
my $again = $t->http_get($t->port(8083), '/large');
is(length($large->{body}), 348895, 'a large object: the miss');
ok($again->{body} eq $large->{body} && $again->{headers}{'x-hit'} eq '1',
    'a large object: the hit has the same bytes');
my $st = $t->show_stat('comp.sock');
is(join(' ', map { $st->{"fe/$_"}{cache_lookups} . '/' . $st->{"fe/$_"}{cache_hits} }
    qw(FRONTEND BACKEND)), '2/1 0/0',
    'show stat: cache_lookups and cache_hits of the listen, as a frontend');
$t->stop;

# Bad configuration lines.
my $head = "defaults\n    mode http\nlisten fe\n    bind 127.0.0.1:1\n";
for my $c (
    ["cache c1\n    total-max-size 4096\n", 2, "'total-max-size' expects an integer between 1 and 4095"],
    ["cache c1\n    total-max-size 1\n    max-age 1a\n", 3, "'max-age' expects"],
    ["cache c1\n    total-max-size 1\n    process-vary maybe\n", 3, "'process-vary' expects 'on' or 'off'"],
    ["cache c1\n    total-max-size 1\n    max-secondary-entries 0\n", 3, "'max-secondary-entries' expects"],
    ["cache c1\n    total-max-size 1\n    bogus 1\n", 3, "bogus"],
    ["cache\n", 1, "'cache' expects exactly one name"],
    ["cache c1\n    total-max-size 1\ncache c1\n    total-max-size 1\n", 3, "duplicate cache name 'c1'"],
    ["cache c1\n    max-age 5\n", 1, "size not specified for cache 'c1'"],
    ["cache c1\n    total-max-size 1\n    max-object-size 600000\n", 1, "limited to half of 'total-max-size' (524288)"],
    ) {
    my ($rc, $out) = $t->check_config($c->[0], 'bad.cfg');
    ok($rc != 0 && $out =~ /bad\.cfg:$c->[1]: .*\Q$c->[2]\E/,
        "bad cache section: $c->[2]") or diag($out);
}
for my $c (
    ["    http-request cache-use\n", 5, "'cache-use' expects a cache name"],
    ["    http-response cache-store nope\n", 5, "unable to find cache 'nope'"],
    ["    http-response cache-use c1\n", 5, "'cache-use' is not allowed"],
    ) {
    my ($rc, $out) = $t->check_config($head . $c->[0], 'bad.cfg');
    ok($rc != 0 && $out =~ /bad\.cfg:$c->[1]: .*\Q$c->[2]\E/,
        "bad rule: $c->[2]") or diag($out);
}
my $cache = "cache c1\n    total-max-size 1\n";
for my $c (
    ["    filter trace\n", "an explicit 'filter cache' is needed"],
    ["    filter compression\n", "compression filter cannot come before"],
    ) {
    my ($rc, $out) = $t->check_config(
        $head . $c->[0] . "    http-response cache-store c1\n" . $cache,
        'bad.cfg');
    ok($rc != 0 && $out =~ /\Q$c->[1]\E/, "filters: $c->[1]") or diag($out);
}
my ($rc, $out) = $t->check_config($head . "    compression algo gzip\n"
    . "    http-response cache-store c1\n    filter cache c1\n"
    . "    filter compression\n" . $cache, 'good.cfg');
is($rc, 0, 'filters: explicit cache then compression') or diag($out);

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    is_deeply(\%lp, \%ha, 'HAProxy: the same answers')
        or diag(explain(\%lp, \%ha));
}

$t->done_testing;

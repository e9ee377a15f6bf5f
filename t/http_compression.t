#!/usr/bin/perl
# HTTP compression ("compression" keywords, "filter compression"): what
# is compressed decompresses (Perl's core zlib modules) to the origin's
# bytes, with HAProxy's head changes; each of HAProxy's conditions that
# rules compression out leaves the response untouched; a large body
# streams through with bounded memory.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy qw(rss_kb binary_has);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use IO::Uncompress::Inflate qw(inflate $InflateError);
use IO::Uncompress::RawInflate qw(rawinflate $RawInflateError);
use Time::HiRes qw(sleep);

my $t = Test::Luaproxy->new;
# AddressSanitizer's allocator holds on to freed buffers (its quarantine,
# its caches), so the worker's size says nothing there about buffering
my $asan = binary_has($t->binary, '__asan_init');
$t->write_file_expand('lp.cfg', <<'EOF2');
global
    nbproc 1
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    compression algo gzip deflate
    compression type text/plain text/html
    default_backend be
frontend raw
    bind 127.0.0.1:%%PORT_8081%%
    compression algo raw-deflate
    default_backend be
frontend ident
    bind 127.0.0.1:%%PORT_8082%%
    compression algo identity
    default_backend be
frontend offload
    bind 127.0.0.1:%%PORT_8083%%
    compression algo gzip
    compression offload
    default_backend be
frontend explicit
    bind 127.0.0.1:%%PORT_8084%%
    filter trace name tr
    filter compression
    compression algo gzip
    default_backend be
frontend both
    bind 127.0.0.1:%%PORT_8085%%
    compression algo gzip
    default_backend be_deflate
backend be
    server o1 127.0.0.1:%%PORT_8091%%
backend be_deflate
    compression algo deflate
    server o1 127.0.0.1:%%PORT_8091%%
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    compression algo gzip
frontend inherit
    bind 127.0.0.1:%%PORT_8086%%
    default_backend be2
backend be2
    server o1 127.0.0.1:%%PORT_8091%%
EOF2

sub pattern {
    my ($n) = @_;
    my $unit = join('', map { chr(32 + ($_ * 7) % 90) } 0 .. 996);
    return substr($unit x (int($n / length($unit)) + 1), 0, $n);
}

my $noise = '';
if (open(my $fh, '<:raw', '/dev/urandom')) {
    read($fh, $noise, 16 * 1024 * 1024);
    close $fh;
}

# Raw responses for the framings and versions the helper does not write.
sub raw_resp {
    my ($status, $headers, $body, %o) = @_;
    my $out = ($o{version} // 'HTTP/1.1') . " $status X\r\n$headers";
    if ($o{chunked}) {
        $out .= "Transfer-Encoding: chunked\r\n\r\n";
        $out .= sprintf("%x\r\n%s\r\n", length $_, $_)
            for grep { length } unpack('(a1000)*', $body);
        return $out . "0\r\n\r\n";
    }
    $out .= "Content-Length: " . length($body) . "\r\n" unless $o{close};
    return "$out\r\n" . ($o{head} ? '' : $body);
}

$t->http_origin(8091, sub {
    my ($req) = @_;
    my $u = $req->{uri};
    my $ct = ['content-type' => 'text/plain'];
    return [200, $ct, 'ae=' . ($req->{headers}{'accept-encoding'} // 'none')]
        if $u eq '/ae';
    return [$1, $ct, pattern(3000)] if $u =~ m{^/status/(\d+)};
    return [200, ['content-type' => 'text/html; charset=utf-8'], pattern(3000)]
        if $u eq '/html';
    return [200, ['content-type' => 'image/png'], pattern(3000)] if $u eq '/png';
    return [200, ['content-type' => 'multipart/mixed; boundary=x'],
        pattern(3000)] if $u eq '/multi';
    return [200, [], pattern(3000)] if $u eq '/notype';
    return [200, [@$ct, 'Content-Encoding' => 'br'], pattern(3000)]
        if $u eq '/ce';
    return [200, [@$ct, 'Cache-Control' => 'private, no-transform'],
        pattern(3000)] if $u eq '/nt';
    return [200, [@$ct, 'ETag' => '"abc"'], pattern(3000)] if $u eq '/etag';
    return [200, [@$ct, 'ETag' => 'W/"abc"'], pattern(3000)] if $u eq '/wetag';
    return [200, [@$ct, 'ETag' => 'abc'], pattern(3000)] if $u eq '/badetag';
    return [200, [@$ct, 'ETag' => '"a"', 'ETag' => '"b"'], pattern(3000)]
        if $u eq '/twoetag';
    return raw_resp(200, "Content-Type: text/plain\r\n", pattern(50000),
        chunked => 1) if $u eq '/chunked';
    return raw_resp(200, "Content-Type: text/plain\r\n", pattern(3000),
        close => 1) if $u eq '/close';
    return raw_resp(200, "Content-Type: text/plain\r\n", pattern(3000),
        version => 'HTTP/1.0') if $u eq '/v10';
    return raw_resp(200, "Content-Type: text/plain\r\n", pattern(3000),
        head => 1) if $req->{method} eq 'HEAD';
    return [200, $ct, $noise] if $u eq '/noise';
    return [200, $ct, pattern($1)] if $u =~ m{^/text/(\d+)};
    return [404, $ct, 'no'];
});
$t->run;

my %AE = ('Accept-Encoding' => 'gzip');
my $port = $t->port(8080);

sub get {
    my ($p, $path, @h) = @_;
    my %o = (headers => [@h], timeout => 10);
    $o{method} = 'HEAD' if $path =~ s/^HEAD //;
    return $t->http_get($p, $path, %o);
}

sub compressed_ok {
    my ($r, $algo, $len, $name) = @_;
    my $out;
    my $ok = $algo eq 'gzip' ? gunzip(\$r->{body} => \$out)
        : $algo eq 'deflate' ? inflate(\$r->{body} => \$out)
        : rawinflate(\$r->{body} => \$out);
    ok($ok && $out eq pattern($len), "$name: decompresses to the original")
        or diag("status $r->{status}, body " . length($r->{body} // '') . " bytes");
}

sub untouched {
    my ($r, $name) = @_;
    ok(!exists $r->{headers}{'content-encoding'}
            || $r->{headers}{'content-encoding'} eq 'br',
        "$name: not compressed")
        and ok(!exists $r->{headers}{vary}, "$name: no Vary added");
}

$t->plan(74);

# gzip, the response head rewritten
my $r = get($port, '/text/100000', %AE);
is($r->{headers}{'content-encoding'}, 'gzip', 'gzip: Content-Encoding');
is($r->{headers}{vary}, 'Accept-Encoding', 'gzip: Vary added');
ok(!exists $r->{headers}{'content-length'}, 'gzip: Content-Length removed');
is($r->{headers}{'transfer-encoding'}, 'chunked', 'gzip: chunked');
ok(length($r->{body}) < 20000, 'gzip: smaller');
compressed_ok($r, 'gzip', 100000, 'gzip');

# a chunked response, re-chunked
$r = get($port, '/chunked', %AE);
compressed_ok($r, 'gzip', 50000, 'chunked origin body');

# Accept-Encoding negotiation with q-values
$r = get($port, '/text/5000', 'Accept-Encoding' => 'deflate');
is($r->{headers}{'content-encoding'}, 'deflate', 'deflate chosen');
compressed_ok($r, 'deflate', 5000, 'deflate');
$r = get($port, '/text/5000', 'Accept-Encoding' => 'gzip;q=0.5, deflate;q=0.8');
is($r->{headers}{'content-encoding'}, 'deflate', 'highest q-value wins');
$r = get($port, '/text/5000', 'Accept-Encoding' => 'deflate;q=0.5, gzip');
is($r->{headers}{'content-encoding'}, 'gzip', 'no q-value means 1');
$r = get($port, '/text/5000', 'Accept-Encoding' => 'br', 'Accept-Encoding' => 'GZIP ; q=0.3');
is($r->{headers}{'content-encoding'}, 'gzip', 'several headers, case-insensitive coding');
$r = get($port, '/text/5000', 'Accept-Encoding' => '*');
is($r->{headers}{'content-encoding'}, 'gzip', "'*' takes the first algorithm");
$r = get($port, '/text/5000', 'Accept-Encoding' => 'gzip;q=0');
untouched($r, 'q=0');
is($r->{body}, pattern(5000), 'q=0: original body');
$r = get($port, '/text/5000', 'Accept-Encoding' => 'br');
untouched($r, 'unsupported coding');
$r = get($port, '/text/5000');
untouched($r, 'no Accept-Encoding');
is($r->{headers}{'content-length'}, 5000, 'no Accept-Encoding: Content-Length kept');

# the response conditions
$r = get($port, '/status/201', %AE);
is($r->{headers}{'content-encoding'}, 'gzip', 'status 201 compressed');
$r = get($port, '/status/404', %AE);
untouched($r, 'status 404');
$r = get($port, '/status/204', %AE);
untouched($r, 'status 204');
$r = get($port, 'HEAD /text/3000', %AE);
untouched($r, 'HEAD');
$r = get($port, '/ce', %AE);
is($r->{headers}{'content-encoding'}, 'br', 'already encoded: left alone');
$r = get($port, '/nt', %AE);
untouched($r, 'Cache-Control no-transform');
$r = get($port, '/png', %AE);
untouched($r, 'type not listed');
$r = get($port, '/html', %AE);
is($r->{headers}{'content-encoding'}, 'gzip', 'listed type with parameters');
$r = get($port, '/notype', %AE);
untouched($r, 'no Content-Type while types are listed');
$r = get($port, '/close', %AE);
untouched($r, 'close-delimited response');
$r = get($port, '/v10', %AE);
untouched($r, 'HTTP/1.0 response');
$r = get($port, '/badetag', %AE);
untouched($r, 'invalid ETag');
$r = get($port, '/twoetag', %AE);
untouched($r, 'two ETags');
$r = get($port, '/etag', %AE);
is($r->{headers}{etag}, 'W/"abc"', 'strong ETag weakened');
$r = get($port, '/wetag', %AE);
is($r->{headers}{etag}, 'W/"abc"', 'weak ETag kept');
$r = get($port, '/text/3000', %AE,
    'User-Agent' => 'Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)');
untouched($r, 'old Mozilla/4 browser');
$r = get($port, '/text/3000', %AE,
    'User-Agent' => 'Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)');
is($r->{headers}{'content-encoding'}, 'gzip', 'MSIE 7 is compressed');
$r = $t->raw_request($port,
    "GET /text/3000 HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n", timeout => 5);
unlike($r->{data}, qr/content-encoding/i, 'HTTP/1.0 request: not compressed');

# the other algorithms and settings
$r = get($t->port(8081), '/text/20000', %AE, 'Accept-Encoding' => 'deflate');
is($r->{headers}{'content-encoding'}, 'deflate', 'raw-deflate announced as deflate');
compressed_ok($r, 'raw', 20000, 'raw-deflate');
$r = get($t->port(8081), '/multi', 'Accept-Encoding' => 'deflate');
untouched($r, 'multipart');
$r = get($t->port(8082), '/text/20000');
ok(!exists $r->{headers}{'content-encoding'}, 'identity: no Content-Encoding');
is($r->{headers}{'transfer-encoding'}, 'chunked', 'identity: re-chunked anyway');
is($r->{body}, pattern(20000), 'identity: same bytes');
$r = get($port, '/ae', %AE);
like($r->{body}, qr/^\x1f\x8b/, 'compressed /ae');
my $ae;
gunzip(\$r->{body} => \$ae);
is($ae, 'ae=gzip', 'without offload the server sees Accept-Encoding');
$r = get($t->port(8083), '/ae', %AE);
gunzip(\$r->{body} => \$ae);
is($ae, 'ae=none', 'offload: Accept-Encoding removed');
$r = get($t->port(8083), '/ae', 'Accept-Encoding' => 'br');
is($r->{body}, 'ae=br', 'offload: kept when nothing was chosen');
$r = get($t->port(8084), '/text/30000', %AE);
compressed_ok($r, 'gzip', 30000, 'explicit filter after a trace filter');
$r = get($t->port(8085), '/text/30000', 'Accept-Encoding' => 'gzip, deflate');
is($r->{headers}{'content-encoding'}, 'deflate',
    "the backend's algorithms win over the frontend's");
compressed_ok($r, 'deflate', 30000, 'frontend and backend: compressed once');
$r = get($t->port(8086), '/text/30000', %AE);
compressed_ok($r, 'gzip', 30000, 'compression inherited from defaults');

# keep-alive: a compressed response, then the next request
my $ka = $t->http_keepalive($port);
my $r1 = $ka->get('/text/40000', headers => [%AE]);
my $r2 = $ka->get('/text/10', headers => [%AE]);
compressed_ok($r1, 'gzip', 40000, 'keep-alive, first');
compressed_ok($r2, 'gzip', 10, 'keep-alive, second');
$ka->close;

# 16 MiB that does not compress, read slowly: the proxy holds back
SKIP: {
    skip 'no /dev/urandom', 2 unless length $noise;
    my ($wpid) = $t->worker_pids;
    my $rss0 = rss_kb($wpid);
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
        or die "connect: $!";
    print $s "GET /noise HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n";
    my $buf = '';
    sysread($s, $buf, 65536);
    sleep 1.5;
    my $grown = rss_kb($wpid) - $rss0;
    SKIP: {
        skip 'worker growth is not measured under AddressSanitizer', 1 if $asan;
        ok($grown < 8 * 1024, "slow reader: the worker grew by ${grown} KiB only");
    }
    while (1) {
        my $got = sysread($s, $buf, 1 << 20, length $buf);
        last unless $got;
    }
    close $s;
    my ($resp) = Test::Luaproxy::parse_response($buf, 1);
    my $out;
    ok($resp && gunzip(\$resp->{body} => \$out) && $out eq $noise,
        '16 MiB streamed through gzip intact')
        or diag(sprintf("got %d bytes, body %d, out %d: %s", length $buf,
            length($resp ? $resp->{body} : ''), length($out // ''),
            $GunzipError // '') . substr($buf, 0, 300));
}

# configuration
my ($rc, $out) = $t->check_config(<<'EOF3', 'bad1.cfg');
frontend f
    mode http
    bind 127.0.0.1:1
    compression algo gzip brotli
EOF3
like($out, qr/bad1\.cfg:4: .*unknown algorithm 'brotli'/, 'unknown algorithm: file:line');
($rc, $out) = $t->check_config(<<'EOF3', 'bad2.cfg');
frontend f
    mode http
    bind 127.0.0.1:1
    filter trace
    compression algo gzip
EOF3
like($out, qr/explicit 'filter compression'/, 'other filters need an explicit compression filter');
isnt($rc, 0, '... and the check fails');
($rc, $out) = $t->check_config(<<'EOF3', 'bad3.cfg');
frontend f
    mode http
    bind 127.0.0.1:1
    compression direction both
EOF3
like($out, qr/bad3\.cfg:4: .*not supported yet/, 'direction both: not supported yet');
($rc, $out) = $t->check_config(<<'EOF3', 'good.cfg');
frontend f
    mode http
    bind 127.0.0.1:1
    compression algo gzip
    compression type text/plain
    compression offload
    compression direction response
    default_backend b
backend b
    mode http
    server s 127.0.0.1:2
EOF3
is($rc, 0, 'the supported keywords pass the check') or diag($out);

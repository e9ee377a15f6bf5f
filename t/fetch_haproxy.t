#!/usr/bin/perl
# The same sample fetches run by HAProxy (Debian's /usr/sbin/haproxy, when
# installed) and by us on one configuration: request rules copy each value
# into a header the origin echoes back, response rules into response
# headers, and every value must be the same from both servers. Proxy and
# server counters run with one worker, where ours (some per worker) and
# HAProxy's count the same streams, also while a request holds a server's
# only slot and another one waits in the queue.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new;
$t->skip_all("no haproxy at $haproxy") unless -x $haproxy;

# Request fetches, each copied into "X-F-<n>: <name>=<value>".
my @req = (
    'fe_conn', 'fe_conn(fe)', 'fe_conn(other)', 'be_conn(bk)',
    'be_conn(full)', 'be_conn_free(bk)', 'be_conn_free(full)',
    'be_conn_free(bck)', 'be_conn_free(bck_all)', 'be_conn_free(nomax)',
    'queue(bk)', 'avg_queue(bk)', 'avg_queue(bck)', 'avg_queue(dead)',
    'connslots(bk)', 'connslots(full)', 'connslots(nomax)', 'connslots(dead)',
    'srv_conn(bk/s1)', 'srv_conn_free(bk/s1)', 'srv_conn_free(nomax/s1)',
    'srv_queue(bk/s1)', 'be_conn_free(dead)', 'queue(dead)',
    'req.body_len', 'req.body_size', 'req.body_param(a)', 'req.body_param',
    'req.body_param(b),length', 'req.body_param(c),length',
    'req.body_param(A)', 'capture.req.method', 'capture.req.uri',
    'capture.req.uri,length', 'capture.req.ver', 'capture.req.hdr(0)',
    'capture.req.hdr(1)', 'capture.req.hdr(1),length', 'url_port', 'url_ip',
    'req.hdr_val(x-n)', 'hdr_val(x-n,1)', 'req.hdr_val(x-q)',
    'req.hdr_val(x-e)', 'req.hdr_val(x-none),length', 'req.ver', 'wait_end',
    'stopping', 'nbproc', 'proc', 'thread', 'hostname', 'uuid,length',
    'uuid(4),length', 'req.hdr_cnt(x-e)', 'req.hdr(x-e),length',
    'req.hdr_cnt(x-c)', 'req.hdr(x-c,2),length', 'req.hdr(x-c,3)',
    'req.fhdr_cnt(x-e)', 'req.hdr_cnt(x-n)', 'req.hdr_val(x-c,-1)',
    'fe_defbe', 'fe_client_timeout', 'http_first_req', 'srv_weight(bk/s1)',
    'srv_iweight(bk/s2)', 'srv_uweight(bk/s2)', 'srv_weight(full/s1)',
    'srv_weight(bk/s3)', 'fe_id',
);
# Frontend response fetches, each copied into "X-S-<n>: <name>=<value>".
my @fres = (
    'res.ver', 'capture.res.ver', 'capture.res.hdr(0)', 'capture.req.hdr(0)',
    'capture.req.uri', 'capture.req.method', 'res.hdr_val(x-num)',
    'res.hdr_val(x-num,1)', 'res.hdr_val(x-num,-2)',
);
# Response fetches, each copied into "X-R-<n>: <name>=<value>".
my @res = (
    'be_conn', 'srv_conn(bk/s1)', 'srv_conn(s1)', 'srv_conn_free(s1)',
    'be_conn_free', 'connslots', 'fe_conn(fe)', 'queue', 'avg_queue',
    'be_server_timeout', 'be_tunnel_timeout', 'res.hdr_names',
    'res.hdr_names(;)', 'res.hdrs,length', 'fe_id', 'be_id', 'srv_id',
);

# Read while a request holds the only slot of slow/s1 and another waits.
my @queued = qw(fe_conn be_conn(slow) srv_conn(slow/s1) srv_conn_free(slow/s1)
    srv_queue(slow/s1) queue(slow) avg_queue(slow) be_conn_free(slow)
    connslots(slow));

sub config {
    my ($base) = @_;
    my $p = $t->port($base);
    my $o = $t->port(8091);
    my $silent = $t->port(8092);
    my $probe = join(' ', map { "$_=%[$_]" } @queued);
    my $i = 0;
    my $reqs = join('', map { $i++; "    http-request set-header X-F-$i \"$_=%[$_]\"\n" } @req);
    $i = 0;
    my $fress = join('', map { $i++; "    http-response set-header X-S-$i \"$_=%[$_]\"\n" } @fres);
    $i = 0;
    my $ress = join('', map { $i++; "    http-response set-header X-R-$i \"$_=%[$_]\"\n" } @res);
    return <<"EOF2";
global
    nbthread 1
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 3s
frontend fe
    bind 127.0.0.1:$p
    option http-buffer-request
    capture request header Host len 20
    capture request header X-Cap len 3
    capture response header X-Num len 5
$reqs$fress    default_backend bk
frontend other
    bind 127.0.0.1:@{[$p + 1]}
    default_backend bk
frontend q
    bind 127.0.0.1:@{[$p + 2]}
    http-request return status 200 content-type text/plain lf-string "$probe" if { path /probe }
    default_backend slow
backend slow
    server s1 127.0.0.1:$silent maxconn 1 maxqueue 3
    server s2 127.0.0.1:$silent maxconn 2 maxqueue 4 backup
backend bk
    timeout tunnel 7s
$ress    server s1 127.0.0.1:$o maxconn 10 maxqueue 5
    server s2 127.0.0.1:$o maxconn 20 maxqueue 7 weight 20
    server s3 127.0.0.1:$o maxconn 5 maxqueue 5 disabled
    server b1 127.0.0.1:$o maxconn 9 maxqueue 1 backup
backend full
    server s1 127.0.0.1:$o maxconn 3 maxqueue 2 weight 0
    server s2 127.0.0.1:$o maxconn 4 maxqueue 3
backend bck
    server s1 127.0.0.1:$o maxconn 3 disabled
    server b1 127.0.0.1:$o maxconn 4 maxqueue 1 backup
    server b2 127.0.0.1:$o maxconn 6 backup
backend bck_all
    option allbackups
    server s1 127.0.0.1:$o maxconn 3 disabled
    server b1 127.0.0.1:$o maxconn 4 backup
    server b2 127.0.0.1:$o maxconn 6 backup
backend nomax
    server s1 127.0.0.1:$o maxconn 3
    server s2 127.0.0.1:$o
backend dead
    server s1 127.0.0.1:$o maxconn 3 maxqueue 3 disabled
EOF2
}

# the binds are port(base) + 0 to 2
$t->port_block($_, 3) for 8100, 8200;
$t->write_file('lp.cfg', config(8100));
$t->write_file('ha.cfg', config(8200));
$t->http_origin(8091, sub {
    my ($req) = @_;
    my $body = join('', map { "$_->[0]: $_->[1]\n" }
        grep { $_->[0] =~ /^x-f-/i } @{ $req->{header_list} });
    return [200, ['content-type' => 'text/plain', 'X-Num' => '12abc',
        'X-Num' => '-7'], $body];
});
# A server that accepts (the kernel does) and never answers.
my $silent = $t->listen_socket(8092);
$t->run;
$t->run_haproxy($haproxy, 'ha.cfg', $t->port(8200));

# The fetched values of one exchange: request lines, then response ones.
sub values_of {
    my ($r) = @_;
    my @lines = map { s/^([^:]+)/lc $1/er } split /\n/, $r->{body} // '';
    for my $h ((map { "x-r-$_" } 1 .. @res), (map { "x-s-$_" } 1 .. @fres)) {
        push @lines, "$h: " . ($r->{headers}{$h} // '(none)');
    }
    return \@lines;
}

# Sends the same request bytes to both; every value must match, but for
# the backend's response counters with <no_counters> (HAProxy may see the
# origin close an HTTP/1.0 exchange before its response rules run, and
# then counts the server's slot as free already).
sub same {
    my ($name, $raw, $no_counters) = @_;
    my $lp = values_of($t->http($t->port(8100), $raw));
    my $ha = values_of($t->http($t->port(8200), $raw));
    if ($no_counters) {
        $_ = [grep { !/^x-r-/ } @$_] for $lp, $ha;
    }
    is_deeply($lp, $ha, $name) or diag(explain($lp));
    return $lp;
}

my $v = same('a form posted with Content-Length',
    "POST /p?x=1 HTTP/1.1\r\nHost: h1\r\nX-N: 5x, 42\r\nX-Q: abc\r\n"
    . "X-E:\r\nX-C: a,,b, \r\nX-Cap: abcdef\r\nContent-Length: 13\r\n"
    . "Connection: close\r\n\r\na=1&b&c=&a=2x");
is(scalar(@$v), @req + @res + @fres, 'every value came back');
like(join("\n", @$v), qr/^x-f-\d+: req.body_param\(a\)=1$/m,
    'the values are there, not empty');
same('a chunked form', "POST /c HTTP/1.1\r\nHost: h1\r\n"
    . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    . "3\r\na=1\r\n5\r\n&A=22\r\n0\r\n\r\n");
same('an absolute URI with an IPv4 host and a port',
    "GET http://10.1.2.3:8080/x HTTP/1.1\r\nHost: 10.1.2.3:8080\r\n"
    . "Connection: close\r\n\r\n");
same('https: port 443', "GET https://10.1.2.3/x?q HTTP/1.1\r\n"
    . "Host: 10.1.2.3\r\nConnection: close\r\n\r\n");
same('a host name: no url_ip, no url_port',
    "GET http://example.com:81/x?y HTTP/1.1\r\nHost: example.com:81\r\n"
    . "Connection: close\r\n\r\n");
same('HTTP/1.0 without Host', "GET /a HTTP/1.0\r\n\r\n", 1);
# The counters while one request is served and one queued.
sub queued {
    my ($port) = @_;
    my $a = $t->http_hold($port, '/a');
    sleep 0.3;
    my $b = $t->http_hold($port, '/b');
    sleep 0.3;
    my $body = $t->http_get($port, '/probe')->{body};
    close $_ for $a, $b;
    return $body;
}
my $lpq = queued($t->port(8100) + 2);
is($lpq, queued($t->port(8200) + 2), 'counters with a full server and a queue');
like($lpq, qr/ queue\(slow\)=1 /, 'one request was queued');
$t->done_testing;

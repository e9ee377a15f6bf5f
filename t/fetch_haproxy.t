#!/usr/bin/perl
# The same sample fetches run by HAProxy (Debian's /usr/sbin/haproxy, when
# installed) and by us on one configuration: request rules copy each value
# into a header the origin echoes back, response rules into response
# headers, and every value must be the same from both servers. Proxy and
# server counters run with one worker, where ours (some per worker) and
# HAProxy's count the same streams.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;

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
);
# Response fetches, each copied into "X-R-<n>: <name>=<value>".
my @res = (
    'be_conn', 'srv_conn(bk/s1)', 'srv_conn(s1)', 'srv_conn_free(s1)',
    'be_conn_free', 'connslots', 'fe_conn(fe)', 'queue', 'avg_queue',
);

sub config {
    my ($base) = @_;
    my $p = $t->port($base);
    my $o = $t->port(8091);
    my $i = 0;
    my $reqs = join('', map { $i++; "    http-request set-header X-F-$i \"$_=%[$_]\"\n" } @req);
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
$reqs    default_backend bk
frontend other
    bind 127.0.0.1:@{[$p + 1]}
    default_backend bk
backend bk
$ress    server s1 127.0.0.1:$o maxconn 10 maxqueue 5
    server s2 127.0.0.1:$o maxconn 20 maxqueue 7
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

$t->write_file('lp.cfg', config(8100));
$t->write_file('ha.cfg', config(8200));
$t->http_origin(8091, sub {
    my ($req) = @_;
    my $body = join('', map { "$_->[0]: $_->[1]\n" }
        grep { $_->[0] =~ /^x-f-/i } @{ $req->{header_list} });
    return [200, ['content-type' => 'text/plain'], $body];
});
$t->run;
$t->run_haproxy($haproxy, 'ha.cfg', $t->port(8200));

# The fetched values of one exchange: request lines, then response ones.
sub values_of {
    my ($r) = @_;
    my @lines = map { s/^([^:]+)/lc $1/er } split /\n/, $r->{body} // '';
    for my $i (1 .. @res) {
        my $v = $r->{headers}{"x-r-$i"};
        push @lines, "x-r-$i: " . ($v // '(none)');
    }
    return \@lines;
}

# Sends the same request to both; every value must match.
sub same {
    my ($name, %opts) = @_;
    my $path = delete $opts{path} // '/';
    my $lp = values_of($t->http_get($t->port(8100), $path, %opts));
    my $ha = values_of($t->http_get($t->port(8200), $path, %opts));
    is_deeply($lp, $ha, $name) or diag(explain($lp));
    return $lp;
}

my $v = same('proxy and server counters, one request at a time');
ok(scalar(@$v) >= @req + @res, 'every value came back');
$t->done_testing;

#!/usr/bin/perl
# "show stat" and "show info" with two workers answer for both, as
# HAProxy's threads share their counters: requests, sessions, bytes,
# status classes and server counts are the sums of what each worker
# counted, while "@1 show stat" still gives worker 1's own.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new;
$t->write_file_expand('lp.cfg', <<'CFG');
global
    nbproc 2
    stats socket %%TESTDIR%%/s.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 3s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    option http-ignore-probes
    http-request return status 404 content-type text/plain lf-string "%pid" if { path /local }
    default_backend be
backend be
    server s1 127.0.0.1:%%PORT_8091%%
CFG
$t->http_origin(8091, sub { [200, [], 'origin'] });
$t->run;
$t->wait_log(qr/(?s:ready, generation 1.*){2}/);

sub show_stat { return $t->show_stat('s.sock', @_) }

# Requests on fresh connections until both workers served some.
my (%pids, $n);
for ($n = 0; $n < 200 && (keys %pids < 2 || $n < 20); $n++) {
    $pids{ $t->http_get($t->port(8080), '/local')->{body} // '' }++;
}
$t->http_get($t->port(8080), '/p') for 1 .. 10;
is(scalar keys %pids, 2, "both workers answered ($n requests)");

my $all = show_stat();
my ($fe, $be, $s1) = @{$all}{qw(fe/FRONTEND be/BACKEND be/s1)};
is($fe->{req_tot}, $n + 10, 'FRONTEND req_tot: every request, both workers');
is($fe->{hrsp_4xx}, $n, 'FRONTEND hrsp_4xx: the local answers');
is($fe->{hrsp_2xx}, 10, 'FRONTEND hrsp_2xx: the proxied ones');
is($s1->{lbtot}, 10, 'server lbtot: summed');
is($be->{hrsp_2xx}, 10, 'BACKEND hrsp_2xx: summed');
is($s1->{status}, 'no check', 'a column that is no count: as it is');
is($fe->{pxname}, 'fe', 'the names as they are');

my $one = show_stat('@1 ');
cmp_ok($one->{'fe/FRONTEND'}{req_tot}, '<', $n + 10,
    '@1 show stat: worker 1 alone counted fewer');
is(show_stat('@1 ')->{'fe/FRONTEND'}{req_tot} + show_stat('@2 ')->{'fe/FRONTEND'}{req_tot},
    $n + 10, '@1 and @2 add up to the merged count');

# show info: the workers' connection and request counts summed
sub info_field {
    my ($prefix, $name) = @_;
    my $info = $t->cli('s.sock', $prefix . "show info\n") // '';
    return $info =~ /^\Q$name\E: (\d+)$/m ? $1 : 'none';
}
is(info_field('', 'Nbthread'), 2, 'show info: Nbthread, the workers');
is(info_field('', 'CumReq'), $n + 10, 'show info: CumReq of both workers');
is(info_field('', 'CumConns'),
    info_field('@1 ', 'CumConns') + info_field('@2 ', 'CumConns'),
    'show info: CumConns, the sum of each worker\'s');

$t->done_testing;

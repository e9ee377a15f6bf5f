#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# The statistics page with two workers shows the figures of both, as
# "show stat" does and as HAProxy's threads share their counters: the
# worker that serves the page asks the master, which merges every
# worker's answer, even with no "stats socket" configured. Requests on
# fresh connections reach both workers (each response names its worker);
# then ";csv" and the HTML page count every one of them, where either
# worker alone counted fewer. The page's own requests are counted as
# every stream is, when it ends: the j-th fetch of the page sees the j-1
# before it, whichever worker served them. A master that does not answer
# (stopped) costs the page 2 seconds, then it shows the figures of the
# worker that serves it; once the master runs again, all of them.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy qw(stat_rows);
use Time::HiRes qw(time);

my $t = Test::Luaproxy->new;
$t->write_file_expand('lp.cfg', <<'CFG');
global
    nbproc 2
defaults
    mode http
    option http-ignore-probes
    timeout connect 1s
    timeout client 3s
    timeout server 3s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    http-response set-header x-pid %pid
    default_backend be
backend be
    server s1 127.0.0.1:%%PORT_8091%%
frontend other
    bind 127.0.0.1:%%PORT_8082%%
    default_backend be
listen stats
    bind 127.0.0.1:%%PORT_8081%%
    stats enable
    stats uri /stats
    stats scope fe
    stats scope be
    stats scope .
CFG
$t->http_origin(8091, sub { [200, [], 'origin'] });
$t->run;
$t->wait_log(qr/(?s:ready, generation 1.*){2}/);

# Requests on fresh connections until both workers served some.
my (%pids, $n);
for ($n = 0; $n < 200 && (keys %pids < 2 || $n < 20); $n++) {
    my $r = $t->http_get($t->port(8080), '/p');
    $pids{ $r->{headers}{'x-pid'} // 'none' }++ if ($r->{status} // 0) == 200;
}
is(scalar keys %pids, 2, "both workers answered ($n requests)");
ok(!grep({ $_ eq 'none' } keys %pids), 'every request answered 200');

my $fetches = 0;
sub page {
    my ($path) = @_;
    my $r = $t->http_get($t->port(8081), $path);
    $fetches++;
    return $r;
}

my (@seen, %page_pids);
for (1 .. 6) {
    my $r = page('/stats;csv');
    is($r->{status}, 200, ";csv fetch $fetches: 200");
    my $rows = stat_rows($r->{body});
    push @seen, $rows->{'stats/FRONTEND'}{req_tot} // 'none';
    is($rows->{'fe/FRONTEND'}{req_tot}, $n,
        ";csv fetch $fetches: fe req_tot counts both workers' requests");
    is($rows->{'fe/FRONTEND'}{hrsp_2xx}, $n, ";csv fetch $fetches: fe hrsp_2xx");
    is($rows->{'be/s1'}{stot}, $n, ";csv fetch $fetches: s1 stot");
    is($rows->{'be/BACKEND'}{stot}, $n, ";csv fetch $fetches: be stot");
    is($rows->{'be/s1'}{status}, 'no check', ';csv: a state as it is');
    ok(!exists $rows->{'other/FRONTEND'}, ';csv: stats scope still filters');
}
is_deeply(\@seen, [0 .. 5],
    'the page counts its own earlier requests, from every worker');

# The HTML page: the server's and the backend's session totals, and the
# process block's request count (the frontend's and the page's).
my $r = page('/stats');
is($r->{status}, 200, 'HTML: 200');
my $body = $r->{body} // '';
sub html_cells {
    my ($cls, $name) = @_;
    my ($row) = $body =~ m{<tr class="$cls"><td>(?:<input[^>]*> )?\Q$name\E</td>(.*?)</tr>}s;
    return [ ($row // '') =~ m{<td>(.*?)</td>}g ];
}
# Sessions: Cur, Max, Limit, Total come after the queue and rate columns
is(html_cells('server', 's1')->[7], $n, 'HTML: s1 sessions total');
like($body, qr{<li>CumReq: \Q${\($n + $fetches - 1)}\E</li>},
    'HTML: CumReq of both workers, the earlier pages with it');

# The master stopped: the page waits its bound, then shows its worker's.
my $master = $t->pid;
kill 'STOP', $master;
my $t0 = time;
$r = $t->http_get($t->port(8081), '/stats;csv', timeout => 10,
    read_timeout => 8);
my $waited = time - $t0;
kill 'CONT', $master;
is($r->{status}, 200, 'master stopped: the page still answers');
cmp_ok($waited, '>=', 1.9, 'master stopped: after waiting 2 s');
my $own = stat_rows($r->{body})->{'fe/FRONTEND'}{req_tot} // 0;
ok($own > 0 && $own < $n, "master stopped: one worker's figures ($own of $n)");

# The master runs again: the page shows every worker's figures again.
$r = $t->http_get($t->port(8081), '/stats;csv');
is(stat_rows($r->{body})->{'fe/FRONTEND'}{req_tot}, $n,
    'master back: every worker\'s figures');

$t->done_testing;

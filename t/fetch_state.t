#!/usr/bin/perl
# Proxy and server state fetches through real requests, with exact values:
# one request holds the only slot of a server that never answers, a second
# one waits in the backend's queue, and a third reads the counters
# (fe_conn, be_conn, srv_conn, srv_conn_free, srv_queue, queue, avg_queue,
# be_conn_free, connslots). With two workers the server's counts are
# shared by both while fe_conn stays per worker. Then the process
# fetches: the rates over a burst, nbproc, proc, thread, stopping, hostname, uuid, date_us and
# wait_end.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use Sys::Hostname;
use Time::HiRes qw(sleep time);

my $t = Test::Luaproxy->new;
my $counters = join(' ', map { "$_=%[$_]" } qw(fe_conn be_conn(slow)
    srv_conn(slow/s1) srv_conn_free(slow/s1) srv_queue(slow/s1) queue(slow)
    avg_queue(slow) be_conn_free(slow) connslots(slow) proc));
sub config {
    my ($workers) = @_;
    return <<"EOF2";
global
    nbproc $workers
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout queue 5s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    http-request return status 200 content-type text/plain lf-string "$counters" if { path /probe }
    http-request return status 200 content-type text/plain lf-string "nbproc=%[nbproc] proc=%[proc] thread=%[thread] stopping=%[stopping] wait_end=%[wait_end] hostname=%[hostname] uuid=%[uuid] uuid4=%[uuid(4)] date_us=%[date_us]" if { path /proc }
    http-request return status 200 content-type text/plain lf-string "fe_defbe=%[fe_defbe] fe_client_timeout=%[fe_client_timeout] srv_weight=%[srv_weight(slow/s1)] srv_iweight=%[srv_iweight(slow/s2)] srv_uweight=%[srv_uweight(slow/s2)]" if { path /conf }
    default_backend slow
frontend inspect
    mode tcp
    bind 127.0.0.1:%%PORT_8081%%
    tcp-request inspect-delay 300ms
    tcp-request content accept if WAIT_END
    default_backend echo
frontend rates
    bind 127.0.0.1:%%PORT_8082%%
    http-request return status 200 content-type text/plain lf-string "fe_sess_rate=%[fe_sess_rate] fe_req_rate=%[fe_req_rate] be_sess_rate=%[be_sess_rate(rb)] fe_req_rate(rates)=%[fe_req_rate(rates)]" if { path /rate }
    default_backend rb
backend rb
    server o1 127.0.0.1:%%PORT_8091%%
backend slow
    server s1 127.0.0.1:%%PORT_8092%% maxconn 1 maxqueue 3
    server s2 127.0.0.1:%%PORT_8092%% maxconn 2 maxqueue 4 backup weight 7
backend echo
    mode tcp
    server o1 127.0.0.1:%%PORT_8091%%
EOF2
}
$t->write_file_expand('lp.cfg', config(2));

# A server that accepts (the kernel does) and never answers.
my $silent = $t->listen_socket(8092);
$t->http_origin(8091, sub { return [200, ['content-type' => 'text/plain'], "echo\n"] });
$t->run;
my $port = $t->port(8080);

# The fields of a probe's answer.
sub probe {
    my ($path) = @_;
    my $body = $t->http_get($port, $path)->{body} // '';
    return { map { split /=/, $_, 2 } split ' ', $body };
}

my $a = $t->http_hold($port, '/a');
sleep 0.3;
my $b = $t->http_hold($port, '/b');
sleep 0.3;
# Both workers answer probes in turn: the server's counts are the same
# from either, the frontend's are those of the answering worker.
my (%seen, $bad);
for my $i (1 .. 6) {
    my $v = probe('/probe');
    $seen{$v->{proc} // '?'}++;
    my %want = ('srv_conn(slow/s1)' => 1, 'srv_conn_free(slow/s1)' => 0,
        'srv_queue(slow/s1)' => 0, 'be_conn_free(slow)' => 0);
    for my $k (sort keys %want) {
        next if ($v->{$k} // '') eq $want{$k};
        $bad = "probe $i (worker $v->{proc}): $k=" . ($v->{$k} // 'none');
    }
}
note('probes answered by workers: ' . join(', ', map { "$_ x$seen{$_}" } sort keys %seen));
ok(!defined $bad, 'srv_conn, srv_conn_free, srv_queue, be_conn_free: the same from every worker')
    or diag($bad);
close $a;
close $b;
$t->stop(keep_daemons => 1);

# One worker: the frontend's and backend's counts are exact too.
$t->write_file_expand('lp.cfg', config(1));
$t->run;
# A burst well within a second of the frontend's first session (the
# start-up check): the rates grow by the counts.
sub rates {
    my $body = $t->http_get($t->port(8082), '/rate')->{body} // '';
    return { map { split /=/, $_, 2 } split ' ', $body };
}
my $before = rates();
my $two = $t->raw_request($t->port(8082), "GET /x HTTP/1.1\r\nHost: x\r\n\r\n"
    . "GET /y HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")->{data};
is(() = $two =~ /^HTTP\/1.1 200/mg, 2, 'two requests on one connection');
$t->http_get($t->port(8082), '/z');
my $after = rates();
is(join(' ', map { $after->{$_} - $before->{$_} } sort keys %$after),
    '3 4 4 3', 'rates: backend streams, frontend requests (twice), sessions');

$a = $t->http_hold($port, '/a');
sleep 0.3;
$b = $t->http_hold($port, '/b');
sleep 0.3;
my $v = probe('/probe');
is($v->{fe_conn}, 3, 'fe_conn: the three sessions, this one included');
is($v->{'be_conn(slow)'}, 2, 'be_conn: the streams the backend took');
is($v->{'srv_conn(slow/s1)'}, 1, 'srv_conn: the connection in flight');
is($v->{'srv_conn_free(slow/s1)'}, 0, 'srv_conn_free: maxconn reached');
is($v->{'srv_queue(slow/s1)'}, 0, 'srv_queue: nothing waits for s1 itself');
is($v->{'queue(slow)'}, 1, 'queue: the second request waits in the backend');
is($v->{'avg_queue(slow)'}, 1, 'avg_queue: one waiting per active server');
is($v->{'be_conn_free(slow)'}, 0, 'be_conn_free: backups left out while s1 is up');
is($v->{'connslots(slow)'}, 9, 'connslots: free slots and queue places, backup included');
close $a;
close $b;

$v = probe('/conf');
is(join(' ', map { $v->{$_} } qw(fe_defbe fe_client_timeout srv_weight
    srv_iweight srv_uweight)), 'slow 5000 1 7 7',
    'fe_defbe, fe_client_timeout, srv_weight, srv_iweight, srv_uweight');

$v = probe('/proc');
is($v->{nbproc}, 1, 'nbproc: the workers');
is($v->{proc}, 1, 'proc: this worker, from 1');
is($v->{thread}, 0, 'thread: this worker, from 0');
is($v->{stopping}, 0, 'stopping: not draining');
is($v->{wait_end}, 1, 'wait_end: HTTP rules see final data');
is($v->{hostname}, hostname(), 'hostname: the system host name');
like($v->{uuid}, qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    'uuid: version 4, RFC 4122 variant');
like($v->{uuid4}, qr/^[0-9a-f]{8}-[0-9a-f]{4}-4/, 'uuid(4)');
isnt($v->{uuid}, $v->{uuid4}, 'uuid: a new one each time');
ok($v->{date_us} =~ /^\d+$/ && $v->{date_us} < 1000000, 'date_us: microseconds');

my $t0 = time;
my $r = $t->raw_request($t->port(8081),
    "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
like($r->{data}, qr/^echo$/m, 'wait_end: the content rule accepts at last');
cmp_ok(time - $t0, '>=', 0.29, 'wait_end: not before the inspect-delay ends');

# Bad arguments are refused at load with the line.
for my $bad (['uuid(3)', qr/UUID version 3/], ['req.body_param(a,x)', qr/flag 'x'/],
    ['srv_conn(slow/)', qr/\[<backend>\/\]<server>/]) {
    my ($rc, $out) = $t->check_config(<<"CFG", 'bad.cfg');
defaults
    mode http
frontend f
    bind 127.0.0.1:%%PORT_8085%%
    http-request set-header X %[$bad->[0]]
    default_backend slow
backend slow
    server s1 127.0.0.1:%%PORT_8092%%
CFG
    ok($rc != 0 && $out =~ /bad\.cfg:5:/ && $out =~ $bad->[1], "$bad->[0] refused")
        or diag($out);
}
$t->done_testing;

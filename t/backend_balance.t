#!/usr/bin/perl
# Load balancing: each algorithm's distribution over real requests, weights,
# hashing stability, backup servers, the queue with timeout queue, and
# retries with redispatch.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time);

my $t = Test::Luaproxy->new;
my $servers = join('', map { "    server s$_ 127.0.0.1:%%PORT_809$_%%\n" } 1 .. 4);
$t->write_file_expand('lp.cfg', <<"EOF2");
global
    nbproc 1
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    use_backend %[path,field(2,/)] if { path_beg /rr/ /srr/ /lc/ /first/ /src/ /uri/ /hdr/ /cons/ /consdown/ /map/ /mapdown/ /bk/ /bkall/ /none/ /retry/ /rand/ }
    default_backend rr
backend rr
    balance roundrobin
    server s1 127.0.0.1:%%PORT_8091%% weight 1
    server s2 127.0.0.1:%%PORT_8092%% weight 2
    server s3 127.0.0.1:%%PORT_8093%% weight 3
backend srr
    balance static-rr
    server s1 127.0.0.1:%%PORT_8091%% weight 1
    server s2 127.0.0.1:%%PORT_8092%% weight 3
backend lc
    balance leastconn
$servers
backend first
    balance first
$servers
backend src
    balance source
$servers
backend uri
    balance uri
$servers
backend hdr
    balance hdr(X-Key)
$servers
backend rand
    balance random
$servers
backend cons
    balance hdr(X-Key)
    hash-type consistent
$servers
backend consdown
    balance hdr(X-Key)
    hash-type consistent
    server s1 127.0.0.1:%%PORT_8091%%
    server s2 127.0.0.1:%%PORT_8092%%
    server s3 127.0.0.1:%%PORT_8093%% disabled
    server s4 127.0.0.1:%%PORT_8094%%
backend map
    balance hdr(X-Key)
$servers
backend mapdown
    balance hdr(X-Key)
    server s1 127.0.0.1:%%PORT_8091%%
    server s2 127.0.0.1:%%PORT_8092%%
    server s3 127.0.0.1:%%PORT_8093%% disabled
    server s4 127.0.0.1:%%PORT_8094%%
backend bk
    server s1 127.0.0.1:%%PORT_8091%% disabled
    server s2 127.0.0.1:%%PORT_8092%% backup
    server s3 127.0.0.1:%%PORT_8093%% backup
backend bkall
    option allbackups
    server s1 127.0.0.1:%%PORT_8091%% disabled
    server s2 127.0.0.1:%%PORT_8092%% backup
    server s3 127.0.0.1:%%PORT_8093%% backup
backend none
    server s1 127.0.0.1:%%PORT_8091%% disabled
backend retry
    retries 2
    option redispatch
    server dead 127.0.0.1:%%PORT_8099%%
    server s1 127.0.0.1:%%PORT_8091%%
frontend queue
    bind 127.0.0.1:%%PORT_8081%%
    default_backend slow
frontend queue_long
    bind 127.0.0.1:%%PORT_8082%%
    default_backend slow_long
backend slow
    timeout queue 500ms
    server slow 127.0.0.1:%%PORT_8095%% maxconn 1
backend slow_long
    timeout queue 5s
    server slow 127.0.0.1:%%PORT_8096%% maxconn 1
EOF2

for my $n (1 .. 4) {
    $t->http_origin(8090 + $n, sub { return [200, [], "s$n"] });
}
# Slow origins: one request at a time, 0.8 s each.
for my $n (8095, 8096) {
    my $l = $t->listen_socket($n);
    $t->run_daemon(sub {
        while (my $c = $l->accept) {
            my $buf = '';
            while ($buf !~ /\r\n\r\n/) {
                sysread($c, $buf, 4096, length $buf) or last;
            }
            select(undef, undef, undef, 0.8);
            print $c "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nslow";
            close $c;
        }
    });
    close $l;
}
# port 8099 stays closed: the "dead" server
$t->port(8099);
$t->run;
my $port = $t->port(8080);

$t->plan(20);

# Counts answers per server for <paths>.
sub spread {
    my ($paths, %opts) = @_;
    my %n;
    for my $p (@$paths) {
        my $r = $t->http_get($port, $p, %opts);
        $n{ $r->{status} == 200 ? $r->{body} : "status$r->{status}" }++;
    }
    return \%n;
}

my $n = spread([map { "/rr/$_" } 1 .. 60]);
is_deeply($n, { s1 => 10, s2 => 20, s3 => 30 }, 'roundrobin honours weights 1:2:3');
$n = spread([map { "/srr/$_" } 1 .. 40]);
is_deeply($n, { s1 => 10, s2 => 30 }, 'static-rr honours weights 1:3');
$n = spread([map { "/lc/$_" } 1 .. 40]);
is_deeply($n, { map { ("s$_" => 10) } 1 .. 4 }, 'leastconn: idle servers take turns');
$n = spread([map { "/first/$_" } 1 .. 10]);
is_deeply($n, { s1 => 10 }, 'first: the first server while it has room');
$n = spread([map { "/src/$_" } 1 .. 12]);
is(scalar keys %$n, 1, 'source: one client address, one server');

# uri: a path always goes to the same server, and paths spread out.
my (%by_path, %servers);
for my $i (1 .. 40) {
    my $b1 = $t->http_get($port, "/uri/k$i")->{body};
    my $b2 = $t->http_get($port, "/uri/k$i")->{body};
    $by_path{$i} = $b1 eq $b2;
    $servers{$b1}++;
}
is(scalar(grep { $_ } values %by_path), 40, 'uri: same path, same server');
ok(keys %servers >= 3, 'uri: 40 paths spread over several servers');
my %hdr;
$hdr{ $t->http_get($port, "/hdr/$_", headers => ['X-Key' => 'same'])->{body} }++
    for 1 .. 8;
is(scalar keys %hdr, 1, 'hdr(X-Key): same header value, same server');
$n = spread([map { "/rand/$_" } 1 .. 80]);
ok(keys(%$n) == 4 && !(grep { $_ < 5 } values %$n),
    'random: every server used');

# Consistent hashing: with s3 down, only s3's keys move; map-based moves
# many more. The key is a header, the same for both backends.
sub moved {
    my ($all, $down) = @_;
    my ($kept, $other) = (0, 0);
    for my $i (1 .. 200) {
        my @h = (headers => ['X-Key' => "key$i"]);
        my $a = $t->http_get($port, "/$all/x", @h)->{body};
        my $b = $t->http_get($port, "/$down/x", @h)->{body};
        next if $a eq 's3';
        $other++;
        $kept++ if $a eq $b;
    }
    return $other ? $kept / $other : 0;
}
my $cons = moved('cons', 'consdown');
is($cons, 1, 'consistent: keys not on the down server all stay');
my $map = moved('map', 'mapdown');
ok($map < 0.8, "map-based: many keys move (kept " . int($map * 100) . "%)");

$n = spread([map { "/bk/$_" } 1 .. 6]);
is_deeply($n, { s2 => 6 }, 'only the first backup serves when actives are down');
$n = spread([map { "/bkall/$_" } 1 .. 6]);
is_deeply($n, { s2 => 3, s3 => 3 }, 'option allbackups: every backup serves');
my $t0 = time;
is($t->http_get($port, '/none/x')->{status}, 503, 'no usable server: 503');
ok(time - $t0 < 0.9, 'no usable server: at once (connect timeout 1s)');
is($t->http_get($port, '/retry/x')->{body}, 's1',
    'a refused connection is retried on another server (redispatch)');

# Queue: maxconn 1 and a 0.8 s response. With timeout queue 500ms the
# second request gets 503; with 5 s it waits its turn.
my @r = $t->http_get_many($t->port(8081), ['/a', '/b']);
my @st = sort map { $_->{status} } @r;
is_deeply(\@st, [200, 503], 'queue: timeout queue expires with 503');
$t0 = time;
@r = $t->http_get_many($t->port(8082), ['/a', '/b', '/c']);
@st = map { $_->{status} } @r;
is_deeply(\@st, [200, 200, 200], 'queue: waiting requests are all served');
my $took = time - $t0;
ok($took >= 2.2, "queue: one at a time ($took s for 3 x 0.8 s)");
is($t->http_get($port, '/rr/x')->{status}, 200, 'still serving');

#!/usr/bin/perl
# 10 000 idle keep-alive client connections are held open while requests on
# other connections are served with their usual latency; the idle ones stay
# usable; once they close, the worker's fd count is back where it was.
#
# Both this process and the server need an fd each per idle connection: if
# the soft RLIMIT_NOFILE is too low and the hard limit allows it, the file
# re-runs itself under "ulimit -n"; otherwise it scales the count down to
# what the limit allows and says so.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy qw(fd_count fds_settle rss_kb);
use Errno qw(EAGAIN EINTR);
use IO::Select;
use POSIX ();
use Socket qw(PF_INET SOCK_STREAM pack_sockaddr_in inet_aton);
use Time::HiRes qw(time sleep);

use constant WANT   => 10_000;
use constant MARGIN => 256;    # fds for everything else
use constant BATCH  => 250;    # connections opened (and answered) at a time

# Soft and hard "Max open files" of this process, from /proc/self/limits.
sub nofile_limits {
    open(my $fh, '<', '/proc/self/limits') or return (1024, 1024);
    while (<$fh>) {
        next unless /^Max open files\s+(\S+)\s+(\S+)/;
        return map { $_ eq 'unlimited' ? 1 << 30 : $_ } ($1, $2);
    }
    return (1024, 1024);
}

my ($soft, $hard) = nofile_limits();
if ($soft < WANT + MARGIN && $hard > $soft && !$ENV{LUAPROXY_IDLE_REEXEC}) {
    my $n = $hard < WANT + MARGIN ? $hard : WANT + MARGIN;
    $ENV{LUAPROXY_IDLE_REEXEC} = 1;
    exec('/bin/sh', '-c', 'ulimit -n "$0" && exec "$1" "$2"', $n, $^X,
        "$FindBin::Bin/$FindBin::Script");
    die "exec sh: $!\n";
}
my $count = $soft - MARGIN < WANT ? $soft - MARGIN : WANT;

my $t = Test::Luaproxy->new(timeout => 90);
$t->skip_all("open file limit $soft is too low for idle connections")
    if $count < 500;

$t->write_file_expand('lp.cfg', <<"EOF2");
global
    nbproc 1
    maxconn @{[ $count + 200 ]}
defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 5s
    timeout http-request 5s
    timeout http-keep-alive 60s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    http-request return status 200 content-type text/plain string ok if { path /local }
    default_backend origin
backend origin
    http-reuse never
    server o1 127.0.0.1:%%PORT_8091%%
EOF2

$t->http_origin(8091,
    sub { [200, ['content-type' => 'text/plain'], "origin\n"] });
$t->run;
my $port = $t->port(8080);
my ($wpid) = $t->worker_pids;

# Latencies (s, sorted) of <n> requests on fresh connections, alternating
# a local answer and a proxied one, and the number of failures. Measured in
# a child that first closes its copies of <held>, so that its sockets get
# low fd numbers: select() over fd 10 000 would slow this side, not the
# proxy.
sub latencies {
    my ($n, @held) = @_;
    pipe(my $r, my $w) or die "pipe: $!\n";
    my $pid = fork() // die "fork: $!\n";
    if ($pid == 0) {
        close $r;
        close $_ for @held;
        my ($failed, @lat) = (0);
        for my $i (1 .. $n) {
            my $t0 = time;
            my $resp = $t->http_get($port, $i % 2 ? '/local' : '/proxied',
                timeout => 3);
            push @lat, time - $t0;
            $failed++ unless ($resp->{status} // 0) == 200;
        }
        print $w "$failed @lat\n";
        close $w;
        POSIX::_exit(0);
    }
    close $w;
    my $line = <$r> // '';
    waitpid($pid, 0);
    my ($failed, @lat) = split ' ', $line;
    return ([sort { $a <=> $b } @lat], $failed // $n);
}

# Open one batch of connections, each sending a keep-alive request; returns
# those whose answer came (a 200, connection left open).
sub open_batch {
    my ($n) = @_;
    my (@socks, %buf);
    for (1 .. $n) {
        socket(my $s, PF_INET, SOCK_STREAM, 0) or last;
        connect($s, pack_sockaddr_in($port, inet_aton('127.0.0.1'))) or last;
        $s->blocking(0);
        syswrite($s, "GET /local HTTP/1.1\r\nHost: a\r\n\r\n");
        push @socks, $s;
        $buf{ fileno $s } = '';
    }
    my $sel = IO::Select->new(@socks);
    my ($deadline, @ok) = (time + 10);
    while ($sel->count && time < $deadline) {
        for my $s ($sel->can_read(0.5)) {
            my $buf = \$buf{ fileno $s };
            my $n = sysread($s, $$buf, 4096, length $$buf);
            next if !defined $n && ($! == EAGAIN || $! == EINTR);
            if ($n && $$buf =~ m{\AHTTP/1\.1 200 .*\r\n\r\nok\z}s) {
                push @ok, $s;
            } elsif ($n) {
                next;    # not all of it yet
            }
            $sel->remove($s);
        }
    }
    return @ok;
}

$t->plan(12);
diag("holding $count idle connections"
        . ($count < WANT ? ' (scaled down: open file limit is ' . $soft . ')'
        : ''));

# Baseline: fds and latency with nothing held.
$t->http_get($port, '/local');
$t->http_get($port, '/proxied');
sleep 1.5;    # the warm-up connections' lingering close (1 s)
my $base = fd_count($wpid);
my $rss0 = rss_kb($wpid);
my ($lat0) = latencies(40);
$base = fds_settle($wpid, $base, 3);

# Open the idle connections, each after one request: keep-alive idle.
my $t0 = time;
my @idle;
while (@idle < $count) {
    my $n = $count - @idle < BATCH ? $count - @idle : BATCH;
    my @got = open_batch($n);
    push @idle, @got;
    last if @got < $n;
}
my $opened = time - $t0;
is(scalar @idle, $count, "$count keep-alive connections opened and served");
cmp_ok(fd_count($wpid), '>=', $base + $count,
    'the worker holds a descriptor for each');
my $rss1 = rss_kb($wpid);
diag(sprintf('opened in %.1f s; worker RSS %d -> %d kB (%.1f kB each)',
        $opened, $rss0, $rss1, ($rss1 - $rss0) / ($count || 1)));
cmp_ok(($rss1 - $rss0) / ($count || 1), '<', 16,
    'an idle connection costs the worker less than 16 kB (no buffer held)');

# Requests on other connections are served, with the usual latency.
my ($lat1, $failed) = latencies(40, @idle);
my $med0 = $lat0->[@$lat0 / 2];
my $med1 = $lat1->[@$lat1 / 2];
diag(sprintf('latency median %.2f ms, max %.2f ms; with the idle ones: '
            . 'median %.2f ms, max %.2f ms', 1000 * $med0,
        1000 * $lat0->[-1], 1000 * $med1, 1000 * $lat1->[-1]));
is($failed, 0, 'requests on other connections are all served');
cmp_ok($med1, '<', 5 * $med0 + 0.010,
    'their median latency stays near the baseline');
cmp_ok($lat1->[-1], '<', 0.5, 'and none takes more than 0.5 s');

# None of the idle connections was closed, and they are still usable.
my @readable;
for (my $i = 0; $i < @idle; $i += 1000) {
    my $last = $i + 999 < $#idle ? $i + 999 : $#idle;
    my $part = IO::Select->new(@idle[$i .. $last]);
    push @readable, $part->can_read(0);
}
is(scalar @readable, 0, 'no idle connection was closed or written to');
my $ok = 0;
for my $s (@idle[map { int($_ * @idle / 10) } 0 .. 9]) {
    syswrite($s, "GET /proxied HTTP/1.1\r\nHost: a\r\n\r\n");
    my ($buf, $one, $deadline) = ('', IO::Select->new($s), time + 3);
    while ($buf !~ /origin\n/ && time < $deadline) {
        next unless $one->can_read(0.2);
        last unless sysread($s, $buf, 4096, length $buf);
    }
    $ok++ if $buf =~ m{\AHTTP/1\.1 200 .*origin\n\z}s;
}
is($ok, 10, 'idle connections are still usable (10 sampled)');

# Close them all: the fd count comes back.
$t0 = time;
close $_ for @idle;
@idle = ();
my $after = fds_settle($wpid, $base, 15);
is($after, $base, "fd count back to $base after they close");
diag(sprintf('fds back in %.1f s', time - $t0));
is($t->http_get($port, '/local')->{status}, 200, 'the worker still serves');
is($t->http_get($port, '/proxied')->{status}, 200,
    'the worker still proxies');
diag('worker RSS after they closed: ' . rss_kb($wpid) . ' kB');
is_deeply([$t->worker_pids], [$wpid], 'the same worker served throughout');

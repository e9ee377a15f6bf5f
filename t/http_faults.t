#!/usr/bin/perl
# Faults on either side of the proxy leave nothing behind: a client that
# disappears mid-upload gets its server connection closed; Expect:
# 100-continue goes through both ways (100 then body, or a final answer
# without the body); after each fault (server closes mid-body, invalid
# response, silent server, client reset mid-response) the worker still
# serves and its fd count is back where it was; a slow reader of a 50 MB
# response does not make the worker buffer it (back-pressure); a 20 MB
# chunked upload reaches the origin intact.
#
# Every backend says "http-reuse never" so that the worker's fd count is
# exact between tests (an idle pooled server connection is not a leak, but
# would make the count depend on the pool's state).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy qw(fd_count fds_settle rss_kb binary_has);
use Digest::SHA;
use Errno qw(EAGAIN EINTR);
use IO::Select;
use Socket qw(PF_INET SOCK_STREAM SOL_SOCKET SO_LINGER SO_RCVBUF
    pack_sockaddr_in inet_aton);
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new(timeout => 150);

# Under AddressSanitizer freed memory waits in a quarantine (256 MB by
# default) before reuse, so the worker's RSS would grow with the bytes that
# passed through even with perfect back-pressure; a small quarantine keeps
# the RSS check meaningful (and still catches most use-after-free).
if (binary_has($t->binary, '__asan_init')) {
    $ENV{ASAN_OPTIONS} = join(':', grep { defined && length }
            $ENV{ASAN_OPTIONS}, 'quarantine_size_mb=4');
}

$t->write_file_expand('lp.cfg', <<'EOF2');
global
    nbproc 1
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout http-request 2s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    http-request return status 200 content-type text/plain string ok if { path /local }
    use_backend upload if { path_beg /upload }
    use_backend digest if { path_beg /digest } || { path_beg /expect }
    use_backend big if { path_beg /big }
    use_backend broken if { path_beg /broken }
    use_backend silent if { path_beg /silent }
    default_backend origin
backend origin
    http-reuse never
    server o1 127.0.0.1:%%PORT_8091%%
backend upload
    http-reuse never
    timeout server 8s
    server u1 127.0.0.1:%%PORT_8092%%
backend digest
    http-reuse never
    server d1 127.0.0.1:%%PORT_8093%%
backend big
    http-reuse never
    timeout server 8s
    server b1 127.0.0.1:%%PORT_8094%%
backend broken
    http-reuse never
    server x1 127.0.0.1:%%PORT_8095%%
backend silent
    http-reuse never
    timeout server 1s
    server s1 127.0.0.1:%%PORT_8096%%
EOF2

my $events = $t->testdir . '/events.log';

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# A daemon's report: one line appended to events.log.
sub report {
    my ($line) = @_;
    open(my $fh, '>>', $events) or return;
    print $fh "$line\n";
    close $fh;
}

# Wait (bounded) until an events.log line matches <re>; the captures
# (or 1) on success, () on timeout.
sub wait_event {
    my ($re, $wait) = @_;
    my $deadline = time + ($wait // 5);
    while (1) {
        if (open(my $fh, '<', $events)) {
            while (my $line = <$fh>) {
                my @m = $line =~ $re;
                return @m ? @m : (1) if @m;
            }
        }
        return () if time > $deadline;
        sleep 0.02;
    }
}

# Read a message head from a blocking socket within <wait> seconds; the head
# and whatever followed it, or () on timeout or EOF.
sub read_head {
    my ($c, $wait) = @_;
    my ($buf, $sel, $deadline) = ('', IO::Select->new($c), time + $wait);
    while (index($buf, "\r\n\r\n") < 0) {
        return () if time > $deadline;
        next unless $sel->can_read(0.2);
        my $n = sysread($c, $buf, 65536, length $buf);
        return () unless $n;
    }
    my $end = index($buf, "\r\n\r\n") + 4;
    return (substr($buf, 0, $end), substr($buf, $end));
}

# Keep reading (and dropping) what the peer sends until EOF or <wait>
# seconds, after our answer was sent: a lingering close, so that the peer
# reads our answer instead of a reset.
sub linger_close {
    my ($c, $wait) = @_;
    shutdown($c, 1);
    my ($sel, $deadline) = (IO::Select->new($c), time + $wait);
    while (time < $deadline) {
        next unless $sel->can_read(0.1);
        my $n = sysread($c, my $junk, 65536);
        last unless $n;
    }
    close $c;
}

# 64 KB of the big origin's body pattern, block number <i>.
sub pattern_block {
    my ($i) = @_;
    my $line = sprintf("block %08d ", $i);
    return substr($line x (65536 / length($line) + 1), 0, 65536);
}

# Digest and length of the big origin's body of <len> bytes.
sub pattern_digest {
    my ($len) = @_;
    my $sha = Digest::SHA->new(256);
    for (my ($i, $left) = (0, $len); $left > 0; $i++, $left -= 65536) {
        $sha->add(substr(pattern_block($i), 0, $left < 65536 ? $left : 65536));
    }
    return $sha->hexdigest;
}

# A non-blocking loopback client socket to <port>; <rcvbuf> sets a small
# receive buffer before connecting (a slow reader's window).
sub client {
    my ($port, $rcvbuf) = @_;
    socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!\n";
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, $rcvbuf) or die "rcvbuf: $!\n"
        if $rcvbuf;
    connect($s, pack_sockaddr_in($port, inet_aton('127.0.0.1')))
        or die "connect: $!\n";
    $s->blocking(0);
    return $s;
}

# Close a socket with a reset (SO_LINGER 0) instead of a FIN.
sub reset_close {
    my ($s) = @_;
    setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    close $s;
}

# Write all of <bytes> to a non-blocking socket, reading whatever comes back
# into $$inref meanwhile; stops early when <stop> says so on what was read.
# Returns the bytes written.
sub send_while_reading {
    my ($s, $bytes, $inref, $stop, $wait) = @_;
    my ($sent, $deadline) = (0, time + ($wait // 10));
    my $sel = IO::Select->new($s);
    while ($sent < length $bytes && time < $deadline) {
        last if $stop && $stop->($$inref);
        my ($r, $w) = IO::Select->select($sel, $sel, undef, 0.2);
        if ($r && @$r) {
            my $n = sysread($s, $$inref, 65536, length $$inref);
            last if defined $n && $n == 0;
        }
        next unless $w && @$w;
        my $n = syswrite($s, $bytes, 262144, $sent);
        if (defined $n) {
            $sent += $n;
        } elsif ($! != EAGAIN && $! != EINTR) {
            last;
        }
    }
    return $sent;
}

# Read from a non-blocking socket into $$bufref until <done> on it, EOF or
# <wait> seconds. Returns 1 on EOF.
sub read_until {
    my ($s, $bufref, $done, $wait) = @_;
    my ($sel, $deadline) = (IO::Select->new($s), time + ($wait // 5));
    while (!$done->($$bufref) && time < $deadline) {
        next unless $sel->can_read(0.1);
        my $n = sysread($s, $$bufref, 65536, length $$bufref);
        next if !defined $n && ($! == EAGAIN || $! == EINTR);
        return 1 unless $n;
    }
    return 0;
}

# ---------------------------------------------------------------------------
# Origins
# ---------------------------------------------------------------------------

# 8091: an ordinary origin.
$t->http_origin(8091,
    sub { [200, ['content-type' => 'text/plain'], "origin\n"] });

# 8092: takes an upload and never answers; reports how much body came and
# how the connection ended (EOF or reset), so the test sees when the proxy
# closed the server side.
my $l = $t->listen_socket(8092);
$t->run_daemon(sub {
    while (my $c = $l->accept) {
        my ($head, $got) = read_head($c, 5) or next;
        my ($id) = $head =~ m{^POST /upload/(\w+)};
        $id //= 'unknown';
        $got = length $got;
        report("upload $id accepted");
        my ($sel, $deadline, $last) = (IO::Select->new($c), time + 20, 0);
        my $end = 'stalled';
        while (time < $deadline) {
            next unless $sel->can_read(0.2);
            my $n = sysread($c, my $chunk, 65536);
            if (!$n) {
                $end = defined $n ? 'eof' : 'reset';
                last;
            }
            $got += $n;
            next if $got - $last < 65536;
            report("upload $id got $got");
            $last = $got;
        }
        report("upload $id $end after $got");
        close $c;
    }
});
close $l;

# 8093: digests request bodies (chunked or Content-Length) and answers with
# "LENGTH DIGEST"; /expect/continue first sends "100 Continue" when asked,
# /expect/NNN answers NNN at once without reading any body.
$l = $t->listen_socket(8093);
$t->run_daemon(sub {
    while (my $c = $l->accept) {
        my ($head, $rest) = read_head($c, 5) or next;
        my ($path) = $head =~ m{^\S+ (\S+)};
        if ($path =~ m{^/expect/(4\d\d)}) {
            report("digest $path answered $1");
            print $c "HTTP/1.1 $1 Refused\r\nContent-Length: 7\r\n"
                . "Connection: close\r\n\r\nrefused";
            linger_close($c, 3);
            next;
        }
        if ($head =~ /^expect:\s*100-continue\r?$/mi) {
            report("digest $path sent 100");
            print $c "HTTP/1.1 100 Continue\r\n\r\n";
        }
        my ($len, $digest) = $head =~ /^transfer-encoding:\s*chunked/mi
            ? read_chunked($c, $rest) : read_clen($c, $head, $rest);
        $digest //= 'bad-framing';
        report("digest $path $len $digest");
        my $body = "$len $digest\n";
        print $c "HTTP/1.1 200 OK\r\nContent-Length: " . length($body)
            . "\r\nConnection: close\r\n\r\n$body";
        linger_close($c, 1);
    }
});
close $l;

# Read a Content-Length body; (length, digest).
sub read_clen {
    my ($c, $head, $buf) = @_;
    my ($want) = $head =~ /^content-length:\s*(\d+)/mi;
    my $sha = Digest::SHA->new(256);
    my ($got, $sel, $deadline) = (0, IO::Select->new($c), time + 20);
    $want //= 0;
    while (1) {
        $got += length $buf;
        $sha->add($buf);
        last if $got >= $want || time > $deadline;
        $buf = '';
        next unless $sel->can_read(0.2);
        last unless sysread($c, $buf, 65536);
    }
    return ($got, $sha->hexdigest);
}

# Decode a chunked body as it arrives; (length, digest), digest undef on bad
# framing or a cut stream.
sub read_chunked {
    my ($c, $buf) = @_;
    my $sha = Digest::SHA->new(256);
    my ($len, $left, $sel, $deadline) = (0, -1, IO::Select->new($c),
        time + 30);
    while (time < $deadline) {
        if ($left < 0 && $buf =~ s/\A([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            $left = hex $1;
            if ($left == 0) {
                # last chunk: no trailers expected, just the final CRLF
                my $ok = read_until_blocking($c, \$buf, 2, $deadline);
                return ($len,
                    $ok && $buf =~ /\A\r\n/ ? $sha->hexdigest : undef);
            }
            next;
        }
        if ($left > 0 && length $buf) {
            my $take = length $buf < $left ? length $buf : $left;
            $sha->add(substr($buf, 0, $take, ''));
            ($len, $left) = ($len + $take, $left - $take);
            next;
        }
        if ($left == 0 && length($buf) >= 2) {
            return ($len, undef) unless $buf =~ s/\A\r\n//;
            $left = -1;
            next;
        }
        return ($len, undef) if $left < 0 && length($buf) > 64;
        next unless $sel->can_read(0.2);
        return ($len, undef) unless sysread($c, $buf, 262144, length $buf);
    }
    return ($len, undef);
}

# Read until $$bufref holds at least <n> bytes or the deadline; 1 if it does.
sub read_until_blocking {
    my ($c, $bufref, $n, $deadline) = @_;
    my $sel = IO::Select->new($c);
    while (length($$bufref) < $n && time < $deadline) {
        next unless $sel->can_read(0.2);
        return 0 unless sysread($c, $$bufref, 4096, length $$bufref);
    }
    return length($$bufref) >= $n;
}

# 8094: GET /big/N/ID answers N bytes of the pattern; reports its progress
# (every MB) and whether it could send everything.
$l = $t->listen_socket(8094);
$t->run_daemon(sub {
    while (my $c = $l->accept) {
        my ($head) = read_head($c, 5) or next;
        my ($size, $id) = $head =~ m{^GET /big/(\d+)/(\w+)} or next;
        print $c "HTTP/1.1 200 OK\r\nContent-Length: $size\r\n"
            . "Connection: close\r\n\r\n";
        $c->blocking(0);
        my ($sel, $sent, $i, $deadline) = (IO::Select->new($c), 0, 0,
            time + 30);
        my ($block, $off, $end) = ('', 0, 'stalled');
        while (time < $deadline) {
            if ($off >= length $block) {
                last if $sent >= $size;
                $block = pattern_block($i++);
                $block = substr($block, 0, $size - $sent)
                    if $size - $sent < length $block;
                $off = 0;
            }
            next unless $sel->can_write(0.2);
            my $n = syswrite($c, $block, length($block) - $off, $off);
            if (!defined $n) {
                next if $! == EAGAIN || $! == EINTR;
                $end = 'aborted';
                last;
            }
            $off += $n;
            report("big $id progress $sent")
                if int(($sent + $n) / 1048576) > int($sent / 1048576);
            $sent += $n;
        }
        $end = 'sent' if $sent >= $size;
        report("big $id $end $sent");
        close $c;
    }
});
close $l;

# 8095: a server that answers garbage or closes mid-body, by path.
$l = $t->listen_socket(8095);
$t->run_daemon(sub {
    my %answers = (
        garbage    => "HTTP/1.1 2OO Fine\r\nContent-Length: 2\r\n\r\nok",
        'cl-short' => "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-part",
        'chunk-cut' => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            . "5\r\nhello\r\n",
    );
    while (my $c = $l->accept) {
        my ($head) = read_head($c, 5) or next;
        my ($what) = $head =~ m{^GET /broken/([\w-]+)};
        print $c $answers{ $what // '' } // '';
        close $c;
    }
});
close $l;

# 8096: a server that accepts and never answers.
$l = $t->listen_socket(8096);
$t->run_daemon(sub {
    my @held;
    while (my $c = $l->accept) { push @held, $c }
});
close $l;

$t->run;
my $port = $t->port(8080);
my ($wpid) = $t->worker_pids;

# Warm up every path once, so that lazily opened descriptors (logs, pools)
# are in the baseline; then let their lingering closes (1 s) end.
$t->http_get($port, '/local');
$t->http_get($port, '/warm');
$t->http_get($port, '/broken/garbage');
sleep 1.5;
my $base = fd_count($wpid);
diag("worker $wpid: $base fds at rest");

# The worker serves and its fd count is back to the baseline.
sub still_fine {
    my ($what) = @_;
    is($t->http_get($port, '/local')->{status}, 200, "$what: worker serves");
    is($t->http_get($port, '/proxied')->{status}, 200,
        "$what: worker proxies");
    is(fds_settle($wpid, $base), $base, "$what: fd count back to $base");
}

# ---------------------------------------------------------------------------
# 1. A client that disappears mid-upload
# ---------------------------------------------------------------------------

# A reset, or a FIN (the client half-closes: its request can never be
# completed): either way the proxy should close the server side at once.
for my $how (qw(reset fin)) {
    my $s = client($port);
    my $head = "POST /upload/$how HTTP/1.1\r\nHost: a\r\n"
        . "Content-Length: 10485760\r\n\r\n";
    my $in = '';
    send_while_reading($s, $head . ('u' x 102400), \$in);
    ok(wait_event(qr/^upload $how got (\d+)/, 5),
        "upload cut by $how: the body was flowing to the origin");
    my $t0 = time;
    if ($how eq 'reset') {
        reset_close($s);
    } else {
        shutdown($s, 1);
    }
    ok(wait_event(qr/^upload $how (eof|reset) after/, 3),
        "upload cut by $how: the origin's connection closed within 3 s");
    if ($how eq 'fin') {
        read_until($s, \$in, sub { 0 }, 10);
        diag(sprintf('upload cut by fin: the client got "%s" after %.1f s',
                $in =~ /\A([^\r\n]*)/ ? $1 : '', time - $t0));
        close $s;
    }
    my ($end, $got) = wait_event(
        qr/^upload $how (eof|reset|stalled) after (\d+)/, 10);
    like($end // 'nothing', qr/\A(eof|reset)\z/,
        "upload cut by $how: the origin's connection was closed in the end");
    cmp_ok($got // 0, '<=', 102400,
        "upload cut by $how: no more than what the client sent reached it");
    still_fine("upload cut by $how");
}

# A half-close after a complete request is no fault: the answer still comes
# (a fix for the FIN case above must abort only an incomplete body).
{
    my $r = $t->raw_request($port, "GET /proxied HTTP/1.1\r\nHost: a\r\n\r\n",
        shutdown_write => 1, timeout => 3);
    like($r->{data}, qr{\AHTTP/1\.1 200 .*origin\n\z}s,
        'half-close after a complete GET: answered');
    my $body = 'x' x 100000;
    $r = $t->raw_request($port, "POST /digest/half HTTP/1.1\r\nHost: a\r\n"
        . "Content-Length: 100000\r\n\r\n$body", shutdown_write => 1,
        timeout => 3);
    my $want = '100000 ' . Digest::SHA::sha256_hex($body);
    like($r->{data}, qr{\AHTTP/1\.1 200 .*\r\n\r\n\Q$want\E\n\z}s,
        'half-close after a complete POST body: answered');
}

# ---------------------------------------------------------------------------
# 2. Expect: 100-continue
# ---------------------------------------------------------------------------

{
    my $body = join('', map { chr(($_ * 7) % 256) } 0 .. 102399);
    my $s = client($port);
    my $in = '';
    send_while_reading($s, "POST /expect/continue HTTP/1.1\r\nHost: a\r\n"
        . "Content-Length: " . length($body) . "\r\n"
        . "Expect: 100-continue\r\n\r\n", \$in);
    read_until($s, \$in, sub { $_[0] =~ /\r\n\r\n/ }, 3);
    like($in, qr{\AHTTP/1\.1 100 [^\r\n]*\r\n\r\n\z},
        '100-continue: the client gets the 100 before sending the body');
    $in = '';
    send_while_reading($s, $body, \$in);
    read_until($s, \$in, sub { $_[0] =~ /\r\n\r\n.*\n/s }, 5);
    my $want = length($body) . ' ' . Digest::SHA::sha256_hex($body);
    like($in, qr{\AHTTP/1\.1 200 .*\r\n\r\n\Q$want\E\n}s,
        '100-continue: then the final response, for the whole body');
    close $s;

    for my $status (417, 413) {
        $s = client($port);
        $in = '';
        send_while_reading($s, "POST /expect/$status HTTP/1.1\r\nHost: a\r\n"
            . "Content-Length: 1048576\r\nExpect: 100-continue\r\n\r\n", \$in);
        read_until($s, \$in, sub { $_[0] =~ /\r\n\r\n.*refused/s }, 3);
        like($in, qr{\AHTTP/1\.1 $status }, "Expect and a $status from the "
            . "origin without reading: the client gets the $status");
        close $s;
    }

    # the same without Expect: the client is busy sending 10 MB when the
    # origin refuses; it still gets the answer
    $s = client($port);
    $in = '';
    send_while_reading($s, "POST /expect/413 HTTP/1.1\r\nHost: a\r\n"
        . "Content-Length: 10485760\r\n\r\n" . ('b' x 10485760), \$in,
        sub { $_[0] =~ /refused/ }, 10);
    read_until($s, \$in, sub { $_[0] =~ /refused/ }, 3);
    like($in, qr{\AHTTP/1\.1 413 },
        '413 while the client is still sending its body: the client gets it');
    close $s;
    still_fine('Expect');
}

# ---------------------------------------------------------------------------
# 4. After each fault class, the worker serves and nothing leaked
# ---------------------------------------------------------------------------

{
    my $g = $t->http_get($port, '/broken/garbage');
    is($g->{status}, 502, 'invalid response: 502');
    still_fine('invalid response');

    my $r = $t->raw_request($port,
        "GET /broken/cl-short HTTP/1.1\r\nHost: a\r\n\r\n", timeout => 3);
    like($r->{data}, qr{^HTTP/1\.1 200 .*only-part}s,
        'server closes mid-body: what came is passed on');
    ok($r->{closed}, 'server closes mid-body: then the client connection');
    still_fine('server closes mid-body');

    $r = $t->raw_request($port,
        "GET /broken/chunk-cut HTTP/1.1\r\nHost: a\r\n\r\n", timeout => 3);
    unlike($r->{data}, qr/\r\n0\r\n\r\n\z/,
        'cut chunked response: no fake end');
    ok($r->{closed}, 'cut chunked response: connection closed');
    still_fine('cut chunked response');

    my $s = $t->http_get($port, '/silent', timeout => 5);
    is($s->{status}, 504, 'server never answers: 504');
    still_fine('server never answers');

    # client reset mid-response of a large body
    my $c = client($port);
    my $in = '';
    send_while_reading($c, "GET /big/20971520/rst HTTP/1.1\r\nHost: a\r\n\r\n",
        \$in);
    read_until($c, \$in, sub { length $_[0] >= 1048576 }, 5);
    cmp_ok(length $in, '>=', 1048576, 'client reset mid-response: 1 MB came');
    reset_close($c);
    my ($end, $sent) = wait_event(qr/^big rst (aborted|sent|stalled) (\d+)/,
        12);
    is($end, 'aborted', 'client reset mid-response: the origin\'s '
        . 'connection was closed before the body was all sent');
    still_fine('client reset mid-response');
}

# ---------------------------------------------------------------------------
# 5. A slow reader of a 50 MB response: the worker does not buffer it
# ---------------------------------------------------------------------------

{
    my $size = 50 * 1048576;
    my $rss0 = rss_kb($wpid);
    my $c = client($port, 32768);
    my $in = '';
    send_while_reading($c,
        "GET /big/$size/slow HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        \$in);
    read_until($c, \$in, sub { $_[0] =~ /\r\n\r\n/ }, 5);
    my ($head) = $in =~ /\A(.*?\r\n\r\n)/s;
    my $sha = Digest::SHA->new(256);
    my $got = 0;
    my $eat = sub {
        my $body = substr($in, length($head // ''));
        $in = '';
        $head = '';
        $sha->add($body);
        $got += length $body;
    };
    $eat->();
    # read about 16 KB every 20 ms for 3 s: ~2.4 MB while the origin could
    # push all 50 MB in a fraction of a second
    my $rss_max = $rss0;
    my $until = time + 3;
    while (time < $until) {
        sleep 0.02;
        my $n = sysread($c, $in, 16384);
        $eat->() if $n;
        my $rss = rss_kb($wpid);
        $rss_max = $rss if $rss > $rss_max;
    }
    my $last_progress = 0;
    if (open(my $fh, '<', $events)) {
        /^big slow progress (\d+)/ and $last_progress = $1 while <$fh>;
    }
    diag(sprintf('slow reader: read %.1f MB in 3 s, origin sent %.1f MB, '
            . 'worker RSS %d -> %d kB', $got / 1048576,
            $last_progress / 1048576, $rss0, $rss_max));
    cmp_ok($rss_max - $rss0, '<', 16 * 1024,
        'slow reader: the worker\'s RSS grew by less than 16 MB (body 50 MB)');
    cmp_ok($last_progress, '<', 30 * 1048576,
        'slow reader: the origin was held back (back-pressure to the server)');
    # now read the rest quickly: everything arrives intact
    read_until($c, \$in, sub { $eat->(); $got >= $size }, 20);
    $eat->();
    is($got, $size, 'slow reader: then the whole 50 MB arrives');
    is($sha->hexdigest, pattern_digest($size), 'slow reader: intact');
    close $c;
    still_fine('slow reader');
}

# ---------------------------------------------------------------------------
# 6. A 20 MB chunked upload arrives intact
# ---------------------------------------------------------------------------

{
    my $size = 20 * 1048576;
    my ($body, $wire) = ('', '');
    my $seed = 12345;
    my $sha = Digest::SHA->new(256);
    my $left = $size;
    my $i = 0;
    while ($left > 0) {
        # chunk sizes from 1 byte to 256 KB, hex in both cases
        $seed = ($seed * 1103515245 + 12345) % 2147483648;
        my $n = 1 + $seed % 262144;
        $n = 1 + $i if $i < 40;
        $n = $left if $n > $left;
        my $data = substr(pattern_block($i) x 5, $seed % 1000, $n);
        $sha->add($data);
        my $hex = sprintf($i % 2 ? '%x' : '%X', $n);
        $wire .= "$hex\r\n$data\r\n";
        $left -= $n;
        $i++;
    }
    $wire .= "0\r\n\r\n";
    my $c = client($port);
    my $in = '';
    my $sent = send_while_reading($c, "POST /digest/chunked HTTP/1.1\r\n"
        . "Host: a\r\nTransfer-Encoding: chunked\r\n\r\n" . $wire, \$in,
        undef, 30);
    read_until($c, \$in, sub { $_[0] =~ /\r\n\r\n.*\n/s }, 10);
    my $want = $size . ' ' . $sha->hexdigest;
    like($in, qr{\AHTTP/1\.1 200 .*\r\n\r\n\Q$want\E\n}s,
        "20 MB chunked upload in $i chunks: the origin got it intact");
    close $c;
    still_fine('chunked upload');
}

is_deeply([$t->worker_pids], [$wpid], 'the same worker served throughout');
$t->done_testing;

#!/usr/bin/perl
# Traffic logs through real requests: UDP syslog (formats, len, levels),
# a unix datagram socket, stdout, "log global" and defaults inheritance,
# "no log", log-tag, option httplog/tcplog, the "Connect from" line,
# dontlognull, every log-format variable, %U and %B per request on a
# keep-alive connection, and a unix socket nobody reads
# that must never slow requests down.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use IO::Socket::INET;
use IO::Socket::UNIX;
use Socket qw(SOCK_DGRAM SOL_SOCKET SO_RCVBUF);
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new;
my $udp = IO::Socket::INET->new(LocalAddr => '127.0.0.1:0', Proto => 'udp')
    or die "udp: $!";
my $uport = $udp->sockport;
my $dir = $t->testdir;
my $dg = IO::Socket::UNIX->new(Local => "$dir/log.sock", Type => SOCK_DGRAM)
    or die "unix: $!";
# a socket that is never read, with the smallest buffer the kernel allows
my $full = IO::Socket::UNIX->new(Local => "$dir/full.sock", Type => SOCK_DGRAM)
    or die "unix: $!";
setsockopt($full, SOL_SOCKET, SO_RCVBUF, 1);

$t->write_file_expand('lp.cfg', <<"EOF2");
global
    nbproc 1
    log 127.0.0.1:$uport local0
    log-tag gtag
defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 1s
    timeout client 3s
    timeout server 2s
frontend fe_http
    bind 127.0.0.1:%%PORT_8080%%
    log 127.0.0.1:$uport len 120 format rfc5424 local1 info
    log 127.0.0.1:$uport format short local2 err
    log $dir/log.sock format raw daemon
    log stdout format raw daemon
    http-request return status 200 content-type text/plain string local if { path /local }
    default_backend origin
frontend fe_vars
    bind 127.0.0.1:%%PORT_8081%%
    no log
    log 127.0.0.1:$uport format raw local0
    log-tag vtag
    log-format "V %ci|%cp|%fi|%fp|%f|%ft|%b|%s|%si|%sp|%ST|%B|%U|%ts|%tsc|%ac|%fc|%bc|%sc|%rc|%sq|%bq|%HM|%HU|%HP|%HPO|%HQ|%HV|%{+Q}r|%CC|%CS|%hr|%hs|%Th|%Ti|%TR|%Tq|%Tw|%Tc|%Tr|%Ta|%Tt|%Tu|%Td|%t|%tr|%T|%Ts|%ms|%rt|%lc|%pid|%H|%{+X}ci|%{+Q}b|%[req.hdr(x-t),lower]|%[var(txn.nope)]|%%"
    default_backend origin
frontend fe_nolog
    bind 127.0.0.1:%%PORT_8082%%
    no log
    default_backend origin
frontend fe_connect
    bind 127.0.0.1:%%PORT_8083%%
    no option httplog
    default_backend origin
frontend fe_full
    bind 127.0.0.1:%%PORT_8084%%
    no log
    log $dir/full.sock format raw daemon
    default_backend origin
frontend fe_bytes
    bind 127.0.0.1:%%PORT_8086%%
    bind unix\@$dir/fe.sock
    no log
    log 127.0.0.1:$uport format raw local0
    log-format "BY %HU %U %B %ci %cp %fi %fp"
    http-request return status 200 content-type text/plain lf-string "%[path]%[path]"
listen tcp_null
    mode tcp
    bind 127.0.0.1:%%PORT_8085%%
    no option httplog
    option tcplog
    option dontlognull
    server o1 127.0.0.1:%%PORT_8091%%
backend origin
    server o1 127.0.0.1:%%PORT_8091%%
EOF2

$t->http_origin(8091, sub { return [200, ['content-type' => 'text/plain'], "hello\n"] });
$t->run;

# Datagrams received within $secs whose text matches $re.
sub recv_matching {
    my ($sock, $re, $secs) = @_;
    my @got;
    my $sel = IO::Select->new($sock);
    my $deadline = time + ($secs // 2);
    while ((my $left = $deadline - time) > 0) {
        last unless $sel->can_read($left);
        my $buf;
        $sock->recv($buf, 65536);
        push @got, $buf if $buf =~ $re;
    }
    return @got;
}

my $r = $t->http_get($t->port(8080), '/p/a?x=1');
is($r->{status}, 200, 'proxied request answered');
my @l = recv_matching($udp, qr{^<});
my ($local) = grep { m{^<134>\w{3} [ \d]\d \d\d:\d\d:\d\d gtag\[\d+\]: .*GET /p/a} } @l;
ok($local, 'local format with the global tag and the worker pid')
    or diag explain \@l;
like($local // '', qr{^<134>\w{3} [ \d]\d \d\d:\d\d:\d\d gtag\[\d+\]: 127\.0\.0\.1:\d+ \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] fe_http origin/o1 \d+/\d+/\d+/\d+/\d+ 200 \d+ - - ---- \d+/\d+/0/0/0 0/0 "GET /p/a\?x=1 HTTP/1\.1"\n\z},
    'httplog line as HAProxy writes it');
my ($rfc) = grep { /^<142>1 / } @l;
like($rfc // '', qr{^<142>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d - gtag \d+ - - 127}, 'rfc5424 header');
is(length($rfc // '') - 1, 120, 'len 120: header and message cut at 120, then LF');
ok(!grep({ /^<6>/ } @l), 'a target with max level err gets no info line');

my $sock_line = '';
$dg->recv($sock_line, 65536) if IO::Select->new($dg)->can_read(2);
like($sock_line, qr{^127\.0\.0\.1:\d+ \[.*"GET /p/a\?x=1 HTTP/1\.1"\n\z},
    'unix datagram socket, raw format');
ok($t->wait_log(qr{^127\.0\.0\.1:\d+ \[[^\]]+\] fe_http origin/o1 .*"GET /p/a\?x=1 HTTP/1\.1"$}m),
    'stdout line in the server log');

$r = $t->http_get($t->port(8080), '/local');
($local) = recv_matching($udp, qr{^<134>.*GET /local});
like($local // '', qr{ fe_http fe_http/<NOSRV> \d+/-1/-1/-1/\d+ 200 \d+ - - },
    'a locally answered request: no server, -1 timers');

# every variable
$r = $t->http_get($t->port(8081), '/q/r?s=1', headers => ['X-T' => 'MiXed']);
my ($v) = recv_matching($udp, qr{^V });
ok($v, 'log-format line, raw format, only the own target after no log')
    or diag explain $v;
my @f = split /\|/, ($v // '') =~ s/^V //r =~ s/\n\z//r, -1;
my $fp = $t->port(8081);
my @want = (
    qr/^127\.0\.0\.1$/, qr/^\d+$/, qr/^127\.0\.0\.1$/, qr/^$fp$/, qr/^fe_vars$/,
    qr/^fe_vars$/, qr/^origin$/, qr/^o1$/, qr/^127\.0\.0\.1$/,
    qr/^@{[$t->port(8091)]}$/, qr/^200$/, qr/^[1-9]\d*$/, qr/^[1-9]\d*$/,
    qr/^--$/, qr/^----$/, qr/^\d+$/, qr/^1$/, qr/^0$/, qr/^0$/, qr/^0$/,
    qr/^0$/, qr/^0$/, qr/^GET$/, qr{^/q/r\?s=1$}, qr{^/q/r$}, qr{^/q/r$},
    qr/^\?s=1$/, qr{^HTTP/1\.1$}, qr{^"GET /q/r\?s=1 HTTP/1\.1"$}, qr/^-$/,
    qr/^-$/, qr/^$/, qr/^$/, qr/^0$/, qr/^0$/, qr/^\d+$/, qr/^\d+$/,
    qr/^\d+$/, qr/^\d+$/, qr/^\d+$/, qr/^\d+$/, qr/^\d+$/, qr/^\d+$/,
    qr/^\d+$/, qr{^\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}$},
    qr{^\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}$},
    qr{^\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000$}, qr/^\d{10}$/, qr/^\d{3}$/,
    qr/^\d+$/, qr/^0$/, qr/^\d+$/, qr/^\S+$/, qr/^7F000001$/, qr/^"origin"$/,
    qr/^mixed$/, qr/^-$/, qr/^%$/,
);
my @names = qw(ci cp fi fp f ft b s si sp ST B U ts tsc ac fc bc sc rc sq bq
    HM HU HP HPO HQ HV r CC CS hr hs Th Ti TR Tq Tw Tc Tr Ta Tt Tu Td t tr T
    Ts ms rt lc pid H +Xci +Qb expr-conv expr-missing %%);
is(scalar @f, scalar @want, 'one field per variable');
for my $i (0 .. $#want) {
    like($f[$i] // '<none>', $want[$i], "%$names[$i]");
}

# no log, and the legacy line without a format
$t->http_get($t->port(8082), '/n');
ok(!recv_matching($udp, qr{GET /n}, 0.5), 'no log: nothing sent');
my $c = IO::Socket::INET->new("127.0.0.1:" . $t->port(8083));
my @early = recv_matching($udp, qr{Connect from}, 0.5);
ok(!@early, 'HTTP without a format: nothing before a request comes')
    or diag explain \@early;
my $cport = $c->sockport;
print $c "GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
my ($connect) = recv_matching($udp, qr{Connect from});
like($connect // '', qr{: Connect from 127\.0\.0\.1:$cport to 127\.0\.0\.1:@{[$t->port(8083)]} \(fe_connect/HTTP\)\n\z},
    'then HAProxy\'s "Connect from" line');
close $c;

# dontlognull in TCP: an empty connection is not logged, a used one is
$c = IO::Socket::INET->new("127.0.0.1:" . $t->port(8085));
close $c;
ok(!recv_matching($udp, qr{tcp_null}, 0.5), 'dontlognull: empty connection not logged');
$r = $t->http_get($t->port(8085), '/tcp');
is($r->{status}, 200, 'tcp listen forwards');
my ($tl) = recv_matching($udp, qr{tcp_null});
like($tl // '', qr{: 127\.0\.0\.1:\d+ \[[^\]]+\] tcp_null tcp_null/o1 -?\d+/-?\d+/\d+ \d+ -- \d+/\d+/\d+/\d+/0 0/0\n\z},
    'tcplog line');

# %U and %B are each request's own bytes on a keep-alive connection
{
    my $ka = IO::Socket::INET->new("127.0.0.1:" . $t->port(8086))
        or die "connect: $!";
    my %sent;
    for my $path ('/a', '/bbbbbbbbbbbbbbbbbbbb') {
        my $req = "GET $path HTTP/1.1\r\nHost: h\r\nX-Pad: "
            . ('p' x length $path) . "\r\n\r\n";
        print $ka $req;
        my $resp = '';
        my $want;
        while (!defined $want || length($resp) < $want) {
            last unless IO::Select->new($ka)->can_read(3);
            last unless sysread($ka, $resp, 4096, length $resp);
            my $head_end = index($resp, "\r\n\r\n");
            if (!defined $want && $head_end >= 0) {
                my ($cl) = $resp =~ /content-length: *(\d+)/i;
                $want = $head_end + 4 + ($cl // 0);
            }
        }
        $sent{$path} = [length $req, length $resp];
    }
    close $ka;
    my @by = recv_matching($udp, qr{^BY });
    for my $path (sort keys %sent) {
        my ($line) = grep { m{^BY \Q$path\E } } @by;
        like($line // '<none>',
            qr{^BY \Q$path\E $sent{$path}[0] $sent{$path}[1] 127\.0\.0\.1 \d+ 127\.0\.0\.1 @{[$t->port(8086)]}\n\z},
            "%U and %B of $path: its request and response bytes");
    }
}

# a client of a unix socket: "unix" and the listener's rank, as HAProxy
{
    my $u = IO::Socket::UNIX->new(Peer => "$dir/fe.sock") or die "unix: $!";
    print $u "GET /ux HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    my $resp = join('', <$u>);
    like($resp, qr{^HTTP/1\.1 200 .*/ux/ux\z}s, 'served on a unix socket');
    my ($line) = recv_matching($udp, qr{^BY /ux });
    is($line // '<none>', "BY /ux 48 " . length($resp) . " unix 2 unix 2\n",
        '%ci %cp %fi %fp of a unix socket client');
}

# a target that never reads: requests go on at full speed
my $start = time;
my $ok = 0;
for (1 .. 300) {
    my $x = $t->http_get($t->port(8084), "/full/$_");
    $ok++ if ($x->{status} // 0) == 200;
}
is($ok, 300, 'every request answered with a full log socket');
cmp_ok(time - $start, '<', 20, 'and without waiting on the log socket');

$t->done_testing;

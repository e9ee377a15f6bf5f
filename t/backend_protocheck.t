#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Protocol health checks: option redis-check, smtpchk, mysql-check (with
# and without a user, 4.1 and pre-4.1 logins), pgsql-check, ldap-check,
# ssl-hello-chk and spop-check against Perl servers speaking just enough of each protocol
# (they check what the proxy sends and answer well or badly): a server
# answering well is UP and takes the traffic, one answering badly is DOWN
# with HAProxy's reason; refused, silent and closing servers; http-check
# disable-on-404 drains a server answering 404 (no new traffic, persistent
# traffic kept) and takes it back on a 200; bad option lines. When HAProxy
# is installed, it checks the same servers and must log the same reasons.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use IO::Select;
use IO::Socket::IP;
use Time::HiRes qw(time sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new;
my $dir = $t->testdir;

# The checked backends: name, option line, fake server kind.
my @kinds = (
    [redis    => 'option redis-check',                 'redis'],
    [smtp     => 'option smtpchk EHLO lb.example',     'smtp'],
    [mysql    => 'option mysql-check',                 'mysql'],
    [mysqlu   => 'option mysql-check user hc',         'mysqlu'],
    [mysql320 => 'option mysql-check user hc pre-41',  'mysqlu'],
    [pgsql    => 'option pgsql-check user hc',         'pgsql'],
    [ldap     => 'option ldap-check',                  'ldap'],
    [ssl      => 'option ssl-hello-chk',               'ssl'],
    [spop     => 'option spop-check',                  'spop'],
);

# ---------------------------------------------------------------------------
# Fake servers
# ---------------------------------------------------------------------------

sub rd {
    my ($c) = @_;
    my $b = '';
    sysread($c, $b, 4096) if IO::Select->new($c)->can_read(2);
    return $b;
}

sub mysql_packet { substr(pack('V', length $_[1]), 0, 3) . chr($_[0]) . $_[1] }

my $greeting = mysql_packet(0, "\x0a5.7.99-fake\0" . pack('V', 7) . 'abcdefgh'
    . "\0" . pack('v', 0xf7ff) . "\x21" . pack('v', 2) . pack('v', 0) . "\0"
    . ("\0" x 10) . "ijklmnopqrst\0");

# The user of a MySQL login packet (4.1 or 3.20 layout, chosen by the
# CLIENT_PROTOCOL_41 capability) followed by COM_QUIT, or undef.
sub mysql_login_user {
    my ($l) = @_;
    return undef if length $l < 9;
    my $len = unpack('V', substr($l, 0, 3) . "\0");
    return undef if ord(substr($l, 3, 1)) != 1
        || substr($l, 4 + $len) ne "\x01\x00\x00\x00\x01";
    my $p = substr($l, 4, $len);
    my $off = unpack('v', $p) & 0x200 ? 32 : 5;
    return (split /\0/, substr($p, $off))[0];
}

# Each kind: ($conn, $good) talks to one client.
my %fake = (
    redis => sub {
        my ($c, $good) = @_;
        my $ok = $good && rd($c) eq "*1\r\n\$4\r\nPING\r\n";
        syswrite($c, $ok ? "+PONG\r\n" : "-ERR unknown command 'PING'\r\n");
        rd($c) if $ok;
    },
    smtp => sub {
        my ($c, $good) = @_;
        return syswrite($c, "554 5.3.2 no service here\r\n") unless $good;
        syswrite($c, "220 mx.example ESMTP\r\n");
        my $l = rd($c);
        return if $l eq '';
        syswrite($c, $l eq "EHLO lb.example\r\n"
            ? "250-mx.example\r\n250 8BITMIME\r\n" : "501 5.5.4 bad\r\n");
        syswrite($c, "221 bye\r\n") if rd($c) eq "QUIT\r\n";
    },
    mysql => sub {
        my ($c, $good) = @_;
        syswrite($c, $good ? $greeting : mysql_packet(0, "\xff" . pack('v', 1130)
            . "Host '127.0.0.1' is not allowed to connect to this MySQL server"));
        rd($c) if $good;
    },
    mysqlu => sub {
        my ($c, $good) = @_;
        syswrite($c, $greeting);
        my $user = mysql_login_user(rd($c)) // '?';
        syswrite($c, $good && $user eq 'hc' ? mysql_packet(2, "\0\0\0\2\0\0\0")
            : mysql_packet(2, "\xff" . pack('v', 1045)
                . "#28000Access denied for user '$user'\@'localhost'"));
    },
    pgsql => sub {
        my ($c, $good) = @_;
        my $l = rd($c);
        my ($len, $proto) = length $l >= 8 ? unpack('NN', $l) : (0, 0);
        my %p = $len == length $l && $len > 9 ? split(/\0/, substr($l, 8, $len - 9)) : ();
        if ($good && $proto == 196608 && ($p{user} // '') eq 'hc') {
            syswrite($c, 'R' . pack('NN', 8, 0));
        } else {
            my $m = "SFATAL\0VFATAL\0C28000\0Mrole does not exist\0\0";
            syswrite($c, 'E' . pack('N', 4 + length $m) . $m);
        }
    },
    ldap => sub {
        my ($c, $good) = @_;
        my $l = rd($c);
        return unless $l =~ /^\x30\x0c\x02\x01(.)\x60\x07\x02\x01\x03\x04\x00\x80\x00\z/s;
        syswrite($c, "\x30\x0c\x02\x01$1\x61\x07\x0a\x01"
            . ($good ? "\x00" : "\x35") . "\x04\x00\x04\x00");
    },
    ssl => sub {
        my ($c, $good) = @_;
        my $l = rd($c);
        my $hello = $l =~ /^\x16\x03[\x00-\x03](..)\x01/s && unpack('n', $1) == length($l) - 5;
        syswrite($c, $good && $hello ? "\x16\x03\x03\x00\x04\x0e\x00\x00\x00"
            : "HTTP/1.1 400 Bad Request\r\n\r\n");
    },
    spop => sub {
        my ($c, $good) = @_;
        my $l = rd($c);
        my $hello = $l =~ /^(....)\x01\0\0\0\x01\0\0/s && unpack('N', $1) == length($l) - 4
            && $l =~ /\x12supported-versions\x08\x032\.0/ && $l =~ /\x0bhealthcheck\x11/;
        my $kv = $good && $hello
            ? "\x07version\x08\x032.0\x0emax-frame-size\x03\xfc\xf0\x06"
                . "\x0ccapabilities\x08\0"
            : "\x0bstatus-code\x03\x08\x07message\x08\x04nope";
        my $frame = ($good && $hello ? "\x65" : "\x66") . "\0\0\0\x01\0\0" . $kv;
        syswrite($c, pack('N', length $frame) . $frame);
    },
    silent => sub { sleep 3 },
    closing => sub { },
);

# Starts a fake <kind> on port(n): 'good', 'bad', or 'flip' (bad until
# the file up-<n> is in the test dir: connections are not counted, as a
# check of another test that was given the same port may come).
sub fake {
    my ($n, $kind, $mode) = @_;
    my $l = $t->listen_socket($n);
    $t->run_daemon(sub {
        local $SIG{CHLD} = 'IGNORE';
        while (my $c = $l->accept) {
            next if fork();
            $fake{$kind}->($c, $mode eq 'good' || ($mode eq 'flip' && -e "$dir/up-$n"));
            exit 0;
        }
    });
    close $l;
}

# An HTTP server whose /health answers 404 while the file <name>.404 is
# in the test dir; other paths answer its name.
sub web {
    my ($n, $name) = @_;
    $t->http_origin($n, sub {
        return [-e "$dir/$name.404" ? 404 : 200, [], 'health']
            if $_[0]{uri} eq '/health';
        return [200, [], $name];
    });
}

# ---------------------------------------------------------------------------
# Configuration: <base> spaces the ports of luaproxy's and HAProxy's fakes
# ---------------------------------------------------------------------------

sub config {
    my ($global, $base) = @_;
    my $cfg = <<"EOF2";
global
$global
defaults
    mode tcp
    default-server check inter 100ms rise 1 fall 3
    timeout check 1s
    timeout connect 1s
    timeout client 5s
    timeout server 5s
EOF2
    for my $i (0 .. $#kinds) {
        my ($name, $opt) = @{ $kinds[$i] };
        my ($fe, $g, $b) = map { $base + $_ } 3 * $i, 3 * $i + 1, 3 * $i + 2;
        $cfg .= "listen $name\n    bind 127.0.0.1:%%PORT_$fe%%\n    $opt\n"
            . "    server g 127.0.0.1:%%PORT_$g%%\n"
            . "    server b 127.0.0.1:%%PORT_$b%%\n";
    }
    my ($refused, $silent, $closing, $w1, $w2, $web) = map { $base + $_ } 90 .. 95;
    return $cfg . <<"EOF2";
backend refused
    option redis-check
    server r 127.0.0.1:%%PORT_$refused%%
backend silent
    option redis-check
    timeout check 300ms
    server s 127.0.0.1:%%PORT_$silent%% fall 1
backend closing
    option smtpchk
    server c 127.0.0.1:%%PORT_$closing%%
listen web
    mode http
    bind 127.0.0.1:%%PORT_$web%%
    balance roundrobin
    cookie SRV insert indirect nocache
    option httpchk GET /health
    http-check disable-on-404
    server w1 127.0.0.1:%%PORT_$w1%% cookie w1
    server w2 127.0.0.1:%%PORT_$w2%% cookie w2
EOF2
}

sub start_fakes {
    my ($base) = @_;
    for my $i (0 .. $#kinds) {
        fake($base + 3 * $i + 1, $kinds[$i][2], 'flip');
        fake($base + 3 * $i + 2, $kinds[$i][2], 'bad');
    }
    $t->port($base + 90);
    fake($base + 91, 'silent', 'good');
    fake($base + 92, 'closing', 'good');
}

# The flipping servers of <base> start answering well.
sub flip_up {
    my ($base) = @_;
    $t->write_file('up-' . ($base + 3 * $_ + 1), '') for 0 .. $#kinds;
}

# "server -> reason" of every transition logged in <text>.
sub transitions {
    my ($text) = @_;
    my %seen;
    while ($text =~ m{Server (\S+) is (UP|DOWN|stopping), reason: (.*?), check duration}g) {
        $seen{"$1 $2"} //= $3;
    }
    return \%seen;
}

# What a client sending <bytes> to port <port> reads first.
sub ask {
    my ($port, $bytes) = @_;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
        or return '';
    syswrite($s, $bytes) if length $bytes;
    return rd($s);
}

start_fakes(8200);
web(8290 + 3, 'w1');
web(8290 + 4, 'w2');
$t->write_file_expand('lp.cfg', config("    nbproc 2", 8200));
$t->expect_alerts(qr/backend '\w+' has no server available/);
$t->run;

my @expect_up = map { "$_->[0]/g UP" } @kinds;
my @expect_down = ((map { ("$_->[0]/g DOWN", "$_->[0]/b DOWN") } @kinds),
    'refused/r DOWN', 'silent/s DOWN', 'closing/c DOWN');

# Waits until every transition of <keys> is in the text <get> returns.
sub wait_transitions {
    my ($get, @keys) = @_;
    my $deadline = time + 8;
    while (1) {
        my $tr = transitions($get->());
        return $tr if !grep { !exists $tr->{$_} } @keys or time > $deadline;
        sleep 0.1;
    }
}

wait_transitions(sub { $t->log_contents }, @expect_down);
flip_up(8200);
my $lp = wait_transitions(sub { $t->log_contents }, @expect_up, @expect_down);

my %want = (
    'redis/b DOWN'    => q{Layer7 wrong status, code: 0, info: "-ERR unknown command 'PING'"},
    'redis/g UP'      => q{Layer7 check passed, code: 0, info: "Redis server is ok"},
    'smtp/b DOWN'     => q{Layer7 wrong status, code: 554, info: "5.3.2 no service here"},
    'smtp/g UP'       => q{Layer7 check passed, code: 221, info: "bye"},
    'mysql/b DOWN'    => q{Layer7 wrong status, code: 1130, info: "Host '127.0.0.1' is not allowed to connect to this MySQL server"},
    'mysql/g UP'      => q{Layer7 check passed, code: 0},
    'mysqlu/b DOWN'   => q{Layer7 wrong status, code: 1045, info: "#28000Access denied for user 'hc'@'localhost'"},
    'mysqlu/g UP'     => q{Layer7 check passed, code: 0},
    'mysql320/b DOWN' => q{Layer7 wrong status, code: 1045, info: "#28000Access denied for user 'hc'@'localhost'"},
    'mysql320/g UP'   => q{Layer7 check passed, code: 0},
    'pgsql/b DOWN'    => q{Layer7 invalid response, info: "FATAL"},
    'pgsql/g UP'      => q{Layer7 check passed, code: 0, info: "PostgreSQL server is ok"},
    'ldap/b DOWN'     => q{Layer7 wrong status, code: 53, info: "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9"},
    'ldap/g UP'       => q{Layer7 check passed, code: 0},
    'ssl/b DOWN'      => q{Layer6 invalid response},
    'ssl/g UP'        => q{Layer6 check passed},
    'spop/b DOWN'     => q{Layer7 invalid response, info: "unsupported version"},
    'spop/g UP'       => q{Layer7 check passed, code: 0},
    'refused/r DOWN'  => q{Layer4 connection problem, info: "Connection refused"},
    'silent/s DOWN'   => q{Layer7 timeout},
    'closing/c DOWN'  => q{Layer7 invalid response, info: "TCPCHK got an empty response at step 2"},
);
for my $k (sort keys %want) {
    is($lp->{$k}, $want{$k}, "$k: $want{$k}");
}

# The servers that pass take all the traffic (the bad ones are down).
my %traffic = (
    redis => ["*1\r\n\$4\r\nPING\r\n", qr/^\+PONG/],
    smtp  => ['', qr/^220 /],
    mysql => ['', qr/^.{4}\x0a5\.7/s],
    pgsql => ["\0\0\0\x11\0\3\0\0user\0hc\0\0", qr/^R/],
    ldap  => ["\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00", qr/\x0a\x01\x00/],
    ssl   => ["\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00", qr/^\x16/],
    spop  => ["\0\0\0\x4c\x01\0\0\0\x01\0\0\x12supported-versions\x08\x032.0"
        . "\x0bhealthcheck\x11\x0ccapabilities\x08\0\x0emax-frame-size\x03\x80",
        qr/^....\x65/s],
);
for my $i (grep { $traffic{ $kinds[$_][0] } } 0 .. $#kinds) {
    my $name = $kinds[$i][0];
    my ($send, $re) = @{ $traffic{$name} };
    my $good = grep { ask($t->port(8200 + 3 * $i), $send) =~ $re } 1 .. 6;
    is($good, 6, "$name: every connection goes to the server that passes");
}

# disable-on-404: w1 answers 404, it leaves balancing but keeps the
# clients that its cookie names; a 200 brings it back.
my $webport = $t->port(8295);
sub http_get {
    my ($cookie) = @_;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $webport)
        or return '';
    syswrite($s, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        . ($cookie ? "Cookie: SRV=$cookie\r\n" : '') . "\r\n");
    my ($all, $b) = ('');
    $all .= $b while IO::Select->new($s)->can_read(2) && sysread($s, $b, 4096);
    return $all =~ /\r\n\r\n(.*)\z/s ? $1 : '';
}
my %seen;
$seen{ http_get() }++ for 1 .. 10;
# (round robin per worker: a share each, not exactly half)
ok(($seen{w1} // 0) >= 2 && ($seen{w2} // 0) >= 2 && $seen{w1} + $seen{w2} == 10,
    'disable-on-404: both servers share the traffic');
my $mark = $t->log_mark;
$t->write_file('w1.404', '');
ok($t->wait_log(qr{Server web/w1 is stopping, reason: Layer7 check conditionally passed, code: 404, check duration: \d+ms\. 1 active and 0 backup servers online\.},
    mark => $mark), 'a 404 puts the server in NOLB, in HAProxy\'s words');
sleep 0.3; # every worker copies the flag within 50 ms
%seen = ();
$seen{ http_get() }++ for 1 .. 10;
is_deeply(\%seen, { w2 => 10 }, 'no new traffic for the server answering 404, in any worker');
is(join(',', map { http_get('w1') } 1 .. 4), 'w1,w1,w1,w1',
    'the clients its cookie names still reach it');
unlike($t->log_since($mark), qr{web/w1 is DOWN}, 'it is not marked down');
$mark = $t->log_mark;
unlink("$dir/w1.404");
ok($t->wait_log(qr{Server web/w1 is UP, reason: Layer7 check passed, code: 200},
    mark => $mark), 'a 200 puts it back UP');
sleep 0.3;
%seen = ();
$seen{ http_get() }++ for 1 .. 10;
ok(($seen{w1} // 0) >= 2 && ($seen{w2} // 0) >= 2 && $seen{w1} + $seen{w2} == 10,
    'and it takes new traffic again');

# Bad option lines: an error at their line, -c fails.
for my $bad (['option redis-check now', q{'option redis-check' cannot handle unexpected argument 'now'}],
    ['option ldap-check x', q{'option ldap-check' cannot handle unexpected argument 'x'}],
    ['option ssl-hello-chk x', q{'option ssl-hello-chk' cannot handle unexpected argument 'x'}],
    ['option smtpchk EHLO', q{'option smtpchk' expects nothing or 'HELO' or 'EHLO' and a domain}],
    ['option smtpchk HI example.com', q{'option smtpchk' expects nothing or 'HELO' or 'EHLO'}],
    ['option smtpchk HELO "a b"', q{'a b' is not a domain name}],
    ['option mysql-check user', q{'option mysql-check user' expects <username> as argument}],
    ['option mysql-check user hc post-99', q{keyword 'user' only supports 'post-41' and 'pre-41' (got 'post-99')}],
    ['option mysql-check nobody', q{'option mysql-check' only supports optional values: 'user' (got 'nobody')}],
    ['option mysql-check user hc pre-41 x', q{cannot handle unexpected argument 'x'}],
    ['option pgsql-check', q{'option pgsql-check' expects 'user <username>' as argument}],
    ['option pgsql-check user', q{'option pgsql-check' expects 'user <username>'}],
    ['http-check disable-on-404 x', q{'http-check' cannot handle unexpected argument 'x'}]) {
    my ($rc, $out) = $t->check_config(<<"CFG", 'bad.cfg');
backend b
    mode tcp
    $bad->[0]
    server s 127.0.0.1:1 check
CFG
    ok($rc != 0 && $out =~ /bad\.cfg:3: .*\Q$bad->[1]\E/, "bad line '$bad->[0]'")
        or diag($out);
}
my ($rc, $out) = $t->check_config(<<'CFG', 'good.cfg');
defaults
    mode tcp
    option mysql-check user hc post-41
backend b1
    server s 127.0.0.1:1 check
backend b2
    option smtpchk
    no option smtpchk
    server s 127.0.0.1:1 check
CFG
is($rc, 0, 'options in defaults and "no option" are accepted') or diag($out);

# HAProxy checking the same kinds of servers logs the same reasons.
SKIP: {
    skip("no haproxy at $haproxy", 2) unless -x $haproxy;
    $t->stop(keep_daemons => 1); # lighter on a loaded machine
    start_fakes(8400);
    web(8490 + 3, 'w1');
    web(8490 + 4, 'w2');
    $t->write_file('w1.404', '');
    $t->write_file_expand('ha.cfg', config('    log stderr format raw local0', 8400));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8400), $t->port(8495));
    my $ha_log = sub {
        open(my $fh, '<', "$dir/haproxy.log") or return '';
        local $/;
        return <$fh> // '';
    };
    wait_transitions($ha_log, @expect_down);
    flip_up(8400);
    my $ha = wait_transitions($ha_log, @expect_up, @expect_down, 'web/w1 stopping');
    is_deeply({ map { $_ => $ha->{$_} } keys %want },
        { map { $_ => $lp->{$_} } keys %want }, 'HAProxy logs the same reasons');
    is($ha->{'web/w1 stopping'}, 'Layer7 check conditionally passed, code: 404',
        'and the same for a 404 under disable-on-404');
}

$t->done_testing;

#!/usr/bin/perl
# What traffic tells of a server ("observe layer4|layer7", "error-limit",
# "on-error fail-check|sudden-death|mark-down|fastinter") and what a change
# of state does to the streams on it ("on-marked-down shutdown-sessions",
# "on-marked-up shutdown-backup-sessions", maintenance, the runtime API's
# "shutdown sessions server"). Errors seen by either of two workers count
# together. HAProxy on the same configuration gives the same answers, the
# same reasons and the same termination states.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 120);
my $dir = $t->testdir;

sub config {
    my ($who, $hport, $tport) = @_;
    my %p = map { $_ => $t->port($_) } 8091 .. 8097;
    return <<"CFG";
global
    nbthread 2
    stats socket $dir/$who.sock level admin
defaults
    mode http
    log stderr local0
    option httplog
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:$hport
    use_backend l4 if { path_beg /l4/ }
    use_backend fc if { path_beg /fc/ }
    use_backend sd if { path_beg /sd/ }
    use_backend fi if { path_beg /fi/ }
    use_backend slow if { path_beg /slow/ }
    default_backend md
backend md
    server bad 127.0.0.1:$p{8091} check inter 1h fastinter 200ms observe layer7 error-limit 3 on-error mark-down
    server good 127.0.0.1:$p{8092} backup
backend fc
    option log-health-checks
    server bad 127.0.0.1:$p{8091} check inter 1h fastinter 3s fall 3 observe layer7 error-limit 1 on-error fail-check
    server good 127.0.0.1:$p{8092} backup
backend sd
    option log-health-checks
    server bad 127.0.0.1:$p{8091} check inter 1h fastinter 3s fall 3 observe layer7 error-limit 1 on-error sudden-death
    server good 127.0.0.1:$p{8092} backup
backend fi
    server bad 127.0.0.1:$p{8091} check inter 1h fall 1 observe layer7 error-limit 1 on-error fastinter
    server good 127.0.0.1:$p{8092} backup
backend l4
    retries 1
    server dead 127.0.0.1:$p{8095} check port $p{8094} inter 1h observe layer4 error-limit 2 on-error mark-down
    server good 127.0.0.1:$p{8092} backup
backend slow
    server s 127.0.0.1:$p{8093} check inter 1s
listen tcp
    mode tcp
    option tcplog
    bind 127.0.0.1:$tport
    server s1 127.0.0.1:$p{8096} check port $p{8094} inter 200ms rise 1 fall 1 on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions
    server s2 127.0.0.1:$p{8097} backup
CFG
}

$t->http_origin(8091, sub { [500, [], 'bad'] });
$t->http_origin(8092, sub { [200, [], 'good'] });
$t->http_origin(8093, sub { sleep 3; [200, [], 'slow'] });
my $checked = $t->http_origin(8094, sub { [200, [], 'check'] });
$t->port(8095); # never listens: connections are refused
$t->http_origin(8096, sub { [200, [], 's1'] });
$t->http_origin(8097, sub { [200, [], 's2'] });

# The log of <file> in the test directory from byte <mark> on.
sub log_of {
    my ($file, $mark) = @_;
    open(my $fh, '<', "$dir/$file") or return '';
    local $/;
    return substr(scalar(<$fh>) // '', $mark // 0);
}

# Waits (bounded) until the log of <file> after <mark> matches <re>.
sub wait_in {
    my ($file, $mark, $re, $secs) = @_;
    my $deadline = time + ($secs // 5);
    while (time < $deadline) {
        my $text = log_of($file, $mark);
        return $1 // 1 if $text =~ $re;
        sleep 0.05;
    }
    return undef;
}

# Sends requests for <path> one at a time until the log says <srv> went
# down (or <max> requests); the statuses and bodies in order.
sub until_down {
    my ($port, $path, $log, $srv, $max) = @_;
    my $mark = -s "$dir/$log";
    my @seen;
    for (1 .. $max) {
        my $r = $t->http_get($port, $path);
        my $body = $r->{body} // '';
        $body = '' if $body =~ /^</; # an error page
        push @seen, join(' ', $r->{status} // 'none', $body || ());
        last if wait_in($log, $mark, qr{Server \Q$srv\E is DOWN}, 0.4);
    }
    return join(', ', @seen);
}

# The "is DOWN" line of <srv> in <log>, from its reason to the servers
# left (the sessions counts are a thread's or a worker's own).
sub down_reason {
    my ($log, $srv) = @_;
    my ($why) = log_of($log) =~
        m{Server \Q$srv\E is DOWN, (reason: .*? servers left\.(?: Running on backup\.)?)};
    return $why // 'none';
}

# A TCP connection through <port> whose request was answered, held open.
sub hold {
    my ($port) = @_;
    my $s = $t->http_hold($port, '/');
    my ($buf, $sel) = ('', IO::Select->new($s));
    while ($buf !~ /\r\n\r\n.+/s && $sel->can_read(3)) {
        sysread($s, $buf, 4096, length $buf) or last;
    }
    my ($body) = $buf =~ /\r\n\r\n(.+)$/s;
    return ($s, $body // 'none');
}

# What <s> receives within <secs>, and whether the other end closed it.
sub read_all {
    my ($s, $secs) = @_;
    my ($buf, $sel, $t0) = ('', IO::Select->new($s), time);
    while (time - $t0 < $secs) {
        next unless $sel->can_read($secs - (time - $t0));
        my $n = sysread($s, $buf, 4096, length $buf);
        next if !defined $n && $!{EAGAIN};
        return ($buf, 1) if !$n;
    }
    return ($buf, 0);
}

# 'closed' if the other end closes <s> within 4 s, else 'open'.
sub closed_in {
    my ($s) = @_;
    return (read_all($s, 4))[1] ? 'closed' : 'open';
}

sub outcomes {
    my ($who, $hport, $tport, $log) = @_;
    my %o;
    my $md = 'md/bad';

    # a server starts one failure from down until a check passed (the
    # first checks come at "fastinter")
    $o{'first checks'} = join(' ', map {
        wait_in($log, 0, qr{Health check for server $_/bad succeeded.*(\d/\d UP)}, 5)
            // 'none' } qw(fc sd));
    # layer7, mark-down: three 500s in a row, then the backup; the next
    # checks come at "fastinter" and bring it back
    $o{'mark-down'} = until_down($hport, '/x', $log, $md, 6);
    $o{'mark-down: then'} = $t->http_get($hport, '/x')->{body} // 'none';
    $o{'mark-down: reason'} = down_reason($log, $md);
    $o{'mark-down: back at fastinter'} =
        wait_in($log, 0, qr{Server md/bad is UP}, 3) ? 'yes' : 'no';
    $o{'mark-down: errors again'} = $t->http_get($hport, '/x')->{status};
    # fail-check counts one failed check per limit: fall 3, three errors;
    # sudden-death leaves one to go: two
    $o{'fail-check'} = until_down($hport, '/fc/', $log, 'fc/bad', 5);
    $o{'sudden-death'} = until_down($hport, '/sd/', $log, 'sd/bad', 5);
    $o{'sudden-death: checks'} = join(' | ', log_of($log) =~
        m{^(?!\[)[^\n]*Health check for server sd/bad failed, (reason: [^\n]*)}mg);
    # fastinter only hastens the next check: the server stays up
    $o{'fastinter'} = until_down($hport, '/fi/', $log, 'fi/bad', 3);
    my $stat = $t->show_stat("$who.sock");
    $o{'hanafail'} = join(' ',
        map { "$_/bad=" . $stat->{"$_/bad"}{hanafail} } qw(fc fi md sd));
    # layer4: refused connections (and their retries) take it down
    $o{'layer4'} = until_down($hport, '/l4/', $log, 'l4/dead', 3);
    $o{'layer4: reason'} = down_reason($log, 'l4/dead');
    $o{'layer4: then'} = $t->http_get($hport, '/l4/')->{body} // 'none';

    # the runtime API ends the streams of a server: a request waiting for
    # its response gets a 502
    my $mark = -s "$dir/$log";
    my $slow = $t->http_hold($hport, '/slow/');
    sleep 0.5;
    $t->cli("$who.sock", "shutdown sessions server slow/s\n");
    my ($r) = read_all($slow, 2);
    $o{'shutdown sessions: answer'} = $r =~ m{^HTTP/1\.1 (\d+)} ? $1 : 'none';
    $o{'shutdown sessions: state'} =
        wait_in($log, $mark, qr{"GET /slow/ HTTP/1\.1"}, 3)
        && log_of($log, $mark) =~ / (\d+) \d+ - - (\S{4}) .*GET \/slow\//
        ? "$1 $2" : 'none';

    # on-marked-down: a connection held on s1 ends when s1 goes down; one
    # held on the backup ends when s1 comes back (on-marked-up)
    $mark = -s "$dir/$log";
    my ($a, $on) = hold($tport);
    $o{'tcp: held on'} = $on;
    $t->stop_daemon($checked);
    $o{'tcp: s1 down'} = wait_in($log, $mark, qr{Server tcp/s1 is DOWN}, 3)
        ? 'yes' : 'no';
    $o{'on-marked-down'} = closed_in($a);
    my ($b, $bon) = hold($tport);
    $o{'tcp: then held on'} = $bon;
    $checked = $t->http_origin(8094, sub { [200, [], 'check'] });
    $o{'on-marked-up'} = closed_in($b);
    # maintenance is a way down too, and the runtime API kills
    my ($c) = hold($tport);
    $t->cli("$who.sock", "disable server tcp/s1\n");
    $o{'maintenance'} = closed_in($c);
    $t->cli("$who.sock", "enable server tcp/s1\n");
    my ($d) = hold($tport);
    $t->cli("$who.sock", "shutdown sessions server tcp/s1\n");
    $o{'tcp: shutdown sessions'} = closed_in($d);
    sleep 0.3;
    $o{'tcp: states'} = join(' ', log_of($log, $mark) =~
        m{\] tcp tcp/\w+ \S+ \d+ (\S\S) }g);
    return %o;
}

$t->expect_alerts(qr/is DOWN|has no server available/);
$t->write_file('lp.cfg', config('lp', $t->port(8080), $t->port(8081)));
$t->run;
my %lp = outcomes('lp', $t->port(8080), $t->port(8081), 'stderr.log');

# "Detected N consecutive errors" as HAProxy words the reason.
sub analyze {
    my ($n, $last) = @_;
    return "reason: Health analyze, info: \"Detected $n consecutive errors, "
        . "last one was: $last\"";
}
my $left = '0 active and 1 backup servers left. Running on backup.';
my $wrong = analyze(1, 'Wrong http response');

for my $e (
    ['first checks', '3/3 UP 3/3 UP',
        'log-health-checks: the first check settles the health'],
    ['mark-down', '500 bad, 500 bad, 500 bad',
        'mark-down: down after error-limit 500s, counted across both workers'],
    ['mark-down: then', 'good', 'mark-down: the backup serves'],
    ['mark-down: reason', analyze(3, 'Wrong http response') . ". $left",
        'mark-down: logged as HAProxy does'],
    ['mark-down: back at fastinter', 'yes',
        'mark-down: the checks come at fastinter and bring it back'],
    ['mark-down: errors again', 500, 'mark-down: back in service'],
    ['fail-check', '500 bad, 500 bad, 500 bad',
        'fail-check: each limit is one failed check (fall 3)'],
    ['sudden-death', '500 bad, 500 bad',
        'sudden-death: the second failure takes it down'],
    ['sudden-death: checks', "$wrong, status: 1/3 UP. | $wrong, status: "
        . '0/2 DOWN.', 'log-health-checks: the failures traffic gave'],
    ['fastinter', '500 bad, 500 bad, 500 bad',
        'fastinter: the server stays up'],
    ['hanafail', 'fc/bad=3 fi/bad=3 md/bad=1 sd/bad=2',
        'show stat: hanafail counts the limits reached'],
    ['layer4', '503', 'layer4: the refused request gets a 503'],
    ['layer4: reason', analyze(2, 'L4 unsuccessful connection') . ". $left",
        'layer4: logged as HAProxy does'],
    ['layer4: then', 'good', 'layer4: the backup serves'],
    ['shutdown sessions: answer', 502,
        'shutdown sessions server: a waiting request gets a 502'],
    ['shutdown sessions: state', '502 KH--',
        'shutdown sessions server: logged KH--'],
    ['tcp: held on', 's1', 'a TCP connection held on s1'],
    ['tcp: s1 down', 'yes', 's1 goes down when its check fails'],
    ['on-marked-down', 'closed', 'on-marked-down: its connection ends'],
    ['tcp: then held on', 's2', 'then one held on the backup'],
    ['on-marked-up', 'closed',
        'on-marked-up: the backup connection ends when s1 is back'],
    ['maintenance', 'closed', 'maintenance ends the connections too'],
    ['tcp: shutdown sessions', 'closed',
        'shutdown sessions server ends a TCP connection'],
    ['tcp: states', 'D- U- D- K-', 'their termination states']) {
    is($lp{ $e->[0] }, $e->[1], $e->[2]);
}

for my $c (["observe layer5", "'server' option 'observe' expects 'none', "
        . "'layer4' or 'layer7'"],
    ["on-error reboot", "'on-error' expects 'fail-check', 'fastinter', "
        . "'sudden-death' or 'mark-down'"],
    ["error-limit 0", "'0' is out of range"],
    ["on-marked-down stop", "'on-marked-down' expects 'shutdown-sessions'"],
    ["on-marked-up", "'on-marked-up' expects 'shutdown-backup-sessions'"]) {
    my ($rc, $out) = $t->check_config("backend b\n"
        . "    server s 127.0.0.1:1 check $c->[0]\n", 'bad.cfg');
    ok($rc != 0 && $out =~ /bad\.cfg:2: .*\Q$c->[1]\E/, "bad: $c->[0]")
        or diag($out);
}

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180), $t->port(8181)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180), $t->port(8181));
    sleep 0.5; # HAProxy spreads its first checks over "inter"
    my %ha = outcomes('ha', $t->port(8180), $t->port(8181), 'haproxy.log');
    is_deeply(\%lp, \%ha, 'HAProxy: the same outcomes')
        or diag(explain(\%lp, \%ha));
}

$t->done_testing;

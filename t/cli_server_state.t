#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# The runtime API's server state commands, with HAProxy 2.6's names,
# arguments, answers and errors: "show servers state" (format 1), "show
# backend", "set server ... addr|health|agent|check-port", "set maxconn
# server", "enable|disable health|agent", "clear counters [all]". The
# changes reach every worker (nbthread 2: two workers); the health ones go
# through the shared health. HAProxy answers the same on the same
# configuration and commands.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 120);
my $dir = $t->testdir;
my ($o1, $o2, $dead, $agent) = map { $t->port($_) } 8091, 8092, 8093, 8094;

sub config {
    my ($who, $port) = @_;
    return <<"CFG";
global
    nbthread 2
    stats socket $dir/$who.sock level admin
    stats socket $dir/$who-op.sock level operator
defaults
    mode http
    log stderr local0
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$port
    default_backend web
backend app
    id 10
    server s1 127.0.0.1:$o1 check inter 100ms weight 10 maxconn 20
    server s2 127.0.0.1:$o1 agent-check agent-port $agent agent-inter 1s id 5
    server s3 127.0.0.1:$o1 disabled
    server s4 127.0.0.1:$dead backup check inter 100ms port $dead addr 127.0.0.2
backend tcpb
    id 20
    mode tcp
    server t1 127.0.0.1:$o1
backend trk
    id 30
    server k1 127.0.0.1:$o1 track app/s1
backend web
    id 40
    http-reuse always
    server w1 127.0.0.1:$o1
CFG
}

$t->http_origin(8091, sub { [200, [], 'one'] });
$t->http_origin(8092, sub { [200, [], 'two'] });

# The commands, in order; each answer follows its command in the
# transcript, the seconds since the last change masked.
my @commands = (
    'show backend',
    'show servers state',
    'show servers state app',
    'show servers state fe',
    'show servers state nope',
    'disable health app/s1',
    'set server app/s1 health stopping',
    'show servers state app',
    'set server app/s1 health down',
    'show servers state app',
    'set server app/s1 health up',
    'enable health app/s1',
    'show servers state app',
    'set server app/s1 health bogus',
    'set server app/s1 health',
    'set server trk/k1 health up',
    'set server tcpb/t1 health down',
    'show servers state tcpb',
    'set server tcpb/t1 health up',
    'set server app/s2 agent down',
    'show servers state app',
    'set server app/s2 agent up',
    'set server app/s2 agent bogus',
    'set server app/s1 agent down',
    'disable agent app/s2',
    'show servers state app',
    'enable agent app/s2',
    'disable health tcpb/t1',
    'disable agent app/s1',
    'disable health',
    'enable agent app',
    'enable health app/zz',
    'set server app/s3 state ready',
    'show servers state app',
    'set server app/s3 state maint',
    'set server app/s1 check-port 9999',
    'show servers state app',
    'disable health app/s1',
    'set server app/s1 check-port',
    'set server app/s1 check-port abc',
    'set server app/s1 check-port 70000',
    'set server tcpb/t1 check-port 5',
    'set server app/s1 check-port 0',
    'set server app/s1 addr 127.0.0.5',
    'set server app/s1 addr 127.0.0.5 port 4444',
    'set server app/s1 addr 127.0.0.5 port 4444',
    'set server app/s1 addr ::1',
    'show servers state app',
    'set server app/s1 addr bogus',
    'set server app/s1 addr',
    'set server app/s1 addr 127.0.0.6 port',
    'set server app/s1 addr 127.0.0.6 port abc',
    'set server app/s1 addr 127.0.0.1 port 0',
    "set server app/s1 addr 127.0.0.1 port $o1",
    'set server app/s1 bogus',
    'set server app/s1',
    'set server app',
    'set server nope/s1 addr 1.2.3.4',
    'set server app/nope addr 1.2.3.4',
    'set maxconn server app/s1 50',
    'set maxconn server app/s1',
    'set maxconn server app/s1 abc',
    'set maxconn server app/s1 5x',
    'set maxconn server app',
    'clear counters',
    'clear counters bogus',
    'show servers state app',
);

sub transcript {
    my ($who) = @_;
    my $out = '';
    for my $c (@commands) {
        my $a = $t->cli("$who.sock", "$c\n") // '(no answer)';
        $a =~ s/^(\d+ \S+ \d+ \S+ \S+ \d+ \d+ \d+ \d+) \d+ /$1 T /mg;
        $out .= "> $c\n$a";
    }
    return $out;
}

# The answers of a transcript, by command (the first time it ran); the
# "show servers state" right after a command that is no "show" is added to
# that command's answer.
sub answers {
    my ($text) = @_;
    my (%a, $prev);
    for my $part (split /^> /m, $text) {
        next unless $part =~ /^(.*)\n/;
        my ($cmd, $ans) = ($1, substr($part, length($1) + 1));
        $a{$prev} .= $ans
            if $cmd =~ /^show servers state \S/ && defined $prev
            && $prev !~ /^show /;
        $a{$cmd} //= $ans;
        $prev = $cmd;
    }
    return \%a;
}

# A column of "show stat" for <px>/<sv>, in worker <n> if defined.
sub stat_in {
    my ($who, $n, $id, $col) = @_;
    my $at = defined $n ? "\@$n " : '';
    my $out = $t->cli("$who.sock", "${at}show stat\n") // '';
    return undef unless $out =~ /^# (.*)$/m;
    my @c = split /,/, $1;
    my ($i) = grep { $c[$_] eq $col } 0 .. $#c;
    for my $l (split /\n/, $out) {
        my @f = split /,/, $l, -1;
        return $f[$i] if "$f[0]/$f[1]" eq $id;
    }
    return undef;
}

# Waits (bounded) until the checks settled: s1 up, s4 down.
sub settle {
    my ($who) = @_;
    for (1 .. 100) {
        last if (stat_in($who, undef, 'app/s1', 'status') // '') eq 'UP'
            && (stat_in($who, undef, 'app/s4', 'status') // '') eq 'DOWN';
        sleep 0.05;
    }
}

# The lines "changed from CLI" sent to the log target in <log>.
sub cli_changes {
    my ($log) = @_;
    open(my $fh, '<', "$dir/$log") or return [];
    return [map { /^<\d+>.*(Server \S+ is .*changed from CLI.*)/ ? $1 : () }
        <$fh>];
}

$t->expect_alerts(qr/is DOWN|for maintenance|no server available/);
$t->write_file('lp.cfg', config('lp', $t->port(8080)));
$t->run;
my $port = $t->port(8080);
settle('lp');
my $lp = transcript('lp');
my %answer = %{ answers($lp) };
my $head = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
    . 'srv_admin_state srv_uweight srv_iweight srv_time_since_last_change '
    . 'srv_check_status srv_check_result srv_check_health srv_check_state '
    . 'srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port '
    . 'srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr '
    . "srv_agent_port\n";
is($answer{'show backend'}, "# name\napp\ntcpb\ntrk\nweb\n\n",
    'show backend: the backends, in order');
is($answer{'show servers state'}, $head
    . "10 app 1 s1 127.0.0.1 2 0 10 10 T 6 3 4 6 0 1 0 - $o1 - 0 0 - - 0\n"
    . "10 app 5 s2 127.0.0.1 2 0 1 1 T 1 0 2 0 22 1 1 - $o1 - 0 0 - - $agent\n"
    . "10 app 3 s3 127.0.0.1 0 5 1 1 T 1 0 0 8 0 1 0 - $o1 - 0 0 - - 0\n"
    . "10 app 4 s4 127.0.0.1 0 0 1 1 T 8 2 0 6 0 1 0 - $dead - 0 $dead "
    . "127.0.0.2 127.0.0.2 $dead\n"
    . "20 tcpb 1 t1 127.0.0.1 2 0 1 1 T 1 0 2 0 0 1 0 - $o1 - 0 0 - - 0\n"
    . "30 trk 1 k1 127.0.0.1 2 0 1 1 T 1 0 2 0 0 1 0 - $o1 - 0 0 - - 0\n"
    . "40 web 1 w1 127.0.0.1 2 0 1 1 T 1 0 2 0 0 1 0 - $o1 - 0 0 - - 0\n\n",
    'show servers state: format 1, every server of every backend');
is($answer{'show servers state fe'}, "Can't find backend.\n\n",
    'show servers state: a frontend is no backend');
like($answer{'set server app/s1 health stopping'},
    qr/^10 app 1 s1 \S+ 3 0 10 10 T 6 3 4 2 0 /m,
    'health stopping: operational state 3, checks disabled (state 2)');
like($answer{'set server app/s1 health down'},
    qr/^10 app 1 s1 \S+ 0 0 10 10 T 6 3 0 2 0 /m,
    'health down: stopped, health 0');
like($answer{'set server tcpb/t1 health down'},
    qr/^20 tcpb 1 t1 \S+ 0 0 1 1 T 1 0 0 0 0 /m,
    'the health of a server without checks too');
like($answer{'set server app/s2 agent down'},
    qr/^10 app 5 s2 \S+ 0 0 1 1 T 1 0 2 0 22 /m, 'agent down: stopped');
like($answer{'disable agent app/s2'}, qr/^10 app 5 s2 \S+ 2 0 1 1 T 1 0 2 0 18 /m,
    'disable agent: its state 18');
is($answer{'set server app/s1 addr 127.0.0.5 port 4444'},
    "no need to change the addr, port changed from '$o1' to '4444' by "
    . "'stats socket command'\n\n", 'set server addr: HAProxy\'s answer');
like($answer{'set server app/s1 addr ::1'}, qr/^\QIP changed from '127.0.0.5' \E
    \Qto '::1' by 'stats socket command'\E\n\n1\n.*^10\ app\ 1\ s1\ ::1\ /msx,
    'an IPv6 address');
is($answer{'set server app/s1 addr bogus'},
    "Invalid addr 'bogus' by 'stats socket command'\n\n", 'a bad address');
is($answer{'set server app/s1 bogus'}, 'usage: set server <backend>/<server> '
    . 'addr | agent | agent-addr | agent-port | agent-send | check-addr | '
    . "check-port | fqdn | health | ssl | state | weight\n\n",
    'an unknown set server field: the usage');
is($answer{'set server app/s1 check-port abc'},
    "health checks are not enabled on this server\n",
    'check-port: HAProxy\'s answer without its own newline');

is($t->cli('lp.sock', "set server app/s1 addr 127.0.0.1 port +5\n"),
    "no need to change the addr, can't change <port> to port map: port maps "
    . "are not supported by 'stats socket command'\n\n",
    'port maps are not supported');

# every worker: the health (shared) and a worker-local change
$t->cli('lp.sock', "set server app/s1 health down\n");
$t->cli('lp.sock', "disable health app/s1\n");
$t->cli('lp.sock', "set maxconn server app/s1 33\n");
sleep 0.3;
is(join(' ', map { stat_in('lp', $_, 'app/s1', 'status') } 1, 2),
    'DOWN DOWN', 'a forced health holds in both workers');
is(join(' ', map { stat_in('lp', $_, 'app/s1', 'slim') } 1, 2), '33 33',
    'set maxconn server: both workers');
$t->cli('lp.sock', "set server app/s1 health up\n");
$t->cli('lp.sock', "set server app/s1 health stopping\n");
sleep 0.3;
is(join(' ', map { stat_in('lp', $_, 'app/s1', 'status') } 1, 2),
    'NOLB NOLB', 'stopping: no new traffic in both workers');
is_deeply(cli_changes('stderr.log'), [
    'Server app/s1 is stopping, changed from CLI. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
    'Server app/s1 is DOWN, changed from CLI. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
    'Server app/s1 is UP, changed from CLI. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
    'Server tcpb/t1 is DOWN, changed from CLI. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
    'Server tcpb/t1 is UP, changed from CLI. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
    'Server app/s2 is DOWN, changed from CLI. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
    'Server app/s2 is UP, changed from CLI. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
    'Server app/s1 is DOWN, changed from CLI. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
    'Server app/s1 is UP, changed from CLI. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
    'Server app/s1 is stopping, changed from CLI. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.',
], 'each forced change is logged as HAProxy words it')
    or diag(explain(cli_changes('stderr.log')));

# the new address takes the traffic of every worker; counters cleared
my @before = map { $t->http_get($port, '/')->{body} // '' } 1 .. 6;
is("@before", 'one one one one one one', 'w1 first serves from origin one');
my @stot = map { stat_in('lp', $_, 'web/w1', 'stot') } 1, 2;
is($stot[0] + $stot[1], 6, 'the workers counted the requests') or diag("@stot");
is($t->cli('lp.sock', "set server web/w1 addr 127.0.0.1 port $o2\n"),
    "no need to change the addr, port changed from '$o1' to '$o2' by "
    . "'stats socket command'\n\n", 'a new port');
like($t->cli('lp.sock', "\@2 show servers state web\n"),
    qr/^40 web 1 w1 127\.0\.0\.1 2 0 1 1 \d+ 1 0 2 0 0 1 0 - $o2 /m,
    'worker 2 has it too');
my @after = map { $t->http_get($port, '/')->{body} // '' } 1 .. 6;
is("@after", 'two two two two two two', 'then every worker connects there');
$t->cli('lp.sock', "clear counters\n");
@stot = map { stat_in('lp', $_, 'web/w1', 'stot') } 1, 2;
is($stot[0] + $stot[1], 12, 'clear counters keeps the totals');
is($t->cli('lp.sock', "clear counters all\n"), "\n", 'clear counters all');
is(join(' ', map { stat_in('lp', $_, 'web/w1', 'stot') } 1, 2), '0 0',
    'clear counters all: every worker');

# the levels: clear counters is an operator's, the rest an admin's
my @op = ('clear counters', 'clear counters all', 'set server app/s1 health up',
    'disable health app/s1', 'set maxconn server app/s1 3',
    'show servers state tcpb');
sub op_answers {
    my ($who) = @_;
    return join('', map {
        my $a = $t->cli("$who-op.sock", "$_\n") // '';
        $a =~ s/^(\d+ \S+ \d+ \S+ \S+ \d+ \d+ \d+ \d+) \d+ /$1 T /mg;
        "> $_\n$a";
    } @op);
}
my $lp_op = op_answers('lp');
is($lp_op, "> clear counters\n\n"
    . "> clear counters all\nPermission denied\n\n"
    . "> set server app/s1 health up\nPermission denied\n\n"
    . "> disable health app/s1\nPermission denied\n\n"
    . "> set maxconn server app/s1 3\nPermission denied\n\n"
    . "> show servers state tcpb\n$head"
    . "20 tcpb 1 t1 127.0.0.1 2 0 1 1 T 1 0 4 0 0 1 0 - $o1 - 0 0 - - 0\n\n",
    'levels: operator clears the maxima, the rest needs admin');

SKIP: {
    skip("no haproxy at $haproxy", 3) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    settle('ha');
    my $ha = transcript('ha');
    is($lp, $ha, 'HAProxy: the same answers') or do {
        my @l = split /\n/, $lp;
        my @h = split /\n/, $ha;
        for my $i (0 .. $#h) {
            next if ($l[$i] // '') eq $h[$i];
            diag("$dir line $i: luaproxy '" . ($l[$i] // '') . "' HAProxy '$h[$i]'");
        }
    };
    is(op_answers('ha'), $lp_op, 'HAProxy: the same levels');
    my $changes = cli_changes('haproxy.log');
    is_deeply([ @{ cli_changes('stderr.log') }[0 .. 6] ], $changes,
        'HAProxy: the same log lines') or diag(explain($changes));
}

# a server without an address (init-addr none): the resolver's
# maintenance, and no address from the runtime API (as HAProxy)
my $t2 = Test::Luaproxy->new(timeout => 30);
$t2->write_file_expand('lp.cfg', <<'CFG');
global
    stats socket %%TESTDIR%%/lp.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%%PORT_8380%%
    default_backend none
backend none
    server n1 nowhere.invalid:80 init-addr none
CFG
$t2->run;
like($t2->cli('lp.sock', "show servers state\n"),
    qr/^2 none 1 n1 - 0 32 1 1 \d+ 1 0 2 0 0 0 0 - /m,
    'no address: "-", in the resolver\'s maintenance (32)');
is($t2->cli('lp.sock', "set server none/n1 addr 127.0.0.9\n"),
    'Update for the current server address family is only supported '
    . "through configuration file by 'stats socket command'\n\n",
    'set server addr: only from the configuration');
$t2->finish;

$t->done_testing;

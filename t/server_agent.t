#!/usr/bin/perl
# "agent-check": an agent on its own port answers a line that sets the
# server's weight (N%), maxconn, administrative state (ready, drain,
# maint) and operational state (up, down, stopped, fail, with a "#"
# description), taken by every worker; unknown words are ignored and an
# agent that is away changes nothing. The states, weights and log lines
# are HAProxy's on the same configuration and answers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use IO::Select;
use Time::HiRes qw(time sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 120);
my $dir = $t->testdir;

sub config {
    my ($who, $port) = @_;
    my ($o, $a) = ($t->port(8091), $t->port(8092));
    return <<"CFG";
global
    nbthread 2
    stats socket $dir/$who.sock level admin
defaults
    mode http
    log stderr local0
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen h
    bind 127.0.0.1:$port
    server s1 127.0.0.1:$o check inter 200ms agent-check agent-port $a agent-inter 200ms agent-send "s1\\n" weight 10
    server s2 127.0.0.1:$o agent-check agent-port $a agent-inter 200ms agent-send "who\\n" weight 20
CFG
}

$t->http_origin(8091, sub { [200, [], 'origin'] });

# The agent: answers each connection with the line in agent.txt, and
# notes what it was sent.
sub agent_says { $t->write_file('agent.txt', "$_[0]\n") }
agent_says('up');
my $agent_listener = $t->listen_socket(8092);
my $agent = $t->run_daemon(sub {
    while (my $c = $agent_listener->accept) {
        my $got = '';
        sysread($c, $got, 100) if IO::Select->new($c)->can_read(0.05);
        if (open(my $n, '>>', "$dir/agent.got")) { print $n "[$got]" }
        open(my $f, '<', "$dir/agent.txt") or next;
        local $/;
        my $line = <$f> // '';
        syswrite($c, $line);
        close $c;
    }
});
close $agent_listener;

# status and weight of each server, and maxconn where set
sub states {
    my ($who) = @_;
    my $stat = $t->show_stat("$who.sock");
    return join(' ', map {
        my $r = $stat->{"h/$_"};
        "$_=$r->{status}/$r->{weight}"
            . ($r->{slim} ne '' ? "/max$r->{slim}" : '')
    } qw(s1 s2));
}

sub outcomes {
    my ($who, $log) = @_;
    my @seen;
    sleep 0.6;
    for my $line ('50%', 'down #gone fishing', 'up', 'down, 30% maxconn:7',
        'up', 'drain', 'up', 'ready', 'maint', 'ready', 'garbage 10%',
        'stopped') {
        agent_says($line);
        sleep 0.6;
        push @seen, "$line => " . states($who);
    }
    agent_says('up');
    sleep 0.6;
    open(my $fh, '<', "$dir/$log") or return (\@seen, []);
    # the two servers' agents run apart: their lines may come in either
    # order, which the counts of servers left reflect
    my @lines = sort map {
        s/check duration: \d+ms/check duration: Tms/r =~ s/\d+ active/N active/r
    } grep { /Server h\/s\d/ } map { s/^<\d+>\S+ +\d+ [\d:]+ \S+ //r }
        map { /(<\d+>.*)/ ? $1 : () } <$fh>;
    chomp @lines;
    return (\@seen, \@lines);
}

$t->expect_alerts(qr/is DOWN|for maintenance|no server available/);
$t->write_file('lp.cfg', config('lp', $t->port(8080)));
$t->run;
my ($seen, $logged) = outcomes('lp', 'stderr.log');

is_deeply($seen, [
    '50% => s1=UP/5 s2=no check/10',
    'down #gone fishing => s1=DOWN (agent)/5 s2=DOWN (agent)/10',
    'up => s1=UP/5 s2=no check/10',
    'down, 30% maxconn:7 => s1=DOWN (agent)/3/max7 s2=DOWN (agent)/6/max7',
    'up => s1=UP/3/max7 s2=no check/6/max7',
    'drain => s1=DRAIN (agent)/3/max7 s2=DRAIN (agent)/6/max7',
    'up => s1=DRAIN (agent)/3/max7 s2=DRAIN (agent)/6/max7',
    'ready => s1=UP/3/max7 s2=no check/6/max7',
    'maint => s1=MAINT/3/max7 s2=MAINT/6/max7',
    'ready => s1=UP/3/max7 s2=no check/6/max7',
    'garbage 10% => s1=UP/1/max7 s2=no check/2/max7',
    'stopped => s1=DOWN (agent)/1/max7 s2=DOWN (agent)/2/max7',
], 'each line of the agent, as the statistics show it') or diag(explain($seen));
my $all = join("\n", @$logged);
like($all, qr/^\QServer h\/s1 is DOWN, reason: Layer7 wrong status, code: 0, \E
    \Qinfo: "via agent : down (gone fishing)", check duration: Tms. N \E
    \Qactive and 0 backup servers left. 0 sessions active, 0 requeued, 0 \E
    \Qremaining in queue.\E$/mx,
    'a server the agent takes down is logged as HAProxy does');
like($all, qr/^\QServer h\/s1 is UP, reason: Layer7 check passed, code: 0, \E
    \Qinfo: "via agent : up", check duration: Tms. N active and 0 backup \E
    \Qservers online. 0 sessions requeued, 0 total in queue.\E$/mx,
    'and back up');
like($all, qr/^\QServer h\/s1 enters drain state. N active and 0 backup \E
    \Qservers online. 0 sessions requeued, 0 total in queue.\E$/mx,
    'entering drain');
like($all, qr/^\QServer h\/s1 is UP (leaving forced drain).\E$/m,
    'leaving drain');
like($all, qr/^\QServer h\/s2 is going DOWN for maintenance. N active and 0 \E
    \Qbackup servers left. 0 sessions active, 0 requeued, 0 remaining in \E
    \Qqueue.\E$/mx, 'going down for maintenance');
like($all, qr/^\QServer h\/s2 is UP\/READY (leaving forced maintenance).\E$/m,
    'leaving maintenance');
my ($got) = do { local $/; open(my $g, '<', "$dir/agent.got"); <$g> };
like($got // '', qr/\[who\n\]/, 'agent-send: what the agent was sent first');

my ($rc, $out) = $t->check_config(
    "backend b\n    server s 127.0.0.1:1 agent-check\n", 'bad.cfg');
ok($rc != 0 && $out =~ /bad\.cfg:2: .*'agent-check' needs an 'agent-port'/,
    'agent-check without agent-port: an error at its line') or diag($out);
($rc, $out) = $t->check_config(
    "backend b\n    server s 127.0.0.1:1 agent-check agent-port 2 "
    . "agent-addr nowhere\n", 'bad.cfg');
ok($rc != 0 && $out =~ /bad\.cfg:2: /, 'a bad agent-addr: an error at its line')
    or diag($out);

SKIP: {
    skip("no haproxy at $haproxy", 2) unless -x $haproxy;
    agent_says('up');
    $t->write_file('ha.cfg', config('ha', $t->port(8180)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    my ($hseen, $hlogged) = outcomes('ha', 'haproxy.log');
    is_deeply($seen, $hseen, 'HAProxy: the same states and weights')
        or diag(explain($hseen));
    is_deeply($logged, $hlogged, 'HAProxy: the same log lines')
        or diag(explain($logged, $hlogged));
}

$t->stop_daemon($agent);
$t->done_testing;

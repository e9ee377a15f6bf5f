#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# The runtime API on a stats socket, with two workers: HAProxy's protocol
# (answers end with an empty line, ';' separates commands, prompt, quit,
# help, unknown commands), "@N" targeting, show info / show stat, map and
# ACL edits reaching the traffic of both workers, server weight and state
# changing the real balancing, levels refusing what they must, a stopped
# worker costing a timeout and not the master, the API surviving a reload,
# and no descriptor left in the master after many connections.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy qw(fd_count fds_settle);
use IO::Select;
use IO::Socket::IP;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new(timeout => 60);
$t->write_file('m.map', "/a one\n/b two\n");
$t->write_file('deny.lst', "10.9.9.9\n");
$t->write_file_expand('cli.cfg', <<'CFG');
global
    nbproc 2
    stats socket %%TESTDIR%%/admin.sock level admin mode 600
    stats socket %%TESTDIR%%/user.sock level user
    stats socket %%TESTDIR%%/oper.sock
    stats socket ipv4@127.0.0.1:%%PORT_8099%% level user
    stats timeout 1s

defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    http-request deny if { src -f %%TESTDIR%%/deny.lst }
    http-request return status 200 content-type text/plain lf-string "%[path,map(%%TESTDIR%%/m.map,none)] %[path,map_beg(%%TESTDIR%%/m.map,nobeg)] %pid" if { path_beg /m/ }
    default_backend be

backend be
    server s1 127.0.0.1:%%PORT_8091%%
    server s2 127.0.0.1:%%PORT_8092%%
CFG

for my $n (1, 2) {
    $t->http_origin(8090 + $n,
        sub { return [200, ['content-type' => 'text/plain'], "s$n"] });
}
$t->run;
$t->plan(70);

my $port = $t->port(8080);
my $map = $t->testdir . '/m.map';
sub cli { return $t->cli('admin.sock', "$_[0]\n") // '' }

# ---- protocol
my $info = cli('show info');
like($info, qr/^Name: luaproxy\nVersion: /, 'show info: Name and Version first');
like($info, qr/\n\n\z/, 'the answer ends with an empty line');
my ($pid1) = $info =~ /^Pid: (\d+)$/m;
like($info, qr/^Process_num: 1$/m, 'without @N, worker 1 answers a show');
my ($pid2) = cli('@2 show info') =~ /^Pid: (\d+)$/m;
ok($pid2 && $pid2 != $pid1, '@2 reaches the second worker');
is(cli("\@!$pid2 show info") =~ /^Process_num: 2$/m ? 1 : 0, 1,
    '@!PID reaches a worker by pid');
like(cli('@7 show info'), qr/^Can't find the target process!\n\n\z/,
    '@N without such a worker');
my $two = cli('show map; get weight be/s1');
like($two, qr/^# id \(file\) description\n.*\n\n1 \(initial 1\)\n\n\z/s,
    "';' runs the commands in turn, each answer ending with an empty line");
like(cli('help'), qr/^The following commands are valid at this level:\n(  .*\n)*  show stat .*\n(  .*\n)*  quit .*\n\n\z/,
    'help lists the commands and quit');
like(cli('foo bar'),
    qr/^Unknown command\. Please enter one of the following commands only:\n/,
    'an unknown command gets the list');
like(cli('show foo'),
    qr/^Unknown command, but maybe one of the following ones is a better match:\n  show /,
    'a partly known command gets the close ones');
my $p = $t->cli('admin.sock', "prompt\nshow info\nquit\n") // '';
like($p, qr/^\n> Name: luaproxy\n.*\n\n> \z/s,
    'prompt: interactive with "> ", quit closes');
like($t->cli('admin.sock', "prompt\nshow info\n") // '', qr/^\n> Name: luaproxy\n.*\n\n> \z/s,
    'an interactive client that closes its side still gets the answer');

# ---- show stat
my @stat = split /\n/, cli('show stat');
like($stat[0], qr/^# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,/,
    'show stat: HAProxy\'s header, its columns in its order');
my $ncols = () = $stat[0] =~ /,/g;
is(scalar(grep { (() = /,/g) == $ncols } @stat[1 .. $#stat]), 4,
    'four lines, each with every column');
my %row = map { my @f = split /,/, $_, -1; ("$f[0]/$f[1]" => \@f) }
    @stat[1 .. $#stat];
is_deeply([sort keys %row], [qw(be/BACKEND be/s1 be/s2 fe/FRONTEND)],
    'frontend, servers, backend');
is($row{'fe/FRONTEND'}[17], 'OPEN', 'frontend status OPEN');
is($row{'be/s2'}[18], '1', 'server weight column');
my @srv = grep { !/^#/ } split /\n/, cli('show stat -1 4 -1');
is(join(' ', map { (split /,/)[1] } @srv), 's1 s2', 'show stat -1 4 -1: servers only');
@srv = grep { !/^#/ } split /\n/, cli('show stat be 2 -1');
is(join(' ', map { (split /,/)[1] } @srv), 'BACKEND', 'show stat <proxy> 2 -1');

# ---- maps: edits reach both workers' traffic
# Rounds of 20 parallel requests (parallel, so that both workers accept
# some) until both workers answered; returns whether they did and the
# bodies (value(s) and pid) seen.
sub both_workers {
    my ($path) = @_;
    my (%seen, @bodies);
    for (1 .. 10) {
        for my $r ($t->http_get_many($port, [($path) x 20])) {
            push @bodies, $r->{body} // '';
            my ($pid) = ($r->{body} // '') =~ / (\d+)$/;
            $seen{$pid // 0}++;
        }
        last if keys %seen >= 2 && !$seen{0};
    }
    diag("answers: @bodies[0 .. 5] ...") unless keys %seen == 2 && !$seen{0};
    return (keys %seen == 2 && !$seen{0}, @bodies);
}
my ($both, @b) = both_workers('/m/');
ok($both && !grep({ !/^none nobeg / } @b), 'before: both workers miss /m/');
my ($id) = cli('show map') =~ /^(\d+) \(\Q$map\E\)/m;
ok(defined $id, 'show map lists the file with its id');
is(cli("add map #$id /m/ fresh"), "\n", 'add map answers an empty line');
($both, @b) = both_workers('/m/');
ok($both && !grep({ !/^fresh fresh / } @b),
    'after add map, both workers answer the new value, by both methods');
is(cli("set map $map /m/ newer"), "\n", 'set map by file name');
($both, @b) = both_workers('/m/');
ok($both && !grep({ !/^newer newer / } @b), 'set map reached both workers');
like(cli("show map #$id"), qr/^0x[0-9a-f]+ \/a one\n0x[0-9a-f]+ \/b two\n0x[0-9a-f]+ \/m\/ newer\n\n\z/,
    'show map <id> dumps the entries');
like(cli('@2 show map #' . $id), qr/\/m\/ newer/, 'worker 2 has the edit too');
like(cli("get map #$id /a"),
    qr/^type=(str|beg), case=sensitive, found=yes, idx=tree, key="\/a", value="one", type="str"\n\n\z/,
    'get map: the entry a value matches');
like(cli("get map #$id /zzz"), qr/^type=(str|beg), case=sensitive, found=no\n\n\z/,
    'get map: no match');
is(cli("del map #$id /m/"), "\n", 'del map');
($both, @b) = both_workers('/m/');
ok($both && !grep({ !/^none nobeg / } @b), 'del map reached both workers');
is(cli("del map #$id /zz"), "Key not found.\n\n", 'del map of a missing key');
is(cli('add map #99 a b'),
    "Unknown map identifier. Please use #<id> or <file>.\n\n",
    'unknown map identifier');
is(cli("clear map #$id; show map #$id"), "\n\n", 'clear map empties it');

# ---- ACL pattern files
my ($aid) = cli('show acl') =~ /^(\d+) \(.*deny\.lst\)/m;
is(cli("get acl #$aid 10.9.9.9"),
    "type=ip, case=sensitive, match=yes, idx=tree, pattern=\"10.9.9.9\"\n\n",
    'get acl');
is(cli("add acl #$aid 127.0.0.1"), "\n", 'add acl');
my @r = map { $t->http_get($port, '/x')->{status} } 1 .. 6;
is("@r", '403 403 403 403 403 403', 'the new pattern denies in both workers');
is(cli("del acl #$aid 127.0.0.1"), "\n", 'del acl');
@r = map { $t->http_get($port, '/x')->{status} } 1 .. 6;
is("@r", '200 200 200 200 200 200', 'and traffic passes again');
cli("add acl #$aid 127.0.0.1");
is(cli("clear acl #$aid; show acl #$aid"), "\n\n", 'clear acl empties it');
@r = map { $t->http_get($port, '/x')->{status} } 1 .. 4;
is("@r", '200 200 200 200', 'nothing denied after clear acl');

# ---- servers: weight and state change the balancing
sub served {
    my %n;
    $n{ $t->http_get($port, '/x')->{body} // 'none' }++ for 1 .. 12;
    return join ' ', map { "$_=$n{$_}" } sort keys %n;
}
like(served(), qr/^s1=\d+ s2=\d+$/, 'both servers serve');
is(cli('set server be/s1 state maint'), "\n", 'set server state maint');
is(served(), 's2=12', 'a server in maintenance gets nothing');
is(cli('set server be/s1 state drain; get weight be/s1'), "\n1 (initial 1)\n\n",
    'drain keeps the weight aside');
is(served(), 's2=12', 'a draining server gets no new traffic');
cli('set server be/s1 state ready');
like(served(), qr/^s1=\d+ s2=\d+$/, 'ready again: both serve');
is(cli('set weight be/s2 0; @2 get weight be/s2'), "\n0 (initial 1)\n\n",
    'set weight reaches worker 2');
is(served(), 's1=12', 'weight 0 takes a server out of the rotation');
is(cli('set server be/s2 weight 2; get weight be/s2'), "\n2 (initial 1)\n\n",
    'set server weight');
cli('set weight be/s2 300%; disable server be/s1');
is(served(), 's2=12', 'disable server');
cli('enable server be/s1');
like(cli('set weight be/s2 999'), qr/^Absolute weight can only be between 0 and 256/,
    'a weight out of range is refused');
is(cli('set weight be/s2 1844674407370955162%; get weight be/s2'),
    "\n256 (initial 1)\n\n", 'a huge relative weight stops at 256');

# ---- levels
is($t->cli('user.sock', "set weight be/s1 2\n"), "Permission denied\n\n",
    'a user socket cannot change a weight');
is($t->cli('user.sock', "add map #$id k v\n"), "Permission denied\n\n",
    'nor a map');
is($t->cli('oper.sock', "set server be/s1 state maint\n"),
    "Permission denied\n\n", 'an operator socket cannot change a server');
like($t->cli('user.sock', "show info\n"), qr/^Name: luaproxy/m,
    'a user socket reads');
{
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port(8099), Proto => 'tcp');
    my $got = '';
    if ($s) {
        print $s "show info; set weight be/s1 1\n";
        my ($sel, $end) = (IO::Select->new($s), time + 5);
        while (time < $end && $sel->can_read($end - time)) {
            last unless sysread($s, $got, 4096, length $got);
        }
    }
    like($got, qr/^Name: luaproxy\n.*\n\nPermission denied\n\n\z/s,
        'a TCP stats socket, with its own level');
}

# ---- a stopped worker costs a timeout, not the master
kill 'STOP', $pid2;
my $t0 = time;
like(cli('@2 show info'), qr/^worker 2 \(pid $pid2\) did not answer in time\.\n\n\z/,
    'a stopped worker times out');
ok(time - $t0 < 3, 'within stats timeout');
like(cli('@1 show info'), qr/^Process_num: 1$/m, 'worker 1 still answers');
kill 'CONT', $pid2;

# ---- "stats maxconn" (10 by default): the next client waits its turn
my @idle = map { IO::Socket::UNIX->new(Peer => $t->testdir . '/admin.sock',
    Type => SOCK_STREAM) } 1 .. 10;
is($t->cli('admin.sock', "show info\n", timeout => 0.3), '',
    'the 11th client is not served while 10 are connected');
close $_ for @idle;
like(cli('show info'), qr/^Name: luaproxy/, 'and is once they leave');

# ---- no descriptor left in the master after many connections
my $master = $t->pid;
my $before = fd_count($master);
cli($_ % 2 ? 'show info' : 'add map #' . $id . " k$_ v") for 1 .. 200;
$t->cli('admin.sock', "show in", keep_open => 1, timeout => 0.05) for 1 .. 20;
is(fds_settle($master, $before), $before,
    "master fd count unchanged after 220 CLI connections ($before)");

# ---- reload: the new generation answers
my $mark = $t->log_mark;
$t->reload;
ok($t->wait_log(qr/reload done, generation 2/, mark => $mark, timeout => 10)
        && $t->wait_log(qr/worker 2 \(pid \d+\) ready, generation 2/,
            mark => $mark, timeout => 10),
    'reloaded');
my ($npid) = cli('show info') =~ /^Pid: (\d+)$/m;
ok($npid && $npid != $pid1 && $npid != $pid2,
    'after a reload the new worker 1 answers');

# ---- configuration errors name the file and line
my ($rc, $out) = $t->check_config("global\n    stats socket %%TESTDIR%%/x.sock level root\n");
ok($rc != 0 && $out =~ /check\.cfg:2: .*'level' only supports 'user', 'operator', and 'admin'/,
    'a bad level is a file:line error') or diag($out);
($rc, $out) = $t->check_config("global\n    stats timeout 0\n");
ok($rc != 0 && $out =~ /check\.cfg:2: .*positive/, 'stats timeout 0 is refused')
    or diag($out);
($rc, $out) = $t->check_config("global\n    stats socket\n");
ok($rc != 0 && $out =~ /check\.cfg:2: /, 'stats socket without address')
    or diag($out);
($rc, $out) = $t->check_config(
    "global\n    stats socket %%TESTDIR%%/x.sock mode 600 expose-fd listeners\n");
ok($rc == 0 && $out =~ /check\.cfg:2: .*expose-fd listeners.* ignored/,
    'expose-fd listeners is accepted with a notice') or diag($out);

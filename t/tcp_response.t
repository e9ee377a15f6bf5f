#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# tcp-response content rules in TCP mode: the backend's rules judge the
# server's first bytes before any reach the client, waiting for data while
# tcp-response inspect-delay runs (res.len, res.payload); accept, reject,
# set-var, and Lua actions that yield (lua.NAME from the registry; as in
# HAProxy they may yield only while an inspect-delay runs), one of them
# reading and editing the server's bytes through txn.res.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use IO::Socket::IP;
use IO::Select;
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new;
$t->write_file_expand('res.lua', <<'EOF2');
core.register_action("nap", { "tcp-res" }, function(txn)
  core.msleep(300)
  txn:set_var("txn.napped", "1")
end)
-- reads the server's first 8 bytes (waiting for them if they come in
-- parts), tags them, and drops the request side's view: only txn.res
-- holds server bytes
core.register_action("tag", { "tcp-res" }, function(txn)
  local head = txn.res:data(0, 8)
  txn.res:prepend(string.format("[%s %d %s]", tostring(txn.res:is_resp()),
    txn.res:input(), head))
  txn.res:send("<sent>")
end)
EOF2
$t->write_file_expand('lp.cfg', <<'EOF2');
global
    nbproc 1
    lua-load res.lua
defaults
    mode tcp
    option tcplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe_judge
    bind 127.0.0.1:%%PORT_8080%%
    default_backend judge
frontend fe_short
    bind 127.0.0.1:%%PORT_8081%%
    default_backend short
frontend fe_tag
    bind 127.0.0.1:%%PORT_8082%%
    default_backend tagged
frontend fe_lua
    bind 127.0.0.1:%%PORT_8083%%
    default_backend lua
frontend fe_tag_lua
    bind 127.0.0.1:%%PORT_8084%%
    default_backend lua_tag
backend judge
    tcp-response inspect-delay 2s
    tcp-response content reject if { res.payload(0,4) -m str EVIL }
    tcp-response content accept if { res.len ge 4 }
    server s 127.0.0.1:%%PORT_8091%%
backend short
    tcp-response inspect-delay 400ms
    tcp-response content accept if { res.len ge 4 }
    server s 127.0.0.1:%%PORT_8091%%
backend tagged
    tcp-response inspect-delay 2s
    tcp-response content set-var(txn.first) res.payload(0,3) if { res.len ge 3 }
    tcp-response content reject if { var(txn.first) -m str BAD }
    server s 127.0.0.1:%%PORT_8091%%
backend lua_tag
    tcp-response inspect-delay 2s
    tcp-response content lua.tag
    server s 127.0.0.1:%%PORT_8091%%
backend lua
    tcp-response inspect-delay 1s
    tcp-response content lua.nap
    tcp-response content reject unless { var(txn.napped) -m str 1 }
    server s 127.0.0.1:%%PORT_8091%%
EOF2

# The server does what the client's first line says: "A|B|C" sends A,
# then B 300 ms later, then C...; then it waits for the client to finish.
my $l = $t->listen_socket(8091);
$t->run_daemon(sub {
    while (my $c = $l->accept) {
        next if fork();
        my $line = '';
        while ($line !~ /\n/) {
            sysread($c, $line, 4096, length $line) or exit 0;
        }
        chomp $line;
        my @parts = split /\|/, $line;
        for my $i (0 .. $#parts) {
            sleep 0.3 if $i;
            syswrite($c, $parts[$i]);
        }
        1 while sysread($c, my $buf, 4096);
        exit 0;
    }
});
close $l;
# the start-up probe connects and closes at once: keep it off the Lua
# backend, where its rules would run final and the action could not sleep
$t->wait_ports($t->port(8080));
$t->run;

$t->plan(14);

# Connects to <n>, sends "<script>\n", reads what arrives within <wait>
# seconds (until EOF); returns (data, seconds until the first byte, eof).
sub talk {
    my ($n, $script, $wait) = @_;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port($n)) or return ('', undef, 0);
    my $t0 = time;
    syswrite($s, "$script\n");
    my $sel = IO::Select->new($s);
    my ($got, $first, $eof) = ('', undef, 0);
    my $deadline = $t0 + ($wait // 2);
    while ((my $left = $deadline - time) > 0) {
        last unless $sel->can_read($left);
        my $r = sysread($s, my $buf, 4096);
        if (!$r) { $eof = 1; last }
        $first //= time - $t0;
        $got .= $buf;
        if ($got =~ /\n$/) { shutdown($s, 1) }
    }
    return ($got, $first, $eof);
}

my ($got, $first, $eof) = talk(8080, "GOOD data\n");
is($got, "GOOD data\n", 'accepted: the server bytes reach the client');

($got, $first, $eof) = talk(8080, "EVIL data\n");
is($got, '', 'rejected on res.payload: nothing reaches the client');
ok($eof, 'rejected: the connection is closed');

($got, $first) = talk(8080, "GO|OD\n");
is($got, "GOOD\n", 'the rule waited for 4 bytes, then accepted');
ok(defined $first && $first >= 0.25,
    'nothing was forwarded before the rules decided (' . ($first // 'none') . ' s)');

($got) = talk(8080, "EV|IL\n");
is($got, '', 'EVIL in two parts is still rejected: the rules waited');

($got, $first) = talk(8081, "GO|", 2);
is($got, 'GO', 'inspect-delay expired: the rules ran on what there was');
ok(defined $first && $first >= 0.35 && $first < 1.5,
    'after the 400 ms delay (' . ($first // 'none') . ' s)');

($got) = talk(8082, "BAD news\n");
is($got, '', 'set-var(txn.first) res.payload(0,3), then reject on the var');
($got) = talk(8082, "GOOD news\n");
is($got, "GOOD news\n", 'another first word passes');

($got, $first) = talk(8083, "hello lua\n");
is($got, "hello lua\n", 'a Lua action (it yields) set the var the next rule wants');
ok(defined $first && $first >= 0.25, 'the Lua action slept before forwarding');

($got, $first) = talk(8084, "serv|er bytes\n");
is($got, "<sent>[true 13 server b]server bytes\n",
    'txn.res in a tcp-res action: waits for 8 bytes, reads, prepends, sends');
ok(defined $first && $first >= 0.25, 'nothing reached the client before it ran');

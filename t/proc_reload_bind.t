#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# A reload that adds one bind and removes another: the new port serves,
# the removed one refuses connections, and the unchanged one never refuses
# nor fails a request while the reloads happen (its socket is the same fd).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy qw(return_config);
use Test::Luaproxy::Load;
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new(timeout => 30);
my $cfg = return_config(binds => ['%%PORT_8080%%', '%%PORT_MOVING%%']);
(my $v1 = $cfg) =~ s/MOVING/8081/;
(my $v2 = $cfg) =~ s/MOVING/8082/;
$t->write_file_expand('bind.cfg', $v1);
$t->run;
$t->plan(8);

my ($kept, $removed, $added) = map { $t->port($_) } 8080, 8081, 8082;
is($t->http_get($removed, '/')->{status}, 200, 'the port to remove serves');
ok(!$t->waitforsocket($added, 0.1), 'the port to add is not bound yet');
my $fd = listener_inode($t->pid, $kept);

my $load = Test::Luaproxy::Load->start($t,
    { port => $kept, path => '/a', expect => sub {'ok'} },
    { port => $kept, path => '/b', expect => sub {'ok'} },
    { port => $kept, path => '/c', expect => sub {'ok'}, keepalive => 1 });
sleep 0.2;
my ($mark, @old);
for my $v ($v2, $v1, $v2) {
    @old = $t->worker_pids;
    $t->write_file_expand('bind.cfg', $v);
    $mark = $t->log_mark;
    $t->reload;
    $t->wait_log(qr/reload done/, mark => $mark)
        or diag("reload failed:\n" . $t->log_since($mark));
    sleep 0.2;
}
ok(wait_gone(@old), 'the old workers are gone');
my $res = $load->finish;
is(scalar @{ $res->{failures} }, 0,
    "the unchanged port answered all $res->{requests} requests")
    or diag(join("\n", @{ $res->{failures} }[0 .. 9]));
is(listener_inode($t->pid, $kept), $fd,
    'the unchanged port is still the same socket in the master');

is($t->http_get($added, '/')->{status}, 200, 'the added port serves');
my $r = $t->raw_request($removed, "GET / HTTP/1.0\r\n\r\n", timeout => 2);
ok(!$r->{connected}, 'the removed port refuses connections')
    or diag("connected; got '$r->{data}'");
ok(!grep({ listener_inode($_, $removed) } $t->pid, $t->worker_pids),
    'no process holds the removed socket');

# Wait (5 s at most) until none of the PIDs is a worker any more.
sub wait_gone {
    my %pids = map { $_ => 1 } @_;
    my $deadline = time + 5;
    while (time < $deadline) {
        return 1 unless grep { $pids{$_} } $t->worker_pids;
        sleep 0.05;
    }
    return 0;
}

# The inode of the socket listening on 127.0.0.1:port if process $pid
# holds it, else undef.
sub listener_inode {
    my ($pid, $port) = @_;
    my $hex = sprintf('0100007F:%04X', $port);
    open(my $fh, '<', '/proc/net/tcp') or return undef;
    my %inode;
    while (<$fh>) {
        my @f = split;
        $inode{ $f[9] } = 1 if $f[1] eq $hex && $f[3] eq '0A';
    }
    opendir(my $dh, "/proc/$pid/fd") or return undef;
    for my $fd (readdir $dh) {
        my $link = readlink("/proc/$pid/fd/$fd") // next;
        return $1 if $link =~ /^socket:\[(\d+)\]/ && $inode{$1};
    }
    return undef;
}

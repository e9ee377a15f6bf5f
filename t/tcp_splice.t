#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# TCP mode with "option splice-request/splice-response/splice-auto": 4 MiB
# go to an echo origin and back byte for byte, each side's half-close
# reaches the other once everything before it was delivered, and the
# worker really moves them through pipes (seen in /proc/PID/fd halfway
# through), which it does not without the options. splice-auto starts
# splicing only once a transfer fills whole buffers. The log counts the
# spliced bytes. Global maxpipes bounds the pipes: beyond it, bytes are
# copied.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Errno qw(EAGAIN EINTR);
use IO::Select;
use Socket qw(SHUT_WR);
use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time);

my $t = Test::Luaproxy->new(timeout => 60);
my $sink = Test::Luaproxy::syslog_sink();
my $sink_port = $sink->sockport;
# The configuration, with global settings <extra>.
sub config {
    my ($extra) = @_;
    $t->write_file_expand('splice.cfg', <<"CFG");
global
    nbproc 1
$extra

defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s

listen both
    bind 127.0.0.1:%%PORT_8081%%
    log 127.0.0.1:$sink_port local0
    log-format "bytes %U %B"
    option splice-request
    option splice-response
    server echo 127.0.0.1:%%PORT_8090%%

frontend auto
    bind 127.0.0.1:%%PORT_8082%%
    option splice-auto
    default_backend echo

listen copy
    bind 127.0.0.1:%%PORT_8083%%
    server echo 127.0.0.1:%%PORT_8090%%

backend echo
    server echo 127.0.0.1:%%PORT_8090%%
CFG
}
config('');

# The origin echoes what it reads; at the client's end of data it sends
# "<bytes read>\n" and closes.
my $l = $t->listen_socket(8090);
$t->run_daemon(sub {
    while (my $c = $l->accept) {
        next if fork;
        my ($buf, $n) = ('', 0);
        while (my $r = sysread($c, $buf, 65536)) {
            $n += $r;
            my $off = 0;
            $off += syswrite($c, $buf, $r - $off, $off) while $off < $r;
        }
        print $c "$n\n";
        close $c;
        POSIX::_exit(0);
    }
});
close $l;
$t->run;
$t->plan(12);

# Pipes the worker holds now.
sub pipes {
    my ($pid) = $t->worker_pids;
    opendir(my $d, "/proc/$pid/fd") or return -1;
    my $n = grep { (readlink("/proc/$pid/fd/$_") // '') =~ /^pipe:/ }
        readdir $d;
    return $n;
}

# Sends <data> through port <n> and half-closes; returns what came back
# and the worker's pipe count once half the echo has arrived.
sub transfer {
    my ($n, $data) = @_;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
        PeerPort => $t->port($n)) or die "connect: $!\n";
    $s->blocking(0);
    my ($sent, $got, $mid, $shut) = (0, '', undef, 0);
    my $deadline = time + 20;
    while (time < $deadline) {
        my @w = $sent < length $data ? ($s) : ();
        my ($r, $wr) = IO::Select->select(IO::Select->new($s),
            IO::Select->new(@w), undef, 1);
        if ($wr && @$wr) {
            my $k = syswrite($s, $data, 65536, $sent);
            $sent += $k if $k;
        }
        # the pipes are counted before the half-close, while the worker
        # still holds both connections
        $mid //= pipes() if length $got > length($data) / 2;
        if (!$shut && $sent == length $data && defined $mid) {
            shutdown($s, SHUT_WR);
            $shut = 1;
        }
        next unless $r && @$r;
        my $k = sysread($s, $got, 65536, length $got);
        next if !defined $k && ($! == EAGAIN || $! == EINTR);
        last unless $k;
    }
    close $s;
    return ($got, $mid // -1);
}

my $data = join '', map { pack('N', $_ * 2654435761 % 4294967296) }
    1 .. 1024 * 1024; # 4 MiB, no repeating pattern at any power of two
my $idle = pipes();
Test::Luaproxy::syslog_drain($sink); # the start-up probes' lines
my ($got, $mid) = transfer(8081, $data);
is(length $got, length($data) + length(length($data) . "\n"),
    'splice: every byte came back');
ok($got eq $data . length($data) . "\n",
    'splice: byte-exact both ways, the half-close after the data');
cmp_ok($mid, '>=', $idle + 4,
    "splice: two pipes, one a direction, halfway ($mid fds, $idle idle)");
my $line = '';
$sink->recv($line, 65536) if IO::Select->new($sink)->can_read(3);
like($line, qr/bytes 4194304 4194312$/,
    'splice: the log counts the spliced bytes (%U %B)');

($got, $mid) = transfer(8083, $data);
ok($got eq $data . length($data) . "\n", 'no option: byte-exact');
is($mid, $idle, 'no option: no pipe');

($got, $mid) = transfer(8082, $data);
ok($got eq $data . length($data) . "\n", 'splice-auto: byte-exact');
cmp_ok($mid, '>=', $idle + 4,
    "splice-auto: pipes for a large transfer ($mid fds)");

($got, $mid) = transfer(8082, "small\n");
is($got, "small\n6\n", 'splice-auto: a small exchange and its half-close');
is($mid, $idle, 'splice-auto: no pipe for it');

# maxpipes 1: the second direction finds no pipe and copies.
my $mark = $t->log_mark;
config('    maxpipes 1');
$t->reload;
$t->wait_log(qr/reload done, generation 2/, mark => $mark);
my $by = time + 5;
select(undef, undef, undef, 0.05) while $t->worker_pids > 1 && time < $by;
$idle = pipes();
($got, $mid) = transfer(8081, $data);
ok($got eq $data . length($data) . "\n", 'maxpipes 1: byte-exact');
is($mid, $idle + 2, 'maxpipes 1: one pipe, one direction copies');

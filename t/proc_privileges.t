#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Running as root with "user nobody", "group nogroup" and "chroot DIR":
# every worker runs as that user and group, with no supplementary group,
# inside the chroot, with no_new_privs; the master stays root and does not
# chroot. A reload keeps it that way.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new(timeout => 30);
$t->skip_all('needs root') if $> != 0;
my @pw = getpwnam('nobody');
my @gr = getgrnam('nogroup');
$t->skip_all('needs user nobody and group nogroup') unless @pw && @gr;
my ($uid, $gid) = ($pw[2], $gr[2]);

# LeakSanitizer needs /proc, which a chrooted worker does not have: in a
# sanitizer build, leaks are checked by the other tests, not this one.
$ENV{ASAN_OPTIONS} = join(':', grep {length} $ENV{ASAN_OPTIONS} // '',
    'detect_leaks=0');

my $jail = $t->testdir . '/jail';
mkdir $jail or die "mkdir $jail: $!\n";
$t->write_file_expand('priv.cfg', <<'CFG');
global
    nbproc 2
    user nobody
    group nogroup
    chroot %%TESTDIR%%/jail

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    http-request return status 200 content-type text/plain string ok
CFG
$t->run;
$t->plan(11);

my $port = $t->port(8080);
# The port accepts as soon as the master has bound it: wait for the workers.
$t->wait_log(qr/(?s:ready, generation 1.*){2}/);
check_workers('at start');

my $mark = $t->log_mark;
my @old = $t->worker_pids;
$t->reload;
ok($t->wait_log(qr/reload done/, mark => $mark), 'reload done');
$t->wait_log(qr/(?s:ready, generation 2.*){2}/, mark => $mark);
my $deadline = time + 5;
sleep 0.05 while time < $deadline
    && grep { my $o = $_; grep { $_ == $o } $t->worker_pids } @old;
check_workers('after a reload');

my %m = status($t->pid);
is("$m{Uid} $m{Gid}", '0 0', 'the master stays root');
is(readlink('/proc/' . $t->pid . '/root'), '/', 'the master is not chrooted');

# Checks the current workers' identity, root and no_new_privs, and that
# they serve (4 tests).
sub check_workers {
    my ($when) = @_;
    my @w = $t->worker_pids;
    is(scalar @w, 2, "$when: two workers");
    my @bad = grep {
        my %s = status($_);
        "$s{Uid} $s{Gid} $s{Groups} $s{NoNewPrivs}" ne "$uid $gid  1"
    } @w;
    is(scalar @bad, 0,
        "$when: workers run as nobody:nogroup, no other group, "
        . 'no_new_privs') or diag(join "\n", map { my %s = status($_);
        "$_: uid $s{Uid} gid $s{Gid} groups '$s{Groups}'" } @bad);
    my @roots = map { readlink("/proc/$_/root") // "?$!" } @w;
    is(scalar(grep { $_ eq $jail } @roots), 2,
        "$when: workers are chrooted to the jail") or diag("@roots");
    is($t->http_get($port, '/')->{body}, 'ok', "$when: workers serve");
}

# The interesting fields of /proc/PID/status (real ids, groups, flags).
sub status {
    my ($pid) = @_;
    my %s = (Groups => '', NoNewPrivs => '');
    open(my $fh, '<', "/proc/$pid/status") or return %s;
    while (my $line = <$fh>) {
        $s{$1} = $2 if $line =~ /^(Uid|Gid):\s+(\d+)/;
        $s{$1} = $2 if $line =~ /^(Groups|NoNewPrivs):\s*(.*?)\s*$/;
    }
    return %s;
}

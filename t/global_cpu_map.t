#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# "cpu-map [auto:]1[/THREADS] CPUS...": the workers (HAProxy's threads)
# run on the CPUs named; with "auto:", the n-th worker of the set on the
# n-th CPU; a later line wins. Bad sets are errors at their line.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new(timeout => 60);
my $ncpu = () = grep { /^processor\s*:/ } do {
    open(my $fh, '<', '/proc/cpuinfo') or ();
    <$fh>;
};
$t->skip_all('needs 2 CPUs') if $ncpu < 2;

$t->write_file_expand('lp.cfg', <<'CFG');
global
    nbthread 3
    cpu-map auto:1/1-2 0-1
    cpu-map 1/3 0 1
    stats socket %%TESTDIR%%/lp.sock level admin
defaults
    mode http
    timeout client 5s
frontend f
    bind 127.0.0.1:%%PORT_8080%%
    http-request return status 200
CFG
$t->run;
$t->wait_log(qr/(?s:ready, generation 1.*){3}/);

# The CPUs worker <n> may run on.
sub cpus_of {
    my ($n) = @_;
    my ($pid) = ($t->cli('lp.sock', "\@$n show info\n") // '') =~ /^Pid: (\d+)/m
        or return 'no pid';
    open(my $fh, '<', "/proc/$pid/status") or return 'no status';
    my ($l) = grep { /^Cpus_allowed_list:/ } <$fh>;
    return $l =~ /:\s*(\S+)/ ? $1 : 'none';
}

is(cpus_of(1), '0', 'auto: worker 1 on the first CPU');
is(cpus_of(2), '1', 'auto: worker 2 on the second');
is(cpus_of(3), '0-1', 'worker 3 on both CPUs of its line');

for my $c (['cpu-map 2 0', 'the process set must be 1'],
    ['cpu-map 1/x 0', "bad thread set 'x'"],
    ['cpu-map 1 0-a', "bad CPU set '0-a'"],
    ['cpu-map 1 5000', "bad CPU set '5000'"],
    ['cpu-map 1', 'expects']) {
    my ($rc, $out) = $t->check_config("global\n    $c->[0]\n", 'bad.cfg');
    ok($rc != 0 && $out =~ /bad\.cfg:2: .*\Q$c->[1]\E/, $c->[0]) or diag($out);
}

$t->done_testing;

#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# "set-var proc.NAME EXPR" and "set-var-fmt proc.NAME FMT" in the global
# section: evaluated when the configuration loads, in order (a line may
# read the variables set before it), from constant expressions only; the
# rules of every worker then read them, and may change them. A reload
# evaluates the new lines afresh: a variable no longer set is gone. Other
# scopes, expressions that need a stream and format variables that do are
# file:line errors. HAProxy answers the same.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);

sub config {
    my ($who, $port, $state) = @_;
    my $nb = $who eq 'lp' ? 'nbproc 2' : 'nbthread 2';
    my $prio = $state eq 'primary' ? '    set-var proc.prio int(100)' : '';
    return <<"CFG";
global
    $nb
    set-var proc.state str($state)
$prio
    set-var proc.threshold int(200),sub(proc.prio)
    set-var proc.none var(proc.missing)
    set-var-fmt proc.fmt "state=%[var(proc.state),upper] on %H"
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$port
    http-request set-var(proc.state) str(changed) if { path /change }
    http-request return status 200 content-type text/plain lf-string "%[var(proc.state)] %[var(proc.prio)] %[var(proc.threshold)] %[var(proc.none)] %[var(proc.fmt)]"
CFG
}

my $host = `hostname`;
chomp $host;

sub answers {
    my ($port, $n) = @_;
    my %seen;
    $seen{ $t->http_get($port, '/')->{body} // 'none' }++ for 1 .. $n;
    return join(' / ', sort keys %seen);
}

$t->write_file('lp.cfg', config('lp', $t->port(8080), 'primary'));
$t->run;
my $lp = answers($t->port(8080), 10);
is($lp, "primary 100 100  state=PRIMARY on $host",
    'every worker reads the values the global section set');
is($t->http_get($t->port(8080), '/change')->{body} =~ s/ .*//r, 'changed',
    'a rule changes one');

$t->write_file('lp.cfg', config('lp', $t->port(8080), 'backup'));
my $mark = $t->log_mark;
$t->reload;
$t->wait_log(qr/reload done/, mark => $mark);
my $after = '';
for (1 .. 50) {
    $after = answers($t->port(8080), 4);
    last if $after !~ /primary|changed/;
    select(undef, undef, undef, 0.1);
}
is($after, "backup    state=BACKUP on $host",
    'a reload sets them afresh: proc.prio is gone, so is proc.threshold');

$t->line_errors('global',
    ['set-var txn.x int(1)', qr/only process-wide variables/],
    ['set-var proc.x src', qr/'src' needs a stream/],
    ['set-var proc.x req.hdr(host)', qr/needs a stream/],
    ['set-var-fmt proc.x "%ci"', qr/'ci' needs a stream/],
    ['set-var-fmt proc.x "%[src]"', qr/'src' needs a stream/],
    ['set-var proc.x', qr/expects 2 arguments/],
    ['set-var proc.x nosuchfetch', qr/nosuchfetch/],
    ['set-var proc.x- int(1)', qr/invalid syntax/],
);
my ($rc, $out) = $t->check_config("defaults\n    set-var proc.x int(1)\n",
    'sec.cfg');
ok($rc != 0 && $out =~ /sec\.cfg:2: /, 'only in the global section')
    or diag($out);

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180), 'primary'));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    is(answers($t->port(8180), 10), $lp, 'HAProxy: the same values');
}

$t->done_testing;

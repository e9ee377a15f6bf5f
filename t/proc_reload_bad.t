#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# A reload with a broken configuration is refused: the error is logged
# with file:line, the same workers keep serving the old configuration, and
# the next good reload works.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy qw(return_config);
use Time::HiRes qw(time sleep);

my $t = Test::Luaproxy->new(timeout => 30);
my $cfg = return_config(body => 'BODY');
(my $v1 = $cfg) =~ s/BODY/one/;
(my $bad = $cfg) =~ s/(\s+bind)/\n    bogus_keyword here$1/;
(my $v2 = $cfg) =~ s/BODY/two/;
$t->write_file_expand('main.cfg', $v1);
$t->run;
$t->plan(9);
$t->expect_alerts(qr/main\.cfg:\d+/, qr/Fatal errors found/,
    qr/reload refused/);

my $port = $t->port(8080);
is($t->http_get($port, '/')->{body}, 'one', 'first configuration serves');
my @before = sort $t->worker_pids;

$t->write_file_expand('main.cfg', $bad);
my $mark = $t->log_mark;
$t->reload;
ok($t->wait_log(qr/reload refused/, mark => $mark), 'reload refused');
like($t->log_since($mark), qr/main\.cfg:11\b.*bogus_keyword/,
    'the error names file:line and the keyword');
unlike($t->log_since($mark), qr/started, generation/,
    'no worker was started');
is_deeply([sort $t->worker_pids], \@before, 'the same workers are left');
my @r = map { $t->http_get($port, "/$_") } 1 .. 20;
is(scalar(grep { ($_->{body} // '') eq 'one' } @r), 20,
    'the old workers keep serving the old configuration');

$t->write_file_expand('main.cfg', $v2);
$mark = $t->log_mark;
$t->reload;
ok($t->wait_log(qr/reload done/, mark => $mark), 'the next good reload is done');
ok(wait_gone(@before), 'the old workers are gone');
is($t->http_get($port, '/')->{body}, 'two',
    'the new configuration serves');

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

#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# "id N" on proxies and servers: the numbers the fe_id/be_id/srv_id
# fetches, "show stat" (iid, sid) and stick tables' server_id use; proxies
# and servers without one are numbered as HAProxy counts them (the next
# number moves on with each, past the ids taken); two with the same id are
# an error.
# HAProxy gives the same numbers.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);
my $dir = $t->testdir;

sub config {
    my ($who, $port) = @_;
    my $o = $t->port(8091);
    return <<"CFG";
global
    nbthread 1
    stats socket $dir/$who.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$port
    use_backend b2 if { path_beg /b2 }
    default_backend b1
backend b1
    id 1
    server a 127.0.0.1:$o id 3
    server b 127.0.0.1:$o
    server c 127.0.0.1:$o
backend b2
    id 7
    server a 127.0.0.1:$o
CFG
}

$t->http_origin(8091, sub { return [200, [], 'ok'] });

# iid/sid pairs of every line of "show stat".
sub ids {
    my ($who) = @_;
    my $out = $t->cli("$who.sock", "show stat\n") // '';
    my ($cols) = $out =~ /^# (.*)$/m;
    my @c = split /,/, $cols // '';
    my %i = map { $c[$_] => $_ } 0 .. $#c;
    my @r;
    for my $l (grep { !/^#/ && /\S/ } split /\n/, $out) {
        my @f = split /,/, $l, -1;
        push @r, "$f[0]/$f[1]=$f[$i{iid}].$f[$i{sid}]";
    }
    return join(' ', @r);
}

$t->write_file('lp.cfg', config('lp', $t->port(8080)));
$t->run;
my %lp = (stat => ids('lp'));
is($lp{stat}, 'fe/FRONTEND=2.0 b1/a=1.3 b1/b=1.2 b1/c=1.4 b1/BACKEND=1.0 '
    . 'b2/a=7.1 b2/BACKEND=7.0',
    'show stat: explicit ids kept, the others counted on past the taken ones');

my ($rc, $out) = $t->check_config(<<'CFG', 'bad.cfg');
backend a
    id 4
    server s 127.0.0.1:1 id 2
    server t 127.0.0.1:1 id 2
backend b
    id 4
CFG
ok($rc != 0 && $out =~ /bad\.cfg:4: server 't' has the same ID \(2\) as server 's'/,
    'two servers with the same id') or diag($out);
ok($rc != 0 && $out =~ /bad\.cfg:5: backend 'b' has the same ID \(4\) as backend 'a'/,
    'two proxies with the same id') or diag($out);

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    is(ids('ha'), $lp{stat}, 'HAProxy numbers them the same');
}

$t->done_testing;

#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# A server's administrative state set from one worker holds in every
# worker, as HAProxy's threads share it: the statistics page's admin form
# and Lua's Server:set_maint/set_drain/set_ready act in the worker that
# runs them and reach the others through the master (nbproc 2; each
# worker's own "show stat" tells).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use MIME::Base64 qw(encode_base64);
use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new(timeout => 60);
$t->write_file('admin.lua', <<'LUA');
core.register_action('state', {'http-req'}, function(txn, what)
    local s = core.backends['app'].servers['s1']
    if what == 'maint' then s:set_maint()
    elseif what == 'drain' then s:set_drain()
    else s:set_ready() end
    txn:done({status = 200, body = what})
end, 1)
LUA
$t->write_file_expand('lp.cfg', <<'CFG');
global
    nbproc 2
    stats socket %%TESTDIR%%/admin.sock level admin
    lua-load %%TESTDIR%%/admin.lua
defaults
    mode http
    timeout client 5s
    timeout connect 1s
    timeout server 1s
listen stats
    bind 127.0.0.1:%%PORT_8080%%
    stats uri /stats
    stats admin if TRUE
    http-request lua.state maint if { path /maint }
    http-request lua.state drain if { path /drain }
    http-request lua.state ready if { path /ready }
backend app
    server s1 127.0.0.1:%%PORT_8091%%
    server s2 127.0.0.1:%%PORT_8092%%
CFG
$t->run;
$t->wait_log(qr/(?s:ready, generation 1.*){2}/);
my $port = $t->port(8080);

# s1's status in worker <n>'s own statistics.
sub status_in {
    my ($n) = @_;
    my $out = $t->cli('admin.sock', "\@$n show stat\n") // '';
    my ($cols) = $out =~ /^# (.*)$/m;
    my @c = split /,/, $cols // '';
    my ($i) = grep { $c[$_] eq 'status' } 0 .. $#c;
    my ($line) = $out =~ /^app,s1,(.*)$/m or return 'none';
    return (split /,/, "app,s1,$line")[$i // 0];
}

# Both workers' view of s1 once it settles on <want>, or what they say.
sub both {
    my ($want) = @_;
    my @s;
    for (1 .. 100) {
        @s = map { status_in($_) } 1, 2;
        last if !grep { $_ ne $want } @s;
        select(undef, undef, undef, 0.02);
    }
    return join(' ', @s);
}

is(both('no check'), 'no check no check', 'at first s1 is in service in both');
# one request each: whichever worker answers it, both follow
for my $what (['/maint', 'MAINT'], ['/ready', 'no check'], ['/drain', 'DRAIN'],
    ['/ready', 'no check']) {
    $t->http_get($port, $what->[0]);
    is(both($what->[1]), "$what->[1] $what->[1]",
        "Lua $what->[0]: both workers");
}

my $r = $t->http_get($port, '/stats', method => 'POST',
    body => 's=s1&action=maint&b=app',
    headers => ['Content-Type' => 'application/x-www-form-urlencoded']);
is($r->{status}, 303, 'the admin form is answered');
is(both('MAINT'), 'MAINT MAINT', 'the admin form: both workers');

$t->done_testing;

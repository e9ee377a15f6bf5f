#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# "server-template PREFIX NUM|LOW-HIGH ADDR [options]": the servers
# PREFIX1..PREFIXNUM (or PREFIXLOW..PREFIXHIGH), each a server like any
# other, at a literal address or at a name resolved at load time, with the
# options of the line over the default-server settings. Round robin takes
# them in order, the statistics and Lua's core.backends see them; a bad
# number or range, or a name clash, is a file:line error. HAProxy
# balances, counts and lists them the same.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);
my $dir = $t->testdir;

$t->write_file('names.lua', <<'LUA');
core.register_service("names", "http", function(applet)
    local names = {}
    for name, srv in pairs(core.backends.b.servers) do
        names[#names + 1] = name .. "=" .. srv:get_weight()
    end
    table.sort(names)
    local body = table.concat(names, " ")
    applet:set_status(200)
    applet:add_header("content-length", #body)
    applet:start_response()
    applet:send(body)
end)
LUA

sub config {
    my ($who, $port) = @_;
    my $o = $t->port(8091);
    return <<"CFG";
global
    nbthread 1
    stats socket $dir/$who.sock level admin
    lua-load $dir/names.lua
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$port
    http-request use-service lua.names if { path /names }
    default_backend b
backend b
    balance roundrobin
    default-server weight 2
    http-response set-header X-Server %[srv_name]
    server-template web 3 127.0.0.1:$o
    server-template alt 8-9 localhost:$o weight 3
CFG
}

$t->http_origin(8091, sub { return [200, [], 'origin'] });

# What <who> shows: the servers Lua lists, which server answered each of
# 12 requests (one round of the weights), and what the statistics count.
sub outcomes {
    my ($who, $port) = @_;
    my $names = $t->http_get($port, '/names')->{body} // '';
    my %seen;
    $seen{ $t->http_get($port, "/$_")->{headers}{'x-server'} // 'none' }++
        for 1 .. 12;
    my $stat = $t->show_stat("$who.sock");
    my %count = map { $_ => $stat->{"b/$_"}{stot} // 'none' }
        qw(web1 web2 web3 alt8 alt9);
    return { names => $names, seen => \%seen, count => \%count };
}

# What both must agree on (HAProxy's round robin is exact by weight only
# over a longer run): the servers, the ones that served, and that the
# statistics count what the responses said.
sub comparable {
    my ($o) = @_;
    return [$o->{names}, join(' ', sort keys %{ $o->{seen} }),
        join(' ', map { ($o->{seen}{$_} // 0) == $o->{count}{$_} ? 1 : 0 }
            sort keys %{ $o->{count} })];
}

my %weights = (web1 => 2, web2 => 2, web3 => 2, alt8 => 3, alt9 => 3);
$t->write_file('lp.cfg', config('lp', $t->port(8080)));
$t->run;
my $lp = outcomes('lp', $t->port(8080));
is($lp->{names}, 'alt8=3 alt9=3 web1=2 web2=2 web3=2',
    'Lua sees the five servers with their weights');
is_deeply($lp->{seen}, \%weights, 'round robin spreads them by weight');
is_deeply($lp->{count}, \%weights, 'the statistics count each server');

$t->line_errors('backend b',
    ['server-template s 0 127.0.0.1:1', qr/wrong number or range '0'/],
    ['server-template s 3-1 127.0.0.1:1', qr/wrong number or range '3-1'/],
    ['server-template s x 127.0.0.1:1', qr/wrong number or range 'x'/],
    ['server-template s 1-2 127.0.0.1:1 weight', qr/weight/],
    ["server s2 127.0.0.1:1\n    server-template s 1-3 127.0.0.1:1",
        qr/server 's2' already declared at .*bad\.cfg:2/],
    ['server-template s 2', qr/expects at least 3 arguments/],
    ['server-template s 2 no.such.host.invalid:80', qr/no\.such\.host/],
);

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    my $ha = outcomes('ha', $t->port(8180));
    is_deeply(comparable($lp), comparable($ha), 'HAProxy: the same servers, balancing and counts')
        or diag(explain($lp, $ha));
}

$t->done_testing;

#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# What a service answers (a Lua service, a cache hit) goes through the
# http-response rules, the backend's then the frontend's, before the
# http-after-response ones, as HAProxy analyses an applet's answer like a
# server's: headers added, a Lua action, a deny that turns it into a 502.
# So does the 500 of a failing service, but not the answers that rules
# make (http-request return) nor the 502 that replaces a denied answer.
# Every answer is compared with HAProxy's.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);
my $dir = $t->testdir;

$t->write_file('svc.lua', <<'LUA');
core.register_service("hi", "http", function(applet)
  if applet.path == "/fail" then error("service failed") end
  applet:set_status(200)
  applet:add_header("content-type", "text/plain")
  applet:add_header("content-length", "2")
  applet:start_response()
  applet:send("hi")
end)
core.register_action("mark", { "http-res" }, function(txn)
  txn.http:res_add_header("x-lua", txn.f:status() .. " " .. txn.sf:res_hdr("content-type"))
end)
LUA

sub config {
    my ($port, $origin, $global) = @_;
    return <<"CFG";
global
    lua-load $dir/svc.lua
$global
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
cache c
    total-max-size 4
    max-age 60
frontend f
    bind 127.0.0.1:$port
    http-request set-var(txn.v) req.hdr(x-v)
    http-request return status 200 content-type text/plain string ret if { path /ret }
    http-request cache-use c if { path_beg /cached }
    http-response cache-store c
    http-response add-header x-fe fe-%[var(txn.v)]
    http-response deny if { var(txn.v) -m str 2 }
    http-after-response add-header x-after yes
    use_backend origin if { path_beg /cached }
    default_backend svc
backend svc
    http-response add-header x-be be
    http-response lua.mark
    http-request use-service lua.hi
backend origin
    server o 127.0.0.1:$origin
CFG
}

my $origin = $t->port(8091);
$t->http_origin(8091, sub {
    return [200, ['content-type' => 'text/plain',
        'cache-control' => 'max-age=60'], "from origin\n"];
});

# The answers to the requests, as text: status, the x- headers, body.
sub answers {
    my ($port) = @_;
    my @out;
    for my $req (['/hi', 1], ['/deny', 2], ['/ret', 3], ['/fail', 4],
        ['/cached', 5], ['/cached', 6]) {
        my $r = $t->http_get($port, $req->[0], headers => ['x-v' => $req->[1]]);
        my @pairs = map { lc($_->[0]) . ": $_->[1]" }
            grep { lc($_->[0]) =~ /^x-|^age$/ } @{ $r->{header_list} // [] };
        push @out, join("\n", "$req->[0] " . ($r->{status} // 'none'), @pairs,
            $r->{status} && $r->{status} == 200 ? $r->{body} // '' : '');
    }
    return \@out;
}

$t->expect_alerts(qr/service failed/);
$t->write_file('lp.cfg', config($t->port(8080), $origin, '    nbproc 1'));
$t->run;
my $lp = answers($t->port(8080));
is_deeply($lp, [
    "/hi 200\nx-be: be\nx-lua: 200 text/plain\nx-fe: fe-1\nx-after: yes\nhi",
    "/deny 502\nx-after: yes\n",
    "/ret 200\nx-after: yes\nret",
    "/fail 500\nx-be: be\nx-lua: 500 text/html\nx-fe: fe-4\nx-after: yes\n",
    "/cached 200\nx-fe: fe-5\nx-after: yes\nfrom origin\n",
    "/cached 200\nage: 0\nx-fe: fe-6\nx-after: yes\nfrom origin\n",
], 'service answers go through the http-response rules') or diag(explain($lp));

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config($t->port(8180), $origin, ''));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    is_deeply(answers($t->port(8180)), $lp, 'HAProxy answers the same');
}

$t->stop;
$t->done_testing;

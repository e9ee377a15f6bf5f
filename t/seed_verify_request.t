#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# The seed guide's second example runs unchanged (only its loopback ports
# are moved to free ones): an http-req Lua action asks a verify service over
# core.tcp() whether the URL is allowed (404 = verified, as the guide has
# it), sets txn.request_verified, and "http-request deny" rejects the rest.
# A verify service that is down leaves the variable unset, so the request is
# denied too. Only verified requests reach the application.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new;
$t->copy_seed('verify_request.lua', 8090);
$t->copy_seed('verify_request.cfg', 8082, 8091);
$t->config('verify_request.cfg');

# The application: says who answered and what it was asked.
$t->http_origin(8091, sub {
    my ($req) = @_;
    return [200, ['Content-Type' => 'text/plain'], "app1 served $req->{uri}\n"];
}, log => 'app.log');

$t->run;
$t->plan(16);

my $front = $t->port(8082);

# Verify service not started yet: the action's connect fails.
my $r = $t->http_get($front, '/ok/page');
is($r->{status}, 403, 'verify service not started: denied');

my $verify = start_verify_service();

$r = $t->http_get($front, '/ok/page');
is($r->{status}, 200, 'verified URL: proxied to the app');
is($r->{body}, "app1 served /ok/page\n", 'verified URL: the app answered');

$r = $t->http_get($front, '/bad');
is($r->{status}, 403, 'unverified URL: denied with 403');
unlike($r->{body} // '', qr/app1/, 'unverified URL: no app content');

my @verify = $t->origin_requests('verify.log');
is_deeply([map { $_->{uri} } @verify],
    ['/verify.php?url=/ok/page', '/verify.php?url=/bad'],
    'the verify service was asked about each URL, path only');
is($verify[0] && $verify[0]{headers}{host}, 'veriy.example.com',
    'the verify request carries the script\'s Host header');

my @app = $t->origin_requests('app.log');
is(scalar(grep { $_->{uri} eq '/ok/page' } @app), 1,
    'the app received exactly one request for /ok/page');
is(scalar(grep { $_->{uri} eq '/bad' } @app), 0,
    'the app received no request for /bad');
is(scalar @app, 1, 'the app received nothing else');

# 50 concurrent clients, half verified, half not.
my @paths = map { $_ % 2 ? "/deny/c$_" : "/ok/c$_" } 1 .. 50;
my @many = $t->http_get_many($front, \@paths);
my @wrong = grep { !answer_right($paths[$_], $many[$_]) } 0 .. $#paths;
is(scalar @wrong, 0, '50 concurrent requests: every answer right')
    or diag("wrong answers for: @paths[@wrong]");
@app = $t->origin_requests('app.log');
is(scalar(grep { $_->{uri} =~ m{^/ok/c\d+\z} } @app), 25,
    'concurrent: each verified request reached the app once');
is(scalar(grep { $_->{uri} =~ m{^/deny/} } @app), 0,
    'concurrent: no denied request reached the app');

# Verify service stopped: denied again.
$t->stop_daemon($verify);
$r = $t->http_get($front, '/ok/page');
is($r->{status}, 403, 'verify service stopped: denied');
@app = $t->origin_requests('app.log');
is(scalar(grep { $_->{uri} eq '/ok/page' } @app), 1,
    'verify service stopped: the app saw no new /ok/page');

$r = $t->http_get($front, '/bad');
is($r->{status}, 403, 'verify service stopped: unverified still denied');

# The verify service of the guide: 404 means verified.
sub start_verify_service {
    return $t->http_origin(8090, sub {
        my ($req) = @_;
        return [404, [], "verified\n"] if $req->{uri} =~ m{/ok};
        return [200, [], "not verified\n"];
    }, log => 'verify.log');
}

# Whether a concurrent answer matches what its path should get.
sub answer_right {
    my ($path, $resp) = @_;
    return ($resp->{status} // 0) == 403 if $path =~ m{^/deny/};
    return ($resp->{status} // 0) == 200
        && ($resp->{body} // '') eq "app1 served $path\n";
}

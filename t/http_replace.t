#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# The regex rewrites: replace-header and replace-value (each value, or
# each comma-separated element) and replace-path, replace-pathq and
# replace-uri (the request line). As in HAProxy, a regex that matches
# anywhere replaces the whole subject with the replacement, whose \1..\9
# name the groups and which may be a log-format string; no match leaves
# the subject alone. HAProxy on the same configuration answers the same.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);

sub config {
    my ($port) = @_;
    return <<"CFG";
global
    nbthread 1
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$port
    http-request replace-header X-A b(.) X\\1
    http-request replace-value X-V ^o(.*) n\\1-%[req.hdr(x-tag)]
    http-request replace-path /foo/(.*) /\\1%[req.hdr(x-tag)] if { path_beg /p/ }
    http-request replace-pathq ^/q(.*)\\?(.*) /z\\1-\\2 if { path_beg /q }
    http-request replace-uri ^http://([^/]*)(.*) \\2?host=\\1 if { url_beg http:// }
    http-request replace-uri ^/u/(.*) /\\1/\\9/%[method] if { path_beg /u/ }
    http-request return status 200 content-type text/plain lf-string "a=%[req.hdr(x-a)] v=%[req.fhdr(x-v)] path=%[path] url=%[url]"
CFG
}

$t->write_file('lp.cfg', config($t->port(8080)));
$t->run;

my @cases = (
    ['a partial match replaces the whole value', 'GET', '/', ['X-A' => 'abcd']],
    ['no match: the value stays', 'GET', '/', ['X-A' => 'xyz']],
    ['each value of the header', 'GET', '/', ['X-A' => 'b1', 'X-A' => 'cb2']],
    ['replace-value: each element, with a log-format replacement', 'GET', '/',
        ['X-V' => 'old, keep,obsolete', 'X-Tag' => 'T']],
    ['replace-value: every element of a long list', 'GET', '/',
        ['X-V' => join(',', ('x') x 70, 'old')]],
    ['replace-path keeps the query', 'GET', '/p/x/foo/bar?q=1', ['X-Tag' => 'Z']],
    ['replace-path without a match', 'GET', '/p/bar?q=1', []],
    ['replace-pathq sees the query', 'GET', '/qa/b?c=d', []],
    ['replace-uri on the absolute form', 'GET', 'http://ex.com/a/b?x', []],
    ['replace-uri: an unset group is empty', 'POST', '/u/k', []],
);

sub ask {
    my ($port, $method, $uri, $hdrs) = @_;
    my $h = '';
    for (my $i = 0; $i < @$hdrs; $i += 2) {
        $h .= "$hdrs->[$i]: $hdrs->[$i + 1]\r\n";
    }
    my $len = $method eq 'POST' ? "Content-Length: 0\r\n" : '';
    my $r = $t->http($port,
        "$method $uri HTTP/1.1\r\nHost: ex.com\r\n$h${len}Connection: close\r\n\r\n");
    return ($r->{status} // 'none') . ' ' . ($r->{body} // '');
}

my %lp = map { $_->[0] => ask($t->port(8080), @$_[1 .. 3]) } @cases;
is($lp{'a partial match replaces the whole value'},
    '200 a=Xc v= path=/ url=/', 'replace-header: the whole value, as HAProxy');
is($lp{'no match: the value stays'}, '200 a=xyz v= path=/ url=/',
    'no match, no change');
is($lp{'replace-value: each element, with a log-format replacement'},
    '200 a= v=nld-T, keep,nbsolete-T path=/ url=/',
    'replace-value: each element, log-format in the replacement');
is($lp{'replace-value: every element of a long list'},
    '200 a= v=' . join(',', ('x') x 70, 'nld-') . ' path=/ url=/',
    'replace-value: the 71st element too');
is($lp{'replace-path keeps the query'},
    '200 a= v= path=/barZ url=/barZ?q=1', 'replace-path');
is($lp{'replace-path without a match'},
    '200 a= v= path=/p/bar url=/p/bar?q=1', 'replace-path, no match');
is($lp{'replace-pathq sees the query'},
    '200 a= v= path=/za/b-c=d url=/za/b-c=d', 'replace-pathq');
is($lp{'replace-uri on the absolute form'},
    '200 a= v= path=/a/b url=/a/b?x?host=ex.com', 'replace-uri');
is($lp{'replace-uri: an unset group is empty'},
    '200 a= v= path=/k//POST url=/k//POST', 'replace-uri, unset group');

# Bad arguments.
$t->rule_errors(['http-request replace-path',
        "'replace-path' expects a regex and a replacement"],
    ['http-request replace-uri ^/x',
        "'replace-uri' expects a regex and a replacement"],
    ['http-request replace-pathq ( /x', 'regex'],
    ['http-request replace-header X-A',
        "'replace-header' expects a header name, a regex"],
    ['http-response replace-path /a /b', 'replace-path']);

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config($t->port(8180)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    my %ha = map { $_->[0] => ask($t->port(8180), @$_[1 .. 3]) } @cases;
    is_deeply(\%lp, \%ha, 'HAProxy answers the same') or diag(explain(\%ha));
}

$t->done_testing;

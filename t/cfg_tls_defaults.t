#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# HAProxy's global TLS defaults (ca-base, crt-base, ssl-default-bind- and
# -server- ciphers, ciphersuites, options, curves, ssl-dh-param-file,
# tune.ssl.default-dh-param, ssl-server-verify) are accepted, as in the
# global section Debian ships with HAProxy, and checked where HAProxy
# checks them: each bad line is refused at its line, and HAProxy refuses
# it too; what HAProxy accepts, we accept.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new;
my $dir = $t->testdir;

$t->write_file('dh.pem', <<'PEM');
-----BEGIN DH PARAMETERS-----
MIGHAoGBAN1mvGCyo6/iGLI3QlEKShLbm2sHnBgesjgBxqIJwqnyEGNt8ETFTidu
yTuG73dtDDpo5x9i0Paf/V9loAOMOxv4gGZ+F8hFzGHRIOcBhIkFRkSxPLN3xvoY
y1W8bfu6TXfnx0nwOknAS10D3z+bajMGcmso2ChqGimi8zctOLBnAgEC
-----END DH PARAMETERS-----
PEM
$t->write_file('nodh.pem', "not parameters\n");

# -c's exit code of HAProxy on <text> (no listener: exit 2 means valid).
sub haproxy_ok {
    my ($text) = @_;
    $t->write_file('ha.cfg', $text);
    my $out = `$haproxy -c -f $dir/ha.cfg 2>&1`;
    return ($? >> 8) != 1;
}

my $good = <<"CFG";
global
    ca-base /etc/ssl/certs
    crt-base /etc/ssl/private
    ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256
    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384
    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets
    ssl-default-bind-curves X25519:P-256
    ssl-default-server-ciphers ECDHE-RSA-AES128-GCM-SHA256
    ssl-default-server-ciphersuites TLS_AES_128_GCM_SHA256
    ssl-default-server-options no-sslv3 no-tlsv10 ssl-max-ver TLSv1.3
    ssl-dh-param-file $dir/dh.pem
    tune.ssl.default-dh-param 2048
    ssl-server-verify none
defaults
    mode http
CFG
my ($rc, $out) = $t->check_config($good, 'good.cfg');
is($rc, 0, 'the global TLS defaults are accepted') or diag($out);

my @bad = (
    ['ssl-default-bind-options foo',
        qr/unknown option 'foo' on global statement 'ssl-default-bind-options'/],
    ['ssl-default-server-options prefer-client-ciphers',
        qr/unknown option 'prefer-client-ciphers'/],
    ['ssl-default-bind-options ssl-min-ver TLSv9',
        qr/'TLSv9' : unknown ssl\/tls version/],
    ['ssl-default-server-options ssl-max-ver',
        qr/'ssl-max-ver' : missing the ssl\/tls version/],
    ["ssl-dh-param-file $dir/nodh.pem",
        qr/unable to load DH parameters from file/],
    ["ssl-dh-param-file $dir/none.pem",
        qr/unable to load DH parameters from file/],
    ['tune.ssl.default-dh-param 512', qr/expects a value >= 1024/],
    ['ca-base', qr/expects a directory path/],
    ['crt-base /a /b', qr/cannot handle unexpected argument '\/b'/],
    ['ssl-server-verify sometimes', qr/expects 'none' or 'required'/],
    ['ssl-default-bind-ciphers', qr/expects|argument/],
);
$t->line_errors('global', @bad);

SKIP: {
    skip("no haproxy at $haproxy", 2) unless -x $haproxy;
    ok(haproxy_ok($good), 'HAProxy accepts them too');
    my @ha = grep { haproxy_ok("global\n    $_->[0]\ndefaults\n    mode http\n") }
        @bad;
    is_deeply([map { $_->[0] } @ha], [], 'and refuses every bad line');
}

$t->done_testing;

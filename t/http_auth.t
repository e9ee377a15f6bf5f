#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# HTTP authentication: "userlist" sections (users with a crypt(3) hash or
# an insecure password, groups declared on either side), "http-request
# auth [realm R]" (401, WWW-Authenticate: Basic realm, the 401 page, a
# custom 401 errorfile keeping the challenge), and the fetches
# http_auth(L), http_auth_group(L) (the user; as an ACL, the groups),
# http_auth_type, http_auth_user, http_auth_pass, http_auth_bearer.
# Bad userlist lines are errors at their line. HAProxy on the same
# configuration answers the same.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use MIME::Base64 qw(encode_base64);
use Test::More;
use Test::Luaproxy;

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);
my $dir = $t->testdir;
my $hash = crypt('s3cret', '$6$abcdefgh$');
plan(skip_all => 'crypt(3) has no SHA-512 here') unless $hash =~ /^\$6\$/;

$t->write_file('401.http', "HTTP/1.1 401 Unauthorized\r\n"
    . "Content-Type: text/plain\r\nContent-Length: 7\r\n\r\nlog in\n");

sub config {
    my ($who, $hport, $sport, $cport) = @_;
    # HAProxy 2.6.12 crashes on a user without a password: ours only
    my $np = $who ne 'lp' ? '' : <<"NP";
userlist L2
    user nopass
frontend np
    bind 127.0.0.1:@{[$t->port(8083)]}
    http-request auth unless { http_auth(L2) }
    http-request return status 200
NP
    return <<"CFG";
userlist L1
    group admins users tiger
    group ops
    user tiger password $hash groups ops
    user scott insecure-password elgato groups ops
defaults
    mode http
    timeout client 5s
    timeout connect 1s
    timeout server 1s
frontend fe
    bind 127.0.0.1:$hport
    acl ok http_auth(L1)
    acl admin http_auth_group(L1) admins
    acl ops http_auth_group(L1) ops
    http-request auth realm Secret\\ Zone if { path /zone } !ok
    http-request auth unless ok
    http-request return status 200 content-type text/plain string admin if admin
    http-request return status 200 content-type text/plain string ops if ops
frontend custom
    bind 127.0.0.1:$cport
    errorfile 401 $dir/401.http
    http-request auth
frontend show
    bind 127.0.0.1:$sport
    http-request return status 200 content-type text/plain lf-string "ok=%[http_auth(L1)] g=%[http_auth_group(L1)] t=%[http_auth_type] u=%[http_auth_user] p=%[http_auth_pass] b=%[http_auth_bearer] x=%[http_auth_bearer(x-token)]"
$np
CFG
}

sub basic { return 'Basic ' . encode_base64($_[0], '') }

my @cases = (
    ['no credentials: 401 with the realm of the proxy', '/', []],
    ['the realm option', '/zone', []],
    ['hashed password', '/', ['Authorization' => basic('tiger:s3cret')]],
    ['clear password, group from the user line', '/',
        ['Authorization' => basic('scott:elgato')]],
    ['wrong password', '/', ['Authorization' => basic('scott:bad')]],
    ['unknown user', '/', ['Authorization' => basic('bob:elgato')]],
    ['the method in any case', '/',
        ['Authorization' => 'bAsIc ' . encode_base64('scott:elgato', '')]],
);
my @shown = (
    ['show: Basic', basic('scott:elgato')],
    ['show: a password with a colon', basic('tiger:s3:x')],
    ['show: no colon', basic('nocolon')],
    ['show: not base64', 'Basic !!!'],
    ['show: Bearer', 'bearer  abc.def'],
    ['show: Digest', 'Digest username="a"'],
    ['show: unknown method', 'Foo abc'],
    ['show: nothing', undef],
);

# "status [WWW-Authenticate] body" of the main frontend.
sub ask {
    my ($port, $path, $hdrs) = @_;
    my $r = $t->http_get($port, $path, headers => $hdrs);
    my $body = $r->{body} // '';
    $body =~ s/\n/ /g;
    return join(' | ', $r->{status} // 'none',
        $r->{headers}{'www-authenticate'} // '-', $body);
}

sub show {
    my ($port, $auth) = @_;
    my $r = $t->http_get($port, '/', headers => [
            defined $auth ? ('Authorization' => $auth) : (),
            'X-Token' => 'Bearer tok']);
    return $r->{body} // 'none';
}

sub outcomes {
    my ($hport, $sport, $cport) = @_;
    my %o = map { $_->[0] => ask($hport, @$_[1, 2]) } @cases;
    $o{'a custom 401 page keeps the challenge'} = ask($cport, '/', []);
    $o{ $_->[0] } = show($sport, $_->[1]) for @shown;
    return %o;
}

$t->write_file('lp.cfg',
    config('lp', $t->port(8080), $t->port(8081), $t->port(8082)));
$t->run;
my %lp = outcomes($t->port(8080), $t->port(8081), $t->port(8082));

my $page = '<html><body><h1>401 Unauthorized</h1> You need a valid user and '
    . 'password to access this content. </body></html> ';
is($lp{'no credentials: 401 with the realm of the proxy'},
    "401 | Basic realm=\"fe\" | $page", '401, realm of the proxy, the page');
is($lp{'the realm option'}, "401 | Basic realm=\"Secret Zone\" | $page",
    'realm option');
is($lp{'hashed password'}, '200 | - | admin',
    'a crypt(3) hash; a group naming its users');
is($lp{'clear password, group from the user line'}, '200 | - | ops',
    'insecure-password; a group named on the user line');
like($lp{'wrong password'}, qr/^401 /, 'a wrong password: 401');
like($lp{'unknown user'}, qr/^401 /, 'an unknown user: 401');
is($lp{'the method in any case'}, '200 | - | ops', 'Basic in any case');
is($lp{'a custom 401 page keeps the challenge'},
    '401 | Basic realm="custom" | log in ', 'a custom 401 page, challenge added');
is($lp{'show: Basic'},
    'ok=1 g=scott t=Basic u=scott p=elgato b= x=tok',
    'the fetches, and http_auth_bearer of another header');
is($lp{'show: a password with a colon'},
    'ok=0 g= t=Basic u=tiger p=s3:x b= x=tok', 'the user ends at the first colon');
is($lp{'show: Bearer'}, 'ok= g= t=Bearer u= p= b=abc.def x=tok',
    'a Bearer token');
is($lp{'show: unknown method'}, 'ok= g= t= u= p= b= x=tok',
    'an unknown method: no type, and http_auth gives nothing');
is($lp{'show: not base64'}, 'ok= g= t= u= p= b= x=tok',
    'Basic that does not decode: nothing either');

# A user without a password never authenticates (not compared: HAProxy
# 2.6.12 crashes there).
like(ask($t->port(8083), '/', ['Authorization' => basic('nopass:')]), qr/^401 /,
    'a user without a password: 401 whatever is sent');

$t->rule_errors(['http-request auth realm', "'auth' 'realm' expects a name"],
    ["http-request auth realm 'a\"b'", "has a '\"'"],
    ['http-response auth', 'auth']);
for my $c (["userlist L\n    user a insecure-password x\n    user a insecure-password y",
        3, "duplicate user 'a' in userlist 'L'"],
    ["userlist L\n    user a password \$99\$abc", 2,
        "the encrypted password of user 'a' is not supported by crypt(3)"],
    ["userlist L\n    user a insecure-password x groups nosuch", 2,
        "userlist 'L': no group 'nosuch'"],
    ["userlist L\n    group g users nobody", 2, "userlist 'L': no user 'nobody'"],
    ["userlist L\n    user a pass x", 2, "got 'pass'"],
    ["userlist L\nuserlist L", 2, "userlist 'L' has the same name"]) {
    my ($rc, $out) = $t->check_config("$c->[0]\n", 'bad.cfg');
    ok($rc != 0 && $out =~ /bad\.cfg:$c->[1]: .*\Q$c->[2]\E/,
        "bad userlist: $c->[2]") or diag($out);
}

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg',
        config('ha', $t->port(8180), $t->port(8181), $t->port(8182)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180), $t->port(8181));
    my %ha = outcomes($t->port(8180), $t->port(8181), $t->port(8182));
    is_deeply(\%lp, \%ha, 'HAProxy: the same answers')
        or diag(explain(\%lp, \%ha));
}

$t->done_testing;

#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# "init-addr" on server and default-server: the methods are tried in
# order for a server named by host name; "libc" resolves in the master at
# load time, an IP address is taken as given, "none" starts the server in
# maintenance without an address instead of failing, "last" (which needs
# a server state file) is skipped with a notice; a list that gives no
# address is an error with file and line. Then the same with traffic; the
# checks of a server without an address wait for one (no alert).
#
# The host name that does not resolve has a label longer than 63 bytes:
# the resolver refuses it before sending any query, so nothing leaves the
# machine.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy;

my $bad = ('a' x 70) . '.invalid';
my $t = Test::Luaproxy->new;
$t->plan(11);

my $base = <<'EOF2';
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 1s
backend b
EOF2
sub check {
    my ($lines) = @_;
    return $t->check_config($base . $lines, 'check.cfg');
}

my ($rc, $out) = check("    server s $bad:80\n");
ok($rc != 0 && $out =~ /check\.cfg:7: could not resolve '\Q$bad\E'/,
    'default (last,libc): an unresolvable name is an error') or diag($out);
($rc, $out) = check("    server s $bad:80 init-addr none\n");
is($rc, 0, 'init-addr none: the configuration loads') or diag($out);
($rc, $out) = check("    default-server init-addr libc,127.0.0.2\n"
    . "    server s $bad:80\n");
is($rc, 0, 'default-server init-addr libc,IP: the address is the fallback')
    or diag($out);
($rc, $out) = check("    server s $bad:80 init-addr last\n");
ok($rc != 0 && $out =~ /server state file.*skipped/
    && $out =~ /check\.cfg:7: '\Q$bad\E:80' is a host name and no init-addr/,
    'init-addr last alone: skipped with a notice, then an error')
    or diag($out);
($rc, $out) = check("    server s $bad:80 init-addr last,libc,none\n");
ok($rc == 0 && $out =~ /server state file.*skipped/,
    'init-addr last,libc,none: the notice, then none') or diag($out);
($rc, $out) = check("    server s 127.0.0.1:80 init-addr bogus\n");
ok($rc != 0 && $out =~ /check\.cfg:7: 'init-addr': 'bogus' is not last, libc, none or an IP address/,
    'an unknown method is an error') or diag($out);
($rc, $out) = check("    server s 127.0.0.1:80 init-addr 127.0.0.1:80\n");
ok($rc != 0 && $out =~ /check\.cfg:7: .*'127\.0\.0\.1:80' is not/,
    'an address with a port is not a method') or diag($out);

$t->write_file_expand('lp.cfg', <<"EOF2");
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    use_backend %[path,field(2,/)]
backend libc
    server s ipv4\@localhost:%%PORT_8091%% init-addr libc
backend ip
    server s $bad:%%PORT_8091%% init-addr libc,127.0.0.1
backend none
    server s $bad:%%PORT_8091%% init-addr none check inter 100
backend mixed
    server s $bad:%%PORT_8092%% init-addr none
    server t 127.0.0.1:%%PORT_8091%%
EOF2
$t->http_origin(8091, sub { return [200, [], 'origin'] });
$t->port(8092); # nothing listens: a request sent there would fail
$t->run;
my $port = $t->port(8080);

is($t->http_get($port, '/libc/')->{body}, 'origin',
    'libc: the name resolved at load is used');
is($t->http_get($port, '/ip/')->{body}, 'origin',
    'IP: the given address with the port of the server line');
select(undef, undef, undef, 0.3); # checks would have run by now
is($t->http_get($port, '/none/')->{status}, 503,
    'none: the server is in maintenance (not checked), 503');
my @st = map { $t->http_get($port, '/mixed/')->{status} } 1 .. 6;
is_deeply(\@st, [(200) x 6], 'none: the other server takes every request');

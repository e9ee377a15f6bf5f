#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# "source ADDR[:PORT]" (defaults, backend, listen) and the server option
# "source": the connections to the servers, and their health checks, come
# from that local address; a server's own source wins over its backend's,
# a backend's over its defaults'. A source the host does not have makes
# the connection fail (503). "usesrc" (transparent proxying) and
# "interface" need privileges and are refused with file:line, as are
# other bad arguments. HAProxy shows the origin the same addresses.

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
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    source 127.0.0.2
frontend fe
    bind 127.0.0.1:$port
    use_backend b_px if { path_beg /px }
    use_backend b_srv if { path_beg /srv }
    use_backend b_bad if { path_beg /bad }
    use_backend b_plain if { path_beg /plain }
    default_backend b_def
backend b_def
    server s1 127.0.0.1:$o
backend b_px
    source 127.0.0.3
    server s1 127.0.0.1:$o
backend b_srv
    option httpchk GET /check-$who
    server s1 127.0.0.1:$o source 127.0.0.3 check inter 200ms
backend b_bad
    retries 1
    source 192.0.2.1
    server s1 127.0.0.1:$o
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
backend b_plain
    server s1 127.0.0.1:$o
CFG
}

$t->http_origin(8091, sub {
    my ($req) = @_;
    if ($req->{uri} =~ m{^/check-(\w+)}) {
        open(my $fh, '>>', "$dir/checks-$1") or die;
        print $fh "$req->{peer}\n";
        close $fh;
    }
    return [200, [], $req->{peer}];
});

# The address the origin saw for each path (or the status), and the one
# the first health check of b_srv came from.
sub outcomes {
    my ($who, $port) = @_;
    my %o;
    for my $path (qw(/def /px /srv /plain /bad)) {
        my $r = $t->http_get($port, $path);
        $o{$path} = ($r->{status} // 'none') == 200 ? $r->{body}
            : $r->{status} // 'none';
    }
    for (1 .. 50) {
        last if -s "$dir/checks-$who";
        select(undef, undef, undef, 0.1);
    }
    open(my $fh, '<', "$dir/checks-$who");
    $o{check} = $fh ? (<$fh> // 'none') =~ s/\n//r : 'none';
    return \%o;
}

$t->write_file('lp.cfg', config('lp', $t->port(8080)));
$t->run;
my $lp = outcomes('lp', $t->port(8080));
is_deeply($lp, { '/def' => '127.0.0.2', '/px' => '127.0.0.3',
    '/srv' => '127.0.0.3', '/plain' => '127.0.0.1', '/bad' => 503,
    check => '127.0.0.3' },
    'defaults, backend and server sources; checks too; a foreign one fails')
    or diag(explain($lp));

$t->line_errors('backend b',
    ['source 127.0.0.2 usesrc clientip', qr/'usesrc' .*not supported/],
    ['source 127.0.0.2 interface lo', qr/'interface' .*not supported/],
    ['source 127.0.0.2 foo', qr/unexpected 'foo'/],
    ['source /tmp/x', qr/IPv4 or IPv6 address/],
    ['source 127.0.0.2:1-9', qr/port ranges/],
    ['source', qr/expects at least 1 argument/],
    ['server s 127.0.0.1:1 source 127.0.0.2 usesrc client', qr/'usesrc'/],
    ['server s 127.0.0.1:1 source', qr/'source' expects an address/],
    ['server s 127.0.0.1:1 source nohost.invalid', qr/nohost/],
);
my ($rc, $out) = $t->check_config("frontend f\n    source 127.0.0.2\n",
    'fe.cfg');
ok($rc != 0 && $out =~ /fe\.cfg:2: /, 'not in a frontend') or diag($out);

SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    my $ha = outcomes('ha', $t->port(8180));
    is_deeply($lp, $ha, 'HAProxy: the same source addresses')
        or diag(explain($lp, $ha));
}

$t->done_testing;

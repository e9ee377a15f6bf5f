#!/usr/bin/perl
# The traffic counters of "show stat" and of Lua's get_stats(), one model
# for both: bytes in and out, HTTP requests and responses by class,
# retries, redispatches and failed connections, session and request
# rates, for the frontend, the backend and each server, after requests
# whose sizes the test knows.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;
use IO::Socket::INET;

my $t = Test::Luaproxy->new;
$t->write_file('stats.lua', <<'EOF2');
core.register_service("lua_stats", "http", function(applet)
  local s = core.backends.be.servers.ok:get_stats()
  local b = core.backends.be:get_stats()
  local body = string.format("%s %s %s %s %s", s.req_tot, s.hrsp_2xx,
    s.hrsp_4xx, b.req_tot, math.type(s.bin))
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)
EOF2
$t->write_file_expand('lp.cfg', <<'EOF2');
global
    nbproc 1
    stats socket %%TESTDIR%%/s.sock level admin
    lua-load %%TESTDIR%%/stats.lua
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 3s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    option http-ignore-probes
    http-request use-service lua.lua_stats if { path /lua }
    http-request deny if { path /deny }
    use_backend flaky if { path_beg /flaky }
    default_backend be
backend be
    server ok 127.0.0.1:%%PORT_8091%%
backend flaky
    retries 1
    option redispatch
    server dead 127.0.0.1:%%PORT_8092%%
    server alive 127.0.0.1:%%PORT_8091%%
EOF2
$t->http_origin(8091, sub {
    my ($req) = @_;
    return [$req->{uri} eq '/missing' ? 404 : 200,
        ['content-type' => 'text/plain'], "body\n"];
});
$t->run;
my $port = $t->port(8080);
$t->plan(14);

# Sends raw requests one connection each; returns (bytes sent, bytes got).
my ($sent, $got) = (0, 0);
for my $path ('/a', '/b', '/missing', '/deny') {
    my $c = IO::Socket::INET->new("127.0.0.1:$port") or die "connect: $!";
    my $req = "GET $path HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    print $c $req;
    my $resp = join('', <$c>);
    $sent += length $req;
    $got += length $resp;
}

# The "show stat" lines as {svname => {column => value}}.
my $csv = $t->cli('s.sock', "show stat\n") // '';
my ($head, @lines) = grep { length } split /\n/, $csv;
my @cols = split /,/, ($head // '') =~ s/^# //r;
my %st;
for my $l (@lines) {
    my @v = split /,/, $l, -1;
    my %row = map { $cols[$_] => $v[$_] } 0 .. $#cols;
    $st{ $row{svname} } = \%row;
}
my ($fe, $ok) = @st{qw(FRONTEND ok)};
my ($be) = grep { $_->{pxname} eq 'be' && $_->{svname} eq 'BACKEND' }
    map { my @v = split /,/, $_, -1; +{ map { $cols[$_] => $v[$_] } 0 .. $#cols } }
    @lines;

cmp_ok($fe->{rate}, '>=', 1, 'frontend rate: sessions over the last second');
cmp_ok($fe->{req_rate}, '>=', 1, 'frontend req_rate: requests over the last second');
is($fe->{bin}, $sent, 'frontend bin: the bytes of the four requests');
is($fe->{bout}, $got, 'frontend bout: the bytes of the four responses');
is("$fe->{req_tot} $fe->{hrsp_2xx} $fe->{hrsp_4xx}", '4 2 2',
    'frontend: 4 requests, 2 answered 2xx, 2 answered 4xx (404, 403)');
is("$be->{req_tot} $be->{hrsp_2xx} $be->{hrsp_4xx}", '3 2 1',
    'backend: the 3 requests it served');
is("$ok->{req_tot} $ok->{hrsp_2xx} $ok->{hrsp_4xx}", '3 2 1',
    'server ok: the same 3');
is($be->{econ}, 0, 'backend: no connection error');

# a backend whose first server refuses: each request is retried on the
# other server
$t->http_get($port, "/flaky$_") for 1 .. 2;
$csv = $t->cli('s.sock', "show stat
") // '';
my %flaky;
for my $l (grep { /^flaky,/ } split /
/, $csv) {
    my @v = split /,/, $l, -1;
    my %row = map { $cols[$_] => $v[$_] } 0 .. $#cols;
    $flaky{ $row{svname} } = \%row;
}
is($flaky{alive}{hrsp_2xx}, 2, 'flaky: both requests answered by the live server');
# as HAProxy, a retry counts in wretr when it stays on its server, in
# wredis when it goes to another one
is($flaky{BACKEND}{wretr}, 0, 'flaky: no retry stayed on its server');
is($flaky{BACKEND}{wredis}, 2, 'flaky: both requests redispatched');
ok($ok->{bin} > 0 && $ok->{bout} > 0, 'server ok: bytes counted');
is($t->http_get($port, '/lua')->{body}, '3 2 1 3 integer',
    'Lua get_stats(): the same counters, integers');
is($t->http_get($port, '/a')->{status}, 200, 'still serving');

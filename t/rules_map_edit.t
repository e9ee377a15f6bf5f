#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# The rule actions that edit maps and ACL files (set-map, del-map, add-acl,
# del-acl) and set-var-fmt, with two workers: a blocklist filled by a rule
# denies the next requests, set-map is seen by the map converter of the
# same request and by the other worker within moments (its own runtime
# API answers it), edits from one connection reach the other worker in
# order, add-acl adds a pattern once, Lua's core.set_map and core.add_acl
# take the same path, a reload starts from the files; bad lines are errors
# naming the file and line, a file nothing loads is a warning (HAProxy
# accepts it); the same rules under HAProxy answer the same.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Luaproxy qw(http_request_bytes parse_response);
use Time::HiRes qw(time sleep);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);
my $dir = $t->testdir;
$t->write_file('m.map', "a one\n");
$t->write_file('blocked.lst', "# filled at run time\n");

# The frontend, for luaproxy and for HAProxy (which has no nbproc).
sub frontend {
    my ($port, $more) = @_;
    $more //= '';
    return <<"CFG";
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend fe
    bind 127.0.0.1:$port
    tcp-request connection set-var-fmt(sess.c) "c=%[src]"
    http-request add-acl($dir/blocked.lst) %[src] if { path /ban }
    http-request del-acl($dir/blocked.lst) %[src] if { path /unban }
    http-request deny if { src -f $dir/blocked.lst }
    http-request set-map($dir/m.map) %[url_param(k)] %[url_param(v)] if { path /set }
    http-request del-map($dir/m.map) %[url_param(k)] if { path /del }
    http-request set-var-fmt(txn.who) "%[url_param(k)]@%[src]"
    http-request set-var-fmt(txn.who,ifnotexists) never
$more    http-request return status 200 content-type text/plain hdr x-pid "%pid" lf-string "%[url_param(k),map($dir/m.map,none)] %[var(txn.who)] %[var(sess.c)]"
CFG
}

# Lua's core.set_map and core.add_acl from an action take the same path.
$t->write_file('edit.lua', <<"LUA");
core.register_action("luaedit", {"http-req"}, function(txn)
    core.set_map("$dir/m.map", "lua", txn.sf:url_param("v"))
    core.add_acl("$dir/blocked.lst", "192.0.2.1")
    core.add_acl("$dir/blocked.lst", "192.0.2.1")
end)
LUA
$t->write_file('map_edit.cfg', <<"CFG" . frontend($t->port(8080), <<'LUA'));
global
    nbproc 2
    stats socket $dir/admin.sock level admin
    stats timeout 3s
    lua-load $dir/edit.lua

CFG
    http-request lua.luaedit if { path /lua }
    http-request return status 200 content-type text/plain string lua if { path /lua }
LUA
$t->run;
my $port = $t->port(8080);

sub body { return $_[0]->{body} // '' }
sub get { return $t->http_get($port, $_[0]) }
sub cli { return $t->cli('admin.sock', "$_[0]\n") // '' }

# The scenario, for both servers: status and body of each step. The next
# request may reach the other worker: leave the edit time to get there.
my @steps = ('/m?k=a', '/set?k=a&v=x', '/m?k=a', '/set?k=b&v=y', '/m?k=b',
    '/del?k=a', '/m?k=a', '/ban', '/m?k=a', '/unban', '/m?k=b');
sub scenario {
    my ($p) = @_;
    return [map {
        my $r = $t->http_get($p, $_);
        sleep 0.05;
        my $st = $r->{status} // 'none';
        "$_ $st " . ($st eq '200' ? body($r) : '');
    } @steps];
}
my $lp = scenario($port);
is_deeply($lp, [
        '/m?k=a 200 one a@127.0.0.1 c=127.0.0.1',
        '/set?k=a&v=x 200 x a@127.0.0.1 c=127.0.0.1',
        '/m?k=a 200 x a@127.0.0.1 c=127.0.0.1',
        '/set?k=b&v=y 200 y b@127.0.0.1 c=127.0.0.1',
        '/m?k=b 200 y b@127.0.0.1 c=127.0.0.1',
        '/del?k=a 200 none a@127.0.0.1 c=127.0.0.1',
        '/m?k=a 200 none a@127.0.0.1 c=127.0.0.1',
        '/ban 403 ', '/m?k=a 403 ',
        '/unban 200  @127.0.0.1 c=127.0.0.1',
        '/m?k=b 200 y b@127.0.0.1 c=127.0.0.1',
    ], 'set-map, del-map, add-acl, del-acl and set-var-fmt, request by request')
    or diag(explain($lp));

# Each worker's own copy, through its runtime API.
sub both_have {
    my ($cmd, $re) = @_;
    return (grep { cli("\@$_ $cmd") =~ $re } 1, 2) == 2;
}
ok(both_have("get map $dir/m.map b", qr/found=yes.*value="y"/)
        && both_have("get map $dir/m.map a", qr/found=no/),
    'both workers hold the edits, whichever made them');

# Quickly: from the answer to a set-map, until both workers hold it.
my $t0 = time;
my $pid = get('/set?k=q&v=quick')->{headers}{'x-pid'};
my $seen;
$seen = both_have("get map $dir/m.map q", qr/value="quick"/) or sleep 0.005
    until $seen || time - $t0 > 5;
ok($seen, 'the other worker has the edit') or diag(sprintf('%.3f s', time - $t0));

# In order: 30 edits of a key on one connection, then banned and unbanned.
my $bytes = join '', (map { http_request_bytes('GET', "/set?k=o&v=$_",
        keepalive => 1) } 1 .. 30),
    http_request_bytes('GET', '/ban', keepalive => 1),
    http_request_bytes('GET', '/unban');
my $r = $t->raw_request($port, $bytes);
my $ok = () = $r->{data} =~ m{HTTP/1\.1 200 }g;
is($ok, 31, 'a connection of 32 requests');
$t0 = time;
$seen = both_have("get map $dir/m.map o", qr/value="30"/) or sleep 0.01
    until $seen || time - $t0 > 5;
sleep 0.1;
ok(both_have("get map $dir/m.map o", qr/value="30"/)
        && both_have("show acl $dir/blocked.lst", qr/\A\n\z/),
    'every worker applied the edits in their order');

# add-acl adds a pattern once; the runtime API's "add acl" appends.
get('/ban') for 1 .. 3;
my @ents = cli("show acl $dir/blocked.lst") =~ /^0x\S+ 127\.0\.0\.1$/mg;
is(scalar @ents, 1, 'add-acl adds a pattern it does not hold yet only');
# edits made in different workers are not ordered between them: every
# ban, relayed by the master, must have reached both workers before the
# unban is made (a ban relayed late would put the entry back); a worker
# holding the entry may still have one in flight, hence the pause
$t0 = time;
$seen = both_have("show acl $dir/blocked.lst", qr/127\.0\.0\.1/)
    or sleep 0.01 until $seen || time - $t0 > 5;
sleep 1;
get('/unban');
$t0 = time;
$seen = both_have("show acl $dir/blocked.lst", qr/\A\n\z/) or sleep 0.01
    until $seen || time - $t0 > 5;
is(get('/m?k=zz')->{status}, 200, 'del-acl removes it from every worker')
    or diag(sprintf("%.2f s; worker 1: [%s] worker 2: [%s]", time - $t0,
        cli("\@1 show acl $dir/blocked.lst"),
        cli("\@2 show acl $dir/blocked.lst")));

# Lua: in every worker, add_acl adding the pattern once.
is(body(get('/lua?v=fromlua')), 'lua',
    'a Lua action editing a map and an ACL file');
$t0 = time;
$seen = both_have("get map $dir/m.map lua", qr/value="fromlua"/) or sleep 0.01
    until $seen || time - $t0 > 5;
ok($seen, 'core.set_map reaches every worker');
my @acl = map {
    scalar(() = cli("\@$_ show acl $dir/blocked.lst") =~ /192\.0\.2\.1/g)
} 1, 2;
is("@acl", "1 1", "core.add_acl adds a pattern once, in every worker")
    or diag(cli("show acl $dir/blocked.lst"));

# A reload starts from the files, as HAProxy's does.
is(body(get('/set?k=r&v=edited')), 'edited r@127.0.0.1 c=127.0.0.1',
    'an edit before a reload');
my $mark = $t->log_mark;
$t->reload;
ok($t->wait_log(qr/reload done/, mark => $mark)
        && $t->wait_log(qr/(?s)(?:ready, generation 2.*){2}/, mark => $mark),
    'reloaded') or diag($t->log_since($mark));
ok(both_have("get map $dir/m.map r", qr/found=no/)
        && both_have("get map $dir/m.map a", qr/value="one"/)
        && both_have("show acl $dir/blocked.lst", qr/\A\n\z/),
    'the new workers have the files as they are, without the run-time edits');

# Bad lines, and the rulesets where HAProxy 2.6 has no such actions.
$t->rule_errors(
    ["http-request set-map($dir/m.map) %[src]", 'expects exactly 2 arguments'],
    ["http-request add-acl($dir/blocked.lst)", 'expects exactly 1 argument'],
    ["http-request del-map($dir/m.map) if TRUE", 'expects exactly 1 argument'],
    ["http-request set-map($dir/m.map) %[nope] x", 'nope'],
    ["http-request del-acl($dir/blocked.lst) a b", "'b'"],
    ['http-request set-var-fmt(foo.a) x', 'foo.a'],
    ['http-request set-var-fmt(txn.a) %[nope]', 'nope'],
    ['http-request set-var-fmt(txn.a,ifbogus) x', 'ifbogus'],
    ['http-request unset-var(txn.a,ifexists)', 'does not take conditions'],
    ['http-after-response set-map(m.map) a b', 'is not allowed in'],
    ['tcp-request content add-acl(blocked.lst) a', 'is not allowed in']);
my ($rc, $out) = $t->check_config(<<"CFG", 'warn.cfg');
frontend fe
    mode http
    bind 127.0.0.1:1
    http-request set-map(other.map) a b
    http-request add-acl($dir/m.map) a
    http-request return status 200 hdr x %[src,map($dir/m.map)]
CFG
ok($rc == 0 && $out =~ /warn\.cfg:4: .*'set-map'.*'other\.map'/
        && $out =~ /warn\.cfg:5: .*'add-acl'.*ACL pattern file/,
    'a file the configuration does not load: a warning, as HAProxy accepts it')
    or diag($out);

# HAProxy with the same rules answers the same.
SKIP: {
    skip("no haproxy at $haproxy", 1) unless -x $haproxy;
    $t->write_file('m.map', "a one\n");
    $t->write_file('blocked.lst', "# filled at run time\n");
    $t->write_file('ha.cfg', frontend($t->port(8180)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    is_deeply(scenario($t->port(8180)), $lp, 'HAProxy answers the same');
}

$t->done_testing;

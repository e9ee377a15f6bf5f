#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# The statistics page: HAProxy's typical "listen stats" section loads;
# "stats auth" asks for credentials (401, Basic realm) until the right
# ones come; "<uri>;csv" is the runtime API's "show stat" (same header,
# same rows); "stats scope" lists only the named proxies; the HTML page
# names the proxies and the server states, escapes names, has the
# Refresh header unless ";norefresh", and the legend with show-legends;
# "stats http-request" rules; "stats admin" lets a POST drain a server
# (303 to ";st=DONE") and refuses it without (";st=DENY"). Bad "stats"
# lines are errors at their line. HAProxy answers 401/200 the same and
# lists the same rows with the same header.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use MIME::Base64 qw(encode_base64);
use Test::More;
use Test::Luaproxy;

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new(timeout => 60);

sub config {
    my ($who, $p) = @_;
    my $global = $who eq 'lp'
        ? "global\n    nbproc 1\n    stats socket %%TESTDIR%%/admin.sock "
        . "level admin\n" : '';
    # HAProxy refuses '<' in a name: only ours shows the escaping
    my $bx = $who eq 'lp' ? 'b<x>' : 'bx';
    return <<"CFG";
$global
defaults
    mode http
    timeout client 5s
    timeout connect 200ms
    timeout server 1s
listen stats
    bind 127.0.0.1:$p->[0]
    mode http
    stats enable
    stats uri /stats
    stats refresh 10s
    stats auth admin:secret
    stats auth other:pw
    stats realm Haproxy\\ Statistics
    stats hide-version
    stats show-legends
    stats admin if TRUE
frontend scoped
    bind 127.0.0.1:$p->[1]
    stats scope app
    stats scope .
    default_backend app
backend app
    server s1 127.0.0.1:$p->[3]
    server s2 127.0.0.1:$p->[3]
backend $bx
    server web1 127.0.0.1:$p->[3]
listen rules
    bind 127.0.0.1:$p->[2]
    stats uri /
    stats http-request deny if { path_beg /deny }
    stats http-request allow if { path_beg /open }
    stats http-request auth realm Rules if { path_beg /auth }
CFG
}

sub basic { return ['Authorization' => 'Basic ' . encode_base64($_[0], '')] }

sub get {
    my ($port, $path, $cred) = @_;
    return $t->http_get($port, $path, headers => $cred // []);
}

# The pxname/svname rows of a CSV body, and its header line.
sub csv_rows {
    my ($body) = @_;
    my @lines = split /\n/, $body // '';
    my $head = shift @lines // '';
    return ($head, [sort map { join('/', (split /,/)[0, 1]) } @lines]);
}

my @lp = map { $t->port(8080 + $_) } 0 .. 3;
$t->write_file_expand('lp.cfg', config('lp', \@lp));
my ($rc, $out) = $t->run_cmd('-c', '-f', 'lp.cfg');
is($rc, 0, 'the typical stats section loads with -c') or diag($out);
# the admin form puts both servers of app in maintenance, which HAProxy
# too reports as an alert
$t->expect_alerts(qr/backend 'app' has no server available/);
$t->run;

# authentication
my $r = get($lp[0], '/stats');
is($r->{status}, 401, 'no credentials: 401');
is($r->{headers}{'www-authenticate'}, 'Basic realm="Haproxy Statistics"',
    'the challenge names the stats realm');
is(get($lp[0], '/stats', basic('admin:wrong'))->{status}, 401,
    'a wrong password: 401');
is(get($lp[0], '/stats', basic('other:pw'))->{status}, 200,
    'the second "stats auth" user is accepted');
is(get($lp[0], '/other', basic('admin:secret'))->{status}, 503,
    'another path goes to the (absent) servers');

# CSV against "show stat"
$r = get($lp[0], '/stats;csv', basic('admin:secret'));
is($r->{status}, 200, ';csv: 200');
like($r->{headers}{'content-type'}, qr{^text/plain}, ';csv: text/plain');
my ($head, $rows) = csv_rows($r->{body});
like($head, qr/^# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,/,
    "HAProxy's column header");
my $cli = $t->cli('admin.sock', "show stat\n");
my ($chead, $crows) = csv_rows($cli);
is($head, $chead, 'the same header as show stat');
is_deeply($rows, $crows, 'the same rows as show stat');
my %a = map { my @f = split /,/, $_, -1; ("$f[0]/$f[1]" => $_) }
    split /\n/, $r->{body};
my %b = map { my @f = split /,/, $_, -1; ("$f[0]/$f[1]" => $_) }
    split /\n/, $cli;
is($a{'app/s1'}, $b{'app/s1'}, 'a server line equals show stat');
is($a{'b<x>/BACKEND'}, $b{'b<x>/BACKEND'}, 'a backend line equals show stat');
is($r->{headers}{refresh}, '10', ';csv: the Refresh header');
is(get($lp[0], '/stats;csv;norefresh', basic('admin:secret'))
        ->{headers}{refresh}, undef, ';norefresh: no Refresh header');

# stats scope (default URI, a frontend)
$r = get($lp[1], '/haproxy?stats;csv');
is($r->{status}, 200, 'the default URI, no auth without stats auth');
is_deeply((csv_rows($r->{body}))[1],
    [sort qw(app/BACKEND app/s1 app/s2 scoped/FRONTEND)],
    'stats scope: the named proxy and "." only');
is(get($lp[1], '/stats')->{status}, 503, 'not the page elsewhere');

# HTML
$r = get($lp[0], '/stats', basic('admin:secret'));
like($r->{headers}{'content-type'}, qr{^text/html}, 'HTML: text/html');
is($r->{headers}{refresh}, '10', 'HTML: Refresh header');
my $html = $r->{body} // '';
like($html, qr{^<!DOCTYPE html>.*</html>\s*\z}s, 'a whole document');
like($html, qr{<th class="pxname"[^>]*>app</th>}, 'a table per proxy');
like($html, qr{b&lt;x&gt;}, 'a name with "<" is escaped');
unlike($html, qr{b<x>}, 'never raw');
like($html, qr{ s1</td>(?:<td>[^<]*</td>){17}<td>no check</td>},
    'the server status in its column');
like($html, qr{<h2>Legend</h2>}, 'show-legends: the legend');
my @form = (qr{<form method="post" action="/stats">\n<table class="px">},
    qr{<input type="checkbox" name="s" value="s1"> s1</td>},
    qr{<input type="hidden" name="b" value="#3">}, qr{<option value="drain">});
like($html, qr/$form[0].*$form[1].*$form[2].*$form[3]/s,
    'stats admin: the form');
like($html, qr{value="b&lt;x&gt;"|value="web1"}, 'escaped in the form too');
unlike(get($lp[1], '/haproxy?stats')->{body} // '', qr{<form},
    'no form without stats admin');
unlike($html, qr{version}, 'hide-version: no version');
like($html, qr{Statistics Report for pid \d+}, 'the process block');
unlike(get($lp[1], '/haproxy?stats')->{body} // '', qr{Legend},
    'no legend without show-legends');
like(get($lp[1], '/haproxy?stats')->{body} // '', qr{luaproxy version},
    'the version without hide-version');
is(get($lp[0], '/stats;norefresh', basic('admin:secret'))->{headers}{refresh},
    undef, 'HTML ;norefresh: no Refresh header');

$r = $t->http_get($lp[0], '/stats', method => 'HEAD',
    headers => basic('admin:secret'));
is(($r->{status} // 'none') . ' ' . length($r->{body} // ''), '200 0',
    'HEAD: the head only');
is($t->http_get($lp[0], '/stats', method => 'PUT',
        headers => basic('admin:secret'))->{status}, 503,
    'another method is not for the page');

# stats http-request rules
is(get($lp[2], '/deny')->{status}, 403, 'stats http-request deny: 403');
is(get($lp[2], '/open')->{status}, 200, 'stats http-request allow: 200');
$r = get($lp[2], '/auth');
is($r->{status} . ' ' . ($r->{headers}{'www-authenticate'} // ''),
    '401 Basic realm="Rules"', 'stats http-request auth realm: 401');
is(get($lp[2], '/')->{status}, 200, 'no rule matches: the page');

# admin
sub post {
    my ($port, $uri, $form, $cred) = @_;
    return $t->http_get($port, $uri, method => 'POST', body => $form,
        headers => [@{ $cred // [] },
            'Content-Type' => 'application/x-www-form-urlencoded']);
}
$r = post($lp[0], '/stats', 's=s1&action=drain&b=app', basic('admin:secret'));
is($r->{status} . ' ' . ($r->{headers}{location} // ''),
    '303 /stats;st=DONE', 'admin POST: 303 to ;st=DONE');
is($t->show_stat('admin.sock')->{'app/s1'}{status}, 'DRAIN',
    'show stat: the server drains');
$r = post($lp[0], '/stats', 's=s2&action=maint&b=%23' . 3,
    basic('admin:secret'));
is($r->{headers}{location}, '/stats;st=DONE', 'the backend as #iid');
is($t->show_stat('admin.sock')->{'app/s2'}{status}, 'MAINT',
    'show stat: the server in maintenance');
is(post($lp[0], '/stats', 's=nosuch&action=ready&b=app',
        basic('admin:secret'))->{headers}{location}, '/stats;st=ERRP',
    'an unknown server: ;st=ERRP');
is(post($lp[0], '/stats;norefresh', 's=nosuch&s=s1&action=drain&b=app',
        basic('admin:secret'))->{headers}{location},
    '/stats;st=PART;norefresh', 'some servers: ;st=PART, ;norefresh kept');
is(post($lp[0], '/stats', 'action=ready&b=app', basic('admin:secret'))
        ->{headers}{location}, '/stats;st=NONE', 'no server: ;st=NONE');
like(get($lp[0], '/stats;st=DONE', basic('admin:secret'))->{body},
    qr{<p class="outcome">The action was applied\.</p>},
    'the page tells the outcome');
is(post($lp[0], '/stats', 's=s1&action=bogus&b=app',
        basic('admin:secret'))->{headers}{location}, '/stats;st=ERRP',
    'an unknown action: ;st=ERRP');
is(post($lp[1], '/haproxy?stats', 's=s1&action=ready&b=app')
        ->{headers}{location}, '/haproxy?stats;st=DENY',
    'without stats admin: ;st=DENY');
is($t->show_stat('admin.sock')->{'app/s1'}{status}, 'DRAIN',
    'and nothing changed');
is(post($lp[0], '/stats', 's=s1&action=ready&b=app')->{status}, 401,
    'a POST needs the credentials too');

# bad lines
$t->rule_errors(['stats auth nocolon', "'stats auth' expects <user>:<password>"],
    ['stats refresh 5x', '5x'],
    ['stats admin', "'stats admin' expects at least 2 arguments"],
    ['stats admin when TRUE', "expects 'if' or 'unless'"],
    ['stats http-request bogus', "expects 'allow', 'deny' or 'auth'"],
    ['stats http-request auth realm', 'expects a name'],
    ['stats realm a\\"b', "without '\"'"],
    ['stats realm ' . ('r' x 401), 'at most 400 characters'],
    ['stats bogus', "unknown keyword 'stats'"]);
for my $kw ('stats admin if TRUE', 'stats http-request deny') {
    my ($brc, $bout) = $t->check_config(
        "defaults\n    mode http\n    $kw\n", 'bad.cfg');
    ok($brc != 0 && $bout =~ /bad\.cfg:3: .*not allowed in 'defaults'/,
        "$kw: not in defaults") or diag($bout);
}

SKIP: {
    skip("no haproxy at $haproxy", 5) unless -x $haproxy;
    my @ha = map { $t->port(8180 + $_) } 0 .. 3;
    $t->write_file_expand('ha.cfg', config('ha', \@ha));
    $t->run_haproxy($haproxy, 'ha.cfg', @ha[0 .. 2]);
    my @ask = (['/stats'], ['/stats', basic('admin:wrong')],
        ['/stats', basic('admin:secret')]);
    is_deeply([map { get($lp[0], @$_)->{status} } @ask],
        [map { get($ha[0], @$_)->{status} } @ask], 'HAProxy: 401/401/200');
    is(get($ha[0], '/stats')->{headers}{'www-authenticate'},
        'Basic realm="Haproxy Statistics"', 'HAProxy: the same realm');
    my ($hhead, $hrows) =
        csv_rows(get($ha[0], '/stats;csv', basic('admin:secret'))->{body});
    my ($lhead, $lrows) =
        csv_rows(get($lp[0], '/stats;csv', basic('admin:secret'))->{body});
    # HAProxy 2.6 goes on with its modules' columns (ssl, h2, h1) where
    # ours has the later releases' (srid...): the same up to there
    my $common = qr/^(# pxname,.*,agg_check_status,)/;
    is(($lhead =~ $common)[0], ($hhead =~ $common)[0],
        'HAProxy: the same CSV header up to agg_check_status');
    my @forms = ([0, '/stats', 's=s1&action=drain&b=app'],
        [0, '/stats', 's=nosuch&action=ready&b=app'],
        [0, '/stats;norefresh', 's=nosuch&s=s1&action=ready&b=app'],
        [0, '/stats', 'action=ready&b=app'],
        [0, '/stats', 's=s1&action=bogus&b=app'],
        [0, '/stats', 's=s1&action=maint&b=%233'],
        [1, '/haproxy?stats', 's=s1&action=ready&b=app']);
    my $loc = sub {
        my ($ports, $f) = @_;
        return post($ports->[$f->[0]], $f->[1], $f->[2],
            basic('admin:secret'))->{headers}{location} // 'none';
    };
    is_deeply([map { $loc->(\@lp, $_) } @forms],
        [map { $loc->(\@ha, $_) } @forms], 'HAProxy: the same redirects');
    s{^bx/}{b<x>/} for @$hrows;
    is_deeply($lrows, [sort @$hrows], 'HAProxy: the same pxname/svname rows')
        or diag(explain($lrows, $hrows));
}

$t->done_testing;

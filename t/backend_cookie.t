#!/usr/bin/perl
# Cookie-based server persistence ("cookie" of backends, the servers'
# "cookie VALUE"): persistence over many requests, the insert, rewrite,
# prefix and passive modes with indirect, nocache, postonly, preserve,
# httponly, secure, domain and attr, a cookie naming a down server (with
# and without option persist), the queue of a full persistent server, bad
# lines; and, when HAProxy is installed, the same configuration run by it:
# the server chosen, what the server saw, Set-Cookie, Cache-Control and
# %tsc must be the same.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy qw(syslog_sink syslog_drain syslog_next);

my $haproxy = $ENV{HAPROXY_BINARY} // '/usr/sbin/haproxy';
my $t = Test::Luaproxy->new;
my %udp = map { $_ => syslog_sink() } qw(lp ha);

# Cookie dates as HAProxy writes them: 4-second units, five base64 digits.
my $b64 = join('', 'A' .. 'Z', 'a' .. 'z', 0 .. 9, '+', '/');
sub date_enc {
    my $v = (int($_[0]) >> 2) & 0x3fffffff;
    return join('', map { substr($b64, ($v >> (24 - 6 * $_)) & 63, 1) } 0 .. 4);
}
sub date_dec {
    my $v = 0;
    $v = ($v << 6) | index($b64, $_) for split //, $_[0];
    return $v << 2;
}
# A date as the summaries show it: NOW (within seconds) or its age.
sub date_text {
    my $age = time - $_[0];
    return abs($age) <= 8 ? 'NOW' : int(($age + 30) / 60) . 'm';
}
# A date <ago> seconds back. 'now' is a few seconds ahead, as HAProxy
# writes it, and far enough that it is still ahead when the request
# arrives (4-second units: +7 is at least +4).
sub ago { return date_enc($_[0] eq 'now' ? time + 7 : time - $_[0]) }

# One configuration; <who> picks the frontend port and the log target.
sub config {
    my ($who, $fport) = @_;
    my $uport = $udp{$who}->sockport;
    my ($o1, $o2, $dead, $slow) = map { $t->port($_) } 8091, 8092, 8093, 8094;
    my $two = "    server s1 127.0.0.1:$o1 cookie c1\n"
        . "    server s2 127.0.0.1:$o2 cookie c2\n";
    my $three = $two . "    server s3 127.0.0.1:$dead cookie c3 disabled\n";
    return <<"EOF2";
global
    log 127.0.0.1:$uport local0
defaults
    mode http
    log global
    log-format "%s %tsc %ST"
    balance first
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$fport
    use_backend %[path,field(2,/)]
backend ins
    cookie SRV attr SameSite=Lax secure insert indirect domain .a.com nocache attr x=y httponly domain .b.com
$three
backend ins2
    cookie SRV insert nocache
$three
backend pfx
    cookie SRV prefix
$two
backend rw
    cookie SRV rewrite
$two
backend pas
    cookie SRV
$two
backend pres
    cookie SRV insert preserve
$two
backend post
    cookie SRV insert postonly
$two
backend nos
    cookie SRV insert
    server s1 127.0.0.1:$o1
backend pers
    option persist
    cookie SRV insert
$three
backend persrd
    option persist
    option redispatch
    retries 1
    cookie SRV insert
$three
backend drain
    cookie SRV insert
    server s1 127.0.0.1:$o1 cookie c1
    server s2 127.0.0.1:$o2 cookie c2 weight 0
backend q
    cookie SRV insert indirect
    timeout queue 3s
    server s1 127.0.0.1:$o1 cookie c1
    server slow 127.0.0.1:$slow cookie cs maxconn 1
backend q2
    cookie SRV insert indirect
    timeout queue 3s
    server s1 127.0.0.1:$o1 cookie c1
    server slow 127.0.0.1:$slow cookie cs maxconn 1 maxqueue 1
backend mi
    cookie SRV insert maxidle 1h
$two
backend ml
    cookie SRV insert indirect maxlife 2h
$two
backend both
    cookie SRV insert maxidle 30m maxlife 7200
$two
defaults named
    mode http
    cookie DEF insert
    default-server cookie dflt
backend fromdef
    server s1 127.0.0.1:$o1
    server s2 127.0.0.1:$o2 cookie c2
EOF2
}

# The origins answer "sN <cookie header or ->"; the path asks for a
# Set-Cookie of the persistence cookie (sc) and cache headers.
for my $n (1, 2) {
    $t->http_origin(8090 + $n, sub {
        my ($req) = @_;
        my $u = $req->{uri};
        my @h;
        push @h, 'Set-Cookie' => 'SRV=app; path=/x' if $u =~ /sc/;
        push @h, 'ETag' => '"v1"' if $u =~ /etag/;
        push @h, 'Cache-Control' => 'max-age=60' if $u =~ /maxage/;
        push @h, 'Cache-Control' => 'public' if $u =~ /public/;
        push @h, 'Cache-Control' => 'private' if $u =~ /private/;
        return [200, \@h, "s$n " . ($req->{headers}{cookie} // '-')];
    });
}
# A slow origin: the queue of a full server.
$t->http_origin(8094, sub {
    select(undef, undef, undef, 0.4);
    return [200, [], 'slow'];
});
$t->port(8093); # stays closed: the disabled server's address

$t->write_file('lp.cfg', config('lp', $t->port(8080)));
$t->run;
my $port = $t->port(8080);
syslog_drain($udp{lp});

# One request; a line summing up the response and what was logged.
sub ask {
    my ($p, $path, $cookie, $method) = @_;
    $cookie = $cookie->() if ref $cookie;
    my @h = defined $cookie ? (headers => ['Cookie' => $cookie]) : ();
    my $r = $t->http_get($p, $path, @h, timeout => 10, read_timeout => 10,
        method => $method // 'GET',
        $method ? (body => 'x') : ());
    my (@sc, @cc);
    for my $h (@{ $r->{header_list} }) {
        push @sc, $h->[1] if lc $h->[0] eq 'set-cookie';
        push @cc, $h->[1] if lc $h->[0] eq 'cache-control';
    }
    # error pages differ: the status says enough
    my $body = ($r->{status} // 0) == 200 ? $r->{body} : '';
    # dates made for this request: now, or minutes ago
    s{\|([A-Za-z0-9+/]{5})}{'|' . date_text(date_dec($1))}ge for @sc, $body;
    return join(' | ', $r->{status} // 'none', $body,
        'sc=' . join(',', @sc), 'cc=' . join(',', @cc));
}

# The same on luaproxy, with its log line.
sub lp {
    my $sum = ask($port, @_);
    my $log = syslog_next($udp{lp}) // '';
    $log =~ s/^<\d+>.*?: //;
    return "$sum | $log";
}

my @cases = (
    ['insert, no cookie: first server, cookie inserted', '/ins/a'],
    ['insert, valid cookie: its server, nothing inserted', '/ins/a', 'SRV=c2'],
    ['insert indirect: the cookie is removed for the server',
        '/ins/a', 'SRV=c1; a=b'],
    ['unknown server: balanced, invalid', '/ins/a', 'a=b; SRV=c9'],
    ['nocache with a validator: Cache-Control private', '/ins/etag'],
    ['the server sets the cookie on a direct request: deleted',
        '/ins/sc', 'SRV=c2'],
    ['insert: the server cookie is replaced', '/ins2/sc'],
    ['a down server\'s cookie: balanced, down', '/ins2/a', 'SRV=c3'],
    ['nocache with max-age', '/ins2/maxage'],
    ['nocache with public only: cacheable but no lifetime', '/ins2/public'],
    ['nocache with private', '/ins2/private-etag'],
    ['nocache without cache headers', '/ins2/a'],
    ['nocache on POST', '/ins2/etag', undef, 'POST'],
    ['prefix: the server part goes', '/pfx/sc', 'SRV=c2~app'],
    ['prefix with another cookie', '/pfx/a', 'SRV=c2~app; z=1'],
    ['prefix: the server cookie gets the prefix', '/pfx/sc'],
    ['rewrite: the server cookie gets the value', '/rw/sc'],
    ['rewrite: a valid cookie goes as it is', '/rw/a', 'SRV=c2'],
    ['passive: persistence without flags', '/pas/a', 'SRV=c2'],
    ['preserve: the server cookie stays, none inserted', '/pres/sc'],
    ['postonly: nothing for GET', '/post/a'],
    ['postonly: inserted for POST', '/post/a', undef, 'POST'],
    ['a server without a cookie value: an expired one', '/nos/a'],
    ['option persist: a down server is still tried', '/pers/a', 'SRV=c3'],
    ['option persist with redispatch', '/persrd/a', 'SRV=c3'],
    ['weight 0 takes persistent requests', '/drain/a', 'SRV=c2'],
    ['the first of two valid cookies decides', '/ins2/a', 'SRV=c2; SRV=c1'],
    ['cookie and cookie value from defaults', '/fromdef/a'],
    ['maxidle: inserted with the date', '/mi/a'],
    ['maxidle: a cookie without a date is refreshed', '/mi/a', 'SRV=c2'],
    ['maxidle: a fresh date is kept', '/mi/a', sub { 'SRV=c2|' . ago('now') }],
    ['maxidle: idle too long, balanced', '/mi/a', sub { 'SRV=c2|' . ago(7200) }],
    ['maxidle: idle a while, refreshed', '/mi/a', sub { 'SRV=c2|' . ago(1200) }],
    ['maxidle: a date far ahead is not believed', '/mi/a',
        sub { 'SRV=c2|' . date_enc(time + 200000) }],
    ['maxidle: a first date without maxlife goes', '/mi/a',
        sub { 'SRV=c2|' . ago('now') . '|' . ago(10000) }],
    ['maxlife: both dates inserted', '/ml/a'],
    ['maxlife: too old, balanced', '/ml/a',
        sub { 'SRV=c2|' . ago('now') . '|' . ago(10000) }],
    ['maxlife: young enough, kept', '/ml/a',
        sub { 'SRV=c2|' . ago('now') . '|' . ago(1200) }],
    ['maxlife: no first date, one is added', '/ml/a',
        sub { 'SRV=c2|' . ago(1200) }],
    ['maxidle and maxlife: the first date stays', '/both/a',
        sub { 'SRV=c2|' . ago(1200) . '|' . ago(1300) }],
    ['default-server cookie value', '/fromdef/a', 'DEF=c2'],
);

# What luaproxy answers on its own.
my %lp = map { $_->[0] => lp(@$_[1 .. $#$_]) } @cases;
like($lp{'insert, no cookie: first server, cookie inserted'},
    qr/^200 \| s1 - \| sc=SRV=c1; path=\/; domain=\.a\.com; domain=\.b\.com; HttpOnly; Secure; SameSite=Lax; x=y \| cc= \| s1 --NI 200$/,
    'insert: Set-Cookie with every attribute, NI');
like($lp{'insert, valid cookie: its server, nothing inserted'},
    qr/^200 \| s2 - \| sc= \| cc= \| s2 --VN 200$/, 'valid cookie: VN');
like($lp{'insert indirect: the cookie is removed for the server'},
    qr/^200 \| s1 a=b \|/, 'indirect: the server sees the other cookies only');
like($lp{'unknown server: balanced, invalid'},
    qr/^200 \| s1 a=b \| sc=SRV=c1;.* --II 200$/, 'invalid: II');
like($lp{'nocache with a validator: Cache-Control private'},
    qr/cc=private \|/, 'nocache: Cache-Control private');
like($lp{'a down server\'s cookie: balanced, down'},
    qr/^200 \| s1 SRV=c3 \| sc=SRV=c1; path=\/ \|.* --DI 200$/, 'down: DI');
like($lp{'prefix: the server part goes'},
    qr/^200 \| s2 SRV=app \| sc=SRV=c2~app; path=\/x \|.* --VR 200$/,
    'prefix: un-prefixed for the server, prefixed for the client');
like($lp{'rewrite: the server cookie gets the value'},
    qr/sc=SRV=c1; path=\/x \|.* --NR 200$/, 'rewrite: NR');
like($lp{'passive: persistence without flags'},
    qr/^200 \| s2 SRV=c2 \|.* ---- 200$/, 'passive: no flags');
like($lp{'preserve: the server cookie stays, none inserted'},
    qr/sc=SRV=app; path=\/x \|.* --NP 200$/, 'preserve: NP');
like($lp{'postonly: inserted for POST'}, qr/sc=SRV=c1;.* --NI 200$/,
    'postonly: POST gets the cookie');
like($lp{'option persist: a down server is still tried'},
    qr/^503 \|  \| sc= \| cc=no-cache \| s3 SCDN 503$/, 'option persist: the down server, 503');
like($lp{'maxidle: inserted with the date'},
    qr/sc=SRV=c1\|NOW; path=\/ \|.* --NI 200$/, 'maxidle: the date is inserted');
like($lp{'maxidle: idle too long, balanced'}, qr/^200 \| s1 .* --EI 200$/,
    'maxidle: expired, EI');
like($lp{'maxidle: idle a while, refreshed'},
    qr/^200 \| s2 .*sc=SRV=c2\|NOW; path=\/ \|.* --VU 200$/, 'maxidle: refreshed, VU');
like($lp{'maxlife: too old, balanced'}, qr/sc=SRV=c1\|NOW\|NOW;.* --OI 200$/,
    'maxlife: too old, OI');
like($lp{'maxidle and maxlife: the first date stays'},
    qr/^200 \| s2 SRV=c2\|20m\|22m \| sc=SRV=c2\|NOW\|22m;.* --VU 200$/, 'the first date is kept');
like($lp{'option persist with redispatch'},
    qr/^200 \| s1 .* --DI 200$/, 'option persist and redispatch: elsewhere');

# Persistence holds over many requests, whatever the algorithm says.
my %seen;
for my $i (1 .. 20) {
    my $c = $i % 2 ? 'c1' : 'c2';
    my $r = $t->http_get($port, "/ins/p$i", headers => ['Cookie' => "SRV=$c"]);
    $seen{"$c:" . substr($r->{body} // '', 0, 2)}++;
    syslog_next($udp{lp});
}
is_deeply(\%seen, { 'c1:s1' => 10, 'c2:s2' => 10 },
    '20 requests: each goes to its cookie\'s server');

# A full persistent server: the request waits in its queue rather than
# going to the idle one.
my @r = $t->http_get_many($port, ['/q/1', '/q/2', '/q/3'],
    headers => ['Cookie' => 'SRV=cs']);
is(join(',', map { $_->{body} // 'none' } @r), 'slow,slow,slow',
    'maxconn 1: persistent requests queue on their server');
@r = $t->http_get_many($port, ['/q2/1', '/q2/2', '/q2/3'],
    headers => ['Cookie' => 'SRV=cs']);
is(join(',', sort map { substr($_->{body} // 'none', 0, 4) } @r),
    's1 -,slow,slow', 'its maxqueue reached: the next one is balanced');
syslog_drain($udp{lp});

# Bad lines.
for my $bad (['cookie', 'expects'], ['cookie S insert prefix', 'only one of'],
    ['cookie S insert dynamic', "'dynamic' is not supported yet"],
    ['cookie S insert maxidle', 'expects a duration'],
    ['cookie S insert maxlife 1x', 'invalid unit'],
    ['cookie S preserve', "requires 'insert' or 'indirect'"],
    ['cookie S domain', 'expects a value'], ['cookie S bogus', "unknown option 'bogus'"]) {
    my ($rc, $out) = $t->check_config(<<"CFG", 'bad.cfg');
backend b
    mode http
    $bad->[0]
    server s1 127.0.0.1:1 cookie c1
CFG
    ok($rc != 0 && $out =~ /bad\.cfg:3: .*\Q$bad->[1]\E/,
        "bad line '$bad->[0]': $bad->[1]") or diag($out);
}
my ($rc, $out) = $t->check_config(<<'CFG', 'bad2.cfg');
backend b
    server s1 127.0.0.1:1 cookie
CFG
ok($rc != 0 && $out =~ /bad2\.cfg:2: .*expects a value/, 'server cookie without a value')
    or diag($out);

# HAProxy with the same configuration answers and logs the same.
SKIP: {
    skip("no haproxy at $haproxy", scalar @cases) unless -x $haproxy;
    $t->write_file('ha.cfg', config('ha', $t->port(8180)));
    $t->run_haproxy($haproxy, 'ha.cfg', $t->port(8180));
    syslog_drain($udp{ha});
    for my $c (@cases) {
        my $sum = ask($t->port(8180), @$c[1 .. $#$c]);
        my $log = syslog_next($udp{ha}) // '';
        $log =~ s/^<\d+>.*?: //;
        is($lp{ $c->[0] }, "$sum | $log", "as HAProxy: $c->[0]");
    }
}

$t->done_testing;

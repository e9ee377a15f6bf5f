#!/usr/bin/perl
# Custom error pages through real requests: "http-errors" sections imported
# with "errorfiles" (all pages or some codes, even from a section declared
# later), "errorfile", "errorloc"/"errorloc303" redirects and "http-error"
# replies replace the built-in pages for 403 (deny), 503 (no server), 400
# (bad request) and 502 (bad server). The backend's page wins once a
# backend is chosen, the frontend's before; pages are inherited from the
# defaults section, a later line overrides an earlier one for the same
# status, and "default-errorfiles" restores the built-in page. The defaults
# section has no 503 page: the backends would inherit it, and a backend's
# page wins over the frontend's, as in HAProxy.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new;

# Writes an error page whose body is <body>, for status <status>.
sub page {
    my ($name, $status, $body) = @_;
    $t->write_file($name, "HTTP/1.1 $status Custom\r\n"
            . "content-type: text/plain\r\n"
            . 'content-length: ' . length($body) . "\r\n\r\n$body");
}
page('site403.http', 403, 'site 403');
page('site400.http', 400, 'site 400');
page('site503.http', 503, 'site 503');
page('other502.http', 502, 'other 502');
page('def403.http', 403, 'defaults 403');
page('fe403.http', 403, 'frontend 403');
page('be503.http', 503, 'backend 503');
$t->write_file('empty.http', '');

$t->write_file_expand('lp.cfg', <<'EOF2');
global
    nbproc 1
http-errors site
    errorfile 403 %%TESTDIR%%/site403.http
    errorfile 400 %%TESTDIR%%/site400.http
    errorfile 503 %%TESTDIR%%/site503.http
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 3s
    errorfile 403 %%TESTDIR%%/def403.http
frontend inherit
    bind 127.0.0.1:%%PORT_8080%%
    http-request deny if { path /deny }
    default_backend nosrv
frontend site
    bind 127.0.0.1:%%PORT_8081%%
    errorfile 403 %%TESTDIR%%/fe403.http
    errorfiles site
    http-error status 502 content-type text/plain string "frontend 502" hdr x-err fe
    http-request deny if { path /deny }
    use_backend own503 if { path /own }
    use_backend bad if { path /bad }
    use_backend badother if { path /badother }
    default_backend nosrv
frontend partial
    bind 127.0.0.1:%%PORT_8082%%
    errorfiles later 403
    errorfiles site 400
    http-error status 400 content-type text/html string "<p>later wins</p>"
    http-request deny if { path /deny }
    default_backend nosrv
frontend loc
    bind 127.0.0.1:%%PORT_8083%%
    errorloc 403 http://errors.example/denied
    errorloc303 503 /down
    errorfile 400 %%TESTDIR%%/empty.http
    http-request deny if { path /deny }
    default_backend nosrv
frontend reset
    bind 127.0.0.1:%%PORT_8084%%
    http-error status 403 default-errorfiles
    http-request deny if { path /deny }
    default_backend nosrv
backend nosrv
backend own503
    errorfile 503 %%TESTDIR%%/be503.http
backend bad
    server b1 127.0.0.1:%%PORT_8091%%
backend badother
    errorfiles other
    server b1 127.0.0.1:%%PORT_8091%%
http-errors other
    errorfile 502 %%TESTDIR%%/other502.http
http-errors later
    errorfile 403 %%TESTDIR%%/site403.http
EOF2

# The origin answers garbage: a 502 for the client.
$t->http_origin(8091, sub { return "NOT HTTP AT ALL\r\n\r\n" });
$t->run;

my $bad_request = "GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n";

$t->plan(34);

# Inherited from defaults; the rest stays built-in.
my $r = $t->http_get($t->port(8080), '/deny');
is($r->{status}, 403, 'defaults: deny is 403');
is($r->{body}, 'defaults 403', 'defaults: errorfile inherited by the frontend');
$r = $t->http_get($t->port(8080), '/');
is($r->{status}, 503, 'no server: 503');
like($r->{body}, qr/No server is available/, 'no server: built-in page');
$r = $t->http($t->port(8080), $bad_request);
is($r->{status}, 400, 'defaults: bad request is 400');
like($r->{body}, qr/400 Bad request/i, 'defaults: built-in 400 page');
$r = $t->http_get($t->port(8084), '/deny');
is($r->{status}, 403, 'default-errorfiles: 403');
like($r->{body}, qr/Request forbidden/,
    'default-errorfiles: built-in page instead of the inherited one');

# errorfiles imports the whole section, after errorfile (the later wins).
$r = $t->http_get($t->port(8081), '/deny');
is($r->{status}, 403, 'errorfiles: deny is 403');
is($r->{body}, 'site 403',
    'errorfiles after errorfile and defaults: the section page wins');
$r = $t->http($t->port(8081), $bad_request);
is($r->{status}, 400, 'errorfiles: bad request is 400');
is($r->{body}, 'site 400', 'errorfiles: 400 page from the section');
my $raw = $t->raw_request($t->port(8081), $bad_request);
ok($raw->{closed} && !$raw->{timed_out},
    'errorfiles: the connection closes after a 400');
$r = $t->http_get($t->port(8081), '/');
is($r->{body}, 'site 503', "the frontend's page when the backend has none");
$r = $t->http_get($t->port(8081), '/own');
is($r->{body}, 'backend 503', "the chosen backend's page wins");

# 502 from a bad server: the backend's page, else the frontend's.
$r = $t->http_get($t->port(8081), '/badother');
is($r->{status}, 502, 'bad server: 502');
is($r->{body}, 'other 502',
    'backend errorfiles from a section declared after it');
$r = $t->http_get($t->port(8081), '/bad');
is($r->{status}, 502, 'http-error: 502 status');
is($r->{body}, 'frontend 502', 'http-error string body');
is($r->{headers}{'content-type'}, 'text/plain', 'http-error content-type');
is($r->{headers}{'x-err'}, 'fe', 'http-error hdr');
is($r->{headers}{'content-length'}, 12, 'http-error content-length');

# Codes picked from sections; later lines win; default-errorfiles.
$r = $t->http_get($t->port(8082), '/deny');
is($r->{body}, 'site 403', 'errorfiles NAME CODE imports one code');
$r = $t->http($t->port(8082), $bad_request);
is($r->{status}, 400, 'http-error after errorfiles: status');
is($r->{body}, '<p>later wins</p>', 'http-error after errorfiles: it wins');
is($r->{headers}{'content-type'}, 'text/html', 'http-error: its content-type');

# Redirects instead of pages, and an empty page.
$r = $t->http_get($t->port(8083), '/deny');
is($r->{status}, 302, 'errorloc: 302');
is($r->{headers}{location}, 'http://errors.example/denied',
    'errorloc: Location');
is($r->{body}, '', 'errorloc: no body');
$r = $t->http_get($t->port(8083), '/');
is($r->{status}, 303, 'errorloc303: 303');
is($r->{headers}{location}, '/down', 'errorloc303: Location');
$r = $t->http($t->port(8083), $bad_request);
is($r->{data}, '', 'empty errorfile: nothing is sent');
ok($r->{closed}, 'empty errorfile: the connection closes');

# The worker still serves.
$r = $t->http_get($t->port(8080), '/');
like($r->{body}, qr/No server is available/, 'still serving');

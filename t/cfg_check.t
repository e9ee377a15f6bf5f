#!/usr/bin/perl
# "luaproxy -c": a valid configuration is reported valid with exit 0; every
# error is reported as "file:line: message" naming the offending word, all
# errors of a file in one run, and the exit status is 1.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;

my $t = Test::Luaproxy->new;

# Runs -c on <text>; returns (rc, output).
sub check { return $t->check_config($_[0], $_[1] // 'check.cfg') }

my $base = <<'EOF2';
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 1s
EOF2

my @errors = (
    ["unknown global keyword", "global\n    foo bar\n",
     qr/check\.cfg:2: unknown keyword 'foo' in 'global' section/],
    ["unsupported keyword", "global\n    h1-case-adjust content-type Content-Type\n",
     qr/check\.cfg:2: keyword 'h1-case-adjust' is not supported yet/],
    ["keyword out of section", "    bind :80\n",
     qr/check\.cfg:1: .*'bind'.* section/],
    ["keyword in the wrong section",
     "${base}backend b\n    bind 127.0.0.1:80\n",
     qr/check\.cfg:7: 'bind' is not allowed in 'backend' section/],
    ["bad duration", "${base}frontend f\n    bind 127.0.0.1:1\n    timeout client 5x\n",
     qr/check\.cfg:8: .*5x/],
    ["bad port", "${base}frontend f\n    bind 127.0.0.1:70000\n",
     qr/check\.cfg:7: .*70000/],
    ["missing port", "${base}frontend f\n    bind 127.0.0.1\n",
     qr/check\.cfg:7: .*port/],
    ["unsupported bind flag", "${base}frontend f\n    bind 127.0.0.1:1 v6only\n",
     qr/check\.cfg:7: 'bind' option 'v6only' is not supported yet/],
    ["errorfile naming a directory", "${base}    errorfile 503 /\n",
     qr/check\.cfg:6: .*not a regular file/],
    ["unknown ACL in a condition",
     "${base}frontend f\n    bind 127.0.0.1:1\n    http-request deny if nope\n",
     qr/check\.cfg:8: .*'nope'/],
    ["unknown action", "${base}frontend f\n    bind 127.0.0.1:1\n    http-request frobnicate\n",
     qr/check\.cfg:8: unknown action 'frobnicate'/],
    ["unknown fetch", "${base}frontend f\n    bind 127.0.0.1:1\n    acl a nosuchfetch foo\n",
     qr/check\.cfg:8: .*'nosuchfetch'/],
    ["bad regex", "${base}frontend f\n    bind 127.0.0.1:1\n    acl a path -m reg (\n",
     qr/check\.cfg:8: .*/],
    ["missing backend", "${base}frontend f\n    bind 127.0.0.1:1\n    default_backend nowhere\n",
     qr/check\.cfg:\d+: .*unable to find required backend 'nowhere'/],
    ["unterminated .if", ".if defined(HOME)\nglobal\n",
     qr/check\.cfg:\d+: .*\.if/],
    [".alert directive", ".alert \"stop here\"\n",
     qr/check\.cfg:1: stop here/],
    ["unmatched quote", "global\n    pidfile \"/tmp/x\n",
     qr/check\.cfg:2: .*quote/i],
    ["unsupported section", "resolvers r\n    nameserver a 127.0.0.1:53\n",
     qr/check\.cfg:1: section 'resolvers' is not supported yet/],
    ["frontend without bind", "${base}frontend f\n    http-request deny\n",
     qr/check\.cfg:6: frontend 'f' has no 'bind' directive/],
    ["unknown service", "${base}frontend f\n    bind 127.0.0.1:1\n    http-request use-service nope.x\n",
     qr/check\.cfg:8: unknown service 'nope\.x'/],
    ["bad deny status", "${base}frontend f\n    bind 127.0.0.1:1\n    http-request deny deny_status 99\n",
     qr/check\.cfg:8: .*99/],
    ["unknown proxy mode", "${base}frontend f\n    mode ftp\n",
     qr/check\.cfg:7: unknown proxy mode 'ftp'/],
    ["http-errors without a name", "http-errors\n",
     qr/check\.cfg:1: 'http-errors' expects exactly one name/],
    ["duplicate http-errors section",
     "http-errors e\nhttp-errors e\n    errorfile 503 %%TESTDIR%%/e503.http\n",
     qr/check\.cfg:2: http-errors section 'e' has the same name as the one declared at check\.cfg:1/],
    ["unhandled code in http-errors",
     "http-errors e\n    errorfile 299 %%TESTDIR%%/e503.http\n",
     qr/check\.cfg:2: status code 299 not handled/],
    ["missing errorfile", "http-errors e\n    errorfile 503 %%TESTDIR%%/nope.http\n",
     qr/check\.cfg:2: .*nope\.http/],
    ["invalid errorfile", "http-errors e\n    errorfile 503 %%TESTDIR%%/bad.http\n",
     qr/check\.cfg:2: errorfile '.*bad\.http' is not a valid HTTP response/],
    ["proxy keyword in http-errors", "http-errors e\n    bind 127.0.0.1:1\n",
     qr/check\.cfg:2: 'bind' is not allowed in 'http-errors' section/],
    ["unknown keyword in http-errors", "http-errors e\n    errorloc 503 /x\n",
     qr/check\.cfg:2: 'errorloc' is not allowed in 'http-errors' section/],
    ["errorfiles naming an unknown section",
     "${base}    errorfiles nodef\nfrontend f\n    bind 127.0.0.1:1\n    errorfiles nosuch 503\n    default_backend b\nbackend b\n",
     qr/check\.cfg:6: defaults section: unknown http-errors section 'nodef'.*check\.cfg:9: frontend 'f': unknown http-errors section 'nosuch'/s],
    ["errorfiles with an unhandled code",
     "${base}frontend f\n    bind 127.0.0.1:1\n    errorfiles e 299\n",
     qr/check\.cfg:8: status code 299 not handled/],
    ["errorloc with an unhandled code",
     "${base}frontend f\n    bind 127.0.0.1:1\n    errorloc303 299 /x\n",
     qr/check\.cfg:8: status code 299 not handled/],
    ["http-error without status",
     "${base}frontend f\n    bind 127.0.0.1:1\n    http-error code 503\n",
     qr/check\.cfg:8: 'http-error' expects 'status', got 'code'/],
    ["http-error body without content-type",
     "${base}frontend f\n    bind 127.0.0.1:1\n    http-error status 503 string oops\n",
     qr/check\.cfg:8: 'http-error' with a body needs a 'content-type'/],
    ["http-error with two payloads",
     "${base}frontend f\n    bind 127.0.0.1:1\n    http-error status 503 content-type t/p string a file %%TESTDIR%%/e503.http\n",
     qr/check\.cfg:8: 'http-error': 'file' follows another payload/],
    ["http-error log-format",
     "${base}frontend f\n    bind 127.0.0.1:1\n    http-error status 503 content-type t/p lf-string %[path]\n",
     qr/check\.cfg:8: 'http-error': log-format values in 'lf-string' are not supported yet/],
    ["unique-id-format with an unknown fetch",
     "${base}frontend f\n    bind 127.0.0.1:1\n    unique-id-format %[nosuch]\n",
     qr/check\.cfg:8: failed to parse unique-id-format : .*nosuch/],
    ["http-request capture without len",
     "${base}frontend f\n    bind 127.0.0.1:1\n    http-request capture path\n",
     qr/check\.cfg:8: 'http-request capture' expects 'EXPR len N'/],
    ["http-request capture len in a backend",
     "${base}backend b\n    http-request capture path len 10\n",
     qr/check\.cfg:7: 'http-request capture EXPR len N' is only allowed in a frontend or listen section/],
    ["http-request capture bad sample",
     "${base}listen l\n    bind 127.0.0.1:1\n    http-request capture nosuch len 10\n",
     qr/check\.cfg:8: .*unknown fetch method 'nosuch'/],
    ["capture id beyond the declared slots",
     "${base}frontend f\n    bind 127.0.0.1:1\n    declare capture request len 4\n    http-request capture path id 1\n",
     qr/check\.cfg:9: 'capture' id 1: no such request capture slot in this proxy/],
    ["http-response capture with len",
     "${base}frontend f\n    bind 127.0.0.1:1\n    http-response capture status len 4\n",
     qr/check\.cfg:8: 'http-response capture' expects 'EXPR id N'/],
    ["declare without capture",
     "${base}frontend f\n    bind 127.0.0.1:1\n    declare stuff request len 4\n",
     qr/check\.cfg:8: 'declare' expects 'capture request len N'/],
    ["http-error unknown option",
     "${base}frontend f\n    bind 127.0.0.1:1\n    http-error status 503 body x\n",
     qr/check\.cfg:8: 'http-error': unknown option 'body'/],
);

$t->write_file('e503.http',
    "HTTP/1.1 503 Down\r\ncontent-length: 4\r\n\r\ndown");
$t->write_file('bad.http', "this is not HTTP\r\n\r\n");

$t->plan(2 * @errors + 20);

for my $e (@errors) {
    my ($name, $text, $re) = @$e;
    $text =~ s/\$\{base\}/$base/g;
    my ($rc, $out) = check($text);
    is($rc, 1, "$name: exit status 1");
    like($out, $re, "$name: message with file:line") or diag($out);
}

# Several errors in one file are all reported in one run.
my ($rc, $out) = check("global\n    foo\n    bar\n${base}frontend f\n    bind 127.0.0.1:1\n    timeout client zz\n");
is($rc, 1, 'several errors: exit 1');
like($out, qr/check\.cfg:2: .*'foo'/, 'first error reported');
like($out, qr/check\.cfg:3: .*'bar'/, 'second error reported');
like($out, qr/check\.cfg:11: .*zz/, 'third error reported');

# "maxconn" is a global and a proxy keyword: each in its own section.
($rc, $out) = check("global\n    maxconn 100\n${base}    maxconn 50\nfrontend f\n    bind 127.0.0.1:1\n    maxconn 20\n    http-request return status 200\n");
is($rc, 0, 'maxconn in global, defaults and frontend') or diag($out);

# Error pages: a section declared after the proxies that import it, every
# keyword in proxies and defaults; a missing code in a section only warns.
($rc, $out) = check(<<'EOF3');
defaults
    mode http
    errorfiles pages 503
    errorloc 403 http://example.com/denied
    errorloc302 400 /bad
    errorloc303 502 /gateway
    http-error status 504 content-type text/plain string late hdr retry-after 5
    http-error status 429 default-errorfiles
frontend f
    bind 127.0.0.1:1
    errorfile 503 %%TESTDIR%%/e503.http
    errorfiles pages
    errorfiles pages 504
    http-error status 503 errorfiles pages
    http-error status 500 errorfile %%TESTDIR%%/e503.http
    http-request return status 200
http-errors pages
    errorfile 503 %%TESTDIR%%/e503.http
    errorfile 408 /dev/null
EOF3
is($rc, 0, 'error pages: valid configuration') or diag($out);
like($out, qr/check\.cfg:13: status 504 is not declared in http-errors section 'pages'/,
    'error pages: a code missing from the section is a warning');

# A second defaults section starts from the built-in values: "mode http"
# of the first does not carry over, so the frontend below is in tcp mode
# and its http-request rule is reported as ignored.
($rc, $out) = check("defaults\n    mode http\n    timeout client 1s\ndefaults\n    timeout client 1s\nfrontend f\n    bind 127.0.0.1:1\n    http-request return status 200\n");
like($out, qr/frontend 'f' is in tcp mode/, 'defaults sections do not chain')
    or diag($out);

# A valid file.
($rc, $out) = check("global\n    nbproc 1\n${base}frontend f\n    bind 127.0.0.1:1\n    http-request return status 200\n");
is($rc, 0, 'valid configuration: exit 0');
like($out, qr/^Configuration file is valid$/m, 'valid configuration: message');

# Environment expansion and conditional blocks change what is parsed.
{
    local $ENV{LP_TEST_PORT} = '4567';
    ($rc, $out) = check(".if defined(LP_TEST_PORT)\n${base}frontend f\n    bind \"127.0.0.1:\${LP_TEST_PORT}\"\n    http-request return status 200\n.else\n    broken keyword\n.endif\n");
    is($rc, 0, 'taken .if branch with an environment variable is valid')
        or diag($out);
    delete local $ENV{LP_TEST_PORT};
    ($rc, $out) = check(".if defined(LP_TEST_PORT)\n    ignored\n.else\n    broken keyword\n.endif\n");
    like($out, qr/check\.cfg:4: unknown keyword 'broken'/,
        'the .else branch is parsed when the variable is undefined');
}

# -cc evaluates a condition.
($rc) = $t->run_cmd('-cc', 'feature(LUA)');
is($rc, 0, '-cc true condition exits 0');
($rc) = $t->run_cmd('-cc', 'streq(a,b)');
is($rc, 1, '-cc false condition exits 1');

# A directory of *.cfg files is read in lexical order.
mkdir($t->testdir . '/d') or die "mkdir: $!";
$t->write_file('d/20-fe.cfg', "frontend f\n    bind 127.0.0.1:1\n    http-request return status 200\n");
$t->write_file('d/10-defaults.cfg', $base);
$t->write_file('d/30-ignored.txt', "garbage\n");
($rc, $out) = $t->run_cmd('-c', '-f', 'd');
is($rc, 0, 'directory: *.cfg read in lexical order, other files ignored')
    or diag($out);

# Command-line errors.
($rc, $out) = $t->run_cmd('-Z');
is($rc, 1, 'unknown option: exit 1');
like($out, qr/unknown option '-Z'.*Usage/s, 'unknown option: usage printed');
($rc, $out) = $t->run_cmd('-c', '-f', 'does-not-exist.cfg');
is($rc, 1, 'missing file: exit 1');
like($out, qr/does-not-exist\.cfg/, 'missing file: named');

# The shipped configuration is valid.
{
    local $ENV{LUAPROXY_LUA_DIR} = "$FindBin::Bin/../conf";
    ($rc, $out) = $t->run_cmd('-c', '-f', "$FindBin::Bin/../conf/luaproxy.cfg");
    is($rc, 0, 'shipped conf/luaproxy.cfg is valid') or diag($out);
}


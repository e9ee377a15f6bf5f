#!/usr/bin/perl
# The environment keywords of the global section: setenv, presetenv
# (only when unset), unsetenv and resetenv (all but the named ones) act
# at once, in order, so the lines below see them in "${NAME}" and the
# workers in the env() fetch.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;

$ENV{LP_KEEP} = 'keep';
$ENV{LP_DROP} = 'drop';
my $t = Test::Luaproxy->new;
$t->write_file_expand('lp.cfg', <<'EOF2');
global
    nbproc 1
    setenv LP_A one
    presetenv LP_A two
    presetenv LP_B three
    setenv LP_C gone
    unsetenv LP_C
    resetenv LP_A LP_B LP_KEEP
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 3s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    http-request return status 200 content-type text/plain string "${LP_A}-${LP_B}-${LP_C}-${LP_DROP}" if { path /parse }
    http-request return status 200 content-type text/plain lf-string "%[env(LP_A)]-%[env(LP_B)]-%[env(LP_C)]-%[env(LP_KEEP)]-%[env(LP_DROP)]"
EOF2
$t->run;
$t->plan(3);

is($t->http_get($t->port(8080), '/parse')->{body}, 'one-three--',
    'later lines expand what setenv/presetenv set and unsetenv/resetenv removed');
is($t->http_get($t->port(8080), '/run')->{body}, 'one-three--keep-',
    'the worker inherits the environment the configuration left');
my ($rc, $out) = $t->run_cmd('-c', '-f', $t->write_file('bad.cfg',
    "global\n    setenv ONLY_NAME\n"));
like($out, qr/bad\.cfg:2: .*'setenv'/, 'setenv without a value: file:line error');

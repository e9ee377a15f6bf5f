#!/usr/bin/perl
# The environment keywords of the global section: setenv, presetenv
# (only when unset), unsetenv and resetenv (all but the named ones) act
# at once, in order, so the lines below see them in "${NAME}" and the
# workers in the env() fetch; a refused reload leaves no trace of them.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy;

$ENV{LP_KEEP} = 'keep';
$ENV{LP_DROP} = 'drop';
my $t = Test::Luaproxy->new;
my $tpl = <<'EOF2';
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
$t->write_file_expand('lp.cfg', $tpl);
$t->run;
$t->plan(7);
$t->expect_alerts(qr/bogus_keyword/, qr/Fatal errors found/, qr/reload refused/);

is($t->http_get($t->port(8080), '/parse')->{body}, 'one-three--',
    'later lines expand what setenv/presetenv set and unsetenv/resetenv removed');
is($t->http_get($t->port(8080), '/run')->{body}, 'one-three--keep-',
    'the worker inherits the environment the configuration left');
my ($rc, $out) = $t->run_cmd('-c', '-f', $t->write_file('bad.cfg',
    "global\n    setenv ONLY_NAME\n"));
like($out, qr/bad\.cfg:2: .*'setenv'/, 'setenv without a value: file:line error');

# A reload refused for a bad line leaves the environment as it was: the
# next good configuration does not see what the refused one set.
(my $bad = $tpl) =~ s/(resetenv LP_A LP_B LP_KEEP)/$1\n    setenv LP_NEW refused\n    bogus_keyword/;
(my $next = $tpl) =~ s/(resetenv LP_A LP_B LP_KEEP)/$1 LP_NEW\n    presetenv LP_NEW kept/;
$next =~ s/%\[env\(LP_KEEP\)\]/%[env(LP_NEW)]/;
$t->write_file_expand('lp.cfg', $bad);
my $mark = $t->log_mark;
$t->reload;
ok($t->wait_log(qr/reload refused/, mark => $mark), 'the bad reload is refused');
$t->write_file_expand('lp.cfg', $next);
$mark = $t->log_mark;
$t->reload;
ok($t->wait_log(qr/reload done/, mark => $mark), 'the next one is done');
ok($t->wait_log(qr/ready, generation \d+/, mark => $mark), 'its worker is ready');
is($t->http_get($t->port(8080), '/run')->{body}, 'one-three--kept-',
    'the refused configuration\'s setenv did not stay');

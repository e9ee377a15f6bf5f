#!/usr/bin/perl
# Replays the fuzz corpora through the gcc-built replay drivers: a crash, a
# sanitizer report or a non-zero exit fails the test.
use strict;
use warnings;
use FindBin;
use File::Spec;
use Test::More;

my $top = File::Spec->rel2abs("$FindBin::Bin/..");
my $bindir = $ENV{LUAPROXY_BINARY}
    ? (File::Spec->splitpath($ENV{LUAPROXY_BINARY}))[1] : $top;
my %targets = (h1 => 'replay_h1', cfg => 'replay_cfg');

plan tests => 2 * keys %targets;
for my $name (sort keys %targets) {
    my $bin = File::Spec->catfile($bindir, 'fuzz', $targets{$name});
    my $corpus = File::Spec->catdir($top, 'fuzz', 'corpus', $name);
    SKIP: {
        skip "$bin not built", 2 unless -x $bin;
        my $out = `'$bin' '$corpus' 2>&1`;
        is($?, 0, "$name corpus replays without a crash")
            or diag($out);
        unlike($out, qr/Sanitizer|runtime error/, "$name: no sanitizer report");
    }
}

#!/usr/bin/perl
# Every test file in t/ is run by make check: a test the Makefile
# fragments (t/include.am, fuzz/include.am) do not name would never run in
# CI nor reach the release tarball.
use strict;
use warnings;
use FindBin;
use Test::More;

my $top = "$FindBin::Bin/..";
my $listed = '';
for my $am ("$top/t/include.am", "$top/fuzz/include.am") {
    open(my $fh, '<', $am) or next;
    local $/;
    $listed .= <$fh>;
}
my %named = map { $_ => 1 } $listed =~ m{\b(t/[\w.-]+\.t)\b}g;
my @files = map { s{^\Q$top\E/}{}r } sort glob("$top/t/*.t");

plan tests => scalar @files;
ok($named{$_}, "$_ is listed in TESTS") for @files;

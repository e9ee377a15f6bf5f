#!/usr/bin/perl
# The C sources are formatted by the project's .clang-format: a file that
# clang-format would change fails here, naming it. Skipped where
# clang-format is not installed.
use strict;
use warnings;
use FindBin;
use File::Find;
use Test::More;

my $top = "$FindBin::Bin/..";
my $cf = `command -v clang-format 2>/dev/null`;
chomp $cf;
plan skip_all => 'clang-format not installed' unless $cf;

my @files;
find(sub {
    return unless /\.[ch]$/;
    return if $File::Find::dir =~ m{/(?:_build|build|build-san|fuzz)(?:/|$)};
    push @files, $File::Find::name;
}, map { "$top/$_" } grep { -d "$top/$_" } qw(core http tcp lua_api t));
push @files, "$top/main.c" if -f "$top/main.c";

plan tests => scalar @files;
for my $f (sort @files) {
    my $out = `'$cf' --style=file:'$top/.clang-format' --dry-run -Werror '$f' 2>&1`;
    (my $name = $f) =~ s{^\Q$top\E/}{};
    is($?, 0, "$name is formatted") or diag($out =~ /^(.*\n){0,6}/ ? $& : $out);
}

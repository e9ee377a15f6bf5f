#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Runs each Check unit binary (t/unit/check_<dir>) with TAP output on stdout
# and re-emits its results as one subtest per binary, so a single
# "prove -r t/" counts unit and integration tests together. A binary that
# has not been built is skipped with a message.
#
# Where the binaries are: $LUAPROXY_UNIT_DIR, else t/unit next to
# $LUAPROXY_BINARY's directory (automake's build tree), else t/unit beside
# this file (an in-tree build).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Basename qw(dirname);
use Test::More;
use Test::Luaproxy qw(run_command);

my @binaries = qw(check_core check_http check_tcp check_lua_api);
my $timeout = $ENV{LUAPROXY_UNIT_TIMEOUT} // 300;
my $dir = unit_dir();

for my $name (@binaries) {
    subtest $name => sub { run_unit_binary("$dir/$name") };
}
done_testing();

# The directory holding the Check binaries.
sub unit_dir {
    return $ENV{LUAPROXY_UNIT_DIR} if defined $ENV{LUAPROXY_UNIT_DIR};
    if (defined $ENV{LUAPROXY_BINARY}) {
        my $built = dirname($ENV{LUAPROXY_BINARY}) . '/t/unit';
        return $built if -d $built;
    }
    return "$FindBin::Bin/unit";
}

# Run one binary and turn each of its TAP results into a test here.
sub run_unit_binary {
    my ($path) = @_;
    plan skip_all => "$path not built" unless -x $path;
    local $ENV{CK_TAP_LOG_FILE_NAME} = '-';
    local $ENV{CK_FORK} = 'yes';
    my ($rc, $out) = run_command(dirname($path), $timeout, $path);
    my ($planned, $seen, @other) = (undef, 0);
    for my $line (split /\n/, $out) {
        if ($line =~ /^(not )?ok \d+(?: - (.*))?$/) {
            $seen++;
            ok(!$1, $2 // "test $seen");
        } elsif ($line =~ /^1\.\.(\d+)/) {
            $planned = $1;
        } else {
            push @other, $line;
        }
    }
    ok($seen > 0, "$path reported TAP results");
    is($seen, $planned // -1, 'every planned unit test reported');
    is($rc, 0, "$path exit status") or diag(join("\n", @other));
}

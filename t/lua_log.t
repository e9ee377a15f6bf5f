#!/usr/bin/perl
# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Lua's log messages go where HAProxy sends them: core.log and
# core.Debug/Info/Warning/Alert to the global loggers, txn:log and
# txn:deflog/Debug/Info/Warning/Alert to the loggers of the stream's proxy
# (the frontend, then the backend once one is chosen), with non-printable
# bytes as dots. tune.lua.log.loggers (on by default) and
# tune.lua.log.stderr (auto by default: stderr only when no logger got the
# message) decide, and stderr lines have HAProxy's "[level] yday/hhmmss
# (pid) : msg" format, without debug messages outside debug mode. Checked
# through real requests, with a UDP syslog listener.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use IO::Socket::INET;
use Test::More;
use Test::Luaproxy;
use Time::HiRes qw(time);

my $t = Test::Luaproxy->new;
my $udp = IO::Socket::INET->new(LocalAddr => '127.0.0.1:0', Proto => 'udp')
    or die "udp: $!";
my $uport = $udp->sockport;

$t->write_file_expand('log.lua', <<'EOF');
core.Info("body info")

core.register_action("say", { "http-req" }, function(txn)
  local id = txn.sf:req_hdr("x-id")
  txn:Info("txn-info " .. id)
  txn:log(core.notice, "txn-notice " .. id .. "\1\tbin\127")
  txn:Debug("txn-debug " .. id)
  txn:deflog("txn-deflog " .. id)
  core.Warning("core-warning " .. id)
  core.Debug("core-debug " .. id)
  if id == "O" then txn:Warning(string.rep("x", 20000)) end
end)
EOF

# Facilities tell the targets apart: global local0, fe_logged local1,
# be_logged local2 (priority = facility * 8 + level).
sub config {
    my ($tune) = @_;
    return <<"EOF";
global
    nbproc 1
    log 127.0.0.1:$uport local0
$tune
    lua-load log.lua
defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 3s
frontend fe_logged
    bind 127.0.0.1:%%PORT_8080%%
    log 127.0.0.1:$uport local1
    http-request lua.say
    http-request return status 200 content-type text/plain string ok
frontend fe_global
    bind 127.0.0.1:%%PORT_8081%%
    log global
    http-request lua.say
    http-request return status 200 content-type text/plain string ok
frontend fe_silent
    bind 127.0.0.1:%%PORT_8082%%
    http-request lua.say
    http-request return status 200 content-type text/plain string ok
frontend fe_to_be
    bind 127.0.0.1:%%PORT_8083%%
    default_backend be_logged
backend be_logged
    log 127.0.0.1:$uport local2
    http-request lua.say
    http-request return status 200 content-type text/plain string ok
EOF
}

# Datagrams received within $secs (until $want of them matched $re).
sub recv_matching {
    my ($re, $want, $secs) = @_;
    my @got;
    my $sel = IO::Select->new($udp);
    my $deadline = time + ($secs // 1);
    while ((my $left = $deadline - time) > 0) {
        last unless $sel->can_read($left);
        my $buf;
        $udp->recv($buf, 65536);
        push @got, $buf if $buf =~ $re;
        last if defined $want && @got >= $want;
    }
    return @got;
}

# Sends a request with x-id $id to port $port; returns the datagrams of
# Lua's messages for $id (expecting $want of them) and what the server
# wrote on stderr meanwhile.
sub request {
    my ($port, $id, $want) = @_;
    my $mark = $t->log_mark;
    my $r = $t->http_get($t->port($port), '/', headers => ["x-id" => $id]);
    is($r->{status}, 200, "request $id answered");
    my @udp = recv_matching(qr/-\w+ \Q$id\E\b/, $want, $want ? 2 : 0.5);
    # stderr: the last message the action sends, if it goes there
    $t->wait_log(qr/core-warning \Q$id\E/, mark => $mark, timeout => 0.5);
    return (\@udp, $t->log_since($mark));
}

# The datagram whose priority is $pri and whose message is $msg.
sub has_dgram {
    my ($dgs, $pri, $msg) = @_;
    return grep { /^<$pri>.*: \Q$msg\E\n?\z/ } @$dgs;
}

my $stderr_re = qr{^\[(\w+)\] \d{3}/\d{6} \((\d+)\) : (.*)$}m;

# ---- defaults: loggers on, stderr auto
$t->write_file_expand('auto.cfg', config(''));
$t->run;

like($t->log_contents, qr{^\[info\] \d{3}/\d{6} \(\d+\) : body info$}m,
    'a message from the body reaches stderr (the loggers start with the '
    . 'workers)');

my ($dg, $err) = request(8080, 'A', 6);
ok(has_dgram($dg, 8 * 17 + 6, 'txn-info A'),
    'txn:Info goes to the frontend logger at info') or diag explain $dg;
ok(has_dgram($dg, 8 * 17 + 5, 'txn-notice A..bin.'),
    'txn:log at its level, non-printable bytes as dots');
ok(has_dgram($dg, 8 * 17 + 7, 'txn-debug A'), 'txn:Debug at debug');
ok(has_dgram($dg, 8 * 17 + 6, 'txn-deflog A'), 'txn:deflog at info');
ok(has_dgram($dg, 8 * 16 + 4, 'core-warning A'),
    'core.Warning goes to the global logger');
ok(has_dgram($dg, 8 * 16 + 7, 'core-debug A'), 'core.Debug at debug');
is(scalar(@$dg), 6, 'each message once, nowhere else')
    or diag explain $dg;
unlike($err, qr/-\w+ A\b/, 'auto: nothing on stderr when loggers got it');

($dg, $err) = request(8081, 'G', 6);
ok(has_dgram($dg, 8 * 16 + 6, 'txn-info G'),
    'txn:log of a "log global" frontend goes to the global logger')
    or diag explain $dg;
unlike($err, qr/-\w+ G\b/, 'and not to stderr');

($dg, $err) = request(8082, 'S', 2);
is_deeply([sort map { /: (\S+ S)/ } @$dg],
    ['core-debug S', 'core-warning S'],
    'a frontend without loggers: only core.* messages reach a logger');
my @lines = map { [/$stderr_re/] } grep { /-\w+ S\b/ } split /\n/, $err;
is_deeply([map { "$_->[0] $_->[2]" } @lines],
    ['info txn-info S', 'notice txn-notice S..bin.', 'info txn-deflog S'],
    "auto: its txn messages on stderr with HAProxy's level names, no debug")
    or diag $err;
ok(@lines && $lines[0][1] == ($t->worker_pids)[0],
    'the pid on the stderr line is the worker\'s');

($dg, $err) = request(8083, 'B', 6);
ok(has_dgram($dg, 8 * 18 + 6, 'txn-info B'),
    'in a backend rule, txn messages go to the backend logger')
    or diag explain $dg;
unlike($err, qr/-\w+ B\b/, 'and not to stderr');
$t->stop;

# ---- tune.lua.log.loggers off: stderr only (auto)
$t->write_file_expand('auto.cfg', config('    tune.lua.log.loggers off'));
$t->run;
($dg, $err) = request(8080, 'O', undef);
is(scalar(@$dg), 0, 'loggers off: no Lua message reaches a logger')
    or diag explain $dg;
@lines = map { [/$stderr_re/] } grep { /-\w+ O\b/ } split /\n/, $err;
is_deeply([map { "$_->[0] $_->[2]" } @lines],
    ['info txn-info O', 'notice txn-notice O..bin.', 'info txn-deflog O',
        'warning core-warning O'],
    'loggers off: stderr gets them instead') or diag $err;
my ($long) = $err =~ /^\[warning\] [^:]+ : (x+ \.\.\.)$/m;
is(length($long // ''), 16383,
    'a long message is cut to 16383 bytes, ending with " ..."');
$t->stop;

# ---- tune.lua.log.stderr on: both
$t->write_file_expand('auto.cfg', config('    tune.lua.log.stderr on'));
$t->run;
($dg, $err) = request(8080, 'N', 6);
is(scalar(@$dg), 6, 'stderr on: the loggers still get every message');
@lines = grep { /-\w+ N\b/ } split /\n/, $err;
is(scalar(@lines), 4, 'stderr on: stderr gets them too, debug excepted')
    or diag $err;
$t->stop;

# ---- tune.lua.log.stderr off: a proxy without loggers loses them
$t->write_file_expand('auto.cfg', config('    tune.lua.log.stderr off'));
my $mark = $t->log_mark;
$t->run;
unlike($t->log_since($mark), qr/body info/,
    'stderr off: not even from the body');
($dg, $err) = request(8082, 'F', 2);
unlike($err, qr/-\w+ F\b/, 'stderr off: nothing on stderr');
is(scalar(@$dg), 2, 'the global logger still gets core.* messages');
$t->stop;

# ---- bad values
for my $kw ('tune.lua.log.loggers auto', 'tune.lua.log.stderr yes') {
    my ($code, $out) = $t->check_config(config("    $kw"), 'bad.cfg');
    my ($name, $value) = split / /, $kw;
    isnt($code, 0, "'$kw' is refused");
    like($out, qr/'\Q$name\E' expects .*'\Q$value\E'/,
        'with a message naming the keyword and the value');
}

$t->finish;
done_testing;

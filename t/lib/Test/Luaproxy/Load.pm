# Copyright (c) luaproxy developers. Licensed under the MIT licence.
#
# Test::Luaproxy::Load: bounded background HTTP load for the process-model
# tests (reloads, worker crashes, bind changes). Each client is a forked
# helper (a harness daemon, so it is always stopped by PID) that sends
# requests in a loop, one-shot or keep-alive, and records every failure:
# refused or failed connect, reset, truncated or missing response, timeout,
# wrong status or body. finish() stops the loop and returns the totals.
# Core Perl modules only.

package Test::Luaproxy::Load;

use strict;
use warnings;

use Errno qw(EAGAIN EINTR ECONNRESET ECONNREFUSED EPIPE);
use File::Spec;
use IO::Select;
use IO::Socket::IP;
use Time::HiRes qw(time sleep);

use Test::Luaproxy qw(parse_response http_request_bytes);

# Start one helper per client spec: { port, path (prefix), keepalive,
# pause (seconds between requests), expect => sub ($path) returning the
# exact body expected }. Returns the load object.
sub start {
    my ($class, $t, @clients) = @_;
    my $dir = $t->testdir;
    my $self = bless { t => $t, stop => "$dir/load.stop", clients => [] },
        $class;
    unlink $self->{stop};
    for my $i (0 .. $#clients) {
        my $out = File::Spec->catfile($dir, "load.$i.out");
        unlink $out;
        my $pid = $t->run_daemon(\&_client_loop, $clients[$i],
            $self->{stop}, $out);
        push @{ $self->{clients} }, { pid => $pid, out => $out };
    }
    return $self;
}

# Stop every client (each ends its current request first), then return
# { requests, connections, failures => [ "reason ..." ], per_client => [] }.
sub finish {
    my ($self) = @_;
    _touch($self->{stop});
    my $deadline = time + 10;
    for my $c (@{ $self->{clients} }) {
        sleep 0.02 while !-e "$c->{out}.done" && time < $deadline;
        $self->{t}->stop_daemon($c->{pid});
    }
    my %sum = (requests => 0, connections => 0, failures => [],
        per_client => []);
    for my $c (@{ $self->{clients} }) {
        my $r = _read_results($c->{out});
        $sum{requests} += $r->{requests};
        $sum{connections} += $r->{connections};
        push @{ $sum{failures} }, @{ $r->{failures} };
        push @{ $sum{per_client} }, $r->{requests};
    }
    return \%sum;
}

# Parse one client's result file.
sub _read_results {
    my ($path) = @_;
    my %r = (requests => 0, connections => 0,
        failures => ["client wrote no results ($path)"]);
    open(my $fh, '<', $path) or return \%r;
    $r{failures} = [];
    while (my $line = <$fh>) {
        chomp $line;
        if ($line =~ /^(requests|connections) (\d+)\z/) {
            $r{$1} = $2;
        } elsif ($line =~ /^fail (.*)\z/) {
            push @{ $r{failures} }, $1;
        }
    }
    return \%r;
}

# The helper's loop: requests until the stop file appears.
sub _client_loop {
    my ($spec, $stopfile, $out) = @_;
    my %st = (requests => 0, connections => 0, fails => [], sock => undef);
    my $n = 0;
    my $t0 = time;
    while (!-e $stopfile && !Test::Luaproxy::orphaned()) {
        _one_request($spec, \%st, $n++, $t0);
        sleep($spec->{pause} * rand()) if $spec->{pause};
    }
    close $st{sock} if $st{sock};
    open(my $fh, '>', $out) or return;
    print $fh "requests $st{requests}\nconnections $st{connections}\n";
    print $fh "fail $_\n" for @{ $st{fails} };
    close $fh;
    _touch("$out.done");
}

# Create an empty file.
sub _touch {
    my ($path) = @_;
    open(my $fh, '>', $path) or return;
    close $fh;
}

# Send request number $n (on the kept connection or a new one), read and
# check the response, record any failure.
sub _one_request {
    my ($spec, $st, $n, $t0) = @_;
    my $path = "$spec->{path}/$n";
    my $when = sprintf('%.3fs', time - $t0);
    my $fail = sub {
        push @{ $st->{fails} }, "$_[0] ($path at $when)";
        close $st->{sock} if $st->{sock};
        $st->{sock} = undef;
    };
    $st->{requests}++;
    if (!$st->{sock}) {
        $st->{sock} = IO::Socket::IP->new(PeerHost => '127.0.0.1',
            PeerPort => $spec->{port}, Proto => 'tcp', Timeout => 3);
        return $fail->('connect: ' . ($! == ECONNREFUSED ? 'refused' : "$!"))
            unless $st->{sock};
        $st->{connections}++;
        $st->{sock}->blocking(0);
    }
    my $s = $st->{sock};
    my $req = http_request_bytes('GET', $path,
        keepalive => $spec->{keepalive});
    return $fail->("write: $!") unless _write_all($s, $req);
    my ($buf, $resp, $closed, $err) = ('', undef, 0, undef);
    my $sel = IO::Select->new($s);
    my $deadline = time + 5;
    while (!$resp) {
        my $wait = $deadline - time;
        return $fail->('timeout') if $wait <= 0 || !$sel->can_read($wait);
        my $r = sysread($s, $buf, 65536, length $buf);
        next if !defined $r && ($! == EAGAIN || $! == EINTR);
        $err = $! == ECONNRESET ? 'reset' : "read: $!" unless defined $r;
        $closed = 1 unless $r;
        ($resp) = parse_response($buf, $closed);
        last if $closed;
    }
    return $fail->($err // 'truncated (' . length($buf) . ' bytes)')
        unless $resp;
    my $want = $spec->{expect}->($path);
    return $fail->("status $resp->{status}") if $resp->{status} != 200;
    return $fail->('wrong body') if $resp->{body} ne $want;
    my $close = !$spec->{keepalive} || $closed
        || ($resp->{headers}{connection} // '') =~ /close/i;
    if ($close) {
        close $s;
        $st->{sock} = undef;
    }
}

# Write every byte to the non-blocking socket, bounded to 5 s.
sub _write_all {
    my ($s, $bytes) = @_;
    my $sel = IO::Select->new($s);
    my $deadline = time + 5;
    while (length $bytes) {
        return 0 if time > $deadline;
        my $n = syswrite($s, $bytes);
        if (defined $n) {
            substr($bytes, 0, $n, '');
        } elsif ($! == EAGAIN || $! == EINTR) {
            $sel->can_write(0.1);
        } else {
            return 0;
        }
    }
    return 1;
}

1;

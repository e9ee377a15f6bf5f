#!/usr/bin/perl
# The HTTP class and the TXN members the other Lua tests leave out,
# through real requests: req_get_headers/res_get_headers (lower-case
# names, values indexed from 0), add/del/set/rep_header and rep_value on
# both sides, req_set_method/path/query/uri, res_set_status with and
# without a reason, actions of the http-res and http-after-res facilities
# (the latter also on a reply the proxy makes itself), txn.sc converters,
# txn:done() with and without a reply, set_loglevel, and the accepted
# no-ops set_tos/set_mark/set_priority_class/set_priority_offset.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Luaproxy qw(syslog_sink syslog_next);

my $t = Test::Luaproxy->new;
my $udp = syslog_sink();
my $uport = $udp->sockport;
$t->write_file('http.lua', <<'EOF2');
local function dump(h)
  local names = {}
  for name in pairs(h) do names[#names + 1] = name end
  table.sort(names)
  local out = {}
  for _, name in ipairs(names) do
    local v = {}
    for i = 0, #h[name] do v[#v + 1] = h[name][i] end
    out[#out + 1] = name .. "=" .. table.concat(v, ",")
  end
  return table.concat(out, ";")
end

core.register_action("req_edit", { "http-req" }, function(txn)
  local h = txn.http:req_get_headers()
  txn.http:req_set_header("X-Seen", dump({ ["x-a"] = h["x-a"], ["x-b"] = h["x-b"] }))
  txn.http:req_add_header("X-Added", "1")
  txn.http:req_add_header("X-Added", "2")
  txn.http:req_del_header("X-Secret")
  txn.http:req_rep_header("X-Rep", "^(\\w+)-old$", "\\1-new")
  txn.http:req_rep_value("X-Vals", "^b$", "B")
  local p = txn.sf:path()
  if p == "/method" then txn.http:req_set_method("PUT") end
  if p == "/path" then txn.http:req_set_path("/other") end
  if p == "/query" then txn.http:req_set_query("q=2") end
  if p == "/uri" then txn.http:req_set_uri("/whole?w=1") end
  txn:set_tos(0)
  txn:set_mark(0)
  txn:set_priority_class(1)
  txn:set_priority_offset(10)
end)

core.register_action("res_edit", { "http-res" }, function(txn)
  local h = txn.http:res_get_headers()
  txn.http:res_set_header("X-Res-Seen", dump({ ["x-o"] = h["x-o"] }))
  txn.http:res_add_header("X-Res-Added", "a")
  txn.http:res_del_header("X-Drop")
  txn.http:res_rep_header("X-O", "^(\\w+)$", "<\\1>")
  txn.http:res_rep_value("X-List", "^y$", "Y")
  txn:set_var("txn.res_ran", "yes")
  local p = txn.sf:path()
  if p == "/status" then txn.http:res_set_status(299) end
  if p == "/reason" then txn.http:res_set_status(202, "Taken Care Of") end
end)

core.register_action("after", { "http-after-res" }, function(txn)
  txn.http:res_add_header("X-After", txn:get_var("txn.res_ran") or "none")
end)

core.register_action("sc", { "http-res" }, function(txn)
  txn.http:res_set_header("X-Sc", txn.sc:length("abcd") .. "/" ..
    type(txn.sc:length("abcd")) .. "/" .. math.type(txn.c:length("abcd")))
end)

core.register_action("finish", { "http-req" }, function(txn)
  local p = txn.sf:path()
  if p == "/done-reply" then
    local r = txn:reply({ status = 403, reason = "Nope",
      headers = { ["content-type"] = { "text/plain" } }, body = "stopped\n" })
    txn:done(r)
  elseif p == "/done" then
    txn:done()
  elseif p == "/quiet" then
    txn:set_loglevel(core.err)
  end
end)
EOF2
$t->write_file_expand('lp.cfg', <<"EOF2");
global
    nbproc 1
    lua-load %%TESTDIR%%/http.lua
defaults
    mode http
    option dontlognull
    timeout connect 1s
    timeout client 3s
    timeout server 3s
frontend fe
    bind 127.0.0.1:%%PORT_8080%%
    log 127.0.0.1:$uport local0
    log-format "L %HU %ST"
    http-request lua.finish
    http-request lua.req_edit
    http-request return status 200 content-type text/plain string local if { path /local }
    http-response lua.res_edit
    http-response lua.sc
    http-after-response lua.after
    default_backend origin
backend origin
    server o1 127.0.0.1:%%PORT_8091%%
EOF2

# The origin echoes the request line and headers, and answers with headers
# for the response side to edit.
$t->http_origin(8091, sub {
    my ($req) = @_;
    return [200, ['content-type' => 'text/plain', 'X-O' => 'orig',
        'X-Drop' => 'd', 'X-List' => 'x, y'],
        "$req->{method} $req->{uri}\n"
        . join('', map { "$_->[0]: $_->[1]\n" } @{ $req->{header_list} })];
});
$t->run;
my $port = $t->port(8080);
$t->plan(27);

my $r = $t->http_get($port, '/p?x=1', headers => ['X-A' => 'one', 'X-A' => 'two',
    'X-B' => 'b1', 'X-Secret' => 's', 'X-Rep' => 'value-old',
    'X-Vals' => 'a, b, c']);
my $b = $r->{body};
like($b, qr/^X-Seen: x-a=one,two;x-b=b1$/mi,
    'req_get_headers: lower-case names, every value from index 0');
like($b, qr/^X-Added: 1\nX-Added: 2$/mi, 'req_add_header appends');
unlike($b, qr/^X-Secret:/mi, 'req_del_header');
like($b, qr/^X-Rep: value-new$/mi, 'req_rep_header with a back reference');
like($b, qr/^X-Vals: a, B, c$/mi, 'req_rep_value on each comma-separated value');
like($b, qr{^GET /p\?x=1\n}, 'request line untouched');
is($r->{headers}{'x-res-seen'}, 'x-o=orig', 'res_get_headers');
is($r->{headers}{'x-res-added'}, 'a', 'res_add_header');
ok(!exists $r->{headers}{'x-drop'}, 'res_del_header');
is($r->{headers}{'x-o'}, '<orig>', 'res_rep_header');
is($r->{headers}{'x-list'}, 'x, Y', 'res_rep_value');
is($r->{headers}{'x-after'}, 'yes',
    'http-after-res action sees what the http-res action set');
is($r->{headers}{'x-sc'}, '4/string/integer',
    'txn.sc converters return strings, txn.c keeps the type');

like($t->http_get($port, '/method')->{body}, qr{^PUT /method\n}, 'req_set_method');
like($t->http_get($port, '/path?k=v')->{body}, qr{^GET /other\?k=v\n},
    'req_set_path keeps the query');
like($t->http_get($port, '/query?k=v')->{body}, qr{^GET /query\?q=2\n},
    'req_set_query');
like($t->http_get($port, '/uri')->{body}, qr{^GET /whole\?w=1\n}, 'req_set_uri');
$r = $t->http_get($port, '/status');
is($r->{status}, 299, 'res_set_status');
$r = $t->http_get($port, '/reason');
is("$r->{status} $r->{reason}", '202 Taken Care Of', 'res_set_status with a reason');

$r = $t->http_get($port, '/local');
is($r->{body}, 'local', 'a reply the proxy makes itself');
is($r->{headers}{'x-after'}, 'none',
    'http-after-res runs on it too (no http-res rule ran)');

$r = $t->http_get($port, '/done-reply');
is("$r->{status} $r->{reason} $r->{body}", "403 Nope stopped\n",
    'txn:done(reply) sends the reply');
is($r->{headers}{'x-after'}, 'none', 'and http-after-res runs on it');
$r = $t->http_get($port, '/done');
ok(!$r->{status}, 'txn:done() without a reply: the client only sees a close');

# set_loglevel(core.err): the line is sent at priority local0.err (131)
syslog_next($udp, 0.5) for 1 .. 10; # the lines of the requests above
$t->http_get($port, '/quiet');
like(syslog_next($udp), qr{^<131>HDR: L /quiet 200$}, 'txn:set_loglevel');
$t->http_get($port, '/p');
like(syslog_next($udp), qr{^<134>HDR: L /p 200$}, 'other requests keep info');
is($t->http_get($port, '/p')->{status}, 200, 'still serving');

# t_stdlib.sh: http against a real server on 127.0.0.1, sh, json, fs, time, log.

test_http_get_post_headers_status() {
	httpd_start
	write h.lua <<LUA
local base = "http://127.0.0.1:$PORT"
local r = http.get(base .. "/hello", { query = { b = "x y&z", a = 1 }, headers = { ["X-Test"] = "yes" } })
print(r.status, r:ok(), r.headers["content-type"], r:json().path, r:json().headers["x-test"])
local p = http.post(base .. "/echo", { json = { n = 1, list = { 2, 3 } } })
print(p.status, p:json().body, p:json().headers["content-type"])
local b = http.put(base .. "/put", { body = "raw text", headers = { ["Content-Type"] = "text/plain" } })
print(b:json().method, b:json().body, b:json().headers["content-type"])
print(http.delete(base .. "/gone"):json().method, http.request{ method = "patch", url = base .. "/p" }:json().method)
local missing = http.get(base .. "/status/404")
print(missing.status, missing:ok())
print(require("http") == http, type(r.time), r.url == base .. "/hello?a=1&b=x%20y%26z")
LUA
	run_us 0 run h.lua
	same "$(sed -n 1p out.txt)" "200	true	application/json	/hello?a=1&b=x%20y%26z	yes"
	same "$(sed -n 2p out.txt)" '200	{"list":[2,3],"n":1}	application/json'
	same "$(sed -n 3p out.txt)" "PUT	raw text	text/plain"
	same "$(sed -n 4p out.txt)" "DELETE	PATCH"
	same "$(sed -n 5p out.txt)" "404	false"
	same "$(sed -n 6p out.txt)" "true	number	true"
	same "$(jq -r 'select(.path == "/echo") | .headers["user-agent"]' httpd.log)" "understudy/0.1.0"
}

test_http_redirect_timeout_refused() {
	httpd_start
	write h.lua <<LUA
local base = "http://127.0.0.1:$PORT"
print(http.get(base .. "/redirect/3").url)
print(http.get(base .. "/redirect/2", { follow = false }).status)
print(pcall(http.get, base .. "/slow/3", { timeout = 0.3 }))
print(pcall(http.get, "http://127.0.0.1:1/nothing-here"))
print(pcall(http.get, "ftp://127.0.0.1/file"))
LUA
	run_us 0 run h.lua
	same "$(sed -n 1p out.txt)" "http://127.0.0.1:$PORT/redirect/0"
	same "$(sed -n 2p out.txt)" "302"
	has "$(sed -n 3p out.txt)" "false	http GET http://127.0.0.1:$PORT/slow/3: "
	has "$(sed -n 3p out.txt)" "timed out"
	has "$(sed -n 4p out.txt)" "false	http GET http://127.0.0.1:1/nothing-here: "
	has "$(sed -n 5p out.txt)" "false	http GET ftp://127.0.0.1/file: "
}

test_http_all_runs_in_parallel_in_order() {
	httpd_start
	write all.lua <<LUA
local base = "http://127.0.0.1:$PORT"
local rs = http.all{ base .. "/slow/1?n=1", { url = base .. "/slow/1?n=2", method = "post", body = "b" }, base .. "/slow/1?n=3" }
for i, r in ipairs(rs) do print(i, r.status, r.url) end
print(pcall(http.all, { base .. "/ok", "http://127.0.0.1:1/refused" }))
LUA
	run_us 0 run all.lua
	same "$(sed -n 1,3p out.txt | cut -f1,2)" "1	200
2	200
3	200"
	has "$(sed -n 2p out.txt)" "n=2"
	has "$(sed -n 4p out.txt)" "false	http GET http://127.0.0.1:1/refused"
	# The server saw the three requests at once: each began before any had ended.
	local last_start first_end
	last_start=$(jq -s '[.[] | select(.path | startswith("/slow")) | .start] | max' httpd.log)
	first_end=$(jq -s '[.[] | select(.path | startswith("/slow")) | .start] | min + 1' httpd.log)
	same "$(jq -n "$last_start < $first_end")" "true"
}

test_sh_run_and_shell() {
	write s.lua <<'LUA'
local r = sh.run({ "printf", "[%s]\n", "two words", "it's \"quoted\"", "$HOME" })
io.write(r.stdout)
print(r.code, #r.stderr)
print(sh("echo $GREETING; echo to-err >&2", { env = { GREETING = "hi" } }).stdout:gsub("\n", ""))
print(sh("cat", { stdin = "fed in" }).stdout, sh("pwd", { cwd = "/" }).stdout:gsub("\n", ""))
local big = sh("head -c 2000000 /dev/zero | tr '\\0' o; head -c 2000000 /dev/zero | tr '\\0' e >&2")
print(#big.stdout, #big.stderr)
local bad = sh("echo partial; echo 'it broke' >&2; exit 3", { check = false })
print(bad.code, bad.stdout:gsub("\n", ""))
print(pcall(sh, "echo out; echo 'went wrong' >&2; exit 4"))
print(pcall(sh, "sleep 10", { timeout = 0.2 }))
print(pcall(sh.run, { "no-such-command-here" }))
print(sh("kill -9 $$", { check = false }).code)
LUA
	run_us 0 run s.lua
	same "$(sed -n 1,3p out.txt)" '[two words]
[it'"'"'s "quoted"]
[$HOME]'
	same "$(sed -n 4p out.txt)" "0	0"
	same "$(sed -n 5p out.txt | cut -f1)" "hi"
	same "$(sed -n 6p out.txt | cut -f1,2)" "fed in	/"
	same "$(sed -n 7p out.txt)" "2000000	2000000"
	same "$(sed -n 8p out.txt | cut -f1,2)" "3	partial"
	same "$(sed -n 9p out.txt)" "false	sh: echo out; echo 'went wrong' >&2; exit 4 exited with 4: went wrong"
	same "$(sed -n 11p out.txt)" "false	sh: sleep 10 timed out after 0.2 s"
	same "$(sed -n 12p out.txt)" "false	sh.run: cannot run no-such-command-here: No such file or directory"
	same "$(sed -n 13p out.txt)" "137"
}

test_json_module() {
	write j.lua <<'LUA'
local v = json.decode('{"b": [1, 2.5, null, {}], "a": "\\u00e9", "e": []}')
print(json.encode(v), v.b[3] == json.null, math.type(v.b[1]), math.type(v.b[2]))
print(json.encode({}), json.encode(json.array()), json.encode({ 1, 2 }), json.encode(3.0), json.encode("x\ty"))
print(pcall(json.decode, '{"a": 1,'))
print(pcall(json.decode, '[1] extra'))
print(pcall(json.encode, { f = print }))
print(pcall(json.encode, 0/0))
LUA
	run_us 0 run j.lua
	same "$(sed -n 1p out.txt)" '{"a":"é","b":[1,2.5,null,{}],"e":[]}	true	integer	float'
	same "$(sed -n 2p out.txt)" '{}	[]	[1,2]	3	"x\ty"'
	has "$(sed -n 3p out.txt)" "false	json.decode: line 1 column"
	has "$(sed -n 4p out.txt)" "false	json.decode: line 1"
	same "$(sed -n 5p out.txt)" "false	json.encode: cannot encode function value at .f"
	same "$(sed -n 6p out.txt)" "false	json.encode: cannot encode number is NaN"
}

test_fs_module() {
	write f.lua <<'LUA'
print(fs.write("data.txt", "first"))
os.execute("chmod 640 data.txt")
print(fs.write("data.txt", "second"), fs.read("data.txt"))
print(fs.exists("data.txt"), fs.exists("nope.txt"))
print(fs.read("nope.txt"))
print(fs.write("no/such/dir/x.txt", "x"))
print(fs.mkdir("a/b/c"), fs.mkdir("a/b/c"), fs.exists("a/b/c"))
fs.write("a/z.txt", "z"); fs.write("a/m.txt", "m")
print(table.concat(fs.list("a"), " "), fs.list("missing"))
print(table.concat(fs.glob("a/*.txt"), " "), #fs.glob("nothing-*.xyz"))
print(fs.remove("a/z.txt"), fs.exists("a/z.txt"), fs.remove("a/z.txt"))
LUA
	run_us 0 run f.lua
	same "$(sed -n 1,2p out.txt)" "true
true	second"
	same "$(stat -c %a data.txt)" "640"
	same "$(sed -n 3p out.txt)" "true	false"
	same "$(sed -n 4p out.txt)" "nil	nope.txt: No such file or directory"
	same "$(sed -n 5p out.txt)" "nil	no/such/dir/x.txt: No such file or directory"
	same "$(sed -n 6p out.txt)" "true	true	true"
	same "$(sed -n 7p out.txt)" "b m.txt z.txt	nil	missing: No such file or directory"
	same "$(sed -n 8p out.txt)" "a/m.txt a/z.txt	0"
	same "$(sed -n 9p out.txt)" "true	false	nil	a/z.txt: No such file or directory"
	same "$(ls | grep -c tmp)" "0"
}

test_time_and_log_are_recorded() {
	write t.lua <<'LUA'
local t0 = time.clock()
time.sleep(0.05)
print(time.now():match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$") ~= nil, time.clock() > t0)
auto("fetch", function() return 1 end)
log.info("fetched", 3, "rows")
log.warn("slow answer")
log.error({}, nil)
LUA
	run_us 0 run t.lua
	same "$OUT" "true	true"
	has "$ERR" "[info] fetched 3 rows"
	has "$ERR" "[warn] slow answer"
	same "$(sql "SELECT group_concat(seq || ':' || level || ':' || message, '|') FROM (SELECT * FROM logs ORDER BY id) AS t")" \
		"1:info:fetched 3 rows|1:warn:slow answer|1:error:$(sql "SELECT message FROM logs WHERE level = 'error'")"
	has "$(sql "SELECT message FROM logs WHERE level = 'error'")" "table: 0x"
	run_us 0 show 1 --json
	same "$(jq -c '[.logs[] | [.level, .message, .seq]][0:2]' <<<"$OUT")" '[["info","fetched 3 rows",1],["warn","slow answer",1]]'
	run_us 0 show 1
	has "$OUT" "[warn] after step 1: slow answer"
}

test_language_server_definitions_cover_every_function() {
	run_us 0 check "$TESTS/../docs/understudy.lua"
	write list.lua <<'LUA'
for _, m in ipairs({ "http", "json", "sh", "fs", "time", "log" }) do
  local names = {}
  for k, v in pairs(_G[m]) do if type(v) == "function" then names[#names + 1] = m .. "." .. k end end
  table.sort(names)
  print(table.concat(names, "\n"))
end
LUA
	run_us 0 run list.lua
	local f missing=""
	for f in $OUT manual auto; do
		grep -q "^function $f(" "$TESTS/../docs/understudy.lua" || missing="$missing $f"
	done
	same "$missing" ""
	for f in $OUT; do
		grep -q -e "\`$f(" -e "\`$f{" "$TESTS/../docs/stdlib.md" || missing="$missing $f"
	done
	same "$missing" ""
}

test_http_keeps_connections_alive() {
	httpd_start
	write ka.lua <<LUA
for i = 1, 5 do assert(http.get("http://127.0.0.1:$PORT/n" .. i):ok()) end
LUA
	run_us 0 run ka.lua
	same "$(wc -l <httpd.log)" "5"
	same "$(jq -s '[.[] | .client] | unique | length' httpd.log)" "1"
}

test_http_insecure_warns() {
	httpd_start
	write in.lua <<LUA
print(http.get("http://127.0.0.1:$PORT/x", { insecure = true }).status)
LUA
	run_us 0 run in.lua
	same "$OUT" "200"
	has "$ERR" "warning: http GET http://127.0.0.1:$PORT/x: TLS certificates are not checked"
}

# t_serve.sh: understudy serve: the door (tokens, Host, origins, sizes), the JSON API, the pages.

TOKEN=alice-token-0123456789

# serve_start [ARG...]: serve this test's history on a free port; sets $BASE; stopped when the test ends.
serve_start() {
	printf '# who answers\nalice %s\nbob bob-token-0123456789\n' "$TOKEN" >tokens
	chmod 600 tokens
	"$UNDERSTUDY" serve --listen 127.0.0.1:0 --tokens tokens "$@" 2>serve.err &
	SERVE_PID=$!
	at_end "kill $SERVE_PID 2>/dev/null"
	eventually grep -q "understudy: open " serve.err
	BASE=$(grep -o 'on http://127.0.0.1:[0-9]*' serve.err | head -1)
	BASE=${BASE#on }
}

# api METHOD PATH [CURL ARG...]: a request with alice's token; the body in $BODY, the status in $STATUS.
api() {
	local method=$1 path=$2
	shift 2
	STATUS=$(curl -s -o body.txt -w '%{http_code}' -X "$method" -H "Authorization: Bearer $TOKEN" "$@" "$BASE$path")
	BODY=$(cat body.txt)
}

release_waits() {
	write release.lua <<'LUA'
local ok = manual("sign-off", "Metrics look right?", { type = "boolean", inputs = { accuracy = 0.91 } })
local env = manual("target", "Deploy where?", {
  choices = { "staging", "prod" },
  validate = function(v) if v == "prod" then return nil, "not on a Friday" end return true end,
})
print("done", ok, env)
LUA
	runner_start release.lua
	eventually grep -q "understudy answer 1 'sign-off'" runner.err
}

test_serve_door_refuses_what_it_must() {
	release_waits
	serve_start
	# No token, a wrong one: 401.
	same "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/waiting")" 401
	same "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope-nope-nope-nope' "$BASE/api/waiting")" 401
	# Another Host (DNS rebinding): 421.
	api GET /api/waiting -H 'Host: evil.example:80'
	same "$STATUS" 421
	# The link's token becomes a cookie, and leaves the address.
	curl -s -D headers.txt -o /dev/null "$BASE/?token=$TOKEN"
	has "$(cat headers.txt)" "303 See Other"
	has "$(cat headers.txt)" "Set-Cookie: understudy_token=$TOKEN; HttpOnly; SameSite=Strict; Path=/"
	has "$(cat headers.txt)" "Location: /"
	# Every answer carries the headers.
	curl -s -D headers.txt -o page.html -H "Cookie: understudy_token=$TOKEN" "$BASE/"
	has "$(cat headers.txt)" "Content-Security-Policy: default-src 'none'"
	has "$(cat headers.txt)" "X-Content-Type-Options: nosniff"
	has "$(cat headers.txt)" "Cache-Control: no-store"
	has "$(cat page.html)" "sign-off"
	local form
	form=$(grep -o 'name="form" value="[0-9a-f]*"' page.html | head -1 | sed 's/.*value="//; s/"//')
	[ ${#form} = 64 ] || fail "no form token in the page"
	# A cookie's POST from another site, or that does not say where from, or without the form token: 403.
	local post=(-s -o /dev/null -w '%{http_code}' -X POST -H "Cookie: understudy_token=$TOKEN")
	same "$(curl "${post[@]}" -H "Origin: http://evil.example" -d "form=$form&run=1&step=sign-off&value=y" "$BASE/answer")" 403
	same "$(curl "${post[@]}" -H "Sec-Fetch-Site: cross-site" -d "form=$form&run=1&step=sign-off&value=y" "$BASE/answer")" 403
	same "$(curl "${post[@]}" -d "form=$form&run=1&step=sign-off&value=y" "$BASE/answer")" 403
	same "$(curl "${post[@]}" -H "Origin: $BASE" -d "form=wrong&run=1&step=sign-off&value=y" "$BASE/answer")" 403
	# A huge body: 413, announced or not.
	head -c 200000 /dev/zero | tr '\0' a >big.txt
	api POST /api/answer --data-binary @big.txt
	same "$STATUS" 413
	api POST /api/answer -H 'Transfer-Encoding: chunked' --data-binary @big.txt
	same "$STATUS" 413
	# Nothing of that reached the runner.
	same "$(sql "SELECT count(*) FROM offers")" 0
	# The page's own form, with its token: answered, as web, by the token's name.
	same "$(curl "${post[@]}" -H "Origin: $BASE" --data-urlencode "form=$form" -d "run=1&step=sign-off&value=y" \
		--data-urlencode "note=from the page" "$BASE/answer")" 200
	same "$(sql "SELECT how, operator, output, note FROM steps WHERE name = 'sign-off'")" "web|alice|true|from the page"
	kill $RUNNER_PID
}

test_serve_api_answers_and_reads() {
	release_waits
	serve_start
	api GET /api/waiting
	same "$STATUS" 200
	same "$(jq -c '[.[] | [.run, .step, .type]]' <<<"$BODY")" '[[1,"sign-off","boolean"]]'
	api POST /api/answer -H 'Content-Type: application/json' -d '{"run":1,"step":"sign-off","value":true,"note":"ok"}'
	same "$STATUS" 200
	same "$(jq -c . <<<"$BODY")" '{"run":1,"status":"taken","step":"sign-off"}'
	# The second answer: 409, saying who was first.
	api POST /api/answer -H 'Content-Type: application/json' -d '{"run":1,"step":"sign-off","value":"n"}'
	same "$STATUS" 409
	has "$(jq -r .error <<<"$BODY")" "already answered by alice at "
	# validate's refusal reaches the answerer: 422 with the reason.
	eventually grep -q "understudy answer 1 'target'" runner.err
	api POST /api/answer -H 'Content-Type: application/json' -d '{"run":1,"step":"target","value":"prod"}'
	same "$STATUS" 422
	same "$(jq -r .error <<<"$BODY")" "not on a Friday"
	api POST /api/answer -H 'Content-Type: application/json' -d '{"run":1,"step":"nothing","value":"x"}'
	same "$STATUS" 404
	api POST /api/answer -H 'Content-Type: application/json' -d '{"run":"x","step":"target","value":"x"}'
	same "$STATUS" 400
	api POST /api/answer -d 'run=1&step=target&value=staging'
	same "$STATUS" 200
	wait $RUNNER_PID || fail "the runner failed: $(cat runner.err)"
	has "$(cat runner.err)" "answered by alice (web)"
	same "$(sql "SELECT name, how, operator FROM steps ORDER BY seq")" "sign-off|web|alice
target|web|alice"
	# The reads: the same shapes as --json.
	api GET /api/runs
	same "$(jq -c '[.[0].id, .[0].status, .[0].steps]' <<<"$BODY")" '[1,"ok",2]'
	api GET /api/runs/1
	same "$(jq -c '[.id, .steps[0].how, .steps[0].operator, .steps[0].note]' <<<"$BODY")" '[1,"web","alice","ok"]'
	api GET /api/runs/9
	same "$STATUS" 404
	api GET /api/report
	same "$(jq -r '.[0].pipeline' <<<"$BODY")" release
	run_us 0 report --json
	same "$(jq -c . <<<"$BODY")" "$(jq -c . <<<"$OUT")"
	api GET /api/nothing
	same "$STATUS" 404
}

test_serve_pages_read_on_a_phone() {
	write p.lua <<'LUA'
for i = 1, 6 do
  manual("label", "Cat or dog?", { choices = { "cat", "dog" }, inputs = { image = i % 2 },
    candidate = function(inputs) return inputs.image == 1 and "cat" or "dog" end })
end
LUA
	run_us 0 run p.lua --answer label=cat
	serve_start
	api GET /runs
	same "$STATUS" 200
	has "$BODY" '<a href="/runs/1">1</a>'
	has "$BODY" 'name="viewport"'
	api GET /runs/1
	has "$BODY" "label #6"
	api GET "/report?pipeline=p"
	same "$STATUS" 200
	has "$BODY" "Human time per step per week"
	has "$BODY" "Answers to label"
	has "$BODY" "Candidate agreement: label"
	same "$(grep -o '<svg' body.txt | wc -l)" 3
	lacks "$BODY" "<script>"
	api GET /report
	has "$BODY" 'href="/report?pipeline=p"'
	api GET /style.css
	has "$BODY" "max-width"
	api GET /app.js
	has "$BODY" "/api/waiting"
	api GET /nowhere
	same "$STATUS" 404
}

test_serve_takes_a_hundred_reads_at_once() {
	write p.lua <<'LUA'
manual("a", "?", { type = "number" })
LUA
	run_us 0 run p.lua --answer a=1
	serve_start
	seq 100 | xargs -P 100 -I{} curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $TOKEN" \
		"$BASE/api/runs" >codes.txt
	same "$(sort codes.txt | uniq -c | tr -s ' ')" " 100 200"
}

test_serve_says_what_is_wrong_with_its_words() {
	run_us 3 serve --listen 127.0.0.1:0
	has "$ERR" "no history here yet"
	run_us 0 run <(echo 'auto("a", function() return 1 end)') --name p
	run_us 2 serve --tokens missing.txt
	has "$ERR" "serve: --tokens missing.txt: No such file or directory"
	printf 'alice short\n' >tokens
	run_us 2 serve --tokens tokens
	has "$ERR" "serve: tokens:1: a token needs at least 16 characters"
	printf '# none\n\n' >tokens
	run_us 2 serve --tokens tokens
	has "$ERR" "holds no NAME TOKEN line"
	run_us 2 serve --listen 8765
	has "$ERR" "--listen must be ADDR:PORT"
	run_us 2 serve --url ftp://x
	has "$ERR" "--url must be http://HOST"
	run_us 2 serve extra
	has "$ERR" "usage: understudy serve"
}

test_serve_accepts_the_host_of_its_url() {
	write p.lua <<'LUA'
auto("a", function() return 1 end)
LUA
	run_us 0 run p.lua
	serve_start --url https://understudy.example.com/
	has "$(cat serve.err)" "open https://understudy.example.com/ with a token from tokens (2 names)"
	api GET /api/runs -H 'Host: understudy.example.com'
	same "$STATUS" 200
	api POST /api/answer -H 'Host: understudy.example.com' -H 'Origin: https://understudy.example.com' \
		-d 'run=1&step=a&value=1'
	same "$STATUS" 404
	api POST /api/answer -H 'Host: understudy.example.com' -H 'Origin: http://understudy.example.com' \
		-d 'run=1&step=a&value=1'
	same "$STATUS" 403
}

test_serve_a_phone_answers_in_a_real_browser() {
	release_waits
	serve_start
	/usr/bin/python3 "$TESTS/browser.py" "$BASE/?token=$TOKEN" sign-off Approve "numbers checked" shot.png \
		>browser.txt 2>browser.err || fail "the browser failed: $(cat browser.err browser.txt)"
	# The link's token went into a cookie, the page fits the phone, and the form shows without scrolling.
	same "$(grep '^url ' browser.txt)" "url $BASE/"
	same "$(grep '^width ' browser.txt)" "width 412"
	same "$(grep '^scroll-width ' browser.txt)" "scroll-width 412"
	same "$(grep '^form-visible ' browser.txt)" "form-visible True"
	has "$(grep '^flash ' browser.txt)" 'Answered "sign-off" of run 1: the pipeline goes on.'
	# A screenshot at 412x892.
	same "$(/usr/bin/python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print(*struct.unpack(">II", d[16:24]))' shot.png)" "412 892"
	# The runner took it: recorded as web, by the token's name, with the note.
	eventually grep -q "answered by alice (web)" runner.err
	same "$(sql "SELECT how, operator, output, note FROM steps WHERE name = 'sign-off'")" "web|alice|true|numbers checked"
	kill $RUNNER_PID
}

test_pg_serve_and_a_waiting_runner_outlive_lost_connections() {
	release_waits
	serve_start
	api GET /api/waiting
	same "$(jq length <<<"$BODY")" 1
	eventually [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN understudy_offers'")" = 1 ]
	# Every connection of the runner and of serve is ended by the server.
	same "$(sql "SELECT count(*) > 2 FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = 'understudy' AND pid <> pg_backend_pid()) AS t")" 1
	api GET /api/waiting
	same "$STATUS" 200
	same "$(jq length <<<"$BODY")" 1
	api POST /api/answer -d 'run=1&step=sign-off&value=y'
	same "$STATUS" 200
	eventually grep -q "understudy answer 1 'target'" runner.err
	api POST /api/answer -d 'run=1&step=target&value=staging'
	same "$STATUS" 200
	wait $RUNNER_PID || fail "the runner failed: $(cat runner.err)"
	same "$(sql "SELECT how, operator FROM steps ORDER BY seq")" "web|alice
web|alice"
}

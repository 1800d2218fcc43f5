# t_docs.sh: the README's promises: its commands work, its packages are CI's.

# The first fenced command of the README, as written.
readme_first_command() {
	awk '/^```sh$/ { getline; print; exit }' "$TESTS/../README.md"
}

test_readme_packages_are_the_ci_packages() {
	local readme ci
	readme=$(readme_first_command | grep -o 'apt-get install -y [^&]*' | tr ' ' '\n' | grep -v -e '^apt-get$' -e '^install$' -e '^-y$' -e '^$' | sort)
	ci=$(sed -n '/apt-get install/,/^[^\t]/p' "$TESTS/../.ci/run" | tr ' \t\\' '\n\n\n' | grep -v -e '^apt-get$' -e '^install$' -e '^-y$' -e '^--no-install-recommends$' -e '^$' -e '^make$' -e '^test$' | sort)
	[ -n "$readme" ] || fail "no apt-get install in the README's first command"
	same "$readme" "$ci"
}

test_readme_first_command_needs_no_sudo() {
	# A root shell in a fresh Debian container has no sudo: the command must not need it.
	local cmd
	cmd=$(readme_first_command)
	case $cmd in sudo\ *|*"&& sudo "*) fail "the README's first command needs sudo: $cmd" ;; esac
	has "$cmd" 'sudo=$(command -v sudo); $sudo apt-get update && $sudo apt-get install -y '
	# Its apt-get part, with apt-get itself replaced, runs where there is no sudo.
	mkdir -p fakebin
	printf '#!/bin/sh\necho "apt-get $*" >>"%s/apt.log"\n' "$PWD" >fakebin/apt-get
	chmod +x fakebin/apt-get
	(PATH="$PWD/fakebin"; eval "${cmd%% && make*}") || fail "the install part failed"   # no sudo on this PATH
	has "$(cat apt.log)" "apt-get update"
	has "$(cat apt.log)" "apt-get install -y build-essential"
}

test_readme_example_pipeline_runs() {
	local cmd
	cmd=$(readme_first_command | grep -o '\./understudy run .*')
	[ -n "$cmd" ] || fail "the README's first command runs no example"
	(cd "$TESTS/.." && eval "${cmd/.\/understudy/\"\$UNDERSTUDY\"}") >out.txt 2>err.txt || fail "exit $?: $(cat err.txt)"
	same "$(cat out.txt)" "model 1.4 serving on prod"
	same "$(sql "SELECT group_concat(name || ':' || how, ' ') FROM (SELECT * FROM steps ORDER BY id) AS t")" \
		"train:run evaluate:run sign-off:flag target:flag deploy:run"
}

# Times and dates vary from run to run; spaces with them. Everything else must match.
normalise() {
	sed -E 's/[0-9]+(\.[0-9]+)? (ms|s|min|h)\b/TIME/g; s/[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9:.]+Z?/DATE/g; s/ +/ /g; s/ $//'
}

test_readme_console_blocks_are_real_output() {
	cp -r "$TESTS/../examples" .
	mkdir -p bin && ln -s "$UNDERSTUDY" bin/understudy
	awk '/^```console$/ { on = 1; next } /^```$/ { on = 0 } on' "$TESTS/../README.md" >tour.txt
	[ -s tour.txt ] || fail "the README has no console block"
	local cmd="" n=0
	: >expected.txt
	while IFS= read -r line; do
		if [[ $line == '$ '* ]]; then
			if [ -n "$cmd" ]; then check_tour_command "$cmd"; fi
			cmd=${line#\$ }
			: >expected.txt
			n=$((n + 1))
		else
			printf '%s\n' "$line" >>expected.txt
		fi
	done <tour.txt
	check_tour_command "$cmd"
	[ "$n" -ge 4 ] || fail "only $n commands in the tour"
}

check_tour_command() {
	PATH="$PWD/bin:$PATH" bash -c "$1" >got.txt 2>/dev/null || fail "README command failed: $1"
	same "$(normalise <got.txt)" "$(normalise <expected.txt)"
}

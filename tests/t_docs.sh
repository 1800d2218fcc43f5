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

test_readme_example_pipeline_runs() {
	local cmd
	cmd=$(readme_first_command | grep -o '\./understudy run .*')
	[ -n "$cmd" ] || fail "the README's first command runs no example"
	(cd "$TESTS/.." && eval "${cmd/.\/understudy/\"\$UNDERSTUDY\"}") >out.txt 2>err.txt || fail "exit $?: $(cat err.txt)"
	same "$(cat out.txt)" "model 1.4 serving on staging"
	same "$(sql "SELECT group_concat(name || ':' || how, ' ') FROM (SELECT * FROM steps ORDER BY id)")" \
		"evaluate:run sign-off:flag target:flag deploy:run"
}

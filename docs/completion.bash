# docs/completion.bash: bash completion for understudy: commands, options,
# scripts, pipelines and step names (read from the history with `understudy names`).
# Installed by make install into share/bash-completion/completions/understudy.

_understudy() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local commands="run resume repl check runs show history report suggest export backup copy waiting answer serve names doc help"
	local options="--db --answer --answers --operator --name --no-trust --force --json --min-runs --since --seed --csv --from --to --append --wait --note --listen --tokens --url --limit --all --quiet --verbose --dry-run --out --html --dates --help --version"
	local cmd="" db=() args=() i w
	COMPREPLY=()
	case $prev in
	--db | --answers | --from | --to | --tokens | --out) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--answer | --operator | --name | --min-runs | --since | --seed | --note | --listen | --url | --limit) return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$options" -- "$cur"))
		return
	fi
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--db) db=(--db "${COMP_WORDS[i + 1]}"); ((i++)); continue ;;
		--answer | --answers | --operator | --name | --min-runs | --since | --seed | --from | --to | --note | --listen | --tokens | --url | --limit | --out) ((i++)); continue ;;
		--) break ;;
		-*) continue ;;
		esac
		if [[ -z $cmd ]]; then cmd=$w; else args+=("$w"); fi
	done
	case $cmd in
	"") COMPREPLY=($(compgen -W "$commands" -- "$cur") $(compgen -f -X '!*.lua' -- "$cur")) ;;
	run | check | repl) COMPREPLY=($(compgen -f -X '!*.lua' -- "$cur") $(compgen -d -- "$cur")) ;;
	doc) [[ ${#args[@]} -eq 0 ]] && COMPREPLY=($(compgen -W "$(understudy names "${db[@]}" 2>/dev/null)" -- "$cur") $(compgen -f -X '!*.lua' -- "$cur") $(compgen -d -- "$cur")) ;;
	backup) [[ ${#args[@]} -eq 0 ]] && COMPREPLY=($(compgen -f -- "$cur")) ;;
	runs | report | export | names | waiting)
		[[ ${#args[@]} -eq 0 ]] && COMPREPLY=($(compgen -W "$(understudy names "${db[@]}" 2>/dev/null)" -- "$cur")) ;;
	history | suggest)
		if [[ ${#args[@]} -eq 0 ]]; then
			COMPREPLY=($(compgen -W "$(understudy names "${db[@]}" 2>/dev/null)" -- "$cur"))
		elif [[ ${#args[@]} -eq 1 ]]; then
			local IFS=$'\n'
			COMPREPLY=($(compgen -W "$(understudy names "${args[0]}" "${db[@]}" 2>/dev/null)" -- "$cur"))
		fi ;;
	help) COMPREPLY=($(compgen -W "$commands" -- "$cur")) ;;
	esac
}
complete -F _understudy understudy

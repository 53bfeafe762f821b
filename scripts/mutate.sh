#!/usr/bin/env bash
# `make mutate`: proves the suite catches the defects it guards against. Each one-line mutation of
# scripts/mutations.txt is applied alone to a scratch copy of the working tree, the suite is run on it, and the
# mutation is "killed" when the suite fails, "survived" when it passes. Prints one line per mutation, a Markdown
# table for docs/RELIABILITY.md, and a last line "N killed, M survived"; exits 1 if any survived (or did not build).
#
#   scripts/mutate.sh                  every mutation, the whole `swift test` each time (long: about 15 x 2-3 min)
#   scripts/mutate.sh NAME...          only these mutations
#   scripts/mutate.sh --check          only check that every mutation still applies (no build; part of make test)
#   scripts/mutate.sh --list           the mutations' names
#   MUTATE_QUICK=1                     run only each mutation's `suites:` instead of the whole suite (faster, weaker:
#                                      it does not show that the rest of the suite would catch it)
#   MUTATE_DIR=DIR                     the scratch folder (default $TMPDIR/b1cache-mutate); its .build is kept, so
#                                      later runs build incrementally
#   MUTATE_LIST=FILE                   another list than scripts/mutations.txt
#   MUTATE_SUITE_TIMEOUT=SECONDS       a suite run past this is stopped and the mutation counted killed (timeout);
#                                      default 1500, above the suite's own limits, which should fail it first
#
# The mutated copy is the working tree as it is (tracked and untracked files, not ignored ones), built in its own
# .build; the repository itself is never changed. Only the Swift suite runs on a mutation: the reference server's
# own tests and the fuzzer test no b1cache code that a mutation touches.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
list=${MUTATE_LIST:-scripts/mutations.txt}

# Prints the mutations as records: name<US>file<US>mode<US>text<US>replacement<US>suites<US>breaks, one per line.
parse() {
    python3 - "$list" <<'EOF'
import sys
blocks, current = [], {}
for number, raw in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    line = raw.rstrip("\n")
    if line.startswith("#"):
        continue
    if not line.strip():
        if current:
            blocks.append(current)
        current = {}
        continue
    key, sep, value = line.partition(":")
    if not sep or key not in ("name", "breaks", "file", "find", "line", "replace", "suites"):
        sys.exit(f"mutate: {sys.argv[1]}:{number}: expected 'key: value' with key name, breaks, file, find, line, "
                 f"replace or suites, got {line!r}")
    current[key] = value[1:] if value.startswith(" ") else value
if current:
    blocks.append(current)
names = set()
for block in blocks:
    name = block.get("name", "?")
    missing = [k for k in ("name", "file", "replace") if k not in block]
    if missing or ("find" in block) == ("line" in block):
        sys.exit(f"mutate: mutation {name}: needs name, file, replace and exactly one of find or line")
    if name in names:
        sys.exit(f"mutate: mutation {name} is listed twice")
    names.add(name)
    mode = "find" if "find" in block else "line"
    print("\x1f".join([name, block["file"], mode, block[mode], block["replace"], block.get("suites", ""),
                       block.get("breaks", "")]))
EOF
}

# apply ROOT NAME FILE MODE TEXT REPLACEMENT: changes ROOT/FILE; fails loudly unless TEXT matches exactly one line.
apply() {
    python3 - "$@" <<'EOF'
import sys
root, name, file, mode, text, replacement = sys.argv[1:7]
path = f"{root}/{file}"
try:
    lines = open(path, encoding="utf-8").read().split("\n")
except OSError as error:
    sys.exit(f"mutate: mutation {name}: cannot read {file}: {error.strerror}")
if mode == "find":
    hits = [i for i, line in enumerate(lines) if text in line]
else:
    hits = [i for i, line in enumerate(lines) if line.strip() == text.strip()]
if len(hits) != 1:
    where = ", ".join(str(i + 1) for i in hits) or "none"
    sys.exit(f"mutate: mutation {name}: {mode} {text!r} must match exactly one line of {file}, matches: {where}. "
             f"The code changed: update scripts/mutations.txt.")
i = hits[0]
if mode == "find":
    if lines[i].count(text) != 1:
        sys.exit(f"mutate: mutation {name}: {text!r} occurs more than once in line {i + 1} of {file}")
    lines[i] = lines[i].replace(text, replacement)
else:
    indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
    lines[i] = indent + replacement if replacement else ""
open(path, "w", encoding="utf-8").write("\n".join(lines))
EOF
}

# Everything below runs from main, which bash reads whole before running it: an edit of this file while a long
# run goes on (say, a git checkout) cannot change what the run does next.
main() {
records=$(parse) || exit 1
mode=run
selected=()
for argument in "$@"; do
    case $argument in
        --check) mode=check ;;
        --list) mode=list ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        -*) echo "mutate: unknown option $argument (see --help)" >&2; exit 2 ;;
        *) selected+=("$argument") ;;
    esac
done

mutations=()
while IFS= read -r record; do
    name=${record%%$'\x1f'*}
    if [ ${#selected[@]} -gt 0 ]; then
        keep=0
        for wanted in "${selected[@]}"; do [ "$wanted" = "$name" ] && keep=1; done
        [ $keep = 1 ] || continue
    fi
    mutations+=("$record")
done <<<"$records"
if [ ${#selected[@]} -gt 0 ] && [ ${#mutations[@]} -ne ${#selected[@]} ]; then
    echo "mutate: unknown mutation name among: ${selected[*]} (see --list)" >&2
    exit 2
fi

if [ $mode = list ]; then
    for record in "${mutations[@]}"; do echo "${record%%$'\x1f'*}"; done
    exit 0
fi

# Every mutation must still apply to the sources as they are, whatever is run next.
scratch_check=$(mktemp -d "${TMPDIR:-/tmp}/b1cache-mutate-check.XXXXXX")
trap 'rm -rf "$scratch_check"' EXIT
rot=0
for record in "${mutations[@]}"; do
    IFS=$'\x1f' read -r name file kind text replacement suites breaks <<<"$record"
    mkdir -p "$scratch_check/$(dirname "$file")"
    cp "$file" "$scratch_check/$file" 2>/dev/null || { echo "mutate: mutation $name: no file $file" >&2; rot=1; continue; }
    if ! apply "$scratch_check" "$name" "$file" "$kind" "$text" "$replacement"; then
        rot=1
    elif cmp -s "$file" "$scratch_check/$file"; then
        echo "mutate: mutation $name changes nothing in $file" >&2
        rot=1
    fi
done
if [ $rot != 0 ]; then exit 1; fi
if [ $mode = check ]; then
    echo "mutate: all ${#mutations[@]} mutations apply"
    exit 0
fi

scratch=${MUTATE_DIR:-${TMPDIR:-/tmp}/b1cache-mutate}
copy=$scratch/repo
mkdir -p "$copy"
exec 9>"$scratch/lock"
if command -v flock >/dev/null 2>&1 && ! flock -n 9; then
    echo "mutate: another make mutate uses $scratch (set MUTATE_DIR for another one)" >&2
    exit 1
fi
# A fresh copy of the working tree, keeping the copy's .build for incremental builds.
find "$copy" -mindepth 1 -maxdepth 1 ! -name .build -exec rm -rf {} +
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' path; do
    [ -e "$path" ] && printf '%s\0' "$path"
done | tar --null -T - -cf - | tar -xf - -C "$copy"
logs=$scratch/logs
rm -rf "$logs" && mkdir -p "$logs"
timeout_command=()
# --foreground: swift test stays in this process group, so Ctrl-C reaches it.
timeout --foreground --kill-after=30 5 true >/dev/null 2>&1 \
    && timeout_command=(timeout --foreground --kill-after=30 "${MUTATE_SUITE_TIMEOUT:-1500}")

# run_suite LOG [FILTER]: builds the copy and runs the Swift suite; 0 passed, 1 failed, 2 did not build, 3 timed out.
run_suite() {
    local log=$1 filter=${2:-}
    (cd "$copy" && swift build --build-tests) >"$log" 2>&1 || return 2
    local arguments=()
    [ -n "$filter" ] && arguments=(--filter "$filter")
    (cd "$copy" && B1CACHE_BIN="$copy/.build/debug/b1cache" "${timeout_command[@]}" swift test "${arguments[@]}") \
        >>"$log" 2>&1
    local status=$?
    [ $status = 0 ] && return 0
    [ $status = 124 ] || [ $status = 137 ] && return 3
    return 1
}

# The tests that failed, from a log (at most three names).
failed_tests() {
    grep -oE '✘ Test [A-Za-z0-9_]+\(' "$1" | sed -E 's/✘ Test //; s/\($//' | awk '!seen[$0]++' | head -n 3 | paste -sd ' ' -
}

started=$(date +%s)
echo "mutate: ${#mutations[@]} mutations; scratch copy $copy; $([ "${MUTATE_QUICK:-0}" = 1 ] && echo "each mutation's own suites (MUTATE_QUICK=1)" || echo "the whole swift test for each")"
echo "mutate: baseline (no mutation) ..."
run_suite "$logs/baseline.log"
baseline=$?
if [ $baseline != 0 ]; then
    echo "mutate: the suite does not pass without a mutation (status $baseline): see $logs/baseline.log" >&2
    exit 1
fi
echo "mutate: baseline passed in $(( $(date +%s) - started )) s"

killed=0 survived=0 broken=0
table="| mutation | breaks | file | result | caught by |
|---|---|---|---|---|"
for record in "${mutations[@]}"; do
    IFS=$'\x1f' read -r name file kind text replacement suites breaks <<<"$record"
    log=$logs/$name.log
    begun=$(date +%s)
    cp "$repo/$file" "$copy/$file"
    apply "$copy" "$name" "$file" "$kind" "$text" "$replacement" || exit 1
    filter=""
    [ "${MUTATE_QUICK:-0}" = 1 ] && filter=$suites
    run_suite "$log" "$filter"
    status=$?
    if [ $status = 1 ] && [ -z "$(failed_tests "$log")" ]; then
        # No test failed, the test process died (a crash of Foundation's Process.run was seen once): run again, so
        # a mutation is never counted killed by a flake.
        mv "$log" "$log.first"
        run_suite "$log" "$filter"
        status=$?
    fi
    cp "$repo/$file" "$copy/$file"
    by=""
    case $status in
        0) result=survived; survived=$((survived + 1)) ;;
        1) result=killed; killed=$((killed + 1)); by=$(failed_tests "$log")
           [ -n "$by" ] || by="the test process crashed (twice; see $log)" ;;
        2) result="did not build"; broken=$((broken + 1)) ;;
        3) result="killed (timeout)"; killed=$((killed + 1)); by="suite stopped after ${MUTATE_SUITE_TIMEOUT:-1500} s" ;;
    esac
    printf 'mutate: %-40s %-16s %4d s  %s\n' "$name" "$result" "$(( $(date +%s) - begun ))" "$by"
    table+=$'\n'"| \`$name\` | $breaks | \`${file#Sources/B1Cache/}\` | $result | ${by:-—} |"
done
# Leave the copy unmutated and built, for the next run.
echo
echo "$table"
echo
echo "mutate: logs in $logs; $(( ($(date +%s) - started) / 60 )) min"
summary="$killed killed, $survived survived"
[ $broken -gt 0 ] && summary+=", $broken did not build"
echo "$summary"
[ $survived = 0 ] && [ $broken = 0 ]
}

main "$@"
exit $?

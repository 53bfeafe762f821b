#!/usr/bin/env bash
# `make stress`: the reliability scenarios of docs/RELIABILITY.md at full length, against real processes (the
# b1cache binary, the reference server), then the fuzzer for FUZZ_SECONDS (default 60).
#
# Each scenario is a set of Swift Testing suites run with B1CACHE_STRESS=long; each test appends its figures to
# a report, printed under the scenario's PASS/FAIL/SKIP line. The last line is "N passed, M failed" (skipped
# scenarios, e.g. disk-full where mounting is not permitted, are counted apart, never as passed).
#
#   STRESS_ONLY="crashes concurrency"   run only these scenarios      FUZZ_SECONDS=60   fuzzer run time

set -uo pipefail
cd "$(dirname "$0")/.."

# scenario name | suites (a swift test --filter regex)
SCENARIOS=(
    "crashes|EnqueueCrashTests|FlushCrashTests/sigkill|SyncCrashTests|IncrementalSyncCrashTests|SignOutCrashTests|BackupCrashTests|BackupRestoreCrashTests"
    "concurrency|ConcurrencyStressTests|FlushCrashTests/four|FlushCrashTests/aLock"
    "disk-full|DiskFullTests"
    "permissions|PermissionTests"
    "hostile-files|HostileFileTests"
    "hostile-server|HostileServerTests"
    "secrets-and-isolation|IsolationTests"
    "watch-flapping|WatchFlappingTests"
)
read -ra ONLY <<<"${STRESS_ONLY:-}"

swift build --build-tests >/dev/null || { echo "stress: the build failed" >&2; exit 1; }
export B1CACHE_BIN="$PWD/.build/debug/b1cache" B1CACHE_STRESS=long
work=$(mktemp -d "${TMPDIR:-/tmp}/b1cache-stress.XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0 failed=0 skipped=0
started=$(date +%s)

selected() {
    [[ ${#ONLY[@]} -eq 0 ]] && return 0
    local name
    for name in "${ONLY[@]}"; do [[ $name == "$1" ]] && return 0; done
    return 1
}

for entry in "${SCENARIOS[@]}"; do
    name=${entry%%|*}
    filter=${entry#*|}
    selected "$name" || continue
    report="$work/$name.report" log="$work/$name.log"
    : >"$report"
    begin=$(date +%s)
    B1CACHE_STRESS_REPORT="$report" swift test --skip-build --filter "$filter" >"$log" 2>&1
    status=$?
    seconds=$(( $(date +%s) - begin ))
    ran=$(grep -oE 'Test run with [0-9]+ test' "$log" | grep -oE '[0-9]+' | tail -1)
    if grep -q '^[^:]*: skipped' "$report"; then
        verdict=SKIP; skipped=$((skipped + 1))
    elif [[ $status -eq 0 && ${ran:-0} -gt 0 ]]; then
        verdict=PASS; passed=$((passed + 1))
    else
        verdict=FAIL; failed=$((failed + 1))
    fi
    echo "$verdict $name (${ran:-0} tests, ${seconds} s)"
    sed 's/^/    /' "$report"
    if [[ $verdict == FAIL ]]; then
        [[ ${ran:-0} -eq 0 ]] && echo "    no test matched '$filter'"
        grep -E '✘|error:' "$log" | head -20 | sed 's/^/    /'
    fi
done

if selected fuzz; then
    begin=$(date +%s)
    if [[ -f Tests/Fuzz/fuzz.sh ]]; then
        if make --no-print-directory fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-60}" >"$work/fuzz.log" 2>&1; then
            echo "PASS fuzz ($(( $(date +%s) - begin )) s)"; passed=$((passed + 1))
        else
            echo "FAIL fuzz ($(( $(date +%s) - begin )) s)"; failed=$((failed + 1))
        fi
        grep -E '^(fuzz|stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb))' "$work/fuzz.log" | sed 's/^/    /'
    else
        echo "FAIL fuzz: Tests/Fuzz/fuzz.sh is missing"; failed=$((failed + 1))
    fi
fi

echo "stress: $(( $(date +%s) - started )) s in all; ${skipped} skipped"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

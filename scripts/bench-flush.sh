#!/usr/bin/env bash
# `make bench`, part "flush" (run by scripts/bench.sh): scripts/bench-flush.sh OUT.md
#
# Flushes to the reference server (Tests/ReferenceServer/server.py), started here on a free port and seeded
# from a generated cache of missed-billing items (scripts/gen-writes.py, under bench-data/), so every write is
# one the server really applies. Each run gets a fresh server and database:
#
#   b1cache flush      BENCH_WRITES writes (2,000) queued with `b1cache enqueue --batch` in a copy of that
#                      cache, then the `b1cache flush` process timed end to end (wall clock, start-up included)
#   raw client         the same write bodies (the queue files, taken before the flush) POSTed one per request
#                      to /v1/writes with their Idempotency-Key, over one keep-alive python3 http.client
#                      connection (scripts/bench-peers.py post; timed in-process)
#   server bound       the same bodies POSTed 100 per request to /v1/writes:batch by the same client: what
#                      the server itself allows, whatever the client
#   latency            BENCH_SLOW_WRITES writes (200) flushed with BENCH_LATENCY_MS (100 ms) of injected latency
#                      on every request (POST /admin/faults {"latencyMs": …})
#
# After every run the server's ledger must show each write applied exactly once (and no other write), or the
# benchmark stops: it never measures failures. Throughputs are the best of BENCH_FLUSH_RUNS rounds, the tools
# taking turns in each; the latency figure is the slowest of its runs. Aims (issue 4): b1cache flush ≥ 3× the
# raw client's writes/s; 200 writes under 100 ms latency in < 1.5 s (one request per write would need 20 s).
#
#   BENCH_WRITES=2000   BENCH_SLOW_WRITES=200   BENCH_LATENCY_MS=100   BENCH_FLUSH_RUNS=3

set -euo pipefail

cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
markdown=${1:?usage: bench-flush.sh OUT.md}
WRITES=${BENCH_WRITES:-2000}
SLOW_WRITES=${BENCH_SLOW_WRITES:-200}
LATENCY_MS=${BENCH_LATENCY_MS:-100}
ROUNDS=${BENCH_FLUSH_RUNS:-3}
AIM_RATIO=3
AIM_SLOW_SECONDS=1.5
for setting in WRITES SLOW_WRITES LATENCY_MS ROUNDS; do
    [[ ${!setting} =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_$setting holds '${!setting}', not a count" >&2; exit 2; }
done
(( SLOW_WRITES <= WRITES )) || { echo "bench: BENCH_SLOW_WRITES must be at most BENCH_WRITES" >&2; exit 2; }

scratch=$DATA/scratch-flush
trap 'stop_server; rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
rm -rf "$scratch"
mkdir -p "$scratch"
started=$(date +%s)
ensure_writes "$WRITES"
export B1_TOKEN=b1-dev-token

# prepare_queue COUNT: a fresh copy of the cache with the first COUNT writes queued, and their files in bodies/.
prepare_queue() {
    rm -rf "$scratch/cache" "$scratch/bodies"
    cp -a "$writes_cache" "$scratch/cache"
    head -n "$1" "$writes_file" | "$B1CACHE" enqueue --batch - --cache-dir "$scratch/cache" >/dev/null
    mkdir "$scratch/bodies"
    find "$scratch/cache/queue" -maxdepth 1 -name '*.json' -exec cp -t "$scratch/bodies" {} +
}

check_ledger() { python3 scripts/bench-peers.py ledger "$B1_SERVER_URL" "$scratch/bodies" >/dev/null; }

# flush_run COUNT: times `b1cache flush` of the prepared queue; prints "SECONDS REQUESTS".
flush_run() {
    local seconds summary
    seconds=$(best_of 1 "$scratch/flush.json" "$B1CACHE" flush --json --cache-dir "$scratch/cache")
    summary=$(cat "$scratch/flush.json")
    if [[ $(jq -r '"\(.applied) \(.complete)"' <<<"$summary") != "$1 true" ]]; then
        note "b1cache flush did not apply all $1 writes: $summary"
        exit 1
    fi
    echo "$seconds $(jq -r .requests <<<"$summary")"
}

declare -A best=()
keep_best() { best[$1]=$(larger "${best[$1]:-}" "$2"); }
for round in $(seq "$ROUNDS"); do
    note "flush round $round of $ROUNDS: $(thousands "$WRITES") writes by b1cache flush, then one and 100 per request"
    prepare_queue "$WRITES"

    start_server "$writes_cache" "$scratch"
    result=$(flush_run "$WRITES")
    read -r seconds flush_requests <<<"$result"
    check_ledger
    stop_server
    keep_best flush "$(per_second "$WRITES" "$seconds")"

    start_server "$writes_cache" "$scratch"
    line=$(python3 scripts/bench-peers.py post "$B1_SERVER_URL" "$scratch/bodies")
    keep_best raw "$(field writes_s "$line")"
    check_ledger
    stop_server

    start_server "$writes_cache" "$scratch"
    line=$(python3 scripts/bench-peers.py post "$B1_SERVER_URL" "$scratch/bodies" --batch 100)
    keep_best bound "$(field writes_s "$line")"
    check_ledger
    stop_server
done

slowest=
for round in $(seq "$ROUNDS"); do
    note "latency round $round of $ROUNDS: $SLOW_WRITES writes by b1cache flush, $LATENCY_MS ms per request"
    prepare_queue "$SLOW_WRITES"
    start_server "$writes_cache" "$scratch"
    python3 scripts/bench-peers.py faults "$B1_SERVER_URL" "{\"latencyMs\": $LATENCY_MS}"
    result=$(flush_run "$SLOW_WRITES")
    read -r seconds slow_requests <<<"$result"
    check_ledger
    stop_server
    slowest=$(larger "$slowest" "$seconds")
done

ratio_value=$(awk -v a="${best[flush]}" -v b="${best[raw]}" 'BEGIN { print a / b }')
ratio_verdict="NOT met"
at_least "$ratio_value" "$AIM_RATIO" && ratio_verdict=met
slow_verdict="NOT met"
at_least "$slowest" "$AIM_SLOW_SECONDS" || slow_verdict=met
per_write_total=$(awk -v n="$SLOW_WRITES" -v ms="$LATENCY_MS" 'BEGIN { printf "%.0f", n * ms / 1000 }')

# rate KEY: "N writes/s (S s)" of best[KEY].
rate() {
    printf '%s writes/s (%s)' "$(whole "${best[$1]}")" \
        "$(awk -v n="$WRITES" -v r="${best[$1]}" 'BEGIN { printf "%.2f s", n / r }')"
}
rows=()
add_row "b1cache flush: $(thousands "$WRITES") writes, $flush_requests requests (process, wall clock)" "$(rate flush)" \
    "≥ ${AIM_RATIO}× raw" ""
add_row "raw client: http.client keep-alive, POST /v1/writes, one write per request" "$(rate raw)" "" ""
add_row "b1cache flush ÷ raw client" "$(printf '%.2f×' "$ratio_value")" "≥ ${AIM_RATIO}×" "$ratio_verdict"
add_row "server bound: the same client, POST /v1/writes:batch, 100 writes per request" "$(rate bound)" "" ""
add_row "b1cache flush: $SLOW_WRITES writes, $LATENCY_MS ms latency per request, $slow_requests requests (slowest)" \
    "$(printf '%.2f s' "$slowest")" "< $AIM_SLOW_SECONDS s" "$slow_verdict"
add_row "one request per write at $LATENCY_MS ms ($SLOW_WRITES × $LATENCY_MS ms, computed)" \
    "≥ $per_write_total s" "" ""
header="flush to the reference server"$'\t'"figure"$'\t'"aim"$'\t'"verdict"
separator=$'---\t---:\t---\t---'
today=$(date -u +%Y-%m-%d)

echo
echo "Flush, $today, $(machine_line) (took $(($(date +%s) - started)) s)"
echo
printf '%s\n' "$header" "${rows[@]}" | print_table
{
    echo "Measured $today on $(machine_line); throughputs best of $ROUNDS rounds, the tools taking turns in each,"
    echo "a fresh server for every run; the latency figure is the slowest of $ROUNDS runs. After every run the"
    echo "server's ledger showed each write applied exactly once."
    echo
    printf '%s\n' "$header" "$separator" "${rows[@]}" | markdown_table
} >"$markdown"

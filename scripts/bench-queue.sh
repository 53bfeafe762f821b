#!/usr/bin/env bash
# `make bench`, part "queue" (run by scripts/bench.sh): scripts/bench-queue.sh OUT.md
#
# What a long queue costs (issue 14). One cache of 20,000 missed-billing items (scripts/gen-writes.py, its
# collection a 12 MB envelope) is copied three times with 0, 2,000 and 20,000 of its writes queued
# (`b1cache enqueue --batch`), and on each, in one run:
#
#   inspect, status     `b1cache inspect` / `b1cache status` (no server: they read no network), wall clock,
#                       process start included; median of BENCH_QUEUE_RUNS runs (best beside it)
#   enqueue             one `b1cache enqueue --batch FILE` of a write on the collection's last item: at 20,000
#                       it supersedes that item's pending write (the coalescing look-up), at 0 and 2,000 it is
#                       new the first time and supersedes its own copy after; median of the same runs
#   peers               `ls -f queue | wc -l` and a python3 os.scandir count of queue/, the cheapest answers to
#                       "how many are pending", and `b1cache --version` (start-up alone)
#
# Then the 2,000 and the 20,000 queues are flushed to a fresh reference server each (wall clock and peak RSS
# of the process), beside the server bound: the same write files POSTed 100 per request by one python3
# http.client connection (scripts/bench-peers.py post --batch 100) to a fresh server. After every run the
# ledger must show each write applied exactly once, or the benchmark stops.
#
# Aims (issue 14): flush writes/s at 20,000 ≥ 0.8× at 2,000; inspect, status and enqueue at 20,000 pending
# ≤ 1.5× their time at 0.
#
#   BENCH_QUEUE_ITEMS=20000   BENCH_QUEUE_SIZES="0 2000 20000"   BENCH_QUEUE_RUNS=15

set -euo pipefail

cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
markdown=${1:?usage: bench-queue.sh OUT.md}
ITEMS=${BENCH_QUEUE_ITEMS:-20000}
read -ra SIZES <<<"${BENCH_QUEUE_SIZES:-0 2000 20000}"
RUNS=${BENCH_QUEUE_RUNS:-15}
AIM_FLUSH=0.8
AIM_READ=1.5
for setting in ITEMS RUNS; do
    [[ ${!setting} =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_QUEUE_$setting holds '${!setting}', not a count" >&2; exit 2; }
done
for size in "${SIZES[@]}"; do
    [[ $size =~ ^[0-9]+$ ]] && ((size <= ITEMS)) || {
        echo "bench: BENCH_QUEUE_SIZES holds '$size', not a count of at most $ITEMS" >&2
        exit 2
    }
done
smallest=${SIZES[0]}
largest=${SIZES[-1]}

scratch=$DATA/scratch-queue
trap 'stop_server; rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
rm -rf "$scratch"
mkdir -p "$scratch"
started=$(date +%s)
ensure_writes "$ITEMS"
export B1_TOKEN=b1-dev-token
tail -n 1 "$writes_file" | sed 's/"action":"[a-z-]*"/"action":"ignore"/; s/,"snoozeUntil":"[^"]*"//' >"$scratch/one.jsonl"

# median_ms RUNS COMMAND…: "MEDIAN" and "BEST" in ms of COMMAND's wall time, as "MEDIAN BEST".
median_ms() { timer "$1" /dev/null "${@:2}" | awk '{ printf "%.1f %.1f", $2 * 1000, $1 * 1000 }'; }
cell() { awk -v m="$1" -v b="$2" 'BEGIN { printf "%.1f ms (best %.1f)", m, b }'; }

declare -A inspect=() status=() enqueue=() listing=() scandir=()
for size in "${SIZES[@]}"; do
    note "queue: $(thousands "$size") pending writes on $(thousands "$ITEMS") items"
    cache=$scratch/cache-$size
    cp -a "$writes_cache" "$cache"
    if ((size > 0)); then head -n "$size" "$writes_file" | "$B1CACHE" enqueue --batch - --cache-dir "$cache" >/dev/null; fi
    [[ $(find "$cache/queue" -maxdepth 1 -name '*.json' | wc -l) == "$size" ]] || {
        note "queue/ of $cache does not hold $size writes"
        exit 1
    }
    inspect[$size]=$(median_ms "$RUNS" "$B1CACHE" inspect --cache-dir "$cache")
    status[$size]=$(median_ms "$RUNS" "$B1CACHE" status --cache-dir "$cache")
    listing[$size]=$(median_ms "$RUNS" sh -c 'ls -f "$1" | wc -l' sh "$cache/queue")
    scandir[$size]=$(median_ms "$RUNS" python3 -c 'import os, sys; print(sum(1 for _ in os.scandir(sys.argv[1])))' \
        "$cache/queue")
    enqueue[$size]=$(median_ms "$RUNS" "$B1CACHE" enqueue --batch "$scratch/one.jsonl" --cache-dir "$cache")
done
version=$(median_ms "$RUNS" "$B1CACHE" --version)

# flush_size SIZE: sets flush_rate, flush_seconds, flush_peak and bound_rate for a queue of SIZE writes.
flush_size() {
    local size=$1 cache=$scratch/flush-$1 bodies=$scratch/bodies-$1 result summary line
    rm -rf "$cache" "$bodies"
    cp -a "$writes_cache" "$cache"
    head -n "$size" "$writes_file" | "$B1CACHE" enqueue --batch - --cache-dir "$cache" >/dev/null
    mkdir "$bodies"
    find "$cache/queue" -maxdepth 1 -name '*.json' -exec cp -t "$bodies" {} +

    start_server "$writes_cache" "$scratch" 600
    result=$(measure "$scratch/flush.json" "$B1CACHE" flush --json --cache-dir "$cache")
    summary=$(cat "$scratch/flush.json")
    if [[ $(jq -r '"\(.applied) \(.complete)"' <<<"$summary") != "$size true" ]]; then
        note "b1cache flush did not apply all $size writes: $summary"
        exit 1
    fi
    python3 scripts/bench-peers.py ledger "$B1_SERVER_URL" "$bodies" >/dev/null
    stop_server
    read -r flush_seconds flush_peak <<<"$result"
    flush_rate=$(per_second "$size" "$flush_seconds")
    flush_revisions=$(jq -r '.collections["missed-billing"].revision' "$cache/manifest.json")

    start_server "$writes_cache" "$scratch" 600
    line=$(python3 scripts/bench-peers.py post "$B1_SERVER_URL" "$bodies" --batch 100)
    python3 scripts/bench-peers.py ledger "$B1_SERVER_URL" "$bodies" >/dev/null
    stop_server
    bound_rate=$(field writes_s "$line")
    rm -rf "$cache" "$bodies"
}

declare -A rate=() seconds=() peak=() bound=() rewrites=()
for size in "${SIZES[@]}"; do
    ((size > 0)) || continue
    note "queue: flushing $(thousands "$size") writes, then the server bound"
    flush_size "$size"
    rate[$size]=$flush_rate
    seconds[$size]=$flush_seconds
    peak[$size]=$flush_peak
    bound[$size]=$bound_rate
    rewrites[$size]=$((flush_revisions - 1))
done

verdict() { if eval "$1"; then echo met; else echo "NOT met"; fi; }
rows=()
for size in "${SIZES[@]}"; do
    add_row "$(thousands "$size") pending: b1cache inspect" "$(cell ${inspect[$size]})" "" ""
    add_row "$(thousands "$size") pending: b1cache status" "$(cell ${status[$size]})" "" ""
    add_row "$(thousands "$size") pending: b1cache enqueue, one write" "$(cell ${enqueue[$size]})" "" ""
    add_row "$(thousands "$size") pending: ls -f queue, lines counted by wc -l (peer)" "$(cell ${listing[$size]})" "" ""
    add_row "$(thousands "$size") pending: python3 os.scandir count (peer)" "$(cell ${scandir[$size]})" "" ""
done
add_row "b1cache --version (start-up alone)" "$(cell $version)" "" ""
# growth ARRAY: the median at the largest queue ÷ the median at the smallest.
growth() {
    local -n times=$1
    awk -v a="${times[$largest]%% *}" -v b="${times[$smallest]%% *}" 'BEGIN { print a / b }'
}
for what in inspect status enqueue; do
    value=$(growth "$what")
    add_row "$what at $(thousands "$largest") ÷ at $(thousands "$smallest") pending (medians)" \
        "$(printf '%.2f×' "$value")" "≤ ${AIM_READ}×" "$(verdict "at_least $AIM_READ $value")"
done
flushed=()
for size in "${SIZES[@]}"; do ((size > 0)) && flushed+=("$size"); done
for size in "${flushed[@]}"; do
    add_row "b1cache flush: $(thousands "$size") writes (process, wall clock; peak RSS ${peak[$size]} MB; envelope written ${rewrites[$size]}×)" \
        "$(whole "${rate[$size]}") writes/s ($(printf '%.2f' "${seconds[$size]}") s)" "" ""
    add_row "server bound: $(thousands "$size") writes, 100 per request (python3 http.client)" \
        "$(whole "${bound[$size]}") writes/s" "" ""
done
if ((${#flushed[@]} >= 2)); then
    small=${flushed[0]} large=${flushed[-1]}
    value=$(awk -v a="${rate[$large]}" -v b="${rate[$small]}" 'BEGIN { print a / b }')
    add_row "flush writes/s at $(thousands "$large") ÷ at $(thousands "$small")" "$(printf '%.2f×' "$value")" \
        "≥ ${AIM_FLUSH}×" "$(verdict "at_least $value $AIM_FLUSH")"
fi
header="queue of pending writes ($(thousands "$ITEMS")-item collection)"$'\t'"figure"$'\t'"aim"$'\t'"verdict"
separator=$'---\t---:\t---\t---'
today=$(date -u +%Y-%m-%d)

echo
echo "Queue size, $today, $(machine_line) (took $(($(date +%s) - started)) s)"
echo
printf '%s\n' "$header" "${rows[@]}" | print_table
{
    echo "Measured $today on $(machine_line); times are medians of $RUNS runs (best beside them), wall clock,"
    echo "process start included; each flush against a fresh reference server, whose ledger showed every write"
    echo "applied exactly once after it."
    echo
    printf '%s\n' "$header" "$separator" "${rows[@]}" | markdown_table
} >"$markdown"

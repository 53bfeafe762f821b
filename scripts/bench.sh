#!/usr/bin/env bash
# Benchmarks for `make bench` (which builds the release b1cache and b1bench first).
#
# Runs each part, which prints its table and writes it as markdown; the parts' tables, each under a heading, go
# to bench-data/latest.md (git-ignored), ready for BENCHMARKS.md. Every figure is measured beside its peer in
# the same run.
#
#   envelopes  load, rewrite and inspect on generated invoice caches, beside jq and python3 (bench-envelopes.sh)
#   enqueue    2,000 durable enqueues, one by one and as a batch, beside C and SQLite (bench-enqueue.sh)
#   flush      2,000 writes flushed to the reference server beside a plain HTTP client, and 200 writes
#              under 100 ms of latency (bench-flush.sh)
#   sync       a 100,000-invoice collection pulled full and incrementally (time and peak memory), beside a plain
#              HTTP client and jq; inspect on that cache beside jq (bench-sync.sh)
#   queue      inspect, status and one enqueue at 0, 2,000 and 20,000 pending writes beside a listing of the
#              folder, and flush writes/s at 2,000 and 20,000 beside the server bound (bench-queue.sh)
#   watch      b1cache watch beside a `sleep` loop of flush/sync every 5 s: server back → write applied, a change
#              on the server → envelope updated (medians of 20), CPU over 5 idle minutes (bench-watch.sh)
#
#   BENCH_PARTS="envelopes enqueue flush sync queue watch"   the parts to run (default: all, in this order)
#   Each part's own settings (BENCH_SIZES, BENCH_WRITES, …) are listed at the top of its script.

set -euo pipefail

cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
read -ra PARTS <<<"${BENCH_PARTS:-envelopes enqueue flush sync queue watch}"

declare -A titles=(
    [envelopes]="Envelopes and inspect"
    [enqueue]="Enqueue"
    [flush]="Flush"
    [sync]="Sync"
    [queue]="Queue size"
    [watch]="Watch"
)
for part in "${PARTS[@]}"; do
    if [[ -z ${titles[$part]:-} ]]; then
        echo "bench: BENCH_PARTS holds '$part'; the parts are: envelopes enqueue flush sync queue watch" >&2
        exit 2
    fi
done
for tool in "$B1CACHE" "$B1BENCH"; do
    [[ -x $tool ]] || { echo "bench: $tool is missing; run 'make bench'" >&2; exit 1; }
done
for tool in jq python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done

mkdir -p "$DATA"
started=$(date +%s)
for part in "${PARTS[@]}"; do
    "scripts/bench-$part.sh" "$DATA/latest-$part.md"
done

{
    for part in "${PARTS[@]}"; do
        echo "### ${titles[$part]}"
        echo
        cat "$DATA/latest-$part.md"
        echo
    done
} >"$DATA/latest.md"
for part in "${PARTS[@]}"; do rm -f "$DATA/latest-$part.md"; done
echo
echo "b1cache benchmarks took $(($(date +%s) - started)) s; markdown tables: $DATA/latest.md"

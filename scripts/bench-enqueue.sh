#!/usr/bin/env bash
# `make bench`, part "enqueue" (run by scripts/bench.sh): scripts/bench-enqueue.sh OUT.md
#
# BENCH_WRITES durable enqueues (2,000 by default) of missed-billing actions on distinct items, so none
# supersedes another, into a fresh copy of a generated cache (scripts/gen-writes.py, under bench-data/):
#
#   b1cache, one by one   `b1bench enqueue`: one Enqueuer, `enqueue` per write, timed in-process
#   b1cache, batch        `b1bench enqueue --batch` (one `enqueueBatch`, in-process) and
#                         `b1cache enqueue --batch FILE` (the process, wall clock, start-up included)
#   C                     scripts/bench-fsync.c, built here with cc (or the toolchain's clang): files of the
#                         same size with the same system calls (temp in queue/.tmp, write, fsync, rename, fsync
#                         of the folder); with --batch one folder fsync at the end, as enqueue --batch
#   SQLite                python3's sqlite3, WAL, synchronous=FULL, one transaction per insert of a row of the
#                         same size (scripts/bench-peers.py sqlite)
#
# The tools take turns, round after round, so a busy moment of the machine hits them alike; each figure is the
# best of BENCH_ENQUEUE_RUNS rounds. Aims (issue 3): one by one ≥ 0.8× the C figure; batch ≥ 1.5× C one by one.
#
#   BENCH_WRITES=2000   writes per run        BENCH_ENQUEUE_RUNS=3   rounds

set -euo pipefail

cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
markdown=${1:?usage: bench-enqueue.sh OUT.md}
WRITES=${BENCH_WRITES:-2000}
ROUNDS=${BENCH_ENQUEUE_RUNS:-3}
AIM_SINGLE=0.8
AIM_BATCH=1.5
[[ $WRITES =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_WRITES holds '$WRITES', not a count" >&2; exit 2; }
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_ENQUEUE_RUNS holds '$ROUNDS', not a count" >&2; exit 2; }

scratch=$DATA/scratch-enqueue
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
rm -rf "$scratch"
mkdir -p "$scratch"
started=$(date +%s)

# The C peer, rebuilt when its source changes: cc if present, else the clang that ships with Swift.
fsync_peer=$DATA/bench-fsync
if [[ ! -x $fsync_peer || scripts/bench-fsync.c -nt $fsync_peer ]]; then
    compiler=$(command -v cc || true)
    if [[ -z $compiler ]]; then
        compiler=$(dirname "$(readlink -f "$(command -v swift)")")/clang
    fi
    note "compiling scripts/bench-fsync.c with $compiler"
    "$compiler" -O2 -o "$fsync_peer" scripts/bench-fsync.c
fi

ensure_writes "$WRITES"

# c_run [--batch]: one run of the C peer into a fresh folder, files of $size bytes.
c_run() {
    rm -rf "$scratch/c"
    mkdir -p "$scratch/c/.tmp"
    "$fsync_peer" "$scratch/c" "$WRITES" "$size" "$@"
}

# cli_batch: `b1cache enqueue --batch` into a fresh copy of the cache; writes per second, wall clock.
cli_batch() {
    rm -rf "$scratch/cache"
    cp -a "$writes_cache" "$scratch/cache"
    local seconds queued
    seconds=$(best_of 1 /dev/null "$B1CACHE" enqueue --batch "$writes_file" --cache-dir "$scratch/cache")
    queued=$(find "$scratch/cache/queue" -maxdepth 1 -name '*.json' | wc -l)
    [[ $queued -eq $WRITES ]] || { note "b1cache enqueue --batch queued $queued writes, not $WRITES"; exit 1; }
    per_second "$WRITES" "$seconds"
}

declare -A best=()
keep_best() { best[$1]=$(larger "${best[$1]:-}" "$2"); }
for round in $(seq "$ROUNDS"); do
    note "enqueue round $round of $ROUNDS: $(thousands "$WRITES") writes each for b1cache, C and SQLite"
    line=$("$B1BENCH" enqueue "$writes_cache" "$writes_file")
    size=$(field bytes "$line")
    keep_best single "$(field ops_s "$line")"
    keep_best single_first "$(field first_tenth_ops_s "$line")"
    keep_best single_last "$(field last_tenth_ops_s "$line")"
    line=$(c_run)
    keep_best c_single "$(field ops_s "$line")"
    line=$(python3 scripts/bench-peers.py sqlite "$scratch" "$WRITES" "$size")
    keep_best sqlite "$(field ops_s "$line")"
    line=$("$B1BENCH" enqueue "$writes_cache" "$writes_file" --batch)
    keep_best batch "$(field ops_s "$line")"
    line=$(cli_batch)
    keep_best cli_batch "$line"
    line=$(c_run --batch)
    keep_best c_batch "$(field ops_s "$line")"
done

c=${best[c_single]}
# verdict WRITES_PER_S AIM: whether WRITES_PER_S is at least AIM × the C figure.
verdict() {
    if at_least "$1" "$(awk -v c="$c" -v aim="$2" 'BEGIN { print c * aim }')"; then echo met; else echo "NOT met"; fi
}
# figure KEY: "writes/s<TAB>ratio to C" of best[KEY].
figure() { printf '%s\t%s' "$(whole "${best[$1]}")" "$(ratio "${best[$1]}" "$c")"; }
tenth=$((WRITES / 10))
rows=()
add_row "b1cache, one by one: Enqueuer.enqueue per write (in-process)" "$(figure single)" \
    "≥ ${AIM_SINGLE}× C" "$(verdict "${best[single]}" "$AIM_SINGLE")"
add_row "  … its first $(thousands "$tenth") writes (queue nearly empty)" "$(figure single_first)" "" ""
add_row "  … its last $(thousands "$tenth") writes (queue nearly full)" "$(figure single_last)" "" ""
add_row "C: create temp, write, fsync, rename, fsync folder" "$(figure c_single)" "" ""
add_row "SQLite: python3 sqlite3, WAL, synchronous=FULL, 1 transaction per insert" "$(figure sqlite)" "" ""
add_row "b1cache, batch: Enqueuer.enqueueBatch of all (in-process)" "$(figure batch)" \
    "≥ ${AIM_BATCH}× C" "$(verdict "${best[batch]}" "$AIM_BATCH")"
add_row "b1cache, batch: b1cache enqueue --batch FILE (process, wall clock)" "$(figure cli_batch)" \
    "≥ ${AIM_BATCH}× C" "$(verdict "${best[cli_batch]}" "$AIM_BATCH")"
add_row "C, batch: the same calls, one folder fsync at the end" "$(figure c_batch)" "" ""
header="$(thousands "$WRITES") durable writes of $size bytes"$'\t'"writes/s"$'\t'"÷ C"$'\t'"aim"$'\t'"verdict"
separator=$'---\t---:\t---:\t---\t---'
today=$(date -u +%Y-%m-%d)

echo
echo "Enqueue, $today, $(machine_line) (took $(($(date +%s) - started)) s)"
echo
printf '%s\n' "$header" "${rows[@]}" | print_table
{
    echo "Measured $today on $(machine_line); best of $ROUNDS round$( ((ROUNDS == 1)) || echo s), the tools taking"
    echo "turns in each; ÷ C is the ratio to the C program's one-by-one figure."
    echo
    printf '%s\n' "$header" "$separator" "${rows[@]}" | markdown_table
} >"$markdown"

#!/usr/bin/env bash
# `make bench`, part "watch" (run by scripts/bench.sh): scripts/bench-watch.sh OUT.md
#
# `b1cache watch` beside its peer, a `sleep` loop running b1cache every BENCH_WATCH_PERIOD (5) seconds, all in one
# run against one reference server (Tests/ReferenceServer/server.py, its default 15 s heartbeat), seeded from a
# generated cache of missed-billing items (scripts/gen-writes.py). Four copies of that cache, each with its own
# process, run at the same time from start to end:
#
#   watch        `b1cache watch` with its defaults (probes backed off up to 60 s)
#   capped       `b1cache watch --max-backoff 5s`: never waits longer between probes than the loops do
#   flush loop   while :; do b1cache flush; sleep 5; done   the peer for the reconnect figure
#   sync loop    while :; do b1cache sync; sleep 5; done    the peer for the realtime figure (sync flushes first,
#                                                            then pulls: the same job as the watcher)
#
# Then (scripts/bench-watch.py does the timing):
#
#   reconnect    BENCH_WATCH_RUNS (20) times: the server goes away for BENCH_WATCH_OFFLINE (4) s (POST
#                /admin/offline, "refuse": connections refused, streams reset), one write is queued in the watch,
#                capped and flush-loop caches meanwhile; from the first TCP connection the server accepts again
#                (tried every 5 ms) to each write applied per the ledger (GET /admin/ledger?id=, every 25 ms)
#   realtime     BENCH_WATCH_RUNS times: POST /admin/mutate sets a note on one item; from just before the POST to
#                the watch and sync-loop caches' missed-billing.json holding it (stat every 5 ms, read when the
#                mtime moved)
#   idle         BENCH_WATCH_IDLE (300) s with nothing to do: CPU seconds (utime + stime from /proc/PID/stat, in
#                clock ticks) of each watcher, and of each loop with its finished children (cutime + cstime)
#   stop         SIGTERM to both watchers: the seconds until each has exited; watch.json must say stopped and the
#                lock must be gone
#
# Runs are spaced by the loops' period plus a random part of it, so they fall at every phase of the loops. Each
# write must be applied exactly once, or the benchmark stops. Aims (issue 13): reconnect ≤ 2 s and realtime ≤ 1 s
# (medians), idle CPU ≤ 0.1 s over 5 minutes, SIGTERM to exit ≤ 2 s.
#
#   BENCH_WATCH_RUNS=20   BENCH_WATCH_OFFLINE=4   BENCH_WATCH_IDLE=300   BENCH_WATCH_PERIOD=5

set -euo pipefail

cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
markdown=${1:?usage: bench-watch.sh OUT.md}
RUNS=${BENCH_WATCH_RUNS:-20}
OFFLINE=${BENCH_WATCH_OFFLINE:-4}
IDLE=${BENCH_WATCH_IDLE:-300}
PERIOD=${BENCH_WATCH_PERIOD:-5}
AIM_RECONNECT=2
AIM_REALTIME=1
AIM_IDLE_CPU=0.1
for setting in RUNS OFFLINE IDLE PERIOD; do
    [[ ${!setting} =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_WATCH_$setting holds '${!setting}', not a count" >&2; exit 2; }
done

scratch=$DATA/scratch-watch
pids=()
stop_all() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
    stop_server
}
trap 'stop_all; rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
rm -rf "$scratch"
mkdir -p "$scratch"
started=$(date +%s)
ensure_writes $((3 * RUNS))
export B1_TOKEN=b1-dev-token
for name in watch capped flush-loop sync-loop; do cp -a "$writes_cache" "$scratch/$name"; done
item=$(jq -r '.items[0].id' "$writes_cache/collections/missed-billing.json")

start_server "$writes_cache" "$scratch"
"$B1CACHE" watch --cache-dir "$scratch/watch" 2>"$scratch/watch.err" &
watch_pid=$!
pids+=("$watch_pid")
"$B1CACHE" watch --max-backoff "${PERIOD}s" --cache-dir "$scratch/capped" 2>"$scratch/capped.err" &
capped_pid=$!
pids+=("$capped_pid")
# loop COMMAND CACHE: the peer, in a subshell of its own (its pid: the loop's CPU with its children's). The sleep
# is waited for in the background, so a SIGTERM ends the loop at once.
loop() {
    trap 'exit 0' TERM
    while :; do
        "$B1CACHE" "$1" --cache-dir "$2" >/dev/null 2>&1 || true
        sleep "$PERIOD" &
        wait $!
    done
}
loop flush "$scratch/flush-loop" &
flush_loop_pid=$!
pids+=("$flush_loop_pid")
loop sync "$scratch/sync-loop" &
sync_loop_pid=$!
pids+=("$sync_loop_pid")

note "watch: $RUNS outages of $OFFLINE s, a write queued in each of 3 caches: 2 watchers, a flush loop every $PERIOD s"
reconnect=$(python3 scripts/bench-watch.py reconnect "$B1_SERVER_URL" "$RUNS" "$OFFLINE" "$PERIOD" "$B1CACHE" \
    "$writes_file" watch="$scratch/watch" capped="$scratch/capped" loop="$scratch/flush-loop")
note "watch: $RUNS changes made on the server; the watcher beside a sync loop every $PERIOD s"
realtime=$(python3 scripts/bench-watch.py mutate "$B1_SERVER_URL" "$RUNS" "$PERIOD" "$item" \
    watch="$scratch/watch" loop="$scratch/sync-loop")
note "watch: $IDLE idle seconds"
sleep 2
idle=$(python3 scripts/bench-watch.py idle "$IDLE" watch="$watch_pid" capped="$capped_pid" \
    flush_loop=+"$flush_loop_pid" sync_loop=+"$sync_loop_pid")
for pid in "$watch_pid" "$capped_pid"; do
    kill -0 "$pid" 2>/dev/null || { note "a watcher stopped by itself: $(tail -3 "$scratch"/*.err)"; exit 1; }
done
stopped=$(python3 scripts/bench-watch.py stop watch="$watch_pid" capped="$capped_pid")
for name in watch capped; do
    state=$(jq -r .state "$scratch/$name/watch.json")
    [[ $state == stopped && ! -e $scratch/$name/flush.lock ]] || {
        note "after SIGTERM the $name watcher's watch.json says '$state' (lock left: $([[ -e $scratch/$name/flush.lock ]] && echo yes || echo no)): $(tail -5 "$scratch/$name.err")"
        exit 1
    }
done
stop_all

# seconds KEY LINE: "M s (min–max)" of the figures KEY_median, KEY_min, KEY_max of LINE.
seconds() {
    printf '%.2f s (%.2f–%.2f)' "$(field "$1_median" "$2")" "$(field "$1_min" "$2")" "$(field "$1_max" "$2")"
}
verdict() { if at_least "$2" "$1"; then echo met; else echo "NOT met"; fi; }
minutes=$(awk -v s="$IDLE" 'BEGIN { printf "%.3g", s / 60 }')

rows=()
add_row "server answering again → write applied per the ledger (median of $RUNS, min–max)" \
    "$(seconds watch "$reconnect")" "$(seconds capped "$reconnect")" "flush loop: $(seconds loop "$reconnect")" \
    "≤ $AIM_RECONNECT s" "$(verdict "$(field watch_median "$reconnect")" "$AIM_RECONNECT")"
add_row "/admin/mutate → envelope file updated (median of $RUNS, min–max)" \
    "$(seconds watch "$realtime")" "" "sync loop: $(seconds loop "$realtime")" "≤ $AIM_REALTIME s" \
    "$(verdict "$(field watch_median "$realtime")" "$AIM_REALTIME")"
add_row "CPU over $IDLE idle s ($minutes min; utime + stime)" "$(field watch_cpu "$idle") s" \
    "$(field capped_cpu "$idle") s" \
    "flush loop: $(field flush_loop_cpu "$idle") s; sync loop: $(field sync_loop_cpu "$idle") s" \
    "≤ $AIM_IDLE_CPU s" "$(verdict "$(field watch_cpu "$idle")" "$AIM_IDLE_CPU")"
add_row "SIGTERM → exited (watch.json stopped, lock gone)" \
    "$(printf '%.2f s' "$(field watch_stop "$stopped")")" "$(printf '%.2f s' "$(field capped_stop "$stopped")")" \
    "" "≤ 2 s" "$(verdict "$(field watch_stop "$stopped")" 2)"
add_row "resident memory after the idle time (VmRSS)" "$(field watch_rss_mb "$idle") MB" \
    "$(field capped_rss_mb "$idle") MB" "" "" ""
header="b1cache watch beside a sleep loop every $PERIOD s"$'\t'"watch"$'\t'"watch --max-backoff ${PERIOD}s"
header+=$'\t'"sleep loop"$'\t'"aim"$'\t'"verdict"
separator=$'---\t---:\t---:\t---\t---\t---'
today=$(date -u +%Y-%m-%d)

echo
echo "Watch, $today, $(machine_line) (took $(($(date +%s) - started)) s)"
echo
printf '%s\n' "$header" "${rows[@]}" | ALIGN_LEFT_LAST=3 print_table
{
    echo "Measured $today on $(machine_line): both watchers and both loops ran at once, each on its own copy of"
    echo "a cache of $((3 * RUNS)) missed-billing items, against one reference server (15 s heartbeat); outages of"
    echo "$OFFLINE s (\`/admin/offline\`, refuse). Latency resolution: the server's return is its first accepted TCP"
    echo "connection (tried every 5 ms), the ledger is read every 25 ms, the envelopes' mtime every 5 ms; CPU is"
    echo "counted in clock ticks of $(field tick "$idle") s. Every write was applied exactly once per the ledger."
    echo
    printf '%s\n' "$header" "$separator" "${rows[@]}" | markdown_table
} >"$markdown"

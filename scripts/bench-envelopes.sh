#!/usr/bin/env bash
# `make bench`, part "envelopes" (run by scripts/bench.sh): scripts/bench-envelopes.sh OUT.md
#
# For each cache size: b1cache's load (read + decode) and durable rewrite of collections/invoices.json, measured
# in-process by b1bench, beside jq and python3 doing the same work on the same file; `b1cache show invoices`
# (every item, one by --id, one client's: best time and peak memory) beside jq printing the same; then `b1cache inspect` on
# the largest cache beside `jq . manifest.json`. Throughputs are best of $BENCH_REPEAT runs, in decimal MB of the
# input file per second; inspect times are medians of $BENCH_RUNS runs, wall clock including process start.
#
# Caches are generated under bench-data/ (git-ignored) by scripts/gen-invoices.py and reused while N and the
# generator are unchanged. The table goes to stdout and, as markdown for BENCHMARKS.md, to OUT.md.
#
#   BENCH_SIZES="10000 100000"  invoice counts (default)     BENCH_REPEAT=5   runs per throughput figure
#   BENCH_RUNS=20               runs per inspect median

set -euo pipefail

cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
markdown=${1:?usage: bench-envelopes.sh OUT.md}
read -ra SIZES <<<"${BENCH_SIZES:-10000 100000}"
REPEAT=${BENCH_REPEAT:-5}
RUNS=${BENCH_RUNS:-20}
# Aims: load at least as fast as jq, rewrite ≥ 20 MB/s, inspect < 15 ms (median).
AIM_REWRITE_MB_S=20
AIM_INSPECT_MS=15

for count in "${SIZES[@]}"; do
    [[ $count =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_SIZES holds '$count', not an invoice count" >&2; exit 2; }
done

# PYJSON FILE OUT RUNS: python3's json module on FILE, timed in-process (interpreter start excluded), best of
# RUNS: load = open + json.load; dump = json.dumps(indent=2, sort_keys=True) + write + fsync, the exact bytes
# b1cache writes.
PYJSON=$(cat <<'PY'
import json, os, sys, time
path, out, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
size = os.path.getsize(path)
best_load = best_dump = float("inf")
for _ in range(runs):
    start = time.perf_counter()
    with open(path, encoding="utf-8") as handle:
        value = json.load(handle)
    best_load = min(best_load, time.perf_counter() - start)
    start = time.perf_counter()
    with open(out, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    best_dump = min(best_dump, time.perf_counter() - start)
    del value
print("%.1f %.1f" % (size / 1e6 / best_load, size / 1e6 / best_dump))
PY
)

declare -A result

# shown BASE_MB COMMAND…: "BEST s, PEAK MB (R× file)" over $REPEAT runs of COMMAND (stdout discarded), R being
# the peak above BASE_MB (the program's own start-up peak) against the file's $bytes.
shown() {
    local base=$1 best="" peak="" seconds mb
    shift
    for _ in $(seq "$REPEAT"); do
        read -r seconds mb < <(measure /dev/null "$@")
        best=$(smaller "$best" "$seconds")
        peak=$(larger "$peak" "$mb")
    done
    awk -v s="$best" -v m="$peak" -v z="$base" -v b="$bytes" \
        'BEGIN { printf "%.2f s, %.1f MB (%.2f× file above start-up)", s, m, (m - z) * 1048576 / b }'
}
scratch=$DATA/scratch-output.json
trap 'rm -f "$scratch"' EXIT
started=$(date +%s)

for count in "${SIZES[@]}"; do
    ensure_cache "$count"
    file=$DATA/invoices-$count/collections/invoices.json
    bytes=$(wc -c <"$file")
    result[bytes,$count]=$bytes
    note "measuring $(thousands "$count") invoices ($(mb_per_s "$bytes" 1) MB), best of $REPEAT"

    line=$("$B1BENCH" load-rewrite "$file" --repeat "$REPEAT")
    result[b1_load,$count]=$(field load_mb_s "$line")
    result[b1_rewrite,$count]=$(field rewrite_mb_s "$line")
    if [[ $(field roundtrip "$line") != identical ]]; then
        note "warning: b1cache's rewrite of $file differs from the file (b1bench: $line)"
    fi

    result[jq_load,$count]=$(mb_per_s "$bytes" "$(best_of "$REPEAT" /dev/null jq empty "$file")")
    result[jq_rewrite,$count]=$(mb_per_s "$bytes" "$(best_of "$REPEAT" "$scratch" jq -S . "$file")")
    read -r "result[py_load,$count]" "result[py_rewrite,$count]" < <(python3 -c "$PYJSON" "$file" "$scratch" "$REPEAT")
    rm -f "$scratch"

    # show: every item as a JSON line, and one by id, beside jq doing the same on the file (time, peak memory).
    cache=$DATA/invoices-$count
    id=$(jq -r '.items[length / 2 | floor].id' "$file")
    b1_base=$(measure /dev/null "$B1CACHE" --version | cut -d' ' -f2)
    jq_base=$(measure /dev/null jq -n 1 | cut -d' ' -f2)
    result[show,$count]=$(shown "$b1_base" "$B1CACHE" show invoices --cache-dir "$cache")
    result[jq_show,$count]=$(shown "$jq_base" jq -c '.items[]' "$file")
    result[show_id,$count]=$(shown "$b1_base" "$B1CACHE" show invoices --id "$id" --cache-dir "$cache")
    result[jq_show_id,$count]=$(shown "$jq_base" jq -c --arg id "$id" '.items[] | select(.id == $id)' "$file")
    client=$(jq -r '.items[length / 2 | floor].clientId' "$file")
    result[show_client,$count]=$(shown "$b1_base" "$B1CACHE" show invoices --client "$client" --cache-dir "$cache")
    result[jq_show_client,$count]=$(shown "$jq_base" jq -c --arg c "$client" '.items[] | select(.clientId == $c)' "$file")
done

largest=${SIZES[${#SIZES[@]} - 1]}
show_verdict=met
for count in "${SIZES[@]}"; do
    # Aim: show's peak at most 1.5x the envelope file above start-up (as a tree it was 3.2x).
    above=$(sed 's/.*(\([0-9.]*\)× file.*/\1/' <<<"${result[show,$count]}")
    at_least "$above" 1.5 && show_verdict="NOT met"
done
note "timing inspect on $(thousands "$largest") invoices, median of $RUNS"
inspect=$(milliseconds "$RUNS" "$B1CACHE" inspect --cache-dir "$DATA/invoices-$largest")
jq_manifest=$(milliseconds "$RUNS" jq . "$DATA/invoices-$largest/manifest.json")
# The floor under any b1cache command: process start (dynamic loading, Swift runtime and Foundation set-up).
start=$(milliseconds "$RUNS" "$B1CACHE" --version)
# The binary `make install` installs: the static release build (Swift runtime linked in), when it is there.
INSTALLED=.build-release/release/b1cache
installed_inspect=— installed_start=— installed_verdict="not built (make release)"
if [[ -x $INSTALLED ]]; then
    installed_inspect=$(milliseconds "$RUNS" "$INSTALLED" inspect --cache-dir "$DATA/invoices-$largest")
    installed_start=$(milliseconds "$RUNS" "$INSTALLED" --version)
    # Aim: the installed inspect at most 0.75x jq's time on the manifest.
    installed_verdict=met
    awk -v a="${installed_inspect%% *}" -v b="${jq_manifest%% *}" 'BEGIN { exit !(a > 0.75 * b) }' \
        && installed_verdict="NOT met"
fi

# Verdicts hold only when the aim is met at every size.
load_verdict=met
rewrite_verdict=met
for count in "${SIZES[@]}"; do
    at_least "${result[b1_load,$count]}" "${result[jq_load,$count]}" || load_verdict="NOT met"
    at_least "${result[b1_rewrite,$count]}" "$AIM_REWRITE_MB_S" || rewrite_verdict="NOT met"
done
inspect_verdict=met
at_least "${inspect%% *}" "$AIM_INSPECT_MS" && inspect_verdict="NOT met"

# row LABEL UNIT KEY AIM VERDICT: one table row, a cell per size (result[KEY,size] followed by UNIT).
rows=()
row() {
    local cells=() count
    for count in "${SIZES[@]}"; do cells+=("${result[$3,$count]}${2:+ $2}"); done
    rows+=("$1"$'\t'"$(IFS=$'\t'; echo "${cells[*]}")"$'\t'"$4"$'\t'"$5")
}
for count in "${SIZES[@]}"; do
    result[size,$count]=$(mb_per_s "${result[bytes,$count]}" 1)
    result[per_invoice,$count]=$((result[bytes,$count] / count))
done
row "file size" MB size "" ""
row "bytes per invoice" "" per_invoice "" ""
row "load: b1cache (read + Envelope.decode)" MB/s b1_load "≥ jq" "$load_verdict"
row "load: jq empty" MB/s jq_load "" ""
row "load: python3 json.load" MB/s py_load "" ""
row "rewrite: b1cache (Envelope.write: streamed encoding, durable write)" MB/s b1_rewrite "≥ $AIM_REWRITE_MB_S MB/s" "$rewrite_verdict"
row "rewrite: jq -S . > file (parse + write, no fsync)" MB/s jq_rewrite "" ""
row "rewrite: python3 json.dumps + write + fsync" MB/s py_rewrite "" ""
for count in "${SIZES[@]}"; do
    result[inspect,$count]=—
    result[jqmanifest,$count]=—
    result[start,$count]=—
done
result[start,$largest]=$start
result[inspect,$largest]=$inspect
result[jqmanifest,$largest]=$jq_manifest
row "show invoices: b1cache, JSON lines (best time; peak RSS)" "" show "≤ 1.5× file above start-up" "$show_verdict"
row "show invoices: jq -c '.items[]'" "" jq_show "" ""
row "show invoices --id ID: b1cache" "" show_id "" ""
row "show invoices --id ID: jq -c '.items[] | select(.id == ID)'" "" jq_show_id "" ""
row "show invoices --client ID: b1cache" "" show_client "" ""
row "show invoices --client ID: jq -c '.items[] | select(.clientId == ID)'" "" jq_show_client "" ""
row "inspect: b1cache inspect, median of $RUNS" "" inspect "< $AIM_INSPECT_MS ms" "$inspect_verdict"
row "inspect: jq . manifest.json, median of $RUNS" "" jqmanifest "" ""
row "start-up floor: b1cache --version, median of $RUNS" "" start "" ""
for count in "${SIZES[@]}"; do result[installed_inspect,$count]=—; result[installed_start,$count]=—; done
result[installed_inspect,$largest]=$installed_inspect
result[installed_start,$largest]=$installed_start
row "inspect: installed (static) b1cache, median of $RUNS" "" installed_inspect "≤ 0.75× jq" "$installed_verdict"
row "start-up: installed (static) b1cache --version" "" installed_start "" ""

header="measure"
separator="---"
for count in "${SIZES[@]}"; do
    header+=$'\t'"$(thousands "$count") invoices"
    separator+=$'\t'"---:"
done
header+=$'\t'"aim"$'\t'"verdict"
separator+=$'\t'"---"$'\t'"---"

today=$(date -u +%Y-%m-%d)

echo
echo "Envelopes and inspect, $today, $(machine_line) (took $(($(date +%s) - started)) s)"
echo
printf '%s\n' "$header" "${rows[@]}" | print_table
{
    echo "Measured $today on $(machine_line); throughput best of $REPEAT runs, inspect median of $RUNS."
    echo
    printf '%s\n' "$header" "$separator" "${rows[@]}" | markdown_table
} >"$markdown"

#!/usr/bin/env bash
# Benchmarks for `make bench` (which builds the release b1cache and b1bench first).
#
# For each cache size: b1cache's load (read + decode) and durable rewrite of collections/invoices.json, measured
# in-process by b1bench, beside jq and python3 doing the same work on the same file; then `b1cache inspect` on
# the largest cache beside `jq . manifest.json`. Throughputs are best of $BENCH_REPEAT runs, in decimal MB of the
# input file per second; inspect times are medians of $BENCH_RUNS runs, wall clock including process start.
#
# Caches are generated under bench-data/ (git-ignored) by scripts/gen-invoices.py and reused while N and the
# generator are unchanged. The table goes to stdout and, as markdown for BENCHMARKS.md, to bench-data/latest.md.
#
#   BENCH_SIZES="10000 100000"  invoice counts (default)     BENCH_REPEAT=5   runs per throughput figure
#   BENCH_RUNS=20               runs per inspect median

set -euo pipefail

cd "$(dirname "$0")/.."
B1CACHE=.build/release/b1cache
B1BENCH=.build/release/b1bench
DATA=bench-data
read -ra SIZES <<<"${BENCH_SIZES:-10000 100000}"
REPEAT=${BENCH_REPEAT:-5}
RUNS=${BENCH_RUNS:-20}
# Aims: load at least as fast as jq, rewrite ≥ 20 MB/s, inspect < 15 ms (median).
AIM_REWRITE_MB_S=20
AIM_INSPECT_MS=15

for tool in "$B1CACHE" "$B1BENCH"; do
    [[ -x $tool ]] || { echo "bench: $tool is missing; run 'make bench'" >&2; exit 1; }
done
for count in "${SIZES[@]}"; do
    [[ $count =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_SIZES holds '$count', not an invoice count" >&2; exit 2; }
done
for tool in jq python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 1; }
done

# timer RUNS OUT COMMAND…: "BEST MEDIAN", the seconds COMMAND (stdout to OUT) took over RUNS runs.
# perf_counter around subprocess.run: wall clock, process start included.
TIMER=$(cat <<'PY'
import statistics, subprocess, sys, time
runs, out, command = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
times = []
for _ in range(runs):
    with open(out, "wb") as sink:
        start = time.perf_counter()
        subprocess.run(command, stdout=sink, check=True)
        times.append(time.perf_counter() - start)
print("%.6f %.6f" % (min(times), statistics.median(times)))
PY
)
timer() { python3 -c "$TIMER" "$@"; }
best_of() { timer "$@" | cut -d' ' -f1; }
# milliseconds RUNS COMMAND…: "MEDIAN ms (best BEST)" of COMMAND's wall time.
milliseconds() {
    timer "$1" /dev/null "${@:2}" | awk '{ printf "%.1f ms (best %.1f)", $2 * 1000, $1 * 1000 }'
}

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

# field KEY LINE: the value of KEY in a `key=value key=value` line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
# mb_per_s BYTES SECONDS
mb_per_s() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
# at_least A B: true when A ≥ B (decimals)
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
thousands() { sed ':a; s/\B[0-9]\{3\}\>/,&/; ta' <<<"$1"; }
note() { echo "bench: $*" >&2; }

# ensure_cache N: bench-data/invoices-N, generated unless present from the same generator.
ensure_cache() {
    local count=$1 dir=$DATA/invoices-$1 stamp=$DATA/invoices-$1.generator
    local source
    source=$(sha256sum scripts/gen-invoices.py | cut -d' ' -f1)
    if [[ -f $dir/manifest.json && -f $stamp && $(cat "$stamp") == "$source" ]]; then
        note "reusing $dir"
        return
    fi
    note "generating $dir"
    mkdir -p "$DATA"
    rm -f "$stamp"
    python3 scripts/gen-invoices.py "$count" "$dir" >&2
    echo "$source" >"$stamp"
}

declare -A result
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
done

largest=${SIZES[${#SIZES[@]} - 1]}
note "timing inspect on $(thousands "$largest") invoices, median of $RUNS"
inspect=$(milliseconds "$RUNS" "$B1CACHE" inspect --cache-dir "$DATA/invoices-$largest")
jq_manifest=$(milliseconds "$RUNS" jq . "$DATA/invoices-$largest/manifest.json")
# The floor under any b1cache command: process start (dynamic loading, Swift runtime and Foundation set-up).
start=$(milliseconds "$RUNS" "$B1CACHE" --version)

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
row "rewrite: b1cache (encoded + DurableFile.write)" MB/s b1_rewrite "≥ $AIM_REWRITE_MB_S MB/s" "$rewrite_verdict"
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
row "inspect: b1cache inspect, median of $RUNS" "" inspect "< $AIM_INSPECT_MS ms" "$inspect_verdict"
row "inspect: jq . manifest.json, median of $RUNS" "" jqmanifest "" ""
row "start-up floor: b1cache --version, median of $RUNS" "" start "" ""

header="measure"
separator="---"
for count in "${SIZES[@]}"; do
    header+=$'\t'"$(thousands "$count") invoices"
    separator+=$'\t'"---:"
done
header+=$'\t'"aim"$'\t'"verdict"
separator+=$'\t'"---"$'\t'"---"

machine="$(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
today=$(date -u +%Y-%m-%d)

echo
echo "b1cache benchmarks, $today, $machine (took $(($(date +%s) - started)) s)"
echo
# Tab-separated rows as aligned columns: the label left, the figures right, the aim and verdict left. ASCII only,
# because awk's length() may count bytes.
printf '%s\n' "$header" "${rows[@]}" | sed 's/≥/>=/g; s/—/-/g; s/×/x/g' | awk -F'\t' '
    { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > width[i]) width[i] = length($i) } }
    NF > columns { columns = NF }
    END {
        for (r = 1; r <= NR; r++) {
            line = sprintf("%-" width[1] "s", cell[r, 1])
            for (i = 2; i <= columns; i++) {
                align = (i <= columns - 2) ? "" : "-"
                line = line sprintf("   %" align width[i] "s", cell[r, i])
            }
            sub(/ +$/, "", line)
            print line
        }
    }'

{
    echo "Measured $today on $machine; throughput best of $REPEAT runs, inspect median of $RUNS."
    echo
    printf '%s\n' "$header" "$separator" "${rows[@]}" | sed 's/\t/ | /g; s/^/| /; s/$/ |/; s/  *|/ |/g'
} >"$DATA/latest.md"
echo
echo "markdown table: $DATA/latest.md"

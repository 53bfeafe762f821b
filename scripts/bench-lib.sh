# Helpers shared by the `make bench` scripts (bench.sh and its parts); sourced, not run.
# Expects to run from the repository root with `set -euo pipefail`.

B1CACHE=${BENCH_BIN_DIR:-.build/release}/b1cache
B1BENCH=${BENCH_BIN_DIR:-.build/release}/b1bench
DATA=bench-data

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

# field KEY LINE: the value of KEY in a `key=value key=value` line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
# mb_per_s BYTES SECONDS
mb_per_s() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
# per_second COUNT SECONDS
per_second() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / s }'; }
# ratio A B: A / B as "1.23×"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }
# at_least A B: true when A ≥ B (decimals)
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
# larger A B / smaller A B: the larger (smaller) of two decimals; an empty A counts as absent.
larger() { if [[ -z $1 ]] || at_least "$2" "$1"; then echo "$2"; else echo "$1"; fi; }
smaller() { if [[ -z $1 ]] || at_least "$1" "$2"; then echo "$2"; else echo "$1"; fi; }
# whole NUMBER: a decimal rounded to an integer, with thousands separators.
whole() { thousands "$(printf '%.0f' "$1")"; }
thousands() { sed ':a; s/\B[0-9]\{3\}\>/,&/; ta' <<<"$1"; }
note() { echo "bench: $*" >&2; }

# generator_stamp SCRIPT: the hash of a generator, to tell whether data it made is still current.
generator_stamp() { sha256sum "$1" | cut -d' ' -f1; }

machine_line() {
    echo "$(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
}

# print_table: tab-separated rows on stdin (the header first) as aligned columns: the first column left, the
# last ALIGN_LEFT_LAST (default 2) columns left, the others right. ASCII only, because awk's length() may
# count bytes.
print_table() {
    sed 's/≥/>=/g; s/≤/<=/g; s/—/-/g; s/×/x/g; s/…/.../g' | awk -F'\t' -v left="${ALIGN_LEFT_LAST:-2}" '
        { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > width[i]) width[i] = length($i) } }
        NF > columns { columns = NF }
        END {
            for (r = 1; r <= NR; r++) {
                line = sprintf("%-" width[1] "s", cell[r, 1])
                for (i = 2; i <= columns; i++) {
                    align = (i <= columns - left) ? "" : "-"
                    line = line sprintf("   %" align width[i] "s", cell[r, i])
                }
                sub(/ +$/, "", line)
                print line
            }
        }'
}

# markdown_table: the same rows as a markdown table; the separator row is the second line of input.
markdown_table() {
    sed 's/\t/ | /g; s/^/| /; s/$/ |/; s/  *|/ |/g'
}

# ensure_cache N: bench-data/invoices-N, generated unless present from the same generator.
ensure_cache() {
    local count=$1 dir=$DATA/invoices-$1 stamp=$DATA/invoices-$1.generator
    local source
    source=$(generator_stamp scripts/gen-invoices.py)
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

# ensure_writes N: sets writes_cache and writes_file, the cache of N missed-billing items and the N writes on
# them (scripts/gen-writes.py), generated unless present from the same generator.
ensure_writes() {
    local count=$1 stamp=$DATA/writes-$1.generator source
    writes_cache=$DATA/writes-$1
    writes_file=$DATA/writes-$1.jsonl
    source=$(generator_stamp scripts/gen-writes.py)
    if [[ -f $writes_cache/manifest.json && -f $writes_file && -f $stamp && $(cat "$stamp") == "$source" ]]; then
        return
    fi
    note "generating $writes_cache"
    mkdir -p "$DATA"
    rm -f "$stamp"
    python3 scripts/gen-writes.py "$count" "$writes_cache" "$writes_file" >&2
    echo "$source" >"$stamp"
}

# add_row CELL…: appends the cells as one tab-separated row to the array `rows` (for print_table).
add_row() {
    local IFS=$'\t'
    rows+=("$*")
}

# MEASURE OUT COMMAND…: runs COMMAND once (stdout to OUT) and prints "SECONDS MAXRSS_MB" of that one process
# (wait4's rusage: the peak resident memory of COMMAND itself, not of this shell or of earlier children).
MEASURE=$(cat <<'PY'
import os, subprocess, sys, time
out, command = sys.argv[1], sys.argv[2:]
with open(out, "wb") as sink:
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=sink)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
if os.waitstatus_to_exitcode(status) != 0:
    sys.exit(f"{command[0]} exited {os.waitstatus_to_exitcode(status)}")
print("%.3f %.1f" % (seconds, usage.ru_maxrss / 1024))
PY
)
measure() { python3 -c "$MEASURE" "$@"; }

# The reference server for a bench part. It is killed, not asked to stop: SIGTERM waits for open keep-alive
# connections, and its database lives in the part's scratch folder, which the part removes.
server_pid=
stop_server() {
    if [[ -n $server_pid ]]; then
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}

# start_server SEED SCRATCH [TENTHS]: a reference server with a new database in SCRATCH, seeded from the cache
# folder SEED, waited for up to TENTHS tenths of a second (default 100; seeding 100,000 items takes longer);
# sets B1_SERVER_URL.
start_server() {
    local seed=$1 scratch=$2 tenths=${3:-100} url=
    rm -f "$scratch"/server.sqlite*
    # Emptied here, not only by the redirection below: that happens in the child, which may run after the loop
    # has read the previous server's address (then the part talks to a server already killed).
    : >"$scratch/server.out"
    python3 Tests/ReferenceServer/server.py --port 0 --seed "$seed" --db "$scratch/server.sqlite" \
        >"$scratch/server.out" 2>"$scratch/server.err" &
    server_pid=$!
    for _ in $(seq "$tenths"); do
        url=$(sed -n 's/^listening on //p' "$scratch/server.out")
        [[ -n $url ]] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    [[ -n $url ]] || { note "the reference server did not start: $(cat "$scratch/server.err")"; exit 1; }
    export B1_SERVER_URL=$url
}

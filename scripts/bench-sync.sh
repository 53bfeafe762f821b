#!/usr/bin/env bash
# `make bench`, sync part (run by bench.sh; writes its markdown table to the file named by $1).
#
# A collection of BENCH_SYNC_SIZE invoices (100,000 by default, from scripts/gen-invoices.py) served by the reference
# server; b1cache pulls it into an empty cache, measured as one process: wall time and peak memory (wait4).
#
#   full sync           b1cache sync invoices into an empty root: every page, merged, the envelope written once
#   incremental sync    after /admin/mutate changed 100 invoices and deleted 10: only those pages, merged into the
#                       cached 100,000 and the envelope written once
#   no-change sync      the same sync again with nothing new on the server: the envelope must stay as it was
#   floor               b1bench load-rewrite of the envelope: one load and one durable rewrite, in-process
#   peer: plain client  python3 http.client fetching the same pages and keeping the items in a list (no file)
#   peer: jq            jq reading the envelope sync wrote ('.items | length'), and python3's json.load of it
#   inspect             b1cache inspect on that cache, beside jq . manifest.json (median of BENCH_RUNS)
#
#   BENCH_SYNC_SIZE=100000   invoices      BENCH_RUNS=20   runs per inspect median
#   BENCH_SYNC_ROUNDS=3      rounds of all the sync measures, taking turns; each figure is the median

set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh

OUT=${1:-/dev/null}
SIZE=${BENCH_SYNC_SIZE:-100000}
RUNS=${BENCH_RUNS:-20}
[[ $SIZE =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_SYNC_SIZE holds '$SIZE', not a count" >&2; exit 2; }

scratch=$DATA/scratch-sync
trap 'stop_server; rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
rm -rf "$scratch"
mkdir -p "$scratch"
ensure_cache "$SIZE"
seed=$DATA/invoices-$SIZE

note "starting the reference server seeded with $SIZE invoices"
start_server "$seed" "$scratch" 1200
url=$B1_SERVER_URL
export B1_TOKEN=b1-dev-token
root=$scratch/cache
envelope=$root/collections/invoices.json

PLAIN=$(cat <<'PY'
import http.client, json, sys, urllib.parse
url = urllib.parse.urlsplit(sys.argv[1])
connection = http.client.HTTPConnection(url.hostname, url.port)
items, since = [], None
while True:
    path = "/v1/collections/invoices?limit=1000" + (f"&since={urllib.parse.quote(since)}" if since else "")
    connection.request("GET", path, headers={"Authorization": "Bearer b1-dev-token"})
    page = json.loads(connection.getresponse().read())
    items += page["items"]
    since = page["cursor"]
    if not page["hasMore"]:
        break
print(len(items))
PY
)
ROUNDS=${BENCH_SYNC_ROUNDS:-3}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_SYNC_ROUNDS holds '$ROUNDS', not a count" >&2; exit 2; }
# median VALUES…: the median of the numbers given.
median() { python3 -c 'import statistics, sys; print("%.3f" % statistics.median(float(v) for v in sys.argv[1:]))' "$@"; }
stamp() { stat -c '%i %Y %s' "$1"; }
declare -a full_s full_mb inc_s inc_mb none_s none_mb floor_s plain_s plain_mb jq_s jq_mb py_s py_mb
for round in $(seq "$ROUNDS"); do
    note "round $round of $ROUNDS: full sync"
    rm -rf "$root"
    read -r s m < <(measure /dev/null "$B1CACHE" sync invoices --no-flush --cache-dir "$root"); full_s+=("$s"); full_mb+=("$m")
    count=$(jq '.collections.invoices.count' "$root/manifest.json")
    expected=$((SIZE - 10 * (round - 1)))  # each earlier round deleted 10
    [[ $count == "$expected" ]] || { note "the full sync cached $count invoices, not $expected"; exit 1; }
    bytes=$(stat -c %s "$envelope")

    note "round $round: incremental sync after 100 changes and 10 deletions"
    python3 - "$url" "$envelope" "$round" <<'PY'
import json, sys, urllib.request
url, envelope, round = sys.argv[1], sys.argv[2], int(sys.argv[3])
ids = [item["id"] for item in json.load(open(envelope))["items"]]
body = {"collection": "invoices",
        "patch": [{"id": i, "set": {"status": "PAID", "amountDue": round}} for i in ids[1000:1100]],
        "delete": ids[5000:5010]}
urllib.request.urlopen(urllib.request.Request(url + "/admin/mutate", data=json.dumps(body).encode(), method="POST")).read()
PY
    read -r s m < <(measure "$scratch/incremental.json" "$B1CACHE" sync invoices --no-flush --json --cache-dir "$root")
    inc_s+=("$s"); inc_mb+=("$m")
    received=$(jq '.collections[0].received' "$scratch/incremental.json")
    removed=$(jq '.collections[0].removed' "$scratch/incremental.json")
    [[ $received == 100 && $removed == 10 ]] || { note "the incremental sync received $received and removed $removed"; exit 1; }

    note "round $round: sync with no change"
    before=$(stamp "$envelope")
    read -r s m < <(measure /dev/null "$B1CACHE" sync invoices --no-flush --cache-dir "$root"); none_s+=("$s"); none_mb+=("$m")
    [[ $(stamp "$envelope") == "$before" ]] || { note "the no-change sync rewrote the envelope"; exit 1; }

    note "round $round: floor and peers"
    line=$("$B1BENCH" load-rewrite "$envelope" --repeat 1)
    floor_s+=("$(awk -v a="$(field load_s "$line")" -v b="$(field rewrite_s "$line")" 'BEGIN { printf "%.3f", a + b }')")
    read -r s m < <(measure "$scratch/plain.txt" python3 -c "$PLAIN" "$url"); plain_s+=("$s"); plain_mb+=("$m")
    read -r s m < <(measure /dev/null jq '.items | length' "$envelope"); jq_s+=("$s"); jq_mb+=("$m")
    read -r s m < <(measure /dev/null python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$envelope")
    py_s+=("$s"); py_mb+=("$m")
done
version=$(milliseconds "$RUNS" "$B1CACHE" --version)
inspect=$(milliseconds "$RUNS" "$B1CACHE" inspect --cache-dir "$root")
jq_manifest=$(milliseconds "$RUNS" jq . "$root/manifest.json")
# times of a list: "MEDIAN s (LOW–HIGH)"
spread() { python3 -c 'import statistics, sys; v = [float(x) for x in sys.argv[1:]]; print("%.3f s (%.3f–%.3f)" % (statistics.median(v), min(v), max(v)))' "$@"; }
# peak of a list and its ratio to the envelope: "MEDIAN MB (R× file)"
peak() { python3 -c 'import statistics, sys; b = float(sys.argv[1]); m = statistics.median(float(x) for x in sys.argv[2:]); print("%.1f MB (%.2f× file)" % (m, m * 1e6 / b))' "$bytes" "$@"; }
mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
rows=()
rows+=("measure	time	peak memory	what")
rows+=("b1cache sync, full	$(spread "${full_s[@]}")	$(peak "${full_mb[@]}")	$(whole "$SIZE") invoices in pages of 1,000, envelope of $mb MB written once")
rows+=("b1cache sync, incremental	$(spread "${inc_s[@]}")	$(peak "${inc_mb[@]}")	100 changed, 10 deleted, merged into the cached $(whole "$SIZE"), written once")
rows+=("b1cache sync, no change	$(spread "${none_s[@]}")	$(peak "${none_mb[@]}")	nothing new: the envelope left as it was (inode, mtime, size checked), the manifest written")
rows+=("floor: load + durable rewrite	$(spread "${floor_s[@]}")	-	b1bench load-rewrite of that envelope (in-process)")
rows+=("b1cache --version	${version}	-	median of $RUNS: process start")
rows+=("peer: python3 http.client	$(spread "${plain_s[@]}")	$(peak "${plain_mb[@]}")	the same pages fetched into a list, nothing written")
rows+=("peer: jq '.items | length'	$(spread "${jq_s[@]}")	$(peak "${jq_mb[@]}")	reading the envelope sync wrote")
rows+=("peer: python3 json.load	$(spread "${py_s[@]}")	$(peak "${py_mb[@]}")	the same")
rows+=("b1cache inspect	${inspect}	-	median of $RUNS, the manifest only")
rows+=("peer: jq . manifest.json	${jq_manifest}	-	median of $RUNS")
echo
echo "Sync of $(whole "$SIZE") invoices ($mb MB envelope) from the reference server on $(machine_line); medians of $ROUNDS rounds"
printf '%s\n' "${rows[@]}" | ALIGN_LEFT_LAST=1 print_table
{
    echo "Sync of $(whole "$SIZE") invoices ($mb MB envelope) from the reference server, $(machine_line); medians of $ROUNDS rounds (range in brackets); \`BENCH_PARTS=sync make bench\`."
    echo
    {
        printf '%s\n' "${rows[0]}"
        echo "---	---:	---:	---"
        printf '%s\n' "${rows[@]:1}"
    } | sed 's/\.items | length/.items \\| length/' | markdown_table
} >"$OUT"

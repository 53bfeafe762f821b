#!/usr/bin/env bash
# `make bench`, sync part (run by bench.sh; writes its markdown table to the file named by $1).
#
# A collection of BENCH_SYNC_SIZE invoices (100,000 by default, from scripts/gen-invoices.py) served by the reference
# server; b1cache pulls it into an empty cache, measured as one process: wall time and peak memory (wait4).
#
#   full sync           b1cache sync invoices into an empty root: every page, merged, the envelope written once
#   incremental sync    after /admin/mutate changed 100 invoices and deleted 10: only those pages, merged into the
#                       cached 100,000 and the envelope written once
#   peer: plain client  python3 http.client fetching the same pages and keeping the items in a list (no file)
#   peer: jq            jq reading the envelope sync wrote ('.items | length'), and python3's json.load of it
#   inspect             b1cache inspect on that cache, beside jq . manifest.json (median of BENCH_RUNS)
#
#   BENCH_SYNC_SIZE=100000   invoices      BENCH_RUNS=20   runs per inspect median

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

note "full sync"
read -r full_s full_mb < <(measure /dev/null "$B1CACHE" sync invoices --no-flush --cache-dir "$root")
count=$(jq '.collections.invoices.count' "$root/manifest.json")
[[ $count == "$SIZE" ]] || { note "the full sync cached $count invoices, not $SIZE"; exit 1; }
bytes=$(stat -c %s "$envelope")

note "incremental sync after 100 changes and 10 deletions"
python3 - "$url" "$envelope" <<'PY'
import json, sys, urllib.request
url, envelope = sys.argv[1], sys.argv[2]
ids = [item["id"] for item in json.load(open(envelope))["items"]]
body = {"collection": "invoices", "patch": [{"id": i, "set": {"status": "PAID", "amountDue": 0}} for i in ids[1000:1100]],
        "delete": ids[5000:5010]}
urllib.request.urlopen(urllib.request.Request(url + "/admin/mutate", data=json.dumps(body).encode(), method="POST")).read()
PY
read -r incremental_s incremental_mb < <(measure "$scratch/incremental.json" "$B1CACHE" sync invoices --no-flush --json --cache-dir "$root")
received=$(jq '.collections[0].received' "$scratch/incremental.json")
removed=$(jq '.collections[0].removed' "$scratch/incremental.json")
[[ $received == 100 && $removed == 10 ]] || { note "the incremental sync received $received and removed $removed"; exit 1; }

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
note "peers"
read -r plain_s plain_mb < <(measure "$scratch/plain.txt" python3 -c "$PLAIN" "$url")
read -r jq_s jq_mb < <(measure /dev/null jq '.items | length' "$envelope")
read -r py_s py_mb < <(measure /dev/null python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$envelope")
inspect=$(milliseconds "$RUNS" "$B1CACHE" inspect --cache-dir "$root")
jq_manifest=$(milliseconds "$RUNS" jq . "$root/manifest.json")

mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
rows=()
rows+=("measure	time	peak memory	what")
rows+=("b1cache sync, full	${full_s} s	${full_mb} MB	$(whole "$SIZE") invoices in pages of 1,000, envelope of $mb MB written once")
rows+=("b1cache sync, incremental	${incremental_s} s	${incremental_mb} MB	100 changed, 10 deleted, merged into the cached $(whole "$SIZE"), written once")
rows+=("peer: python3 http.client	${plain_s} s	${plain_mb} MB	the same pages fetched into a list, nothing written")
rows+=("peer: jq '.items | length'	${jq_s} s	${jq_mb} MB	reading the envelope sync wrote")
rows+=("peer: python3 json.load	${py_s} s	${py_mb} MB	the same")
rows+=("b1cache inspect	${inspect}	-	median of $RUNS, the manifest only")
rows+=("peer: jq . manifest.json	${jq_manifest}	-	median of $RUNS")
echo
echo "Sync of $(whole "$SIZE") invoices ($mb MB envelope) from the reference server on $(machine_line)"
printf '%s\n' "${rows[@]}" | ALIGN_LEFT_LAST=1 print_table
{
    echo "Sync of $(whole "$SIZE") invoices ($mb MB envelope) from the reference server, $(machine_line); \`BENCH_PARTS=sync make bench\`."
    echo
    {
        printf '%s\n' "${rows[0]}"
        echo "---	---:	---:	---"
        printf '%s\n' "${rows[@]:1}"
    } | sed 's/\.items | length/.items \\| length/' | markdown_table
} >"$OUT"

#!/usr/bin/env bash
# make demo: the main job on the embedded sample data, in a temporary copy (SampleCache is never modified).
#
# Offline, it reads the cache and queues two more writes; then it starts the reference server
# (Tests/ReferenceServer/server.py) on a free port, flushes the queue to it with progress, shows the cache
# before and after, runs `b1cache watch` through a server outage and a change made on the server, and stops the
# server. The temporary folder (cache copy and server database) and the
# server go away on every exit path, Ctrl-C included.
set -euo pipefail
bin=${1:?usage: demo.sh PATH/TO/b1cache}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/b1cache-demo.XXXXXX")
server_pid=

stop_server() {
    [[ -n $server_pid ]] || return 0
    # SIGTERM stops the server cleanly, but it waits for open keep-alive connections: give it 2 s, then kill.
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 40); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}
trap 'stop_server; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP

cp -R "$here/SampleCache" "$work/cache"
# git keeps no file modes; give the copy the ones b1cache gives its own files.
find "$work/cache" -type d -exec chmod 700 {} + && find "$work/cache" -type f -exec chmod 600 {} +
export B1CACHE_DIR="$work/cache"

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi
heading() { printf '\n%s== %s ==%s\n' "$bold" "$*" "$plain"; }
say() { printf '%s\n' "$*"; }
# step COMMAND…: shows the command (as `b1cache …`), then runs it.
step() {
    local shown=("$@")
    [[ ${shown[0]} == "$bin" ]] && shown[0]=b1cache
    printf '\n%s$ %s%s\n' "$bold" "${shown[*]}" "$plain"
    "$@"
}
# shell TEXT: shows a pipeline as typed, then runs it with b1cache standing for the binary.
shell() {
    printf '\n%s$ %s%s\n' "$bold" "$1" "$plain"
    b1cache() { "$bin" "$@"; }
    eval "$1"
    unset -f b1cache
}

heading "1. Offline: what the cache holds"
say "A copy of SampleCache in $work/cache: the last synced data of an NZ managed-service provider,"
say "with 3 writes queued while offline and 1 that failed earlier."
step "$bin" inspect
step "$bin" show missed-billing --id "$(jq -r '.items[] | select(.status == "open") | .id' "$work/cache/collections/missed-billing.json" | head -n 1)"
shell "b1cache show generated-invoices | jq -c 'select(.status == \"draft\") | {number, total}'"

heading "2. Still offline: queue two more writes"
say "Each line is validated against the cache before any is written; the batch costs one folder fsync."
cat >"$work/writes.jsonl" <<'JSON'
{"kind": "missed-billing.action", "payload": {"itemId": "mb_f3rqrj23s7", "action": "snooze", "snoozeUntil": "2027-02-01T00:00:00Z"}}
{"kind": "contract.line-tax", "payload": {"contractId": "ct_z8znb2ce29", "lineId": "ctl_ptjqy15w59", "taxCode": "EXEMPTOUTPUT", "taxRate": 0}}
JSON
step "$bin" enqueue --batch "$work/writes.jsonl"
step "$bin" queue
shell "b1cache show missed-billing --id mb_f3rqrj23s7 --with-pending | jq -c '{id, status, snoozeUntil, _pending}'"

heading "3. Back online: start the reference server"
python3 "$here/Tests/ReferenceServer/server.py" --port 0 --seed "$here/SampleCache" --db "$work/server.sqlite" \
    >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
url=
for _ in $(seq 200); do
    url=$(sed -n 's/^listening on //p' "$work/server.out")
    [[ -n $url ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
done
if [[ -z $url ]]; then
    echo "demo: the reference server did not start:" >&2
    cat "$work/server.log" >&2
    exit 1
fi
say "Listening on $url (pid $server_pid), seeded with the same account and data as the cache."
say "It answers every request after 300 ms, as a slow mobile link would (POST /admin/faults {\"latencyMs\": 300})."
python3 - "$url" <<'PY'
import json, sys, urllib.request
body = json.dumps({"latencyMs": 300}).encode()
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/admin/faults", data=body, method="POST"), timeout=10).read()
PY
printf '\n%s$ export B1_SERVER_URL=%s B1_TOKEN=b1-dev-token%s\n' "$bold" "$url" "$plain"
export B1_SERVER_URL=$url B1_TOKEN=b1-dev-token

heading "4. Flush the queue"
say "In queue order, in batches of up to 100 writes, each with its id as the idempotency key."
say "The server's answers replace the cached items; then each write leaves the queue."
step "$bin" flush
step "$bin" log
say
say "Without --with-pending: the cached item itself now holds the server's answer."
shell "b1cache show missed-billing --id mb_f3rqrj23s7 | jq -c '{id, status, snoozeUntil, _pending}'"

heading "5. After the flush"
step "$bin" inspect
say
say "The failed write from before stays in failed/ until 'b1cache retry' or 'b1cache drop'."

heading "6. Nothing typed: the watcher"
say "b1cache watch keeps the cache in step by itself: it flushes when the server answers again or a write is"
say "queued, and pulls what the server's change feed (GET /v1/events) says changed."
admin() {
    python3 - "$url" "$1" "$2" <<'PY'
import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1] + sys.argv[2], data=sys.argv[3].encode(), method="POST")
urllib.request.urlopen(request, timeout=10).read()
PY
}
admin /admin/faults '{}'
printf '%s\n' "$B1_TOKEN" >"$work/token" && chmod 600 "$work/token"
printf '\n%s$ b1cache watch --token-file %s &%s\n' "$bold" "$work/token" "$plain"
"$bin" watch --token-file "$work/token" 2>"$work/watch.log" &
watch_pid=$!
# wait_for SECONDS CONDITION: polls the condition (a shell command) until it holds, at most SECONDS.
wait_for() {
    local deadline=$((SECONDS + $1))
    until eval "$2"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}
wait_for 20 '"$bin" status --json 2>/dev/null | jq -e ".watcher.running" >/dev/null' || true
say
say "The server goes away for 4 s (POST /admin/offline), and a write is queued meanwhile:"
admin /admin/offline '{"seconds": 4, "mode": "reset"}'
step "$bin" enqueue missed-billing.action --payload '{"itemId":"mb_6300ys2s9e","action":"mark-reviewed"}'
wait_for 60 '[[ -z $(ls "$work/cache/queue" | grep .json) ]]' && say "… the server is back: the watcher flushed it by itself." \
    || say "(the watcher has not flushed yet: see $work/watch.log)"
shell "b1cache show missed-billing --id mb_6300ys2s9e | jq -c '{id, status}'"
say
say "A change made on BillingOne web (POST /admin/mutate) reaches the cache file with no command typed:"
admin /admin/mutate '{"collection": "clients", "upsert": [{"id": "cl_demo_web", "name": "Added on the web Ltd"}]}'
wait_for 30 'grep -q cl_demo_web "$work/cache/collections/clients.json"' \
    && shell "jq -c '.items[] | select(.id == \"cl_demo_web\")' \"\$B1CACHE_DIR/collections/clients.json\"" \
    || say "(not there yet: see $work/watch.log)"
say
say "What the watcher printed (stderr):"
kill -TERM "$watch_pid" 2>/dev/null || true
wait "$watch_pid" 2>/dev/null || true
sed 's/^/  /' "$work/watch.log"

heading "7. Stop the server"
stop_server
say "Stopped. The temporary folder $work goes away when this script ends."

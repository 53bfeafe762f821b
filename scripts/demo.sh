#!/usr/bin/env bash
# make demo: the main job on the embedded sample data, in a temporary copy (SampleCache is never modified).
set -euo pipefail
bin=${1:?usage: demo.sh PATH/TO/b1cache}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/b1cache-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -R "$here/SampleCache" "$work/cache"
# git keeps no file modes; give the copy the ones b1cache gives its own files.
find "$work/cache" -type d -exec chmod 700 {} + && find "$work/cache" -type f -exec chmod 600 {} +
export B1CACHE_DIR="$work/cache"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$bin" inspect
step "$bin" show missed-billing --id "$(jq -r '.items[] | select(.status == "open") | .id' "$work/cache/collections/missed-billing.json" | head -n 1)"
printf '\n\033[1m$ b1cache show generated-invoices | jq -c '"'"'select(.status == "draft") | {number, total}'"'"'\033[0m\n'
"$bin" show generated-invoices | jq -c 'select(.status == "draft") | {number, total}'

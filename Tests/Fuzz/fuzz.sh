#!/usr/bin/env bash
# make fuzz: builds the libFuzzer target over b1cache's decoders and runs it for FUZZ_SECONDS (default 60).
#
#   Tests/Fuzz/fuzz.sh [SECONDS]        build if a source changed, then fuzz; exit 1 on a crash
#   FUZZ_BUILD_ONLY=1 Tests/Fuzz/fuzz.sh
#
# The target is not a SwiftPM product: swiftc compiles the B1Cache sources, the shared properties
# (Tests/B1CacheTests/Support/DecoderProperties.swift) and the entry point into one module with
# -sanitize=fuzzer. It is built without optimisation: that halves the build, and keeps the bounds checks of
# UnsafeBufferPointer (the JSON parser reads through one) that -O removes.
#
# Everything it makes is under .build-fuzz/ (git-ignored): the binary, the seeds (made from SampleCache each run,
# plus Tests/Fuzz/corpus/), the corpus it grows (kept between runs), and crashes/ with any input that crashed.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
seconds=${1:-${FUZZ_SECONDS:-60}}
out=.build-fuzz
binary=$out/fuzz-decoders
swiftc=${SWIFTC:-swiftc}
mkdir -p "$out/seeds" "$out/corpus" "$out/crashes"

sources=$(find Sources/B1Cache -name '*.swift' | LC_ALL=C sort)
entry=(Tests/B1CacheTests/Support/DecoderProperties.swift Tests/Fuzz/FuzzEntryPoint.swift)
stale=1
if [ -x "$binary" ] && [ -z "$(find $sources "${entry[@]}" -newer "$binary" | head -n 1)" ]; then stale=0; fi
if [ "$stale" = 1 ]; then
    start=$(date +%s)
    # shellcheck disable=SC2086 # one word per source file (no spaces in the repository's paths)
    if ! "$swiftc" -sanitize=fuzzer -parse-as-library -Onone -j2 -D B1CACHE_FUZZ -module-name B1CacheFuzz \
        $sources "${entry[@]}" -o "$binary.new"; then
        # A toolchain without libFuzzer (possibly Xcode's; not checked) cannot build an empty target: skip.
        # Anything else is a compile error in the sources, which fails.
        probe=$out/probe
        mkdir -p "$probe"
        printf '@_cdecl("LLVMFuzzerTestOneInput") public func f(_ d: UnsafePointer<UInt8>?, _ n: Int) -> CInt { 0 }\n' \
            > "$probe/probe.swift"
        if ! "$swiftc" -sanitize=fuzzer -parse-as-library "$probe/probe.swift" -o "$probe/probe" > /dev/null 2>&1; then
            echo "fuzz: skipped: $swiftc cannot link libFuzzer here (-sanitize=fuzzer); the Linux toolchain from swift.org can"
            exit 0
        fi
        exit 1
    fi
    mv "$binary.new" "$binary"
    echo "fuzz: built $binary in $(( $(date +%s) - start )) s"
fi
[ "${FUZZ_BUILD_ONLY:-0}" = 1 ] && exit 0

# Seeds: every file of SampleCache behind the selector byte of its decoder (see FuzzTarget), and the write file
# names. Large envelopes are cut to max_len by libFuzzer, which makes truncated files for free.
rm -f "$out/seeds/"*
seed() { { printf '%s' "$1"; cat "$2"; } > "$out/seeds/$3"; }
for file in SampleCache/collections/*.json; do seed 1 "$file" "envelope-$(basename "$file")"; done
seed 2 SampleCache/manifest.json manifest.json
for file in SampleCache/queue/*.json SampleCache/failed/*.json; do
    name=$(basename "$file")
    seed 3 "$file" "write-$name"
    printf '4%s' "$name" > "$out/seeds/name-$name"
done

# A run over no seeds would still pass: refuse it.
if [ -z "$(ls -A "$out/seeds")" ] || [ -z "$(ls -A Tests/Fuzz/corpus)" ]; then
    echo "fuzz: no seeds in $out/seeds or Tests/Fuzz/corpus; nothing to start from" >&2
    exit 1
fi
log=$out/last-run.log
set +e
SWIFT_BACKTRACE=enable=no "$binary" -max_total_time="$seconds" -timeout=10 -max_len=8192 -print_final_stats=1 \
    -dict=Tests/Fuzz/b1cache.dict -artifact_prefix="$out/crashes/" \
    "$out/corpus" "$out/seeds" Tests/Fuzz/corpus Tests/Fuzz/regressions > "$log" 2>&1
status=$?
set -e
grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss_mb)' "$log" || true
# Keep the grown corpus small enough to load in a few seconds: past 1,000 files, keep only inputs that add coverage.
if [ "$status" = 0 ] && [ "$(find "$out/corpus" -type f | wc -l)" -gt 1000 ]; then
    rm -rf "$out/corpus.min" && mkdir "$out/corpus.min"
    SWIFT_BACKTRACE=enable=no "$binary" -merge=1 "$out/corpus.min" "$out/corpus" > "$out/merge.log" 2>&1 \
        && rm -rf "$out/corpus" && mv "$out/corpus.min" "$out/corpus"
fi
echo "fuzz: corpus $(find "$out/corpus" -type f | wc -l) inputs in $out/corpus; log in $log"
executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
if [ "$status" = 0 ] && [ "${executed:-0}" -lt 1 ]; then
    echo "fuzz: the fuzzer ran no input (see $log)" >&2
    exit 1
fi
if [ "$status" != 0 ]; then
    grep -E 'Fatal error|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" || tail -n 30 "$log"
    echo "fuzz: a crash. Fix it, then copy the input from $out/crashes/ to Tests/Fuzz/regressions/<what-it-is>" >&2
    echo "      (replayed by 'swift test --filter FuzzRegressionTests'). Reproduce: $binary <input>" >&2
    exit 1
fi

# b1cache — the two commands a fresh clone needs are `make demo` and `make test`.
SWIFT     ?= swift
PREFIX    ?= /usr/local
BIN_DEBUG  = .build/debug/b1cache
BIN_RELEASE = .build/release/b1cache

.PHONY: build release test demo bench stress mutate install clean server

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release --product b1cache

# The whole suite: Swift Testing tests drive the real b1cache binary (and, where present, the reference server).
# It cannot hang: every process a test starts has a time limit, and so has the whole run where `timeout` exists.
TEST_TIME_LIMIT ?= 1200
# --foreground keeps swift test in make's process group, so Ctrl-C still reaches it (it stops its test process).
TEST_TIMEOUT = $(shell timeout --foreground --kill-after=30 5 true >/dev/null 2>&1 \
	&& echo timeout --foreground --kill-after=30 $(TEST_TIME_LIMIT))
test:
	python3 scripts/make-sample-cache.py --check
	scripts/mutate.sh --check
	$(SWIFT) build
	B1CACHE_BIN=$(CURDIR)/$(BIN_DEBUG) $(TEST_TIMEOUT) $(SWIFT) test
	Tests/Fuzz/fuzz.sh 5
	@if [ -f Tests/ReferenceServer/test_server.py ]; then python3 Tests/ReferenceServer/test_server.py; fi

# libFuzzer over the decoders (envelope, manifest, write file and its name, lock owner) for FUZZ_SECONDS; build
# and corpus in .build-fuzz/. A crash exits 1 and leaves the input in .build-fuzz/crashes/ (docs/RELIABILITY.md).
.PHONY: fuzz
FUZZ_SECONDS ?= 60
fuzz:
	Tests/Fuzz/fuzz.sh $(FUZZ_SECONDS)

# Each deliberate break of scripts/mutations.txt applied alone to a scratch copy, the suite run on each (long: about
# 15 x the suite); every one must be caught. MUTATE_QUICK=1 runs only each one's own suites. See docs/RELIABILITY.md.
mutate:
	@scripts/mutate.sh

# The main job on the embedded sample data, in a temporary copy (SampleCache itself is never touched).
demo: release
	@scripts/demo.sh $(CURDIR)/$(BIN_RELEASE)

bench:
	$(SWIFT) build -c release --product b1cache
	$(SWIFT) build -c release --product b1bench
	@scripts/bench.sh

# The reliability scenarios at full length plus the fuzzer (long: minutes); see docs/RELIABILITY.md.
stress:
	@scripts/stress.sh

install: release
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN_RELEASE) $(DESTDIR)$(PREFIX)/bin/b1cache

server:
	python3 Tests/ReferenceServer/server.py --port 8787 --seed SampleCache

clean:
	rm -rf .build .build-fuzz bench-data

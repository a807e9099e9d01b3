# redrive: the two entry points are `make demo` and `make test`.
BUILD_DIR ?= build
ASAN_DIR  ?= build-asan
JOBS      ?= $(shell nproc)
DURATION  ?= 60
RATE      ?= 20
SEED      ?= 1
RUNS      ?= 10
CMAKE_GEN := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
SOURCES    = $(shell git ls-files '*.cpp' '*.hpp' 2>/dev/null)
PREFIX    ?= /usr/local
# What `make install` puts in $(DESTDIR)$(PREFIX)/bin: the shipped binaries (not the tests)
# and the kubectl plugin.
INSTALL_BINS = redrivectl redrive-worker redrive-controller gateway-sim

.PHONY: help deps build test unit integration asan demo soak format format-check bench bench-quick install clean fuzz

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

deps: ## install every missing Debian package (idempotent)
	@scripts/install-deps

build: deps ## build every binary into build/bin/
	@test -f $(BUILD_DIR)/CMakeCache.txt || cmake -S . -B $(BUILD_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build ## install deps, build, run every test (unit + integration) through ctest
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

unit: build ## only the pure unit tests
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L unit

integration: build ## only the tests against a real PostgreSQL
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L integration

asan: deps ## address + undefined-behaviour sanitizer build running every test
	@test -f $(ASAN_DIR)/CMakeCache.txt || cmake -S . -B $(ASAN_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DREDRIVE_SANITIZE=ON
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp ctest --output-on-failure -j $(JOBS)

demo: build ## run the whole system locally (DURATION=seconds RATE=orders/s)
	@BUILD_DIR=$(BUILD_DIR) DURATION=$(DURATION) RATE=$(RATE) scripts/demo

soak: build ## randomized fault schedules with invariant checks (SEED=n RUNS=n)
	$(BUILD_DIR)/bin/redrive-soak --seed $(SEED) --runs $(RUNS)

bench: build ## issue 7 benchmarks vs graphile-worker and pg-boss: one table, bench/RESULTS.md
	@BUILD_DIR=$(BUILD_DIR) scripts/bench

bench-quick: build ## the same benchmarks at reduced sizes, in under 3 minutes
	@BUILD_DIR=$(BUILD_DIR) scripts/bench-quick

FUZZ_SECONDS ?= 60
fuzz: ## libFuzzer (clang) on the event decoder and the config parser, FUZZ_SECONDS each
	@scripts/install-deps --fuzz
	@FUZZ_DIR=build-fuzz fuzz/build.sh
	@FUZZ_DIR=build-fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

install: ## copy the built binaries and kubectl-redrive to $(PREFIX)/bin (PREFIX=/usr/local)
	@for bin in $(INSTALL_BINS); do \
	  test -x $(BUILD_DIR)/bin/$$bin || { echo "make install: $(BUILD_DIR)/bin/$$bin is missing; run make build first" >&2; exit 1; }; \
	done
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(addprefix $(BUILD_DIR)/bin/,$(INSTALL_BINS)) tools/kubectl-redrive $(DESTDIR)$(PREFIX)/bin/

format: ## rewrite every C++ file with clang-format
	clang-format -i $(SOURCES)

format-check: ## fail when a C++ file is not clang-format clean
	clang-format --dry-run --Werror $(SOURCES)

clean: ## remove build trees
	rm -rf $(BUILD_DIR) $(ASAN_DIR) build-fuzz

# The README's commands. CMake does the building; this file names the jobs.
#
#   make run     build, then run the main job: train a CNN on the bundled
#                digits and evaluate it (ARGS="--model mlp" etc. to change it)
#   make test    build and test three ways: optimized with OpenBLAS,
#                AddressSanitizer + UndefinedBehaviorSanitizer, and without
#                OpenBLAS (the fallback GEMM); then install and build an
#                example against the installed library
#   make bench   build optimized and print the benchmark tables
#   make install PREFIX=/usr/local

JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
CMAKE  ?= cmake
CTEST  ?= ctest

.PHONY: all build run test test-release test-sanitize test-fallback test-install bench install clean

all: build

build:
	@$(CMAKE) -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
	@$(CMAKE) --build build/release -j $(JOBS)

ARGS ?=

run: build
	build/release/nabla-train --data data --out build/nabla-out $(ARGS)

test-release: build
	$(CTEST) --test-dir build/release --output-on-failure -j $(JOBS)

test-sanitize:
	@$(CMAKE) -S . -B build/sanitize -DCMAKE_BUILD_TYPE=Debug -DNB_SANITIZE=address,undefined >/dev/null
	@$(CMAKE) --build build/sanitize -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(CTEST) --test-dir build/sanitize --output-on-failure -j $(JOBS)

test-fallback:
	@$(CMAKE) -S . -B build/fallback -DCMAKE_BUILD_TYPE=Release -DNB_USE_OPENBLAS=OFF >/dev/null
	@$(CMAKE) --build build/fallback -j $(JOBS)
	$(CTEST) --test-dir build/fallback --output-on-failure -j $(JOBS)

test-install: build
	@scripts/check-install

test: test-release test-sanitize test-fallback test-install
	@scripts/line-counts
	@echo "== all three builds passed (release with OpenBLAS, ASan+UBSan, fallback GEMM)"

bench: build
	@for b in build/release/bench_*; do echo "== $$b"; "$$b" || exit 1; done

install: build
	$(CMAKE) --install build/release --prefix $(PREFIX)

clean:
	rm -rf build

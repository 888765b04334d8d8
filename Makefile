# The README's commands. CMake does the building; this file names the jobs.
#
#   make run     build the library and the training program (quietly: one
#                configure line, the build log only on failure), then run
#                the main job: train a CNN on the bundled digits and evaluate
#                it (ARGS="--model mlp" etc. to change it)
#   make test    build and test three ways: optimized with OpenBLAS,
#                AddressSanitizer + UndefinedBehaviorSanitizer, and without
#                OpenBLAS (the fallback GEMM); then install and build an
#                example against the installed library. Warnings are errors
#                here (NB_WERROR), not in `make run`'s or a user's build.
#   make proofs  what CI adds to make test (issue 9): make fuzz (each
#                libFuzzer target for a minute), make test-tsan (the tests
#                and a four-thread stress run under ThreadSanitizer), make
#                test-valgrind (examples and short training runs under
#                memcheck)
#   make bench   build optimized and print the benchmark tables
#   make install PREFIX=/usr/local

JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
CMAKE  ?= cmake
CTEST  ?= ctest

# Every test program runs under this limit (seconds): a hang fails.
TEST_TIMEOUT ?= 900
CTEST_ARGS    = --output-on-failure -j $(JOBS) --timeout $(TEST_TIMEOUT)
# Developers' and CI builds: warnings are errors.
DEV_FLAGS     = -DNB_WERROR=ON
comma        := ,

.PHONY: all build run test test-release test-sanitize test-fallback test-install bench install clean \
        proofs fuzz test-tsan test-valgrind line-counts

all: build

# build/release: the library and nabla-train only, as a user builds them.
# The full log goes to build/release.log and is shown only if a step fails.
build:
	@mkdir -p build
	@$(CMAKE) -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DNB_BUILD_TESTS=OFF >build/release.log 2>&1 \
	    || { cat build/release.log; exit 1; }
	@cat build/release/configure-summary.txt
	@echo "building the library and nabla-train (log: build/release.log)..."
	@$(CMAKE) --build build/release -j $(JOBS) >>build/release.log 2>&1 || { tail -40 build/release.log; exit 1; }

ARGS ?=

run: build
	@build/release/nabla-train --data data --out build/nabla-out $(ARGS)

# Each test build logs its compilation to build/NAME.log and prints one
# line (or the log's end when it fails); ctest prints a line per test.
define quiet_build
	@mkdir -p build
	@echo "== building $(1) (log: build/$(1).log)"
	@$(CMAKE) -S . -B build/$(1) $(DEV_FLAGS) $(2) >build/$(1).log 2>&1 || { cat build/$(1).log; exit 1; }
	@$(CMAKE) --build build/$(1) -j $(JOBS) >>build/$(1).log 2>&1 || { tail -60 build/$(1).log; exit 1; }
endef

test-release:
	$(call quiet_build,test,-DCMAKE_BUILD_TYPE=Release)
	@$(CTEST) --test-dir build/test $(CTEST_ARGS)

test-sanitize:
	$(call quiet_build,sanitize,-DCMAKE_BUILD_TYPE=Debug -DNB_SANITIZE=address$(comma)undefined -DNB_CUDA=OFF)
	@ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(CTEST) --test-dir build/sanitize $(CTEST_ARGS)

test-fallback:
	$(call quiet_build,fallback,-DCMAKE_BUILD_TYPE=Release -DNB_USE_OPENBLAS=OFF -DNB_CUDA=OFF)
	@$(CTEST) --test-dir build/fallback $(CTEST_ARGS)

test-install: build
	@scripts/check-install

test: test-release test-sanitize test-fallback test-install
	@echo "== all three builds passed (release with OpenBLAS, ASan+UBSan, fallback GEMM) and the install check"

# Lines per source file, largest first (STYLE.md's soft cap is ~1000).
line-counts:
	@scripts/line-counts

# ThreadSanitizer: nabla's thread pool (plain pthreads and C11 atomics) is
# checked with everything else; without OpenBLAS, which is not built with
# TSan. The stress program adds threads of its own, each with its models.
TSAN_DIR    ?= build/tsan
TSAN_ROUNDS ?= 4
test-tsan:
	@$(CMAKE) -S . -B $(TSAN_DIR) $(DEV_FLAGS) -DCMAKE_BUILD_TYPE=Debug -DNB_SANITIZE=thread \
	    -DNB_USE_OPENBLAS=OFF -DNB_CUDA=OFF >/dev/null
	@$(CMAKE) --build $(TSAN_DIR) -j $(JOBS) >$(TSAN_DIR).log 2>&1 || { tail -60 $(TSAN_DIR).log; exit 1; }
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:allocator_may_return_null=1 $(CTEST) --test-dir $(TSAN_DIR) $(CTEST_ARGS)
	cd $(TSAN_DIR) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:allocator_may_return_null=1 \
	    timeout $(TEST_TIMEOUT) ./stress_threads $(TSAN_ROUNDS)
	@echo "== ThreadSanitizer: the tests and $(TSAN_ROUNDS) rounds of stress_threads ran without a report"

fuzz:
	@scripts/ci-fuzz

test-valgrind:
	@scripts/ci-valgrind

proofs: fuzz test-tsan test-valgrind
	@echo "== proofs passed: fuzzing, ThreadSanitizer, valgrind"

bench:
	$(call quiet_build,bench,-DCMAKE_BUILD_TYPE=Release)
	@for b in build/bench/bench_*; do echo "== $$b"; "$$b" || exit 1; done

install: build
	$(CMAKE) --install build/release --prefix $(PREFIX)

clean:
	rm -rf build

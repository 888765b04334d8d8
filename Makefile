# The README's commands. CMake does the building; this file names the jobs.
#
#   make run     build, then run the main job: train a CNN on the bundled
#                digits and evaluate it (ARGS="--model mlp" etc. to change it)
#   make test    build and test three ways: optimized with OpenBLAS,
#                AddressSanitizer + UndefinedBehaviorSanitizer, and without
#                OpenBLAS (the fallback GEMM); then install and build an
#                example against the installed library
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

.PHONY: all build run test test-release test-sanitize test-fallback test-install bench install clean \
        proofs fuzz test-tsan test-valgrind

all: build

build:
	@$(CMAKE) -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
	@$(CMAKE) --build build/release -j $(JOBS)

ARGS ?=

run: build
	build/release/nabla-train --data data --out build/nabla-out $(ARGS)

test-release: build
	$(CTEST) --test-dir build/release $(CTEST_ARGS)

test-sanitize:
	@$(CMAKE) -S . -B build/sanitize -DCMAKE_BUILD_TYPE=Debug -DNB_SANITIZE=address,undefined >/dev/null
	@$(CMAKE) --build build/sanitize -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(CTEST) --test-dir build/sanitize $(CTEST_ARGS)

test-fallback:
	@$(CMAKE) -S . -B build/fallback -DCMAKE_BUILD_TYPE=Release -DNB_USE_OPENBLAS=OFF >/dev/null
	@$(CMAKE) --build build/fallback -j $(JOBS)
	$(CTEST) --test-dir build/fallback $(CTEST_ARGS)

test-install: build
	@scripts/check-install

test: test-release test-sanitize test-fallback test-install
	@scripts/line-counts
	@echo "== all three builds passed (release with OpenBLAS, ASan+UBSan, fallback GEMM)"

# ThreadSanitizer: nabla's thread pool (plain pthreads and C11 atomics) is
# checked with everything else; without OpenBLAS, which is not built with
# TSan. The stress program adds threads of its own, each with its models.
TSAN_DIR    ?= build/tsan
TSAN_ROUNDS ?= 4
test-tsan:
	@$(CMAKE) -S . -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DNB_SANITIZE=thread \
	    -DNB_USE_OPENBLAS=OFF >/dev/null
	@$(CMAKE) --build $(TSAN_DIR) -j $(JOBS)
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

bench: build
	@for b in build/release/bench_*; do echo "== $$b"; "$$b" || exit 1; done

install: build
	$(CMAKE) --install build/release --prefix $(PREFIX)

clean:
	rm -rf build

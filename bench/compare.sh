#!/usr/bin/env bash
# compare.sh — nabla's core benchmarks side by side with libtorch (C++),
# PyTorch (Python) and NumPy, at 1 and 2 threads, in one table.
#
# Builds nabla in Release (build/bench), compiles bench/bench_torch.cpp
# against Debian's libtorch-dev when it is installed (skipped otherwise), runs
# every implementation and joins their tables with bench/compare.py. The raw
# tables stay in build/bench/results/. See bench/README.md for the columns.
#
# Usage: bench/compare.sh [--threads N] [--filter SUBSTRING] [--reps N]
# (the options go to every implementation unchanged)
set -euo pipefail

me=compare.sh
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
bench_build cmake.log bench_core
bench_torch_cpp bench_torch torch/version.h
bench_python torch numpy

bench_run nabla nabla "$results/nabla.txt" "$build/bench_core" "$@"
if [ $have_torch_cpp = 1 ]; then
    bench_run "libtorch (C++)" libtorch "$results/libtorch.txt" "$build/bench_torch" "$@"
fi
if [ $have_python = 1 ]; then
    bench_run "PyTorch (Python)" pytorch "$results/pytorch.txt" "$python" "$root/bench/compare.py" --impl torch "$@"
    bench_run NumPy numpy "$results/numpy.txt" "$python" "$root/bench/compare.py" --impl numpy "$@"
fi
bench_join

#!/usr/bin/env bash
# compare_autograd.sh — nabla's autograd benchmarks side by side with
# libtorch (C++), PyTorch (Python) and NumPy with the gradient by hand, at 1
# and 2 threads, in one table, plus each one's memory readings ('#' lines).
#
# Builds nabla in Release (build/bench), compiles
# bench/bench_autograd_torch.cpp against Debian's libtorch-dev when it is
# installed (skipped otherwise), runs every implementation and joins their
# tables with bench/compare.py --join. The raw tables stay in
# build/bench/results/autograd_*.txt. See bench/README.md for the columns and
# the cases.
#
# Usage: bench/compare_autograd.sh [--threads N] [--filter SUBSTRING] [--reps N]
# (the options go to every implementation unchanged)
set -euo pipefail

me=compare_autograd.sh
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
bench_build autograd_cmake.log bench_autograd
bench_torch_cpp bench_autograd_torch torch/version.h
bench_python torch numpy

# A failed gradient check fails its case too.
bench_run nabla nabla "$results/autograd_nabla.txt" "$build/bench_autograd" "$@"
if [ $have_torch_cpp = 1 ]; then
    bench_run "libtorch (C++)" libtorch "$results/autograd_libtorch.txt" "$build/bench_autograd_torch" "$@"
fi
if [ $have_python = 1 ]; then
    bench_run "PyTorch (Python)" pytorch "$results/autograd_pytorch.txt" \
        "$python" "$root/bench/compare_autograd.py" --impl torch "$@"
    bench_run "NumPy (gradient by hand)" numpy_by_hand "$results/autograd_numpy.txt" \
        "$python" "$root/bench/compare_autograd.py" --impl numpy "$@"
fi
bench_join

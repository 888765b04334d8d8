#!/usr/bin/env bash
# compare_train.sh — nabla's training benchmarks (whole training steps from
# modules, cross-entropy and SGD; the training program's start-up and peak
# memory) side by side with libtorch (C++, torch::nn) and PyTorch (Python),
# at 1 and 2 threads, in one table, plus '#' lines (the default training
# run's peak RSS and wall time, each start-up's details).
#
# Builds nabla in Release (build/bench: targets bench_train and
# nabla-train), compiles bench/bench_train_torch.cpp against Debian's
# libtorch-dev when it is installed (skipped otherwise), runs every
# implementation from the repository root (nabla-train reads ./data) and
# joins their tables with bench/compare.py --join. The raw tables stay in
# build/bench/results/train_*.txt. See bench/README.md for the columns and
# the cases. A whole run takes about 1-2 minutes (plus ~30 s the first time,
# to compile the libtorch program).
#
# Usage: bench/compare_train.sh [--threads N] [--filter SUBSTRING] [--reps N]
# (the options go to every implementation unchanged)
set -euo pipefail

me=compare_train.sh
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
cd "$root" # nabla-train reads ./data

bench_build train_cmake.log bench_train nabla-train
bench_torch_cpp bench_train_torch torch/torch.h
bench_python torch

# Steps, start-up, then the default training run; a failed check fails its case.
bench_run nabla nabla "$results/train_nabla.txt" "$build/bench_train" --train "$build/nabla-train" "$@"
if [ $have_torch_cpp = 1 ]; then
    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456 \
        bench_run "libtorch (C++)" libtorch "$results/train_libtorch.txt" "$build/bench_train_torch" "$@"
fi
if [ $have_python = 1 ]; then
    # PyTorch at its best: glibc's malloc keeps freed activations instead of
    # unmapping them (else every step pays their page faults; bench/README.md).
    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456 \
        bench_run "PyTorch (Python)" pytorch "$results/train_pytorch.txt" "$python" "$root/bench/compare_train.py" "$@"
fi
bench_join

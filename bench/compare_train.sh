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

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/bench"
results="$build/results"
python=/usr/bin/python3 # the Python that has torch 1.13
mkdir -p "$results"
cd "$root"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$results/train_cmake.log" 2>&1 ||
    { cat "$results/train_cmake.log"; exit 1; }
cmake --build "$build" -j2 --target bench_train nabla-train >>"$results/train_cmake.log" 2>&1 ||
    { tail -n 30 "$results/train_cmake.log"; exit 1; }

# libtorch C++: optional. Headers of the C++ API (torch/torch.h) live under
# /usr/include/torch/csrc/api/include in Debian's libtorch-dev.
torch_include=/usr/include/torch/csrc/api/include
have_torch_cpp=0
if [ -f "$torch_include/torch/torch.h" ] && command -v g++ >/dev/null 2>&1; then
    if [ "$build/bench_train_torch" -nt "$root/bench/bench_train_torch.cpp" ]; then
        have_torch_cpp=1
    elif g++ -O2 -std=c++17 "$root/bench/bench_train_torch.cpp" -I"$torch_include" \
        -ltorch -ltorch_cpu -lc10 -o "$build/bench_train_torch" 2>"$results/bench_train_torch_build.log"; then
        have_torch_cpp=1
    else
        echo "compare_train.sh: bench_train_torch.cpp did not compile" \
            "(see $results/bench_train_torch_build.log); skipping libtorch" >&2
    fi
else
    echo "compare_train.sh: libtorch-dev not installed (apt-get install libtorch-dev); skipping libtorch" >&2
fi

have_python=0
if "$python" -c 'import torch' 2>/dev/null; then
    have_python=1
else
    echo "compare_train.sh: $python lacks torch; skipping PyTorch" >&2
fi

echo "compare_train.sh: running nabla (steps, start-up, then the default training run)..." >&2
# A failing case (or a failed check) prints its error on stderr and is left
# out of the table.
"$build/bench_train" --train "$build/nabla-train" "$@" >"$results/train_nabla.txt" ||
    echo "compare_train.sh: some nabla cases failed" >&2
tables="nabla=$results/train_nabla.txt"
if [ $have_torch_cpp = 1 ]; then
    echo "compare_train.sh: running libtorch (C++)..." >&2
    "$build/bench_train_torch" "$@" >"$results/train_libtorch.txt" ||
        echo "compare_train.sh: libtorch failed" >&2
    tables="$tables libtorch=$results/train_libtorch.txt"
fi
if [ $have_python = 1 ]; then
    echo "compare_train.sh: running PyTorch (Python)..." >&2
    "$python" "$root/bench/compare_train.py" "$@" >"$results/train_pytorch.txt" ||
        echo "compare_train.sh: PyTorch failed" >&2
    tables="$tables pytorch=$results/train_pytorch.txt"
fi

# shellcheck disable=SC2086 # $tables is a list of NAME=FILE words
"$python" "$root/bench/compare.py" --join $tables

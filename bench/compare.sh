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

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/bench"
results="$build/results"
python=/usr/bin/python3 # the Python that has torch 1.13 and numpy
mkdir -p "$results"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$results/cmake.log" 2>&1 ||
    { cat "$results/cmake.log"; exit 1; }
cmake --build "$build" -j2 --target bench_core >>"$results/cmake.log" 2>&1 ||
    { tail -n 30 "$results/cmake.log"; exit 1; }

# libtorch C++: optional. Headers of the C++ API live under
# /usr/include/torch/csrc/api/include in Debian's libtorch-dev.
torch_include=/usr/include/torch/csrc/api/include
have_torch_cpp=0
if [ -f "$torch_include/torch/version.h" ] && command -v g++ >/dev/null 2>&1; then
    if [ "$build/bench_torch" -nt "$root/bench/bench_torch.cpp" ]; then
        have_torch_cpp=1
    elif g++ -O2 -std=c++17 "$root/bench/bench_torch.cpp" -I"$torch_include" \
        -ltorch -ltorch_cpu -lc10 -o "$build/bench_torch" 2>"$results/bench_torch_build.log"; then
        have_torch_cpp=1
    else
        echo "compare.sh: bench_torch.cpp did not compile (see $results/bench_torch_build.log); skipping libtorch" >&2
    fi
else
    echo "compare.sh: libtorch-dev not installed (apt-get install libtorch-dev); skipping libtorch" >&2
fi

have_python=0
if "$python" -c 'import torch, numpy' 2>/dev/null; then
    have_python=1
else
    echo "compare.sh: $python lacks torch or numpy; skipping PyTorch and NumPy" >&2
fi

echo "compare.sh: running nabla..." >&2
# A failing case prints its error on stderr and is left out of the table.
"$build/bench_core" "$@" >"$results/nabla.txt" || echo "compare.sh: some nabla cases failed" >&2
tables="nabla=$results/nabla.txt"
if [ $have_torch_cpp = 1 ]; then
    echo "compare.sh: running libtorch (C++)..." >&2
    "$build/bench_torch" "$@" >"$results/libtorch.txt" || echo "compare.sh: libtorch failed" >&2
    tables="$tables libtorch=$results/libtorch.txt"
fi
if [ $have_python = 1 ]; then
    echo "compare.sh: running PyTorch (Python)..." >&2
    "$python" "$root/bench/compare.py" --impl torch "$@" >"$results/pytorch.txt" ||
        echo "compare.sh: PyTorch failed" >&2
    echo "compare.sh: running NumPy..." >&2
    "$python" "$root/bench/compare.py" --impl numpy "$@" >"$results/numpy.txt" ||
        echo "compare.sh: NumPy failed" >&2
    tables="$tables pytorch=$results/pytorch.txt numpy=$results/numpy.txt"
fi

# shellcheck disable=SC2086 # $tables is a list of NAME=FILE words
"$python" "$root/bench/compare.py" --join $tables

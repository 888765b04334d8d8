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

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/bench"
results="$build/results"
python=/usr/bin/python3 # the Python that has torch 1.13 and numpy
mkdir -p "$results"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$results/autograd_cmake.log" 2>&1 ||
    { cat "$results/autograd_cmake.log"; exit 1; }
cmake --build "$build" -j2 --target bench_autograd >>"$results/autograd_cmake.log" 2>&1 ||
    { tail -n 30 "$results/autograd_cmake.log"; exit 1; }

# libtorch C++: optional. Headers of the C++ API live under
# /usr/include/torch/csrc/api/include in Debian's libtorch-dev.
torch_include=/usr/include/torch/csrc/api/include
have_torch_cpp=0
if [ -f "$torch_include/torch/version.h" ] && command -v g++ >/dev/null 2>&1; then
    if [ "$build/bench_autograd_torch" -nt "$root/bench/bench_autograd_torch.cpp" ]; then
        have_torch_cpp=1
    elif g++ -O2 -std=c++17 "$root/bench/bench_autograd_torch.cpp" -I"$torch_include" \
        -ltorch -ltorch_cpu -lc10 -o "$build/bench_autograd_torch" 2>"$results/bench_autograd_torch_build.log"; then
        have_torch_cpp=1
    else
        echo "compare_autograd.sh: bench_autograd_torch.cpp did not compile" \
            "(see $results/bench_autograd_torch_build.log); skipping libtorch" >&2
    fi
else
    echo "compare_autograd.sh: libtorch-dev not installed (apt-get install libtorch-dev); skipping libtorch" >&2
fi

have_python=0
if "$python" -c 'import torch, numpy' 2>/dev/null; then
    have_python=1
else
    echo "compare_autograd.sh: $python lacks torch or numpy; skipping PyTorch and NumPy" >&2
fi

echo "compare_autograd.sh: running nabla..." >&2
# A failing case (or a failed gradient check) prints its error on stderr and
# is left out of the table.
"$build/bench_autograd" "$@" >"$results/autograd_nabla.txt" ||
    echo "compare_autograd.sh: some nabla cases failed" >&2
tables="nabla=$results/autograd_nabla.txt"
if [ $have_torch_cpp = 1 ]; then
    echo "compare_autograd.sh: running libtorch (C++)..." >&2
    "$build/bench_autograd_torch" "$@" >"$results/autograd_libtorch.txt" ||
        echo "compare_autograd.sh: libtorch failed" >&2
    tables="$tables libtorch=$results/autograd_libtorch.txt"
fi
if [ $have_python = 1 ]; then
    echo "compare_autograd.sh: running PyTorch (Python)..." >&2
    "$python" "$root/bench/compare_autograd.py" --impl torch "$@" >"$results/autograd_pytorch.txt" ||
        echo "compare_autograd.sh: PyTorch failed" >&2
    echo "compare_autograd.sh: running NumPy (gradient by hand)..." >&2
    "$python" "$root/bench/compare_autograd.py" --impl numpy "$@" >"$results/autograd_numpy.txt" ||
        echo "compare_autograd.sh: NumPy failed" >&2
    tables="$tables pytorch=$results/autograd_pytorch.txt numpy_by_hand=$results/autograd_numpy.txt"
fi

# shellcheck disable=SC2086 # $tables is a list of NAME=FILE words
"$python" "$root/bench/compare.py" --join $tables

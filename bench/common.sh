#!/usr/bin/env bash
# common.sh — the steps bench/compare*.sh share, sourced by them (not run).
# Each script sets `me` (its name, for messages) before sourcing this file.
#
#   bench_build LOG TARGET...      Release build of nabla in build/bench
#   bench_torch_cpp NAME HEADER    compiles bench/NAME.cpp against libtorch-dev
#                                  into build/bench/NAME when HEADER (under the
#                                  C++ API's include dir) exists; sets
#                                  have_torch_cpp=1 on success
#   bench_python MODULES...        have_python=1 if $python imports MODULES
#   bench_run LABEL NAME FILE CMD...  runs CMD into FILE, adds NAME=FILE to
#                                  the tables (a failure is only reported)
#   bench_join                     joins the tables with bench/compare.py
#
# Sets root, build, results (created) and python.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build/bench"
results="$build/results"
python=/usr/bin/python3 # the Python that has torch 1.13 and numpy
tables=""
have_torch_cpp=0
have_python=0
mkdir -p "$results"

bench_build() {
    local log="$results/$1"
    shift
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$log" 2>&1 ||
        { cat "$log"; exit 1; }
    cmake --build "$build" -j2 --target "$@" >>"$log" 2>&1 ||
        { tail -n 30 "$log"; exit 1; }
}

bench_torch_cpp() {
    local name=$1 header=$2
    # Headers of the C++ API live under /usr/include/torch/csrc/api/include
    # in Debian's libtorch-dev.
    local torch_include=/usr/include/torch/csrc/api/include
    have_torch_cpp=0
    if [ -f "$torch_include/$header" ] && command -v g++ >/dev/null 2>&1; then
        if [ "$build/$name" -nt "$root/bench/$name.cpp" ]; then
            have_torch_cpp=1
        elif g++ -O2 -std=c++17 "$root/bench/$name.cpp" -I"$torch_include" \
            -ltorch -ltorch_cpu -lc10 -o "$build/$name" 2>"$results/${name}_build.log"; then
            have_torch_cpp=1
        else
            echo "$me: $name.cpp did not compile (see $results/${name}_build.log); skipping libtorch" >&2
        fi
    else
        echo "$me: libtorch-dev not installed (apt-get install libtorch-dev); skipping libtorch" >&2
    fi
}

bench_python() {
    local imports
    imports=$(IFS=,; echo "$*")
    have_python=0
    if "$python" -c "import $imports" 2>/dev/null; then
        have_python=1
    else
        echo "$me: $python lacks ${*// / or }; skipping the Python implementations" >&2
    fi
}

bench_run() {
    local label=$1 name=$2 file=$3
    shift 3
    echo "$me: running $label..." >&2
    # A failing case prints its error on stderr and is left out of the table.
    "$@" >"$file" || echo "$me: $label failed (in part)" >&2
    tables="$tables $name=$file"
}

bench_join() {
    # shellcheck disable=SC2086 # $tables is a list of NAME=FILE words
    "$python" "$root/bench/compare.py" --join $tables
}

#!/bin/bash
# Data-parallel training on 1 and 2 processes (issue 15): builds bench_dist
# (Release, build/bench), runs it under mpirun with 1 and then 2 processes
# of one thread each, and prints each case side by side with the ratio
# (2 processes / 1; for the _ms cases, the times themselves).
#   usage: bench/dist.sh [--reps N] [--steps K]
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build/bench"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target bench_dist -j 2 >/dev/null
mpirun="mpirun --oversubscribe"
[ "$(id -u)" -eq 0 ] && mpirun="$mpirun --allow-run-as-root"
$mpirun -np 1 "$build/bench_dist" "$@" >"$build/dist-1.txt"
$mpirun -np 2 "$build/bench_dist" "$@" >"$build/dist-2.txt"
grep '^#' "$build/dist-2.txt"
printf '%-28s %14s %14s %8s\n' case "1 proc median" "2 procs median" ratio
join <(grep -v '^#' "$build/dist-1.txt" | awk '{print $1, $4}' | sort) \
     <(grep -v '^#' "$build/dist-2.txt" | awk '{print $1, $4, $5}' | sort) 2>/dev/null |
    awk '{ printf "%-28s %14.3f %14.3f %8.2f %s\n", $1, $2, $3, ($2 > 0 ? $3 / $2 : 0), $4 }'

#!/usr/bin/env bash
# contention.sh — what a second thread is worth when other processes want
# the cores (issue 10): training steps of nabla and PyTorch, and nabla's
# whole training program, at 1 and 2 threads beside 0, 1 and 3 busy loops
# (`sh -c 'while :; do :; done'`, started before and killed after each
# level), in one table.
#
# For each number of busy loops it runs
#   nabla    bench_train --filter CASE --threads T --reps R      (T = 1, 2)
#   PyTorch  compare_train.py --filter CASE --threads T --reps R (T = 1, 2)
#   program  nabla-train --epochs 1 --threads 1, then with no --threads (its
#            default: all cores), under /usr/bin/time
# and prints, per row, the time at 1 thread and at 2 (or the default), their
# ratio (t2/t1 above 1: the second thread made it slower), the CPU time at
# each and the CPU ratio. Step rows are the median ms per step and the
# process's CPU ms per step (the "# cpu" lines of bench_train and
# compare_train.py: every thread, spinning helpers included); program rows
# are the wall and user+sys seconds of the whole run. Issue 10's targets:
# beside 3 busy loops on 2 cores, t2/t1 <= 1.05 and cpu2/cpu1 <= 1.2; with
# idle cores, t2/t1 <= 1/1.7 on the CNN steps. PyTorch runs with glibc's
# malloc told to keep freed memory (MALLOC_MMAP_THRESHOLD_ and friends, see
# bench/README.md), so that its rows time threads, not page faults.
#
# Builds nabla in Release (build/bench: bench_train and nabla-train) unless
# --build DIR names a build that has both. Runs from the repository root
# (nabla-train reads ./data; its rows are left out without the data). The
# raw outputs stay in BUILD/results/contention/. A run takes about 2-4
# minutes on the 2-core development machine, most of it the 3-loop level.
# The "0 busy loops" rows are only as idle as the machine: the load average
# is printed before each level.
#
# Usage: bench/contention.sh [--case NAME] [--reps N] [--busy "0 1 3"]
#                            [--build DIR]
#   --case NAME   the bench_train / compare_train.py case (default
#                 cnnbn_step_b128; e.g. cnn_nobn_step_b128, mlp_step_b256)
#   --reps N      timed repetitions per step case (default 5)
#   --busy LIST   the numbers of busy loops (default "0 1 3")
#   --build DIR   use this build instead of building build/bench
set -euo pipefail

me=contention.sh
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
cd "$root" # nabla-train reads ./data

case_name=cnnbn_step_b128
reps=5
busy_levels="0 1 3"
prebuilt=""
while [ $# -gt 0 ]; do
    case "$1" in
    --case) case_name=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --busy) busy_levels=$2; shift 2 ;;
    --build) prebuilt=$2; shift 2 ;;
    *) sed -n '/^# Usage/,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
    esac
done

if [ -n "$prebuilt" ]; then
    build=$(cd "$prebuilt" && pwd)
    results="$build/results"
else
    bench_build contention_cmake.log bench_train nabla-train
fi
for program in bench_train nabla-train; do
    [ -x "$build/$program" ] || { echo "$me: $build/$program is missing" >&2; exit 1; }
done
out="$results/contention"
mkdir -p "$out"
bench_python torch
have_data=1
[ -e data/train-images-idx3-ubyte.gz ] || [ -e data/train-images-idx3-ubyte ] || have_data=0
[ $have_data = 1 ] || echo "$me: no ./data/train-images-idx3-ubyte[.gz]; skipping nabla-train" >&2

# PyTorch at its best: glibc's malloc otherwise page-faults its large
# activations in every step (bench/README.md, "Training").
torch_malloc=(env MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456)

# The busy loops of the current level; killed on exit whatever happens.
busy_pids=()
stop_busy() {
    local pid
    for pid in "${busy_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${busy_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    busy_pids=()
}
trap stop_busy EXIT
trap 'exit 130' INT TERM
start_busy() {
    local i
    for ((i = 0; i < $1; i++)); do
        sh -c 'while :; do :; done' &
        busy_pids+=($!)
    done
    sleep 1 # let the scheduler see them as CPU-bound
}

# "median_ms cpu_ms" per step of case $2 at $3 threads from output file $1
# ("- -" if the case failed).
step_figures() {
    awk -v c="$2" -v t="$3" '
        $1 == c && $2 == t { median = $4 / 1000 }
        $1 == "#" && $2 == "cpu" && $3 == c && $4 == t { cpu = $7 / 1000 }
        END { if (median == "" || cpu == "") print "- -"; else printf "%.2f %.2f\n", median, cpu }' "$1"
}

# "wall_s cpu_s" of `nabla-train --epochs 1 [--threads N]` ("- -" on failure).
program_figures() {
    local file=$1
    shift
    if /usr/bin/time -f "%e %U %S" -o "$file.time" "$build/nabla-train" --epochs 1 --out "$out/nabla-out" "$@" \
        >"$file" 2>&1; then
        awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$file.time"
    else
        echo "- -"
    fi
}

table="$out/table.txt"
printf '%-4s  %-34s %9s %9s %6s %9s %9s %9s\n' busy row t1 t2 t2/t1 cpu1 cpu2 cpu2/cpu1 >"$table"
row() { # busy label "t1 cpu1" "t2 cpu2"
    local t1 c1 t2 c2
    read -r t1 c1 <<<"$3"
    read -r t2 c2 <<<"$4"
    awk -v b="$1" -v l="$2" -v t1="$t1" -v c1="$c1" -v t2="$t2" -v c2="$c2" 'BEGIN {
        r = (t1 == "-" || t2 == "-") ? "-" : sprintf("%.2f", t2 / t1)
        rc = (c1 == "-" || c2 == "-") ? "-" : sprintf("%.2f", c2 / c1)
        printf "%-4s  %-34s %9s %9s %6s %9s %9s %9s\n", b, l, t1, t2, r, c1, c2, rc }' >>"$table"
}

echo "$me: $(nproc) cores; case $case_name, $reps reps; busy loops: $busy_levels" >&2
for busy in $busy_levels; do
    echo "$me: $busy busy loop(s); load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    start_busy "$busy"
    declare -A fig=()
    for t in 1 2; do
        f="$out/nabla_busy${busy}_t$t.txt"
        "$build/bench_train" --filter "$case_name" --threads "$t" --reps "$reps" >"$f" 2>&1 || true
        fig[nabla$t]=$(step_figures "$f" "$case_name" "$t")
    done
    if [ $have_python = 1 ]; then
        for t in 1 2; do
            f="$out/pytorch_busy${busy}_t$t.txt"
            "${torch_malloc[@]}" "$python" "$root/bench/compare_train.py" --filter "$case_name" --threads "$t" --reps "$reps" \
                >"$f" 2>&1 || true
            fig[torch$t]=$(step_figures "$f" "$case_name" "$t")
        done
    fi
    if [ $have_data = 1 ]; then
        fig[prog1]=$(program_figures "$out/program_busy${busy}_t1.txt" --threads 1)
        fig[prog2]=$(program_figures "$out/program_busy${busy}_default.txt")
    fi
    stop_busy
    row "$busy" "nabla $case_name (ms/step)" "${fig[nabla1]}" "${fig[nabla2]}"
    [ $have_python = 1 ] && row "$busy" "pytorch $case_name (ms/step)" "${fig[torch1]}" "${fig[torch2]}"
    [ $have_data = 1 ] && row "$busy" "nabla-train --epochs 1 (s; t2=dflt)" "${fig[prog1]}" "${fig[prog2]}"
    unset fig
done
echo "# contention.sh: $(nproc) cores; t1, t2: median ms per step at 1 and 2 threads (program rows: wall s at"
echo "# --threads 1 and at the default); cpu1, cpu2: process CPU time per step (program: user+sys s)"
cat "$table"

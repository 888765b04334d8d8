#!/bin/sh
# nabla-train --distributed under mpirun (issue 15): 2 processes train,
# only rank 0 prints the report and writes the files; one process under
# mpirun trains exactly as the plain program does (same test accuracy, to
# the printed digit); a rank that fails ends the whole job at once.
#   usage: train_distributed.sh path/to/mpirun path/to/nabla-train path/to/data
set -u
mpirun="$1 --allow-run-as-root --oversubscribe -np"
train="$2"
data="$3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0
check() { # check DESCRIPTION CONDITION...
    description="$1"
    shift
    if "$@"; then echo "ok: $description"; else
        echo "FAILED: $description"
        sed 's/^/    /' "$work/out" | tail -20
        failures=$((failures + 1))
    fi
}
args="--model mlp --epochs 1 --batch-size 64 --seed 3 --threads 1 --data $data"

$mpirun 2 "$train" --distributed $args --out "$work/two" >"$work/out" 2>&1
status=$?
check "2 processes train (exit 0)" test "$status" -eq 0
check "the run says it is distributed" grep -q "distributed: 2 processes (1 thread each), batch 64 per process, 128 per step" "$work/out"
check "one report (rank 0 only)" test "$(grep -c '^test accuracy: ' "$work/out")" -eq 1
check "the model file is written" test -s "$work/two/model.safetensors"
check "the communication time is reported" grep -q "gradient all-reduce time not hidden by backward" "$work/out"
accuracy=$(grep '^test accuracy: ' "$work/out" | sed 's/ (.*//')
check "a sensible accuracy ($accuracy)" sh -c "echo '$accuracy' | grep -Eq 'test accuracy: (8|9)[0-9]\.'"

$mpirun 1 "$train" --distributed $args --out "$work/one" >"$work/out" 2>&1
one=$(grep '^test accuracy: ' "$work/out")
"$train" $args --out "$work/plain" >"$work/out" 2>&1
plain=$(grep '^test accuracy: ' "$work/out")
check "one process under mpirun = the plain program ($one / $plain)" test -n "$one" -a "$one" = "$plain"

# A missing data directory on every rank: the job ends with the reason,
# not a hang (the test's timeout would catch one).
$mpirun 2 "$train" --distributed $args --data "$work/none" >"$work/out" 2>&1
status=$?
check "a failing rank ends the job (exit $status)" test "$status" -ne 0
check "with the reason" grep -q "nabla-train: training data: " "$work/out"

if [ "$failures" -ne 0 ]; then echo "$failures failures"; exit 1; fi
echo "train_distributed: all passed"

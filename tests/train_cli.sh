#!/bin/sh
# nabla-train as a user meets it: --help, bad arguments and missing files
# give a one-line reason, the usage and a non-zero exit; a short real run
# trains, evaluates and writes its files; a second run with the same seed
# gives the same numbers.
#   usage: train_cli.sh path/to/nabla-train path/to/data
set -u
train="$1"
data="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0

expect() { # expect DESCRIPTION STATUS PATTERN -- command...
    description="$1" status="$2" pattern="$3"
    shift 4
    "$@" >"$work/out" 2>&1
    got=$?
    if [ "$got" -ne "$status" ] || ! grep -q -- "$pattern" "$work/out"; then
        echo "FAILED: $description (exit $got, expected $status; looked for '$pattern')"
        sed 's/^/    /' "$work/out" | head -20
        failures=$((failures + 1))
    else
        echo "ok: $description"
    fi
}

expect "--help prints the usage" 0 "usage: .*nabla-train" -- "$train" --help
expect "unknown option" 2 "nabla-train: unknown option '--bogus'" -- "$train" --bogus 1
expect "bad number" 2 "--epochs needs a positive whole number in range, got 'x'" -- "$train" --epochs x
expect "bad model" 2 "--model does not take 'resnet'" -- "$train" --model resnet
expect "usage after a bad argument" 2 "usage:" -- "$train" --lr -1
expect "missing value" 2 "--data needs a value" -- "$train" --data
expect "missing data directory" 1 "nabla-train: training data: .*no-such-dir" -- "$train" --data "$work/no-such-dir"
expect "bad device" 2 "--device does not take 'tpu'" -- "$train" --device tpu
# No build has a CUDA backend yet: asking for it is an error, not a fallback.
expect "CUDA asked for where there is none" 1 "nabla-train: --device cuda: CUDA is not available" -- "$train" --device cuda --data "$data"
printf 'not an idx file' > "$work/train-images-idx3-ubyte"
expect "corrupt data file" 1 "nabla-train: training data: .*train-images-idx3-ubyte" -- "$train" --data "$work"

run() { "$train" --model mlp --epochs 1 --batch-size 128 --seed 7 --threads 1 --data "$data" --out "$1"; }
expect "a one-epoch MLP run trains and evaluates" 0 "test accuracy: " -- run "$work/run1"
cp "$work/out" "$work/first"
if [ ! -s "$work/run1/model.safetensors" ] || ! grep -q "<svg" "$work/run1/curves.svg"; then
    echo "FAILED: the run did not write model.safetensors and curves.svg"
    failures=$((failures + 1))
fi
accuracy=$(sed -n 's/^test accuracy: \([0-9.]*\)%.*/\1/p' "$work/first")
if ! awk "BEGIN { exit !($accuracy > 85) }"; then
    echo "FAILED: one epoch of the MLP reached only $accuracy% test accuracy"
    failures=$((failures + 1))
fi
expect "the same seed gives the same run" 0 "test accuracy: $accuracy%" -- run "$work/run2"

[ "$failures" -eq 0 ] && echo "train_cli: all passed" || echo "train_cli: $failures failed"
exit "$failures"

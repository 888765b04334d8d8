#!/bin/sh
# nabla-train as a user meets it: --help, bad arguments and missing files
# give a one-line reason (and a pointer to --help) and a non-zero exit; a short real run
# trains, evaluates and writes its files; a second run with the same seed
# gives the same numbers. Then the data and runs that must not take it down
# or leave a wrong result behind (issue 9), on small IDX files made here:
# other pixel types, labels out of range, an empty split, a diverged run, an
# unwritable plot, an output path too long to hold its file names.
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
expect "a bad argument points to --help" 2 "--help lists the options" -- "$train" --lr -1
expect "missing value" 2 "--data needs a value" -- "$train" --data
expect "missing data directory" 1 "nabla-train: training data: .*no-such-dir/train-images-idx3-ubyte: no such file (nor train-images-idx3-ubyte.gz)" -- "$train" --data "$work/no-such-dir"
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
# A classes.txt beside the data names the classes in the report.
mkdir -p "$work/named"
for f in "$data"/*-ubyte*; do ln -s "$f" "$work/named/"; done
printf 'zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n' > "$work/named/classes.txt"
expect "class names from classes.txt" 0 "classes: 0 zero, 1 one, 2 two" -- "$train" --model mlp --epochs 1 --threads 1 --data "$work/named" --out "$work/named-out"
# The plot names what it shows: the model and data in its title, both panels' legends.
for text in "nabla-train: mlp on $data, 1 epoch" "train loss (epoch mean)" "test accuracy" ">epoch<"; do
    if ! grep -qF -- "$text" "$work/run1/curves.svg"; then
        echo "FAILED: curves.svg lacks '$text'"
        failures=$((failures + 1))
    fi
done
accuracy=$(sed -n 's/^test accuracy: \([0-9.]*\)%.*/\1/p' "$work/first")
if ! awk "BEGIN { exit !($accuracy > 85) }"; then
    echo "FAILED: one epoch of the MLP reached only $accuracy% test accuracy"
    failures=$((failures + 1))
fi
expect "the same seed gives the same run" 0 "test accuracy: $accuracy%" -- run "$work/run2"
# ... and the same weights, bit for bit, at any thread count.
expect "two threads train as one" 0 "test accuracy: $accuracy%" -- run "$work/run3" --threads 2
if ! cmp -s "$work/run1/model.safetensors" "$work/run3/model.safetensors"; then
    echo "FAILED: --threads 2 wrote other weights than --threads 1"
    failures=$((failures + 1))
fi

expect "--help lists --detect-anomaly" 0 "--detect-anomaly" -- "$train" --help
# A reason is one line whatever argv holds: control bytes are shown escaped.
expect "a newline in an argument stays on the reason's line" 2 "unexpected argument 'x.x0ay'" -- "$train" "$(printf 'x\ny')"

# ---------------------------------------------------------------- hostile and unusual data
# idx_subset SRC COUNT TYPE DIVISOR: the first COUNT items of the IDX file
# SRC (uint8, .gz or plain) as an IDX file of element TYPE (8 ubyte, 12 int,
# 13 float, 14 double), each value divided by DIVISOR; on stdout. Floats are
# rounded to nearest, so 13 with DIVISOR 255 holds float32(pixel / 255).
idx_subset() {
    gzip -dcf "$1" | od -An -v -tu1 | LC_ALL=C awk -v count="$2" -v type="$3" -v divisor="$4" '
        function byte(v) { printf "%c", v }
        function int32(v) { if (v < 0) v += 4294967296
            byte(int(v / 16777216)); byte(int(v / 65536) % 256); byte(int(v / 256) % 256); byte(v % 256) }
        function float(v, bits,    e, mant, hi) { # IEEE binary32 (bits 23) or binary64 (bits 52), v >= 0
            if (v == 0) { int32(0); if (bits == 52) int32(0); return }
            for (e = 0; v >= 2 ^ (e + 1); e++) ; for (; v < 2 ^ e; e--) ;
            mant = int((v / 2 ^ e - 1) * 2 ^ bits + 0.5)
            if (bits == 23) { int32((e + 127) * 2 ^ 23 + mant); return }
            hi = int(mant / 2 ^ 32); int32((e + 1023) * 2 ^ 20 + hi); int32(mant - hi * 2 ^ 32) }
        function dim(d) { return ((b[4 + 4 * d] * 256 + b[5 + 4 * d]) * 256 + b[6 + 4 * d]) * 256 + b[7 + 4 * d] }
        function item(    s, d) { s = 1; for (d = 1; d < b[3]; d++) s *= dim(d); return s }
        { for (i = 1; i <= NF; i++) b[n++] = $i; if (n > 4 && n >= 4 + 4 * b[3] + count * item()) exit }
        END {
            ndim = b[3]; byte(0); byte(0); byte(type); byte(ndim)
            int32(count); for (d = 1; d < ndim; d++) int32(dim(d))
            for (i = 4 + 4 * ndim; i < 4 + 4 * ndim + count * item(); i++) {
                v = b[i] / divisor
                if (type == 8) byte(v); else if (type == 12) int32(v); else float(v, type == 13 ? 23 : 52)
            }
        }'
}
# small_set DIR IMAGE_TYPE DIVISOR: 1000 training and 500 test digits of the
# bundled data in DIR, the images as IMAGE_TYPE, the labels as ubyte.
small_set() {
    mkdir -p "$1"
    idx_subset "$data/train-images-idx3-ubyte.gz" 1000 "$2" "$3" >"$1/train-images-idx3-ubyte"
    idx_subset "$data/t10k-images-idx3-ubyte.gz" 500 "$2" "$3" >"$1/t10k-images-idx3-ubyte"
    idx_subset "$data/train-labels-idx1-ubyte.gz" 1000 8 1 >"$1/train-labels-idx1-ubyte"
    idx_subset "$data/t10k-labels-idx1-ubyte.gz" 500 8 1 >"$1/t10k-labels-idx1-ubyte"
}
# variant NAME: a copy of the small uint8 set to spoil one file of.
variant() { rm -rf "$work/$1"; cp -R "$work/u8" "$work/$1"; echo "$work/$1"; }
no_model() { # no_model DIR DESCRIPTION
    if [ -e "$1/model.safetensors" ]; then
        echo "FAILED: $2 wrote $1/model.safetensors"
        failures=$((failures + 1))
    fi
}
small() { "$train" --model mlp --epochs 1 --seed 7 --threads 1 --out "$work/small-out" "$@"; }

small_set "$work/u8" 8 1
expect "a small uint8 set trains" 0 "test accuracy: " -- small --data "$work/u8"
small_accuracy=$(sed -n 's/^test accuracy: \([0-9.]*%\).*/\1/p' "$work/out")
expect "an LSTM (--model lstm) trains on the small set" 0 "test accuracy: " -- "$train" --model lstm --epochs 1 --seed 7 --threads 1 --data "$work/u8" --out "$work/lstm-out"
# The vision transformer (issue 14) trains too, and names itself.
expect "a ViT (--model vit) trains on the small set" 0 "nabla-train: vit on cpu" -- "$train" --model vit --epochs 1 --batch-size 128 --threads 1 --data "$work/u8" --out "$work/vit"
# Other IDX types hold the same digits: int pixels 0-255 as ubyte, float and
# double ones as pixel / 255. Shifted as whole elements (--augment 1 is the
# default) and scaled by their type, they train exactly as the bytes do.
small_set "$work/i32" 12 1
expect "int32 images train as their uint8 pixels do" 0 "test accuracy: $small_accuracy" -- small --data "$work/i32"
small_set "$work/f32" 13 255
expect "float32 images in [0, 1] train as their uint8 pixels do" 0 "test accuracy: $small_accuracy" -- small --data "$work/f32"
small_set "$work/f64" 14 255
expect "float64 images in [0, 1] train as their uint8 pixels do" 0 "test accuracy: $small_accuracy" -- small --data "$work/f64"
dir=$(variant f32-255); idx_subset "$work/u8/t10k-images-idx3-ubyte" 500 13 1 >"$dir/t10k-images-idx3-ubyte"
expect "float images of 0-255 are refused" 1 "test data: .*t10k-images-idx3-ubyte: float32 pixels must be from 0 to 1 (pixel / 255); they range from 0 to 255" -- small --data "$dir"
dir=$(variant f32-nan)
{ printf '\000\000\015\003\000\000\000\001\000\000\000\034\000\000\000\034\177\300\000\000'; head -c 3132 /dev/zero; } >"$dir/t10k-images-idx3-ubyte"
printf '\000\000\010\001\000\000\000\001\007' >"$dir/t10k-labels-idx1-ubyte"
expect "a NaN pixel is refused" 1 "test data: .*t10k-images-idx3-ubyte: float32 pixels include NaN or infinity" -- small --data "$dir"

# Labels: digits 0-9 in both splits; an empty split is an error, not 0.00%.
dir=$(variant test-labels)
printf '\000\000\010\001\000\000\001\364' >"$dir/t10k-labels-idx1-ubyte"
{ head -c 499 /dev/zero; printf '\014'; } >>"$dir/t10k-labels-idx1-ubyte"
expect "a test label out of range" 1 "nabla-train: test data: .*t10k-labels-idx1-ubyte: the labels must be class indices from 0 to 9; they range from 0 to 12" -- small --data "$dir"
dir=$(variant train-labels)
printf '\000\000\014\001\000\000\003\350\377\377\377\377' >"$dir/train-labels-idx1-ubyte"
head -c 3996 /dev/zero >>"$dir/train-labels-idx1-ubyte"
expect "a negative training label" 1 "nabla-train: training data: .*train-labels-idx1-ubyte: the labels must be class indices from 0 to 9; they range from -1 to 0" -- small --data "$dir"
dir=$(variant float-labels)
printf '\000\000\015\001\000\000\000\001\100\100\000\001' >"$dir/t10k-labels-idx1-ubyte"
printf '\000\000\010\003\000\000\000\001\000\000\000\034\000\000\000\034' >"$dir/t10k-images-idx3-ubyte"
head -c 784 /dev/zero >>"$dir/t10k-images-idx3-ubyte"
expect "a label of 3.0000002" 1 "test data: .*t10k-labels-idx1-ubyte: the labels must be whole class indices from 0 to 9" -- small --data "$dir"
dir=$(variant empty-test)
printf '\000\000\010\003\000\000\000\000\000\000\000\034\000\000\000\034' >"$dir/t10k-images-idx3-ubyte"
printf '\000\000\010\001\000\000\000\000' >"$dir/t10k-labels-idx1-ubyte"
expect "an empty test set" 1 "nabla-train: test data: .*t10k-images-idx3-ubyte holds no images" -- small --data "$dir" --out "$work/empty-out"
no_model "$work/empty-out" "an empty test set"

# A diverged run (SGD at lr 99 reaches a NaN loss within the epoch) stops
# with the epoch and step, and writes no model of NaNs.
expect "a NaN loss stops the run" 1 "nabla-train: training diverged: the loss is [-a-z]* at epoch 1, step [0-9]* of 125; no model written" -- \
    small --data "$work/u8" --optimizer sgd --lr 99 --batch-size 8 --out "$work/nan-out"
expect "a NaN loss suggests --detect-anomaly" 1 "rerun with --detect-anomaly" -- \
    small --data "$work/u8" --optimizer sgd --lr 99 --batch-size 8 --out "$work/nan-out"
no_model "$work/nan-out" "a diverged run"
expect "--detect-anomaly names the backward node" 1 "nabla-train: training: epoch 1, step [0-9]* of 125: .*detect_anomaly: function '[A-Za-z0-9]*Backward[0-9]*' returned nan" -- \
    small --data "$work/u8" --optimizer sgd --lr 99 --batch-size 8 --out "$work/nan-out" --detect-anomaly
no_model "$work/nan-out" "a diverged run under --detect-anomaly"

# Every error says why.
mkdir -p "$work/plot-out/curves.svg"
expect "an unwritable plot says why" 1 "nabla-train: writing the plot: .*curves.svg: [A-Za-z]" -- small --data "$work/u8" --out "$work/plot-out"

# An output directory of 4,082 characters fits the system's limit, but its
# file names do not: refused before training, not cut short when writing.
long="$work"
while [ ${#long} -lt 3800 ]; do long="$long/$(printf '%0200d' 0)"; done
long="$long/$(printf "%0$((4082 - ${#long} - 1))d" 0)"
mkdir -p "$(dirname "$long")"
expect "an --out too long for its file names" 2 "nabla-train: --out is 4082 characters long; with '/model.safetensors' it would exceed" -- small --data "$work/u8" --out "$long"
if ls "$long"* >/dev/null 2>&1; then
    echo "FAILED: a refused --out still made $long or a file beside it"
    failures=$((failures + 1))
fi
expect "a --data too long for its file names" 2 "nabla-train: --data is 4082 characters long" -- small --data "$long"

[ "$failures" -eq 0 ] && echo "train_cli: all passed" || echo "train_cli: $failures failed"
exit "$failures"

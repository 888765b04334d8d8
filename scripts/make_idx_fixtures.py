#!/usr/bin/env python3
"""Write the small IDX files tests/test_idx.c loads, into tests/data/idx/.

Run with any python3 (stdlib only):  python3 scripts/make_idx_fixtures.py

One file per IDX element type, written plain (.idx) and gzip-compressed
(.idx.gz, by Python's gzip: real deflate data, mtime 0 so the bytes are
reproducible), plus gzip files that are wrong in ways a test cannot easily
make from the good ones. The values are repeated by hand in
tests/test_idx.c. They also seed the fuzz target (fuzz/fuzz_idx.c).
"""
import gzip
import io
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "idx")

# code, struct format of one big-endian element
TYPES = {"ubyte": (0x08, ">B"), "sbyte": (0x09, ">b"), "short": (0x0B, ">h"),
         "int": (0x0C, ">i"), "float": (0x0D, ">f"), "double": (0x0E, ">d")}


def idx(type_name, dims, values):
    code, fmt = TYPES[type_name]
    head = bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">i", d) for d in dims)
    return head + b"".join(struct.pack(fmt, v) for v in values)


def gz(payload):
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as z:
        z.write(payload)
    return buffer.getvalue()


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    good = {
        "ubyte_2x3": idx("ubyte", [2, 3], [0, 1, 127, 128, 200, 255]),
        "sbyte_4": idx("sbyte", [4], [-128, -1, 0, 127]),
        "short_2x2": idx("short", [2, 2], [-32768, -1, 300, 32767]),
        "int_3": idx("int", [3], [-2147483648, -1, 2147483647]),
        "float_2x2": idx("float", [2, 2], [1.5, -0.25, float("inf"), 2.0 ** -149]),
        "double_3": idx("double", [3], [0.1, -1e300, 5e-324]),
        "ubyte_0x3": idx("ubyte", [0, 3], []),
        "ubyte_scalar": idx("ubyte", [], [42]),
        "int_8d": idx("int", [1, 1, 1, 1, 1, 1, 1, 2], [7, -7]),
    }
    for name, data in good.items():
        write(name + ".idx", data)
        write(name + ".idx.gz", gz(data))
    whole = good["ubyte_2x3"]
    # Two gzip members, as `cat a.gz b.gz` makes: one stream to gzip(1).
    write("multi_member.idx.gz", gz(whole[:9]) + gz(whole[9:]))
    # A header claiming 10^8 bytes in a few dozen compressed bytes.
    write("huge_claim.idx.gz", gz(idx("ubyte", [10000, 10000], [])))
    # 50 of the 100 data bytes the header declares, in a complete stream.
    write("short_data.idx.gz", gz(idx("ubyte", [10, 10], range(50))))
    # 3 bytes more than the header declares, inside the compressed stream.
    write("long_data.idx.gz", gz(whole + b"abc"))


if __name__ == "__main__":
    main()

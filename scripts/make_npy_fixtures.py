#!/usr/bin/python3
"""Write the .npy files tests/test_npy.c loads, into tests/data/npy/.

Run with the Python that has NumPy:  /usr/bin/python3 scripts/make_npy_fixtures.py

Files written by numpy itself (np.save / write_array), one per dtype and per
variant of the format, plus a few written byte by byte to cover header
spellings numpy accepts but does not write (key order, quotes, spacing, a
missing trailing comma, '=' byte order, bool bytes other than 0 and 1).
The values are repeated by hand in tests/test_npy.c.
"""
import os
import struct

import numpy as np
from numpy.lib import format as npy_format

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "npy")


def save(name, array):
    np.save(os.path.join(OUT, name), array, allow_pickle=False)


def write_version(name, array, version):
    with open(os.path.join(OUT, name), "wb") as f:
        npy_format.write_array(f, array, version=version, allow_pickle=False)


def write_raw(name, header, data, version=1):
    """A file with exactly this header text (padded to 64 like numpy)."""
    length_format = "<H" if version == 1 else "<I"
    prefix = 8 + struct.calcsize(length_format)
    header = header.encode("latin1" if version < 3 else "utf8")
    pad = 64 - (prefix + len(header) + 1) % 64
    header += b" " * pad + b"\n"
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(b"\x93NUMPY" + bytes([version, 0]))
        f.write(struct.pack(length_format, len(header)))
        f.write(header)
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    # One file per dtype, little-endian C order (np.save's own bytes: the
    # test also checks nb_save_npy writes them identically).
    save("f32_2x3.npy", np.array([[-1.0, -0.5, 0.0], [0.5, 1.0, 1.5]], dtype="<f4"))
    save("f64_3.npy", np.array([0.1, -2.5, 1e300], dtype="<f8"))
    save("i64_2x2.npy", np.array([[-(2**62), 1], [2, 2**62]], dtype="<i8"))
    save("i32_4.npy", np.array([-(2**31), -1, 0, 2**31 - 1], dtype="<i4"))
    save("u1_5.npy", np.array([0, 1, 127, 128, 255], dtype="u1"))
    save("b1_2x2.npy", np.array([[True, False], [False, True]]))
    save("scalar_f32.npy", np.array(3.5, dtype="<f4"))
    save("empty_0x3.npy", np.zeros((0, 3), dtype="<f4"))
    save("i64_8d.npy", np.arange(16, dtype="<i8").reshape(1, 2, 1, 2, 1, 2, 1, 2))
    # Issue 13: float16, int16, int8 (numpy has no bfloat16).
    save("f2_6.npy", np.array([1.5, -0.0, 65504.0, np.inf, 6e-8, -2.0 ** -14], dtype="<f2"))
    save("i2_4.npy", np.array([-(2**15), -1, 7, 2**15 - 1], dtype="<i2"))
    save("i1_4.npy", np.array([-128, -1, 7, 127], dtype="i1"))
    save("be_f2.npy", np.array([1.5, -2.25, 3.0], dtype=">f2"))
    # Big-endian.
    save("be_f4.npy", np.array([1.5, -2.25, 3.0], dtype=">f4"))
    save("be_i8.npy", np.array([1, -2, 2**40], dtype=">i8"))
    save("be_i4.npy", np.array([-5, 6], dtype=">i4"))
    # Fortran order (the C-order values are arange in both).
    save("fortran_f4_3x4.npy", np.asfortranarray(np.arange(12, dtype="<f4").reshape(3, 4)))
    save("fortran_be_f8_2x3x4.npy", np.asfortranarray((np.arange(24, dtype=">f8") / 8).reshape(2, 3, 4)))
    # Format versions 2.0 and 3.0.
    write_version("v2_i4.npy", np.arange(5, dtype="<i4"), (2, 0))
    write_version("v3_f4_2x3.npy", np.arange(6, dtype="<f4").reshape(2, 3) * 2, (3, 0))
    # Header spellings numpy reads but does not write.
    write_raw("raw_key_order.npy", "{'shape': (2,), 'fortran_order': False, 'descr': '<i4'}",
              np.array([7, -7], dtype="<i4").tobytes())
    write_raw("raw_spacing.npy", '{ "descr" :\t"=f8" ,\n"shape":( 3 , ),"fortran_order":False,}',
              np.array([1.0, 2.0, 3.0], dtype="=f8").tobytes())
    write_raw("raw_bool_bytes.npy", "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
              bytes([0, 2, 255]))
    write_raw("raw_v3_utf8.npy", "{'descr': '<i8', 'fortran_order': True, 'shape': (2, 2), }",
              np.array([1, 2, 3, 4], dtype="<i8").tobytes(), version=3)
    print("wrote", len(os.listdir(OUT)), "files to", OUT)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Write tests/data/print_cases.h: tensors and the exact text PyTorch prints
for them (repr with default print options), for tests/test_print.c.

Run with the Python that has PyTorch 1.13:  /usr/bin/python3 scripts/make_print_fixtures.py

Each case gives the values (a typed C array, row-major), the shape, the
dtype, whether it requires grad, and whether the test transposes its last two
dims before printing (to print a non-contiguous view); the expected string is
repr() of the same tensor (transposed too when asked).
"""
import math
import os

import torch

torch.manual_seed(0)

DTYPES = {
    torch.float32: ("NB_FLOAT32", "float"),
    torch.float64: ("NB_FLOAT64", "double"),
    torch.int64: ("NB_INT64", "int64_t"),
    torch.int32: ("NB_INT32", "int32_t"),
    torch.uint8: ("NB_UINT8", "uint8_t"),
    torch.bool: ("NB_BOOL", "uint8_t"),
}


def case(name, t, requires_grad=False, transpose=False):
    return dict(name=name, t=t, requires_grad=requires_grad, transpose=transpose)


def f32(values):
    return torch.tensor(values, dtype=torch.float32)


CASES = [
    case("matrix_2x2", f32([[1.0, 2.0], [3.0, 4.0]])),
    case("fractions", f32([1.5, -2.25, 3.125])),
    case("tenths_rounded", f32([0.1, 0.2, 0.3, 1 / 3])),
    case("sci_small_min", f32([1e-5, 1.0, -3.0])),
    case("int_mode_sci_ratio", f32([1e10, 1.0])),
    case("int_mode_sci_big", f32([123456789.0, 2.0])),
    case("fraction_sci_ratio", f32([1000.5, 1.0])),
    case("fraction_no_sci", f32([1e-3, 0.5, 999.0])),
    case("all_tiny", f32([1e-6, 2e-6, -3e-7])),
    case("negative_ints", f32([[-1.0, 0.0, 1.0], [10.0, -100.0, 5.0]])),
    case("zeros", f32([0.0, 0.0, -0.0])),
    case("negative_zero_fraction", f32([-0.0, 1.5, -0.00001])),
    case("nan_inf", f32([float("nan"), float("inf"), float("-inf"), 1.5, -2.0])),
    case("only_nan_inf", f32([float("nan"), float("-inf")])),
    case("scalar_float", torch.tensor(3.0)),
    case("scalar_fraction", torch.tensor(-0.5)),
    case("scalar_nan", torch.tensor(float("nan"))),
    case("scalar_int64", torch.tensor(7)),
    case("scalar_bool", torch.tensor(True)),
    case("scalar_float64", torch.tensor(2.718281828, dtype=torch.float64)),
    case("int64_matrix", torch.tensor([[1, -20, 300], [4000, 5, -6]])),
    case("int64_extremes", torch.tensor([-(2**63), 2**63 - 1, 0])),
    case("int32", torch.tensor([1, 2, -3], dtype=torch.int32)),
    case("uint8", torch.tensor([0, 255, 7], dtype=torch.uint8)),
    case("bool_matrix", torch.tensor([[True, False], [False, True]])),
    case("float64_wrapped", torch.randn(3, 30, dtype=torch.float64)),
    case("float32_row_wrapped", torch.arange(30, dtype=torch.float32) * 0.37),
    case("int64_row_wrapped", torch.arange(-20, 40) * 1001),
    case("cube_2x3x4", torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) / 4),
    case("rank4", torch.arange(16, dtype=torch.float32).reshape(2, 2, 2, 2) - 8),
    case("summarized_1d_int", torch.arange(2000)),
    case("summarized_2d", torch.randn(40, 30)),
    case("summarized_3d", torch.randn(8, 10, 15) * 100),
    case("summarized_short_rows", torch.randn(500, 3)),
    case("summarized_size1_dim", torch.arange(1001, dtype=torch.float32).reshape(1, 1001)),
    case("summarized_nan_edge", torch.cat([f32([float("nan"), 2.5]), torch.ones(1100), f32([float("inf")])])),
    case("summarized_bool", torch.arange(1200) % 3 == 0),
    case("empty_1d", torch.zeros(0)),
    case("empty_2d_int64", torch.zeros(0, 3, dtype=torch.int64)),
    case("empty_3d_float64", torch.zeros(2, 0, 4, dtype=torch.float64)),
    case("empty_bool", torch.zeros(0, dtype=torch.bool)),
    case("requires_grad", f32([[1.5, 2.0]]), requires_grad=True),
    case("requires_grad_wrapped", torch.randn(2, 9), requires_grad=True),
    case("float64_requires_grad_suffix_wraps", torch.randn(9, dtype=torch.float64), requires_grad=True),
    case("float64_suffix_on_new_line", torch.randn(8, dtype=torch.float64), requires_grad=True),
    case("transposed_view", torch.arange(12, dtype=torch.float32).reshape(3, 4) * 1.5, transpose=True),
    case("transposed_int32", torch.arange(-6, 6, dtype=torch.int32).reshape(2, 2, 3), transpose=True),
]


def c_value(v, dtype):
    if dtype in (torch.float32, torch.float64):
        if math.isnan(v):
            return "NAN"
        if math.isinf(v):
            return "INFINITY" if v > 0 else "-INFINITY"
        if dtype == torch.float64:
            return repr(float(v))
        # 9 significant digits identify a float32 exactly.
        text = "%.9g" % v
        if "." not in text and "e" not in text:
            text += ".0"
        return text + "f"
    if dtype == torch.bool:
        return "1" if v else "0"
    if dtype == torch.int64 and v == -(2**63):
        return "INT64_MIN"
    if dtype == torch.int64:
        return "INT64_C(%d)" % v
    return str(int(v))


def c_string(s):
    lines = s.split("\n")
    parts = []
    for i, line in enumerate(lines):
        escaped = line.replace("\\", "\\\\").replace('"', '\\"')
        if i < len(lines) - 1:
            escaped += "\\n"
        parts.append('"%s"' % escaped)
    return "\n        ".join(parts)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_path = os.path.join(root, "tests", "data", "print_cases.h")
    arrays = []
    rows = []
    for c in CASES:
        t = c["t"]
        shown = t.transpose(-2, -1) if c["transpose"] else t
        if c["requires_grad"]:
            shown = shown.detach().clone().requires_grad_(True)
        expected = repr(shown)
        enum, ctype = DTYPES[t.dtype]
        values = t.reshape(-1).tolist()
        data = "NULL"
        if values:
            array = "print_data_%s" % c["name"]
            body = ", ".join(c_value(v, t.dtype) for v in values)
            arrays.append("static const %s %s[] = { %s };" % (ctype, array, body))
            data = array
        shape = ", ".join(str(d) for d in t.shape) or "0"
        rows.append(
            '    { "%s", %s, %d, { %s }, %s, %s, %s,\n        %s },'
            % (c["name"], enum, t.dim(), shape, data,
               "true" if c["requires_grad"] else "false",
               "true" if c["transpose"] else "false",
               c_string(expected))
        )
    with open(out_path, "w") as f:
        f.write("/* Generated by scripts/make_print_fixtures.py with PyTorch %s: do not edit.\n" % torch.__version__)
        f.write(" * Each case: values, shape and dtype of a tensor, and repr() of it in PyTorch. */\n")
        f.write("#include <math.h>\n#include <stdbool.h>\n#include <stdint.h>\n\n")
        f.write("typedef struct {\n")
        f.write("    const char *name;\n    nb_dtype    dtype;\n    int         ndim;\n")
        f.write("    int64_t     shape[NB_MAX_DIMS];\n")
        f.write("    const void *data;          /* row-major, in dtype's C type; NULL when empty */\n")
        f.write("    bool        requires_grad;\n")
        f.write("    bool        transpose;     /* print the view with the last two dims swapped */\n")
        f.write("    const char *expected;\n} print_case;\n\n")
        f.write("\n".join(arrays))
        f.write("\n\nstatic const print_case print_cases[] = {\n")
        f.write("\n".join(rows))
        f.write("\n};\n")
    print("wrote %d cases to %s" % (len(CASES), out_path))


if __name__ == "__main__":
    main()

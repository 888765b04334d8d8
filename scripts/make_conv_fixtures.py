#!/usr/bin/python3
"""Write tests/data/conv_fixtures.h: conv2d, conv_transpose2d, max_pool2d
(values and indices), avg_pool2d, adaptive_avg_pool2d and constant pad of
small inputs, as PyTorch 1.13 computes them, for tests/test_conv.c and
tests/test_pool.c.

Run with the Python that has PyTorch:  /usr/bin/python3 scripts/make_conv_fixtures.py

Inputs are random multiples of 1/16 in [-2, 2] (float32 holds them exactly,
so one float64 expectation serves both dtypes); the "ties" inputs are small
integers, so that windows hold equal maxima. Expected outputs are computed
in float64. Each case records the op's arguments as nabla takes them (zero
fields mean the defaults, as in nb_conv_opts / nb_pool_opts).
"""
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "conv_fixtures.h")


def sixteenths(*shape):
    return torch.randint(-32, 33, shape, dtype=torch.int64).to(torch.float64) / 16


def small_ints(*shape):
    return torch.randint(0, 3, shape, dtype=torch.int64).to(torch.float64)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


cases = []


def conv(x_shape, w_shape, bias, stride=1, padding=0, dilation=1, groups=1):
    x, w = sixteenths(*x_shape), sixteenths(*w_shape)
    b = sixteenths(w_shape[0]) if bias else None
    y = F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    cases.append(dict(op="conv2d", x=x, w=w, b=b, stride=pair(stride), padding=pair(padding),
                      dilation=pair(dilation), groups=groups, y=y))


def conv_t(x_shape, w_shape, bias, stride=1, padding=0, dilation=1, groups=1, output_padding=0):
    x, w = sixteenths(*x_shape), sixteenths(*w_shape)
    b = sixteenths(w_shape[1] * groups) if bias else None
    y = F.conv_transpose2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups,
                           output_padding=output_padding)
    cases.append(dict(op="conv_transpose2d", x=x, w=w, b=b, stride=pair(stride), padding=pair(padding),
                      dilation=pair(dilation), groups=groups, output_padding=pair(output_padding), y=y))


def max_pool(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    y, idx = F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode=ceil_mode, return_indices=True)
    cases.append(dict(op="max_pool2d", x=x, kernel=pair(kernel), stride=pair(stride or 0), padding=pair(padding),
                      dilation=pair(dilation), ceil_mode=ceil_mode, y=y, indices=idx))


def avg_pool(x, kernel, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    y = F.avg_pool2d(x, kernel, stride, padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    cases.append(dict(op="avg_pool2d", x=x, kernel=pair(kernel), stride=pair(stride or 0), padding=pair(padding),
                      ceil_mode=ceil_mode, exclude_pad=not count_include_pad, y=y))


def adaptive(x, size):
    cases.append(dict(op="adaptive_avg_pool2d", x=x, out_size=size, y=F.adaptive_avg_pool2d(x, size)))


def pad(x, pads, value):
    cases.append(dict(op="pad", x=x, pads=pads, value=value, y=F.pad(x, pads, value=value)))


# conv2d: basic, stride/padding/dilation per dim, groups, depthwise, 1x1, unbatched, batch 3.
conv((1, 1, 5, 5), (1, 1, 3, 3), False)
conv((3, 2, 7, 6), (4, 2, 3, 2), True, stride=(2, 1), padding=(1, 0), dilation=(1, 2))
conv((2, 4, 6, 5), (6, 2, 3, 3), True, padding=1, groups=2)
conv((1, 3, 5, 5), (3, 1, 3, 3), False, stride=2, padding=2, dilation=2, groups=3)
conv((3, 3, 4, 5), (5, 3, 1, 1), True)
conv((2, 5, 4), (3, 2, 2, 2), True, padding=(1, 2))
conv((2, 1, 8, 8), (8, 1, 3, 3), True, padding=1)
conv((1, 2, 9, 7), (2, 2, 4, 3), True, stride=(3, 2), padding=(2, 1))
conv((1, 2, 4, 4), (3, 2, 1, 1), False, stride=2)

# conv_transpose2d: basic, groups with every option, unbatched, output_padding below dilation only.
conv_t((1, 2, 3, 3), (2, 3, 3, 3), False)
conv_t((2, 4, 3, 4), (4, 1, 3, 2), True, stride=(2, 3), padding=(1, 0), dilation=(1, 2), groups=2,
       output_padding=(1, 2))
conv_t((2, 3, 3), (2, 2, 2, 2), True, stride=2)
conv_t((1, 2, 4, 3), (2, 3, 3, 3), True, padding=1, dilation=2, output_padding=1)
conv_t((3, 1, 2, 2), (1, 2, 1, 1), False, stride=(2, 1))

# max_pool2d
max_pool(sixteenths(2, 3, 6, 7), 2)
max_pool(sixteenths(1, 2, 7, 8), (3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 2))
max_pool(sixteenths(1, 2, 5, 5), 2, stride=2, ceil_mode=True)
max_pool(sixteenths(3, 5, 6), 3, stride=2, padding=1, ceil_mode=True)
max_pool(small_ints(1, 2, 6, 6), 3, stride=1, padding=1)
max_pool(-small_ints(2, 1, 5, 4), (2, 3), stride=(1, 2), padding=(1, 1), ceil_mode=True)

# avg_pool2d
avg_pool(sixteenths(2, 3, 6, 7), 2)
avg_pool(sixteenths(1, 2, 7, 7), 3, stride=2, padding=1, ceil_mode=True)
avg_pool(sixteenths(1, 2, 7, 7), 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
avg_pool(sixteenths(3, 6, 5), (3, 2), stride=(1, 2), padding=(1, 1), count_include_pad=False)
avg_pool(sixteenths(1, 1, 5, 5), 2, stride=2, padding=1, ceil_mode=True)
avg_pool(sixteenths(2, 2, 6, 4), (4, 2), stride=(3, 1), padding=(2, 0))

# adaptive_avg_pool2d: shrink, identity, grow, global, unbatched, rows only.
adaptive(sixteenths(2, 3, 7, 9), (3, 4))
adaptive(sixteenths(3, 5, 5), (5, 5))
adaptive(sixteenths(1, 2, 3, 3), (5, 4))
adaptive(sixteenths(2, 2, 4, 6), (1, 1))
adaptive(sixteenths(1, 1, 6, 5), (4, 5))

# pad: positive, negative (cropping), mixed, every dim, 1-D.
pad(sixteenths(2, 3, 4, 5), (1, 2), 0.5)
pad(sixteenths(2, 3, 4, 5), (1, 2, 0, 1, 3, 0), -1.0)
pad(sixteenths(2, 3, 4, 5), (-1, 2, 1, -2), 0.0)
pad(sixteenths(2, 3, 4), (1, 1, -1, -1, 2, 0), 3.0)
pad(sixteenths(6), (-2, -3), 0.0)
pad(sixteenths(3, 4), (), 0.0)


def c_array(values):
    return "{ " + ", ".join(repr(float(v)) for v in values) + " }"


def shape_fields(t):
    dims = list(t.shape) + [0] * (4 - t.dim())
    return t.dim(), "{ " + ", ".join(str(d) for d in dims) + " }"


lines = [
    "/* Generated by scripts/make_conv_fixtures.py with PyTorch %s. Do not edit. */" % torch.__version__,
    "#ifndef CONV_FIXTURES_H",
    "#define CONV_FIXTURES_H",
    "",
    "#include <stdbool.h>",
    "#include <stddef.h>",
    "#include <stdint.h>",
    "",
    "typedef struct {",
    "    const char   *op;      /* conv2d, conv_transpose2d, max_pool2d, avg_pool2d, adaptive_avg_pool2d, pad */",
    "    int           x_ndim;",
    "    int64_t       x_shape[4];",
    "    const double *x;",
    "    int64_t       w_shape[4]; /* conv: weight (4-D), with bias or NULL */",
    "    const double *w;",
    "    const double *bias;",
    "    int64_t       stride[2], padding[2], dilation[2], groups, output_padding[2];",
    "    int64_t       kernel[2]; /* pooling; stride 0 = kernel */",
    "    bool          ceil_mode, exclude_pad;",
    "    int64_t       out_size[2]; /* adaptive_avg_pool2d */",
    "    int           npads;",
    "    int64_t       pads[8];",
    "    double        value;",
    "    int           y_ndim;",
    "    int64_t       y_shape[4];",
    "    const double *y;",
    "    const double *indices; /* max_pool2d */",
    "} conv_fixture;",
    "",
]
entries = []
for i, c in enumerate(cases):
    name = "conv_fixture_%d" % i
    lines.append("static const double %s_x[] = %s;" % (name, c_array(c["x"].flatten())))
    lines.append("static const double %s_y[] = %s;" % (name, c_array(c["y"].flatten())))
    fields = ['.op = "%s"' % c["op"]]
    nd, sh = shape_fields(c["x"])
    fields += [".x_ndim = %d" % nd, ".x_shape = %s" % sh, ".x = %s_x" % name]
    if "w" in c:
        lines.append("static const double %s_w[] = %s;" % (name, c_array(c["w"].flatten())))
        fields += [".w_shape = %s" % shape_fields(c["w"])[1], ".w = %s_w" % name]
        if c["b"] is not None:
            lines.append("static const double %s_b[] = %s;" % (name, c_array(c["b"].flatten())))
            fields.append(".bias = %s_b" % name)
        fields.append(".groups = %d" % c["groups"])
    for key in ("stride", "padding", "dilation", "output_padding", "kernel"):
        if key in c:
            fields.append(".%s = { %d, %d }" % ((key,) + tuple(c[key])))
    if c.get("ceil_mode"):
        fields.append(".ceil_mode = true")
    if c.get("exclude_pad"):
        fields.append(".exclude_pad = true")
    if "out_size" in c:
        fields.append(".out_size = { %d, %d }" % c["out_size"])
    if "pads" in c:
        fields.append(".npads = %d" % len(c["pads"]))
        if c["pads"]:
            fields.append(".pads = { %s }" % ", ".join(str(p) for p in c["pads"]))
        fields.append(".value = %r" % c["value"])
    if "indices" in c:
        lines.append("static const double %s_i[] = %s;" % (name, c_array(c["indices"].flatten())))
        fields.append(".indices = %s_i" % name)
    nd, sh = shape_fields(c["y"])
    fields += [".y_ndim = %d" % nd, ".y_shape = %s" % sh, ".y = %s_y" % name]
    entries.append("    { " + ", ".join(fields) + " },")
lines.append("")
lines.append("static const conv_fixture conv_fixtures[] = {")
lines += entries
lines.append("};")
lines.append("static const int conv_fixture_count = %d;" % len(cases))
lines.append("")
lines.append("#endif /* CONV_FIXTURES_H */")
with open(OUT, "w") as f:
    f.write("\n".join(lines) + "\n")
print("wrote %d cases to %s" % (len(cases), os.path.relpath(OUT)))

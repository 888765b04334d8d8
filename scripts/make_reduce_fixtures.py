#!/usr/bin/python3
"""Write tests/data/reduce_fixtures.h: reductions, cumsum and softmax of a few
small tensors and of views of them, as PyTorch 1.13 computes them, for
tests/test_reduce.c.

Run with the Python that has PyTorch:  /usr/bin/python3 scripts/make_reduce_fixtures.py

Inputs (all shape (3, 4, 5), row-major):
  float  randn rounded to multiples of 1/64, so float32 holds them exactly and
         one float64 expectation serves both dtypes
  int    integers in [-4, 4] (int64; the test also runs them as int32)
  bool   int > 0
Views (the C test builds the same view before reducing):
  contiguous  x
  permuted    x.permute(2, 0, 1)
  sliced      x[:, ::2, 1:]
  expanded    x[0, 0, :].expand(4, 5)
Each case names the op, the input and view, its dim list (an empty list
means every dim, as nabla's does) or single dim, keepdim, the op's
parameter (correction or p), and the expected output (computed in float64,
shape and values; indices for the *_indices cases).
"""
import math
import os

import torch

torch.manual_seed(0)
FLOAT = torch.round(torch.randn(3, 4, 5, dtype=torch.float64) * 64) / 64
INT = torch.randint(-4, 5, (3, 4, 5), dtype=torch.int64)
BOOL = INT > 0
INPUTS = {"float": FLOAT, "int": INT, "bool": BOOL}

VIEWS = {
    "contiguous": lambda t: t,
    "permuted": lambda t: t.permute(2, 0, 1),
    "sliced": lambda t: t[:, ::2, 1:],
    "expanded": lambda t: t[0, 0, :].expand(4, 5),
}


def dim_lists(ndim):
    if ndim == 3:
        return [(), (0,), (1,), (2,), (-1,), (0, 2), (1, 2), (0, 1), (2, 0)]
    return [(), (0,), (1,), (-1, 0)]


def full(dims, ndim):
    return tuple(range(ndim)) if len(dims) == 0 else dims


# Ops over a dim list: name -> (inputs it takes, param values, torch function).
def norm(v, p, dims, keepdim):
    return torch.norm(v, p, dim=dims, keepdim=keepdim)


LIST_OPS = {
    "sum": (("float", "int", "bool"), [0], lambda v, a, d, k: torch.sum(v, d, keepdim=k)),
    "mean": (("float",), [0], lambda v, a, d, k: torch.mean(v, d, keepdim=k)),
    "prod": (("float", "int"), [0], None),  # torch.prod takes one dim: done by hand below
    "var": (("float",), [1, 0], lambda v, a, d, k: torch.var(v, d, correction=int(a), keepdim=k)),
    "std": (("float",), [1, 0], lambda v, a, d, k: torch.std(v, d, correction=int(a), keepdim=k)),
    "logsumexp": (("float",), [0], lambda v, a, d, k: torch.logsumexp(v, d, keepdim=k)),
    "norm": (("float",), [1.0, 2.0, math.inf, -math.inf, 0.0, 3.0, 0.5], norm),
    "all": (("float", "int", "bool"), [0], None),
    "any": (("float", "int", "bool"), [0], None),
}

# Ops along one dim: name -> (inputs, torch function giving the expected tensor).
DIM_OPS = {
    "max_dim_values": (("float", "int", "bool"), lambda v, d, k: torch.max(v, d, keepdim=k).values),
    "max_dim_indices": (("float", "int", "bool"), lambda v, d, k: torch.max(v, d, keepdim=k).indices),
    "min_dim_values": (("float", "int"), lambda v, d, k: torch.min(v, d, keepdim=k).values),
    "min_dim_indices": (("float", "int"), lambda v, d, k: torch.min(v, d, keepdim=k).indices),
    "argmax_dim": (("float", "int"), lambda v, d, k: torch.argmax(v, d, keepdim=k)),
    "argmin_dim": (("float", "int"), lambda v, d, k: torch.argmin(v, d, keepdim=k)),
    "cumsum": (("float", "int", "bool"), lambda v, d, k: torch.cumsum(v, d)),
    "softmax": (("float",), lambda v, d, k: torch.softmax(v, d)),
    "log_softmax": (("float",), lambda v, d, k: torch.log_softmax(v, d)),
}

# Whole-tensor ops: name -> (inputs, torch function).
FULL_OPS = {
    "max": (("float", "int", "bool"), torch.max),
    "min": (("float", "int", "bool"), torch.min),
    "argmax": (("float", "int"), torch.argmax),
    "argmin": (("float", "int"), torch.argmin),
}


def reduce_by_hand(op, v, dims, keepdim):
    """prod / all / any over several dims, one dim at a time (largest first)."""
    out = v
    for d in sorted((d % v.ndim for d in dims), reverse=True):
        if op == "prod":
            out = torch.prod(out, d, keepdim=True)
        elif op == "all":
            out = torch.all(out, d, keepdim=True)
        else:
            out = torch.any(out, d, keepdim=True)
    if not keepdim:
        for d in sorted((d % v.ndim for d in dims), reverse=True):
            out = out.squeeze(d)
    return out


def c_double(x):
    if math.isnan(x):
        return "NAN"
    if math.isinf(x):
        return "INFINITY" if x > 0 else "-INFINITY"
    return repr(float(x))


cases = []
counter = 0
for input_name, x in INPUTS.items():
    for view_name, view in VIEWS.items():
        v = view(x)
        for op, (inputs, params, fn) in LIST_OPS.items():
            if input_name not in inputs:
                continue
            for dims in dim_lists(v.ndim):
                for param in params:
                    keepdim = counter % 2 == 1
                    counter += 1
                    d = full(dims, v.ndim)
                    if fn is None:
                        expected = reduce_by_hand(op, v, d, keepdim)
                    else:
                        expected = fn(v, param, d, keepdim)
                    cases.append(dict(op=op, input=input_name, view=view_name, dims=dims, dim=0,
                                      keepdim=keepdim, param=param, expected=expected))
        for op, (inputs, fn) in DIM_OPS.items():
            if input_name not in inputs:
                continue
            for dim in range(-1, v.ndim):
                keepdim = counter % 2 == 1
                counter += 1
                cases.append(dict(op=op, input=input_name, view=view_name, dims=(), dim=dim,
                                  keepdim=keepdim, param=0, expected=fn(v, dim, keepdim)))
        for op, (inputs, fn) in FULL_OPS.items():
            if input_name not in inputs:
                continue
            cases.append(dict(op=op, input=input_name, view=view_name, dims=(), dim=0, keepdim=False,
                              param=0, expected=fn(v)))

lines = [
    "/* Generated by scripts/make_reduce_fixtures.py with PyTorch %s. Do not edit. */" % torch.__version__,
    "#ifndef REDUCE_FIXTURES_H",
    "#define REDUCE_FIXTURES_H",
    "",
    "#include <math.h>",
    "#include <stdint.h>",
    "",
    "/* Inputs, shape (3, 4, 5), row-major. */",
]
for name, x in INPUTS.items():
    values = ", ".join(c_double(float(e)) for e in x.flatten().tolist())
    lines.append("static const double reduce_fixture_%s_input[60] = { %s };" % (name, values))
lines += [
    "",
    "typedef struct {",
    "    const char   *op;       /* \"sum\", \"max_dim_indices\", ... */",
    "    const char   *input;    /* \"float\", \"int\" or \"bool\" */",
    "    const char   *view;     /* \"contiguous\", \"permuted\", \"sliced\", \"expanded\" */",
    "    int           ndims;    /* dim list (0: every dim) */",
    "    int           dims[3];",
    "    int           dim;      /* single-dim ops */",
    "    int           keepdim;",
    "    double        param;    /* correction (var, std) or p (norm) */",
    "    int           out_ndim;",
    "    int64_t       out_shape[3];",
    "    int           count;",
    "    const double *expected;",
    "} reduce_fixture;",
    "",
]
for i, c in enumerate(cases):
    values = ", ".join(c_double(float(e)) for e in c["expected"].double().flatten().tolist())
    lines.append("static const double reduce_fixture_expected_%d[] = { %s };" % (i, values))
lines.append("")
lines.append("static const reduce_fixture reduce_fixtures[] = {")
for i, c in enumerate(cases):
    e = c["expected"]
    dims = list(c["dims"]) + [0] * (3 - len(c["dims"]))
    shape = list(e.shape) + [0] * (3 - e.dim())
    lines.append('    { "%s", "%s", "%s", %d, { %s }, %d, %d, %s, %d, { %s }, %d, reduce_fixture_expected_%d },'
                 % (c["op"], c["input"], c["view"], len(c["dims"]), ", ".join(map(str, dims)), c["dim"],
                    int(c["keepdim"]), c_double(c["param"]), e.dim(), ", ".join(map(str, shape)), e.numel(), i))
lines.append("};")
lines.append("")
lines.append("#endif /* REDUCE_FIXTURES_H */")

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "reduce_fixtures.h")
with open(path, "w") as f:
    f.write("\n".join(lines) + "\n")
print("wrote %d cases to %s" % (len(cases), os.path.normpath(path)))

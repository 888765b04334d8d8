#!/usr/bin/python3
"""Write tests/data/opinfo.bin: the samples of every row of tests/op_info.h
and what PyTorch 1.13 computes for them, for tests/test_opinfo.c.

Run with the Python that has PyTorch:  /usr/bin/python3 scripts/make_opinfo_fixtures.py
To add new rows' cases and keep the others' bytes (see main):
  /usr/bin/python3 scripts/make_opinfo_fixtures.py --append ROW[,ROW...]

The rows come from tests/op_info.h (its OP(...) lines): name, arity, kind,
dtypes, domain, flags. Each kind has a sample generator below (shapes with
0-d and size-0 dims, broadcasting pairs, every dtype, mixed-dtype pairs, the
three non-contiguous layouts, and inputs that torch refuses); TORCH maps each
row to its torch reference. A row without one stops the script.

Each input is described by its dtype, its view shape and a layout, with the
values of its *base*, from which the C test rebuilds the same view:
  C  contiguous        base = view
  T  transposed        base has the last two dims swapped; view = base.transpose(-1, -2)
  S  stepped slice     base has the last dim doubled;       view = base[..., ::2]
  E  expanded          base has dim 0 of size 1;            view = base.expand(shape)
Float values are distinct multiples of 1/32 (float32 holds them exactly, and
max/sort/relu see no ties or kinks); integers are small.

For each case the fixture holds the params, the inputs, and either "raises"
(torch raised: nabla must fail too) or the output (dtype, shape, values), the
values of each input's base after the call when the op changed it (in-place
ops, batch norm's running statistics), and, for differentiable rows on
floating inputs, the gradient of sum(out * w) with respect to each base that
requires grad, w[i] = ((7 i) mod 11 - 5) / 4 in out's dtype. In-place rows
(name ending in _) take x[0]'s view from a clone of the leaf, in torch as in
the C test, so that autograd accepts them, and their gradient is that of
sum(clone * w): it flows back through the base the view wrote into.

For each case that succeeds the fixture also holds what torch reports for
the result (and, in place, for the base it wrote into): requires_grad,
is_leaf and type(grad_fn).__name__, for several runs (status_runs below):
no base requiring grad; the gradient case's bases requiring grad; and under
torch.no_grad, in place also on the leaf itself.

Format (little-endian): "NBOPINFO", u32 version (2), u32 cases,
u8 n, str[n] grad_fn names (probes refer to them by index), then per case:
  str op, str tag                          (u8 length + bytes)
  u8 n, i64[n]        params i             u8 n, f64[n] params d
  u8 n, i8[n]         dims (n = 255: none) u8 n, i64[n] shape (n = 255: none)
  u8 bits             1 flag, 2 flag2, 4 nabla refuses (documented), 8 no gradcheck
  u8 inputs, each:    u8 dtype (255: absent) [u8 layout, shape view, shape base,
                      array base, u8 requires_grad, u8 changed, [array after]]
  u8 status           0 ok: u8 dtype, shape, array values, u8 has_grads,
                      [per input that requires grad: u8 present, [array]],
                      u8 runs, each: u8 mode (0 grad on, 1 no_grad, 2 no_grad on
                      the leaf) | 4 torch raised, u8 mask of bases requiring
                      grad, [u8 n, n probes: u8 bits (1 requires_grad,
                      2 is_leaf), u8 name (255: None)]
                      1 raises
  shape = u8 ndim, i64[ndim]; array = u8 encoding (0 f64, 1 f32, 2 i8, 3 i16 / 64), u32 n, data
"""
import math
import os
import re
import struct
import sys

import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tests", "data", "opinfo.bin")
VERSION = 2

DTYPES = ["float32", "float64", "int64", "int32", "uint8", "bool"]
TORCH_DTYPE = {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64,
               "int32": torch.int32, "uint8": torch.uint8, "bool": torch.bool}
# Issue 13's dtypes: codes after the first six (nabla's enum order); the
# generators above loop over DTYPES / FLOATS only, the block "issue 13: half
# precision" below adds their cases.
NARROW = ["float16", "bfloat16", "int16", "int8"]
TORCH_DTYPE.update({"float16": torch.float16, "bfloat16": torch.bfloat16, "int16": torch.int16, "int8": torch.int8})
DTYPE_CODE = {d: i for i, d in enumerate(DTYPES + NARROW)}
CODE_OF_TORCH = {TORCH_DTYPE[d]: i for i, d in enumerate(DTYPES + NARROW)}
FLOATS = ["float32", "float64"]
HALVES = ["float16", "bfloat16"]
LAYOUTS = "CTSE"
END = 2 ** 63 - 1  # NB_END
RED = {"mean": 0, "sum": 1, "none": 2, "batchmean": 3}
RED_NAME = {v: k for k, v in RED.items()}

# ---------------------------------------------------------------- the rows


def parse_rows():
    text = open(os.path.join(ROOT, "tests", "op_info.h")).read()
    text = text[text.index("#ifdef OP"):]
    rows = {}
    for m in re.finditer(r"^OP\(\s*(\w+),\s*(\d+),\s*(\w+),\s*(\w+),\s*(\w+),\s*(\w+),", text, re.M):
        name, arity, kind, dtypes, domain, flags = m.groups()
        rows[name] = dict(arity=int(arity), kind=kind, dtypes=dtypes, domain=domain, flags=flags)
    return rows


def accepts(row, dtype):
    if row["dtypes"] == "FLOAT":
        return dtype in FLOATS + HALVES
    if row["dtypes"] == "NUMERIC":
        return dtype != "bool"
    return True


# ---------------------------------------------------------------- values

gen = torch.Generator().manual_seed(20240607)


# xlogy (kl_div's piece) came later: its rows' own stream.
OWN_STREAMS = {name: torch.Generator().manual_seed(20261207 + k) for k, name in enumerate(
    ["xlogy", "xlogy_scalar", "xlogy_", "xlogy_scalar_", "xlogy_scalar_i64", "xlogy_scalar_i64_"])}


def randint(lo, hi, n):
    return torch.randint(lo, hi, (n,), generator=gen).tolist()


def draw(dtype, n, domain):
    """n values for a base of dtype in domain (a list of floats)."""
    if n == 0:
        return []
    if dtype in FLOATS + HALVES:  # the pools' values are exact in both halves
        if domain == "POS":
            pool = [k / 64 for k in range(16, 193)]
        elif domain == "PROB":
            pool = [k / 64 for k in range(3, 62)]
        elif domain == "SMALL":
            pool = [k / 64 for k in range(-128, 129) if k != 0]
        elif domain in ("UNIT", "GT1", "OFFGRID"):  # issue 13's domains (op_info.h)
            pool = ISSUE13_POOLS[domain]
        else:
            pool = [k / 32 for k in range(-96, 97) if abs(k) >= 2]
        if n <= len(pool):
            perm = torch.randperm(len(pool), generator=gen)[:n].tolist()
            return [pool[i] for i in perm]
        return [pool[i] for i in randint(0, len(pool), n)]
    if dtype == "bool":
        return [float(v) for v in randint(0, 2, n)]
    lo = 0 if dtype == "uint8" else -5
    if domain in ("POS", "POW"):
        lo = 1 if domain == "POS" else 0
        return [float(v) for v in randint(lo, 5 if domain == "POW" else 7, n)]
    vals = [float(v) for v in randint(lo, 11 if dtype == "uint8" else 6, n)]
    if domain == "NZ":
        vals = [v if v != 0 else 3.0 for v in vals]
    return vals


SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.5, -2.0, 0.25]


class I:
    """An input: dtype, view shape, layout, domain or explicit base values."""

    def __init__(self, dtype, shape, layout="C", domain=None, values=None, grad=True):
        self.dtype, self.shape, self.layout = dtype, tuple(shape), layout
        self.domain, self.values, self.grad = domain, values, grad

    def base_shape(self):
        s = list(self.shape)
        if self.layout == "T":
            s[-1], s[-2] = s[-2], s[-1]
        elif self.layout == "S":
            s[-1] = 2 * s[-1]
        elif self.layout == "E":
            s[0] = 1
        return tuple(s)

    def realize(self, default_domain):
        bs = self.base_shape()
        n = math.prod(bs)
        if self.values is None:
            self.values = draw(self.dtype, n, self.domain or default_domain)
        assert len(self.values) == n, (self.shape, self.layout, len(self.values))


def view_of(base, layout, shape):
    if layout == "T":
        return base.transpose(-1, -2)
    if layout == "S":
        return base[..., ::2]
    if layout == "E":
        return base.expand(*shape)
    return base


def layouts_ok(shape, layout):
    if layout == "T":
        return len(shape) >= 2
    if layout in "SE":
        return len(shape) >= 1
    return True


# ---------------------------------------------------------------- torch references


def py_scalar(s):
    return int(s) if float(s).is_integer() and not math.isinf(s) else s


def none_if_nan(v):
    return None if math.isnan(v) else v


def check_dims(x, dims):
    n = max(x.dim(), 1)
    if any(d < -n or d >= n for d in dims) or len(set(d % n for d in dims)) != len(dims):
        raise IndexError("bad dim list")


def prod_dims(x, dims, keep):
    check_dims(x, dims)
    if len(dims) == 0:
        dims = list(range(x.dim()))
    out = x
    for d in sorted([d % max(x.dim(), 1) for d in dims], reverse=True):
        out = torch.prod(out, d, keepdim=keep)
    if x.dim() == 0:
        return torch.prod(x)
    return out


def dims_of(p):
    return tuple(p["dims"]) if p["dims"] else ()




def sl(p):
    stop = None if p["i"][2] == END else p["i"][2]
    return slice(p["i"][1], stop, p["i"][3])


def do_slice(x, p):
    idx = [slice(None)] * x.dim()
    idx[p["i"][0]] = sl(p)
    return x[tuple(idx)]


def piece(x, p, chunk):
    pieces = torch.chunk(x, p["i"][0], p["i"][1]) if chunk else torch.split(x, p["i"][0], p["i"][1])
    return pieces[p["i"][2]] if p["i"][2] < len(pieces) else torch.zeros(0)


def topk_ref(x, p, indices):
    k, dim, largest = p["i"][0], p["i"][1], p["flag"]
    if x.dtype == torch.bool:
        torch.topk(x, k)  # raises: "topk_cpu" not implemented for 'Bool'
    # torch.topk's order among equal values is unspecified; nabla's (and this)
    # is the earliest first: a stable sort
    if k < 0 or k > (x.shape[dim] if x.dim() else 1):
        raise RuntimeError("k out of range")
    v, i = torch.sort(x, dim=dim, descending=largest, stable=True)
    v, i = v.narrow(dim if x.dim() else 0, 0, k) if x.dim() else v, i.narrow(dim, 0, k) if x.dim() else i
    if x.requires_grad:  # where torch.topk picks the same elements, its result (for TopkBackward0)
        tv, ti = torch.topk(x, k, dim, largest)
        if torch.equal(ti, i):
            return ti if indices else tv
    return i if indices else v


def conv_kw(p):
    i = p["i"]
    return dict(stride=(i[0] or 1, i[1] or 1), padding=(i[2], i[3]), dilation=(i[4] or 1, i[5] or 1),
                groups=i[6] or 1)


def pool_kw(p, dilation=True):
    i = p["i"]
    kw = dict(kernel_size=(i[0], i[1]), stride=(i[2] or i[0], i[3] or i[1]), padding=(i[4], i[5]),
              ceil_mode=p["flag"])
    if dilation:
        kw["dilation"] = (i[6] or 1, i[7] or 1)
    return kw


def ce_kw(x, p):
    kw = dict(reduction=RED_NAME[p["i"][0]], weight=x[2])
    kw["ignore_index"] = p["i"][1] if p["flag"] else -10 ** 9
    return kw








TORCH = {
    "neg": lambda x, p: torch.neg(x[0]), "abs": lambda x, p: torch.abs(x[0]),
    "sign": lambda x, p: torch.sign(x[0]), "exp": lambda x, p: torch.exp(x[0]),
    "log": lambda x, p: torch.log(x[0]), "log1p": lambda x, p: torch.log1p(x[0]),
    "expm1": lambda x, p: torch.expm1(x[0]), "sqrt": lambda x, p: torch.sqrt(x[0]),
    "rsqrt": lambda x, p: torch.rsqrt(x[0]), "sin": lambda x, p: torch.sin(x[0]),
    "cos": lambda x, p: torch.cos(x[0]), "tanh": lambda x, p: torch.tanh(x[0]),
    "sigmoid": lambda x, p: torch.sigmoid(x[0]), "relu": lambda x, p: torch.relu(x[0]),
    "silu": lambda x, p: F.silu(x[0]), "erf": lambda x, p: torch.erf(x[0]),
    "gelu": lambda x, p: F.gelu(x[0], approximate="tanh" if p["flag"] else "none"),
    "softplus": lambda x, p: F.softplus(x[0], p["d"][0], p["d"][1]),
    "clamp": lambda x, p: torch.clamp(x[0], none_if_nan(p["d"][0]), none_if_nan(p["d"][1])),
    "logical_not": lambda x, p: torch.logical_not(x[0]), "isnan": lambda x, p: torch.isnan(x[0]),
    "isinf": lambda x, p: torch.isinf(x[0]), "isfinite": lambda x, p: torch.isfinite(x[0]),
    "add": lambda x, p: torch.add(x[0], x[1]), "sub": lambda x, p: torch.sub(x[0], x[1]),
    "mul": lambda x, p: torch.mul(x[0], x[1]), "div": lambda x, p: torch.div(x[0], x[1]),
    "floor_divide": lambda x, p: torch.div(x[0], x[1], rounding_mode="floor"),
    "remainder": lambda x, p: torch.remainder(x[0], x[1]), "pow": lambda x, p: torch.pow(x[0], x[1]),
    "maximum": lambda x, p: torch.maximum(x[0], x[1]), "minimum": lambda x, p: torch.minimum(x[0], x[1]),
    "eq": lambda x, p: torch.eq(x[0], x[1]), "ne": lambda x, p: torch.ne(x[0], x[1]),
    "lt": lambda x, p: torch.lt(x[0], x[1]), "le": lambda x, p: torch.le(x[0], x[1]),
    "gt": lambda x, p: torch.gt(x[0], x[1]), "ge": lambda x, p: torch.ge(x[0], x[1]),
    "logical_and": lambda x, p: torch.logical_and(x[0], x[1]),
    "logical_or": lambda x, p: torch.logical_or(x[0], x[1]),
    "where": lambda x, p: torch.where(x[0], x[1], x[2]),
}
S = lambda p: py_scalar(p["d"][0])  # noqa: E731
TORCH.update({
    "add_scalar": lambda x, p: x[0] + S(p), "sub_scalar": lambda x, p: x[0] - S(p),
    "mul_scalar": lambda x, p: x[0] * S(p), "div_scalar": lambda x, p: x[0] / S(p),
    "pow_scalar": lambda x, p: torch.pow(x[0], S(p)),
    "remainder_scalar": lambda x, p: torch.remainder(x[0], S(p)),
    "floor_divide_scalar": lambda x, p: torch.div(x[0], S(p), rounding_mode="floor"),
    "maximum_scalar": lambda x, p: torch.maximum(x[0], torch.tensor(S(p))),
    "minimum_scalar": lambda x, p: torch.minimum(x[0], torch.tensor(S(p))),
    "eq_scalar": lambda x, p: x[0] == S(p), "ne_scalar": lambda x, p: x[0] != S(p),
    "lt_scalar": lambda x, p: x[0] < S(p), "le_scalar": lambda x, p: x[0] <= S(p),
    "gt_scalar": lambda x, p: x[0] > S(p), "ge_scalar": lambda x, p: x[0] >= S(p),
    "logical_and_scalar": lambda x, p: torch.logical_and(x[0], torch.tensor(S(p))),
    "logical_or_scalar": lambda x, p: torch.logical_or(x[0], torch.tensor(S(p))),
    "rsub_scalar": lambda x, p: S(p) - x[0], "rdiv_scalar": lambda x, p: S(p) / x[0],
    "add_": lambda x, p: x[0].add_(x[1]), "sub_": lambda x, p: x[0].sub_(x[1]),
    "mul_": lambda x, p: x[0].mul_(x[1]), "div_": lambda x, p: x[0].div_(x[1]),
    "copy_": lambda x, p: x[0].copy_(x[1]),
    "add_scalar_": lambda x, p: x[0].add_(S(p)), "sub_scalar_": lambda x, p: x[0].sub_(S(p)),
    "mul_scalar_": lambda x, p: x[0].mul_(S(p)), "div_scalar_": lambda x, p: x[0].div_(S(p)),
    "fill_": lambda x, p: x[0].fill_(S(p)),
    "clamp_": lambda x, p: x[0].clamp_(none_if_nan(p["d"][0]), none_if_nan(p["d"][1])),
})
for _u in ["neg", "abs", "sign", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tanh",
           "sigmoid", "relu", "erf"]:
    TORCH[_u + "_"] = (lambda m: lambda x, p: getattr(x[0], m)())(_u + "_")
TORCH["silu_"] = lambda x, p: F.silu(x[0], inplace=True)


def dimsarg(p, x):
    return dims_of(p) if p["dims"] else tuple(range(x.dim()))


def norm_ref(x, pv, dims, keep):
    if dims is None:
        return torch.linalg.vector_norm(x, pv)
    return torch.linalg.vector_norm(x, pv, dim=dims, keepdim=keep)


TORCH.update({
    "sum": lambda x, p: torch.sum(x[0]), "mean": lambda x, p: torch.mean(x[0]),
    "prod": lambda x, p: torch.prod(x[0]), "max": lambda x, p: torch.max(x[0]),
    "min": lambda x, p: torch.min(x[0]), "argmax": lambda x, p: torch.argmax(x[0]),
    "argmin": lambda x, p: torch.argmin(x[0]),
    "var": lambda x, p: torch.var(x[0], dim=None, correction=p["i"][0]),
    "std": lambda x, p: torch.std(x[0], dim=None, correction=p["i"][0]),
    "norm": lambda x, p: norm_ref(x[0], p["d"][0], None, False),
    "all": lambda x, p: torch.all(x[0]), "any": lambda x, p: torch.any(x[0]),
    "sum_dims": lambda x, p: torch.sum(x[0], dimsarg(p, x[0]), keepdim=p["flag"]),
    "mean_dims": lambda x, p: torch.mean(x[0], dimsarg(p, x[0]), keepdim=p["flag"]),
    "prod_dims": lambda x, p: prod_dims(x[0], list(p["dims"]), p["flag"]),
    "var_dims": lambda x, p: torch.var(x[0], dimsarg(p, x[0]), correction=p["i"][0], keepdim=p["flag"]),
    "std_dims": lambda x, p: torch.std(x[0], dimsarg(p, x[0]), correction=p["i"][0], keepdim=p["flag"]),
    "logsumexp": lambda x, p: torch.logsumexp(x[0], dimsarg(p, x[0]), keepdim=p["flag"]),
    "norm_dims": lambda x, p: norm_ref(x[0], p["d"][0], dimsarg(p, x[0]), p["flag"]),
    "all_dims": lambda x, p: all_any(torch.all, x[0], p), "any_dims": lambda x, p: all_any(torch.any, x[0], p),
    "max_dim": lambda x, p: torch.max(x[0], p["i"][0], keepdim=p["flag"])[0],
    "min_dim": lambda x, p: torch.min(x[0], p["i"][0], keepdim=p["flag"])[0],
    "max_dim_indices": lambda x, p: torch.max(x[0], p["i"][0], keepdim=p["flag"])[1],
    "min_dim_indices": lambda x, p: torch.min(x[0], p["i"][0], keepdim=p["flag"])[1],
    "argmax_dim": lambda x, p: torch.argmax(x[0], p["i"][0], keepdim=p["flag"]),
    "argmin_dim": lambda x, p: torch.argmin(x[0], p["i"][0], keepdim=p["flag"]),
    "cumsum": lambda x, p: torch.cumsum(x[0], p["i"][0]),
    "softmax": lambda x, p: torch.softmax(x[0], p["i"][0]),
    "log_softmax": lambda x, p: torch.log_softmax(x[0], p["i"][0]),
})


# ---- reductions made from the rows, order statistics, counting (statistics.c)
QMODES = ["linear", "lower", "higher", "midpoint", "nearest"]


def qdim(p):
    return None if not p["dims"] else (p["dims"][0] if len(p["dims"]) == 1 else tuple(p["dims"]))


def quantile_ref(fn, mode):
    return lambda x, p: fn(x[0], p["d"][0], dim=qdim(p), keepdim=p["flag"], interpolation=mode)


def unique_ref(part, consecutive=False):
    def ref(x, p):
        fn = torch.unique_consecutive if consecutive else torch.unique
        r = fn(x[0].flatten() if consecutive else x[0], return_inverse=True, return_counts=True)
        if consecutive and part == 1:
            return r[1].reshape(x[0].shape)
        return r[part]
    return ref


TORCH.update({
    "amax": lambda x, p: torch.amax(x[0], dimsarg(p, x[0]) or (), keepdim=p["flag"]),
    "amin": lambda x, p: torch.amin(x[0], dimsarg(p, x[0]) or (), keepdim=p["flag"]),
    "nansum": lambda x, p: torch.nansum(x[0]), "nanmean": lambda x, p: torch.nanmean(x[0]),
    "nansum_dims": lambda x, p: torch.nansum(x[0], dimsarg(p, x[0]), keepdim=p["flag"]),
    "nanmean_dims": lambda x, p: torch.nanmean(x[0], dimsarg(p, x[0]), keepdim=p["flag"]),
    "cumprod": lambda x, p: torch.cumprod(x[0], p["i"][0]),
    "cummax": lambda x, p: torch.cummax(x[0], p["i"][0])[0],
    "cummin": lambda x, p: torch.cummin(x[0], p["i"][0])[0],
    "cummax_indices": lambda x, p: torch.cummax(x[0], p["i"][0])[1],
    "cummin_indices": lambda x, p: torch.cummin(x[0], p["i"][0])[1],
    "median": lambda x, p: torch.median(x[0]), "nanmedian": lambda x, p: torch.nanmedian(x[0]),
    "median_dim": lambda x, p: torch.median(x[0], p["i"][0], keepdim=p["flag"])[0],
    "nanmedian_dim": lambda x, p: torch.nanmedian(x[0], p["i"][0], keepdim=p["flag"])[0],
    "median_dim_indices": lambda x, p: torch.median(x[0], p["i"][0], keepdim=p["flag"])[1],
    "nanmedian_dim_indices": lambda x, p: torch.nanmedian(x[0], p["i"][0], keepdim=p["flag"])[1],
    "quantile": quantile_ref(torch.quantile, "linear"),
    "quantile_lower": quantile_ref(torch.quantile, "lower"),
    "quantile_higher": quantile_ref(torch.quantile, "higher"),
    "quantile_midpoint": quantile_ref(torch.quantile, "midpoint"),
    "quantile_nearest": quantile_ref(torch.quantile, "nearest"),
    "nanquantile": quantile_ref(torch.nanquantile, "linear"),
    "quantile_tensor": lambda x, p: torch.quantile(x[0], x[1], dim=qdim(p), keepdim=p["flag"],
                                                   interpolation=QMODES[p["i"][0]]),
    "nanquantile_tensor": lambda x, p: torch.nanquantile(x[0], x[1], dim=qdim(p), keepdim=p["flag"],
                                                         interpolation=QMODES[p["i"][0]]),
    "unique": unique_ref(0), "unique_inverse": unique_ref(1), "unique_counts": unique_ref(2),
    "unique_consecutive": unique_ref(0, True), "unique_consecutive_inverse": unique_ref(1, True),
    "unique_consecutive_counts": unique_ref(2, True),
    "bincount": lambda x, p: torch.bincount(x[0], weights=x[1], minlength=p["i"][0]),
    "histc": lambda x, p: torch.histc(x[0], bins=p["i"][0], min=p["d"][0], max=p["d"][1]),
})


# ---- index expressions (advanced_index.c); tests/op_info.h's op_index_expr
EXPRS = [
    lambda x, i, j: x[i], lambda x, i, j: x[:, i], lambda x, i, j: x[i, j], lambda x, i, j: x[i, :, j],
    lambda x, i, j: x[1:, i], lambda x, i, j: x[..., i], lambda x, i, j: x[None, i], lambda x, i, j: x[-1, i],
    lambda x, i, j: x[i, None, j], lambda x, i, j: x[-2::2, 0], lambda x, i, j: x[..., None, 1:],
    lambda x, i, j: x[...], lambda x, i, j: x[::2, i, ...], lambda x, i, j: x[1, -1, 2, 0],
]


def index_put_ref(x, p, inplace=False):
    y = x[0] if inplace else x[0].clone()
    i, j = x[1], x[2]
    if p["flag"]:
        tensors = (i,) if p["i"][0] == 0 else (i, j)
        return y.index_put_(tensors, x[3], accumulate=True)
    view_expr = EXPRS[p["i"][0]]
    if p["i"][0] in (9, 10, 11, 13):
        view_expr(y, i, j).copy_(x[3])
    else:
        # y[expr] = values, with the expression's own Python syntax
        index_assign(y, p["i"][0], i, j, x[3])
    return y


def index_assign(y, k, i, j, v):
    if k == 0: y[i] = v
    elif k == 1: y[:, i] = v
    elif k == 2: y[i, j] = v
    elif k == 3: y[i, :, j] = v
    elif k == 4: y[1:, i] = v
    elif k == 5: y[..., i] = v
    elif k == 6: y[None, i] = v
    elif k == 7: y[-1, i] = v
    elif k == 8: y[i, None, j] = v
    elif k == 12: y[::2, i, ...] = v
    else: raise ValueError(k)


TORCH.update({
    "index": lambda x, p: EXPRS[p["i"][0]](x[0], x[1], x[2]),
    "index_put": index_put_ref,
    "index_put_": lambda x, p: index_put_ref(x, p, True),
})




def all_any(fn, x, p):
    check_dims(x, dimsarg(p, x))
    dims = sorted([d % max(x.dim(), 1) for d in dimsarg(p, x)], reverse=True)
    if len(set(dims)) != len(dims):
        raise RuntimeError("dim repeated")
    out = x
    if x.dim() == 0:
        return fn(x)
    for d in dims:
        out = fn(out, d, keepdim=p["flag"])
    return out


TORCH.update({
    "clone": lambda x, p: torch.clone(x[0]), "contiguous": lambda x, p: x[0].contiguous(),
    "detach": lambda x, p: x[0].detach(),
    "reshape": lambda x, p: torch.reshape(x[0], p["shape"]), "view": lambda x, p: x[0].view(p["shape"]),
    "transpose": lambda x, p: torch.transpose(x[0], p["i"][0], p["i"][1]),
    "permute": lambda x, p: x[0].permute(p["dims"]), "t": lambda x, p: torch.t(x[0]),
    "expand": lambda x, p: x[0].expand(p["shape"]),
    "broadcast_to": lambda x, p: torch.broadcast_to(x[0], p["shape"]),
    "squeeze": lambda x, p: torch.squeeze(x[0]), "squeeze_dim": lambda x, p: torch.squeeze(x[0], p["i"][0]),
    "unsqueeze": lambda x, p: torch.unsqueeze(x[0], p["i"][0]),
    "flatten": lambda x, p: torch.flatten(x[0], p["i"][0], p["i"][1]),
    "unflatten": lambda x, p: torch.unflatten(x[0], p["i"][0], p["shape"]),
    "narrow": lambda x, p: torch.narrow(x[0], p["i"][0], p["i"][1], p["i"][2]),
    "slice": lambda x, p: do_slice(x[0], p), "select": lambda x, p: torch.select(x[0], p["i"][0], p["i"][1]),
    "diagonal": lambda x, p: torch.diagonal(x[0], p["i"][0], p["i"][1], p["i"][2]),
    "split": lambda x, p: piece(x[0], p, False), "chunk": lambda x, p: piece(x[0], p, True),
    "to_dtype": lambda x, p: x[0].to(TORCH_DTYPE[DTYPES[p["i"][0]]]), "to": lambda x, p: x[0].to("cpu"),
    "matmul": lambda x, p: torch.matmul(x[0], x[1]), "mm": lambda x, p: torch.mm(x[0], x[1]),
    "bmm": lambda x, p: torch.bmm(x[0], x[1]), "dot": lambda x, p: torch.dot(x[0], x[1]),
    "outer": lambda x, p: torch.outer(x[0], x[1]),
    "cat": lambda x, p: torch.cat(x[:p["i"][0]], p["i"][1]),
    "stack": lambda x, p: torch.stack(x[:p["i"][0]], p["i"][1]),
    "index_select": lambda x, p: torch.index_select(x[0], p["i"][0], x[1]),
    "gather": lambda x, p: torch.gather(x[0], p["i"][0], x[1]),
    "scatter": lambda x, p: torch.scatter(x[0], p["i"][0], x[1], x[2]),
    "scatter_add": lambda x, p: torch.scatter_add(x[0], p["i"][0], x[1], x[2]),
    "scatter_": lambda x, p: x[0].scatter_(p["i"][0], x[1], x[2]),
    "scatter_add_": lambda x, p: x[0].scatter_add_(p["i"][0], x[1], x[2]),
    "masked_fill": lambda x, p: torch.masked_fill(x[0], x[1], py_scalar(p["d"][0])),
    "masked_select": lambda x, p: torch.masked_select(x[0], x[1]),
    "nonzero": lambda x, p: torch.nonzero(x[0]),
    "one_hot": lambda x, p: F.one_hot(x[0], p["i"][0]),
    "sort": lambda x, p: torch.sort(x[0], dim=p["i"][0], descending=p["flag"], stable=True)[0],
    "sort_indices": lambda x, p: torch.sort(x[0], dim=p["i"][0], descending=p["flag"], stable=True)[1],
    "topk": lambda x, p: topk_ref(x[0], p, False), "topk_indices": lambda x, p: topk_ref(x[0], p, True),
    "linear": lambda x, p: F.linear(x[0], x[1], x[2]),
    "conv2d": lambda x, p: F.conv2d(x[0], x[1], x[2], **conv_kw(p)),
    "conv_transpose2d": lambda x, p: F.conv_transpose2d(x[0], x[1], x[2], output_padding=(p["i"][7], p["i"][8]),
                                                        **conv_kw(p)),
    "max_pool2d": lambda x, p: F.max_pool2d(x[0], **pool_kw(p)),
    "max_pool2d_indices": lambda x, p: F.max_pool2d(x[0], return_indices=True, **pool_kw(p))[1],
    "avg_pool2d": lambda x, p: F.avg_pool2d(x[0], count_include_pad=not p["flag2"], **pool_kw(p, False)),
    "adaptive_avg_pool2d": lambda x, p: F.adaptive_avg_pool2d(x[0], (p["i"][0], p["i"][1])),
    "batch_norm": lambda x, p: F.batch_norm(x[0], x[1], x[2], x[3], x[4], p["flag"], p["d"][0], p["d"][1]),
    "layer_norm": lambda x, p: F.layer_norm(x[0], p["shape"], x[1], x[2], p["d"][0]),
    "group_norm": lambda x, p: F.group_norm(x[0], p["i"][0], x[1], x[2], p["d"][0]),
    "dropout": lambda x, p: F.dropout(x[0], p["d"][0], p["flag"]),
    "embedding": lambda x, p: F.embedding(x[0], x[1]),
    "pad": lambda x, p: F.pad(x[0], p["shape"], value=p["d"][0]),
    "mse_loss": lambda x, p: F.mse_loss(x[0], x[1], reduction=RED_NAME[p["i"][0]]),
    "l1_loss": lambda x, p: F.l1_loss(x[0], x[1], reduction=RED_NAME[p["i"][0]]),
    "smooth_l1_loss": lambda x, p: F.smooth_l1_loss(x[0], x[1], reduction=RED_NAME[p["i"][0]], beta=p["d"][0]),
    "cross_entropy": lambda x, p: F.cross_entropy(x[0], x[1], label_smoothing=p["d"][0], **ce_kw(x, p)),
    "nll_loss": lambda x, p: F.nll_loss(x[0], x[1], **ce_kw(x, p)),
    "binary_cross_entropy": lambda x, p: F.binary_cross_entropy(x[0], x[1], x[2], reduction=RED_NAME[p["i"][0]]),
    "binary_cross_entropy_with_logits": lambda x, p: F.binary_cross_entropy_with_logits(
        x[0], x[1], x[2], reduction=RED_NAME[p["i"][0]], pos_weight=x[3]),
    "kl_div": lambda x, p: F.kl_div(x[0], x[1], reduction=RED_NAME[p["i"][0]], log_target=p["flag"]),
})


# ---------------------------------------------------------------- shape and index ops (issue 13)


def pick(pieces, k):
    return pieces[k] if k < len(pieces) else torch.zeros(0)


def ri_tensor(x, p):
    out = None if p["i"][2] == -1 else p["i"][2]
    return torch.repeat_interleave(x[0], x[1], dim=p["i"][1], output_size=out)


TORCH.update({
    "flip": lambda x, p: torch.flip(x[0], tuple(p["dims"])),
    "roll": lambda x, p: torch.roll(x[0], tuple(p["shape"]), tuple(p["dims"])),
    "movedim": lambda x, p: torch.movedim(x[0], tuple(p["dims"]), tuple(p["i"][1:1 + p["i"][0]])),
    "moveaxis": lambda x, p: torch.moveaxis(x[0], tuple(p["dims"]), tuple(p["i"][1:1 + p["i"][0]])),
    "swapaxes": lambda x, p: torch.swapaxes(x[0], p["i"][0], p["i"][1]),
    "swapdims": lambda x, p: torch.swapdims(x[0], p["i"][0], p["i"][1]),
    "unbind": lambda x, p: pick(torch.unbind(x[0], p["i"][0]), p["i"][1]),
    "tril": lambda x, p: torch.tril(x[0], p["i"][0]), "triu": lambda x, p: torch.triu(x[0], p["i"][0]),
    "trace": lambda x, p: torch.trace(x[0]),
    "repeat": lambda x, p: x[0].repeat(*p["shape"]) if p["shape"] else x[0].repeat(()),
    "tile": lambda x, p: torch.tile(x[0], tuple(p["shape"])),
    "repeat_interleave": lambda x, p: torch.repeat_interleave(x[0], p["i"][0], dim=p["i"][1]),
    "repeat_interleave_tensor": ri_tensor,
    "tensor_split": lambda x, p: pick(torch.tensor_split(x[0], p["i"][0], p["i"][1]), p["i"][2]),
    "tensor_split_indices": lambda x, p: pick(torch.tensor_split(x[0], list(p["shape"]), p["i"][1]), p["i"][2]),
    "meshgrid": lambda x, p: pick(torch.meshgrid(*x[:p["i"][0]], indexing="xy" if p["flag"] else "ij"), p["i"][2]),
    "diag": lambda x, p: torch.diag(x[0], p["i"][0]),
    "diag_embed": lambda x, p: torch.diag_embed(x[0], p["i"][0], p["i"][1], p["i"][2]),
    "atleast_1d": lambda x, p: torch.atleast_1d(x[0]), "atleast_2d": lambda x, p: torch.atleast_2d(x[0]),
    "atleast_3d": lambda x, p: torch.atleast_3d(x[0]),
    "hstack": lambda x, p: torch.hstack(x[:p["i"][0]]), "vstack": lambda x, p: torch.vstack(x[:p["i"][0]]),
    "dstack": lambda x, p: torch.dstack(x[:p["i"][0]]),
    "take_along_dim": lambda x, p: torch.take_along_dim(x[0], x[1], p["i"][0]),
    "index_add": lambda x, p: torch.index_add(x[0], p["i"][0], x[1], x[2], alpha=py_scalar(p["d"][0])),
    "index_copy": lambda x, p: torch.index_copy(x[0], p["i"][0], x[1], x[2]),
    "index_fill": lambda x, p: torch.index_fill(x[0], p["i"][0], x[1], py_scalar(p["d"][0])),
    "index_add_": lambda x, p: x[0].index_add_(p["i"][0], x[1], x[2], alpha=py_scalar(p["d"][0])),
    "index_copy_": lambda x, p: x[0].index_copy_(p["i"][0], x[1], x[2]),
    "index_fill_": lambda x, p: x[0].index_fill_(p["i"][0], x[1], py_scalar(p["d"][0])),
})
# ---- issue 13: elementwise math, rounding, activations, bitwise: torch references
for _u in ["tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "log2", "log10", "exp2",
           "reciprocal", "sinc", "square", "floor", "ceil", "round", "trunc", "frac", "bitwise_not"]:
    TORCH[_u] = (lambda m: lambda x, p: getattr(torch, m)(x[0]))(_u)
    TORCH[_u + "_"] = (lambda m: lambda x, p: getattr(x[0], m)())(_u + "_")
for _u in ["hardswish", "hardsigmoid", "mish", "softsign", "logsigmoid", "selu", "relu6"]:
    TORCH[_u] = (lambda m: lambda x, p: getattr(F, m)(x[0]))(_u)
for _u in ["hardswish", "hardsigmoid", "mish", "selu", "relu6"]:
    TORCH[_u + "_"] = (lambda m: lambda x, p: getattr(F, m)(x[0], inplace=True))(_u)
for _b in ["fmod", "atan2", "copysign", "hypot", "xlogy", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor"]:
    TORCH[_b] = (lambda m: lambda x, p: getattr(torch, m)(x[0], x[1]))(_b)
    if _b in ("fmod", "copysign", "xlogy", "bitwise_and", "bitwise_or", "bitwise_xor"):  # torch takes a Number
        TORCH[_b + "_scalar"] = (lambda m: lambda x, p: getattr(torch, m)(x[0], S(p)))(_b)
    else:  # no Number overload in torch: nabla's is as with a 0-d tensor
        TORCH[_b + "_scalar"] = (lambda m: lambda x, p: getattr(torch, m)(x[0], torch.tensor(S(p))))(_b)
TORCH.update({
    "round_decimals": lambda x, p: torch.round(x[0], decimals=int(p["i"][0])),
    "round_decimals_": lambda x, p: x[0].round_(decimals=int(p["i"][0])),
    "leaky_relu": lambda x, p: F.leaky_relu(x[0], p["d"][0]),
    "leaky_relu_": lambda x, p: F.leaky_relu_(x[0], p["d"][0]),
    "elu": lambda x, p: F.elu(x[0], p["d"][0]), "elu_": lambda x, p: F.elu_(x[0], p["d"][0]),
    "celu": lambda x, p: F.celu(x[0], p["d"][0]), "celu_": lambda x, p: F.celu_(x[0], p["d"][0]),
    "hardtanh": lambda x, p: F.hardtanh(x[0], p["d"][0], p["d"][1]),
    "hardtanh_": lambda x, p: F.hardtanh_(x[0], p["d"][0], p["d"][1]),
    "nan_to_num": lambda x, p: torch.nan_to_num(x[0], p["d"][0], none_if_nan(p["d"][1]), none_if_nan(p["d"][2])),
    "nan_to_num_": lambda x, p: x[0].nan_to_num_(p["d"][0], none_if_nan(p["d"][1]), none_if_nan(p["d"][2])),
    "prelu": lambda x, p: F.prelu(x[0], x[1]),
    "glu": lambda x, p: F.glu(x[0], int(p["i"][0])),
    "isclose": lambda x, p: torch.isclose(x[0], x[1], rtol=p["d"][0], atol=p["d"][1], equal_nan=p["flag"]),
    "fmod_": lambda x, p: x[0].fmod_(x[1]), "fmod_scalar_": lambda x, p: x[0].fmod_(S(p)),
})
for _b in ["atan2", "copysign", "hypot", "xlogy", "bitwise_and", "bitwise_or", "bitwise_xor"]:
    TORCH[_b + "_"] = (lambda m: lambda x, p: getattr(x[0], m)(x[1]))(_b + "_")
    if _b in ("copysign", "xlogy", "bitwise_and", "bitwise_or", "bitwise_xor"):
        TORCH[_b + "_scalar_"] = (lambda m: lambda x, p: getattr(x[0], m)(S(p)))(_b + "_")
    else:
        TORCH[_b + "_scalar_"] = (lambda m: lambda x, p: getattr(x[0], m)(torch.tensor(S(p))))(_b + "_")
# ---------------------------------------------------------------- linear algebra (issue 13): torch references
# Symmetric inputs and sign-free vector outputs as tests/op_info.h's op_* helpers.


def sym(x):
    return (x + x.transpose(-1, -2)) * 0.5


def einsum_equations():
    text = open(os.path.join(ROOT, "tests", "op_info.h")).read()
    block = text[text.index("op_einsum_equations[] = {"):]
    block = block[:block.index("};")]
    return re.findall(r'"([^"]*)"', block)


EINSUM_EQUATIONS = einsum_equations()
MATRIX_ORDS = ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf]  # nb_matrix_norm_ord's order


def svd_ref(x, p, values):
    U, S, Vh = torch.linalg.svd(x[0], full_matrices=p["flag"])
    if values:
        return S
    k = min(x[0].shape[-2], x[0].shape[-1])
    return U[..., :k] @ Vh[..., :k, :]


def eigh_vectors_ref(x, p):
    V = torch.linalg.eigh(sym(x[0]), UPLO="U" if p["flag"] else "L")[1]
    return V * V


def check_matrix_norm_dims(x, p):
    check_dims(x[0], p["i"][1:3])
    return torch.linalg.matrix_norm(x[0], MATRIX_ORDS[p["i"][0]], dim=(p["i"][1], p["i"][2]), keepdim=p["flag"])


def addmm_ref(x, p, batched):
    fn = torch.baddbmm if batched else torch.addmm
    return fn(x[0], x[1], x[2], beta=py_scalar(p["d"][0]), alpha=py_scalar(p["d"][1]))


def vector_norm_ref(x, p):
    if not x[0].dtype.is_floating_point:
        raise TypeError("linalg.vector_norm: float only")
    return torch.linalg.vector_norm(x[0], p["d"][0], dim=dimsarg(p, x[0]), keepdim=p["flag"])


TORCH.update({
    "addmm": lambda x, p: addmm_ref(x, p, False), "baddbmm": lambda x, p: addmm_ref(x, p, True),
    "kron": lambda x, p: torch.kron(x[0], x[1]),
    "linalg_cross": lambda x, p: torch.linalg.cross(x[0], x[1], dim=p["i"][0]),
    "linalg_vector_norm": vector_norm_ref,
    "linalg_matrix_norm": check_matrix_norm_dims, "linalg_matrix_norm_svd": check_matrix_norm_dims,
    "einsum": lambda x, p: torch.einsum(EINSUM_EQUATIONS[p["i"][0]], *[t for t in x if t is not None]),
    "linalg_solve": lambda x, p: torch.linalg.solve(x[0], x[1]),
    "linalg_inv": lambda x, p: torch.linalg.inv(x[0]),
    "linalg_det": lambda x, p: torch.linalg.det(x[0]),
    "linalg_slogdet": lambda x, p: torch.linalg.slogdet(x[0])[1],
    "linalg_slogdet_sign": lambda x, p: torch.linalg.slogdet(x[0])[0],
    "linalg_cholesky": lambda x, p: torch.linalg.cholesky(sym(x[0]), upper=p["flag"]),
    "linalg_qr": lambda x, p: torch.linalg.qr(x[0], mode="complete" if p["flag"] else "reduced")[0],
    "linalg_qr_r": lambda x, p: torch.linalg.qr(x[0], mode="complete" if p["flag"] else "reduced")[1],
    "linalg_eigh": lambda x, p: torch.linalg.eigh(sym(x[0]), UPLO="U" if p["flag"] else "L")[0],
    "linalg_eigh_vectors": eigh_vectors_ref,
    "linalg_eigvalsh": lambda x, p: torch.linalg.eigvalsh(sym(x[0]), UPLO="U" if p["flag"] else "L"),
    "linalg_svd": lambda x, p: svd_ref(x, p, False), "linalg_svd_values": lambda x, p: svd_ref(x, p, True),
    "linalg_svdvals": lambda x, p: torch.linalg.svdvals(x[0]),
    "linalg_lstsq": lambda x, p: torch.linalg.lstsq(x[0], x[1], driver="gelsd").solution,
    "linalg_pinv": lambda x, p: torch.linalg.pinv(x[0]),
})

# ---------------------------------------------------------------- recurrent layers (issue 14)


def rnn_state(x, p, k, hidden_from):
    """x[k], or zeros where nabla is given NULL (torch's cells want a state)."""
    if x[k] is not None:
        return x[k]
    inp, hidden = x[0], x[hidden_from].shape[1]
    return torch.zeros(inp.shape[:-1] + (hidden,), dtype=inp.dtype)


def rnn_sequence(kind, x, p, first):
    """torch._VF's one-layer sequence ops on the flat parameters x[first:]."""
    params = [t for t in x[first:] if t is not None]
    bias, batch_first = len(params) == 4, p["flag"]
    batch = x[0].shape[0 if batch_first else 1]
    hidden = params[1].shape[1]
    h0 = x[1] if x[1] is not None else torch.zeros(1, batch, hidden, dtype=x[0].dtype)
    if kind == "lstm":
        c0 = x[2] if x[2] is not None else torch.zeros(1, batch, hidden, dtype=x[0].dtype)
        return torch._VF.lstm(x[0], (h0, c0), params, bias, 1, 0.0, True, False, batch_first)[0]
    fn = torch._VF.gru if kind == "gru" else torch._VF.rnn_relu if p["i"][0] == 1 else torch._VF.rnn_tanh
    return fn(x[0], h0, params, bias, 1, 0.0, True, False, batch_first)[0]


def rnn_cell(fn, x, n_states):
    """torch's cell ops as torch.nn.RNNCell & co. call them: 1-d input (and
    states) as a batch of one."""
    one = x[0].dim() == 1
    args = [t.unsqueeze(0) if one and t is not None and k <= n_states else t for k, t in enumerate(x)]
    out = fn(args)
    return out.squeeze(0) if one else out


TORCH.update({
    "rnn_cell": lambda x, p: rnn_cell(lambda a: (torch.rnn_relu_cell if p["i"][0] == 1 else torch.rnn_tanh_cell)(
        a[0], rnn_state(a, p, 1, 3), a[2], a[3], a[4], a[5]), x, 1),
    "lstm_cell": lambda x, p: rnn_cell(lambda a: torch.lstm_cell(
        a[0], (rnn_state(a, p, 1, 4), rnn_state(a, p, 2, 4)), a[3], a[4], a[5], a[6])[0], x, 2),
    "gru_cell": lambda x, p: rnn_cell(lambda a: torch.gru_cell(a[0], rnn_state(a, p, 1, 3), a[2], a[3], a[4], a[5]),
                                      x, 1),
    "lstm": lambda x, p: rnn_sequence("lstm", x, p, 3),
    "gru": lambda x, p: rnn_sequence("gru", x, p, 2),
    "rnn": lambda x, p: rnn_sequence("rnn", x, p, 2),
})

# ---------------------------------------------------------------- samples


def P(i=(), d=(), dims=None, shape=None, flag=False, flag2=False, refuse=False, nogc=False):
    return dict(i=list(i), d=list(d), dims=None if dims is None else list(dims),
                shape=None if shape is None else list(shape), flag=flag, flag2=flag2, refuse=refuse, nogc=nogc)


CASES = []  # (op, tag, params, inputs)


def case(op, tag, params, *inputs):
    CASES.append((op, tag, params, list(inputs)))


def shape_tag(shape, layout):
    return "0-d" if shape == () else "empty" if 0 in shape else "layout"


def param_tag(prm):
    """A case tag from the param that varies: p=0, corr=2, s=..., clamp=..."""
    if prm["d"]:
        return "p=" + ",".join("%g" % v for v in prm["d"])
    return "c=" + ",".join("%d" % v for v in prm["i"]) if prm["i"] else "param"


def layout_shapes(nd_min=0):
    """(shape, layout) pairs for the floating dtypes: the three views, 0-d, empty."""
    out = [((2, 3, 4), "T"), ((3, 5), "S"), ((4, 3), "E"), ((), "C"), ((0, 3), "C"), ((3, 4), "C")]
    return [(s, l) for s, l in out if len(s) >= nd_min]


UNARY_PARAMS = {
    "gelu": [P(flag=False), P(flag=True)],
    "softplus": [P(d=(1, 20)), P(d=(2, 1))],
    "clamp": [P(d=(-1, 2)), P(d=(math.nan, 0.5)), P(d=(-0.5, math.nan))],
    "clamp_": [P(d=(-1, 2)), P(d=(math.nan, 0.5))],
}


def gen_unary(op, row):
    params = UNARY_PARAMS.get(op, [P()])
    for dt in DTYPES:
        case(op, "dtype", params[0], I(dt, (3, 4)))
    for dt in FLOATS:
        for shape, lay in layout_shapes():
            case(op, shape_tag(shape, lay), params[0], I(dt, shape, lay))
        for k, prm in enumerate(params[1:]):
            case(op, "param%d" % (k + 1), prm, I(dt, (3, 4), "T"))
    case(op, "layout", params[0], I("int64", (3, 4), "T"))
    if row["domain"] != "POS" or True:
        prm = dict(params[0]); prm["nogc"] = True
        case(op, "special", prm, I("float32", (8,), values=SPECIAL))
        case(op, "special", prm, I("float64", (8,), values=SPECIAL))


SCALARS = {
    "pow_scalar": [2.0, 0.5, -1.5, 3.0, 0.0],
    "div_scalar": [2.0, -0.5, 0.0], "rdiv_scalar": [2.0, -1.5],
    "remainder_scalar": [2.0, -1.5, 0.0], "floor_divide_scalar": [2.0, -1.5, 0.0],
    "fill_": [2.5, -1.0, 1.0],
}


def gen_scalar(op, row):
    scalars = SCALARS.get(op, [2.5, -1.0, 3.0, 0.5])
    dom = row["domain"]
    for dt in DTYPES:
        for s in scalars[:2]:
            case(op, "dtype s=%g" % s, P(d=(s,)), I(dt, (3, 4), domain=dom))
    for dt in ["float32", "float64", "int64"]:
        for s in scalars[2:]:
            case(op, "s=%g" % s, P(d=(s,)), I(dt, (3, 4), "T", domain=dom))
    for dt in FLOATS:
        for shape, lay in layout_shapes():
            case(op, shape_tag(shape, lay), P(d=(scalars[0],)), I(dt, shape, lay, domain=dom))
    prm = P(d=(scalars[0],), nogc=True)
    case(op, "special", prm, I("float32", (8,), values=SPECIAL))


def gen_inplace_unary(op, row):
    gen_unary(op, row)


BIN_SHAPES = [((3, 1), (1, 4)), ((4,), (3, 4)), ((), (3, 4)), ((3, 4), ()), ((2, 1, 4), (3, 1)),
              ((0, 4), (4,)), ((3, 4), (2, 4))]
BIN_LAYOUTS = [("T", "C"), ("C", "T"), ("S", "E"), ("E", "S")]


def gen_binary(op, row):
    dom = row["domain"]
    i1dom = "ANY" if dom == "POW" else dom
    if dom == "POW":
        dom = "POS"
    for a in DTYPES:
        for b in DTYPES:
            case(op, "pair", P(), I(a, (2, 3), domain=dom), I(b, (2, 3), domain=i1dom if a in FLOATS or b in FLOATS else "POW"))
    for dt in FLOATS:
        for sa, sb in BIN_SHAPES:
            if op.endswith("_") and (math.prod(sa) < math.prod(sb) or len(sa) < len(sb)) and sa != (0, 4):
                pass  # in-place refuses growing x[0]: kept, torch raises too
            case(op, "bcast", P(), I(dt, sa, domain=dom), I(dt, sb, domain=i1dom))
        for la, lb in BIN_LAYOUTS:
            case(op, "layout", P(), I(dt, (3, 4), la, domain=dom), I(dt, (3, 4), lb, domain=i1dom))
    case(op, "bcast", P(), I("int64", (3, 1), domain=dom), I("int64", (1, 4), domain="POW" if row["domain"] == "POW" else dom))
    case(op, "layout", P(), I("int64", (3, 4), "T", domain=dom), I("int32", (3, 4), "S", domain="POW" if row["domain"] == "POW" else dom))
    case(op, "0-d mixed", P(), I("float32", (3,), domain=dom), I("float64", (), domain=i1dom))
    case(op, "0-d mixed", P(), I("int64", (3,), domain=dom), I("float64", (), domain=i1dom))
    case(op, "0-d mixed", P(), I("float32", (3,), domain=dom), I("int64", (), domain="POS"))
    sp2 = [SPECIAL[(k * 3) % 8] for k in range(8)]
    case(op, "special", P(nogc=True), I("float32", (8,), values=SPECIAL), I("float32", (8,), values=sp2))
    case(op, "special", P(nogc=True), I("float64", (8,), values=SPECIAL), I("float64", (8,), values=sp2))


def gen_ternary(op, row):
    for dt in DTYPES:
        case(op, "dtype", P(), I("bool", (3, 4)), I(dt, (3, 4)), I(dt, (3, 4)))
    case(op, "mixed", P(), I("bool", (3, 4)), I("float32", (3, 4)), I("int64", (3, 4)))
    case(op, "mixed", P(), I("bool", (3, 4)), I("float32", (3, 4)), I("float64", ()))
    for dt in FLOATS:
        case(op, "bcast", P(), I("bool", (4,)), I(dt, (3, 1)), I(dt, ()))
        case(op, "bcast", P(), I("bool", (2, 1, 4)), I(dt, (3, 4), "T"), I(dt, (3, 1), "S"))
        case(op, "empty", P(), I("bool", (0, 4)), I(dt, (4,)), I(dt, (0, 1)))
        case(op, "shape", P(), I("bool", (3, 4)), I(dt, (2, 4)), I(dt, (3, 4)))
    case(op, "cond uint8", P(refuse=True), I("uint8", (3, 4)), I("float32", (3, 4)), I("float32", (3, 4)))


def gen_reduce(op, row):
    params = {"var": [P(i=(1,)), P(i=(0,)), P(i=(2,))], "std": [P(i=(1,)), P(i=(0,)), P(i=(2,))],
              "norm": [P(d=(2,)), P(d=(1,)), P(d=(math.inf,)), P(d=(-math.inf,)), P(d=(0,)), P(d=(3,)),
                       P(d=(0.5,))]}.get(op, [P()])
    for dt in DTYPES:
        case(op, "dtype", params[0], I(dt, (3, 4)))
    for dt in FLOATS:
        for shape, lay in layout_shapes():
            case(op, shape_tag(shape, lay), params[0], I(dt, shape, lay))
        for prm in params[1:]:
            case(op, param_tag(prm), prm, I(dt, (3, 4), "T"))
            case(op, param_tag(prm) + " 0-d", prm, I(dt, ()))
    case(op, "layout", params[0], I("int64", (2, 3, 4), "T"))
    prm = dict(params[0]); prm["nogc"] = True
    case(op, "special", prm, I("float32", (8,), values=SPECIAL))
    case(op, "nan", prm, I("float64", (2, 3), values=[1.0, math.nan, -2.0, 0.5, 3.0, -1.0]))
    if op in ("var", "std"):
        case(op, "zero spread", P(i=(1,)), I("float64", (4,), values=[1.5] * 4))
        case(op, "one element", P(i=(1,)), I("float64", (1,)))


def gen_reduce_dims(op, row):
    extra = {"var_dims": [(1,), (0,), (2,), (5,)], "std_dims": [(1,), (0,), (2,), (5,)],
             "norm_dims": [(2,), (1,), (math.inf,), (0,), (3,), (0.5,)]}.get(op, [()])
    if op.startswith("quantile") or op == "nanquantile":
        extra = [(0.3,), (0.0,), (1.0,), (0.5,), (0.75,)]
    def prm(dims, keep, k=0, **kw):
        e = extra[k]
        if op in ("var_dims", "std_dims"):
            return P(i=e, dims=dims, flag=keep, **kw)
        return P(d=e, dims=dims, flag=keep, **kw)
    for dt in DTYPES:
        case(op, "dtype", prm((1,), False), I(dt, (3, 4)))
    for dt in FLOATS:
        for dims, keep in [((), False), ((0,), True), ((-1,), False), ((0, 2), False), ((2, 0), True), ((1, 2), False)]:
            case(op, "dims", prm(dims, keep), I(dt, (2, 3, 4), "T"))
        case(op, "dims", prm((0,), False), I(dt, (3, 5), "S"))
        case(op, "dims", prm((1,), True), I(dt, (4, 3), "E"))
        case(op, "0-d", prm((), False), I(dt, ()))
        case(op, "0-d", prm((0,), True), I(dt, ()))
        case(op, "empty", prm((0,), False), I(dt, (0, 3)))
        case(op, "empty", prm((1,), True), I(dt, (0, 3)))
        for k in range(1, len(extra)):
            case(op, param_tag(prm((1,), False, k)), prm((1,), False, k), I(dt, (3, 4), "T"))
            case(op, param_tag(prm((1,), False, k)) + " all", prm((), True, k), I(dt, (3, 4)))
    case(op, "dims", prm((0, 2), True), I("int64", (2, 3, 4), "T"))
    case(op, "bad dim", prm((2,), False), I("float32", (3, 4)))
    case(op, "repeated dim", prm((0, -2), False), I("float32", (3, 4)))
    case(op, "nan", prm((1,), False, nogc=True), I("float64", (2, 3), values=[1.0, math.nan, -2.0, 0.5, 3.0, -1.0]))


def gen_dim(op, row):
    for dt in DTYPES:
        case(op, "dtype", P(i=(1,)), I(dt, (3, 4)))
    for dt in FLOATS:
        case(op, "dim", P(i=(0,), flag=True), I(dt, (2, 3, 4), "T"))
        case(op, "dim", P(i=(-1,)), I(dt, (2, 3, 4), "T"))
        case(op, "dim", P(i=(1,)), I(dt, (3, 5), "S"))
        case(op, "dim", P(i=(0,), flag=True), I(dt, (4, 3), "E"))
        case(op, "0-d", P(i=(0,)), I(dt, ()))
        case(op, "empty", P(i=(1,)), I(dt, (0, 3)))
        case(op, "empty", P(i=(0,)), I(dt, (0, 3)))
    case(op, "dim", P(i=(0,)), I("int64", (3, 4), "T"))
    case(op, "bad dim", P(i=(2,)), I("float32", (3, 4)))
    case(op, "nan", P(i=(1,), nogc=True), I("float64", (2, 3), values=[1.0, math.nan, -2.0, 0.5, 3.0, -1.0]))
    if op == "cumprod":
        # zeros: before, at and after the first zero the formula differs
        for dt in FLOATS:
            case(op, "zeros", P(i=(1,)), I(dt, (3, 5), values=[1.5, 0.0, -2.0, 0.5, 3.0,
                                                               0.0, 0.75, 0.0, 2.0, -1.25,
                                                               0.5, -1.5, 2.0, 1.25, 0.0]))
            case(op, "zeros", P(i=(0,)), I(dt, (4, 2), "T", values=[0.0, 1.5, 2.0, -0.5, 0.0, 0.0, 1.25, 3.0]))
    if op.startswith("cummax") or op.startswith("cummin") or "median" in op:
        case(op, "ties", P(i=(1,), nogc=True), I("float64", (2, 5), values=[1.0, 2.0, 2.0, 1.0, 2.0,
                                                                          -1.0, -1.0, 0.5, -1.0, 0.5]))
        case(op, "nans", P(i=(1,), nogc=True), I("float32", (2, 5), values=[1.0, math.nan, 2.0, math.nan, 0.5,
                                                                          math.nan, -1.0, math.nan, 3.0, 0.5]))


def gen_sort(op, row):
    topk = op.startswith("topk")
    def prm(dim, flag, k=2):
        return P(i=(k, dim), flag=flag) if topk else P(i=(dim,), flag=flag)
    for dt in DTYPES:
        case(op, "dtype", prm(1, True), I(dt, (3, 4)))
    for dt in FLOATS:
        case(op, "dim", prm(0, False), I(dt, (3, 4), "T"))
        case(op, "dim", prm(-1, True), I(dt, (2, 3, 4), "T"))
        case(op, "dim", prm(1, False), I(dt, (3, 5), "S"))
        case(op, "0-d", prm(0, True, 1), I(dt, ()))
        case(op, "empty", prm(1, True, 0), I(dt, (0, 3)))
    case(op, "ties", prm(1, True, 3), I("int64", (3, 6)))
    case(op, "ties", prm(1, False, 3), I("int64", (3, 6)))
    case(op, "nan", prm(1, True, 2, ), I("float32", (2, 4), values=[1.0, math.nan, -2.0, 0.5, 3.0, -1.0, math.inf, 2.0]))
    if topk:
        case(op, "k=0", prm(1, True, 0), I("float32", (3, 4)))
        case(op, "k too big", prm(1, True, 5), I("float32", (3, 4)))


VIEW_CASES = {
    # op: [(tag, params, shape, layout)]
    "reshape": [("", P(shape=(4, 3)), (3, 4), "C"), ("infer", P(shape=(2, -1)), (3, 4), "T"),
                ("flat", P(shape=(12,)), (3, 4), "S"), ("0-d", P(shape=(1, 1)), (), "C"),
                ("to 0-d", P(shape=()), (1,), "C"), ("empty", P(shape=(3, 0, 2)), (0, 6), "C"),
                ("bad", P(shape=(5, -1)), (3, 4), "C")],
    "view": [("", P(shape=(2, 6)), (3, 4), "C"), ("infer", P(shape=(-1, 2, 2)), (3, 4), "C"),
             ("split last", P(shape=(3, 2, 2)), (3, 4), "S"), ("transposed", P(shape=(12,)), (3, 4), "T"),
             ("0-d", P(shape=(1,)), (), "C"), ("bad", P(shape=(5, 2)), (3, 4), "C")],
    "transpose": [("", P(i=(0, 2)), (2, 3, 4), "C"), ("neg", P(i=(-1, 0)), (3, 4), "T"),
                  ("same", P(i=(1, 1)), (3, 4), "S"), ("0-d", P(i=(0, -1)), (), "C"), ("bad", P(i=(0, 2)), (3, 4), "C")],
    "permute": [("", P(dims=(2, 0, 1)), (2, 3, 4), "C"), ("T", P(dims=(1, 0)), (3, 4), "T"),
                ("neg", P(dims=(-1, 0, 1)), (2, 3, 4), "E"), ("bad", P(dims=(0, 0, 1)), (2, 3, 4), "C"),
                ("0-d", P(dims=()), (), "C")],
    "t": [("", P(), (3, 4), "C"), ("T", P(), (3, 4), "T"), ("1-d", P(), (4,), "S"), ("0-d", P(), (), "C"),
          ("3-d", P(), (2, 3, 4), "C")],
    "expand": [("", P(shape=(3, 4)), (3, 1), "C"), ("new dims", P(shape=(2, 3, 4)), (4,), "S"),
               ("keep", P(shape=(-1, 5)), (3, 1), "C"), ("0-d", P(shape=(2, 2)), (), "C"),
               ("empty", P(shape=(0, 4)), (1, 4), "C"), ("bad", P(shape=(3, 4)), (3, 2), "C"),
               ("view of view", P(shape=(2, 4, 3)), (4, 3), "E")],
    "squeeze": [("", P(), (1, 3, 1, 4), "C"), ("T", P(), (3, 1), "T"), ("0-d", P(), (), "C"),
                ("empty", P(), (1, 0), "C")],
    "squeeze_dim": [("", P(i=(0,)), (1, 3, 1), "C"), ("no-op", P(i=(1,)), (1, 3, 1), "C"),
                    ("neg", P(i=(-1,)), (3, 1), "T"), ("0-d", P(i=(0,)), (), "C"), ("bad", P(i=(3,)), (1, 3, 1), "C")],
    "unsqueeze": [("", P(i=(0,)), (3, 4), "C"), ("end", P(i=(2,)), (3, 4), "T"), ("neg", P(i=(-1,)), (3, 4), "S"),
                  ("0-d", P(i=(0,)), (), "C"), ("bad", P(i=(4,)), (3, 4), "C")],
    "flatten": [("", P(i=(0, 1)), (2, 3, 4), "C"), ("tail", P(i=(1, -1)), (2, 3, 4), "T"),
                ("all", P(i=(0, -1)), (3, 4), "S"), ("0-d", P(i=(0, 0)), (), "C"), ("bad", P(i=(1, 0)), (2, 3, 4), "C")],
    "unflatten": [("", P(i=(1,), shape=(3, 4)), (2, 12), "C"), ("infer", P(i=(1,), shape=(2, -1)), (3, 4), "T"),
                  ("bad", P(i=(1,), shape=(5, 2)), (3, 4), "C")],
    "narrow": [("", P(i=(1, 1, 3)), (3, 5), "C"), ("neg start", P(i=(0, -2, 2)), (3, 4), "T"),
               ("empty", P(i=(1, 2, 0)), (3, 5), "S"), ("bad", P(i=(1, 3, 3)), (3, 5), "C")],
    "slice": [("step", P(i=(1, 1, END, 2)), (3, 7), "C"), ("neg", P(i=(1, -3, END, 1)), (3, 7), "T"),
              ("clamp", P(i=(0, 1, 100, 3)), (7, 3), "S"), ("empty", P(i=(1, 5, 2, 1)), (3, 7), "C"),
              ("bad step", P(i=(1, 0, END, 0)), (3, 7), "C")],
    "select": [("", P(i=(0, -1)), (3, 4), "C"), ("dim 1", P(i=(1, 2)), (3, 4), "T"), ("3-d", P(i=(1, 0)), (2, 3, 4), "S"),
               ("bad", P(i=(0, 3)), (3, 4), "C"), ("0-d", P(i=(0, 0)), (), "C")],
    "diagonal": [("", P(i=(0, 0, 1)), (3, 4), "C"), ("offset", P(i=(1, 0, 1)), (3, 4), "T"),
                 ("neg offset", P(i=(-1, 0, 1)), (3, 4), "S"), ("3-d", P(i=(1, 1, 2)), (2, 3, 4), "C"),
                 ("reversed dims", P(i=(0, 2, 0)), (2, 3, 4), "E"), ("past", P(i=(5, 0, 1)), (3, 4), "C"),
                 ("same dims", P(i=(0, 1, 1)), (3, 4), "C")],
    "split": [("", P(i=(2, 0, 0)), (5, 4), "C"), ("last", P(i=(2, 0, 2)), (5, 4), "T"), ("dim 1", P(i=(3, 1, 1)), (3, 4), "S"),
              ("bad", P(i=(0, 0, 0)), (5, 4), "C")],
    "chunk": [("", P(i=(3, 1, 1)), (3, 4), "C"), ("uneven", P(i=(2, 0, 1)), (5, 4), "T"), ("bad", P(i=(0, 0, 0)), (5, 4), "C")],
}
VIEW_CASES["broadcast_to"] = VIEW_CASES["expand"]
for _op in ["clone", "contiguous", "detach"]:
    VIEW_CASES[_op] = [("", P(), (3, 4), "C"), ("T", P(), (2, 3, 4), "T"), ("S", P(), (3, 5), "S"), ("E", P(), (4, 3), "E"),
                       ("0-d", P(), (), "C"), ("empty", P(), (0, 3), "C")]


def gen_view(op, row):
    for tag, prm, shape, lay in VIEW_CASES[op]:
        for dt in FLOATS:
            case(op, tag, prm, I(dt, shape, lay))
    tag, prm, shape, lay = VIEW_CASES[op][0]
    for dt in DTYPES[2:]:
        case(op, "dtype", prm, I(dt, shape, "T" if len(shape) >= 2 else "C"))


def gen_cast(op, row):
    if op == "to":
        for dt in DTYPES:
            case(op, "dtype", P(), I(dt, (3, 4), "T"))
        return
    for a in DTYPES:
        for b in DTYPES:
            dom = "POS" if b == "uint8" and a in FLOATS else None
            case(op, "%s->%s" % (a, b), P(i=(DTYPE_CODE[b],)), I(a, (3, 4), "T" if a in FLOATS else "C", domain=dom))
    for dt in FLOATS:
        case(op, "0-d", P(i=(DTYPE_CODE["float64"],)), I(dt, ()))
        case(op, "empty", P(i=(DTYPE_CODE["int64"],)), I(dt, (0, 3)))
    case(op, "special", P(i=(DTYPE_CODE["bool"],)), I("float32", (8,), values=SPECIAL))


MATMUL_SHAPES = {
    "matmul": [((3, 4), (4, 2)), ((4,), (4,)), ((3,), (2, 3, 2)), ((2, 2, 3), (3,)), ((2, 1, 2, 3), (3, 3, 2)),
               ((4,), (4, 3)), ((3, 4), (4,)), ((0, 4), (4, 2)), ((3, 0), (0, 2)), ((2, 0, 3), (3, 2)),
               ((3, 4), (3, 4)), ((), (3,))],
    "mm": [((3, 4), (4, 2)), ((1, 4), (4, 1)), ((3, 0), (0, 2)), ((0, 4), (4, 3)), ((3, 4), (2, 4)), ((4,), (4, 2))],
    "bmm": [((2, 3, 4), (2, 4, 5)), ((1, 2, 3), (1, 3, 1)), ((2, 3, 0), (2, 0, 2)), ((2, 3, 4), (3, 4, 5)),
            ((3, 4), (4, 5))],
    "dot": [((4,), (4,)), ((0,), (0,)), ((1,), (1,)), ((4,), (3,)), ((2, 2), (2, 2))],
    "outer": [((3,), (4,)), ((0,), (2,)), ((1,), (1,)), ((3, 1), (4,))],
}


def gen_matmul(op, row):
    for sa, sb in MATMUL_SHAPES[op]:
        for dt in FLOATS:
            case(op, "shape", P(), I(dt, sa), I(dt, sb))
    sa, sb = MATMUL_SHAPES[op][0]
    for dt in FLOATS:
        la = "T" if len(sa) >= 2 else "S"
        lb = "T" if len(sb) >= 2 else "S"
        case(op, "layout", P(), I(dt, sa, la), I(dt, sb, "C"))
        case(op, "layout", P(), I(dt, sa, "S"), I(dt, sb, lb))
        case(op, "layout", P(), I(dt, sa, "E"), I(dt, sb, "E"))
    for a, b in [("int64", "int64"), ("int32", "int32"), ("uint8", "uint8"), ("bool", "bool"),
                 ("float32", "float64"), ("float64", "int64"), ("int64", "int32")]:
        case(op, "dtype", P(), I(a, sa), I(b, sb))


def gen_join(op, row):
    stack = op == "stack"
    f, d = "float32", "float64"
    sets = ([((2, 3), (2, 3)), ((2, 3), (2, 3), (2, 3))] if stack else
            [((2, 1), (2, 3), (2, 2)), ((1, 3), (2, 3)), ((0, 3), (2, 3))])
    for dt in FLOATS:
        for shapes in sets:
            dim = 0 if stack or shapes[0][1] == 3 else 1
            case(op, "shapes", P(i=(len(shapes), dim)), *[I(dt, s, "T" if k == 1 else "C") for k, s in enumerate(shapes)])
        case(op, "neg dim", P(i=(2, -1)), I(dt, (2, 3), "S"), I(dt, (2, 3), "E"))
        case(op, "mismatch", P(i=(2, 0)), I(dt, (2, 3)), I(dt, (2, 4)))
        case(op, "one", P(i=(1, 0)), I(dt, (2, 3), "T"))
        case(op, "0-d", P(i=(2, 0)), I(dt, ()), I(dt, ()))
    for dt in DTYPES[2:]:
        case(op, "dtype", P(i=(2, 0)), I(dt, (2, 3)), I(dt, (2, 3)))
    for a, b in [(f, d), ("int64", f), ("bool", "int32"), ("uint8", "int64")]:
        case(op, "mixed", P(i=(2, 1)), I(a, (2, 3)), I(b, (2, 3)))


def idx(values, shape):
    return I("int64", shape, values=[float(v) for v in values])


def mask(values, shape):
    return I("bool", shape, values=[float(v) for v in values])


def gen_index(op, row):
    fl = FLOATS
    if op == "index_select":
        for dt in fl:
            case(op, "", P(i=(1,)), I(dt, (2, 3), "T"), idx([2, 0, 2, 1], (4,)))
            case(op, "dim 0", P(i=(0,)), I(dt, (3, 4), "S"), idx([1], (1,)))
            case(op, "empty index", P(i=(0,)), I(dt, (3, 4)), idx([], (0,)))
            case(op, "0-d index", P(i=(1,)), I(dt, (3, 4)), idx([2], ()))
            case(op, "out of range", P(i=(1,)), I(dt, (3, 4)), idx([4], (1,)))
            case(op, "negative", P(i=(1,)), I(dt, (3, 4)), idx([-1], (1,)))
        for dt in DTYPES[2:]:
            case(op, "dtype", P(i=(0,)), I(dt, (3, 4)), idx([2, 0], (2,)))
        case(op, "int32 index", P(i=(0,)), I("float32", (3, 4)), I("int32", (2,), values=[2.0, 0.0]))
    elif op == "gather":
        for dt in fl:
            case(op, "", P(i=(1,)), I(dt, (3, 4), "T"), idx([0, 3, 3, 1, 2, 0], (3, 2)))
            case(op, "dim 0", P(i=(0,)), I(dt, (3, 4), "S"), idx([2, 0, 1, 1, 0, 0, 2, 2], (2, 4)))
            case(op, "empty", P(i=(1,)), I(dt, (3, 4)), idx([], (3, 0)))
            case(op, "out of range", P(i=(1,)), I(dt, (3, 4)), idx([4, 0, 0], (3, 1)))
        for dt in DTYPES[2:]:
            case(op, "dtype", P(i=(1,)), I(dt, (3, 4)), idx([0, 3, 3, 1, 2, 0], (3, 2)))
    elif op.startswith("scatter"):
        add = "add" in op
        for dt in fl:
            case(op, "", P(i=(1,)), I(dt, (3, 4), "T"), idx([1, 3, 0], (3, 1)), I(dt, (3, 1)))
            if add:
                case(op, "dup", P(i=(1,)), I(dt, (3, 4)), idx([1, 1, 3, 0, 2, 2], (3, 2)), I(dt, (3, 2), "T"))
            case(op, "dim 0", P(i=(0,)), I(dt, (3, 4), "S"), idx([2, 0, 1, 1], (1, 4)), I(dt, (2, 4)))
            case(op, "empty index", P(i=(1,)), I(dt, (3, 4)), idx([], (3, 0)), I(dt, (3, 0)))
            case(op, "out of range", P(i=(1,)), I(dt, (3, 4)), idx([4, 0, 0], (3, 1)), I(dt, (3, 1)))
            case(op, "dtype mismatch", P(i=(1,)), I(dt, (3, 4)), idx([1, 3, 0], (3, 1)),
                 I("float64" if dt == "float32" else "float32", (3, 1)))
        for dt in DTYPES[2:]:
            case(op, "dtype", P(i=(1,)), I(dt, (3, 4)), idx([1, 3, 0], (3, 1)), I(dt, (3, 1)))
    elif op == "masked_fill":
        for dt in fl:
            case(op, "bcast", P(d=(-1.0,)), I(dt, (3, 4), "T"), mask([1, 0, 0, 1], (4,)))
            case(op, "", P(d=(2.5,)), I(dt, (3, 4), "S"), I("bool", (3, 4)))
            case(op, "nan", P(d=(math.nan,)), I(dt, (3, 4)), I("bool", (3, 4)))
            case(op, "0-d", P(d=(1.0,)), I(dt, ()), mask([1], ()))
            case(op, "grows", P(d=(1.0,)), I(dt, (4,)), I("bool", (3, 4)))
            case(op, "mask not bool", P(d=(1.0,)), I(dt, (3, 4)), I("uint8", (3, 4)))
        for dt in DTYPES[2:]:
            case(op, "dtype", P(d=(3.0,)), I(dt, (3, 4)), I("bool", (3, 4)))
    elif op == "masked_select":
        for dt in fl:
            case(op, "", P(), I(dt, (3, 4)), I("bool", (3, 4)))
            case(op, "T", P(), I(dt, (3, 4), "T"), I("bool", (3, 4)))
            case(op, "S", P(), I(dt, (3, 4), "S"), I("bool", (3, 4), "T"))
            case(op, "bcast", P(), I(dt, (3, 4)), mask([0, 1, 1, 0], (4,)))
            case(op, "bcast x", P(), I(dt, (4,)), I("bool", (3, 4)))
            case(op, "none", P(), I(dt, (3, 4)), mask([0] * 12, (3, 4)))
            case(op, "0-d", P(), I(dt, ()), mask([1], ()))
        for dt in DTYPES[2:]:
            case(op, "dtype", P(), I(dt, (3, 4)), I("bool", (3, 4)))
    elif op == "nonzero":
        for dt in DTYPES:
            case(op, "dtype", P(), I(dt, (3, 4), domain="SMALL" if dt in fl else None))
        case(op, "T", P(), I("int64", (3, 4), "T"))
        case(op, "0-d", P(), I("int64", ()))
        case(op, "empty", P(), I("int64", (0, 3)))
        case(op, "3-d", P(), I("bool", (2, 3, 2), "S"))
        case(op, "special", P(), I("float32", (8,), values=SPECIAL))
    elif op == "one_hot":
        case(op, "", P(i=(4,)), idx([0, 2, 1, 3], (4,)))
        case(op, "infer", P(i=(-1,)), idx([0, 2, 1, 2, 0, 1], (2, 3)))
        case(op, "0-d", P(i=(3,)), idx([1], ()))
        case(op, "empty", P(i=(3,)), idx([], (0,)))
        case(op, "out of range", P(i=(3,)), idx([0, 3], (2,)))
        case(op, "negative", P(i=(3,)), idx([0, -1], (2,)))
        case(op, "float", P(i=(3,)), I("float32", (2,), values=[0.0, 1.0]))



# Shape and index ops (issue 13). Single-input rows: (tag, params, shape,
# layout), run for both float dtypes, the first case for every other dtype.
SHAPE_CASES = {
    "flip": [("", P(dims=(0,)), (3, 4), "C"), ("two", P(dims=(0, -1)), (2, 3, 4), "T"), ("none", P(dims=()), (3, 4), "S"),
             ("E", P(dims=(0, 1)), (4, 3), "E"), ("0-d", P(dims=(0,)), (), "C"), ("empty", P(dims=(1,)), (0, 3), "C"),
             ("repeated", P(dims=(0, 0)), (3, 4), "C"), ("bad", P(dims=(2,)), (3, 4), "C")],
    "roll": [("", P(shape=(1,), dims=(0,)), (3, 4), "C"), ("neg", P(shape=(-5, 2), dims=(1, 0)), (3, 4), "T"),
             ("flat", P(shape=(5,), dims=()), (3, 4), "S"), ("E", P(shape=(1,), dims=(0,)), (4, 3), "E"),
             ("0-d", P(shape=(1,), dims=()), (), "C"), ("empty", P(shape=(2,), dims=(0,)), (0, 3), "C"),
             ("same dim", P(shape=(1, 1), dims=(1, 1)), (3, 4), "C"),
             ("misaligned", P(shape=(1, 2), dims=(0,)), (3, 4), "C"), ("flat 2", P(shape=(1, 2), dims=()), (3, 4), "C"),
             ("bad", P(shape=(1,), dims=(2,)), (3, 4), "C")],
    "movedim": [("", P(dims=(0,), i=(1, 2)), (2, 3, 4), "C"), ("two", P(dims=(0, 1), i=(2, 2, 0)), (2, 3, 4), "T"),
                ("neg", P(dims=(-1,), i=(1, 0)), (3, 4), "S"), ("E", P(dims=(1,), i=(1, 0)), (4, 3), "E"),
                ("0-d", P(dims=(0,), i=(1, 0)), (), "C"), ("none", P(dims=(), i=(0,)), (3, 4), "C"),
                ("repeated", P(dims=(0, 1), i=(2, 2, 2)), (2, 3, 4), "C"),
                ("unequal", P(dims=(0, 1), i=(1, 0)), (2, 3, 4), "C"), ("bad", P(dims=(3,), i=(1, 0)), (2, 3, 4), "C")],
    "swapaxes": [("", P(i=(0, 2)), (2, 3, 4), "C"), ("neg", P(i=(-1, 0)), (3, 4), "T"), ("same", P(i=(1, 1)), (3, 4), "S"),
                 ("0-d", P(i=(0, -1)), (), "C"), ("bad", P(i=(0, 2)), (3, 4), "C")],
    "unbind": [("", P(i=(0, 1)), (3, 4), "C"), ("dim 1", P(i=(1, 3)), (3, 4), "T"), ("neg", P(i=(-1, 0)), (2, 3, 4), "S"),
               ("E", P(i=(0, 2)), (4, 3), "E"), ("empty", P(i=(1, 0)), (0, 3), "C"), ("0-d", P(i=(0, 0)), (), "C"),
               ("bad", P(i=(2, 0)), (3, 4), "C")],
    "tril": [("", P(i=(0,)), (3, 4), "C"), ("k=1", P(i=(1,)), (3, 4), "T"), ("k=-2", P(i=(-2,)), (4, 3), "S"),
             ("batch", P(i=(0,)), (2, 3, 4), "T"), ("E", P(i=(-1,)), (3, 3), "E"), ("big k", P(i=(100,)), (3, 4), "C"),
             ("small k", P(i=(-100,)), (3, 4), "C"), ("empty", P(i=(0,)), (0, 3), "C"), ("1-d", P(i=(0,)), (4,), "C"),
             ("0-d", P(i=(0,)), (), "C")],
    "trace": [("", P(), (3, 4), "C"), ("T", P(), (4, 3), "T"), ("S", P(), (3, 3), "S"), ("E", P(), (3, 3), "E"),
              ("empty", P(), (0, 3), "C"), ("1-d", P(), (3,), "C"), ("3-d", P(), (2, 3, 4), "C"), ("0-d", P(), (), "C")],
    "repeat": [("", P(shape=(2, 1)), (3, 4), "C"), ("more", P(shape=(2, 1, 3)), (3, 4), "T"), ("zero", P(shape=(0, 2)), (3, 4), "S"),
               ("E", P(shape=(1, 2)), (4, 3), "E"), ("0-d", P(shape=(2, 3)), (), "C"), ("0-d none", P(shape=()), (), "C"),
               ("ones", P(shape=(1, 1)), (3, 4), "C"), ("empty", P(shape=(2, 2)), (0, 3), "C"),
               ("fewer", P(shape=(2,)), (3, 4), "C"), ("negative", P(shape=(-1, 2)), (3, 4), "C")],
    "tile": [("", P(shape=(2,)), (3, 4), "C"), ("more", P(shape=(2, 1, 2)), (3, 4), "T"), ("none", P(shape=()), (3, 4), "S"),
             ("0-d", P(shape=(3,)), (), "C"), ("zero", P(shape=(0,)), (3, 4), "C"), ("negative", P(shape=(-1,)), (3, 4), "C")],
    "repeat_interleave": [("", P(i=(2, 0)), (3, 4), "C"), ("dim 1", P(i=(3, 1)), (3, 4), "T"), ("neg dim", P(i=(2, -1)), (2, 3, 4), "S"),
                          ("E", P(i=(2, 0)), (4, 3), "E"), ("zero", P(i=(0, 0)), (3, 4), "C"), ("0-d", P(i=(2, 0)), (), "C"),
                          ("negative", P(i=(-1, 0)), (3, 4), "C"), ("bad dim", P(i=(2, 2)), (3, 4), "C")],
    "tensor_split": [("", P(i=(3, 1, 0)), (3, 7), "C"), ("last", P(i=(3, 1, 2)), (3, 7), "T"),
                     ("more than size", P(i=(5, 0, 4)), (3, 4), "S"), ("neg dim", P(i=(2, -1, 1)), (2, 3, 5), "C"),
                     ("E", P(i=(2, 0, 1)), (4, 3), "E"), ("zero", P(i=(0, 0, 0)), (3, 4), "C"), ("0-d", P(i=(2, 0, 0)), (), "C")],
    "tensor_split_indices": [("", P(shape=(1, 3), i=(0, 1, 1)), (3, 7), "C"), ("clamp", P(shape=(3, 1, 7), i=(0, 0, 2)), (5, 2), "T"),
                             ("neg", P(shape=(-1,), i=(0, 0, 1)), (5, 3), "S"), ("empty piece", P(shape=(3, 1, 7), i=(0, 0, 1)), (5, 2), "C"),
                             ("none", P(shape=(), i=(0, 1, 0)), (3, 4), "E"), ("0-d", P(shape=(1,), i=(0, 0, 0)), (), "C")],
    "diag": [("vector", P(i=(0,)), (3,), "C"), ("vector k", P(i=(2,)), (3,), "S"), ("vector neg", P(i=(-1,)), (3,), "E"),
             ("matrix", P(i=(0,)), (3, 4), "C"), ("matrix k", P(i=(1,)), (3, 4), "T"), ("matrix neg", P(i=(-2,)), (4, 3), "S"),
             ("past", P(i=(5,)), (3, 4), "C"), ("E", P(i=(0,)), (3, 3), "E"), ("empty vector", P(i=(0,)), (0,), "C"),
             ("empty matrix", P(i=(1,)), (0, 3), "C"), ("0-d", P(i=(0,)), (), "C"), ("3-d", P(i=(0,)), (2, 3, 4), "C")],
    "diag_embed": [("", P(i=(0, -2, -1)), (2, 3), "C"), ("offset", P(i=(1, 0, 2)), (2, 3), "T"), ("neg", P(i=(-1, -1, -3)), (2, 3), "S"),
                   ("E", P(i=(0, 0, 1)), (3, 2), "E"), ("1-d", P(i=(0, -2, -1)), (3,), "C"), ("empty", P(i=(1, 0, 1)), (2, 0), "C"),
                   ("same", P(i=(0, 1, 1)), (2, 3), "C"), ("0-d", P(i=(0, -2, -1)), (), "C"), ("bad", P(i=(0, 0, 3)), (2, 3), "C")],
}
for _op in ["atleast_1d", "atleast_2d", "atleast_3d"]:
    SHAPE_CASES[_op] = [("0-d", P(), (), "C"), ("1-d", P(), (3,), "S"), ("2-d", P(), (3, 4), "T"), ("3-d", P(), (2, 3, 4), "E"),
                        ("empty", P(), (0,), "C"), ("empty 2-d", P(), (0, 2), "C")]
SHAPE_CASES["moveaxis"] = SHAPE_CASES["movedim"]
SHAPE_CASES["swapdims"] = SHAPE_CASES["swapaxes"]
SHAPE_CASES["triu"] = SHAPE_CASES["tril"]


def gen_shape(op, row):
    fl = FLOATS
    if op == "repeat_interleave_tensor":
        for dt in fl:
            case(op, "", P(i=(0, 0, -1)), I(dt, (3, 4), "T"), idx([1, 0, 2], (3,)))
            case(op, "one count", P(i=(0, 1, -1)), I(dt, (3, 4), "S"), idx([2], (1,)))
            case(op, "0-d count", P(i=(0, 1, -1)), I(dt, (3, 4)), idx([2], ()))
            case(op, "output_size", P(i=(0, 0, 4)), I(dt, (3, 4), "E"), idx([1, 0, 3], (3,)))
            case(op, "wrong output_size", P(i=(0, 0, 5)), I(dt, (3, 4)), idx([1, 0, 3], (3,)))
            case(op, "empty", P(i=(0, 0, -1)), I(dt, (0, 4)), idx([], (0,)))
            case(op, "negative", P(i=(0, 0, -1)), I(dt, (3, 4)), idx([1, -1, 2], (3,)))
            case(op, "count mismatch", P(i=(0, 0, -1)), I(dt, (3, 4)), idx([1, 2], (2,)))
            case(op, "int32", P(i=(0, 0, -1)), I(dt, (3, 4)), I("int32", (3,), values=[2.0, 1.0, 0.0]))
            case(op, "float counts", P(i=(0, 0, -1)), I(dt, (3, 4)), I("float32", (3,), values=[2.0, 1.0, 0.0]))
        for dt in DTYPES[2:]:
            case(op, "dtype", P(i=(0, 0, -1)), I(dt, (3, 4)), idx([1, 0, 2], (3,)))
        return
    if op == "meshgrid":
        for dt in fl:
            for xy in (False, True):
                for k in range(2):
                    case(op, "xy" if xy else "ij", P(i=(2, 0, k), flag=xy), I(dt, (3,), "S"), I(dt, (4,)))
                case(op, "three", P(i=(3, 0, 2), flag=xy), I(dt, (2,)), I(dt, (3,), "E"), I(dt, (4,)))
            case(op, "0-d", P(i=(2, 0, 0)), I(dt, ()), I(dt, (2,)))
            case(op, "one", P(i=(1, 0, 0), flag=True), I(dt, (3,)))
            case(op, "empty", P(i=(2, 0, 1)), I(dt, (0,)), I(dt, (2,)))
            case(op, "2-d", P(i=(2, 0, 0)), I(dt, (2, 2)), I(dt, (2,)))
        case(op, "mixed dtypes", P(i=(2, 0, 0)), I("float32", (2,)), I("float64", (3,)))
        for dt in DTYPES[2:]:
            case(op, "dtype", P(i=(2, 0, 1)), I(dt, (3,)), I(dt, (2,)))
        return
    for tag, prm, shape, lay in SHAPE_CASES[op]:
        for dt in fl:
            case(op, tag, prm, I(dt, shape, lay))
    tag, prm, shape, lay = SHAPE_CASES[op][0]
    for dt in DTYPES[2:]:
        case(op, "dtype", prm, I(dt, shape, "T" if len(shape) >= 2 else "C"))


def gen_stacks(op, row):
    """hstack, vstack, dstack: p.i[0] tensors."""
    f, d = "float32", "float64"
    for dt in FLOATS:
        case(op, "1-d", P(i=(2,)), I(dt, (3,), "S"), I(dt, (3,)))
        case(op, "1-d sizes", P(i=(3,)), I(dt, (2,)), I(dt, (3,), "E"), I(dt, (1,)))
        case(op, "0-d", P(i=(2,)), I(dt, ()), I(dt, ()))
        case(op, "2-d", P(i=(2,)), I(dt, (2, 3), "T"), I(dt, (2, 3)))
        case(op, "3-d", P(i=(2,)), I(dt, (2, 3, 1), "C"), I(dt, (2, 3, 2), "S"))
        case(op, "1-d and 2-d", P(i=(2,)), I(dt, (3,)), I(dt, (2, 3)))
        case(op, "mismatch", P(i=(2,)), I(dt, (2, 3)), I(dt, (3, 4)))
        case(op, "one", P(i=(1,)), I(dt, (2, 3), "T"))
        case(op, "empty", P(i=(2,)), I(dt, (0,)), I(dt, (2,)))
    for dt in DTYPES[2:]:
        case(op, "dtype", P(i=(2,)), I(dt, (2, 3)), I(dt, (2, 3)))
    for a, b in [(f, d), ("int64", f), ("bool", "int32")]:
        case(op, "mixed", P(i=(2,)), I(a, (2, 3)), I(b, (2, 3)))


def gen_index_put(op, row):
    fl = FLOATS
    base = op.rstrip("_")
    if base == "take_along_dim":
        for dt in fl:
            case(op, "", P(i=(1,)), I(dt, (3, 4), "T"), idx([0, 3, 1], (3, 1)))
            case(op, "dim 0", P(i=(0,)), I(dt, (3, 4), "S"), idx([2, 0], (2, 1)))
            case(op, "t grows", P(i=(1,)), I(dt, (1, 4), "E"), idx([3, 0, 1, 1, 2, 2], (3, 2)))
            case(op, "neg dim", P(i=(-1,)), I(dt, (2, 3, 4)), idx([3, 2, 1, 0, 0, 1], (2, 3, 1)))
            case(op, "0-d", P(i=(0,)), I(dt, ()), idx([0], ()))
            case(op, "empty", P(i=(1,)), I(dt, (3, 4)), idx([], (3, 0)))
            case(op, "out of range", P(i=(1,)), I(dt, (3, 4)), idx([4, 0, 0], (3, 1)))
            case(op, "negative", P(i=(1,)), I(dt, (3, 4)), idx([-1, 0, 0], (3, 1)))
            case(op, "rank", P(i=(1,)), I(dt, (3, 4)), idx([0, 1], (2,)))
            case(op, "no broadcast", P(i=(0,)), I(dt, (3, 4)), idx([0, 1], (1, 2)))
        case(op, "int32", P(i=(1,)), I("float32", (3, 4)), I("int32", (3, 1), values=[0.0, 1.0, 2.0]))
        for dt in DTYPES[2:]:
            case(op, "dtype", P(i=(1,)), I(dt, (3, 4)), idx([0, 3, 1], (3, 1)))
        return
    fill = base == "index_fill"
    for dt in fl:
        other = "float64" if dt == "float32" else "float32"
        if fill:
            case(op, "", P(i=(0,), d=(-1.5,)), I(dt, (3, 4), "T"), idx([0, 2], (2,)))
            case(op, "neg index", P(i=(1,), d=(2.0,)), I(dt, (3, 4), "S"), idx([-1, 1], (2,)))
            case(op, "0-d index", P(i=(-1,), d=(0.5,)), I(dt, (3, 4)), idx([1], ()))
            case(op, "nan", P(i=(1,), d=(math.nan,)), I(dt, (3, 4)), idx([3, 3], (2,)))
            case(op, "0-d", P(i=(0,), d=(2.0,)), I(dt, ()), idx([0], (1,)))
            case(op, "empty index", P(i=(0,), d=(2.0,)), I(dt, (3, 4)), idx([], (0,)))
            # nabla refuses to write in place into an expanded t (elements
            # sharing memory), as its other in-place ops; torch's index_fill_
            # writes through the aliases (deprecated there: "please clone() the
            # tensor before performing this operation").
            case(op, "E", P(i=(1,), d=(2.0,), refuse=op.endswith("_")), I(dt, (3, 4), "E"), idx([0], (1,)))
            case(op, "out of range", P(i=(0,), d=(2.0,)), I(dt, (3, 4)), idx([3], (1,)))
            case(op, "too negative", P(i=(0,), d=(2.0,)), I(dt, (3, 4)), idx([-4], (1,)))
            case(op, "2-d index", P(i=(0,), d=(2.0,)), I(dt, (3, 4)), idx([0, 1], (1, 2)))
            case(op, "int32 index", P(i=(0,), d=(2.0,)), I(dt, (3, 4)), I("int32", (1,), values=[1.0]))
            continue
        add = base == "index_add"
        a = (1.0,) if add else ()
        case(op, "", P(i=(0,), d=a), I(dt, (3, 4), "T"), idx([2, 0], (2,)), I(dt, (2, 4)))
        case(op, "dim 1", P(i=(1,), d=(2.5,) if add else ()), I(dt, (3, 4), "S"), idx([1, 3, 0], (3,)), I(dt, (3, 3), "T"))
        if add:
            case(op, "dup", P(i=(1,), d=(-1.0,)), I(dt, (3, 4)), idx([1, 1, 3], (3,)), I(dt, (3, 3), "S"))
        case(op, "0-d index", P(i=(-1,), d=a), I(dt, (3, 4)), idx([2], ()), I(dt, (3, 1)))
        case(op, "0-d", P(i=(0,), d=a), I(dt, ()), idx([0], (1,)), I(dt, ()))
        case(op, "empty index", P(i=(0,), d=a), I(dt, (3, 4)), idx([], (0,)), I(dt, (0, 4)))
        case(op, "E", P(i=(0,), d=a), I(dt, (3, 4), "E"), idx([1], (1,)), I(dt, (1, 4)))
        case(op, "source E", P(i=(0,), d=a), I(dt, (3, 4)), idx([1, 2], (2,)), I(dt, (2, 4), "E"))
        case(op, "out of range", P(i=(0,), d=a), I(dt, (3, 4)), idx([3], (1,)), I(dt, (1, 4)))
        case(op, "negative", P(i=(0,), d=a), I(dt, (3, 4)), idx([-1], (1,)), I(dt, (1, 4)))
        case(op, "count mismatch", P(i=(0,), d=a), I(dt, (3, 4)), idx([1, 0], (2,)), I(dt, (1, 4)))
        case(op, "shape mismatch", P(i=(0,), d=a), I(dt, (3, 4)), idx([1], (1,)), I(dt, (1, 3)))
        case(op, "rank mismatch", P(i=(0,), d=a), I(dt, (3, 4)), idx([1], (1,)), I(dt, (4,)))
        case(op, "2-d index", P(i=(0,), d=a), I(dt, (3, 4)), idx([1], (1, 1)), I(dt, (1, 4)))
        case(op, "dtype mismatch", P(i=(0,), d=a), I(dt, (3, 4)), idx([1], (1,)), I(other, (1, 4)))
        case(op, "int32 index", P(i=(0,), d=a), I(dt, (3, 4)), I("int32", (2,), values=[2.0, 0.0]), I(dt, (2, 4)))
        case(op, "float index", P(i=(0,), d=a), I(dt, (3, 4)), I(dt, (1,), values=[1.0]), I(dt, (1, 4)))
    for dt in DTYPES[2:]:
        if fill:
            case(op, "dtype", P(i=(0,), d=(2.5,) if dt != "bool" else (1.0,)), I(dt, (3, 4)), idx([0, 2], (2,)))
        else:
            case(op, "dtype", P(i=(0,), d=(2.5,) if base == "index_add" else ()), I(dt, (3, 4)), idx([2, 0], (2,)),
                 I(dt, (2, 4)))
    if fill:
        case(op, "uint8 -1", P(i=(0,), d=(-1.0,)), I("uint8", (3, 4)), idx([1], (1,)))
        case(op, "uint8 300", P(i=(0,), d=(300.0,)), I("uint8", (3, 4)), idx([1], (1,)))
        case(op, "int inf", P(i=(0,), d=(math.inf,)), I("int64", (3, 4)), idx([1], (1,)))


SHAPE_GENERATORS = {"SHAPE": gen_shape, "STACKS": gen_stacks, "INDEX_PUT": gen_index_put}


# Recurrent layers (issue 14): cells and one-layer sequences, x (T, B, I) =
# (3, 2, 4) or (B, I) = (2, 4), hidden 3. params: i[0] = 1 for relu, flag =
# batch_first.
def gen_rnn(op, row):
    gates = {"rnn_cell": 1, "lstm_cell": 4, "gru_cell": 3, "rnn": 1, "lstm": 4, "gru": 3}[op]
    G, H = gates * 3, 3
    lstm = op.startswith("lstm")
    for dt in FLOATS:
        weights = [I(dt, (G, 4), "T"), I(dt, (G, H), "S"), I(dt, (G,)), I(dt, (G,), "S")]
        if op.endswith("_cell"):
            states = [I(dt, (2, H), "T")] + ([I(dt, (2, H))] if lstm else [])
            no_states = [None] * len(states)
            for relu in ((0, 1) if op == "rnn_cell" else (0,)):
                case(op, "relu" if relu else "", P(i=(relu,)), I(dt, (2, 4), "T"), *states, *weights)
            case(op, "no state", P(i=(0,)), I(dt, (2, 4)), *no_states, *weights)
            case(op, "no bias", P(i=(0,)), I(dt, (2, 4), "S"), *states, *weights[:2], None, None)
            case(op, "1-d", P(i=(0,)), I(dt, (4,)), *[I(dt, (H,)) for _ in states], *weights)
            case(op, "empty batch", P(i=(0,)), I(dt, (0, 4)), *[I(dt, (0, H)) for _ in states], *weights)
            case(op, "bad w_ih", P(i=(0,)), I(dt, (2, 4)), *states, I(dt, (G, 5)), *weights[1:])
        else:
            states = [I(dt, (1, 2, H), "T")] + ([I(dt, (1, 2, H))] if lstm else [])
            no_states = [None] * len(states)
            for relu in ((0, 1) if op == "rnn" else (0,)):
                case(op, "relu" if relu else "", P(i=(relu,)), I(dt, (3, 2, 4), "T"), *states, *weights)
            case(op, "batch_first", P(i=(0,), flag=True), I(dt, (2, 3, 4), "S"), *states, *weights)
            case(op, "no state no bias", P(i=(0,)), I(dt, (3, 2, 4)), *no_states, *weights[:2], None, None)
            case(op, "bad h0", P(i=(0,)), I(dt, (3, 2, 4)), I(dt, (1, 3, H)), *no_states[1:], *weights)
    first = 3 if op == "lstm" else 2 if op in ("rnn", "gru") else 3 if op == "lstm_cell" else 2
    case(op, "int", P(i=(0,)), I("int64", (2, 4) if op.endswith("_cell") else (3, 2, 4)), *[None] * (first - 1),
         I("int64", (G, 4)), I("int64", (G, H)), None, None)


RNN_GENERATORS = {"RNN": gen_rnn}


def gen_nn(op, row):
    fl = FLOATS
    if op == "linear":
        for dt in fl:
            case(op, "", P(), I(dt, (4, 3)), I(dt, (2, 3), "T"), I(dt, (2,)))
            case(op, "no bias", P(), I(dt, (2, 5, 3), "S"), I(dt, (2, 3)), None)
            case(op, "1-d", P(), I(dt, (3,)), I(dt, (2, 3)), I(dt, (2,), "S"))
            case(op, "empty batch", P(), I(dt, (0, 3)), I(dt, (2, 3)), I(dt, (2,)))
            case(op, "bad", P(), I(dt, (4, 3)), I(dt, (2, 4)), None)
        case(op, "mixed", P(), I("float32", (4, 3)), I("float64", (2, 3)), None)
        case(op, "int", P(), I("int64", (4, 3)), I("int64", (2, 3)), None)
    elif op in ("conv2d", "conv_transpose2d"):
        tr = op == "conv_transpose2d"
        geoms = [("", (0, 0, 0, 0, 0, 0, 0, 0, 0)), ("stride pad", (2, 1, 1, 0, 0, 0, 0, 0, 0)),
                 ("dilation", (1, 1, 1, 1, 2, 1, 0, 0, 0)), ("groups", (1, 1, 0, 0, 0, 0, 2, 0, 0))]
        if tr:
            geoms.append(("output_padding", (2, 2, 1, 0, 0, 0, 0, 1, 1)))
        for dt in fl:
            for tag, g in geoms:
                groups = g[6] or 1
                w = (2, 4 // groups, 2, 3) if not tr else (2, 4 // groups, 2, 3)
                cin = 2 * groups if not tr else 2
                w = (4, cin // groups, 2, 3) if not tr else (cin, 4 // groups, 2, 3)
                case(op, tag, P(i=g), I(dt, (2, cin, 5, 4), "T" if tag == "" else "C"), I(dt, w), I(dt, (4,)))
            case(op, "no bias 3-d", P(i=(0,) * 9), I(dt, (2, 4, 4), "S"), I(dt, (3, 2, 1, 2) if not tr else (2, 3, 1, 2)), None)
            case(op, "bad channels", P(i=(0,) * 9), I(dt, (1, 3, 4, 4)), I(dt, (2, 2, 1, 1)), None)
    elif op.startswith("max_pool2d") or op == "avg_pool2d":
        avg = op == "avg_pool2d"
        geoms = [("", (2, 2, 0, 0, 0, 0, 0, 0), False, False), ("stride pad", (3, 3, 2, 2, 1, 1, 0, 0), False, False),
                 ("ceil", (2, 2, 2, 2, 0, 1, 0, 0), True, False), ("rect", (2, 3, 1, 2, 1, 1, 0, 0), False, False)]
        if avg:
            geoms.append(("exclude pad", (3, 3, 2, 2, 1, 1, 0, 0), False, True))
        else:
            geoms.append(("dilation", (2, 2, 1, 1, 0, 0, 2, 2), False, False))
            geoms.append(("dilation stride", (2, 2, 2, 2, 1, 1, 2, 1), False, False))
        for dt in fl:
            for tag, g, ceil, excl in geoms:
                case(op, tag, P(i=g, flag=ceil, flag2=excl), I(dt, (2, 2, 5, 6), "T" if tag == "" else "C"))
            case(op, "3-d", P(i=(2, 2, 0, 0, 0, 0, 0, 0)), I(dt, (2, 4, 4), "S"))
            case(op, "bad pad", P(i=(2, 2, 0, 0, 2, 2, 0, 0)), I(dt, (1, 1, 4, 4)))
        case(op, "int", P(i=(2, 2, 0, 0, 0, 0, 0, 0)), I("int64", (1, 1, 4, 4)))
    elif op == "adaptive_avg_pool2d":
        for dt in fl:
            case(op, "", P(i=(2, 3)), I(dt, (2, 2, 5, 7), "T"))
            case(op, "1x1", P(i=(1, 1)), I(dt, (2, 3, 4), "S"))
            case(op, "grow", P(i=(4, 4)), I(dt, (1, 2, 3, 3)))
    elif op == "batch_norm":
        for dt in fl:
            case(op, "train", P(d=(0.1, 1e-5), flag=True), I(dt, (4, 3, 2), "T"), I(dt, (3,), grad=False),
                 I(dt, (3,), domain="POS", grad=False), I(dt, (3,)), I(dt, (3,)))
            case(op, "train no stats", P(d=(0.1, 1e-5), flag=True), I(dt, (4, 3)), None, None, None, None)
            case(op, "eval", P(d=(0.1, 1e-5), flag=False), I(dt, (2, 3, 2, 2), "S"), I(dt, (3,), grad=False),
                 I(dt, (3,), domain="POS", grad=False), I(dt, (3,)), None)
            case(op, "bad", P(d=(0.1, 1e-5), flag=True), I(dt, (4, 3)), I(dt, (2,), grad=False),
                 I(dt, (2,), domain="POS", grad=False), None, None)
    elif op == "layer_norm":
        for dt in fl:
            case(op, "", P(shape=(4,), d=(1e-5,)), I(dt, (3, 4), "T"), I(dt, (4,)), I(dt, (4,)))
            case(op, "2 dims", P(shape=(3, 4), d=(1e-5,)), I(dt, (2, 3, 4), "S"), None, None)
            case(op, "bad", P(shape=(3,), d=(1e-5,)), I(dt, (3, 4)), None, None)
    elif op == "group_norm":
        for dt in fl:
            case(op, "", P(i=(2,), d=(1e-5,)), I(dt, (2, 4, 3), "T"), I(dt, (4,)), I(dt, (4,)))
            case(op, "1 group", P(i=(1,), d=(1e-5,)), I(dt, (2, 3, 2, 2), "S"), None, None)
            case(op, "bad", P(i=(3,), d=(1e-5,)), I(dt, (2, 4, 3)), None, None)
    elif op == "dropout":
        for dt in fl:
            case(op, "eval", P(d=(0.5,), flag=False), I(dt, (3, 4), "T"))
            case(op, "p=0", P(d=(0.0,), flag=True), I(dt, (3, 4), "S"))
            case(op, "p=1", P(d=(1.0,), flag=True), I(dt, (3, 4)))
            case(op, "bad p", P(d=(1.5,), flag=True), I(dt, (3, 4)))
    elif op == "embedding":
        for dt in fl:
            case(op, "", P(), idx([1, 0, 3, 1], (2, 2)), I(dt, (4, 3), "T"))
            case(op, "0-d", P(), idx([2], ()), I(dt, (4, 3), "S"))
            case(op, "out of range", P(), idx([4], (1,)), I(dt, (4, 3)))
        case(op, "int weight", P(), idx([1, 0], (2,)), I("int64", (4, 3)))
    elif op == "pad":
        for dt in fl:
            case(op, "", P(shape=(1, 2), d=(0.0,)), I(dt, (3, 4), "T"))
            case(op, "2 dims", P(shape=(1, 0, 2, 1), d=(1.5,)), I(dt, (2, 3, 4), "S"))
            case(op, "crop", P(shape=(-1, 1), d=(0.0,)), I(dt, (3, 4)))
            case(op, "odd", P(shape=(1,), d=(0.0,)), I(dt, (3, 4)))
        case(op, "int", P(shape=(1, 1), d=(2.0,)), I("int64", (3, 4)))


def gen_loss(op, row):
    fl = FLOATS
    red = [RED["mean"], RED["sum"], RED["none"]]
    if op in ("mse_loss", "l1_loss", "smooth_l1_loss"):
        d = (1.0,) if op == "smooth_l1_loss" else ()
        for dt in fl:
            for r in red:
                case(op, RED_NAME[r], P(i=(r,), d=d), I(dt, (3, 4), "T"), I(dt, (3, 4), "S"))
            case(op, "0-d", P(i=(0,), d=d), I(dt, ()), I(dt, ()))
            case(op, "empty", P(i=(1,), d=d), I(dt, (0, 3)), I(dt, (0, 3)))
            case(op, "shape", P(i=(0,), d=d, refuse=True), I(dt, (3, 4)), I(dt, (4,)))  # nabla.h: refuses
        if op == "smooth_l1_loss":
            case(op, "beta", P(i=(0,), d=(0.5,)), I("float64", (3, 4)), I("float64", (3, 4)))
        case(op, "int", P(i=(0,), d=d), I("int64", (3, 4)), I("int64", (3, 4)))
        case(op, "mixed", P(i=(0,), d=d, refuse=True), I("float32", (3, 4)), I("float64", (3, 4)))  # nn.h: one dtype
    elif op in ("cross_entropy", "nll_loss"):
        ce = op == "cross_entropy"
        for dt in fl:
            for r in red:
                case(op, RED_NAME[r], P(i=(r, 0)), I(dt, (4, 3), "T"), idx([0, 2, 1, 2], (4,)), None)
            case(op, "weight", P(i=(0, 0)), I(dt, (4, 3)), idx([0, 2, 1, 2], (4,)), I(dt, (3,), domain="POS", grad=False))
            case(op, "ignore", P(i=(0, 1), flag=True), I(dt, (4, 3)), idx([0, 1, 1, 2], (4,)), None)
            case(op, "spatial", P(i=(0, 0)), I(dt, (2, 3, 2, 2), "S"), idx([0, 2, 1, 1, 2, 0, 0, 1], (2, 2, 2)), None)
            case(op, "1-d", P(i=(0, 0)), I(dt, (3,)), idx([2], ()), None)
            case(op, "out of range", P(i=(0, 0)), I(dt, (4, 3)), idx([0, 3, 1, 2], (4,)), None)
            if ce:
                case(op, "smoothing", P(i=(0, 0), d=(0.1,)), I(dt, (4, 3)), idx([0, 2, 1, 2], (4,)), None)
                case(op, "probs", P(i=(0, 0)), I(dt, (4, 3)), I(dt, (4, 3), domain="PROB"), None)
    elif op == "binary_cross_entropy":
        for dt in fl:
            for r in red:
                case(op, RED_NAME[r], P(i=(r,)), I(dt, (3, 4), "T", domain="PROB"), I(dt, (3, 4), "S", domain="PROB", grad=False), None)
            case(op, "weight", P(i=(0,)), I(dt, (3, 4), domain="PROB"), I(dt, (3, 4), domain="PROB", grad=False),
                 I(dt, (4,), domain="POS", grad=False))
            case(op, "out of range", P(i=(0,)), I(dt, (2,), values=[0.5, 1.5]), I(dt, (2,), domain="PROB", grad=False), None)
    elif op == "binary_cross_entropy_with_logits":
        for dt in fl:
            for r in red:
                case(op, RED_NAME[r], P(i=(r,)), I(dt, (3, 4), "T"), I(dt, (3, 4), "S", domain="PROB"), None, None)
            case(op, "weights", P(i=(0,)), I(dt, (3, 4)), I(dt, (3, 4), domain="PROB"), I(dt, (4,), domain="POS", grad=False),
                 I(dt, (4,), domain="POS", grad=False))
    elif op == "kl_div":
        for dt in fl:
            for r in red + [RED["batchmean"]]:
                case(op, RED_NAME[r], P(i=(r,)), I(dt, (3, 4), "T"), I(dt, (3, 4), "S", domain="PROB"))
            case(op, "log_target", P(i=(1,), flag=True), I(dt, (3, 4)), I(dt, (3, 4)))


def gen_quantile(op, row):
    """A tensor q (0-d or 1-d) of t's dtype; p.i[0] the interpolation."""
    for dt in DTYPES:
        case(op, "dtype", P(i=(0,), dims=(1,)), I(dt, (3, 4)), I(dt if dt in FLOATS else "float32", (2,), values=[0.25, 0.5]))
    for mode in range(5):
        for dt in FLOATS:
            q = I(dt, (3,), values=[0.0, 0.4, 1.0], grad=False)
            case(op, "q 1-d", P(i=(mode,), dims=(1,)), I(dt, (3, 5), "T"), q)
            case(op, "q 1-d keep", P(i=(mode,), dims=(0,), flag=True), I(dt, (4, 3), "S"), q)
            case(op, "q 1-d all", P(i=(mode,)), I(dt, (2, 3)), q)
            case(op, "q 1-d all keep", P(i=(mode,), flag=True), I(dt, (2, 3), "T"), q)
            case(op, "q 0-d", P(i=(mode,), dims=(-1,)), I(dt, (2, 4), "E"), I(dt, (), values=[0.6], grad=False))
    case(op, "nan", P(i=(0,), dims=(1,), nogc=True),
         I("float64", (2, 4), values=[1.0, math.nan, -2.0, 0.5, 3.0, -1.0, 0.25, 2.0]),
         I("float64", (2,), values=[0.2, 0.9], grad=False))
    case(op, "all nan", P(i=(0,), dims=(1,), nogc=True), I("float64", (2, 2), values=[math.nan] * 2 + [1.0, 2.0]),
         I("float64", (1,), values=[0.5], grad=False))
    case(op, "q dtype", P(i=(0,), dims=(1,)), I("float32", (2, 3)), I("float64", (1,), values=[0.5], grad=False))
    case(op, "q out of range", P(i=(0,), dims=(1,)), I("float32", (2, 3)), I("float32", (1,), values=[1.5], grad=False))
    case(op, "q 2-d", P(i=(0,), dims=(1,)), I("float32", (2, 3)), I("float32", (1, 1), values=[0.5], grad=False))
    case(op, "empty", P(i=(0,)), I("float32", (0, 3)), I("float32", (1,), values=[0.5], grad=False))


def gen_count(op, row):
    if op == "bincount":
        for dt in ["int64", "int32", "uint8"]:
            case(op, "counts", P(i=(0,)), I(dt, (7,), values=[1.0, 0.0, 4.0, 1.0, 1.0, 2.0, 4.0]), None)
        case(op, "minlength", P(i=(8,)), I("int64", (3,), values=[2.0, 0.0, 2.0]), None)
        case(op, "empty", P(i=(0,)), I("int64", (0,)), None)
        case(op, "empty minlength", P(i=(3,)), I("int64", (0,)), None)
        for wdt in ["float32", "float64", "int64"]:
            case(op, "weights", P(i=(0,)), I("int64", (4,), values=[3.0, 0.0, 3.0, 1.0]),
                 I(wdt, (4,), grad=False))
        case(op, "weights strided", P(i=(2,)), I("int64", (3,), "S", values=[1.0, 9.0, 0.0, 9.0, 1.0, 9.0]),
             I("float32", (3,), "S", grad=False))
        for dt in ["float32", "bool"]:
            case(op, "dtype", P(i=(0,)), I(dt, (3,)), None)
        case(op, "negative", P(i=(0,)), I("int64", (3,), values=[1.0, -1.0, 2.0]), None)
        case(op, "2-d", P(i=(0,)), I("int64", (2, 2), values=[1.0, 0.0, 2.0, 1.0]), None)
        case(op, "weights length", P(i=(0,)), I("int64", (3,), values=[1.0, 0.0, 2.0]), I("float32", (2,), grad=False))
        return
    for dt in FLOATS:
        case(op, "range", P(i=(4,), d=(-1.0, 1.0)), I(dt, (3, 4), "T"))
        case(op, "outside", P(i=(5,), d=(-0.5, 0.75)), I(dt, (10,)))
        case(op, "data range", P(i=(3,), d=(0.0, 0.0)), I(dt, (2, 5), "S"))
        case(op, "one value", P(i=(2,), d=(0.0, 0.0)), I(dt, (3,), values=[0.5, 0.5, 0.5]))
        case(op, "empty", P(i=(3,), d=(0.0, 1.0)), I(dt, (0,)))
    case(op, "dtype", P(i=(3,), d=(0.0, 1.0)), I("int64", (3,)))
    case(op, "no bins", P(i=(0,), d=(0.0, 1.0)), I("float32", (3,)))
    case(op, "min > max", P(i=(3,), d=(1.0, 0.0)), I("float32", (3,)))


def gen_index_expr(op, row):
    """x (3, 4, 5); i, j int64 (or bool masks); for puts, values (x[3])."""
    put = op.startswith("index_put")
    i4 = idx([0, -1, 2, 0], (4,))
    i3 = idx([0, -1, 1], (3,))
    j21 = idx([1, -2], (2, 1))
    def values(dt, k, i, j, shape=(3, 4, 5)):
        t = torch.zeros(shape, dtype=TORCH_DTYPE[dt])
        ti = torch.tensor(i.values, dtype=torch.int64).reshape(i.shape) if i is not None and i.dtype == "int64" else None
        tj = torch.tensor(j.values, dtype=torch.int64).reshape(j.shape) if j is not None and j.dtype == "int64" else None
        if i is not None and i.dtype == "bool":
            ti = torch.tensor(i.values).reshape(i.shape).bool()
        try:
            return I(dt, tuple(EXPRS[k](t, ti, tj).shape))
        except (IndexError, RuntimeError):
            return I(dt, (1,))  # the index itself is refused
    def add(tag, k, dt, x, i, j, accumulate=False, vshape=None):
        prm = P(i=(k,), flag=accumulate)
        if not put:
            case(op, tag, prm, x, i, j)
            return
        v = values(dt, k, i, j, x.shape) if vshape is None else I(dt, vshape)
        case(op, tag, prm, x, i, j, v)
    for dt in FLOATS:
        for k in range(len(EXPRS)):
            if put and k in (11, 13):
                continue
            # puts: distinct positions (with repeats the last write wins, and
            # gradcheck cannot agree with the gradient torch defines); no
            # expanded target (nabla refuses to write into shared elements)
            for lay in ("CTS" if put else "CTSE"):
                add("expr %d %s" % (k, lay), k, dt, I(dt, (3, 4, 5), lay), i3 if put else i4, j21)
        add("mask", 0, dt, I(dt, (3, 4, 5)), mask([1, 0, 1], (3,)), None)
        add("mask 2-d", 0, dt, I(dt, (3, 4, 5), "T"), mask([1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0], (3, 4)), None)
        add("mask after slice", 1, dt, I(dt, (3, 4, 5)), mask([0, 1, 1, 0], (4,)), None)
        add("mask 0-d", 0, dt, I(dt, (3, 4)), mask([1], ()), None)
        add("mask 0-d false", 0, dt, I(dt, (3, 4)), mask([0], ()), None)
        add("0-d index", 2, dt, I(dt, (3, 4, 5)), idx([2], ()), idx([-1], ()))
        add("empty index", 0, dt, I(dt, (3, 4, 5)), idx([], (0,)), None)
        if op == "index_put_":
            add("expanded target", 0, dt, I(dt, (3, 4, 5), "E"), i3, None)
        if put:
            add("broadcast values", 1, dt, I(dt, (3, 4, 5)), i4, None, vshape=(5,))
            add("accumulate", 0, dt, I(dt, (3, 4, 5)), i4, None, accumulate=True)
            add("accumulate 2", 2, dt, I(dt, (3, 4, 5), "T"), i4, j21, accumulate=True)
            add("bad values", 0, dt, I(dt, (3, 4, 5)), i4, None, vshape=(3,))
    for dt in DTYPES[2:]:
        add("dtype", 2, dt, I(dt, (3, 4, 5)), i4, j21)
    add("out of range", 0, "float32", I("float32", (3, 4, 5)), idx([0, 3], (2,)), None)
    add("out of range neg", 1, "float32", I("float32", (3, 4, 5)), idx([-5], (1,)), None)
    add("int32 index", 0, "float32", I("float32", (3, 4, 5)), I("int32", (2,), values=[0.0, 1.0]), None, vshape=(2, 4, 5))
    add("mask shape", 0, "float32", I("float32", (3, 4, 5)), mask([1, 0], (2,)), None, vshape=(1, 4, 5))
    add("no broadcast", 2, "float32", I("float32", (3, 4, 5)), idx([0, 1, 2], (3,)), idx([0, 1], (2,)), vshape=(3, 5))
    add("too many", 13, "float32", I("float32", (3, 4, 5)), i4, j21, vshape=())
# ---- issue 13: sample generators and parameters
ISSUE13_POOLS = {
    "UNIT": [k / 32 for k in range(-30, 31) if k != 0],  # asin, acos, atanh: |x| < 1
    "GT1": [1 + k / 32 for k in range(1, 97)],  # acosh
    # Never an integer, a half-integer, 0 or a kink (+-1, +-3, 6): the
    # rounding ops and the piecewise activations get finite differences.
    "OFFGRID": [(k + 0.37) / 32 for k in range(-110, 110)],
}
# Exact kinks, ties and large magnitudes (gradients compared with torch,
# finite differences skipped).
EDGES = [-6.0, -3.0, -1.0, -0.5, 0.5, 1.0, 2.5, 3.0, 6.0, -2.5, 1e30, -1e30, 88.5, -104.0, 0.0, -0.0]
UNARY_PARAMS.update({
    "round_decimals": [P(i=(1,)), P(i=(-1,)), P(i=(2,)), P(i=(0,))],
    "round_decimals_": [P(i=(1,)), P(i=(-1,))],
    "leaky_relu": [P(d=(0.01,)), P(d=(0.2,)), P(d=(-0.5,))], "leaky_relu_": [P(d=(0.01,))],
    "elu": [P(d=(1.0,)), P(d=(0.5,)), P(d=(-0.5,))], "elu_": [P(d=(1.0,))],
    "celu": [P(d=(1.0,)), P(d=(2.0,)), P(d=(0.0,))], "celu_": [P(d=(1.5,))],
    "hardtanh": [P(d=(-1, 1)), P(d=(0, 6)), P(d=(-0.5, 2.5)), P(d=(2, 1))],
    "hardtanh_": [P(d=(-1, 1)), P(d=(0, 6))],
    "nan_to_num": [P(d=(0, math.nan, math.nan)), P(d=(1.5, 100, -100)), P(d=(-2, 1e300, -1e300))],
    "nan_to_num_": [P(d=(0, math.nan, math.nan)), P(d=(1.5, 100, -100))],
})
SCALARS.update({
    "fmod_scalar": [2.0, -1.5, 0.0], "fmod_scalar_": [2.0, -1.5, 0.0],
    "bitwise_and_scalar": [3.0, -1.0, 2.5], "bitwise_or_scalar": [3.0, -1.0, 2.5],
    "bitwise_xor_scalar": [3.0, -1.0, 2.5], "logical_xor_scalar": [0.0, 2.5, 1.0],
    "bitwise_and_scalar_": [3.0, -1.0, 2.5], "bitwise_or_scalar_": [3.0, -1.0, 2.5],
    "bitwise_xor_scalar_": [3.0, -1.0, 2.5],
})


def gen_unary_edges(op, row):
    gen_unary(op, row)
    params = UNARY_PARAMS.get(op, [P()])
    for prm in params[:2]:
        prm = dict(prm, nogc=True)
        for dt in FLOATS:
            case(op, "edges", prm, I(dt, (len(EDGES),), values=EDGES))
        case(op, "special", prm, I("float64", (8,), values=SPECIAL))
    case(op, "int edges", params[0], I("int64", (6,), values=[-7.0, -1.0, 0.0, 1.0, 6.0, 100.0]))
    case(op, "uint8", params[0], I("uint8", (4,), values=[0.0, 1.0, 6.0, 255.0]))


def gen_binary_edges(op, row):
    gen_binary(op, row)
    ints = [7.0, -7.0, 5.0, -5.0, 0.0, 3.0]
    for dt in ["int64", "int32"]:
        case(op, "int signs", P(), I(dt, (6,), values=ints), I(dt, (6,), values=[2.0, 2.0, -3.0, -3.0, 4.0, -1.0]))
        case(op, "int by zero", P(), I(dt, (3,), values=[5.0, -5.0, 3.0]), I(dt, (3,), values=[2.0, 0.0, -1.0]))
    case(op, "float signs", P(nogc=True), I("float64", (6,), values=[7.5, -7.5, 5.0, -5.0, -0.0, 1e300]),
         I("float64", (6,), values=[2.0, 2.0, -3.0, -3.0, 4.0, 1e-300]))


def gen_act2(op, row):  # prelu(x, weight)
    for dt in FLOATS:
        case(op, "per channel", P(), I(dt, (2, 3, 4), "T"), I(dt, (3,)))
        case(op, "one weight", P(), I(dt, (3, 5), "S"), I(dt, (1,)))
        case(op, "0-d weight", P(), I(dt, (4, 3), "E"), I(dt, ()))
        case(op, "1-d x", P(), I(dt, (5,)), I(dt, (1,)))
        case(op, "0-d x", P(), I(dt, ()), I(dt, (1,)))
        case(op, "empty", P(), I(dt, (0, 3)), I(dt, (3,)))
        case(op, "kinks", P(nogc=True), I(dt, (8,), values=SPECIAL), I(dt, (1,)))
        case(op, "wrong count", P(), I(dt, (2, 3)), I(dt, (2,)))
        case(op, "2-d weight", P(), I(dt, (2, 3)), I(dt, (1, 1)))
    case(op, "mixed", P(), I("float64", (2, 3)), I("float32", (1,)))
    case(op, "int", P(), I("int64", (2, 3)), I("int64", (1,)))


def gen_glu(op, row):
    for dt in DTYPES:
        case(op, "dtype", P(i=(1,)), I(dt, (3, 4)))
    for dt in FLOATS:
        case(op, "dim", P(i=(-1,)), I(dt, (2, 3, 4), "T"))
        case(op, "dim", P(i=(0,)), I(dt, (4, 6), "S"))
        case(op, "dim", P(i=(1,)), I(dt, (4, 6), "E"))
        case(op, "empty", P(i=(1,)), I(dt, (0, 4)))
        case(op, "odd", P(i=(0,)), I(dt, (3, 4)))
        case(op, "0-d", P(i=(0,)), I(dt, ()))
        case(op, "bad dim", P(i=(2,)), I(dt, (2, 4)))


def gen_isclose(op, row):
    a = [1.0, 1.0, 2.0, -3.0, math.nan, math.inf, math.inf, 0.0, 1e-9, 100.0]
    b = [1.0, 1.0 + 1e-6, 2.1, -3.0, math.nan, math.inf, -math.inf, -0.0, 0.0, 100.001]
    for dt in DTYPES:
        for prm in (P(d=(1e-5, 1e-8)), P(d=(0.5, 0.0)), P(d=(0.0, 0.0)), P(d=(0.0, 1.0))):
            case(op, "dtype", prm, I(dt, (3, 4)), I(dt, (3, 4), "T"))
    for dt in FLOATS:
        for prm in (P(d=(1e-5, 1e-8)), P(d=(1e-5, 1e-8), flag=True), P(d=(0.0, 0.0), flag=True)):
            case(op, "special", prm, I(dt, (10,), values=a), I(dt, (10,), values=b))
        case(op, "bcast", P(d=(0.1, 0.1)), I(dt, (3, 1)), I(dt, (1, 4)))
        case(op, "0-d", P(d=(0.1, 0.1)), I(dt, ()), I(dt, (3,)))
        case(op, "empty", P(d=(0.1, 0.1)), I(dt, (0, 3)), I(dt, (3,)))
    case(op, "uint8 wrap", P(d=(0.0, 1.0)), I("uint8", (2,), values=[1.0, 2.0]), I("uint8", (2,), values=[3.0, 1.0]))
    case(op, "mixed", P(d=(1e-5, 1e-8)), I("float32", (3,)), I("float64", (3,)))
    case(op, "negative rtol", P(d=(-1.0, 0.0)), I("float32", (3,)), I("float32", (3,)))


# ---- int64 numbers: the _scalar_i64 twins, the number in p.i[0] (a Python int)
def with_int_number(base):
    return lambda x, p: TORCH[base](x, dict(p, d=[p["i"][0]] + list(p["d"][1:])))


for _name in list(TORCH):
    if _name.endswith("_scalar") or _name.endswith("_scalar_"):
        _i64 = _name.replace("_scalar", "_scalar_i64")
        TORCH[_i64] = with_int_number(_name)
TORCH["fill_i64_"] = with_int_number("fill_")


def gen_scalar_i64(op, row):
    """Integers only, up to beyond 2^53 (exactness itself: test_scalars_i64.c)."""
    numbers = [3, -2] if "fill" not in op else [1, 0]
    for dt in DTYPES:
        for n in numbers:
            case(op, "dtype n=%d" % n, P(i=(n,)), I(dt, (3, 4), domain=row["domain"]))
    for n in [0, 2 ** 40 + 3, -(2 ** 60) - 1, 2 ** 62]:
        for dt in ["int64", "float64", "int32"]:
            case(op, "n=%d" % n, P(i=(n,), nogc=True), I(dt, (3, 4), "T", domain=row["domain"]))
    for dt in FLOATS:
        for shape, lay in layout_shapes():
            case(op, shape_tag(shape, lay), P(i=(numbers[0],)), I(dt, shape, lay, domain=row["domain"]))
# ---------------------------------------------------------------- linear algebra (issue 13): samples
# Matrices are built in view coordinates, then stored as the base the layout
# views: "general" is D + noise / 8 with D = diag(2, 3.5, 5, ...), strictly
# diagonally dominant (well-conditioned, distinct singular values and, made
# symmetric, distinct eigenvalues); "spd" is R R^T + n I (positive-definite).


LIN_GEN = torch.Generator().manual_seed(20261207)  # its own stream: the other rows' samples stay as they were
LIN_POOL = [k / 32 for k in range(-96, 97) if abs(k) >= 2]


def lin(dtype, shape, layout="C", kind="general", grad=True):
    n_view = math.prod(shape)
    picks = torch.randint(0, len(LIN_POOL), (n_view,), generator=LIN_GEN).tolist()
    v = torch.tensor([LIN_POOL[k] for k in picks], dtype=torch.float64).reshape(shape)
    if dtype in FLOATS and len(shape) >= 2 and n_view:
        m, n = shape[-2], shape[-1]
        if kind == "general" or (kind == "spd" and m != n):
            d = torch.zeros(m, n, dtype=torch.float64)
            for i in range(min(m, n)):
                d[i, i] = 2 + 1.5 * i
            v = v / 8 + d
        elif kind == "spd":  # square
            r = v / 4
            v = r @ r.transpose(-1, -2) + n * torch.eye(n, dtype=torch.float64)
    if layout == "T":
        base = v.transpose(-1, -2)
    elif layout == "S":
        base = torch.full(shape[:-1] + (2 * shape[-1],), 7.0, dtype=torch.float64)
        base[..., ::2] = v
    elif layout == "E":
        base = v[:1]
    else:
        base = v
    return I(dtype, shape, layout, values=base.flatten().tolist(), grad=grad)


def fixed(dtype, shape, values, grad=True):
    return I(dtype, shape, values=[float(v) for v in values], grad=grad)


SQUARE_LAYOUTS = [((3, 3), "C"), ((2, 3, 3), "T"), ((3, 3), "S"), ((2, 3, 3), "E"), ((1, 1), "C"), ((0, 0), "C"),
                  ((0, 2, 2), "C")]


def gen_linalg(op, row):
    spd = "spd" if op == "linalg_cholesky" else "general"
    if op in ("linalg_inv", "linalg_det", "linalg_slogdet", "linalg_slogdet_sign", "linalg_cholesky", "linalg_eigh",
              "linalg_eigh_vectors", "linalg_eigvalsh"):
        flags = [False, True] if op in ("linalg_cholesky", "linalg_eigh", "linalg_eigh_vectors", "linalg_eigvalsh") else [False]
        for dt in FLOATS:
            for shape, lay in SQUARE_LAYOUTS:
                case(op, shape_tag(shape, lay), P(flag=False), lin(dt, shape, lay, spd))
            for fl in flags[1:]:
                case(op, "upper", P(flag=fl), lin(dt, (2, 4, 4), "T", spd))
            case(op, "4x4", P(), lin(dt, (4, 4), "C", spd))
            case(op, "not square", P(), lin(dt, (2, 3), "C", spd))
            case(op, "1-d", P(), lin(dt, (3,), "C", spd))
        case(op, "int", P(), I("int64", (2, 2)))
        singular = [1, 2, 2, 4]
        if op in ("linalg_inv",):
            case(op, "singular", P(), fixed("float64", (2, 2), singular))
            case(op, "singular batch", P(), fixed("float64", (2, 2, 2), [2, 0, 0, 2] + singular))
        if op in ("linalg_det", "linalg_slogdet_sign", "linalg_slogdet"):
            for dt in FLOATS:
                # det's gradient there is 0 in torch 1.13 (compared); slogdet's is +-inf (nabla refuses)
                case(op, "singular", P(nogc=True), fixed(dt, (2, 2), singular, grad=op == "linalg_det"))
                case(op, "singular in batch", P(nogc=True), fixed(dt, (2, 2, 2), singular + [2, 1, 1, 3], grad=op == "linalg_det"))
                case(op, "negative", P(), fixed(dt, (2, 2), [0, 1, 1, 0]))
        if op == "linalg_cholesky":
            case(op, "not pd", P(), fixed("float64", (2, 2), [1, 2, 2, 1]))
            case(op, "not pd batch", P(), fixed("float32", (2, 2, 2), [2, 0, 0, 2, 1, 0, 0, -1]))
    elif op == "linalg_solve":
        for dt in FLOATS:
            case(op, "matrix", P(), lin(dt, (3, 3)), lin(dt, (3, 2), "C", "any"))
            case(op, "vector", P(), lin(dt, (3, 3), "T"), lin(dt, (3,), "S", "any"))
            case(op, "batch vector", P(), lin(dt, (2, 3, 3)), lin(dt, (2, 3), "T", "any"))
            case(op, "broadcast", P(), lin(dt, (2, 3, 3), "E"), lin(dt, (3, 2), "T", "any"))
            case(op, "broadcast B", P(), lin(dt, (3, 3), "S"), lin(dt, (2, 3, 1), "C", "any"))
            case(op, "empty", P(), lin(dt, (0, 3, 3)), lin(dt, (3, 2), "C", "any"))
            case(op, "rows", P(), lin(dt, (3, 3)), lin(dt, (2, 2), "C", "any"))
        case(op, "singular", P(), fixed("float64", (2, 2), [1, 2, 2, 4]), fixed("float64", (2,), [1, 1]))
        case(op, "mixed", P(), lin("float32", (2, 2)), lin("float64", (2,), "C", "any"))
        case(op, "int", P(), I("int64", (2, 2)), I("int64", (2,)))
    elif op in ("linalg_qr", "linalg_qr_r", "linalg_svd", "linalg_svd_values", "linalg_svdvals", "linalg_pinv",
                "linalg_matrix_norm_svd"):
        shapes = [((4, 3), "C"), ((3, 5), "T"), ((2, 4, 3), "S"), ((2, 3, 3), "E"), ((0, 3), "C"), ((3, 0), "C")]
        for dt in FLOATS:
            for shape, lay in shapes:
                if op == "linalg_matrix_norm_svd":
                    for ordi in (1, 4, 5):
                        case(op, "ord=%d" % ordi, P(i=(ordi, -2, -1)), lin(dt, shape, lay))
                    continue
                case(op, shape_tag(shape, lay), P(), lin(dt, shape, lay))
                if op in ("linalg_qr", "linalg_qr_r", "linalg_svd", "linalg_svd_values") and 0 not in shape:
                    case(op, "complete", P(flag=True), lin(dt, shape, lay))
            if op == "linalg_matrix_norm_svd":
                case(op, "dims keepdim", P(i=(1, 0, 2), flag=True), lin(dt, (3, 2, 4)))
        case(op, "1-d", P(), lin("float64", (3,)))
        case(op, "int", P(), I("int64", (2, 2)))
    elif op == "linalg_lstsq":
        for dt in FLOATS:
            case(op, "tall", P(), lin(dt, (4, 3)), lin(dt, (4, 2), "C", "any"))
            case(op, "square batch", P(), lin(dt, (2, 3, 3), "T"), lin(dt, (3, 1), "S", "any"))
            case(op, "wide", P(), lin(dt, (2, 4)), lin(dt, (2, 2), "C", "any"))
            case(op, "vector", P(), lin(dt, (2, 4, 3), "S"), lin(dt, (2, 4), "C", "any"))
            case(op, "rows", P(), lin(dt, (4, 3)), lin(dt, (3, 2), "C", "any"))
        case(op, "int", P(), I("int64", (2, 2)), I("int64", (2, 1)))
    elif op == "linalg_matrix_norm":
        for dt in FLOATS:
            for ordi in (0, 2, 3, 6, 7):
                case(op, "ord=%d" % ordi, P(i=(ordi, -2, -1)), lin(dt, (3, 4), "T", "any"))
                case(op, "ord=%d keepdim" % ordi, P(i=(ordi, 0, 2), flag=True), lin(dt, (2, 3, 4), "S", "any"))
            case(op, "batch", P(i=(2, -1, -2)), lin(dt, (2, 3, 4), "E", "any"))
            case(op, "empty", P(i=(0, -2, -1)), lin(dt, (0, 3), "C", "any"))
            case(op, "empty max", P(i=(6, -2, -1)), lin(dt, (3, 0), "C", "any"))
            case(op, "same dim", P(i=(0, 1, 1)), lin(dt, (3, 4), "C", "any"))
            case(op, "1-d", P(i=(0, -2, -1)), lin(dt, (3,), "C", "any"))
        case(op, "int", P(i=(0, -2, -1)), I("int64", (2, 2)))
    elif op == "linalg_vector_norm":
        for dt in FLOATS:
            for ordv in (2, 1, math.inf, -math.inf, 0, 3.5):
                case(op, "ord=%g" % ordv, P(d=(ordv,), dims=()), lin(dt, (3, 4), "T", "any"))
            case(op, "dims", P(d=(2,), dims=(1,)), lin(dt, (2, 3, 4), "S", "any"))
            case(op, "dims keepdim", P(d=(1,), dims=(0, 2), flag=True), lin(dt, (2, 3, 4), "E", "any"))
            case(op, "0-d", P(d=(2,), dims=()), lin(dt, (), "C", "any"))
            case(op, "empty", P(d=(2,), dims=()), lin(dt, (0, 3), "C", "any"))
        case(op, "int", P(d=(2,), dims=()), I("int64", (2, 2)))
    elif op in ("addmm", "baddbmm"):
        b = (2,) if op == "baddbmm" else ()
        for dt in FLOATS:
            case(op, "", P(d=(1, 1)), lin(dt, b + (2, 4), "C", "any"), lin(dt, b + (2, 3), "T", "any"), lin(dt, b + (3, 4), "C", "any"))
            case(op, "scaled", P(d=(0.5, 2)), lin(dt, (4,), "S", "any"), lin(dt, b + (2, 3), "C", "any"), lin(dt, b + (3, 4), "T", "any"))
            case(op, "0-d input", P(d=(-1, 0.5)), lin(dt, (), "C", "any"), lin(dt, b + (2, 3), "C", "any"), lin(dt, b + (3, 4), "C", "any"))
            case(op, "row input", P(d=(1, 1)), lin(dt, (1, 4), "E", "any"), lin(dt, b + (2, 3), "C", "any"), lin(dt, b + (3, 4), "C", "any"))
            case(op, "beta 0 nan", P(d=(0, 1), nogc=True), I(dt, b + (2, 4), values=[math.nan] * (2 * math.prod(b + (4,)))),
                 lin(dt, b + (2, 3), "C", "any"), lin(dt, b + (3, 4), "C", "any"))
            case(op, "empty k", P(d=(1, 1)), lin(dt, b + (2, 4), "C", "any"), lin(dt, b + (2, 0), "C", "any"), lin(dt, b + (0, 4), "C", "any"))
            case(op, "bad input", P(d=(1, 1)), lin(dt, (3,), "C", "any"), lin(dt, b + (2, 3), "C", "any"), lin(dt, b + (3, 4), "C", "any"))
            case(op, "bad shapes", P(d=(1, 1)), lin(dt, b + (2, 4), "C", "any"), lin(dt, b + (2, 3), "C", "any"), lin(dt, b + (2, 4), "C", "any"))
        case(op, "int", P(d=(2, 3)), I("int64", b + (2, 2)), I("int64", b + (2, 2)), I("int64", b + (2, 2)))
        case(op, "int alpha", P(d=(1, 2.5)), I("int64", b + (2, 2)), I("int64", b + (2, 2)), I("int64", b + (2, 2)))
        case(op, "mixed", P(d=(1, 1)), I("float32", b + (2, 2)), I("float64", b + (2, 2)), I("float64", b + (2, 2)))
    elif op == "kron":
        for dt in FLOATS:
            case(op, "", P(), lin(dt, (2, 3), "T", "any"), lin(dt, (2, 2), "C", "any"))
            case(op, "ranks", P(), lin(dt, (3,), "S", "any"), lin(dt, (2, 2), "E", "any"))
            case(op, "0-d", P(), lin(dt, (), "C", "any"), lin(dt, (2,), "C", "any"))
            case(op, "empty", P(), lin(dt, (0, 2), "C", "any"), lin(dt, (2, 2), "C", "any"))
            case(op, "3-d", P(), lin(dt, (2, 1, 2), "C", "any"), lin(dt, (1, 2, 2), "C", "any"))
        case(op, "int", P(), I("int64", (2, 2)), I("int64", (2,)))
        case(op, "mixed", P(), I("int64", (2, 2)), I("float32", (2,)))
    elif op == "linalg_cross":
        for dt in FLOATS:
            case(op, "", P(i=(-1,)), lin(dt, (3,), "C", "any"), lin(dt, (3,), "S", "any"))
            case(op, "broadcast", P(i=(-1,)), lin(dt, (2, 3), "T", "any"), lin(dt, (3,), "C", "any"))
            case(op, "dim 0", P(i=(0,)), lin(dt, (3, 2), "E", "any"), lin(dt, (3, 2), "C", "any"))
            case(op, "size 2", P(i=(-1,)), lin(dt, (2,), "C", "any"), lin(dt, (2,), "C", "any"))
            case(op, "bad dim", P(i=(2,)), lin(dt, (3,), "C", "any"), lin(dt, (3,), "C", "any"))
            case(op, "empty", P(i=(-1,)), lin(dt, (0, 3), "C", "any"), lin(dt, (0, 3), "C", "any"))
        case(op, "int", P(i=(-1,)), I("int64", (3,)), I("int64", (3,)))
        case(op, "mixed", P(i=(-1,)), I("float32", (3,)), I("float64", (3,)))
    elif op == "einsum":
        shapes = {
            "ij,jk->ik": [(2, 3), (3, 4)], "ij,jk": [(2, 3), (3, 4)], "ii": [(3, 3)], "ii->i": [(3, 3)],
            "ij->ji": [(2, 3)], "bij,bjk->bik": [(2, 2, 3), (2, 3, 2)], "i,j->ij": [(3,), (2,)], "i,i": [(3,), (3,)],
            "ij,ij->": [(2, 3), (2, 3)], "ijk->kji": [(2, 3, 4)], "...ij,...jk->...ik": [(2, 2, 3), (3, 2)],
            "ij,jk,kl->il": [(2, 3), (3, 2), (2, 2)], "bn,anm,bm->ba": [(2, 3), (2, 3, 4), (2, 4)], "ji": [(2, 3)],
            "iij->ji": [(2, 2, 3)], "ab,ba": [(2, 3), (3, 2)], "i,i->i": [(1,), (3,)], "ik,jk": [(2, 3), (4, 3)],
        }
        for k, eq in enumerate(EINSUM_EQUATIONS):
            for dt in FLOATS:
                lays = ["T" if len(s) >= 2 else "S" for s in shapes[eq]] if dt == "float64" else ["C"] * len(shapes[eq])
                case(op, eq, P(i=(k,)), *[lin(dt, s, l, "any") for s, l in zip(shapes[eq], lays)])
        case(op, "int", P(i=(0,)), I("int64", (2, 3)), I("int64", (3, 4)))
        case(op, "mixed", P(i=(0,)), I("float32", (2, 3)), I("float64", (3, 4)))
        case(op, "bad size", P(i=(0,)), lin("float64", (2, 3), "C", "any"), lin("float64", (2, 4), "C", "any"))
        case(op, "bad count", P(i=(0,)), lin("float64", (2, 3), "C", "any"))
        case(op, "bad diagonal", P(i=(2,)), lin("float64", (2, 3), "C", "any"))


GENERATORS = {"UNARY": gen_unary, "SCALAR": gen_scalar, "INPLACE_UNARY": gen_unary, "INPLACE_SCALAR": gen_scalar,
              "BINARY": gen_binary, "INPLACE_BINARY": gen_binary, "TERNARY": gen_ternary, "REDUCE": gen_reduce,
              "REDUCE_DIMS": gen_reduce_dims, "DIM": gen_dim, "QUANTILE": gen_quantile, "COUNT": gen_count, "INDEX_EXPR": gen_index_expr, "SCALAR_I64": gen_scalar_i64, "INPLACE_SCALAR_I64": gen_scalar_i64, "SORT": gen_sort, "VIEW": gen_view, "CAST": gen_cast,
              "MATMUL": gen_matmul, "JOIN": gen_join, "INDEX": gen_index, "NN": gen_nn, "LOSS": gen_loss,
              "LINALG": gen_linalg}
GENERATORS.update({"UNARY_EDGES": gen_unary_edges, "ACT2": gen_act2, "GLU": gen_glu, "ISCLOSE": gen_isclose,
                   "BINARY_EDGES": gen_binary_edges})  # issue 13

# ---------------------------------------------------------------- issue 13: half precision
# float16, bfloat16, int16 and int8: every float32 case of the elementwise,
# reduction and matmul rows again in float16 and bfloat16, every int32 one in
# int16 and int8 (tag "<dtype> <tag>"), and mixed pairs for promotion. Where
# torch 1.13's CPU kernels refuse Half ("not implemented for 'Half'"), the
# fixture says torch raised and tests/test_opinfo.c lists nabla's result as
# a known difference. Gradients of float16 / bfloat16 inputs are compared
# where torch computes them (its Half backward mostly raises: then none);
# nb_gradcheck stays float64.
NARROW_KINDS = ("UNARY", "INPLACE_UNARY", "SCALAR", "INPLACE_SCALAR", "BINARY", "INPLACE_BINARY", "REDUCE",
                "REDUCE_DIMS", "DIM", "MATMUL", "UNARY_EDGES", "BINARY_EDGES", "ACT2")
NARROW_OPS = ("linear", "conv2d", "conv_transpose2d", "max_pool2d", "max_pool2d_indices", "avg_pool2d",
              "adaptive_avg_pool2d", "layer_norm")  # NN rows widened to float32 too
NARROW_PAIRS = [("float16", "bfloat16"), ("float16", "float32"), ("bfloat16", "float64"), ("float16", "int64"),
                ("bfloat16", "uint8"), ("int8", "uint8"), ("int8", "int16"), ("int16", "int32"), ("bool", "int8"),
                ("int16", "float16")]


# What torch 1.13 says when its CPU kernels do not take a half dtype.
HALF_REFUSAL = re.compile(r"not implemented for '(Half|BFloat16)'|input tensor must be either float or double dtype")


def add_narrow_cases(rows):
    new = []
    for op, tag, params, inputs in CASES:
        if rows[op]["kind"] not in NARROW_KINDS and op not in NARROW_OPS:
            continue
        present = [inp for inp in inputs if inp is not None]
        if not present:
            continue
        kinds = {inp.dtype for inp in present}
        targets = HALVES if kinds == {"float32"} else ("int16", "int8") if kinds == {"int32"} else ()
        for dt in targets:
            clones = [None if inp is None else I(dt, inp.shape, inp.layout, inp.domain,
                                                 None if inp.values is None else list(inp.values), inp.grad)
                      for inp in inputs]
            new.append((op, "%s %s" % (dt, tag), params, clones))
    CASES.extend(new)
    for name, row in rows.items():
        if row["kind"] in ("BINARY", "BINARY_EDGES") and row["arity"] == 2:
            for a, b in NARROW_PAIRS:
                dom = "POS" if row["domain"] == "POW" else None
                case(name, "narrow pair %s,%s" % (a, b), P(), I(a, (2, 3), "T", domain=dom),
                     I(b, (2, 3), domain=dom if a in FLOATS + HALVES or b in FLOATS + HALVES else "POW"))


# ---------------------------------------------------------------- running torch

GENERATORS.update(SHAPE_GENERATORS)  # issue 13's shape and index ops (their block above)
GENERATORS.update(RNN_GENERATORS)  # issue 14's recurrent layers (their block above)

# ---------------------------------------------------------------- issue 14: attention
# torch 1.13 has no public scaled_dot_product_attention: the reference is the
# formula PyTorch 2.x documents for it, with 2.x's argument checks (a mask
# must broadcast to the scores without growing them, bool or of q's dtype;
# no mask with is_causal). p: d[0] scale (0: 1/sqrt(E)), d[1] dropout_p
# (always 0 here: dropout draws nabla's own stream), flag is_causal.


def sdpa_ref(x, p):
    q, k, v, mask = x[0], x[1], x[2], x[3]
    if q.dtype != k.dtype or q.dtype != v.dtype:
        raise RuntimeError("query, key and value must have the same dtype")
    scale = p["d"][0] or 1.0 / math.sqrt(q.shape[-1])
    scores = q @ k.transpose(-2, -1) * scale
    if mask is not None:
        if mask.dtype != torch.bool and mask.dtype != q.dtype:
            raise RuntimeError("attn_mask must be bool or of the query's dtype")
        if torch.broadcast_shapes(mask.shape, scores.shape) != scores.shape:
            raise RuntimeError("attn_mask does not broadcast to the scores")
        if p["flag"]:
            raise RuntimeError("attn_mask with is_causal")
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    if p["flag"]:
        allowed = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
        scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, -1) @ v


TORCH.update({"scaled_dot_product_attention": sdpa_ref, "scaled_dot_product_attention_composite": sdpa_ref})


def gen_attention(op, row):
    for dt in FLOATS:
        case(op, "", P(d=(0, 0)), I(dt, (2, 3, 4), "T"), I(dt, (2, 5, 4)), I(dt, (2, 5, 3), "S"), None)
        case(op, "heads", P(d=(0, 0)), I(dt, (2, 2, 3, 4)), I(dt, (2, 2, 5, 4), "S"), I(dt, (2, 2, 5, 2), "T"), None)
        case(op, "broadcast", P(d=(0, 0)), I(dt, (2, 3, 4)), I(dt, (2, 5, 4), "E"), I(dt, (1, 5, 3)), None)
        case(op, "causal", P(d=(0, 0), flag=True), I(dt, (2, 4, 3)), I(dt, (2, 3, 3)), I(dt, (2, 3, 2)), None)
        case(op, "scale", P(d=(0.7, 0)), I(dt, (3, 4)), I(dt, (5, 4)), I(dt, (5, 2)), None)
        case(op, "bool mask", P(d=(0, 0)), I(dt, (2, 3, 4)), I(dt, (2, 5, 4)), I(dt, (2, 5, 3)),
             mask([1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1], (3, 5)))
        case(op, "float mask", P(d=(0, 0)), I(dt, (2, 3, 4)), I(dt, (2, 5, 4)), I(dt, (2, 5, 3)),
             I(dt, (1, 3, 5), "E"))
        case(op, "empty", P(d=(0, 0)), I(dt, (2, 0, 4)), I(dt, (2, 5, 4)), I(dt, (2, 5, 3)), None)
        case(op, "bad E", P(d=(0, 0)), I(dt, (2, 3, 4)), I(dt, (2, 5, 3)), I(dt, (2, 5, 3)), None)
        case(op, "mask grows", P(d=(0, 0)), I(dt, (3, 4)), I(dt, (5, 4)), I(dt, (5, 3)), I(dt, (2, 3, 5), grad=False))
        case(op, "mask causal", P(d=(0, 0), flag=True), I(dt, (3, 4)), I(dt, (5, 4)), I(dt, (5, 3)),
             mask([1] * 15, (3, 5)))
    case(op, "mixed", P(d=(0, 0)), I("float32", (3, 4)), I("float64", (5, 4)), I("float32", (5, 3)), None)
    case(op, "int", P(d=(0, 0)), I("int64", (3, 4)), I("int64", (5, 4)), I("int64", (5, 3)), None)


GENERATORS.update({"ATTENTION": gen_attention})


def weights(out):
    n = out.numel()
    w = torch.tensor([((7 * i) % 11 - 5) / 4 for i in range(n)], dtype=torch.float64)
    return w.reshape(out.shape).to(out.dtype)


def build(inputs, grad_set=()):
    """Leaves (bases) and the views the op sees."""
    leaves, views = [], []
    for k, inp in enumerate(inputs):
        if inp is None:
            leaves.append(None)
            views.append(None)
            continue
        base = torch.tensor(inp.values, dtype=torch.float64).reshape(inp.base_shape()).to(TORCH_DTYPE[inp.dtype]).clone()  # not a view: torch ORs a view's requires_grad with its base's
        if k in grad_set:
            base.requires_grad_(True)
        leaves.append(base)
        views.append(view_of(base, inp.layout, inp.shape))
    return leaves, views


RAISED = {}  # (op, exception type, first words) -> count: printed for review


def padded(params):
    p = dict(params)
    p["i"] = list(params["i"]) + [0] * (10 - len(params["i"]))
    p["d"] = list(params["d"]) + [0.0] * (4 - len(params["d"]))
    return p


def run_case(op, row, params, inputs):
    fn = TORCH[op]
    params = padded(params)
    inplace = op.endswith("_")
    res = dict(status=1)
    leaves, views = build(inputs)
    work = None
    if inplace and leaves[0] is not None:
        work = leaves[0].clone()
        views[0] = view_of(work, inputs[0].layout, inputs[0].shape)
    try:
        out = fn(views, params)
    except Exception as e:  # torch refuses: nabla must too (the summary shows why)
        key = (op, type(e).__name__, " ".join(str(e).split()[:6]))
        RAISED[key] = RAISED.get(key, 0) + 1
        res["message"] = str(e)
        return res
    if not isinstance(out, torch.Tensor):
        return res
    res.update(status=0, dtype=CODE_OF_TORCH[out.dtype], shape=list(out.shape),
               values=out.detach().to(torch.float64).flatten().tolist())
    after = []
    for k, inp in enumerate(inputs):
        base = work if (k == 0 and work is not None) else leaves[k]
        if base is None:
            after.append(None)
            continue
        now = base.detach().to(torch.float64).flatten().tolist()
        same = all((a == b) or (a != a and b != b) for a, b in zip(now, inp.values))
        after.append(None if same else now)
    res["after"] = after
    res["grad_set"] = []
    if row["flags"].endswith("NONDIFF") or not out.dtype.is_floating_point:
        return res
    cands = [k for k, inp in enumerate(inputs) if inp is not None and inp.dtype in FLOATS + HALVES and inp.grad]
    for grad_set in (cands, [k for k in cands if k == 0]):
        if not grad_set:
            break
        try:
            leaves, views = build(inputs, grad_set)
            if inplace:
                work = leaves[0].clone()
                views[0] = view_of(work, inputs[0].layout, inputs[0].shape)
            out = fn(views, params)
            if inplace:
                out = work  # the gradient flows through the base the view wrote into
            if not out.requires_grad:
                break
            loss = (out * weights(out)).sum()
            grads = torch.autograd.grad(loss, [leaves[k] for k in grad_set], allow_unused=True)
        except Exception:
            continue
        res["grad_set"] = grad_set
        res["grads"] = [(g if g is not None else torch.zeros_like(leaves[k])).to(torch.float64).flatten().tolist()
                        for k, g in zip(grad_set, grads)]
        break
    return res


# Autograd status runs (issue 8): how the op is run, and what torch reports.
MODE_GRAD, MODE_NO_GRAD, MODE_NO_GRAD_LEAF = 0, 1, 2
GRAD_FN_NAMES = []  # the name table written in the header; index 255 is None


def probe(t):
    """(requires_grad, is_leaf, grad_fn name index) of t."""
    name = type(t.grad_fn).__name__ if t.grad_fn is not None else None
    if name is not None and name not in GRAD_FN_NAMES:
        GRAD_FN_NAMES.append(name)
    return (t.requires_grad, t.is_leaf, 255 if name is None else GRAD_FN_NAMES.index(name))


# Where TORCH's reference is a stand-in (a stable sort, vector_norm), the
# call a user of torch would write, for what its result reports.
NAME_REF = {
    "norm": lambda x, p: torch.norm(x[0], p["d"][0]),
    "norm_dims": lambda x, p: torch.norm(x[0], p["d"][0], dimsarg(p, x[0]), p["flag"]),
    "prod_dims": lambda x, p: torch.prod(x[0], p["dims"][0], keepdim=p["flag"]) if len(p["dims"] or ()) == 1
    else prod_dims(x[0], list(p["dims"]), p["flag"]),
    "sort": lambda x, p: torch.sort(x[0], p["i"][0], p["flag"])[0],
    "sort_indices": lambda x, p: torch.sort(x[0], p["i"][0], p["flag"])[1],
}


def status_runs(op, params, inputs, res):
    """Runs of a case that succeeded, each (mode, requires-grad mask, probes
    or None where torch raised). Mode MODE_GRAD: no base requires grad, then
    the gradient case's bases (and every floating base that may, if that
    differs); MODE_NO_GRAD: the op under torch.no_grad, on views made before
    (an in-place row's x[0] still views a clone of its leaf, made with grad
    on); MODE_NO_GRAD_LEAF (in-place rows): the same, but x[0] views the
    leaf itself, as an optimizer's update does. Probes: the result, then for
    in-place rows the base it wrote into."""
    if res["status"]:
        return []
    fn, params, inplace = TORCH[op], padded(params), op.endswith("_")
    cands = tuple(k for k, inp in enumerate(inputs) if inp is not None and inp.dtype in FLOATS + HALVES and inp.grad)
    plan = [(MODE_GRAD, ())]
    if res.get("grads"):
        plan.append((MODE_GRAD, tuple(res["grad_set"])))
    if cands and (MODE_GRAD, cands) not in plan:
        plan.append((MODE_GRAD, cands))
    if cands:
        plan.append((MODE_NO_GRAD, cands))
        if inplace and 0 in cands:
            plan.append((MODE_NO_GRAD_LEAF, cands))
    refs = ([NAME_REF[op]] if op in NAME_REF else []) + [fn]
    runs = []
    for mode, grad_set in plan:
        probes = None
        for ref in refs:  # the stand-in where the user's call raises
            leaves, views = build(inputs, grad_set)
            work = leaves[0]
            if inplace and mode != MODE_NO_GRAD_LEAF:
                work = leaves[0].clone()
                views[0] = view_of(work, inputs[0].layout, inputs[0].shape)
            try:
                with torch.set_grad_enabled(mode == MODE_GRAD):
                    out = ref(views, params)
            except Exception:
                continue
            probes = [probe(out)] + ([probe(work)] if inplace else [])
            break
        runs.append((mode, grad_set, probes))
    return runs


# ---------------------------------------------------------------- writing


def enc_array(values):
    vals = list(values)
    def is_i16(v):
        return v == v and not math.isinf(v) and float(v).is_integer() and -32768 <= v <= 32767 and \
            not (v == 0 and math.copysign(1, v) < 0)

    def is_i8(v):
        return v == v and not math.isinf(v) and float(v).is_integer() and -128 <= v <= 127 and \
            not (v == 0 and math.copysign(1, v) < 0)
    if all(is_i8(v) for v in vals):
        return struct.pack("<BI", 2, len(vals)) + struct.pack("<%db" % len(vals), *[int(v) for v in vals])
    if all(is_i16(v * 64) for v in vals):  # the inputs' grid of 1/64
        return struct.pack("<BI", 3, len(vals)) + struct.pack("<%dh" % len(vals), *[int(v * 64) for v in vals])
    try:
        packed = struct.pack("<%df" % len(vals), *vals)
        back = struct.unpack("<%df" % len(vals), packed)
        if all((a == b) or (a != a and b != b) for a, b in zip(vals, back)):
            return struct.pack("<BI", 1, len(vals)) + packed
    except OverflowError:
        pass
    return struct.pack("<BI", 0, len(vals)) + struct.pack("<%dd" % len(vals), *vals)


def enc_str(s):
    b = s.encode()
    return struct.pack("<B", len(b)) + b


def enc_shape(shape):
    return struct.pack("<B", len(shape)) + struct.pack("<%dq" % len(shape), *shape)


def enc_case(op, tag, params, inputs, res):
    out = enc_str(op) + enc_str(tag)
    out += struct.pack("<B", len(params["i"])) + struct.pack("<%dq" % len(params["i"]), *params["i"])
    out += struct.pack("<B", len(params["d"])) + struct.pack("<%dd" % len(params["d"]), *params["d"])
    if params["dims"] is None:
        out += struct.pack("<B", 255)
    else:
        out += struct.pack("<B", len(params["dims"])) + struct.pack("<%db" % len(params["dims"]), *params["dims"])
    out += struct.pack("<B", 255) if params["shape"] is None else enc_shape(params["shape"])
    nonfinite = any(v != v or math.isinf(v) for inp in inputs if inp is not None for v in inp.values) or \
        any(v != v or math.isinf(v) for v in res.get("values", []))
    bits = (params["flag"] and 1) | (params["flag2"] and 2) | (params["refuse"] and 4) | \
        ((params["nogc"] or nonfinite) and 8)
    out += struct.pack("<BB", bits, len(inputs))
    for k, inp in enumerate(inputs):
        if inp is None:
            out += struct.pack("<B", 255)
            continue
        out += struct.pack("<BB", DTYPE_CODE[inp.dtype], LAYOUTS.index(inp.layout))
        out += enc_shape(inp.shape) + enc_shape(inp.base_shape()) + enc_array(inp.values)
        after = res.get("after", [None] * len(inputs))[k]
        out += struct.pack("<BB", k in res.get("grad_set", []), after is not None)
        if after is not None:
            out += enc_array(after)
    out += struct.pack("<B", res["status"])
    if res["status"] == 0:
        out += struct.pack("<B", res["dtype"]) + enc_shape(res["shape"]) + enc_array(res["values"])
        out += struct.pack("<B", "grads" in res)
        for g in res.get("grads", []):
            out += struct.pack("<B", 1) + enc_array(g)
        out += struct.pack("<B", len(res["runs"]))
        for mode, grad_set, probes in res["runs"]:
            out += struct.pack("<BB", mode | (4 if probes is None else 0), sum(1 << k for k in grad_set))
            if probes is not None:
                out += struct.pack("<B", len(probes))
                for rg, leaf, name in probes:
                    out += struct.pack("<BB", (rg and 1) | (leaf and 2), name)
    return out


def jumps_near(op, params, inputs):
    """floor_divide / remainder jump where a / b is an integer: finite
    differences there are not a gradient."""
    if inputs[0].dtype not in FLOATS:
        return False
    _, views = build(inputs)
    if len(inputs) > 1:
        b = views[1].to(torch.float64)
    else:
        numbers = params["i"] if "_i64" in op else params["d"]
        if not numbers:
            return False
        b = torch.tensor(float(numbers[0]), dtype=torch.float64)
    try:
        r = views[0].to(torch.float64) / b
    except RuntimeError:
        return False
    return bool(((r - torch.round(r)).abs() < 1e-3).any()) if r.numel() else False


def read_fixture(path):
    """The committed fixture: (cases, grad_fn names, the cases' bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"NBOPINFO" or struct.unpack_from("<I", data, 8)[0] != VERSION:
        raise SystemExit("%s: not a version %d fixture" % (path, VERSION))
    count = struct.unpack_from("<I", data, 12)[0]
    pos, names = 17, []
    for _ in range(data[16]):
        names.append(data[pos + 1:pos + 1 + data[pos]].decode())
        pos += 1 + data[pos]
    return count, names, data[pos:]


def main():
    """With --append ROW[,ROW...]: add those rows' cases to the committed
    fixture and keep every other case's bytes as they are. torch's answers
    (half kernels above all) depend on the CPU it runs on, so regenerating
    everything on another machine changes cases nobody touched."""
    rows = parse_rows()
    missing = [n for n in rows if n not in TORCH or rows[n]["kind"] not in GENERATORS]
    if missing:
        raise SystemExit("rows without a torch reference or generator: %s" % ", ".join(missing))
    only, kept_count, kept_blob = None, 0, b""
    if len(sys.argv) == 3 and sys.argv[1] == "--append":
        only = sys.argv[2].split(",")
        unknown = [n for n in only if n not in rows]
        if unknown:
            raise SystemExit("no such rows: %s" % ", ".join(unknown))
        kept_count, names, kept_blob = read_fixture(OUT)
        GRAD_FN_NAMES.extend(names)  # the kept cases refer to them by index
        # (a case starts with its op's name, length first: a cheap look)
        present = [op for op in only if enc_str(op) in kept_blob]
        if present:
            raise SystemExit("the fixture seems to have cases of %s already" % ", ".join(present))
    global gen
    main_stream = gen
    for name, row in rows.items():
        if only is not None and name not in only:
            continue
        # rows added after the fixture settled draw from their own stream, so
        # that every other row keeps its samples (and torch's answers to them)
        gen = OWN_STREAMS[name] if name in OWN_STREAMS else main_stream
        GENERATORS[row["kind"]](name, row)
    gen = main_stream
    add_narrow_cases(rows)  # issue 13
    blob = b""
    stats = dict(ok=0, raises=0, grads=0, runs=0)
    for op, tag, params, inputs in CASES:
        row = rows[op]
        dom = "POS" if row["domain"] == "POW" else row["domain"]
        for inp in inputs:
            if inp is not None:
                inp.realize(dom)
        assert len(inputs) <= 8
        if op.startswith(("floor_divide", "remainder", "fmod")) and jumps_near(op, params, inputs):
            params = dict(params, nogc=True)
        res = run_case(op, row, params, inputs)
        if res["status"] and HALF_REFUSAL.search(res.get("message", "")):
            tag += " (torch refuses half)"  # issue 13: test_opinfo.c lists these as known differences
        res["runs"] = status_runs(op, params, inputs, res)
        stats["runs"] += len(res["runs"])
        stats["raises" if res["status"] else "ok"] += 1
        stats["grads"] += "grads" in res
        blob += enc_case(op, tag, params, inputs, res)
    if os.environ.get("OPINFO_VERBOSE"):
        for (op, kind, msg), n in sorted(RAISED.items()):
            print("raises %-22s %3d %s: %s" % (op, n, kind, msg))
    with open(OUT, "wb") as f:
        names = struct.pack("<B", len(GRAD_FN_NAMES)) + b"".join(enc_str(n) for n in GRAD_FN_NAMES)
        f.write(b"NBOPINFO" + struct.pack("<II", VERSION, kept_count + len(CASES)) + names + kept_blob + blob)
    print("%s: %d rows, %d new cases (%d ok, %d raise, %d with gradients, %d autograd status runs), %d kept, "
          "%d grad_fn names, %d bytes" % (os.path.relpath(OUT, ROOT), len(rows), len(CASES), stats["ok"],
                                          stats["raises"], stats["grads"], stats["runs"], kept_count,
                                          len(GRAD_FN_NAMES), 16 + len(names) + len(kept_blob) + len(blob)))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Write tests/data/autograd_programs.bin: random straight-line autograd
programs and what PyTorch 1.13 does with them, for
tests/test_autograd_programs.c (issue 8: tests that find silent wrong
gradients from in-place ops and views by themselves).

Run with the Python that has PyTorch:
  /usr/bin/python3 scripts/make_autograd_programs.py            # the fixture
  /usr/bin/python3 scripts/make_autograd_programs.py --seed 7 --out /tmp/p.bin
  /usr/bin/python3 scripts/make_autograd_programs.py --shrink 12 --binary build/h4/test_autograd_programs

A program is a list of steps over a table of tensors t0, t1, ... (a step
that makes a tensor appends it). It starts with 1-3 float64 leaves that
require grad (small shapes, size-1 dims included), then 4-12 random moves,
each one to three steps: out-of-place elementwise ops (add, sub, mul, div by
a tensor whose values are at least 1/4 away from 0, exp, tanh, sin,
mul_scalar, pow_scalar 2), clone, detach, views (select, narrow, slice with
a step, transpose, t, reshape, view, diagonal, unsqueeze, expand; expanded
tensors and their views are only read), in-place ops (add_, sub_, mul_,
div_, add_scalar_, mul_scalar_, exp_, tanh_, clamp_, fill_, copy_) on any
tensor or view, a zeros buffer (no grad) with a view of it written by
copy_, constants, reductions (sum, sum/mean over a dim), retain_grad; and
(a move in 0.4) matmul (1-d, 2-d, batched and broadcast, partners made as
constants or leaves when none fits), cat and stack, index_select and gather
with constant indices, scatter_/scatter_add_ in place (also on views;
scatter_'s indices unique along the dim), masked_fill and where with
constant masks, maximum/minimum, max/min along a dim, softmax/log_softmax,
clamp, pow with a tensor exponent (positive base), expand then a read of
it, contiguous (then sometimes written), to float32/float64, detach then an
in-place op on the detached alias (the version counter is shared), gradient
hooks g * c on any tensor and their removal, and the custom functions
Custom (x * y + sin x, hand-written backward) and CustomDirty (x.mul_(2),
mark_dirty). A step
may run under no_grad. Every candidate step is run in torch on the program
so far: a step torch refuses is drawn again, except in-place ops and
retain_grad, which are kept (sometimes) as "must fail" steps when torch
refused them before changing anything: nabla must refuse them too.
Values stay finite and below 1e3 in magnitude (else the step is drawn again).

Then a loss: the sum over a random subset of the tensors that require grad
of sum(t * w_t), w_t fixed multiples of 1/8, and one of three ends:
  0  loss.backward()
  1  loss.backward(retain_graph=True) twice (gradients accumulate)
  2  g = autograd.grad(loss, leaves, create_graph=True, allow_unused=True);
     every .grad cleared (see the NOTE in Program.run);
     (sum of sum(g_i * v_i)).backward() when one of the g_i requires grad
  3  as 2, but the second is autograd.grad(sum of sum(g_i * v_i), leaves,
     allow_unused=True): second-order gradients compared directly
(The mode is drawn first: with modes 2 and 3 no hook goes on a leaf, see
the NOTE in Gen.new_move.)
Recorded: every tensor's final values, shape, requires_grad and is_leaf;
whether the backward (or grad) raised; if not, the g_i (mode 2) and every
tensor's .grad after the last backward (None or values).

Format (little-endian): "NBAGPRG2", u32 programs, then per program:
  u8 steps, each: u8 op, u8 flags (1 no_grad, 2 must fail), u8 n, u8 in[n],
                  u8 n, i32 ints[n], u16 n, f64 floats[n]
                  (index and mask constants are floats; remove_hook's int is
                  the hook's number among the hooks registered)
  u8 tensors, each: u8 flags (1 requires_grad, 2 is_leaf, 4 float32), u8 ndim,
                  u8 dims[ndim], f64 values[numel]
  u8 terms, each: u8 tensor, f64 w[numel]
  u8 mode, u8 raised (the backward / grad call)
  if not raised:
    mode 2, 3: per leaf (LEAF steps, in order): u8 flags (1 present,
            2 requires_grad), [f64 g[numel], f64 v[numel]]; u8 second
            (0 not run: no g requires grad, 1 ok, 2 raised); if second is 2
            nothing more follows; mode 3 with second 1: per leaf u8
            present, [f64 g2[numel]]
    per tensor: u8 has_grad, [f64 grad[numel]]
The op numbers are the order of OPS below; the C test has the same table.
"""
import argparse
import contextlib
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import warnings

import torch

warnings.filterwarnings("ignore")
torch.set_default_dtype(torch.float64)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tests", "data", "autograd_programs.bin")
SEED = 20240508
PROGRAMS = 400

OPS = ["leaf", "const", "zeros", "add", "sub", "mul", "div", "exp", "tanh", "sin", "mul_scalar",
       "pow_scalar", "clone", "detach", "select", "narrow", "slice", "transpose", "t", "reshape",
       "view", "diagonal", "unsqueeze", "expand", "add_", "sub_", "mul_", "div_", "add_scalar_",
       "mul_scalar_", "exp_", "tanh_", "clamp_", "fill_", "copy_", "sum", "sum_dim", "mean_dim",
       "retain_grad",
       # added later: matmul, joining, indexing, selection, normalisation, dtypes, hooks, custom functions
       "matmul", "cat", "stack", "index_select", "gather", "scatter_", "scatter_add_", "masked_fill", "where",
       "maximum", "minimum", "max_dim", "min_dim", "softmax", "log_softmax", "clamp", "pow", "contiguous",
       "to_f32", "to_f64", "hook", "remove_hook", "custom", "custom_dirty"]
CODE = {name: i for i, name in enumerate(OPS)}
IN_PLACE = {"add_", "sub_", "mul_", "div_", "add_scalar_", "mul_scalar_", "exp_", "tanh_", "clamp_", "fill_",
            "copy_", "scatter_", "scatter_add_"}
MAKES = set(OPS) - IN_PLACE - {"retain_grad", "hook", "remove_hook"}
VIEWS = {"detach", "select", "narrow", "slice", "transpose", "t", "reshape", "view", "diagonal",
         "unsqueeze", "expand"}
LIMIT = 1e3


class Step:
    def __init__(self, op, ins=(), ints=(), floats=(), nograd=False, mustfail=False):
        self.op, self.ins, self.ints, self.floats = op, list(ins), list(ints), list(floats)
        self.nograd, self.mustfail = nograd, mustfail


class Refused(Exception):
    pass


def grid(rng, n, nonzero=False):
    """n multiples of 1/8 in [-1.5, 1.5] (exact in float64)."""
    out = []
    while len(out) < n:
        k = rng.randint(-12, 12)
        if k or not nonzero:
            out.append(k / 8)
    return out


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


class Custom(torch.autograd.Function):
    """custom: x * y + sin(x), x and y of one shape; backward in torch ops."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y + torch.sin(x)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * (y + torch.cos(x)), g * x


class CustomDirty(torch.autograd.Function):
    """custom_dirty: x.mul_(2), x marked dirty."""

    @staticmethod
    def forward(ctx, x):
        ctx.mark_dirty(x)
        return x.mul_(2)

    @staticmethod
    def backward(ctx, g):
        return g * 2


def index_tensor(f, shape):
    return torch.tensor([int(x) for x in f], dtype=torch.long).reshape(shape)


def apply(s, T, H=None):
    """Run one step on the tensor table T (dict: step index -> tensor); H
    holds the handles of registered hooks (by step index)."""
    a = T[s.ins[0]] if s.ins else None
    b = T[s.ins[1]] if len(s.ins) > 1 else None
    i, f, op = s.ints, s.floats, s.op
    if op == "leaf":
        # NOTE: clone: a reshape of a fresh tensor is a view of it, and a
        # leaf that is a view follows other rules (its views rebase on it).
        return torch.tensor(f).reshape(i).clone().requires_grad_()
    if op == "const":
        return torch.tensor(f).reshape(i).clone()
    if op == "zeros":
        return torch.zeros(i)
    simple = {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b, "div": lambda: a / b,
              "exp": lambda: a.exp(), "tanh": lambda: a.tanh(), "sin": lambda: a.sin(),
              "mul_scalar": lambda: a * f[0], "pow_scalar": lambda: a ** f[0],
              "clone": lambda: a.clone(), "detach": lambda: a.detach(),
              "select": lambda: a.select(i[0], i[1]), "narrow": lambda: a.narrow(i[0], i[1], i[2]),
              "slice": lambda: a[(slice(None),) * i[0] + (slice(i[1], i[2], i[3]),)],
              "transpose": lambda: a.transpose(i[0], i[1]), "t": lambda: a.t(),
              "reshape": lambda: a.reshape(i), "view": lambda: a.view(i),
              "diagonal": lambda: a.diagonal(i[0], i[1], i[2]), "unsqueeze": lambda: a.unsqueeze(i[0]),
              "expand": lambda: a.expand(i), "add_": lambda: a.add_(b), "sub_": lambda: a.sub_(b),
              "mul_": lambda: a.mul_(b), "div_": lambda: a.div_(b), "add_scalar_": lambda: a.add_(f[0]),
              "mul_scalar_": lambda: a.mul_(f[0]), "exp_": lambda: a.exp_(), "tanh_": lambda: a.tanh_(),
              "clamp_": lambda: a.clamp_(f[0], f[1]), "fill_": lambda: a.fill_(f[0]),
              "copy_": lambda: a.copy_(b), "sum": lambda: a.sum(),
              "sum_dim": lambda: a.sum(i[0], keepdim=bool(i[1])),
              "mean_dim": lambda: a.mean(i[0], keepdim=bool(i[1])), "retain_grad": lambda: (a.grad_fn, a.retain_grad()),
              "matmul": lambda: a @ b, "cat": lambda: torch.cat([T[x] for x in s.ins], i[0]),
              "stack": lambda: torch.stack([T[x] for x in s.ins], i[0]),
              "index_select": lambda: a.index_select(i[0], index_tensor(f, [len(f)])),
              "gather": lambda: a.gather(i[0], index_tensor(f, i[1:])),
              "scatter_": lambda: a.scatter_(i[0], index_tensor(f, i[1:]), b),
              "scatter_add_": lambda: a.scatter_add_(i[0], index_tensor(f, i[1:]), b),
              "masked_fill": lambda: a.masked_fill(torch.tensor(f[1:]).reshape(i).bool(), f[0]),
              "where": lambda: torch.where(torch.tensor(f).reshape(i).bool(), a, b),
              "maximum": lambda: torch.maximum(a, b), "minimum": lambda: torch.minimum(a, b),
              "max_dim": lambda: a.max(i[0], keepdim=bool(i[1])).values,
              "min_dim": lambda: a.min(i[0], keepdim=bool(i[1])).values,
              "softmax": lambda: a.softmax(i[0]), "log_softmax": lambda: a.log_softmax(i[0]),
              "clamp": lambda: a.clamp(f[0], f[1]), "pow": lambda: torch.pow(a, b),
              "contiguous": lambda: a.contiguous(), "to_f32": lambda: a.to(torch.float32),
              "to_f64": lambda: a.to(torch.float64), "custom": lambda: Custom.apply(a, b),
              "custom_dirty": lambda: CustomDirty.apply(a)}
    if op == "hook":
        # NOTE: c bound now: the lambda outlives this call.
        H[len(H)] = a.register_hook(lambda g, c=f[0]: g * c)
        return None
    if op == "remove_hook":
        H[i[0]].remove()
        return None
    # NOTE: a.grad_fn first: torch 1.13 crashes in retain_grad on a view whose
    # base changed in place (under no_grad) until its grad_fn is regenerated.
    return simple[op]()


def execute(steps):
    """Run a program in torch; returns the tensor table. A must-fail step
    that does not fail raises Refused."""
    T, H = {}, {}
    for k, s in enumerate(steps):
        with torch.no_grad() if s.nograd else contextlib.nullcontext():
            if s.mustfail:
                try:
                    apply(s, T, H)
                except RuntimeError:
                    continue
                raise Refused("must-fail step %d succeeded" % k)
            out = apply(s, T, H)
        if s.op in MAKES:
            T[k] = out
    return T


def sane(T):
    return all(bool(torch.isfinite(t).all()) and float(t.detach().abs().max()) <= LIMIT for t in T.values())


def span(t):
    """The storage and the range of elements t reaches in it."""
    reach = sum((n - 1) * st for n, st in zip(t.shape, t.stride()))
    return t.storage().data_ptr(), t.storage_offset(), t.storage_offset() + reach


def aliased(s, T, k):
    """s is an in-place op whose operand overlaps its target without being
    it: torch then reads elements it has already written, in its own loop
    order (it refuses some of these, which are kept as must-fail steps)."""
    if s.op not in ("add_", "sub_", "mul_", "div_", "copy_"):
        return False
    a, b = T[s.ins[0]], T[s.ins[1]]
    (pa, a0, a1), (pb, b0, b1) = span(a), span(b)
    same_layout = a.shape == b.shape and a.stride() == b.stride() and a0 == b0
    return pa == pb and a0 <= b1 and b0 <= a1 and not same_layout


def snapshot(T):
    return {k: (t.detach().clone(), t.requires_grad) for k, t in T.items()}


def same(a, b):
    return a.keys() == b.keys() and all(bool(torch.equal(a[k][0], b[k][0])) and a[k][1] == b[k][1] for k in a)


# ---------------------------------------------------------------- generation


class Gen:
    def __init__(self, rng, mode):
        self.rng, self.mode = rng, mode
        self.steps = []
        self.expanded = set()  # tensors made by expand, or views of those: never written
        self.T = {}

    def tensors(self):
        return list(self.T.keys())

    def pick(self, pred=lambda k: True):
        ks = [k for k in self.T if pred(k)]
        return self.rng.choice(ks) if ks else None

    def shape(self, k):
        return list(self.T[k].shape)

    def try_steps(self, new, allow_fail=False):
        """Append new steps if torch runs them and values stay sane; an
        in-place step torch refuses becomes a must-fail step (when allowed
        and nothing changed). Returns True when appended."""
        try:
            T = execute(self.steps + new)
            if not sane(T) or aliased(new[-1], T, len(self.steps) + len(new) - 1):
                return False
        except (RuntimeError, IndexError, ValueError, TypeError):
            if not allow_fail or len(new) != 1:
                return False
            new[0].mustfail = True
            try:
                T = execute(self.steps + new)
            except (Refused, RuntimeError):
                return False
            if not same(snapshot(T), snapshot(self.T)):
                return False
        base = len(self.steps)
        self.steps += new
        self.T = T
        for j, s in enumerate(new):
            reads = VIEWS | {"to_f32", "to_f64"}  # to() of the same dtype is its input
            if s.op in MAKES and not s.mustfail and (s.op == "expand" or (s.op in reads and s.ins[0] in self.expanded)):
                self.expanded.add(base + j)
        return True

    def rand_shape(self):
        return [self.rng.choice([1, 2, 2, 3, 3, 4]) for _ in range(self.rng.randint(1, 3))]

    def broadcastable_source(self, target_shape):
        """A tensor whose shape broadcasts to target_shape, or None."""
        def fits(k):
            s = self.shape(k)
            if len(s) > len(target_shape):
                return False
            return all(x == 1 or x == y for x, y in zip(reversed(s), reversed(target_shape)))
        return self.pick(fits)

    def view_step(self, a):
        rng, s = self.rng, self.shape(a)
        nd = len(s)
        kind = rng.choice(["select", "narrow", "slice", "transpose", "t", "reshape", "view", "diagonal",
                           "unsqueeze", "expand", "detach"])
        if nd == 0 and kind not in ("unsqueeze", "reshape", "view", "expand", "detach"):
            return None
        if kind == "select":
            d = rng.randrange(nd)
            return Step(kind, [a], [d - nd if rng.random() < 0.3 else d, rng.randrange(-s[d], s[d])])
        if kind == "narrow":
            d = rng.randrange(nd)
            start = rng.randrange(s[d])
            return Step(kind, [a], [d, start, rng.randint(1, s[d] - start)])
        if kind == "slice":
            d = rng.randrange(nd)
            return Step(kind, [a], [d, rng.randint(-s[d], s[d] - 1), rng.choice([s[d], s[d] + 2, -1, 2]),
                                    rng.choice([1, 2, 2, 3])])
        if kind == "transpose":
            return Step(kind, [a], [rng.randrange(-nd, nd), rng.randrange(-nd, nd)])
        if kind == "t":
            return Step(kind, [a]) if nd <= 2 else None
        if kind in ("reshape", "view"):
            n = numel(s)
            dims, left = [], n
            while left > 1 and len(dims) < 3:
                divs = [x for x in range(1, left + 1) if left % x == 0]
                x = rng.choice(divs)
                dims.append(x)
                left //= x
            if left > 1 or not dims or rng.random() < 0.3:
                dims.append(left)
            rng.shuffle(dims)
            if rng.random() < 0.3:
                dims[rng.randrange(len(dims))] = -1
            return Step(kind, [a], dims)
        if kind == "diagonal":
            if nd < 2:
                return None
            d1, d2 = rng.sample(range(nd), 2)
            return Step(kind, [a], [rng.choice([0, 0, 1, -1]), d1, d2])
        if kind == "unsqueeze":
            return Step(kind, [a], [rng.randint(-nd - 1, nd)])
        if kind == "expand":
            sizes = [rng.choice([2, 3]) if x == 1 else (x if rng.random() < 0.8 else -1) for x in s]
            if rng.random() < 0.4 or not sizes:
                sizes = [2] + sizes
            return Step(kind, [a], sizes)
        return Step(kind, [a])


    # ------------------------------------------------------------ newer ops

    def floating(self, k):
        return self.T[k].dtype.is_floating_point

    def matmul_partner(self, sa):
        """A shape b such that sa @ b works: (n), (n, m) or batched."""
        rng = self.rng
        m = rng.choice([1, 2, 3])
        if len(sa) == 1:
            return rng.choice([[sa[0]], [sa[0], m], [rng.choice([1, 2]), sa[0], m]])
        if len(sa) == 2:
            return rng.choice([[sa[1]], [sa[1], m], [rng.choice([1, 2]), sa[1], m]])
        return rng.choice([[sa[-1], m], [rng.choice([1, sa[0]]), sa[-1], m], [sa[-1]]])

    def fresh(self, shape, leaf_chance=0.3):
        """A new constant (or leaf) of shape; its step index, or None."""
        op = "leaf" if self.rng.random() < leaf_chance and self.n_leaves() < 6 else "const"
        vals = grid(self.rng, numel(shape))
        if op == "const":
            vals = [x + (0.5 if self.rng.random() < 0.5 else -0.5) for x in vals]
        return len(self.steps) - 1 if self.try_steps([Step(op, [], shape, vals)]) else None

    def n_leaves(self):
        return sum(1 for s in self.steps if s.op == "leaf")

    def index_values(self, shape, size, dim, unique):
        """Index values in [0, size) for an index of shape; unique along dim
        when asked (needs shape[dim] <= size)."""
        rng = self.rng
        if not unique:
            return [rng.randrange(size) for _ in range(numel(shape))]
        idx = torch.zeros(shape, dtype=torch.long)
        moved = idx.movedim(dim, -1)
        flat = moved.reshape(-1, shape[dim])
        for r in range(flat.shape[0]):
            flat[r] = torch.tensor(rng.sample(range(size), shape[dim]))
        return flat.reshape(moved.shape).movedim(-1, dim).flatten().tolist()

    def new_move(self):
        rng = self.rng
        kind = rng.choice(["matmul", "matmul", "cat", "stack", "index_select", "gather", "scatter", "scatter",
                           "masked_fill", "where", "maxmin", "max_dim", "softmax", "clamp", "pow", "expand_use",
                           "contiguous", "to_dtype", "to_dtype", "detach_inplace", "hook", "hook", "remove_hook",
                           "custom", "custom", "custom_dirty"])
        a = self.pick()
        sa = self.shape(a)
        nd = len(sa)
        if kind == "matmul":
            if nd == 0:
                return False
            want = self.matmul_partner(sa)
            cands = [k for k in self.T if self.shape(k) == want]
            b = rng.choice(cands) if cands and rng.random() < 0.6 else self.fresh(want)
            if b is None:
                return False
            return self.try_steps([Step("matmul", [a, b])])
        if kind in ("cat", "stack"):
            if kind == "cat" and nd == 0:
                return False
            d = rng.randrange(nd) if kind == "cat" else rng.randint(-nd - 1, nd)
            def fits(k):
                s = self.shape(k)
                if kind == "stack":
                    return s == sa
                return len(s) == nd and all(x == y for j, (x, y) in enumerate(zip(s, sa)) if j != d)
            others = [k for k in self.T if fits(k)]
            ins = [a] + [rng.choice(others) for _ in range(rng.randint(1, 3))]
            rng.shuffle(ins)
            return self.try_steps([Step(kind, ins, [d])])
        if kind == "index_select":
            if nd == 0:
                return False
            d = rng.randrange(nd)
            return self.try_steps([Step(kind, [a], [d], [rng.randrange(sa[d]) for _ in range(rng.randint(1, 4))])])
        if kind == "gather":
            if nd == 0:
                return False
            d = rng.randrange(nd)
            shape = [rng.randint(1, 3) if j == d else rng.randint(1, x) for j, x in enumerate(sa)]
            return self.try_steps([Step(kind, [a], [d] + shape, self.index_values(shape, sa[d], d, False))])
        if kind == "scatter":  # in place into a (or a fresh view of it), src of the index's shape
            a = self.pick(lambda k: k not in self.expanded and self.floating(k))
            if a is None:
                return False
            made_view = False
            if rng.random() < 0.35:
                st = self.view_step(a)
                if st is None or st.op == "expand" or not self.try_steps([st]):
                    return False
                a, made_view = len(self.steps) - 1, True
            sa = self.shape(a)
            nd = len(sa)
            if nd == 0:
                return made_view
            d = rng.randrange(nd)
            op = rng.choice(["scatter_", "scatter_add_"])
            unique = op == "scatter_"
            def fits(k):
                s = self.shape(k)
                return len(s) == nd and all(x <= y for j, (x, y) in enumerate(zip(s, sa)) if j != d) and \
                    (not unique or s[d] <= sa[d]) and self.T[k].dtype == self.T[a].dtype
            src = self.pick(fits) if rng.random() < 0.7 else None
            if src is not None and span(self.T[src])[0] == span(self.T[a])[0] and rng.random() < 0.85:
                return made_view  # mostly not a source sharing the target's storage (torch refuses most)
            if src is None:
                shape = [rng.randint(1, sa[j]) if j != d else rng.randint(1, sa[d] if unique else 3)
                         for j in range(nd)]
                src = self.fresh(shape, 0.5)
                if src is None:
                    return made_view
            shape = self.shape(src)
            st = Step(op, [a, src], [d] + shape, self.index_values(shape, sa[d], d, unique),
                      nograd=rng.random() < 0.08)
            return self.try_steps([st], allow_fail=True) or made_view
        if kind == "masked_fill":
            shape = [x if rng.random() < 0.7 else 1 for x in sa]
            if rng.random() < 0.2 and shape:
                shape = shape[1:]
            mask = [float(rng.random() < 0.5) for _ in range(numel(shape))]
            return self.try_steps([Step(kind, [a], shape, [rng.choice([-1.0, 0.0, 0.5, 2.0])] + mask)])
        if kind == "where":
            b = self.broadcastable_source(sa) if rng.random() < 0.7 else self.pick()
            try:
                out = list(torch.broadcast_shapes(tuple(sa), tuple(self.shape(b))))
            except RuntimeError:
                return False
            shape = [x if rng.random() < 0.7 else 1 for x in out]
            return self.try_steps([Step(kind, [a, b], shape, [float(rng.random() < 0.5) for _ in range(numel(shape))])])
        if kind == "maxmin":
            b = self.broadcastable_source(sa) if rng.random() < 0.7 else self.pick()
            return self.try_steps([Step(rng.choice(["maximum", "minimum"]), rng.sample([a, b], 2))])
        if kind == "max_dim":
            if nd == 0:
                return False
            return self.try_steps([Step(rng.choice(["max_dim", "min_dim"]), [a], [rng.randrange(-nd, nd),
                                                                                rng.randint(0, 1)])])
        if kind == "softmax":
            d = rng.randrange(-nd, nd) if nd else 0
            return self.try_steps([Step(rng.choice(["softmax", "log_softmax"]), [a], [d])])
        if kind == "clamp":
            lo = (rng.randint(-8, 2) + 0.5 * rng.randint(0, 1)) / 8
            return self.try_steps([Step(kind, [a], [], [lo, lo + rng.randint(0, 10) / 8])])
        if kind == "pow":  # a positive base: a itself when it is, else exp(a)
            if float(self.T[a].detach().min()) < 0.25:
                if not self.try_steps([Step("exp", [a])]):
                    return False
                a = len(self.steps) - 1
            b = self.broadcastable_source(self.shape(a)) if rng.random() < 0.7 else self.pick()
            if rng.random() < 0.5:
                return self.try_steps([Step("pow", [a, b])])
            return self.try_steps([Step("mul_scalar", [b], [], [0.5]), Step("pow", [a, len(self.steps)])])
        if kind == "expand_use":  # expand, then an op that reads it whole
            st = self.view_step(a)
            for _ in range(4):
                if st is not None and st.op == "expand":
                    break
                st = self.view_step(a)
            if st is None or st.op != "expand":
                return False
            k = len(self.steps)
            use = rng.choice(["mul", "softmax", "sum_dim", "contiguous", "clone", "max_dim"])
            if use == "mul":
                b = self.broadcastable_source(st.ints)
                nxt = Step("mul", [k, b if b is not None else k])
            elif use in ("softmax", "sum_dim", "max_dim"):
                nxt = Step(use, [k], [0] if use == "softmax" else [0, 0])
            else:
                nxt = Step(use, [k])
            return self.try_steps([st, nxt])
        if kind == "contiguous":
            st = self.view_step(a) if rng.random() < 0.5 else None
            if st is not None and self.try_steps([st]):
                a = len(self.steps) - 1
            ok = self.try_steps([Step("contiguous", [a])])
            if ok and rng.random() < 0.4 and len(self.steps) - 1 not in self.expanded:  # and write it
                self.try_steps([Step("mul_scalar_", [len(self.steps) - 1], [], [2.0])], allow_fail=True)
            return ok
        if kind == "to_dtype":
            op = "to_f32" if self.T[a].dtype == torch.float64 or rng.random() < 0.3 else "to_f64"
            return self.try_steps([Step(op, [a], nograd=rng.random() < 0.05)])
        if kind == "detach_inplace":  # d = detach(a); change d in place: a's saved values go stale
            k = len(self.steps)
            if a in self.expanded or not self.try_steps([Step("detach", [a])]):
                return False
            op = rng.choice(["mul_scalar_", "add_scalar_", "exp_", "fill_"])
            target = k
            if rng.random() < 0.3:
                st = self.view_step(k)
                if st is not None and st.op != "expand" and self.try_steps([st]):
                    target = len(self.steps) - 1
            return self.try_steps([Step(op, [target], [], [] if op == "exp_" else [rng.choice([0.5, 2.0, -1.0])])],
                                  allow_fail=True) or True
        if kind == "hook":
            # NOTE: torch 1.13's autograd.grad skips the hooks of its inputs
            # (leaves: they hang on AccumulateGrad, which grad() does not
            # run); nabla runs them, as torch.Tensor.register_hook's docs say
            # and later torch does. Modes 2 and 3 call grad(): no leaf hooks.
            if self.mode >= 2 and self.T[a].is_leaf and self.T[a].requires_grad:
                return False
            return self.try_steps([Step("hook", [a], [], [rng.choice([0.5, 2.0, -1.0, 3.0])])], allow_fail=True)
        if kind == "remove_hook":
            hooks = [(j, s) for j, s in enumerate(self.steps) if s.op == "hook" and not s.mustfail]
            removed = {s.ints[0] for s in self.steps if s.op == "remove_hook"}
            live = [(n, s) for n, (j, s) in enumerate(hooks) if n not in removed]
            if not live:
                return False
            n, s = rng.choice(live)
            return self.try_steps([Step("remove_hook", [s.ins[0]], [n])])
        if kind == "custom":
            b = self.pick(lambda k: self.shape(k) == sa)
            return self.try_steps([Step("custom", [a, b], nograd=rng.random() < 0.05)])
        # custom_dirty: on a fresh view sometimes; torch refuses leaves
        a = self.pick(lambda k: k not in self.expanded)
        if a is None:
            return False
        if rng.random() < 0.4:
            st = self.view_step(a)
            if st is not None and st.op != "expand" and self.try_steps([st]):
                a = len(self.steps) - 1
        base = self.T[a]._base
        if base is not None and base.is_leaf and base.requires_grad:
            # NOTE: torch 1.13 accepts a dirty view of a leaf that requires
            # grad, turns the leaf into a CopySlices non-leaf and fails at
            # backward ("leaf variable has been moved into the graph
            # interior"); it refuses the same write as an in-place op. Not
            # drawn: there is no sane record to compare with.
            return False
        return self.try_steps([Step("custom_dirty", [a])], allow_fail=True)

    def move(self):
        rng = self.rng
        if rng.random() < 0.4:
            return self.new_move()
        r = rng.random()
        writable = lambda k: k not in self.expanded
        if r < 0.22:  # out-of-place
            a = self.pick()
            kind = rng.choice(["add", "sub", "mul", "div", "exp", "tanh", "sin", "mul_scalar", "pow_scalar",
                               "clone"])
            if kind in ("add", "sub", "mul", "div"):
                b = self.pick()
                if kind == "div" and float(self.T[b].detach().abs().min()) < 0.25:
                    return False
                return self.try_steps([Step(kind, [a, b])])
            if kind == "mul_scalar":
                return self.try_steps([Step(kind, [a], [], [rng.choice([-2, -1.5, -0.5, 0.5, 2, 3])])])
            if kind == "pow_scalar":
                return self.try_steps([Step(kind, [a], [], [2.0])])
            return self.try_steps([Step(kind, [a], nograd=rng.random() < 0.08)])
        if r < 0.45:  # a view, sometimes of a view, sometimes made under no_grad
            st = self.view_step(self.pick())
            if st is None:
                return False
            st.nograd = rng.random() < 0.03  # rare: torch's no_grad views still require grad (nabla's do not)
            if not self.try_steps([st]):
                return False
            if st.nograd and st.op != "expand":  # then written in grad mode
                self.try_steps([Step("mul_scalar_", [len(self.steps) - 1], [], [2.0])], allow_fail=True)
            return True
        if r < 0.75:  # in-place, often on a fresh view
            a = self.pick(writable)
            if a is None:
                return False
            made_view = False
            if rng.random() < 0.35:
                st = self.view_step(a)
                if st is None or st.op == "expand":
                    return False
                if not self.try_steps([st]):
                    return False
                a, made_view = len(self.steps) - 1, True
            kind = rng.choice(["add_", "sub_", "mul_", "div_", "add_scalar_", "mul_scalar_", "exp_", "tanh_",
                               "clamp_", "fill_", "copy_", "copy_"])
            nograd = rng.random() < 0.1
            if kind in ("add_", "sub_", "mul_", "div_", "copy_"):
                b = self.broadcastable_source(self.shape(a)) if rng.random() < 0.85 else self.pick()
                if b is None:
                    return made_view
                if kind == "div_" and float(self.T[b].detach().abs().min()) < 0.25:
                    return False
                st = Step(kind, [a, b], nograd=nograd)
            elif kind in ("add_scalar_", "mul_scalar_", "fill_"):
                st = Step(kind, [a], [], [rng.choice([-1.5, -0.5, 0.25, 0.5, 2.0])], nograd=nograd)
            elif kind == "clamp_":
                lo = (rng.randint(-8, 2) + 0.5) / 8
                st = Step(kind, [a], [], [lo, lo + rng.randint(1, 10) / 8], nograd=nograd)
            else:
                st = Step(kind, [a], nograd=nograd)
            return self.try_steps([st], allow_fail=rng.random() < 0.5)
        if r < 0.85:  # write a source into a slice of a fresh zeros buffer
            src = self.pick()
            s = self.shape(src)
            n = rng.choice([2, 3])
            k = len(self.steps)
            if rng.random() < 0.5:  # a contiguous slot: buf[i]
                buf, view = Step("zeros", [], [n] + s), Step("select", [k], [0, rng.randrange(n)])
            else:  # a strided slot: buf[..., i]
                buf, view = Step("zeros", [], s + [n]), Step("select", [k], [len(s), rng.randrange(n)])
            return self.try_steps([buf, view, Step("copy_", [k + 1, src])])
        if r < 0.92:  # reductions
            a = self.pick()
            nd = len(self.shape(a))
            if nd == 0 or rng.random() < 0.3:
                return self.try_steps([Step("sum", [a])])
            return self.try_steps([Step(rng.choice(["sum_dim", "mean_dim"]), [a],
                                        [rng.randrange(-nd, nd), rng.randint(0, 1)])])
        if r < 0.96:  # a constant, shaped as an existing tensor
            s = self.shape(self.pick())
            vals = [x + (0.5 if rng.random() < 0.5 else -0.5) for x in grid(rng, numel(s))]
            return self.try_steps([Step("const", [], s, vals)])
        return self.try_steps([Step("retain_grad", [self.pick()])], allow_fail=True)


def generate(rng):
    mode = rng.choice([0, 0, 0, 1, 2, 2, 3, 3])
    g = Gen(rng, mode)
    for _ in range(rng.randint(1, 3)):
        s = g.rand_shape()
        g.try_steps([Step("leaf", [], s, grid(rng, numel(s)))])
    moves, tries = rng.randint(4, 14), 0
    while moves and tries < 200:
        tries += 1
        if g.move():
            moves -= 1
    cands = [k for k, t in g.T.items() if t.requires_grad]
    terms = rng.sample(cands, rng.randint(1, min(4, len(cands))))
    terms.sort()
    weights = {k: grid(rng, numel(g.shape(k)), nonzero=True) for k in terms}
    return Program(g.steps, terms, weights, mode, rng)


class Program:
    def __init__(self, steps, terms, weights, mode, rng):
        self.steps, self.terms, self.weights, self.mode = steps, terms, weights, mode
        leaves = [k for k, s in enumerate(steps) if s.op == "leaf"]
        self.vweights = {k: grid(rng, numel(steps[k].ints), nonzero=True) for k in leaves}

    def run(self):
        """Execute in torch: the record the C test checks."""
        T = execute(self.steps)
        rec = {"T": T, "final": snapshot(T), "raised": False, "g": None, "second": None, "grads": None, "g2": None}
        rec["flags"] = {k: (t.requires_grad, t.is_leaf) for k, t in T.items()}
        loss = None
        for k in self.terms:
            term = (T[k] * torch.tensor(self.weights[k]).reshape(T[k].shape)).sum()
            loss = term if loss is None else loss + term
        leaves = [k for k, s in enumerate(self.steps) if s.op == "leaf"]
        try:
            if self.mode == 0:
                loss.backward()
            elif self.mode == 1:
                loss.backward(retain_graph=True)
                loss.backward()
            else:
                gs = torch.autograd.grad(loss, [T[k] for k in leaves], create_graph=True, allow_unused=True)
                rec["g"] = [(k, g) for k, g in zip(leaves, gs)]
                # NOTE: torch 1.13's grad() fills .grad where it should not: a
                # leaf copied into a slice of a buffer (through CopySlices)
                # gets its gradient accumulated, and retain_grad tensors get
                # theirs. nabla's grad_of accumulates nothing (as documented),
                # so the record starts the second backward from no .grad.
                for t in T.values():
                    t.grad = None
        except RuntimeError:
            rec["raised"] = True
            return rec
        if self.mode >= 2:
            loss2 = None
            for k, g in rec["g"]:
                if g is not None and g.requires_grad:
                    term = (g * torch.tensor(self.vweights[k]).reshape(g.shape)).sum()
                    loss2 = term if loss2 is None else loss2 + term
            rec["second"] = 0
            if loss2 is not None:
                try:
                    if self.mode == 2:
                        loss2.backward()
                    else:
                        g2 = torch.autograd.grad(loss2, [T[k] for k in leaves], allow_unused=True)
                        rec["g2"] = [None if x is None else x.detach().clone() for x in g2]
                        for t in T.values():  # as after the first grad
                            t.grad = None
                    rec["second"] = 1
                except RuntimeError:
                    rec["second"] = 2
                    return rec
        rec["grads"] = {k: (None if t.grad is None else t.grad.detach().clone()) for k, t in T.items()}
        return rec


# ---------------------------------------------------------------- output


def f64s(values):
    values = [float(x) for x in values]
    return struct.pack("<%dd" % len(values), *values)


def encode(prog):
    rec = prog.run()
    dense = {}  # step index -> tensor index
    out = bytearray()
    out += struct.pack("<B", len(prog.steps))
    for k, s in enumerate(prog.steps):
        flags = (1 if s.nograd else 0) | (2 if s.mustfail else 0)
        out += struct.pack("<BBB", CODE[s.op], flags, len(s.ins)) + bytes(dense[x] for x in s.ins)
        out += struct.pack("<B%di" % len(s.ints), len(s.ints), *s.ints)
        out += struct.pack("<H", len(s.floats)) + f64s(s.floats)
        if s.op in MAKES and not s.mustfail:
            dense[k] = len(dense)
    order = sorted(dense, key=dense.get)
    out += struct.pack("<B", len(order))
    for k in order:
        t, (rg, leaf) = rec["final"][k][0], rec["flags"][k]
        f32 = 4 if t.dtype == torch.float32 else 0
        out += struct.pack("<BB", (1 if rg else 0) | (2 if leaf else 0) | f32, t.dim()) + bytes(t.shape)
        out += f64s(t.flatten().tolist())
    out += struct.pack("<B", len(prog.terms))
    for k in prog.terms:
        out += struct.pack("<B", dense[k]) + f64s(prog.weights[k])
    out += struct.pack("<BB", prog.mode, 1 if rec["raised"] else 0)
    if rec["raised"]:
        return bytes(out), rec
    if prog.mode >= 2:
        for k, g in rec["g"]:
            out += struct.pack("<B", (1 if g is not None else 0) | (2 if g is not None and g.requires_grad else 0))
            if g is not None:
                out += f64s(g.detach().flatten().tolist()) + f64s(prog.vweights[k])
        out += struct.pack("<B", rec["second"])
        if rec["second"] == 2:
            return bytes(out), rec
        if prog.mode == 3 and rec["second"] == 1:
            for g2 in rec["g2"]:
                out += struct.pack("<B", 0 if g2 is None else 1)
                if g2 is not None:
                    out += f64s(g2.flatten().tolist())
    for k in order:
        g = rec["grads"][k]
        out += struct.pack("<B", 0 if g is None else 1)
        if g is not None:
            out += f64s(g.flatten().tolist())
    return bytes(out), rec


def write(programs, path):
    blob = bytearray(b"NBAGPRG2" + struct.pack("<I", len(programs)))
    for p in programs:
        blob += encode(p)[0]
    with open(path, "wb") as f:
        f.write(blob)
    return len(blob)


def make(seed, count):
    rng = random.Random(seed)
    return [generate(rng) for _ in range(count)]


# ---------------------------------------------------------------- shrinking


def without(prog, drop):
    """prog without the steps in drop and every step that used a dropped
    tensor; steps torch now refuses are dropped too (must-fail steps that
    now succeed likewise). None when nothing is left to check."""
    steps, remap, gone = [], {}, set(drop)
    hooks, new_hooks = {}, 0  # ordinal of a registered hook -> its ordinal in the new program
    old_hooks = 0
    for k, s in enumerate(prog.steps):
        registers = s.op == "hook" and not s.mustfail
        if k in gone or any(x in gone for x in s.ins) or (s.op == "remove_hook" and s.ints[0] not in hooks):
            gone.add(k)
            old_hooks += registers
            continue
        ints = [hooks[s.ints[0]]] if s.op == "remove_hook" else s.ints
        new = Step(s.op, [remap[x] for x in s.ins], ints, s.floats, s.nograd, s.mustfail)
        try:
            execute(steps + [new])
        except (Refused, RuntimeError, IndexError):
            gone.add(k)
            old_hooks += registers
            continue
        if registers:
            hooks[old_hooks], new_hooks, old_hooks = new_hooks, new_hooks + 1, old_hooks + 1
        remap[k] = len(steps)
        steps.append(new)
    terms = [remap[k] for k in prog.terms if k in remap]
    T = execute(steps)
    terms = [k for k in terms if T[k].requires_grad]
    if not terms:
        return None
    p = Program.__new__(Program)
    p.steps, p.terms, p.mode = steps, terms, prog.mode
    p.weights = {remap[k]: w for k, w in prog.weights.items() if k in remap}
    p.vweights = {remap[k]: w for k, w in prog.vweights.items() if k in remap}
    return p


def kinds(stderr):
    """The kinds of difference the C test printed (numbers and names
    stripped), to keep a shrink on the same bug."""
    out = set()
    for line in stderr.splitlines():
        if line.startswith("  ") and not line.startswith("    "):
            out.add(re.sub(r"\d+(\.\d+)?(e-?\d+)?", "N", line.split(":")[0] if "element" in line else line))
    return out


def fails(prog, binary):
    """(the C test fails on prog, what it printed)."""
    with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
        path = f.name
    try:
        write([prog], path)
        r = subprocess.run([binary, "--fixture", path, "--no-known"], capture_output=True, text=True)
        return r.returncode != 0, r.stderr
    finally:
        os.unlink(path)


def shrink(prog, binary):
    """Drop steps (and loss terms, and the second backward) one at a time
    while the C test still fails with one of the same kinds of difference."""
    failing, text = fails(prog, binary)
    if not failing:
        return prog
    want = kinds(text)

    def still(cand):
        if cand is None:
            return False
        failing, text = fails(cand, binary)
        return failing and bool(kinds(text) & want)

    def variant(**changes):
        cand = Program.__new__(Program)
        cand.__dict__.update(prog.__dict__)
        cand.__dict__.update(changes)
        return cand

    changed = True
    while changed:
        changed = False
        for k in reversed(range(len(prog.steps))):
            if k < len(prog.steps) and still(without(prog, [k])):
                prog, changed = without(prog, [k]), True
        for k in list(prog.terms):
            cand = variant(terms=[x for x in prog.terms if x != k])
            if cand.terms and still(cand):
                prog, changed = cand, True
        for k, s in enumerate(prog.steps):
            if s.nograd and not s.mustfail:
                steps = list(prog.steps)
                steps[k] = Step(s.op, s.ins, s.ints, s.floats, False, False)
                try:
                    execute(steps)
                except (Refused, RuntimeError, IndexError):
                    continue
                if still(variant(steps=steps)):
                    prog, changed = variant(steps=steps), True
        if prog.mode != 0 and still(variant(mode=0)):
            prog, changed = variant(mode=0), True
    return prog


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--count", type=int, default=PROGRAMS)
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--shrink", type=int, help="shrink this program, -1 all that fail (needs --binary)")
    ap.add_argument("--binary", help="the built test_autograd_programs")
    args = ap.parse_args()
    torch.manual_seed(0)
    programs = make(args.seed, args.count)
    if args.shrink is not None:  # -1: every program that fails, one shrunk program per kind
        seen = set()
        for i in [args.shrink] if args.shrink >= 0 else range(len(programs)):
            failing, text = fails(programs[i], args.binary)
            if not failing or (args.shrink < 0 and kinds(text) <= seen):
                continue
            small = shrink(programs[i], args.binary)
            text = fails(small, args.binary)[1]
            seen |= kinds(text)
            print("program %d, shrunk:" % i)
            print(text.replace("program 0 differs", "differs"), flush=True)
        return
    size = write(programs, args.out)
    steps = sum(len(p.steps) for p in programs)
    print("%d programs, %d steps, %d bytes -> %s" % (len(programs), steps, size, args.out))


if __name__ == "__main__":
    main()

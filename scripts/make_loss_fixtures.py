#!/usr/bin/python3
"""Write tests/data/loss_fixtures.h: the losses of torch.nn.functional (mse,
l1, smooth_l1, binary_cross_entropy, binary_cross_entropy_with_logits,
kl_div, nll_loss, cross_entropy) for many option combinations, as PyTorch
1.13 computes them in float64, with the gradients of the loss with respect
to the input (and to a floating target), for tests/test_losses.c; and the
normalisation layers (batch_norm over three training steps with its running
statistics, then eval; layer_norm; group_norm) with their gradients, for
tests/test_norm.c.

Run with the Python that has PyTorch:  /usr/bin/python3 scripts/make_loss_fixtures.py

Inputs are multiples of 1/64 (probabilities: k/64 in [0, 1]) so that
float32 holds them exactly and one float64 expectation serves both dtypes.
Each case stores the input, target (class indices as doubles), optional
class weight / weight / pos_weight, the expected output, a grad_output of
the output's shape, and the gradients torch.autograd.grad gives for it.
"""
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
D = torch.float64

REDUCTIONS = {"mean": 0, "sum": 1, "none": 2, "batchmean": 3}
LOSSES = ["MSE", "L1", "SMOOTH_L1", "BCE", "BCE_LOGITS", "KL_DIV", "NLL", "CROSS_ENTROPY"]


def grid(*shape, scale=1.0):
    """randn * scale rounded to 1/64."""
    return torch.round(torch.randn(*shape, dtype=D) * scale * 64) / 64


def probs(*shape, low=1, high=63):
    return torch.randint(low, high + 1, shape).to(D) / 64


CASES = []


def add(name, loss, fn, inp, target, reduction, param=0.0, weight=None, pos_weight=None, ignore_index=None,
        log_target=False, grad_target=None):
    """fn(input, target) -> output; grads for input (and target when grad_target)."""
    x = inp.clone().requires_grad_(True)
    floating_target = target.dtype == D
    want_t = floating_target if grad_target is None else grad_target
    t = target.clone().requires_grad_(want_t) if floating_target else target.clone()
    out = fn(x, t)
    gout = torch.round((torch.rand(out.shape, dtype=D) + 0.5) * 64) / 64
    wrt = [x] + ([t] if want_t else [])
    grads = torch.autograd.grad(out, wrt, gout, allow_unused=True) if out.numel() > 0 else [torch.zeros_like(w) for w in wrt]
    CASES.append(dict(
        name=name, loss=loss, reduction=REDUCTIONS[reduction], param=param, log_target=log_target,
        ignore_index=ignore_index, input=inp, target=target, weight=weight, pos_weight=pos_weight,
        out=out.detach(), gout=gout, grad_input=grads[0], grad_target=grads[1] if want_t else None))


# ---------------------------------------------------------------- regression losses
a, b = grid(3, 4), grid(3, 4)
for r in ("mean", "sum", "none"):
    add(f"mse {r}", "MSE", lambda x, t, r=r: F.mse_loss(x, t, reduction=r), a, b, r)
    add(f"l1 {r}", "L1", lambda x, t, r=r: F.l1_loss(x, t, reduction=r), a, b, r)
    for beta in (1.0, 0.5, 0.0):
        add(f"smooth_l1 beta={beta} {r}", "SMOOTH_L1",
            lambda x, t, r=r, beta=beta: F.smooth_l1_loss(x, t, reduction=r, beta=beta), a, b, r, param=beta)
add("mse 0-d", "MSE", lambda x, t: F.mse_loss(x, t), torch.tensor(1.5, dtype=D), torch.tensor(-0.25, dtype=D), "mean")
add("mse 3-d sum", "MSE", lambda x, t: F.mse_loss(x, t, reduction="sum"), grid(2, 3, 2), grid(2, 3, 2), "sum")
add("mse empty mean", "MSE", lambda x, t: F.mse_loss(x, t), grid(0, 3), grid(0, 3), "mean")
add("l1 empty sum", "L1", lambda x, t: F.l1_loss(x, t, reduction="sum"), grid(0, 3), grid(0, 3), "sum")

# ---------------------------------------------------------------- binary cross entropy
p, pt = probs(3, 4), probs(3, 4, low=0, high=64)
w_row, w_full = probs(4, low=16, high=128), probs(3, 4, low=16, high=128)
for r in ("mean", "sum", "none"):
    add(f"bce {r}", "BCE", lambda x, t, r=r: F.binary_cross_entropy(x, t, reduction=r), p, pt, r)
    add(f"bce weight (4) {r}", "BCE", lambda x, t, r=r: F.binary_cross_entropy(x, t, weight=w_row, reduction=r),
        p, pt, r, weight=w_row)
add("bce weight (3, 4) sum", "BCE", lambda x, t: F.binary_cross_entropy(x, t, weight=w_full, reduction="sum"),
    p, pt, "sum", weight=w_full)
sat_p = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.5], dtype=D)
sat_t = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.5], dtype=D)
add("bce saturated none", "BCE", lambda x, t: F.binary_cross_entropy(x, t, reduction="none"), sat_p, sat_t, "none")

z, zt = grid(3, 4, scale=2), probs(3, 4, low=0, high=64)
pw = probs(4, low=16, high=192)
for r in ("mean", "sum", "none"):
    add(f"bce_logits {r}", "BCE_LOGITS",
        lambda x, t, r=r: F.binary_cross_entropy_with_logits(x, t, reduction=r), z, zt, r)
    add(f"bce_logits weight pos_weight {r}", "BCE_LOGITS",
        lambda x, t, r=r: F.binary_cross_entropy_with_logits(x, t, weight=w_row, pos_weight=pw, reduction=r),
        z, zt, r, weight=w_row, pos_weight=pw)
add("bce_logits pos_weight mean", "BCE_LOGITS",
    lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=pw), z, zt, "mean", pos_weight=pw)
big = torch.tensor([1e4, -1e4, 1e4, -1e4, 0.0, 30.0, -30.0], dtype=D)
big_t = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0], dtype=D)
add("bce_logits large none", "BCE_LOGITS",
    lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="none"), big, big_t, "none")

# ---------------------------------------------------------------- kl_div
q = torch.log_softmax(grid(3, 4), 1)
kp = torch.softmax(grid(3, 4), 1)
for r in ("mean", "sum", "none", "batchmean"):
    add(f"kl_div {r}", "KL_DIV", lambda x, t, r=r: F.kl_div(x, t, reduction=r), q, kp, r)
    add(f"kl_div log_target {r}", "KL_DIV", lambda x, t, r=r: F.kl_div(x, t, reduction=r, log_target=True),
        q, torch.log(kp), r, log_target=True)
kz = kp.clone()
kz[0, 1] = 0.0
kz[2, 3] = 0.0
add("kl_div zero targets sum", "KL_DIV", lambda x, t: F.kl_div(x, t, reduction="sum"), q, kz, "sum",
    grad_target=False)
add("kl_div 0-d batchmean", "KL_DIV", lambda x, t: F.kl_div(x, t, reduction="batchmean"),
    torch.tensor(-0.5, dtype=D), torch.tensor(0.25, dtype=D), "batchmean")

# ---------------------------------------------------------------- nll_loss and cross_entropy
logits = grid(5, 4, scale=2)
labels = torch.tensor([0, 3, 1, 3, 2])
class_w = probs(4, low=16, high=128)
logits_nd = grid(2, 3, 2, 2, scale=2)
labels_nd = torch.randint(0, 3, (2, 2, 2))
labels_nd[1, 0, 1] = 1
class_w3 = probs(3, low=16, high=128)
logp = torch.log_softmax(logits, 1)


def ce(x, t, **kw):
    return F.cross_entropy(x, t, **kw)


for r in ("mean", "sum", "none"):
    add(f"nll {r}", "NLL", lambda x, t, r=r: F.nll_loss(x, t, reduction=r), logp, labels, r)
    add(f"nll weight {r}", "NLL", lambda x, t, r=r: F.nll_loss(x, t, weight=class_w, reduction=r),
        logp, labels, r, weight=class_w)
    add(f"nll ignore 3 weight {r}", "NLL",
        lambda x, t, r=r: F.nll_loss(x, t, weight=class_w, ignore_index=3, reduction=r),
        logp, labels, r, weight=class_w, ignore_index=3)
    add(f"cross_entropy {r}", "CROSS_ENTROPY", lambda x, t, r=r: ce(x, t, reduction=r), logits, labels, r)
    add(f"cross_entropy weight {r}", "CROSS_ENTROPY", lambda x, t, r=r: ce(x, t, weight=class_w, reduction=r),
        logits, labels, r, weight=class_w)
    add(f"cross_entropy ignore 3 {r}", "CROSS_ENTROPY", lambda x, t, r=r: ce(x, t, ignore_index=3, reduction=r),
        logits, labels, r, ignore_index=3)
    for ls in (0.1, 0.3):
        add(f"cross_entropy smoothing {ls} {r}", "CROSS_ENTROPY",
            lambda x, t, r=r, ls=ls: ce(x, t, label_smoothing=ls, reduction=r), logits, labels, r, param=ls)
        add(f"cross_entropy smoothing {ls} weight ignore 3 {r}", "CROSS_ENTROPY",
            lambda x, t, r=r, ls=ls: ce(x, t, weight=class_w, ignore_index=3, label_smoothing=ls, reduction=r),
            logits, labels, r, param=ls, weight=class_w, ignore_index=3)
    add(f"cross_entropy smoothing 0.2 ignore 3 {r}", "CROSS_ENTROPY",
        lambda x, t, r=r: ce(x, t, ignore_index=3, label_smoothing=0.2, reduction=r),
        logits, labels, r, param=0.2, ignore_index=3)
    add(f"cross_entropy (N, C, d1, d2) weight {r}", "CROSS_ENTROPY",
        lambda x, t, r=r: ce(x, t, weight=class_w3, reduction=r), logits_nd, labels_nd, r, weight=class_w3)
    add(f"cross_entropy (N, C, d1, d2) smoothing ignore 1 {r}", "CROSS_ENTROPY",
        lambda x, t, r=r: ce(x, t, ignore_index=1, label_smoothing=0.25, reduction=r),
        logits_nd, labels_nd, r, param=0.25, ignore_index=1)
    add(f"nll (N, C, d1, d2) {r}", "NLL", lambda x, t, r=r: F.nll_loss(x, t, reduction=r),
        torch.log_softmax(logits_nd, 1), labels_nd, r)
    add(f"cross_entropy (C) 0-d target {r}", "CROSS_ENTROPY",
        lambda x, t, r=r: ce(x, t, weight=class_w, label_smoothing=0.1, reduction=r),
        logits[1], labels[1], r, param=0.1, weight=class_w)
add("nll ignore -100 mean", "NLL", lambda x, t: F.nll_loss(x, t, ignore_index=-100), logp,
    torch.tensor([0, -100, 1, 3, -100]), "mean", ignore_index=-100)
add("nll all ignored mean", "NLL", lambda x, t: F.nll_loss(x, t, ignore_index=2), logp,
    torch.tensor([2, 2, 2, 2, 2]), "mean", ignore_index=2)
add("cross_entropy empty mean", "CROSS_ENTROPY", lambda x, t: ce(x, t), grid(0, 4), torch.zeros(0, dtype=torch.int64),
    "mean")
add("cross_entropy empty sum", "CROSS_ENTROPY", lambda x, t: ce(x, t, reduction="sum"), grid(0, 4),
    torch.zeros(0, dtype=torch.int64), "sum")
huge = torch.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]], dtype=D)
add("cross_entropy logits +-1e4 mean", "CROSS_ENTROPY", lambda x, t: ce(x, t), huge, torch.tensor([1, 2, 0]), "mean")
add("cross_entropy logits +-1e4 smoothing none", "CROSS_ENTROPY",
    lambda x, t: ce(x, t, label_smoothing=0.1, reduction="none"), huge, torch.tensor([0, 2, 1]), "none", param=0.1)

# class probabilities
soft = torch.softmax(grid(5, 4), 1)
soft_nd = torch.softmax(grid(2, 3, 2, 2), 1)
for r in ("mean", "sum", "none"):
    add(f"cross_entropy probs {r}", "CROSS_ENTROPY", lambda x, t, r=r: ce(x, t, reduction=r), logits, soft, r)
    add(f"cross_entropy probs weight smoothing {r}", "CROSS_ENTROPY",
        lambda x, t, r=r: ce(x, t, weight=class_w, label_smoothing=0.2, reduction=r), logits, soft, r, param=0.2,
        weight=class_w)
    add(f"cross_entropy probs (N, C, d1, d2) {r}", "CROSS_ENTROPY", lambda x, t, r=r: ce(x, t, reduction=r),
        logits_nd, soft_nd, r)
add("cross_entropy probs (C) mean", "CROSS_ENTROPY", lambda x, t: ce(x, t), logits[2], soft[2], "mean")
add("cross_entropy probs empty mean", "CROSS_ENTROPY", lambda x, t: ce(x, t), grid(0, 4), torch.zeros(0, 4, dtype=D),
    "mean")


# ---------------------------------------------------------------- the header
def c_double(v):
    v = float(v)
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    return repr(v)


def c_array(name, t):
    values = [c_double(v) for v in t.reshape(-1).tolist()] or ["0"]
    return f"static const double {name}[{len(values)}] = {{ {', '.join(values)} }};"


def c_shape(t):
    dims = list(t.shape)
    return f"{len(dims)}, {{ {', '.join(str(d) for d in dims) or '0'} }}"


lines = [
    f"/* Generated by scripts/make_loss_fixtures.py with PyTorch {torch.__version__}. Do not edit. */",
    "#ifndef LOSS_FIXTURES_H",
    "#define LOSS_FIXTURES_H",
    "",
    "#include <math.h>",
    "#include <stdint.h>",
    "",
    "enum { " + ", ".join(f"LOSS_{name}" for name in LOSSES) + " };",
    "",
    "typedef struct {",
    "    int     ndim;",
    "    int64_t dims[4];",
    "} loss_fixture_shape;",
    "",
    "/* target holds class indices as doubles when target_is_index; weight is the",
    " * class weight of nll / cross_entropy or the weight of the binary losses;",
    " * param is beta (smooth_l1) or label_smoothing (cross_entropy);",
    " * reduction: 0 mean, 1 sum, 2 none, 3 batchmean. grad_target is NULL when",
    " * the target's gradient is not checked. */",
    "typedef struct {",
    "    const char        *name;",
    "    int                loss;",
    "    int                reduction;",
    "    double             param;",
    "    int                log_target;",
    "    int                has_ignore_index;",
    "    int64_t            ignore_index;",
    "    loss_fixture_shape input_shape;",
    "    const double      *input;",
    "    int                target_is_index;",
    "    loss_fixture_shape target_shape;",
    "    const double      *target;",
    "    loss_fixture_shape weight_shape;",
    "    const double      *weight;",
    "    loss_fixture_shape pos_weight_shape;",
    "    const double      *pos_weight;",
    "    loss_fixture_shape out_shape;",
    "    const double      *expected;",
    "    const double      *grad_output;",
    "    const double      *grad_input;",
    "    const double      *grad_target;",
    "} loss_fixture;",
    "",
]
rows = []
for i, c in enumerate(CASES):
    prefix = f"loss_case{i}"
    lines.append(f"/* {c['name']} */")
    lines.append(c_array(f"{prefix}_input", c["input"]))
    lines.append(c_array(f"{prefix}_target", c["target"].to(D)))
    for key in ("weight", "pos_weight"):
        if c[key] is not None:
            lines.append(c_array(f"{prefix}_{key}", c[key]))
    lines.append(c_array(f"{prefix}_expected", c["out"]))
    lines.append(c_array(f"{prefix}_grad_output", c["gout"]))
    lines.append(c_array(f"{prefix}_grad_input", c["grad_input"]))
    if c["grad_target"] is not None:
        lines.append(c_array(f"{prefix}_grad_target", c["grad_target"]))

    def opt(key):
        return (f"{{ {c_shape(c[key])} }}", f"{prefix}_{key}") if c[key] is not None else ("{ 0, { 0 } }", "NULL")

    w_shape, w_name = opt("weight")
    pw_shape, pw_name = opt("pos_weight")
    rows.append(
        f"    {{ \"{c['name']}\", LOSS_{c['loss']}, {c['reduction']}, {c_double(c['param'])}, {int(c['log_target'])}, "
        f"{int(c['ignore_index'] is not None)}, {c['ignore_index'] or 0}, "
        f"{{ {c_shape(c['input'])} }}, {prefix}_input, {int(c['target'].dtype == torch.int64)}, "
        f"{{ {c_shape(c['target'])} }}, {prefix}_target, {w_shape}, {w_name}, {pw_shape}, {pw_name}, "
        f"{{ {c_shape(c['out'])} }}, {prefix}_expected, {prefix}_grad_output, {prefix}_grad_input, "
        + (f"{prefix}_grad_target" if c["grad_target"] is not None else "NULL") + " },")
lines.append("")
lines.append("static const loss_fixture loss_fixtures[] = {")
lines.extend(rows)
lines.append("};")
lines.append("")

# ---------------------------------------------------------------- normalisation layers
# Named arrays for tests/test_norm.c; each gradient is torch.autograd.grad of
# the output with grad_output <name>_gout.
lines.append("/* Normalisation layers (tests/test_norm.c). */")


def emit(name, t):
    lines.append(c_array(name, t.detach()))


def emit_grads(name, out, wrt, names):
    gout = torch.round((torch.rand(out.shape, dtype=D) + 0.5) * 64) / 64
    emit(f"{name}_gout", gout)
    for g, n in zip(torch.autograd.grad(out, wrt, gout), names):
        emit(f"{name}_grad_{n}", g)


# batch_norm, training, three steps on (4, 3, 2) with affine parameters,
# momentum 0.1, eps 1e-5; then eval on a fourth batch.
bn_w, bn_b = probs(3, low=32, high=96).requires_grad_(True), grid(3).requires_grad_(True)
rm, rv = torch.zeros(3, dtype=D), torch.ones(3, dtype=D)
emit("bn_weight", bn_w)
emit("bn_bias", bn_b)
for step in range(3):
    x = grid(4, 3, 2).requires_grad_(True)
    out = F.batch_norm(x, rm, rv, bn_w, bn_b, training=True, momentum=0.1, eps=1e-5)
    emit(f"bn_x{step}", x)
    emit(f"bn_out{step}", out)
    emit(f"bn_running_mean{step}", rm)
    emit(f"bn_running_var{step}", rv)
    if step == 0:
        emit_grads("bn_train", out, [x, bn_w, bn_b], ["x", "weight", "bias"])
x = grid(4, 3, 2).requires_grad_(True)
out = F.batch_norm(x, rm, rv, bn_w, bn_b, training=False, eps=1e-5)
emit("bn_eval_x", x)
emit("bn_eval_out", out)
emit_grads("bn_eval", out, [x, bn_w, bn_b], ["x", "weight", "bias"])
# (N, C) input, no affine, momentum 0.3, eps 1e-3.
x = grid(5, 3).requires_grad_(True)
rm2, rv2 = grid(3), probs(3, low=32, high=128)
emit("bn2d_running_mean_before", rm2)
emit("bn2d_running_var_before", rv2)
out = F.batch_norm(x, rm2, rv2, training=True, momentum=0.3, eps=1e-3)
emit("bn2d_x", x)
emit("bn2d_out", out)
emit("bn2d_running_mean", rm2)
emit("bn2d_running_var", rv2)
emit_grads("bn2d", out, [x], ["x"])

# layer_norm over (3, 4) of (2, 3, 4) with affine; over (4) without.
x = grid(2, 3, 4, scale=2).requires_grad_(True)
ln_w, ln_b = probs(3, 4, low=32, high=96).requires_grad_(True), grid(3, 4).requires_grad_(True)
out = F.layer_norm(x, (3, 4), ln_w, ln_b, eps=1e-5)
for n, t in (("ln_x", x), ("ln_weight", ln_w), ("ln_bias", ln_b), ("ln_out", out)):
    emit(n, t)
emit_grads("ln", out, [x, ln_w, ln_b], ["x", "weight", "bias"])
out = F.layer_norm(x, (4,), eps=1e-3)
emit("ln_last_out", out)
emit_grads("ln_last", out, [x], ["x"])

# group_norm of (2, 4, 3): 2 groups with affine; 4 groups without; 1 group.
x = grid(2, 4, 3, scale=2).requires_grad_(True)
gn_w, gn_b = probs(4, low=32, high=96).requires_grad_(True), grid(4).requires_grad_(True)
out = F.group_norm(x, 2, gn_w, gn_b, eps=1e-5)
for n, t in (("gn_x", x), ("gn_weight", gn_w), ("gn_bias", gn_b), ("gn_out", out)):
    emit(n, t)
emit_grads("gn", out, [x, gn_w, gn_b], ["x", "weight", "bias"])
out = F.group_norm(x, 4, eps=1e-5)
emit("gn4_out", out)
emit_grads("gn4", out, [x], ["x"])
emit("gn1_out", F.group_norm(x, 1, eps=1e-2))
lines.append("")
lines.append("#endif /* LOSS_FIXTURES_H */")

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "loss_fixtures.h")
with open(path, "w") as f:
    f.write("\n".join(lines) + "\n")
print(f"wrote {len(CASES)} cases to {os.path.normpath(path)}")

#!/usr/bin/python3
"""Write tests/data/optim_fixtures.h: parameters after each step of
torch.optim's SGD, Adam, AdamW and RMSprop, the learning rates of the
StepLR, CosineAnnealingLR and LinearLR schedules, and clip_grad_norm_'s
totals and clipped gradients, as PyTorch 1.13 computes them, for
tests/test_optim.c and tests/test_scheduler.c.

Run with the Python that has PyTorch:  /usr/bin/python3 scripts/make_optim_fixtures.py

Optimizers: two parameters, W (3, 4) and b (4), start from fixed values and
take 5 steps with fixed gradients; at step 3 (index 2) b has no gradient
(grad None: torch skips it, and its Adam step count lags W's). Values are
multiples of 1/64 scaled by powers of two, so float32 holds them exactly and
the float32 cases start from the same numbers. Each case records W and b
(flattened, W first) after every step. The single-tensor algorithms
(foreach=False) are the reference.

Schedules: the optimizer's lr after construction and after each of 12
scheduler steps (13 values).

clip_grad_norm_: three parameters (2, 3), (4) and (5); the third has no
gradient. Each case records the total norm and the 10 clipped values.
"""
import math
import os

import torch

STEPS = 5
SCALES = [1.0, 4.0, 0.5, 0.25, 2.0]  # varying sizes: amsgrad's max matters


def rounded(shape, gen, scale=1.0):
    return torch.round(torch.randn(*shape, generator=gen, dtype=torch.float64) * 64) / 64 * scale


gen = torch.Generator().manual_seed(4)
W0 = rounded((3, 4), gen)
B0 = rounded((4,), gen)
GRADS_W = [rounded((3, 4), gen, s) for s in SCALES]
GRADS_B = [rounded((4,), gen, s) for s in SCALES]
B_HAS_GRAD = [True, True, False, True, True]

# name, kind, dtype, options (nabla's field names).
CASES = [
    ("sgd_plain", "sgd", torch.float64, dict(lr=0.1)),
    ("sgd_momentum", "sgd", torch.float64, dict(lr=0.1, momentum=0.9)),
    ("sgd_dampening", "sgd", torch.float64, dict(lr=0.1, momentum=0.9, dampening=0.5)),
    ("sgd_nesterov", "sgd", torch.float64, dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("sgd_weight_decay", "sgd", torch.float64, dict(lr=0.1, weight_decay=0.1)),
    ("sgd_momentum_weight_decay", "sgd", torch.float64, dict(lr=0.05, momentum=0.8, weight_decay=0.01)),
    ("sgd_nesterov_weight_decay", "sgd", torch.float64, dict(lr=0.05, momentum=0.5, nesterov=True, weight_decay=0.2)),
    ("adam_default", "adam", torch.float64, dict()),
    ("adam_lr", "adam", torch.float64, dict(lr=0.1, beta1=0.8, beta2=0.9, eps=1e-3)),
    ("adam_amsgrad", "adam", torch.float64, dict(lr=0.1, amsgrad=True)),
    ("adam_weight_decay", "adam", torch.float64, dict(lr=0.1, weight_decay=0.1)),
    ("adam_amsgrad_weight_decay", "adam", torch.float64, dict(lr=0.05, weight_decay=0.5, amsgrad=True)),
    ("adamw_default", "adamw", torch.float64, dict()),
    ("adamw_weight_decay", "adamw", torch.float64, dict(lr=0.1, weight_decay=0.5)),
    ("adamw_amsgrad", "adamw", torch.float64, dict(lr=0.1, weight_decay=0.1, amsgrad=True)),
    ("rmsprop_plain", "rmsprop", torch.float64, dict()),
    ("rmsprop_centered", "rmsprop", torch.float64, dict(lr=0.05, centered=True)),
    ("rmsprop_momentum", "rmsprop", torch.float64, dict(lr=0.05, momentum=0.9)),
    ("rmsprop_weight_decay", "rmsprop", torch.float64, dict(lr=0.05, alpha=0.9, weight_decay=0.1)),
    ("rmsprop_centered_momentum", "rmsprop", torch.float64,
     dict(lr=0.01, alpha=0.8, eps=1e-4, momentum=0.5, centered=True, weight_decay=0.05)),
    ("adam_float32", "adam", torch.float32, dict(lr=0.1)),
    ("adamw_amsgrad_float32", "adamw", torch.float32, dict(lr=0.1, amsgrad=True)),
    ("sgd_nesterov_float32", "sgd", torch.float32, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("rmsprop_centered_float32", "rmsprop", torch.float32, dict(lr=0.05, momentum=0.9, centered=True)),
]

DEFAULTS = {
    "sgd": dict(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False),
    "adam": dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False),
    "adamw": dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2, amsgrad=False),
    "rmsprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False),
}


def make_optimizer(kind, params, o):
    if kind == "sgd":
        return torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"], dampening=o["dampening"],
                               weight_decay=o["weight_decay"], nesterov=o["nesterov"], foreach=False)
    if kind in ("adam", "adamw"):
        cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        return cls(params, lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                   weight_decay=o["weight_decay"], amsgrad=o["amsgrad"], foreach=False)
    return torch.optim.RMSprop(params, lr=o["lr"], alpha=o["alpha"], eps=o["eps"], weight_decay=o["weight_decay"],
                               momentum=o["momentum"], centered=o["centered"], foreach=False)


def run_case(kind, dtype, options):
    o = dict(DEFAULTS[kind])
    o.update(options)
    W = W0.clone().to(dtype).requires_grad_()
    b = B0.clone().to(dtype).requires_grad_()
    opt = make_optimizer(kind, [W, b], o)
    rows = []
    for k in range(STEPS):
        W.grad = GRADS_W[k].to(dtype).clone()
        b.grad = GRADS_B[k].to(dtype).clone() if B_HAS_GRAD[k] else None
        opt.step()
        rows.append(torch.cat([W.detach().flatten(), b.detach().flatten()]).double().tolist())
    return o, rows


# ------------------------------------------------------------------ schedules
SCHEDULE_STEPS = 12


def lr_sequence(make):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.5)
    schedulers = make(opt)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(SCHEDULE_STEPS):
        opt.step()
        for s in schedulers:
            s.step()
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


LR = torch.optim.lr_scheduler
SCHEDULES = [
    # name, kind, step_size, gamma, t_max, eta_min, start_factor, end_factor, total_iters, maker
    ("step_3_half", "step", 3, 0.5, 0, 0.0, 0, 0, 0, lambda o: [LR.StepLR(o, 3, 0.5)]),
    ("step_1_tenth", "step", 1, 0.1, 0, 0.0, 0, 0, 0, lambda o: [LR.StepLR(o, 1, 0.1)]),
    ("cosine_3", "cosine", 0, 0, 3, 0.0, 0, 0, 0, lambda o: [LR.CosineAnnealingLR(o, 3)]),
    ("cosine_6_eta", "cosine", 0, 0, 6, 0.05, 0, 0, 0, lambda o: [LR.CosineAnnealingLR(o, 6, 0.05)]),
    ("cosine_5_eta", "cosine", 0, 0, 5, 0.01, 0, 0, 0, lambda o: [LR.CosineAnnealingLR(o, 5, 0.01)]),
    ("linear_default", "linear", 0, 0, 0, 0, 1.0 / 3, 1.0, 5, lambda o: [LR.LinearLR(o)]),
    ("linear_warmup", "linear", 0, 0, 0, 0, 0.25, 1.0, 4, lambda o: [LR.LinearLR(o, 0.25, 1.0, 4)]),
    ("linear_decay", "linear", 0, 0, 0, 0, 1.0, 0.1, 6, lambda o: [LR.LinearLR(o, 1.0, 0.1, 6)]),
]
# Two schedulers on one optimizer, both stepped each period: the cosine one
# is made second and takes the lr the optimizer had before the warm-up
# (torch's group['initial_lr']) as its base.
CHAINED = lr_sequence(lambda o: [LR.LinearLR(o, 0.2, 1.0, 3), LR.CosineAnnealingLR(o, 4, 0.01)])

# ------------------------------------------------------------------ clip_grad_norm_
CLIP_SHAPES = [(2, 3), (4,), (5,)]
clip_gen = torch.Generator().manual_seed(7)
CLIP_GRADS = [rounded(CLIP_SHAPES[0], clip_gen), rounded(CLIP_SHAPES[1], clip_gen, 2.0)]
CLIP_CASES = []
for dtype in (torch.float64, torch.float32):
    for norm_type in (2.0, 1.0, math.inf, 3.0):
        for max_norm in (1.0, 100.0):
            params = [torch.zeros(s, dtype=dtype, requires_grad=True) for s in CLIP_SHAPES]
            for p, g in zip(params, CLIP_GRADS):
                p.grad = g.to(dtype).clone()
            total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
            clipped = torch.cat([p.grad.flatten() for p in params[:2]]).double().tolist()
            CLIP_CASES.append((dtype == torch.float32, max_norm, norm_type, float(total), clipped))


def c_double(v):
    if math.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    return repr(float(v))


def c_array(values):
    return "{ " + ", ".join(c_double(v) for v in values) + " }"


def main():
    out = []
    w = out.append
    w("/* Generated by scripts/make_optim_fixtures.py with PyTorch %s. Do not edit. */" % torch.__version__)
    w("#ifndef OPTIM_FIXTURES_H")
    w("#define OPTIM_FIXTURES_H")
    w("")
    w("#include <math.h>")
    w("#include <stdint.h>")
    w("")
    w("enum { OPTIM_STEPS = %d, OPTIM_VALUES = 16 }; /* W (3, 4) then b (4), flattened */" % STEPS)
    w("static const double optim_initial[OPTIM_VALUES] = %s;" % c_array(W0.flatten().tolist() + B0.tolist()))
    w("/* The gradient of each step; b has none where optim_b_has_grad is 0. */")
    w("static const double optim_grads[OPTIM_STEPS][OPTIM_VALUES] = {")
    for k in range(STEPS):
        w("    %s," % c_array(GRADS_W[k].flatten().tolist() + GRADS_B[k].tolist()))
    w("};")
    w("static const int optim_b_has_grad[OPTIM_STEPS] = { %s };" % ", ".join("1" if h else "0" for h in B_HAS_GRAD))
    w("")
    w("typedef struct {")
    w("    const char *name;")
    w("    const char *kind; /* sgd, adam, adamw, rmsprop */")
    w("    int         float32;")
    w("    double      lr, momentum, dampening, weight_decay, beta1, beta2, eps, alpha;")
    w("    int         nesterov, amsgrad, centered;")
    w("    double      expected[OPTIM_STEPS][OPTIM_VALUES]; /* W and b after each step */")
    w("} optim_case;")
    w("")
    w("static const optim_case optim_cases[] = {")
    for name, kind, dtype, options in CASES:
        o, rows = run_case(kind, dtype, options)
        w("    {")
        w('        "%s", "%s", %d,' % (name, kind, 1 if dtype == torch.float32 else 0))
        w("        %s, %s, %s, %s, %s, %s, %s, %s," % tuple(
            c_double(o.get(k, 0.0)) for k in ("lr", "momentum", "dampening", "weight_decay", "beta1", "beta2",
                                               "eps", "alpha")))
        w("        %d, %d, %d," % (o.get("nesterov", False), o.get("amsgrad", False), o.get("centered", False)))
        w("        {")
        for row in rows:
            w("            %s," % c_array(row))
        w("        },")
        w("    },")
    w("};")
    w("")
    w("/* Schedules on an optimizer with lr 0.5: lr after construction, then")
    w(" * after each of 12 scheduler steps. */")
    w("enum { SCHEDULE_VALUES = %d };" % (SCHEDULE_STEPS + 1))
    w("typedef struct {")
    w("    const char *name;")
    w("    const char *kind; /* step, cosine, linear */")
    w("    int64_t     step_size;")
    w("    double      gamma;")
    w("    int64_t     t_max;")
    w("    double      eta_min, start_factor, end_factor;")
    w("    int64_t     total_iters;")
    w("    double      lrs[SCHEDULE_VALUES];")
    w("} schedule_case;")
    w("static const schedule_case schedule_cases[] = {")
    for name, kind, step_size, gamma, t_max, eta_min, start, end, total, make in SCHEDULES:
        w('    { "%s", "%s", %d, %s, %d, %s, %s, %s, %d, %s },' % (
            name, kind, step_size, c_double(gamma), t_max, c_double(eta_min), c_double(start), c_double(end), total,
            c_array(lr_sequence(make))))
    w("};")
    w("/* LinearLR(0.2, 1.0, 3) then CosineAnnealingLR(4, 0.01) on the same optimizer")
    w(" * (lr 0.5), both stepped each period. */")
    w("static const double schedule_chained_lrs[SCHEDULE_VALUES] = %s;" % c_array(CHAINED))
    w("")
    w("/* clip_grad_norm_ over three parameters (2, 3), (4) and (5); the last has")
    w(" * no gradient. */")
    w("static const double clip_grads[10] = %s;" % c_array(
        CLIP_GRADS[0].flatten().tolist() + CLIP_GRADS[1].tolist()))
    w("typedef struct {")
    w("    int    float32;")
    w("    double max_norm, norm_type, total;")
    w("    double clipped[10];")
    w("} clip_case;")
    w("static const clip_case clip_cases[] = {")
    for float32, max_norm, norm_type, total, clipped in CLIP_CASES:
        w("    { %d, %s, %s, %s, %s }," % (float32, c_double(max_norm), c_double(norm_type), c_double(total),
                                            c_array(clipped)))
    w("};")
    w("")
    w("#endif /* OPTIM_FIXTURES_H */")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "optim_fixtures.h")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()

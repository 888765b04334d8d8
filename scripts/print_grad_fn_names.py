#!/usr/bin/env python3
"""Print the grad_fn name PyTorch gives for the op behind each nabla op.

nb_grad_fn_name returns exactly type(t.grad_fn).__name__ of the equivalent
PyTorch expression; this script is where those names come from. Run it with
the PyTorch the project compares against (1.13):

    /usr/bin/python3 scripts/print_grad_fn_names.py

It prints one line per nabla op: the nabla op, the name, and the PyTorch
expression it was read from. Ops whose nabla form is a composite with no
node of its own are listed at the end with the reason.
"""
import torch
import torch.nn.functional as F

x = torch.rand(3, 4, dtype=torch.float64, requires_grad=True)
y = torch.rand(3, 4, dtype=torch.float64, requires_grad=True)
v = torch.rand(4, dtype=torch.float64, requires_grad=True)
m = torch.rand(4, 2, dtype=torch.float64, requires_grad=True)
b3 = torch.rand(2, 3, 4, dtype=torch.float64, requires_grad=True)
b3r = torch.rand(2, 4, 2, dtype=torch.float64, requires_grad=True)
img = torch.rand(1, 2, 6, 6, dtype=torch.float64, requires_grad=True)
w = torch.rand(3, 2, 3, 3, dtype=torch.float64, requires_grad=True)
mask = x.detach() > 0.5
index = torch.tensor([[0, 1, 2, 0]])
labels = torch.tensor([0, 1, 3])

ROWS = [
    # (nabla op, PyTorch expression)
    ("nb_neg", lambda: torch.neg(x)),
    ("nb_abs", lambda: torch.abs(x)),
    ("nb_sign", lambda: torch.sign(x)),
    ("nb_exp", lambda: torch.exp(x)),
    ("nb_log", lambda: torch.log(x)),
    ("nb_log1p", lambda: torch.log1p(x)),
    ("nb_expm1", lambda: torch.expm1(x)),
    ("nb_sqrt", lambda: torch.sqrt(x)),
    ("nb_rsqrt", lambda: torch.rsqrt(x)),
    ("nb_sin", lambda: torch.sin(x)),
    ("nb_cos", lambda: torch.cos(x)),
    ("nb_tanh", lambda: torch.tanh(x)),
    ("nb_sigmoid", lambda: torch.sigmoid(x)),
    ("nb_relu", lambda: torch.relu(x)),
    ("nb_silu", lambda: F.silu(x)),
    ("nb_erf", lambda: torch.erf(x)),
    ("nb_gelu", lambda: F.gelu(x)),
    ("nb_softplus", lambda: F.softplus(x)),
    ("nb_clamp", lambda: torch.clamp(x, 0.2, 0.8)),
    ("nb_add", lambda: torch.add(x, y)),
    ("nb_sub", lambda: torch.sub(x, y)),
    ("nb_mul", lambda: torch.mul(x, y)),
    ("nb_div", lambda: torch.div(x, y)),
    ("nb_remainder", lambda: torch.remainder(x, y)),
    ("nb_pow", lambda: torch.pow(x, y)),
    ("nb_maximum", lambda: torch.maximum(x, y)),
    ("nb_minimum", lambda: torch.minimum(x, y)),
    ("nb_where", lambda: torch.where(mask, x, y)),
    ("nb_sum", lambda: torch.sum(x)),
    ("nb_sum_dims", lambda: torch.sum(x, (1,))),
    ("nb_mean", lambda: torch.mean(x)),
    ("nb_mean_dims", lambda: torch.mean(x, (1,))),
    ("nb_prod", lambda: torch.prod(x)),
    ("nb_prod_dims", lambda: torch.prod(x, 1)),
    ("nb_max", lambda: torch.max(x)),
    ("nb_min", lambda: torch.min(x)),
    ("nb_max_dim", lambda: torch.max(x, 1)[0]),
    ("nb_min_dim", lambda: torch.min(x, 1)[0]),
    ("nb_var", lambda: torch.var(x)),
    ("nb_var_dims", lambda: torch.var(x, (1,))),
    ("nb_std", lambda: torch.std(x)),
    ("nb_std_dims", lambda: torch.std(x, (1,))),
    ("nb_logsumexp", lambda: torch.logsumexp(x, (1,))),
    ("nb_norm", lambda: torch.norm(x, 3)),
    ("nb_norm_dims", lambda: torch.norm(x, 3, (1,))),
    ("nb_cumsum", lambda: torch.cumsum(x, 1)),
    ("nb_softmax", lambda: torch.softmax(x, 1)),
    ("nb_log_softmax", lambda: torch.log_softmax(x, 1)),
    ("nb_matmul (2-D x 2-D)", lambda: torch.matmul(x, m)),
    ("nb_mm", lambda: torch.mm(x, m)),
    ("nb_bmm", lambda: torch.bmm(b3, b3r)),
    ("nb_dot", lambda: torch.dot(v, v)),
    ("nb_matmul (1-D x 1-D)", lambda: torch.matmul(v, v)),
    ("nb_matmul (2-D x 1-D)", lambda: torch.matmul(x, v)),
    ("nb_matmul (batched)", lambda: torch.matmul(b3, b3r)),
    ("nb_outer", lambda: torch.outer(v, v)),
    ("nb_cat", lambda: torch.cat([x, y], 0)),
    ("nb_stack", lambda: torch.stack([x, y], 0)),
    ("nb_index_select", lambda: torch.index_select(x, 1, torch.tensor([0, 2]))),
    ("nb_gather", lambda: torch.gather(x, 0, index)),
    ("nb_scatter", lambda: torch.scatter(x, 0, index, y)),
    ("nb_scatter_add", lambda: torch.scatter_add(x, 0, index, y)),
    ("nb_masked_fill", lambda: x.masked_fill(mask, 0.0)),
    ("nb_masked_select", lambda: torch.masked_select(x, mask)),
    ("nb_sort", lambda: torch.sort(x, 1)[0]),
    ("nb_topk", lambda: torch.topk(x, 2, 1)[0]),
    ("nb_conv2d", lambda: F.conv2d(img, w[:, :2])),
    ("nb_conv_transpose2d", lambda: F.conv_transpose2d(img, w.transpose(0, 1)[:2, :3].contiguous())),
    ("nb_max_pool2d", lambda: F.max_pool2d(img, 2)),
    ("nb_avg_pool2d", lambda: F.avg_pool2d(img, 2)),
    ("nb_adaptive_avg_pool2d", lambda: F.adaptive_avg_pool2d(img, (2, 2))),
    ("nb_pad", lambda: F.pad(x, (1, 1))),
    ("nb_linear", lambda: F.linear(x, m.t())),
    ("nb_linear (no bias)", lambda: F.linear(x, m.t(), None)),
    ("nb_cross_entropy", lambda: F.cross_entropy(x, labels)),
    ("nb_binary_cross_entropy", lambda: F.binary_cross_entropy(torch.sigmoid(x), mask.double())),
    ("nb_clone", lambda: torch.clone(x)),
    ("nb_to_dtype (float64 -> float32)", lambda: x.to(torch.float32)),
    # issue 13: elementwise math, rounding, activations
    ("nb_tan", lambda: torch.tan(x)),
    ("nb_asin", lambda: torch.asin(x)),
    ("nb_acos", lambda: torch.acos(x)),
    ("nb_atan", lambda: torch.atan(x)),
    ("nb_sinh", lambda: torch.sinh(x)),
    ("nb_cosh", lambda: torch.cosh(x)),
    ("nb_asinh", lambda: torch.asinh(x)),
    ("nb_acosh", lambda: torch.acosh(x + 1)),
    ("nb_atanh", lambda: torch.atanh(x)),
    ("nb_asinh_ (in place)", lambda: x.clone().asinh_()),
    ("nb_acosh_ (in place)", lambda: (x + 1).acosh_()),
    ("nb_atanh_ (in place)", lambda: x.clone().atanh_()),
    ("nb_log2", lambda: torch.log2(x)),
    ("nb_log10", lambda: torch.log10(x)),
    ("nb_exp2", lambda: torch.exp2(x)),
    ("nb_reciprocal", lambda: torch.reciprocal(x)),
    ("nb_sinc", lambda: torch.sinc(x)),
    ("nb_square", lambda: torch.square(x)),
    ("nb_floor", lambda: torch.floor(x)),
    ("nb_ceil", lambda: torch.ceil(x)),
    ("nb_round", lambda: torch.round(x)),
    ("nb_round_decimals", lambda: torch.round(x, decimals=2)),
    ("nb_trunc", lambda: torch.trunc(x)),
    ("nb_frac", lambda: torch.frac(x)),
    ("nb_leaky_relu", lambda: F.leaky_relu(x, 0.1)),
    ("nb_leaky_relu_ (in place)", lambda: F.leaky_relu_(x.clone(), 0.1)),
    ("nb_elu", lambda: F.elu(x)),
    ("nb_elu_ (in place)", lambda: F.elu_(x.clone())),
    ("nb_selu", lambda: F.selu(x)),
    ("nb_celu", lambda: F.celu(x)),
    ("nb_celu_ (in place)", lambda: F.celu_(x.clone())),
    ("nb_hardtanh", lambda: F.hardtanh(x)),
    ("nb_relu6", lambda: F.relu6(x)),
    ("nb_hardswish", lambda: F.hardswish(x)),
    ("nb_hardsigmoid", lambda: F.hardsigmoid(x)),
    ("nb_mish", lambda: F.mish(x)),
    ("nb_softsign (composite, as torch's)", lambda: F.softsign(x)),
    ("nb_logsigmoid", lambda: F.logsigmoid(x)),
    ("nb_nan_to_num", lambda: torch.nan_to_num(x)),
    ("nb_fmod", lambda: torch.fmod(x, y)),
    ("nb_fmod_scalar", lambda: torch.fmod(x, 0.3)),
    ("nb_atan2", lambda: torch.atan2(x, y)),
    ("nb_copysign", lambda: torch.copysign(x, y)),
    ("nb_copysign_scalar", lambda: torch.copysign(x, -1.0)),
    ("nb_hypot", lambda: torch.hypot(x, y)),
    ("nb_xlogy", lambda: torch.xlogy(x, y)),
    ("nb_xlogy_scalar", lambda: torch.xlogy(x, 2.0)),
]

COMPOSITE = [
    ("max_pool2d's backward (max_unpool)", "nabla records its own primitive; PyTorch's max_pool2d_with_indices_backward has no double-backward node of that name"),
    ("window mean adjoint (avg_pool2d backward)", "as above: AvgPool2DBackwardBackward0 would be torch's, nabla's adjoint is a separate primitive"),
    ("conv2d_weight", "nabla's weight-gradient primitive; PyTorch has no separate forward op"),
    ("nb_glu", "composite of narrow, sigmoid and mul (MulBackward0); torch's GluBackward0"),
    ("nb_prelu", "composite of gt, mul and where (WhereBackward0); torch's PreluBackward0"),
]

if __name__ == "__main__":
    print(f"# torch {torch.__version__}")
    for op, fn in ROWS:
        out = fn()
        print(f"{op:36s} {type(out.grad_fn).__name__}")
    print("# nabla-only nodes (no PyTorch equivalent):")
    for op, why in COMPOSITE:
        print(f"# {op}: {why}")

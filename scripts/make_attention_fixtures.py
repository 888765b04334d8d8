#!/usr/bin/python3
"""Write the PyTorch side of tests/test_attention.c into tests/data/attention/.

Run with the Python that has PyTorch:  /usr/bin/python3 scripts/make_attention_fixtures.py

PyTorch 1.13 has scaled_dot_product_attention only as a private op, so the
reference is the formula PyTorch 2.x documents for it, in float64:

    softmax(q @ k.transpose(-2, -1) * scale + bias, -1) @ v

with bias -inf where a bool mask is False or the causal rule (tril) forbids,
or the float mask. For each sdpa case: inputs q, k, v (and the mask), the
output, and the gradients of sum(out * w) for a fixed w.

mha: torch.nn.MultiheadAttention(8, 2, batch_first=True) as cross-attention
with a float attn_mask and a bool key_padding_mask, need_weights=True
(averaged): its state_dict, inputs, output, weights, and the gradients of
sum(out * w) with respect to query, key, value and in_proj_weight.

encoder_post / encoder_pre: torch.nn.TransformerEncoder of 2 layers
(d_model 16, nhead 4, dim_feedforward 32), trained a few steps, then in eval
mode: post-norm ReLU (batch_first False) with a final LayerNorm, and
pre-norm GELU (batch_first True) without. State dicts as safetensors
(scripts/make_interop_fixture.py's writer), inputs and torch's outputs.
encoder_masked: encoder_pre's weights with dropout 0 in training mode (torch
1.13's eval fast path turns padded positions into zeros) with a causal
attn_mask and a key_padding_mask.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_interop_fixture import write_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "attention")


def save(name, t):
    np.save(os.path.join(OUT, name + ".npy"), t.detach().numpy(), allow_pickle=False)


def reference_sdpa(q, k, v, mask=None, causal=False, scale=None):
    scale = 1.0 / q.shape[-1] ** 0.5 if scale is None else scale
    scores = q @ k.transpose(-2, -1) * scale
    if causal:
        allowed = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
        scores = scores.masked_fill(~allowed, float("-inf"))
    elif mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, float("-inf"))
    elif mask is not None:
        scores = scores + mask
    return torch.softmax(scores, -1) @ v


def sdpa_case(name, q_shape, k_shape, v_shape, mask=None, causal=False, scale=None):
    q = torch.randn(q_shape, dtype=torch.float64, requires_grad=True)
    k = torch.randn(k_shape, dtype=torch.float64, requires_grad=True)
    v = torch.randn(v_shape, dtype=torch.float64, requires_grad=True)
    out = reference_sdpa(q, k, v, mask, causal, scale)
    w = torch.randn(out.shape, dtype=torch.float64)
    (out * w).sum().backward()
    for label, t in (("q", q), ("k", k), ("v", v), ("out", out), ("w", w)):
        save(f"{name}_{label}", t)
    for label, t in (("q", q), ("k", k), ("v", v)):
        save(f"{name}_grad_{label}", t.grad)
    if mask is not None:
        save(f"{name}_mask", mask)


def mha_case():
    mha = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():  # non-zero biases, so that a slicing error shows
        mha.in_proj_bias.normal_(0, 0.1)
        mha.out_proj.bias.normal_(0, 0.1)
    query = torch.randn(3, 5, 8, requires_grad=True)
    key = torch.randn(3, 6, 8, requires_grad=True)
    value = torch.randn(3, 6, 8, requires_grad=True)
    attn_mask = torch.randn(5, 6) * 0.5
    padding = torch.zeros(3, 6, dtype=torch.bool)
    padding[0, 4:] = True
    padding[2, 0] = True
    out, weights = mha(query, key, value, key_padding_mask=padding, attn_mask=attn_mask, need_weights=True)
    w = torch.randn(out.shape)
    (out * w).sum().backward()
    write_safetensors(os.path.join(OUT, "mha.safetensors"), mha.state_dict())
    for label, t in (("query", query), ("key", key), ("value", value), ("attn_mask", attn_mask),
                     ("out", out), ("weights", weights), ("w", w)):
        save(f"mha_{label}", t)
    save("mha_padding", padding)
    for label, t in (("query", query.grad), ("key", key.grad), ("value", value.grad),
                     ("in_proj_weight", mha.in_proj_weight.grad)):
        save(f"mha_grad_{label}", t)


def train(model, inputs, batch_first, steps=5):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        out = model(inputs)
        loss = (out.mean(1 if batch_first else 0) ** 2).sum()
        loss.backward()
        optimizer.step()
    model.eval()


def encoder_case(name, batch_first, norm_first, activation, final_norm):
    layer = torch.nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, dropout=0.1, activation=activation,
                                             batch_first=batch_first, norm_first=norm_first)
    norm = torch.nn.LayerNorm(16) if final_norm else None
    encoder = torch.nn.TransformerEncoder(layer, 2, norm=norm, enable_nested_tensor=False)
    shape = (4, 7, 16) if batch_first else (7, 4, 16)
    train(encoder, torch.randn(shape), batch_first)
    inputs = torch.randn(shape)
    with torch.no_grad():
        expected = encoder(inputs)
    write_safetensors(os.path.join(OUT, name + ".safetensors"), encoder.state_dict())
    save(name + "_input", inputs)
    save(name + "_expected", expected)
    return encoder, inputs


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)

    sdpa_case("sdpa_plain", (2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 3))
    sdpa_case("sdpa_causal", (2, 2, 7, 4), (2, 2, 5, 4), (2, 2, 5, 6), causal=True)
    sdpa_case("sdpa_bool", (2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 3), mask=torch.rand(2, 1, 5, 6) > 0.3)
    sdpa_case("sdpa_float", (3, 5, 4), (3, 6, 4), (3, 6, 3), mask=torch.randn(5, 6, dtype=torch.float64),
              scale=0.3)
    mha_case()
    encoder_case("encoder_post", batch_first=False, norm_first=False, activation="relu", final_norm=True)
    encoder, _ = encoder_case("encoder_pre", batch_first=True, norm_first=True, activation="gelu",
                              final_norm=False)

    for module in encoder.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        if isinstance(module, torch.nn.MultiheadAttention):
            module.dropout = 0.0
    encoder.train()
    inputs = torch.randn(3, 6, 16)
    causal = torch.ones(6, 6, dtype=torch.bool).triu(1)
    padding = torch.zeros(3, 6, dtype=torch.bool)
    padding[1, 4:] = True
    with torch.no_grad():
        expected = encoder(inputs, mask=causal, src_key_padding_mask=padding)
    save("encoder_masked_input", inputs)
    save("encoder_masked_padding", padding)
    save("encoder_masked_expected", expected)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Write tests/data/rnn/rnn_cases.safetensors: PyTorch 1.13's values and
gradients for the recurrent layers, read by tests/test_rnn.c.

Run with the Python that has PyTorch:  /usr/bin/python3 scripts/make_rnn_fixtures.py

Each case (the table CASES, mirrored in tests/test_rnn.c) runs torch.nn.RNN
/ LSTM / GRU in float64 on seeded inputs and stores, under "NAME.KEY":
  x, h0, c0 (when given), lengths (int64, when given), p0 .. pN (the
  module's parameters in _flat_weights order), out, h_n, c_n (LSTM), the
  weights wo, wh, wc of the loss sum(out*wo) + sum(h_n*wh) + sum(c_n*wc),
  and its gradients gx, gh0, gc0, gp0 .. gpN.
Lengths run through pack_padded_sequence(enforce_sorted=False) and
pad_packed_sequence(total_length=T), the semantics nabla's lengths follow.
Cells (RNNCell, LSTMCell, GRUCell) are cases too (kind ending in "cell").

Also writes tests/data/interop/lstm.safetensors (+ lstm_input.npy,
lstm_expected.npy, lstm_h_n.npy, lstm_c_n.npy): a 2-layer bidirectional
LSTM trained a few steps in PyTorch, for the interop test.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_interop_fixture import write_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name, kind, I, H, layers, bidirectional, bias, batch_first, T, B, states, lengths, nonlinearity
CASES = [
    ("lstm_basic", "lstm", 3, 4, 1, False, True, False, 5, 2, False, None, "tanh"),
    ("lstm_deep", "lstm", 3, 4, 2, True, True, False, 5, 3, True, None, "tanh"),
    ("lstm_nobias_bf", "lstm", 2, 3, 2, False, False, True, 4, 2, True, None, "tanh"),
    ("lstm_lengths", "lstm", 3, 4, 2, True, True, True, 6, 3, True, [6, 2, 4], "tanh"),
    ("lstm_unbatched", "lstm", 3, 4, 1, True, True, False, 4, 0, True, None, "tanh"),
    ("gru_basic", "gru", 3, 4, 1, False, True, False, 5, 2, False, None, "tanh"),
    ("gru_deep", "gru", 3, 4, 2, True, True, False, 5, 3, True, None, "tanh"),
    ("gru_nobias_lengths", "gru", 2, 3, 1, True, False, True, 5, 3, True, [3, 5, 1], "tanh"),
    ("rnn_tanh", "rnn", 3, 4, 2, True, True, False, 4, 2, True, None, "tanh"),
    ("rnn_relu_lengths", "rnn", 3, 4, 2, True, True, True, 5, 3, False, [5, 1, 3], "relu"),
    ("rnncell", "rnncell", 3, 4, 1, False, True, False, 1, 2, True, None, "tanh"),
    ("rnncell_relu", "rnncell", 3, 4, 1, False, False, False, 1, 2, False, None, "relu"),
    ("lstmcell", "lstmcell", 3, 4, 1, False, True, False, 1, 2, True, None, "tanh"),
    ("grucell", "grucell", 3, 4, 1, False, True, False, 1, 2, True, None, "tanh"),
]


def make_module(kind, I, H, layers, bidir, bias, batch_first, nonlinearity):
    if kind == "lstm":
        return torch.nn.LSTM(I, H, layers, bias=bias, batch_first=batch_first, bidirectional=bidir)
    if kind == "gru":
        return torch.nn.GRU(I, H, layers, bias=bias, batch_first=batch_first, bidirectional=bidir)
    if kind == "rnn":
        return torch.nn.RNN(I, H, layers, nonlinearity=nonlinearity, bias=bias, batch_first=batch_first,
                            bidirectional=bidir)
    if kind == "lstmcell":
        return torch.nn.LSTMCell(I, H, bias=bias)
    if kind == "grucell":
        return torch.nn.GRUCell(I, H, bias=bias)
    return torch.nn.RNNCell(I, H, bias=bias, nonlinearity=nonlinearity)


def run_case(name, kind, I, H, layers, bidir, bias, batch_first, T, B, states, lengths, nonlinearity, out):
    torch.manual_seed(sum(map(ord, name)))
    m = make_module(kind, I, H, layers, bidir, bias, batch_first, nonlinearity).double()
    params = list(m.parameters())
    cell = kind.endswith("cell")
    D = 2 if bidir else 1
    if cell:
        x = torch.randn(B, I, dtype=torch.float64, requires_grad=True)
        state_shape = (B, H)
    elif B == 0:  # unbatched
        x = torch.randn(T, I, dtype=torch.float64, requires_grad=True)
        state_shape = (layers * D, H)
    else:
        x = torch.randn(*((B, T, I) if batch_first else (T, B, I)), dtype=torch.float64, requires_grad=True)
        state_shape = (layers * D, B, H)
    h0 = torch.randn(*state_shape, dtype=torch.float64, requires_grad=True) if states else None
    c0 = torch.randn(*state_shape, dtype=torch.float64, requires_grad=True) if states and "lstm" in kind else None
    if cell:
        if kind == "lstmcell":
            hx = (h0, c0) if states else None
            h, c = m(x, hx)
            outs = {"out": h, "c_n": c}
        else:
            outs = {"out": m(x, h0)}
    else:
        hx = (h0, c0) if kind == "lstm" and states else h0
        if lengths is not None:
            packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first,
                                                             enforce_sorted=False)
            po, hn = m(packed, hx)
            o, _ = torch.nn.utils.rnn.pad_packed_sequence(po, batch_first=batch_first, total_length=T)
        else:
            o, hn = m(x, hx)
        outs = {"out": o}
        if kind == "lstm":
            outs["h_n"], outs["c_n"] = hn
        else:
            outs["h_n"] = hn
    loss = 0
    weights = {}
    for key, value in outs.items():
        w = torch.randn(value.shape, dtype=torch.float64)
        weights["w" + key[0] if key != "out" else "wo"] = w
        loss = loss + (value * w).sum()
    inputs = [x] + ([h0] if h0 is not None else []) + ([c0] if c0 is not None else []) + params
    grads = torch.autograd.grad(loss, inputs)
    p = name + "."
    out[p + "x"] = x.detach()
    if h0 is not None:
        out[p + "h0"] = h0.detach()
    if c0 is not None:
        out[p + "c0"] = c0.detach()
    if lengths is not None:
        out[p + "lengths"] = torch.tensor(lengths, dtype=torch.int64)
    for i, t in enumerate(params):
        out[p + "p%d" % i] = t.detach().clone()
    for key, value in outs.items():
        out[p + key] = value.detach().contiguous()
    for key, w in weights.items():
        out[p + key] = w
    g = list(grads)
    out[p + "gx"] = g.pop(0)
    if h0 is not None:
        out[p + "gh0"] = g.pop(0)
    if c0 is not None:
        out[p + "gc0"] = g.pop(0)
    for i, t in enumerate(g):
        out[p + "gp%d" % i] = t


def interop_lstm():
    """A 2-layer bidirectional LSTM, batch_first, trained 5 steps of Adam."""
    torch.manual_seed(14)
    m = torch.nn.LSTM(5, 6, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(3, 7, 5)
    target = torch.randn(3, 7, 12)
    opt = torch.optim.Adam(m.parameters(), lr=0.05)
    for _ in range(5):
        opt.zero_grad()
        o, _ = m(x)
        torch.nn.functional.mse_loss(o, target).backward()
        opt.step()
    m.eval()
    with torch.no_grad():
        o, (h, c) = m(x)
    d = os.path.join(ROOT, "tests", "data", "interop")
    write_safetensors(os.path.join(d, "lstm.safetensors"), {k: v.contiguous() for k, v in m.state_dict().items()})
    np.save(os.path.join(d, "lstm_input.npy"), x.numpy())
    np.save(os.path.join(d, "lstm_expected.npy"), o.numpy())
    np.save(os.path.join(d, "lstm_h_n.npy"), h.numpy())
    np.save(os.path.join(d, "lstm_c_n.npy"), c.numpy())


def main():
    out = {}
    for case in CASES:
        run_case(*case, out)
    d = os.path.join(ROOT, "tests", "data", "rnn")
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, "rnn_cases.safetensors"), out)
    interop_lstm()
    print("wrote", len(out), "tensors")


if __name__ == "__main__":
    main()

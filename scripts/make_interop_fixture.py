#!/usr/bin/python3
"""Write the PyTorch side of the safetensors interop test into tests/data/interop/.

Run with the Python that has PyTorch:  /usr/bin/python3 scripts/make_interop_fixture.py

Two small models are trained for a few steps in PyTorch, then put in eval
mode; their state_dicts are written as safetensors files, with inputs and
the outputs PyTorch computes for them as .npy files. tests/test_interop.c
builds the same architectures with nabla modules, loads the files with
nb_module_load and must reproduce the outputs:

  mlp:  Sequential(Linear(6, 8), ReLU(), Linear(8, 3))
  cnn:  Sequential(Conv2d(1, 4, 3, padding=1), BatchNorm2d(4), ReLU(),
                   MaxPool2d(2), Flatten(), Linear(4 * 4 * 4, 3))  on 8x8 inputs
        (its state has BatchNorm's running statistics and the int64
        num_batches_tracked, as every torch checkpoint with batch norm does)

half.safetensors holds float16 and bfloat16 tensors written from torch's own
values, and half_f16.npy / half_bf16.npy what torch's .float() makes of them.

PyTorch 1.13 here has no safetensors package, so write_safetensors below
lays the file out as the reference library (huggingface/safetensors,
safetensors.torch.save_file) does: tensors sorted by dtype, widest first,
then by name, packed one after another; the header compact JSON in that
order, padded with spaces to a multiple of 8 bytes; an 8-byte little-endian
header length in front. nabla's nb_module_save must write the same bytes.
"""
import json
import os
import struct

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "interop")

# Name in the file, and the rank the reference library sorts by (its Dtype
# enum order; larger first).
DTYPES = {
    torch.bool: ("BOOL", 0),
    torch.uint8: ("U8", 1),
    torch.int8: ("I8", 2),
    torch.int16: ("I16", 5),
    torch.float16: ("F16", 7),
    torch.bfloat16: ("BF16", 8),
    torch.int32: ("I32", 9),
    torch.float32: ("F32", 11),
    torch.float64: ("F64", 12),
    torch.int64: ("I64", 13),
}


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.view(torch.int16)  # numpy has no bfloat16
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, tensors, metadata=None):
    order = sorted(tensors, key=lambda name: (-DTYPES[tensors[name].dtype][1], name))
    header, data, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    for name in order:
        t = tensors[name]
        raw = tensor_bytes(t)
        header[name] = {
            "dtype": DTYPES[t.dtype][0],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        data.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in data:
            f.write(raw)


def train(model, inputs, targets, steps=5, lr=0.1):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(inputs), targets)
        loss.backward()
        optimizer.step()
    model.eval()


def save_case(name, model, inputs):
    with torch.no_grad():
        expected = model(inputs)
    write_safetensors(os.path.join(OUT, name + ".safetensors"), model.state_dict())
    np.save(os.path.join(OUT, name + "_input.npy"), inputs.numpy(), allow_pickle=False)
    np.save(os.path.join(OUT, name + "_expected.npy"), expected.numpy(), allow_pickle=False)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)

    mlp = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    train(mlp, torch.randn(32, 6), torch.randint(0, 3, (32,)))
    save_case("mlp", mlp, torch.randn(5, 6))

    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 4 * 4, 3),
    )
    train(cnn, torch.randn(16, 1, 8, 8), torch.randint(0, 3, (16,)))
    save_case("cnn", cnn, torch.randn(4, 1, 8, 8))

    # Half precision: ordinary values of several scales, the extremes
    # (largest finite, smallest subnormal), signed zeros and infinities.
    base = torch.cat([torch.randn(54) * 10.0 ** torch.randint(-6, 5, (54,)).float(),
                      torch.tensor([0.0, -0.0, float("inf"), float("-inf")])])
    f16 = torch.cat([base, torch.tensor([65504.0, -65504.0, 2.0 ** -24, -(2.0 ** -24), 6.1e-5, 1.0 / 3])]).half()
    bf16 = torch.cat([base * 1e20, torch.tensor([3.3895e38, -3.3895e38, 2.0 ** -133, 1e-38, 1.0 / 3, -7.5])]).bfloat16()
    write_safetensors(os.path.join(OUT, "half.safetensors"), {"f16": f16.reshape(8, 8), "bf16": bf16.reshape(8, 8)},
                      metadata={"producer": "scripts/make_interop_fixture.py", "torch": torch.__version__})
    np.save(os.path.join(OUT, "half_f16.npy"), f16.float().reshape(8, 8).numpy(), allow_pickle=False)
    np.save(os.path.join(OUT, "half_bf16.npy"), bf16.float().reshape(8, 8).numpy(), allow_pickle=False)


if __name__ == "__main__":
    main()

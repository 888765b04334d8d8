#!/usr/bin/python3
"""The recipe of `nabla-train --model vit` in PyTorch, for the README's comparison.

Run with the Python that has PyTorch:
    /usr/bin/python3 scripts/train_vit_torch.py [--epochs N] [--lr X] [--seed N] [--threads N]

Same data (data/*.gz: 8,000 training and 2,000 test digits), same input
(pixels / 255, normalised with MNIST's mean 0.1307 and std 0.3081), same
network with the same parameter names as apps/train/vit.c (a state_dict of
this model and nabla-train's model.safetensors hold the same tensors), same
training: Adam, the lr annealed by a cosine to 0 over all steps (stepped
after every batch), batch 64 reshuffled each epoch, each training image
shifted by a random offset in [-1, 1]^2 pixels with zero fill, no label
smoothing. Random streams differ from nabla's, so single runs differ by
the seed-to-seed spread; --seeds N averages N seeds.
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


class VisionTransformer(torch.nn.Module):
    def __init__(self, width=64, heads=4, layers=2, feedforward=128):
        super().__init__()
        self.cls_token = torch.nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embedding = torch.nn.Parameter(torch.randn(1, 17, width) * 0.02)
        self.patch_embed = torch.nn.Linear(49, width)
        layer = torch.nn.TransformerEncoderLayer(width, heads, feedforward, dropout=0.0, activation="gelu",
                                                 batch_first=True, norm_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = torch.nn.LayerNorm(width)
        self.head = torch.nn.Linear(width, 10)

    def forward(self, x):  # x (B, 1, 28, 28)
        b = x.shape[0]
        patches = x.reshape(b, 4, 7, 4, 7).permute(0, 1, 3, 2, 4).reshape(b, 16, 49)
        h = torch.cat([self.cls_token.expand(b, 1, -1), self.patch_embed(patches)], 1) + self.pos_embedding
        h = self.encoder(h)
        return self.head(self.norm(h[:, 0]))


def shift(images, generator):  # images (B, 28, 28): each by its own offset in [-1, 1]^2, zero fill
    padded = F.pad(images, (1, 1, 1, 1))
    offsets = torch.randint(0, 3, (images.shape[0], 2), generator=generator)
    return torch.stack([padded[i, dy:dy + 28, dx:dx + 28] for i, (dy, dx) in enumerate(offsets.tolist())])


def run(args, seed):
    torch.manual_seed(seed)
    train_x = torch.from_numpy(read_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz")).copy()).float() / 255
    train_y = torch.from_numpy(read_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz")).copy()).long()
    test_x = torch.from_numpy(read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz")).copy()).float() / 255
    test_y = torch.from_numpy(read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz")).copy()).long()
    normal = lambda x: ((x - 0.1307) / 0.3081).unsqueeze(1)  # noqa: E731
    model = VisionTransformer()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps = args.epochs * ((len(train_x) + 63) // 64)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, 0)
    generator = torch.Generator().manual_seed(seed)
    started = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        for start in range(0, len(train_x), 64):
            index = order[start:start + 64]
            loss = F.cross_entropy(model(normal(shift(train_x[index], generator))), train_y[index])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(normal(test_x)).argmax(1) == test_y).float().mean().item()
        print(f"seed {seed} epoch {epoch + 1}: loss {loss.item():.4f} test accuracy {100 * accuracy:.2f}%", flush=True)
    print(f"seed {seed}: test accuracy {100 * accuracy:.2f}% in {time.time() - started:.1f} s")
    return accuracy


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", default=os.path.join(ROOT, "data"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = [run(args, args.seed + i) for i in range(args.seeds)]
    print(f"mean test accuracy over {len(results)} seed(s): {100 * np.mean(results):.2f}%")


if __name__ == "__main__":
    main()

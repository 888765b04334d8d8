#!/usr/bin/python3
"""The recipe of `nabla-train --model lstm` in PyTorch 1.13, for the README's
comparison (issue 14): sequential MNIST on the bundled digits.

    /usr/bin/python3 scripts/train_lstm_torch.py [--seeds 0 1 2] [--epochs 10] [--threads 2]

Each 28x28 image is read as 28 rows of 28 pixels (one row per step),
pixels / 255 normalised with mean 0.1307 and std 0.3081 as nabla-train
does; LSTM(28, 128, batch_first=True), Linear(128, 10) on the last step's
output; cross-entropy; Adam lr 2e-3 annealed to 0 by a cosine over every
step of the run (CosineAnnealingLR stepped per batch); batch 64, shuffled
each epoch, last partial batch kept; no augmentation, no label smoothing.
Prints the test accuracy on the 2,000 test digits after each epoch, and
per seed the final one.
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_idx(name):
    with gzip.open(os.path.join(ROOT, "data", name), "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def normalise(images):
    return (torch.from_numpy(images.astype(np.float32)) / 255.0 - 0.1307) / 0.3081


def run(seed, epochs, lr, batch):
    torch.manual_seed(seed)
    x_train = normalise(load_idx("train-images-idx3-ubyte.gz"))
    y_train = torch.from_numpy(load_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    x_test = normalise(load_idx("t10k-images-idx3-ubyte.gz"))
    y_test = torch.from_numpy(load_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    model = Classifier()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = (len(x_train) + batch - 1) // batch
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps, eta_min=0)
    accuracy = 0.0
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_train))
        for s in range(steps):
            idx = order[s * batch:(s + 1) * batch]
            loss = nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
        model.eval()
        with torch.no_grad():
            predicted = model(x_test).argmax(1)
        accuracy = (predicted == y_test).float().mean().item() * 100
        print(f"  seed {seed} epoch {epoch + 1}: test accuracy {accuracy:.2f}%", flush=True)
    return accuracy


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = []
    for seed in args.seeds:
        start = time.perf_counter()
        results.append(run(seed, args.epochs, args.lr, args.batch_size))
        print(f"seed {seed}: {results[-1]:.2f}% in {time.perf_counter() - start:.1f} s", flush=True)
    print(f"mean {np.mean(results):.2f}%, min {np.min(results):.2f}%, max {np.max(results):.2f}% over {len(results)} seeds")


if __name__ == "__main__":
    main()

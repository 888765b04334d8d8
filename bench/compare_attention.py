#!/usr/bin/python3
"""compare_attention.py - bench_attention's cases in PyTorch (Python).

Prints the same lines as build/<dir>/bench_attention:

    case threads min_us median_us
    # memory case peak_extra_bytes score_matrices

PyTorch 1.13 has no public scaled_dot_product_attention (only the private
torch._scaled_dot_product_attention, whose CPU path is the same composite),
so both rows time the composite PyTorch 2.x documents:

    scores = (q @ k.transpose(-2, -1)) * 32 ** -0.5
    scores = scores.masked_fill(~tril, -inf); out = softmax(scores, -1) @ v
    out.backward(r)

on q, k, v (8, 4, 256, 32) float32 requiring grad; sdpa_fused_causal is
printed as the same numbers, so that bench/compare.py --join puts nabla's
fused kernel beside it. Memory: the process's peak RSS growth during one
iteration (VmHWM after resetting it through /proc/self/clear_refs), over
the size of the scores of all heads (8 MiB), measured in a child process
run with MALLOC_MMAP_THRESHOLD_=65536 (else glibc serves the iteration
from memory the warm-up already touched and the growth reads near 0).

Usage: compare_attention.py [--threads N] [--reps N] [--filter SUBSTRING]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import torch

B, H, L, D = 8, 4, 256, 32


def timeit_us(fn, reps):
    """(min, median) microseconds of fn over reps calls, after 3 warm-up calls."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e6)
    return min(times), statistics.median(times)


def rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--filter", default=None)
    parser.add_argument("--memory-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.manual_seed(0)
    q, k, v = (torch.randn(B, H, L, D, requires_grad=True) for _ in range(3))
    r = torch.randn(B, H, L, D)
    allowed = torch.ones(L, L, dtype=torch.bool).tril()

    def iteration():
        scores = (q @ k.transpose(-2, -1)) * D ** -0.5
        out = torch.softmax(scores.masked_fill(~allowed, float("-inf")), -1) @ v
        out.backward(r)
        q.grad = k.grad = v.grad = None

    if not args.memory_only:
        print(f"# sdpa: q, k, v ({B}, {H}, {L}, {D}) float32, causal, forward + backward; torch {torch.__version__} "
              "composite (no public SDPA)")
    for threads in ([] if args.memory_only else [args.threads] if args.threads else [1, 2]):
        torch.set_num_threads(threads)
        times = timeit_us(iteration, args.reps)
        for name in ("sdpa_fused_causal", "sdpa_composite_causal"):
            if args.filter is None or args.filter in name:
                print(f"{name} {threads} {times[0]:.3f} {times[1]:.3f}", flush=True)
    if not args.memory_only:
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
        sys.stdout.write(subprocess.run([sys.executable, __file__, "--memory-only"], env=env, text=True,
                                        capture_output=True).stdout)
        return
    iteration()  # warm-up
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = rss_kib("VmRSS")
        iteration()
        extra = (rss_kib("VmHWM") - before) * 1024
        for name in ("sdpa_fused_causal", "sdpa_composite_causal"):
            print(f"# memory {name} {extra} {extra / (B * H * L * L * 4):.3f}")
    except OSError:
        print("# memory: /proc/self/clear_refs not writable here")


if __name__ == "__main__":
    main()

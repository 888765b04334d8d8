#!/usr/bin/python3
"""nabla's bench_linalg beside PyTorch 1.13 on the same cases (256 x 256
float64: solve, inv, cholesky, svd, det, eigh, qr), timed the same way: a
batch of calls grown to about 20 ms, then `reps` batches; min and median
microseconds per call, and nabla / torch ratios (below 1: nabla faster).

    /usr/bin/python3 bench/compare_linalg.py [--bin build/bench/bench_linalg] [--threads N] [--reps N]

OMP_NUM_THREADS and OPENBLAS_NUM_THREADS are set to the thread count for
both, so that both LAPACKs run with the same threads.
"""
import argparse
import os
import subprocess
import sys
import time

N = 256


def torch_cases(threads, reps):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    R = torch.randn(N, N, dtype=torch.float64)
    A = R @ R.T / N + torch.eye(N, dtype=torch.float64)
    B = torch.randn(N, N, dtype=torch.float64)
    cases = {
        "linalg_solve_256": lambda: torch.linalg.solve(A, B),
        "linalg_inv_256": lambda: torch.linalg.inv(A),
        "linalg_cholesky_256": lambda: torch.linalg.cholesky(A),
        "linalg_svd_256": lambda: torch.linalg.svd(A, full_matrices=False),
        "linalg_det_256": lambda: torch.linalg.det(A),
        "linalg_eigh_256": lambda: torch.linalg.eigh(A),
        "linalg_qr_256": lambda: torch.linalg.qr(A),
    }
    out = {}
    for name, fn in cases.items():
        fn()
        calls = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            us = (time.perf_counter() - t0) * 1e6
            if us >= 5000 or calls >= 1 << 20:
                calls = max(calls, int(20000 / (us / calls)))
                break
            calls *= 2
        per = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            per.append((time.perf_counter() - t0) * 1e6 / calls)
        per.sort()
        out[name] = (per[0], per[len(per) // 2])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "build", "bench", "bench_linalg"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
    if args.torch_only:
        for name, (mn, med) in torch_cases(args.threads, args.reps).items():
            print(name, args.threads, "%.3f" % mn, "%.3f" % med)
        return
    nabla_text = subprocess.run([args.bin, "--threads", str(args.threads), "--reps", str(args.reps)], env=env,
                                capture_output=True, text=True, check=True).stdout
    torch_text = subprocess.run([sys.executable, __file__, "--torch-only", "--threads", str(args.threads), "--reps",
                                 str(args.reps)], env=env, capture_output=True, text=True, check=True).stdout
    def table(text):
        rows = {}
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, _, mn, med = line.split()
            rows[name] = (float(mn), float(med))
        return rows
    nabla, torch_rows = table(nabla_text), table(torch_text)
    print("# %d thread(s), %d reps; microseconds per call; ratio = nabla / torch" % (args.threads, args.reps))
    print("%-22s %12s %12s %12s %12s %9s %9s" % ("case", "nabla min", "nabla med", "torch min", "torch med",
                                                  "min ratio", "med ratio"))
    for name, (tmin, tmed) in torch_rows.items():
        if name not in nabla:
            print("%-22s %12s %12s %12.1f %12.1f" % (name, "failed", "", tmin, tmed))
            continue
        nmin, nmed = nabla[name]
        print("%-22s %12.1f %12.1f %12.1f %12.1f %9.2f %9.2f" % (name, nmin, nmed, tmin, tmed, nmin / tmin, nmed / tmed))


if __name__ == "__main__":
    main()

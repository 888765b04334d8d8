#!/usr/bin/python3
"""compare_train.py - bench_train's cases in PyTorch (Python).

Prints the same table as build/<dir>/bench_train, one line per (case,
threads):

    case threads min_us median_us

with microseconds per training step (a batch of steps is timed by timeit
with time.perf_counter and divided by the batch size; the batch size and the
timing helpers are bench/compare.py's). Lines starting with '#' are
comments. bench/compare_train.sh joins this output with nabla's and
libtorch's (through compare.py --join).

The step cases (float32, random inputs and labels; see bench/bench_train.c
for nabla's side). One step is

    opt.zero_grad(set_to_none=True)     # as nabla's nb_optim_zero_grad
    loss = F.cross_entropy(model(X), y)
    loss.backward()
    opt.step()                          # torch.optim.SGD(lr=0.01)

  mlp_step_b64   Sequential(Linear(784, 256), ReLU(), Linear(256, 10)), X (64, 784)
  mlp_step_b256  the same, X (256, 784)
  cnn_step_b64   Sequential(Conv2d(1, 8, 3, padding=1), ReLU(), MaxPool2d(2),
                 Flatten(), Linear(1568, 10)), X (64, 1, 28, 28)
Before timing, 20 steps on the case's batch must lower its loss.

  startup        `python -c "import torch"` as a child process, five times
                 per thread count (OMP_NUM_THREADS set): fork to exit, min
                 and median; the children's peak RSS is a '#' line. This is
                 what PyTorch costs before any training code runs; nabla's row
                 is nabla-train's start to its first batch.

Each thread count's step cases run in a fresh subprocess with
OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS set before torch is
imported (and torch.set_num_threads).

Usage: /usr/bin/python3 bench/compare_train.py [--threads N] [--filter SUBSTRING] [--reps N]
(PyTorch 1.13 is installed for /usr/bin/python3 only.)
"""
import argparse
import os
import resource
import subprocess
import sys
import time
import timeit

import compare  # bench/compare.py: calibrate, time_batch

CASE_NAMES = ("mlp_step_b64", "mlp_step_b256", "cnn_step_b64")
SGD_LR = 0.01
STARTUP_RUNS = 5

TORCH_STEP = """
opt.zero_grad(set_to_none=True)
loss = F.cross_entropy(model(X), y)
loss.backward()
opt.step()
"""


def make_case(name):
    """The names the step uses: model, its optimizer, X and labels y."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    if name.startswith("mlp"):
        batch = int(name.rpartition("_b")[2])
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
        X = torch.randn(batch, 784)
    else:
        model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(8 * 14 * 14, 10))
        X = torch.randn(64, 1, 28, 28)
    return {
        "F": torch.nn.functional,
        "model": model,
        "opt": torch.optim.SGD(model.parameters(), lr=SGD_LR),
        "X": X,
        "y": torch.randint(0, 10, (X.shape[0],)),
    }


def check_descends(name, names):
    """20 steps on the case's batch must lower its loss."""
    step = compile(TORCH_STEP, name, "exec")
    exec(step, names)
    first = names["loss"].item()
    for _ in range(20):
        exec(step, names)
    last = names["loss"].item()
    if not last < first:
        raise SystemExit(f"compare_train.py: {name}: loss did not decrease ({first} -> {last})")


def run_child(threads, case_filter, reps):
    """Runs every step case at one thread count in this process."""
    import torch

    torch.set_num_threads(threads)
    print(f"# torch {torch.__version__} (Python) threads={torch.get_num_threads()}")
    print("# case threads min_us median_us")
    for name in CASE_NAMES:
        if case_filter and case_filter not in name:
            continue
        names = make_case(name)
        check_descends(name, names)
        timer = timeit.Timer(TORCH_STEP, timer=time.perf_counter, globals=names)
        calls = compare.calibrate(timer, None)
        per_call_us = sorted(compare.time_batch(timer, calls) / calls / 1e3 for _ in range(reps))
        half = reps // 2
        median = per_call_us[half] if reps % 2 else 0.5 * (per_call_us[half - 1] + per_call_us[half])
        print(f"{name} {threads} {per_call_us[0]:.3f} {median:.3f}", flush=True)


def thread_env(threads):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    return env


def run_startup(threads):
    """The startup row: `import torch` in a fresh interpreter, STARTUP_RUNS times."""
    times_us = []
    for _ in range(STARTUP_RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], env=thread_env(threads), check=True)
        times_us.append((time.perf_counter() - start) * 1e6)
    times_us.sort()
    half = STARTUP_RUNS // 2
    # Only `import torch` children have run so far in this process (the step
    # cases come after), so this is their peak.
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"# startup {threads}: {sys.executable} -c 'import torch', {STARTUP_RUNS} runs: min {times_us[0] / 1e3:.0f} ms, "
          f"median {times_us[half] / 1e3:.0f} ms; peak RSS of such a process {peak_kb} KiB ({peak_kb * 1024 / 1e6:.0f} MB)")
    print(f"startup {threads} {times_us[0]:.3f} {times_us[half]:.3f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=0, help="one thread count (default: 1 then 2)")
    parser.add_argument("--filter", default="", help="only cases whose name contains this")
    parser.add_argument("--reps", type=int, default=0, help="timed repetitions per case (default 7)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads < 0 or args.reps < 0:
        parser.error("--threads and --reps must be positive")

    if args.child:  # the environment is already set: run here
        run_child(args.threads, args.filter, args.reps or 7)
        return 0

    thread_counts = (args.threads,) if args.threads else (1, 2)
    if args.filter in "startup":  # "" too
        for threads in thread_counts:
            run_startup(threads)
    status = 0
    if any(args.filter in name for name in CASE_NAMES):
        for threads in thread_counts:
            command = [sys.executable, os.path.abspath(__file__), "--child", "--threads", str(threads),
                       "--filter", args.filter, "--reps", str(args.reps)]
            sys.stdout.flush()
            status |= subprocess.call(command, env=thread_env(threads))
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())

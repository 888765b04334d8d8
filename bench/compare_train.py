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
    opt.step()                          # SGD(lr=0.01), or Adam() for the b128 nets

  mlp_step_b64   Sequential(Linear(784, 256), ReLU(), Linear(256, 10)), X (64, 784)
  mlp_step_b256  the same, X (256, 784)
  cnn_step_b64   Sequential(Conv2d(1, 8, 3, padding=1), ReLU(), MaxPool2d(2),
                 Flatten(), Linear(1568, 10)), X (64, 1, 28, 28)
  cnnbn_step_b128     Sequential(Conv2d(1, 32, 3, padding=1), BatchNorm2d(32),
                      ReLU(), MaxPool2d(2), Conv2d(32, 64, 3, padding=1),
                      BatchNorm2d(64), ReLU(), MaxPool2d(2), Flatten(),
                      Linear(3136, 10)), X (128, 1, 28, 28), torch.optim.Adam
                      with its defaults (lr 1e-3); training mode
  cnn_nobn_step_b128  the same without the two BatchNorm2d
Before timing, 20 steps on the case's batch must lower its loss.

  batchnorm2d_fwd_bwd  one iteration is
                 X.grad = W.grad = B.grad = None
                 Y = F.batch_norm(X, RM, RV, W, B, training=True, momentum=0.1, eps=1e-5)
                 Y.backward(R)
                 with X (128, 64, 14, 14) standard normal requiring grad, W
                 ones and B zeros (64) requiring grad, RM zeros and RV ones
                 (see the rest below)

  lstm_fwd_bwd   nn.LSTM(28, 128, batch_first=True), X (64, 28, 28), R (64,
                 28, 128): the parameters' grads set to None, Y, _ = model(X),
                 Y.backward(R) (issue 14's target: <= 0.5x this time)
                 (updated in place), R a fixed standard normal tensor like X
                 (the gradient of (Y * R).sum()). Before timing, one
                 iteration's three gradients must be finite.

  startup        `python -c "import torch"` as a child process, five times
                 per thread count (OMP_NUM_THREADS set): fork to exit, min
                 and median; the children's peak RSS is a '#' line. This is
                 what PyTorch costs before any training code runs; nabla's row
                 is nabla-train's start to its first batch.

After each case's line, a comment line "# cpu case threads iterations
wall_us cpu_us" gives the wall and the process CPU time (all threads,
time.process_time) per iteration over the timed batches, as bench_train's
(bench/contention.sh reads these lines).

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

CASE_NAMES = ("mlp_step_b64", "mlp_step_b256", "cnn_step_b64", "cnnbn_step_b128", "cnn_nobn_step_b128",
              "batchnorm2d_fwd_bwd", "lstm_fwd_bwd")
SGD_LR = 0.01
STARTUP_RUNS = 5

TORCH_STEP = """
opt.zero_grad(set_to_none=True)
loss = F.cross_entropy(model(X), y)
loss.backward()
opt.step()
"""

TORCH_LSTM = """
for p in model.parameters():
    p.grad = None
Y, _ = model(X)
Y.backward(R)
"""
TORCH_BATCHNORM = """
X.grad = W.grad = B.grad = None
Y = F.batch_norm(X, RM, RV, W, B, training=True, momentum=0.1, eps=1e-5)
Y.backward(R)
"""


def make_cnn_b128(batch_norm):
    """Issue 10's net: two conv [batch norm] relu pool stages and a linear head."""
    from torch import nn

    def stage(cin, cout):
        norm = [nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)] if batch_norm else []
        return [nn.Conv2d(cin, cout, 3, padding=1), *norm, nn.ReLU(), nn.MaxPool2d(2)]

    return nn.Sequential(*stage(1, 32), *stage(32, 64), nn.Flatten(), nn.Linear(64 * 7 * 7, 10))


def make_case(name):
    """The names the case's statement uses (model, opt, X, y; or X, W, B,
    RM, RV, R for batchnorm2d_fwd_bwd) and that statement."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    if name == "lstm_fwd_bwd":
        model = nn.LSTM(28, 128, batch_first=True)
        return {"model": model, "X": torch.randn(64, 28, 28), "R": torch.randn(64, 28, 128)}, TORCH_LSTM
    if name == "batchnorm2d_fwd_bwd":
        X = torch.randn(128, 64, 14, 14, requires_grad=True)
        return {
            "F": torch.nn.functional,
            "X": X,
            "W": torch.ones(64, requires_grad=True),
            "B": torch.zeros(64, requires_grad=True),
            "RM": torch.zeros(64),
            "RV": torch.ones(64),
            "R": torch.randn_like(X),
        }, TORCH_BATCHNORM
    if name.startswith("mlp"):
        batch = int(name.rpartition("_b")[2])
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
        X = torch.randn(batch, 784)
    elif name == "cnn_step_b64":
        model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(8 * 14 * 14, 10))
        X = torch.randn(64, 1, 28, 28)
    else:
        model = make_cnn_b128(batch_norm=name.startswith("cnnbn"))
        X = torch.randn(128, 1, 28, 28)
    adam = name.endswith("_b128")
    return {
        "F": torch.nn.functional,
        "model": model,
        "opt": torch.optim.Adam(model.parameters()) if adam else torch.optim.SGD(model.parameters(), lr=SGD_LR),
        "X": X,
        "y": torch.randint(0, 10, (X.shape[0],)),
    }, TORCH_STEP


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


def check_finite_grads(name, names):
    """One batch-norm iteration must leave finite gradients on X, W and B."""
    import torch

    exec(compile(TORCH_BATCHNORM, name, "exec"), names)
    if not all(names[k].grad is not None and bool(torch.isfinite(names[k].grad).all()) for k in ("X", "W", "B")):
        raise SystemExit(f"compare_train.py: {name}: a gradient is missing or not finite")


def run_child(threads, case_filter, reps):
    """Runs every step case at one thread count in this process."""
    import torch

    torch.set_num_threads(threads)
    print(f"# torch {torch.__version__} (Python) threads={torch.get_num_threads()}")
    print("# case threads min_us median_us")
    print("# cpu case threads iterations wall_us cpu_us: per iteration, over the timed batches; cpu_us is the "
          "process's CPU time (all threads)")
    for name in CASE_NAMES:
        if case_filter and case_filter not in name:
            continue
        names, statement = make_case(name)
        if statement is TORCH_LSTM:
            exec(compile(statement, name, "exec"), names)
        else:
            (check_finite_grads if statement is TORCH_BATCHNORM else check_descends)(name, names)
        timer = timeit.Timer(statement, timer=time.perf_counter, globals=names)
        calls = compare.calibrate(timer, None)
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        per_call_us = sorted(compare.time_batch(timer, calls) / calls / 1e3 for _ in range(reps))
        cpu_us, wall_us = (time.process_time() - cpu_start) * 1e6, (time.perf_counter() - wall_start) * 1e6
        half = reps // 2
        median = per_call_us[half] if reps % 2 else 0.5 * (per_call_us[half - 1] + per_call_us[half])
        print(f"{name} {threads} {per_call_us[0]:.3f} {median:.3f}")
        iterations = calls * reps
        print(f"# cpu {name} {threads} {iterations} {wall_us / iterations:.3f} {cpu_us / iterations:.3f}", flush=True)


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

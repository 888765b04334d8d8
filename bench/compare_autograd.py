#!/usr/bin/python3
"""compare_autograd.py - bench_autograd's cases in PyTorch (Python) and in
NumPy with the gradient written by hand.

Prints the same table as build/<dir>/bench_autograd, one line per (case,
threads):

    case threads min_us median_us

with microseconds per iteration (a batch of iterations is timed by timeit
with time.perf_counter and divided by the batch size; the batch size and the
timing helpers are bench/compare.py's). Lines starting with '#' are comments,
the memory readings among them. bench/compare_autograd.sh joins this output
with nabla's and libtorch's (through compare.py --join).

The cases (float32; see bench/bench_autograd.c for nabla's side):
  seed_step         torch: y = X @ W + b; loss = y.sum(); loss.backward();
                    W.grad = b.grad = None (set_to_none).
                    numpy (by hand): y = X @ W + b; loss = y.sum();
                    dy = ones_like(y); dW = X.T @ dy; db = dy.sum(0).
  add_4x3_record    torch: a + b with a.requires_grad (records AddBackward0).
  add_4x3_norecord  torch: a + b, nothing requires grad.
  mlp_step_b64      torch: relu(X @ W1 + b1) @ W2 + b2, loss =
                    -(log_softmax(logits, 1) * onehot).mean(), backward,
                    p -= lr * p.grad under torch.no_grad(), grads set to None.
  memory            (torch only, '#' lines) 10,000 seed steps in a fresh
                    process: peak RSS (resource.getrusage ru_maxrss) after 100
                    and after 10,000 steps, and the number of tensors the
                    garbage collector sees before and after.

Each (implementation, thread count) runs in a fresh subprocess with
OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS set before torch or
numpy is imported (torch also gets torch.set_num_threads).

Usage: /usr/bin/python3 bench/compare_autograd.py [--impl torch|numpy|all]
           [--threads N] [--filter SUBSTRING] [--reps N]
(PyTorch 1.13 and NumPy are installed for /usr/bin/python3 only.)
"""
import argparse
import os
import subprocess
import sys
import time
import timeit
import warnings

import compare  # bench/compare.py: calibrate, time_batch, join_tables

MLP_BATCH, MLP_IN, MLP_HIDDEN, MLP_OUT = 64, 784, 256, 10
MLP_LR = 0.01

# One training step: X (4,3), W (3,2) and b (2) requiring grad.
TORCH_SEED_STEP = """
y = X @ W + b
loss = y.sum()
loss.backward()
W.grad = None
b.grad = None
"""

TORCH_MLP_STEP = """
hidden = torch.relu(X @ W1 + b1)
logits = hidden @ W2 + b2
loss = -(torch.log_softmax(logits, 1) * onehot).mean()
loss.backward()
with torch.no_grad():
    for p in params:
        p -= lr * p.grad
for p in params:
    p.grad = None
"""

# The seed step with the gradient derived by hand: dL/dy = ones.
NUMPY_SEED_STEP = """
y = X @ W + b
loss = y.sum()
dy = np.ones_like(y)
dW = X.T @ dy
db = dy.sum(0)
"""

CASE_NAMES = ("seed_step", "add_4x3_record", "add_4x3_norecord", "mlp_step_b64")


def torch_seed_names():
    import torch

    gen = torch.Generator().manual_seed(0)
    return {
        "torch": torch,
        "X": torch.randn(4, 3, generator=gen),
        "W": torch.randn(3, 2, generator=gen).requires_grad_(),
        "b": torch.randn(2, generator=gen).requires_grad_(),
    }


def torch_case(name):
    """The case's statement and the names it uses, or None if not run."""
    import torch

    gen = torch.Generator().manual_seed(0)
    if name == "seed_step":
        return TORCH_SEED_STEP, torch_seed_names()
    if name in ("add_4x3_record", "add_4x3_norecord"):
        a = torch.randn(4, 3, generator=gen).requires_grad_(name == "add_4x3_record")
        return "a + b", {"a": a, "b": torch.randn(4, 3, generator=gen)}
    if name == "mlp_step_b64":
        labels = torch.randint(0, MLP_OUT, (MLP_BATCH,), generator=gen)
        params = [
            (torch.randn(MLP_IN, MLP_HIDDEN, generator=gen) / MLP_IN**0.5).requires_grad_(),
            torch.zeros(MLP_HIDDEN).requires_grad_(),
            (torch.randn(MLP_HIDDEN, MLP_OUT, generator=gen) / MLP_HIDDEN**0.5).requires_grad_(),
            torch.zeros(MLP_OUT).requires_grad_(),
        ]
        names = {
            "torch": torch,
            "X": torch.randn(MLP_BATCH, MLP_IN, generator=gen),
            "onehot": torch.nn.functional.one_hot(labels, MLP_OUT).float(),
            "params": params,
            "lr": MLP_LR,
        }
        names.update(zip(("W1", "b1", "W2", "b2"), params))
        return TORCH_MLP_STEP, names
    return None


def numpy_case(name):
    """The case's statement and the names it uses, or None if not run."""
    import numpy as np

    if name != "seed_step":
        return None
    rng = np.random.default_rng(0)
    names = {"np": np}
    for key, shape in (("X", (4, 3)), ("W", (3, 2)), ("b", (2,))):
        names[key] = rng.standard_normal(shape, dtype=np.float32)
    return NUMPY_SEED_STEP, names


def check_torch_seed_step():
    """One seed step's gradients against dL/dW = X^T ones, dL/db = 4."""
    import torch

    names = torch_seed_names()
    exec(TORCH_SEED_STEP.replace("W.grad = None", "").replace("b.grad = None", ""), names)
    X, W, b = names["X"], names["W"], names["b"]
    assert torch.allclose(W.grad, X.T @ torch.ones(4, 2)) and torch.allclose(b.grad, torch.full((2,), 4.0))


def run_memory():
    """10,000 torch seed steps: peak RSS and tensor counts as '#' lines."""
    import gc
    import resource

    import torch

    def tensors_alive():
        # isinstance reads __class__, which warns on torch.distributed's
        # deprecated reduce_op object: silence that.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sum(1 for obj in gc.get_objects() if isinstance(obj, torch.Tensor))

    names = torch_seed_names()
    step = compile(TORCH_SEED_STEP, "seed_step", "exec")
    before = tensors_alive()
    for count in range(1, 10_001):
        exec(step, names)
        if count == 100:
            peak_early = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_late = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for key in ("y", "loss"):  # the last step's results, as nabla's scope frees them
        del names[key]
    after = tensors_alive()
    print(f"# memory seed_step: maxrss_kb after 100 steps {peak_early}, after 10000 steps {peak_late} "
          f"(growth {peak_late - peak_early})")
    print(f"# memory seed_step: tensors seen by gc before steps {before}, after 10000 steps {after}")


def run_child(impl, threads, case_filter, reps, memory):
    """Runs every case at one thread count in this process."""
    if impl == "torch":
        import torch

        torch.set_num_threads(threads)
        make = torch_case
        if memory:
            run_memory()
            return
        print(f"# torch {torch.__version__} (Python) threads={torch.get_num_threads()}")
        check_torch_seed_step()
    else:
        import numpy as np

        make = numpy_case
        print(f"# numpy {np.__version__} (gradient by hand) OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    print("# case threads min_us median_us")
    for name in CASE_NAMES:
        if case_filter and case_filter not in name:
            continue
        case = make(name)
        if case is None:
            continue
        statement, names = case
        timer = timeit.Timer(statement, timer=time.perf_counter, globals=names)
        calls = compare.calibrate(timer, None)
        per_call_us = sorted(compare.time_batch(timer, calls) / calls / 1e3 for _ in range(reps))
        half = reps // 2
        median = per_call_us[half] if reps % 2 else 0.5 * (per_call_us[half - 1] + per_call_us[half])
        print(f"{name} {threads} {per_call_us[0]:.3f} {median:.3f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impl", choices=("torch", "numpy", "all"), default="all")
    parser.add_argument("--threads", type=int, default=0, help="one thread count (default: 1 then 2)")
    parser.add_argument("--filter", default="", help="only cases whose name contains this ('memory' too)")
    parser.add_argument("--reps", type=int, default=0, help="timed repetitions per case (default 7)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads < 0 or args.reps < 0:
        parser.error("--threads and --reps must be positive")

    if args.child:  # the environment is already set: run here
        run_child(args.impl, args.threads, args.filter, args.reps or 7, args.memory)
        return 0

    impls = ("torch", "numpy") if args.impl == "all" else (args.impl,)
    thread_counts = (args.threads,) if args.threads else (1, 2)
    status = 0
    for impl in impls:
        # Memory first, alone in its process, so the peak is the steps' own.
        runs = [(thread_counts[0], True)] if impl == "torch" and args.filter in "memory" else []
        runs += [(threads, False) for threads in thread_counts if args.filter not in ("memory",)]
        for threads, memory in runs:
            env = dict(os.environ)
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                env[var] = str(threads)
            command = [sys.executable, os.path.abspath(__file__), "--child", "--impl", impl,
                       "--threads", str(threads), "--filter", args.filter, "--reps", str(args.reps)]
            if memory:
                command.append("--memory")
            sys.stdout.flush()
            status |= subprocess.call(command, env=env)
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())

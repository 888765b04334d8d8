#!/usr/bin/python3
"""compare.py - bench_core's cases in PyTorch (Python) and NumPy.

Prints the same table as build/<dir>/bench_core, one line per (case, threads):

    case threads min_us median_us

with microseconds per single call (a batch of calls is timed by timeit with
time.perf_counter, CLOCK_MONOTONIC on Linux, and divided by the batch size).
Lines starting with '#' are comments. bench/compare.sh joins this output with
nabla's and libtorch's.

Each (implementation, thread count) runs in a fresh subprocess with
OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS set before torch or
numpy is imported (NumPy reads them only at import; torch also gets
torch.set_num_threads). NOTE: NumPy's ufuncs and sums are single-threaded
whatever the setting; only its matmul (OpenBLAS) uses threads.

Usage: /usr/bin/python3 bench/compare.py [--impl torch|numpy|all]
           [--threads N] [--filter SUBSTRING] [--reps N]
(PyTorch 1.13 and NumPy are installed for /usr/bin/python3 only.)

       /usr/bin/python3 bench/compare.py --join nabla=FILE [NAME=FILE ...]
joins saved tables into one (as compare.sh does): per case and thread count,
each implementation's min and median, and for all but the first the ratio of
its median to the first's (> 1: the first, nabla, is faster).
"""
import argparse
import os
import subprocess
import sys
import time
import timeit

# A batch of calls is grown until it takes about this long (as in bench_core).
TARGET_BATCH_NS = 20_000_000

# name, kind, op, (m, k, n), reps (None: default), fixed batch (None: calibrated).
# The same names and shapes as bench/bench_core.c's table.
CASES = []
for m, k, n in ((64, 64, 64), (256, 256, 256), (1024, 1024, 1024), (2048, 2048, 2048), (64, 784, 256)):
    big = m == 2048
    CASES.append((f"matmul_{m}x{k}x{n}", "matmul", None, (m, k, n), 5 if big else None, 1 if big else None))
for kind in ("alloc", "inplace"):
    for op in ("add", "mul", "exp", "relu"):
        for label, size in (("1e3", 1000), ("1e5", 100_000), ("1e7", 10_000_000)):
            name = f"{op}_{label}" if kind == "alloc" else f"{op}_inplace_{label}"
            CASES.append((name, kind, op, (0, 0, size), None, None))
# Issue 13's sample of the new elementwise ops (allocating, 1e5 and 1e7).
for op in ("floor", "hardswish", "leaky_relu", "tan", "fmod"):
    for label, size in (("1e5", 100_000), ("1e7", 10_000_000)):
        CASES.append((f"{op}_{label}", "alloc", op, (0, 0, size), None, None))
for label, size in (("1e3", 1000), ("1e5", 100_000), ("1e7", 10_000_000)):
    CASES.append((f"sum_{label}", "sum", None, (0, 0, size), None, None))
# nabla's three tiny-add variants differ in scope handling; Python frees by
# reference count, so all three are the same `a + b` here.
for name in ("add_4x3", "add_4x3_scoped", "add_4x3_scope_step"):
    CASES.append((name, "tiny", "add", (4, 0, 3), None, None))


def torch_case(kind, op, dims):
    """The case's statement and the names it uses, for timeit."""
    import torch

    m, k, n = dims
    gen = torch.Generator().manual_seed(0)
    if kind in ("matmul", "tiny"):
        shapes = ((m, k), (k, n)) if kind == "matmul" else ((m, n), (m, n))
    else:
        shapes = ((n,), (n,))
    a, b = (torch.randn(*shape, generator=gen, dtype=torch.float32) for shape in shapes)
    names = {"torch": torch, "a": a, "b": b, "c": torch.empty_like(a)}
    if kind == "matmul":
        return "a @ b", names
    if kind == "tiny":
        return "a + b", names
    if kind == "sum":
        return "a.sum()", names
    if kind == "alloc":
        return {"add": "a + b", "mul": "a * b", "exp": "torch.exp(a)", "relu": "torch.relu(a)",
                "floor": "torch.floor(a)", "hardswish": "torch.nn.functional.hardswish(a)",
                "leaky_relu": "torch.nn.functional.leaky_relu(a, 0.01)", "tan": "torch.tan(a)",
                "fmod": "torch.fmod(a, b)"}[op], names
    # In place: the result goes to a preallocated c (out=); torch.relu takes
    # no out=, so relu is torch.relu_ on a itself.
    return {
        "add": "torch.add(a, b, out=c)",
        "mul": "torch.mul(a, b, out=c)",
        "exp": "torch.exp(a, out=c)",
        "relu": "torch.relu_(a)",
    }[op], names


def numpy_case(kind, op, dims):
    """The case's statement and the names it uses, for timeit."""
    import numpy as np

    m, k, n = dims
    rng = np.random.default_rng(0)
    if kind in ("matmul", "tiny"):
        shapes = ((m, k), (k, n)) if kind == "matmul" else ((m, n), (m, n))
    else:
        shapes = ((n,), (n,))
    a, b = (rng.standard_normal(shape, dtype=np.float32) for shape in shapes)
    names = {"np": np, "a": a, "b": b, "c": np.empty_like(a), "zero": np.float32(0)}
    if kind == "matmul":
        return "a @ b", names
    if kind == "tiny":
        return "np.add(a, b)", names
    if kind == "sum":
        return "a.sum()", names
    if kind == "alloc":
        return {"add": "np.add(a, b)", "mul": "np.multiply(a, b)", "exp": "np.exp(a)",
                "relu": "np.maximum(a, zero)", "floor": "np.floor(a)",
                "hardswish": "a * np.clip(a + 3, 0, 6) / 6", "leaky_relu": "np.where(a > 0, a, a * np.float32(0.01))",
                "tan": "np.tan(a)", "fmod": "np.fmod(a, b)"}[op], names
    return {
        "add": "np.add(a, b, out=c)",
        "mul": "np.multiply(a, b, out=c)",
        "exp": "np.exp(a, out=c)",
        "relu": "np.maximum(a, zero, out=c)",
    }[op], names


def time_batch(timer, calls):
    """Nanoseconds for `calls` calls (timeit inlines the statement in its loop)."""
    return timer.timeit(number=calls) * 1e9


def calibrate(timer, fixed_batch):
    """Calls per timed batch: doubled until a batch takes TARGET_BATCH_NS."""
    time_batch(timer, 1)  # warm-up
    if fixed_batch:
        return fixed_batch
    calls = 1
    while True:
        ns = time_batch(timer, calls)
        if ns >= TARGET_BATCH_NS / 4 or calls >= 1 << 30:
            return max(calls, int(TARGET_BATCH_NS / max(ns / calls, 1)))
        calls *= 2


def run_child(impl, threads, case_filter, reps_override):
    """Runs every case at one thread count in this process."""
    if impl == "torch":
        import torch

        torch.set_num_threads(threads)
        make = torch_case
        print(f"# torch {torch.__version__} (Python) threads={torch.get_num_threads()}")
    else:
        import numpy as np

        make = numpy_case
        print(f"# numpy {np.__version__} OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    print("# case threads min_us median_us")
    for name, kind, op, dims, reps, fixed_batch in CASES:
        if case_filter and case_filter not in name:
            continue
        reps = reps_override or reps or 7
        statement, names = make(kind, op, dims)
        timer = timeit.Timer(statement, timer=time.perf_counter, globals=names)
        calls = calibrate(timer, fixed_batch)
        per_call_us = sorted(time_batch(timer, calls) / calls / 1e3 for _ in range(reps))
        half = reps // 2
        median = per_call_us[half] if reps % 2 else 0.5 * (per_call_us[half - 1] + per_call_us[half])
        print(f"{name} {threads} {per_call_us[0]:.3f} {median:.3f}", flush=True)


def read_table(path):
    """{(case, threads): (min_us, median_us)} and the '#' comments of a table."""
    rows, comments = {}, []
    with open(path) as f:
        for line in f:
            fields = line.split()
            if not fields:
                continue
            if fields[0].startswith("#"):
                if fields[1:2] != ["case"]:
                    comments.append(line.strip())
                continue
            if len(fields) == 4:
                rows[(fields[0], int(fields[1]))] = (float(fields[2]), float(fields[3]))
    return rows, comments


def format_us(us):
    """Four significant digits or so, without exponents."""
    if us >= 1000:
        return f"{us:.0f}"
    if us >= 10:
        return f"{us:.1f}"
    return f"{us:.3f}"


def join_tables(specs):
    """Prints one table from NAME=FILE specs; the first is the baseline."""
    tables = []
    for spec in specs:
        name, _, path = spec.partition("=")
        if not path:
            sys.exit(f"compare.py: --join takes NAME=FILE, got {spec!r}")
        tables.append((name, *read_table(path)))
    for name, _, comments in tables:
        for comment in comments:
            print(f"# {name}: {comment.lstrip('# ')}")
    base_name, base_rows, _ = tables[0]
    print(f"# microseconds per call; NAME/{base_name} = NAME's median / {base_name}'s median "
          f"(> 1: {base_name} is faster)")
    # Rows in the baseline's order, then any case only the others have.
    keys = list(base_rows)
    for _, rows, _ in tables[1:]:
        keys += [key for key in rows if key not in keys]

    header = ["case", "thr"]
    for index, (name, _, _) in enumerate(tables):
        header += [f"{name}_min", f"{name}_med"] + ([f"{name}/{base_name}"] if index else [])
    lines = [header]
    for key in keys:
        line = [key[0], str(key[1])]
        base = base_rows.get(key)
        for index, (_, rows, _) in enumerate(tables):
            row = rows.get(key)
            line += [format_us(row[0]), format_us(row[1])] if row else ["-", "-"]
            if index:
                line.append(f"{row[1] / base[1]:.2f}" if row and base and base[1] > 0 else "-")
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        cells = [line[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(line[1:], widths[1:])]
        print("  ".join(cells).rstrip())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impl", choices=("torch", "numpy", "all"), default="all")
    parser.add_argument("--threads", type=int, default=0, help="one thread count (default: 1 then 2)")
    parser.add_argument("--filter", default="", help="only cases whose name contains this")
    parser.add_argument("--reps", type=int, default=0, help="timed repetitions per case (default 7)")
    parser.add_argument("--join", nargs="+", metavar="NAME=FILE", help="join saved tables into one")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.join:
        join_tables(args.join)
        return 0
    if args.threads < 0 or args.reps < 0:
        parser.error("--threads and --reps must be positive")

    if args.child:  # the environment is already set: run here
        run_child(args.impl, args.threads, args.filter, args.reps)
        return 0

    impls = ("torch", "numpy") if args.impl == "all" else (args.impl,)
    thread_counts = (args.threads,) if args.threads else (1, 2)
    status = 0
    for impl in impls:
        for threads in thread_counts:
            env = dict(os.environ)
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                env[var] = str(threads)
            command = [sys.executable, os.path.abspath(__file__), "--child", "--impl", impl,
                       "--threads", str(threads), "--filter", args.filter, "--reps", str(args.reps)]
            sys.stdout.flush()
            status |= subprocess.call(command, env=env)
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())

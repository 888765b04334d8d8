"""The cases of bench_cuda.c timed with PyTorch CUDA, for scripts/gpu-check
to print beside nabla's numbers (same machine, same run). Exits 0 with a
note when torch or a GPU is missing."""
import statistics
import time

try:
    import torch
except ImportError:
    print("compare_cuda: skipped: no PyTorch")
    raise SystemExit(0)
if not torch.cuda.is_available():
    print("compare_cuda: skipped: PyTorch sees no CUDA device")
    raise SystemExit(0)

REPS = 9


def timed(fn, scale):
    times = []
    for _ in range(REPS):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * scale)
    return min(times), statistics.median(times)


n = 100_000_000
a = torch.ones(n, device="cuda")
b = torch.ones(n, device="cuda")
lo, med = timed(lambda: a + b, 1e3)
print(f"torch add 1e8 float32        min {lo:10.3f}  median {med:10.3f} ms")
c = torch.empty_like(a)
lo, med = timed(lambda: c.copy_(a), 1e3)
print(f"torch copy_ 4e8 bytes        min {lo:10.3f}  median {med:10.3f} ms")
x = torch.ones(1, device="cuda")


def small():
    for _ in range(1000):
        x + x


lo, med = timed(small, 1e6 / 1000)
print(f"torch small add              min {lo:10.3f}  median {med:10.3f} us")

// bench_torch.cpp — bench_core's cases in libtorch (C++, the ATen API that
// PyTorch's C++ frontend is built on), printing the same table:
//
//   case threads min_us median_us
//
// microseconds per single call (a batch of calls timed with CLOCK_MONOTONIC
// and divided by the batch size). Lines starting with '#' are comments.
// bench/compare.sh compiles it (Debian's libtorch-dev) and joins its output
// with nabla's, PyTorch's and NumPy's.
//
// In-place cases write into a preallocated tensor: at::add_out(c, a, b),
// at::mul_out, at::exp_out; relu has no _out, so it is at::relu_(a).
// The tiny-add variants differ only in nabla (scopes); here all three are
// a + b, freed by the reference count.
//
// Usage: bench_torch [--threads N] [--filter SUBSTRING] [--reps N] [--inference-mode]
//   --inference-mode  run under c10::InferenceMode (skips autograd's
//                     bookkeeping; off by default, as in plain PyTorch use)
//
// Build (as compare.sh does):
//   g++ -O2 -std=c++17 bench/bench_torch.cpp
//       -I/usr/include/torch/csrc/api/include -ltorch -ltorch_cpu -lc10
//       -o build/bench/bench_torch
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/version.h>

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

// A batch of calls is grown until it takes about this long (as in bench_core).
constexpr double target_batch_us = 20000.0;

struct BenchCase {
    std::string name;
    enum Kind { Matmul, Alloc, Inplace, Sum, Tiny } kind;
    std::string op; // add, mul, exp, relu (elementwise kinds)
    int64_t m, k, n;
    int reps;            // 0: default 7 (or --reps)
    int64_t fixed_batch; // 0: calibrated
};

// The same names and shapes as bench/bench_core.c's table.
std::vector<BenchCase> all_cases()
{
    std::vector<BenchCase> cases;
    const int64_t matmuls[][3] = { { 64, 64, 64 }, { 256, 256, 256 }, { 1024, 1024, 1024 },
                                   { 2048, 2048, 2048 }, { 64, 784, 256 } };
    for (const auto &d : matmuls) {
        bool big = d[0] == 2048;
        cases.push_back({ "matmul_" + std::to_string(d[0]) + "x" + std::to_string(d[1]) + "x" + std::to_string(d[2]),
                          BenchCase::Matmul, "", d[0], d[1], d[2], big ? 5 : 0, big ? 1 : 0 });
    }
    const std::pair<const char *, int64_t> sizes[] = { { "1e3", 1000 }, { "1e5", 100000 }, { "1e7", 10000000 } };
    for (auto kind : { BenchCase::Alloc, BenchCase::Inplace })
        for (const char *op : { "add", "mul", "exp", "relu" })
            for (const auto &s : sizes) {
                std::string name = std::string(op) + (kind == BenchCase::Inplace ? "_inplace_" : "_") + s.first;
                cases.push_back({ name, kind, op, 0, 0, s.second, 0, 0 });
            }
    for (const auto &s : sizes) cases.push_back({ std::string("sum_") + s.first, BenchCase::Sum, "", 0, 0, s.second, 0, 0 });
    for (const char *name : { "add_4x3", "add_4x3_scoped", "add_4x3_scope_step" })
        cases.push_back({ name, BenchCase::Tiny, "add", 4, 0, 3, 0, 0 });
    return cases;
}

double now_us()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

// The case's op as a callable; its tensors are captured by value.
std::function<void()> make_op(const BenchCase &c)
{
    auto randn = [](at::IntArrayRef shape) { return at::randn(shape, at::TensorOptions().dtype(at::kFloat)); };
    switch (c.kind) {
    case BenchCase::Matmul: {
        at::Tensor a = randn({ c.m, c.k }), b = randn({ c.k, c.n });
        return [a, b] { at::matmul(a, b); };
    }
    case BenchCase::Tiny: {
        at::Tensor a = randn({ c.m, c.n }), b = randn({ c.m, c.n });
        return [a, b] { at::add(a, b); };
    }
    case BenchCase::Sum: {
        at::Tensor a = randn({ c.n });
        return [a] { a.sum(); };
    }
    case BenchCase::Alloc: {
        at::Tensor a = randn({ c.n }), b = randn({ c.n });
        if (c.op == "add") return [a, b] { at::add(a, b); };
        if (c.op == "mul") return [a, b] { at::mul(a, b); };
        if (c.op == "exp") return [a] { at::exp(a); };
        return [a] { at::relu(a); };
    }
    case BenchCase::Inplace: {
        at::Tensor a = randn({ c.n }), b = randn({ c.n }), out = at::empty_like(a);
        if (c.op == "add") return [a, b, out]() mutable { at::add_out(out, a, b); };
        if (c.op == "mul") return [a, b, out]() mutable { at::mul_out(out, a, b); };
        if (c.op == "exp") return [a, out]() mutable { at::exp_out(out, a); };
        return [a]() mutable { at::relu_(a); };
    }
    }
    return [] {};
}

double time_batch(const std::function<void()> &op, int64_t calls)
{
    double start = now_us();
    for (int64_t i = 0; i < calls; i++) op();
    return now_us() - start;
}

// Calls per timed batch: doubled until a batch takes target_batch_us.
int64_t calibrate(const std::function<void()> &op, int64_t fixed_batch)
{
    time_batch(op, 1); // warm-up
    if (fixed_batch > 0) return fixed_batch;
    for (int64_t calls = 1;; calls *= 2) {
        double us = time_batch(op, calls);
        if (us >= target_batch_us / 4 || calls >= (int64_t(1) << 30)) {
            double per_call = std::max(us / (double)calls, 1e-3);
            return std::max(calls, (int64_t)(target_batch_us / per_call));
        }
    }
}

void run_case(const BenchCase &c, int threads, int reps_override)
{
    int reps = reps_override > 0 ? reps_override : (c.reps > 0 ? c.reps : 7);
    std::function<void()> op = make_op(c);
    int64_t calls = calibrate(op, c.fixed_batch);
    std::vector<double> per_call_us;
    for (int r = 0; r < reps; r++) per_call_us.push_back(time_batch(op, calls) / (double)calls);
    std::sort(per_call_us.begin(), per_call_us.end());
    double median = reps % 2 ? per_call_us[reps / 2] : 0.5 * (per_call_us[reps / 2 - 1] + per_call_us[reps / 2]);
    std::printf("%s %d %.3f %.3f\n", c.name.c_str(), threads, per_call_us[0], median);
    std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv)
{
    int only_threads = 0, reps = 0;
    bool inference_mode = false;
    const char *filter = nullptr;
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (!std::strcmp(argv[i], "--threads") && has_value) only_threads = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--filter") && has_value) filter = argv[++i];
        else if (!std::strcmp(argv[i], "--reps") && has_value) reps = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--inference-mode")) inference_mode = true;
        else {
            std::fprintf(stderr, "usage: %s [--threads N] [--filter SUBSTRING] [--reps N] [--inference-mode]\n", argv[0]);
            return 2;
        }
    }
    std::vector<int> thread_counts = { 1, 2 };
    if (only_threads > 0) thread_counts = { only_threads };

    std::unique_ptr<c10::InferenceMode> guard;
    if (inference_mode) guard = std::make_unique<c10::InferenceMode>();
    at::manual_seed(0);
    std::printf("# libtorch %s (C++) inference_mode=%d\n", TORCH_VERSION, inference_mode ? 1 : 0);
    std::printf("# case threads min_us median_us\n");
    for (int threads : thread_counts) {
        at::set_num_threads(threads);
        for (const BenchCase &c : all_cases()) {
            if (filter && c.name.find(filter) == std::string::npos) continue;
            run_case(c, threads, reps);
        }
    }
    return 0;
}

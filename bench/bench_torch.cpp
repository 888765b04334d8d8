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

#include "bench_torch_common.h"


#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

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
    // Issue 13's sample of the new elementwise ops (allocating, 1e5 and 1e7).
    for (const char *op : { "floor", "hardswish", "leaky_relu", "tan", "fmod" })
        for (const auto &s : sizes)
            if (s.second > 1000) cases.push_back({ std::string(op) + "_" + s.first, BenchCase::Alloc, op, 0, 0, s.second, 0, 0 });
    for (const auto &s : sizes) cases.push_back({ std::string("sum_") + s.first, BenchCase::Sum, "", 0, 0, s.second, 0, 0 });
    for (const char *name : { "add_4x3", "add_4x3_scoped", "add_4x3_scope_step" })
        cases.push_back({ name, BenchCase::Tiny, "add", 4, 0, 3, 0, 0 });
    return cases;
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
        if (c.op == "floor") return [a] { at::floor(a); };
        if (c.op == "hardswish") return [a] { at::hardswish(a); };
        if (c.op == "leaky_relu") return [a] { at::leaky_relu(a, 0.01); };
        if (c.op == "tan") return [a] { at::tan(a); };
        if (c.op == "fmod") return [a, b] { at::fmod(a, b); };
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

void run_case(const BenchCase &c, int threads, int reps_override)
{
    int reps = reps_override > 0 ? reps_override : (c.reps > 0 ? c.reps : 7);
    bench::report(c.name, threads, reps, make_op(c), c.fixed_batch);
}

} // namespace

int main(int argc, char **argv)
{
    bench::Options o;
    if (!bench::parse_options(argc, argv, o, /*allow_inference_mode=*/true)) return 2;
    std::unique_ptr<c10::InferenceMode> guard;
    if (o.inference_mode) guard = std::make_unique<c10::InferenceMode>();
    at::manual_seed(0);
    std::printf("# libtorch %s (C++) inference_mode=%d\n", TORCH_VERSION, o.inference_mode ? 1 : 0);
    std::printf("# case threads min_us median_us\n");
    for (int threads : o.thread_counts) {
        at::set_num_threads(threads);
        for (const BenchCase &c : all_cases())
            if (bench::selected(o, c.name)) run_case(c, threads, o.reps);
    }
    return 0;
}

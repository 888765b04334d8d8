// bench_autograd_torch.cpp — bench_autograd's cases in libtorch (C++, the
// ATen API with its autograd), printing the same table:
//
//   case threads min_us median_us
//
// microseconds per iteration (a batch of iterations timed with
// CLOCK_MONOTONIC and divided by the batch size). Lines starting with '#' are
// comments, the memory readings among them. bench/compare_autograd.sh
// compiles it (Debian's libtorch-dev) and joins its output with nabla's,
// PyTorch's and NumPy's.
//
// The cases (float32; see bench/bench_autograd.c):
//   seed_step         y = X.matmul(W) + b; loss = y.sum(); loss.backward();
//                     W.grad and b.grad reset to undefined (set_to_none)
//   add_4x3_record    a + b with a requiring grad (records AddBackward0)
//   add_4x3_norecord  a + b, nothing requiring grad
//   mlp_step_b64      relu(X W1 + b1) W2 + b2, loss =
//                     -mean(log_softmax(logits, 1) * onehot), backward,
//                     p -= lr * grad under NoGradGuard, grads reset
//   memory            ('#' lines) 10,000 seed steps before any timed case:
//                     peak RSS (getrusage ru_maxrss) after 100 and 10,000
//
// Usage: bench_autograd_torch [--threads N] [--filter SUBSTRING] [--reps N]
//
// Build (as compare_autograd.sh does):
//   g++ -O2 -std=c++17 bench/bench_autograd_torch.cpp
//       -I/usr/include/torch/csrc/api/include -ltorch -ltorch_cpu -lc10
//       -o build/bench/bench_autograd_torch
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include "bench_torch_common.h"

#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace {

constexpr int64_t mlp_batch = 64, mlp_in = 784, mlp_hidden = 256, mlp_out = 10;
constexpr double mlp_lr = 0.01;

at::Tensor randn(at::IntArrayRef shape) { return at::randn(shape, at::TensorOptions().dtype(at::kFloat)); }

// Gradients back to undefined, as PyTorch's zero_grad(set_to_none=True).
void clear_grads(std::vector<at::Tensor> &params)
{
    for (at::Tensor &p : params) p.mutable_grad().reset();
}

struct Seed {
    at::Tensor X = randn({ 4, 3 });
    std::vector<at::Tensor> params = { randn({ 3, 2 }).requires_grad_(), randn({ 2 }).requires_grad_() };

    void step()
    {
        at::Tensor y = at::matmul(X, params[0]) + params[1];
        at::Tensor loss = y.sum();
        loss.backward();
        clear_grads(params);
    }
};

struct Mlp {
    at::Tensor X = randn({ mlp_batch, mlp_in });
    at::Tensor onehot = at::one_hot(at::randint(0, mlp_out, { mlp_batch }), mlp_out).to(at::kFloat);
    std::vector<at::Tensor> params = {
        (randn({ mlp_in, mlp_hidden }) / std::sqrt((double)mlp_in)).requires_grad_(),
        at::zeros({ mlp_hidden }).requires_grad_(),
        (randn({ mlp_hidden, mlp_out }) / std::sqrt((double)mlp_hidden)).requires_grad_(),
        at::zeros({ mlp_out }).requires_grad_(),
    };

    void step()
    {
        at::Tensor hidden = at::relu(at::matmul(X, params[0]) + params[1]);
        at::Tensor logits = at::matmul(hidden, params[2]) + params[3];
        at::Tensor loss = -(at::log_softmax(logits, 1) * onehot).mean();
        loss.backward();
        {
            at::NoGradGuard no_grad;
            for (at::Tensor &p : params) p.sub_(p.grad() * mlp_lr);
        }
        clear_grads(params);
    }
};

// The case's iteration; its tensors are held by the shared state.
std::function<void()> make_step(const std::string &name)
{
    if (name == "seed_step") {
        auto seed = std::make_shared<Seed>();
        return [seed] { seed->step(); };
    }
    if (name == "add_4x3_record" || name == "add_4x3_norecord") {
        at::Tensor a = randn({ 4, 3 }).requires_grad_(name == "add_4x3_record"), b = randn({ 4, 3 });
        return [a, b] { at::add(a, b); };
    }
    auto mlp = std::make_shared<Mlp>();
    return [mlp] { mlp->step(); };
}

long peak_rss_kb()
{
    rusage usage;
    return getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_maxrss : -1;
}

// 10,000 seed steps; peak RSS after 100 and after all of them.
void run_memory()
{
    Seed seed;
    long early = 0;
    for (int step = 1; step <= 10000; step++) {
        seed.step();
        if (step == 100) early = peak_rss_kb();
    }
    long late = peak_rss_kb();
    std::printf("# memory seed_step: maxrss_kb after 100 steps %ld, after 10000 steps %ld (growth %ld)\n", early, late,
                late - early);
    std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv)
{
    bench::Options o;
    if (!bench::parse_options(argc, argv, o)) return 2;
    int reps = o.reps > 0 ? o.reps : 7;

    // The seed step's gradients, once: dL/dW = X^T ones, dL/db = 4.
    {
        Seed seed;
        at::Tensor loss = (at::matmul(seed.X, seed.params[0]) + seed.params[1]).sum();
        loss.backward();
        bool ok = at::allclose(seed.params[0].grad(), at::matmul(seed.X.t(), at::ones({ 4, 2 }))) &&
                  at::allclose(seed.params[1].grad(), at::full({ 2 }, 4.0));
        if (!ok) {
            std::fprintf(stderr, "bench_autograd_torch: seed_step gradients differ from the hand-derived ones\n");
            return 1;
        }
    }

    at::manual_seed(0);
    std::printf("# libtorch %s (C++)\n", TORCH_VERSION);
    std::printf("# case threads min_us median_us\n");
    const char *names[] = { "seed_step", "add_4x3_record", "add_4x3_norecord", "mlp_step_b64" };
    for (size_t t = 0; t < o.thread_counts.size(); t++) {
        at::set_num_threads(o.thread_counts[t]);
        if (t == 0 && bench::selected(o, "memory")) run_memory();
        for (const char *name : names)
            if (bench::selected(o, name)) bench::report(name, o.thread_counts[t], reps, make_step(name));
    }
    return 0;
}

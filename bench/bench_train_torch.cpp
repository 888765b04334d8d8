// bench_train_torch.cpp — bench_train's step cases in libtorch (C++, the
// torch::nn / torch::optim API), printing the same table:
//
//   case threads min_us median_us
//
// microseconds per training step (a batch of steps timed with
// CLOCK_MONOTONIC and divided by the batch size). Lines starting with '#' are
// comments. bench/compare_train.sh compiles it (Debian's libtorch-dev) and
// joins its output with nabla's and PyTorch's.
//
// The cases (float32, random inputs and labels; see bench/bench_train.c).
// One step: model->zero_grad(true) (gradients set to none, as nabla's
// nb_optim_zero_grad), loss = cross_entropy(model->forward(X), y),
// loss.backward(), SGD(lr 0.01).step().
//   mlp_step_b64   Sequential(Linear(784, 256), ReLU, Linear(256, 10)), X (64, 784)
//   mlp_step_b256  the same, X (256, 784)
//   cnn_step_b64   Sequential(Conv2d(1, 8, 3, padding 1), ReLU, MaxPool2d(2),
//                  Flatten, Linear(1568, 10)), X (64, 1, 28, 28)
// Before timing, 20 steps on the case's batch must lower its loss.
//
// Usage: bench_train_torch [--threads N] [--filter SUBSTRING] [--reps N]
//
// Build (as compare_train.sh does):
//   g++ -O2 -std=c++17 bench/bench_train_torch.cpp
//       -I/usr/include/torch/csrc/api/include -ltorch -ltorch_cpu -lc10
//       -o build/bench/bench_train_torch
#include <torch/torch.h>

#include "bench_torch_common.h"


#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr double sgd_lr = 0.01;

// A model, its optimizer and one batch.
struct TrainCase {
    torch::nn::Sequential model;
    torch::Tensor X, y;
    std::unique_ptr<torch::optim::SGD> opt;

    TrainCase(torch::nn::Sequential m, torch::Tensor x)
        : model(std::move(m)), X(std::move(x)), y(torch::randint(0, 10, { X.size(0) }, torch::kLong)),
          opt(std::make_unique<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(sgd_lr)))
    {
    }

    // One step; the loss before the update.
    torch::Tensor step()
    {
        model->zero_grad(/*set_to_none=*/true);
        torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(X), y);
        loss.backward();
        opt->step();
        return loss;
    }
};

std::unique_ptr<TrainCase> make_case(const std::string &name)
{
    namespace nn = torch::nn;
    if (name == "cnn_step_b64") {
        nn::Sequential cnn(nn::Conv2d(nn::Conv2dOptions(1, 8, 3).padding(1)), nn::ReLU(),
                           nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Flatten(), nn::Linear(8 * 14 * 14, 10));
        return std::make_unique<TrainCase>(cnn, torch::randn({ 64, 1, 28, 28 }));
    }
    int64_t batch = name == "mlp_step_b256" ? 256 : 64;
    nn::Sequential mlp(nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 10));
    return std::make_unique<TrainCase>(mlp, torch::randn({ batch, 784 }));
}

bool run_case(const std::string &name, int threads, int reps)
{
    std::unique_ptr<TrainCase> c = make_case(name);
    double first = c->step().item<double>(), last = first;
    for (int i = 0; i < 20; i++) last = c->step().item<double>();
    if (!(last < first)) {
        std::fprintf(stderr, "bench_train_torch: %s: loss did not decrease (%g -> %g)\n", name.c_str(), first, last);
        return false;
    }
    bench::report(name, threads, reps, [&c] { c->step(); });
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    bench::Options o;
    if (!bench::parse_options(argc, argv, o)) return 2;
    int reps = o.reps > 0 ? o.reps : 7;

    torch::manual_seed(0);
    std::printf("# libtorch %s (C++, torch::nn)\n", TORCH_VERSION);
    std::printf("# case threads min_us median_us\n");
    const char *names[] = { "mlp_step_b64", "mlp_step_b256", "cnn_step_b64" };
    int failures = 0;
    for (int threads : o.thread_counts) {
        torch::set_num_threads(threads);
        for (const char *name : names)
            if (bench::selected(o, name) && !run_case(name, threads, reps)) failures++;
    }
    return failures ? 1 : 0;
}

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
// loss.backward(), opt.step() with SGD(lr 0.01) or, for the b128 nets,
// Adam with its defaults (lr 1e-3).
//   mlp_step_b64   Sequential(Linear(784, 256), ReLU, Linear(256, 10)), X (64, 784)
//   mlp_step_b256  the same, X (256, 784)
//   cnn_step_b64   Sequential(Conv2d(1, 8, 3, padding 1), ReLU, MaxPool2d(2),
//                  Flatten, Linear(1568, 10)), X (64, 1, 28, 28)
//   cnnbn_step_b128     Sequential(Conv2d(1, 32, 3, padding 1), BatchNorm2d(32),
//                       ReLU, MaxPool2d(2), Conv2d(32, 64, 3, padding 1),
//                       BatchNorm2d(64), ReLU, MaxPool2d(2), Flatten,
//                       Linear(3136, 10)), X (128, 1, 28, 28), Adam; training mode
//   cnn_nobn_step_b128  the same without the two BatchNorm2d
// Before timing, 20 steps on the case's batch must lower its loss.
//   batchnorm2d_fwd_bwd  gradients of X, W, B reset to undefined, then
//                  Y = batch_norm(X, RM, RV, W, B, training, momentum 0.1,
//                  eps 1e-5), Y.backward(R): X (128, 64, 14, 14) standard
//                  normal, W ones, B zeros (64), all requiring grad; RM
//                  zeros, RV ones (updated in place); R fixed, like X.
//                  Before timing, one iteration's gradients must be finite.
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
    std::unique_ptr<torch::optim::Optimizer> opt;

    TrainCase(torch::nn::Sequential m, torch::Tensor x, bool adam)
        : model(std::move(m)), X(std::move(x)), y(torch::randint(0, 10, { X.size(0) }, torch::kLong))
    {
        if (adam)
            opt = std::make_unique<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions());
        else
            opt = std::make_unique<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(sgd_lr));
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

// Issue 10's net: two stages Conv2d(in, out, 3, padding 1) [BatchNorm2d(out)]
// ReLU MaxPool2d(2), then Flatten and Linear(64 * 7 * 7, 10).
torch::nn::Sequential make_cnn_b128(bool batch_norm)
{
    namespace nn = torch::nn;
    nn::Sequential net;
    const int64_t channels[][2] = { { 1, 32 }, { 32, 64 } };
    for (const auto &c : channels) {
        net->push_back(nn::Conv2d(nn::Conv2dOptions(c[0], c[1], 3).padding(1)));
        if (batch_norm) net->push_back(nn::BatchNorm2d(nn::BatchNorm2dOptions(c[1]).eps(1e-5).momentum(0.1)));
        net->push_back(nn::ReLU());
        net->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
    }
    net->push_back(nn::Flatten());
    net->push_back(nn::Linear(64 * 7 * 7, 10));
    return net;
}

std::unique_ptr<TrainCase> make_case(const std::string &name)
{
    namespace nn = torch::nn;
    if (name == "cnn_step_b64") {
        nn::Sequential cnn(nn::Conv2d(nn::Conv2dOptions(1, 8, 3).padding(1)), nn::ReLU(),
                           nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Flatten(), nn::Linear(8 * 14 * 14, 10));
        return std::make_unique<TrainCase>(cnn, torch::randn({ 64, 1, 28, 28 }), false);
    }
    if (name == "cnnbn_step_b128" || name == "cnn_nobn_step_b128")
        return std::make_unique<TrainCase>(make_cnn_b128(name == "cnnbn_step_b128"),
                                           torch::randn({ 128, 1, 28, 28 }), true);
    int64_t batch = name == "mlp_step_b256" ? 256 : 64;
    nn::Sequential mlp(nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 10));
    return std::make_unique<TrainCase>(mlp, torch::randn({ batch, 784 }), false);
}

// Batch norm 2d alone, forward and backward, in training mode.
struct BatchNormCase {
    torch::Tensor X = torch::randn({ 128, 64, 14, 14 }).requires_grad_();
    torch::Tensor W = torch::ones({ 64 }).requires_grad_(), B = torch::zeros({ 64 }).requires_grad_();
    torch::Tensor RM = torch::zeros({ 64 }), RV = torch::ones({ 64 });
    torch::Tensor R = torch::randn_like(X);

    void step()
    {
        for (torch::Tensor *t : { &X, &W, &B }) t->mutable_grad() = torch::Tensor();
        torch::Tensor Y = torch::batch_norm(X, W, B, RM, RV, /*training=*/true, /*momentum=*/0.1, /*eps=*/1e-5,
                                            /*cudnn_enabled=*/false);
        Y.backward(R);
    }
};

bool run_batchnorm(const std::string &name, int threads, int reps)
{
    BatchNormCase c;
    c.step();
    for (const torch::Tensor *t : { &c.X, &c.W, &c.B }) {
        if (!t->grad().defined() || !torch::isfinite(t->grad()).all().item<bool>()) {
            std::fprintf(stderr, "bench_train_torch: %s: a gradient is missing or not finite\n", name.c_str());
            return false;
        }
    }
    bench::report(name, threads, reps, [&c] { c.step(); });
    return true;
}

bool run_case(const std::string &name, int threads, int reps)
{
    if (name == "batchnorm2d_fwd_bwd") return run_batchnorm(name, threads, reps);
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
    const char *names[] = { "mlp_step_b64",    "mlp_step_b256",      "cnn_step_b64",
                            "cnnbn_step_b128", "cnn_nobn_step_b128", "batchnorm2d_fwd_bwd" };
    int failures = 0;
    for (int threads : o.thread_counts) {
        torch::set_num_threads(threads);
        for (const char *name : names)
            if (bench::selected(o, name) && !run_case(name, threads, reps)) failures++;
    }
    return failures ? 1 : 0;
}

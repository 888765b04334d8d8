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

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

// A batch of steps is grown until it takes about this long (as in bench_train).
constexpr double target_batch_us = 20000.0;
constexpr double sgd_lr = 0.01;

double now_us()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

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

double time_batch(TrainCase &c, int64_t calls)
{
    double start = now_us();
    for (int64_t i = 0; i < calls; i++) c.step();
    return now_us() - start;
}

// Steps per timed batch: doubled until a batch takes target_batch_us.
int64_t calibrate(TrainCase &c)
{
    time_batch(c, 1); // warm-up
    for (int64_t calls = 1;; calls *= 2) {
        double us = time_batch(c, calls);
        if (us >= target_batch_us / 4 || calls >= (int64_t(1) << 30)) {
            double per_call = std::max(us / (double)calls, 1e-3);
            return std::max(calls, (int64_t)(target_batch_us / per_call));
        }
    }
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
    int64_t calls = calibrate(*c);
    std::vector<double> per_call_us;
    for (int r = 0; r < reps; r++) per_call_us.push_back(time_batch(*c, calls) / (double)calls);
    std::sort(per_call_us.begin(), per_call_us.end());
    double median = reps % 2 ? per_call_us[reps / 2] : 0.5 * (per_call_us[reps / 2 - 1] + per_call_us[reps / 2]);
    std::printf("%s %d %.3f %.3f\n", name.c_str(), threads, per_call_us[0], median);
    std::fflush(stdout);
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    int only_threads = 0, reps = 0;
    const char *filter = nullptr;
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (!std::strcmp(argv[i], "--threads") && has_value) only_threads = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--filter") && has_value) filter = argv[++i];
        else if (!std::strcmp(argv[i], "--reps") && has_value) reps = std::atoi(argv[++i]);
        else {
            std::fprintf(stderr, "usage: %s [--threads N] [--filter SUBSTRING] [--reps N]\n", argv[0]);
            return 2;
        }
    }
    if (reps <= 0) reps = 7;
    std::vector<int> thread_counts = { 1, 2 };
    if (only_threads > 0) thread_counts = { only_threads };

    torch::manual_seed(0);
    std::printf("# libtorch %s (C++, torch::nn)\n", TORCH_VERSION);
    std::printf("# case threads min_us median_us\n");
    const char *names[] = { "mlp_step_b64", "mlp_step_b256", "cnn_step_b64" };
    int failures = 0;
    for (int threads : thread_counts) {
        torch::set_num_threads(threads);
        for (const char *name : names) {
            if (filter && !std::strstr(name, filter)) continue;
            if (!run_case(name, threads, reps)) failures++;
        }
    }
    return failures ? 1 : 0;
}

// bench_torch_common.h — what the three libtorch benches (bench_torch.cpp,
// bench_autograd_torch.cpp, bench_train_torch.cpp) share: their command
// line, and timing a callable the way bench_common.h times nabla's cases
// (a batch of calls grown until it takes ~20 ms, then the minimum and the
// median of `reps` batches, per call), printed as one table row:
//
//   case threads min_us median_us
#pragma once

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace bench {

constexpr double target_batch_us = 20000.0;

inline double now_us()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

inline double time_batch(const std::function<void()> &op, int64_t calls)
{
    double start = now_us();
    for (int64_t i = 0; i < calls; i++) op();
    return now_us() - start;
}

// Calls per timed batch (after one warm-up call): fixed_batch when > 0,
// else doubled until a batch takes target_batch_us.
inline int64_t calibrate(const std::function<void()> &op, int64_t fixed_batch = 0)
{
    time_batch(op, 1);
    if (fixed_batch > 0) return fixed_batch;
    for (int64_t calls = 1;; calls *= 2) {
        double us = time_batch(op, calls);
        if (us >= target_batch_us / 4 || calls >= (int64_t(1) << 30)) {
            double per_call = std::max(us / (double)calls, 1e-3);
            return std::max(calls, (int64_t)(target_batch_us / per_call));
        }
    }
}

// Times op over reps batches and prints its row.
inline void report(const std::string &name, int threads, int reps, const std::function<void()> &op,
                   int64_t fixed_batch = 0)
{
    int64_t calls = calibrate(op, fixed_batch);
    std::vector<double> per_call_us;
    for (int r = 0; r < reps; r++) per_call_us.push_back(time_batch(op, calls) / (double)calls);
    std::sort(per_call_us.begin(), per_call_us.end());
    double median = reps % 2 ? per_call_us[reps / 2] : 0.5 * (per_call_us[reps / 2 - 1] + per_call_us[reps / 2]);
    std::printf("%s %d %.3f %.3f\n", name.c_str(), threads, per_call_us[0], median);
    std::fflush(stdout);
}

struct Options {
    std::vector<int> thread_counts = { 1, 2 };
    int reps = 0;                 // 0: the bench's default
    const char *filter = nullptr; // run only the cases whose name contains it
    bool inference_mode = false;  // --inference-mode, where the bench takes it
};

// --threads N, --filter SUBSTRING, --reps N (and --inference-mode when
// allowed). False, after printing the usage, on anything else.
inline bool parse_options(int argc, char **argv, Options &o, bool allow_inference_mode = false)
{
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (!std::strcmp(argv[i], "--threads") && has_value) {
            int n = std::atoi(argv[++i]);
            if (n > 0) o.thread_counts = { n };
        } else if (!std::strcmp(argv[i], "--filter") && has_value) {
            o.filter = argv[++i];
        } else if (!std::strcmp(argv[i], "--reps") && has_value) {
            o.reps = std::atoi(argv[++i]);
        } else if (allow_inference_mode && !std::strcmp(argv[i], "--inference-mode")) {
            o.inference_mode = true;
        } else {
            std::fprintf(stderr, "usage: %s [--threads N] [--filter SUBSTRING] [--reps N]%s\n", argv[0],
                         allow_inference_mode ? " [--inference-mode]" : "");
            return false;
        }
    }
    return true;
}

inline bool selected(const Options &o, const std::string &name)
{
    return o.filter == nullptr || name.find(o.filter) != std::string::npos;
}

} // namespace bench

// What the two C++ sides of bench/compare share: `tapegrad bench` (cli/src/bench_command.cpp)
// and LibTorch's side (bench/libtorch_bench.cpp). One copy of the clocks, the JSON line and the
// logreg data, so that both time, print and draw alike. Standard C++ and POSIX only: it is
// compiled once against tapegrad and once against LibTorch.
#pragma once

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <numbers>
#include <string>
#include <vector>

namespace tapegrad::bench {

// Wall-clock time, and the CPU time of the whole process (all its threads) beside it: on a
// machine shared with other jobs the CPU time still says what the work cost.
struct Stopwatch {
    using Clock = std::chrono::steady_clock;
    Clock::time_point wall0 = Clock::now();
    double cpu0 = cpu_now();
    static double cpu_now() {
        timespec ts{};
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
    }
    double wall() const { return std::chrono::duration<double>(Clock::now() - wall0).count(); }
    double cpu() const { return cpu_now() - cpu0; }
};

struct Seconds {
    double wall = 0, cpu = 0;
};

inline double median(std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
}

// The medians of `reps` timings of f (the median shrugs off a noisy neighbour).
template <class F>
Seconds median_seconds(int reps, F&& f) {
    std::vector<double> wall, cpu;
    for (int r = 0; r < reps; ++r) {
        const Stopwatch sw;
        f();
        wall.push_back(sw.wall());
        cpu.push_back(sw.cpu());
    }
    return {median(wall), median(cpu)};
}

inline double peak_rss_mb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_maxrss) / 1024.0;  // kB on Linux
}

// One JSON object on one line; keys in the order added, then the run's context.
class JsonLine {
  public:
    explicit JsonLine(const char* bench) { text_ = std::string("{\"bench\": \"") + bench + "\""; }
    JsonLine& num(const char* key, double v, int digits = 6) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.*g", digits, v);
        text_ += std::string(", \"") + key + "\": " + (std::isfinite(v) ? buf : "null");
        return *this;
    }
    JsonLine& list(const char* key, const std::vector<double>& v) {
        text_ += std::string(", \"") + key + "\": [";
        for (std::size_t i = 0; i < v.size(); ++i) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%s%.6g", i ? ", " : "", v[i]);
            text_ += buf;
        }
        text_ += "]";
        return *this;
    }
    JsonLine& str(const char* key, const std::string& v) {
        text_ += std::string(", \"") + key + "\": \"" + v + "\"";
        return *this;
    }
    // What compare checks before it puts two figures side by side: the side's own thread
    // count, OpenBLAS's pool and kernel set, the element type.
    std::string finish(int threads, int blas_threads, const std::string& blas_core,
                       const std::string& dtype) {
        num("threads", threads);
        num("blas_threads", blas_threads);
        str("blas_core", blas_core);
        str("dtype", dtype);
        return text_ + "}\n";
    }

  private:
    std::string text_;
};

// The matmul workload's line: the recorded step (C = A·B of n×n and its backward) and its three
// bare products, each warmed up once (BLAS buffers, page faults) and then alternated nine times
// so that a noisy neighbour hits both alike; GFLOP/s of both and the share of the bare rate.
template <class Step, class Direct>
JsonLine matmul_line(std::size_t n, Step&& step, Direct&& direct) {
    step();
    direct();
    std::vector<double> tape_wall, tape_cpu, direct_wall, direct_cpu;
    for (int r = 0; r < 9; ++r) {
        const Seconds t = median_seconds(1, step), d = median_seconds(1, direct);
        tape_wall.push_back(t.wall), tape_cpu.push_back(t.cpu);
        direct_wall.push_back(d.wall), direct_cpu.push_back(d.cpu);
    }
    const double gflop = 3.0 * 2.0 * static_cast<double>(n * n * n) * 1e-9;
    const double gflops = gflop / median(tape_wall), direct_gflops = gflop / median(direct_wall);
    JsonLine line("matmul");
    line.num("n", static_cast<double>(n))
        .num("gflops", gflops, 4)
        .num("gflops_cpu", gflop / median(tape_cpu), 4)
        .num("direct_gflops", direct_gflops, 4)
        .num("direct_gflops_cpu", gflop / median(direct_cpu), 4)
        .num("vs_direct", gflops / direct_gflops, 3);
    return line;
}

// ---- the logreg data (bench/torch_bench.py has the NumPy twin) ------------------------------

// Draw k of stream s is splitmix64's mix(s + (k + 1)·golden), so that any row can be drawn
// without the ones before it.
inline std::uint64_t draw(std::uint64_t stream, std::uint64_t k) {
    std::uint64_t z = stream + (k + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
// (0, 1), never 0 or 1.
inline double open_uniform(std::uint64_t z) {
    return (static_cast<double>(z >> 11) + 0.5) * 0x1p-53;
}
// Box–Muller on draws (2p, 2p + 1): normals 2p and 2p + 1 of the stream.
inline void normal_pair(std::uint64_t stream, std::uint64_t p, double& n0, double& n1) {
    const double u1 = open_uniform(draw(stream, 2 * p)), u2 = open_uniform(draw(stream, 2 * p + 1));
    const double r = std::sqrt(-2.0 * std::log(u1));
    n0 = r * std::cos(2.0 * std::numbers::pi * u2);
    n1 = r * std::sin(2.0 * std::numbers::pi * u2);
}

constexpr std::size_t kLogregRows = 2'000'000, kLogregFeatures = 20;

// Fills x [rows, features] (row-major) and y [rows]: x standard normals of stream 1 rounded to
// float; the rule w·x + b is normals 0..features of stream 2; y = [w·x + b + log(u/(1-u)) > 0]
// with u from stream 3: logistic noise, so that P(y = 1 | x) = sigmoid(w·x + b) exactly.
template <class T>
void logreg_fill(std::size_t rows, std::size_t features, T* x, T* y) {
    std::vector<double> rule(features + 2);
    for (std::size_t p = 0; p < rule.size() / 2; ++p)
        normal_pair(2, p, rule[2 * p], rule[2 * p + 1]);
    std::vector<double> v(features);
    for (std::size_t i = 0; i < rows; ++i) {
        for (std::size_t j = 0; j < features; j += 2)
            normal_pair(1, (i * features + j) / 2, v[j], v[j + 1]);
        double z = rule[features];
        for (std::size_t j = 0; j < features; ++j) {
            z = z + rule[j] * v[j];
            x[i * features + j] = static_cast<T>(static_cast<float>(v[j]));
        }
        const double u = open_uniform(draw(3, i));
        y[i] = z + std::log(u / (1.0 - u)) > 0 ? T(1) : T(0);
    }
}

// The logreg workload's line: one epoch, the loss and accuracy on all rows after it, one
// full-batch gradient, and the data's mean x and share of positive labels (compare checks that
// every side drew the same rows).
inline JsonLine logreg_line(Seconds epoch, double full_loss, double acc, Seconds full_grad,
                            double mean_x, double pos_frac) {
    JsonLine line("logreg");
    line.num("s_per_epoch", epoch.wall, 5)
        .num("s_per_epoch_cpu", epoch.cpu, 5)
        .num("full_loss", full_loss, 9)
        .num("acc", acc, 6)
        .num("s_full_batch_grad", full_grad.wall, 5)
        .num("s_full_batch_grad_cpu", full_grad.cpu, 5)
        .num("data_mean_x", mean_x, 9)
        .num("data_pos_frac", pos_frac, 9);
    return line;
}

// The mean of n values, summed in order in double (compare checks that both sides drew the
// same data).
template <class T>
double mean_of(const T* v, std::size_t n) {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(v[i]);
    return s / static_cast<double>(n);
}

}  // namespace tapegrad::bench

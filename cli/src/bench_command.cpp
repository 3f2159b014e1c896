#include "bench_command.hpp"

#include <cblas.h>
#include <sys/resource.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <numbers>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/data/data_loader.hpp>
#include <tapegrad/data/readers.hpp>
#include <tapegrad/data/scaler.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>

#include "command.hpp"
#include "exit_status.hpp"
#include "model_spec.hpp"
#include "parallel.hpp"

#ifndef TAPEGRAD_BENCH_DATA
#define TAPEGRAD_BENCH_DATA "examples/data"
#endif

namespace tapegrad::cli {

namespace {

using Clock = std::chrono::steady_clock;

// Wall-clock time, and the CPU time of the whole process (all its threads) beside it: on a
// machine shared with other jobs the CPU time still says what the work cost.
struct Stopwatch {
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

double median(std::vector<double> v) {
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

double peak_rss_mb() {
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
    // What compare checks before it puts two figures side by side.
    std::string finish(Dtype dtype) {
        num("threads", num_threads());
        num("blas_threads", openblas_get_num_threads());
        str("blas_core", openblas_get_corename());
        str("dtype", dtype == f32 ? "f32" : "f64");
        return text_ + "}\n";
    }

  private:
    std::string text_;
};

// One plain training step: record the loss, differentiate it, update.
template <class Loss>
void train_step(nn::Module& model, optim::Optimizer& opt, const Loss& loss, const Tensor& x,
                const Tensor& y) {
    Tape tape;
    const Tensor l = loss(model(x), y);
    opt.zero_grad();
    tape.backward(l);
    opt.step();
}

// Binary cross-entropy on logits, the loss of tiny and logreg.
const auto bce = [](const Tensor& logits, const Tensor& y) {
    return nn::bce_with_logits(logits, y);
};

// ---- tiny -----------------------------------------------------------------------------------

void tiny(const BenchArgs& args, Dtype dtype, std::ostream& out) {
    const auto csv =
        data::read_csv(args.data_dir + "/make_classification_400.csv", "y", {.dtype = dtype});
    data::StandardScaler scaler;
    const Tensor x = scaler.fit_transform(csv.data.x);
    const Tensor y = reshape(csv.data.y, {csv.data.size(), 1});
    Generator gen(0);  // the initial weights, one stream through the layers
    nn::Sequential model{default_linear(2, 16, dtype, gen), nn::Tanh(),
                         default_linear(16, 16, dtype, gen), nn::Tanh(),
                         default_linear(16, 1, dtype, gen)};
    optim::Adam opt(model.parameters(), {.lr = 0.01});
    constexpr int kSteps = 2000;
    const Stopwatch sw;
    for (int s = 0; s < kSteps; ++s) train_step(model, opt, bce, x, y);
    const Seconds elapsed{sw.wall(), sw.cpu()};
    NoGrad no_grad;
    const double final_loss = nn::bce_with_logits(model(x), y).item();
    out << JsonLine("tiny")
               .num("us_per_step", elapsed.wall / kSteps * 1e6, 5)
               .num("us_per_step_cpu", elapsed.cpu / kSteps * 1e6, 5)
               .num("final_loss", final_loss, 9)
               .finish(dtype);
}

// ---- fmnist ---------------------------------------------------------------------------------

// Share of rows whose largest logit is at the labelled class.
double accuracy(const Tensor& logits, const Tensor& classes) {
    const auto l = logits.to_array<double>();
    const auto c = classes.to_array<double>();
    const std::size_t n = l.shape()[0], k = l.shape()[1];
    std::size_t hits = 0;
    for (std::size_t r = 0; r < n; ++r) {
        const double* row = l.data() + r * k;
        hits += static_cast<std::size_t>(std::max_element(row, row + k) - row) ==
                static_cast<std::size_t>(c(r));
    }
    return static_cast<double>(hits) / static_cast<double>(n);
}

// The 784-256-128-10 ReLU MLP, initialised as PyTorch's nn.Linear from generator 0.
nn::Sequential fmnist_model(Dtype dtype) {
    Generator gen(0);
    return nn::Sequential{default_linear(784, 256, dtype, gen), nn::ReLU(),
                          default_linear(256, 128, dtype, gen), nn::ReLU(),
                          default_linear(128, 10, dtype, gen)};
}

void fmnist(const BenchArgs&, Dtype dtype, std::ostream& out) {
    data::Dataset train = data::load_fashion_mnist(true);  // x [60000, 784] in [0, 1], y classes
    data::Dataset test = data::load_fashion_mnist(false);
    if (dtype == f64) {
        train = {train.x.to(f64), train.y};
        test = {test.x.to(f64), test.y};
    }
    nn::Sequential model = fmnist_model(dtype);
    optim::Adam opt(model.parameters(), {.lr = 1e-3});
    data::DataLoader loader(train, {.batch_size = 128, .shuffle = true, .seed = 0});
    const auto cross_entropy = [](const Tensor& logits, const Tensor& classes) {
        return nn::cross_entropy(logits, classes);
    };
    std::vector<double> times, cpu_times;
    for (int epoch = 0; epoch < 3; ++epoch) {
        const Stopwatch sw;
        for (auto [x, y] : loader) train_step(model, opt, cross_entropy, x, y);
        times.push_back(sw.wall());
        cpu_times.push_back(sw.cpu());
    }
    NoGrad no_grad;
    const double acc = accuracy(model(test.x), test.y);
    out << JsonLine("fmnist")
               .num("s_per_epoch_median", median(times), 5)
               .num("s_per_epoch_median_cpu", median(cpu_times), 5)
               .list("s_per_epoch", times)
               .num("test_acc", acc, 5)
               .num("peak_rss_mb", peak_rss_mb(), 5)
               .finish(dtype);
}

// ---- logreg ---------------------------------------------------------------------------------

// The data both sides draw (bench/torch_bench.py has the NumPy twin): draw k of stream s is
// splitmix64's mix(s + (k + 1)·golden), so any row can be drawn without the ones before it.
std::uint64_t draw(std::uint64_t stream, std::uint64_t k) {
    std::uint64_t z = stream + (k + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
// (0, 1), never 0 or 1.
double open_uniform(std::uint64_t z) {
    return (static_cast<double>(z >> 11) + 0.5) * 0x1p-53;
}
// Box–Muller on draws (2p, 2p + 1): normals 2p and 2p + 1 of the stream.
void normal_pair(std::uint64_t stream, std::uint64_t p, double& n0, double& n1) {
    const double u1 = open_uniform(draw(stream, 2 * p)), u2 = open_uniform(draw(stream, 2 * p + 1));
    const double r = std::sqrt(-2.0 * std::log(u1));
    n0 = r * std::cos(2.0 * std::numbers::pi * u2);
    n1 = r * std::sin(2.0 * std::numbers::pi * u2);
}

constexpr std::size_t kLogregRows = 2'000'000, kLogregFeatures = 20;

// x: standard normals of stream 1, row-major. The rule w·x + b: normals 0..20 of stream 2.
// y = [w·x + b + log(u/(1-u)) > 0] with u from stream 3: logistic noise, so that
// P(y = 1 | x) = sigmoid(w·x + b) exactly.
template <class T>
data::Dataset logreg_data(std::size_t rows, std::size_t features) {
    std::vector<double> rule(features + 2);
    for (std::size_t p = 0; p < rule.size() / 2; ++p)
        normal_pair(2, p, rule[2 * p], rule[2 * p + 1]);
    auto x = xt::xarray<T>::from_shape({rows, features});
    auto y = xt::xarray<T>::from_shape({rows, 1});
    std::vector<double> v(features);
    for (std::size_t i = 0; i < rows; ++i) {
        for (std::size_t j = 0; j < features; j += 2)
            normal_pair(1, (i * features + j) / 2, v[j], v[j + 1]);
        double z = rule[features];
        for (std::size_t j = 0; j < features; ++j) {
            z = z + rule[j] * v[j];
            x.data()[i * features + j] = static_cast<T>(static_cast<float>(v[j]));
        }
        const double u = open_uniform(draw(3, i));
        y.data()[i] = z + std::log(u / (1.0 - u)) > 0 ? T(1) : T(0);
    }
    return {Tensor(std::move(x)), Tensor(std::move(y))};
}

data::Dataset logreg_rows(Dtype dtype) {
    return dtype == f32 ? logreg_data<float>(kLogregRows, kLogregFeatures)
                        : logreg_data<double>(kLogregRows, kLogregFeatures);
}

void logreg(const BenchArgs&, Dtype dtype, std::ostream& out) {
    const data::Dataset data = logreg_rows(dtype);
    Generator gen(0);
    nn::Linear model = default_linear(kLogregFeatures, 1, dtype, gen);
    optim::SGD opt(model.parameters(), {.lr = 0.1});
    data::DataLoader loader(data, {.batch_size = 256, .shuffle = true, .seed = 0});
    const Stopwatch sw;
    for (auto [x, y] : loader) train_step(model, opt, bce, x, y);
    const Seconds epoch{sw.wall(), sw.cpu()};
    double full_loss, acc;
    {
        NoGrad no_grad;
        const Tensor logits = model(data.x);
        full_loss = nn::bce_with_logits(logits, data.y).item();
        const auto l = logits.to_array<double>();
        const auto t = data.y.to_array<double>();
        std::size_t hits = 0;
        for (std::size_t i = 0; i < l.size(); ++i) hits += (l.data()[i] > 0) == (t.data()[i] > 0.5);
        acc = static_cast<double>(hits) / static_cast<double>(l.size());
    }
    auto full_grad = [&] {
        Tape tape;
        const Tensor loss = nn::bce_with_logits(model(data.x), data.y);
        model.zero_grad();
        tape.backward(loss);
    };
    full_grad();
    const Seconds t_grad = median_seconds(5, full_grad);
    const auto xs = data.x.to_array<double>();
    const auto ys = data.y.to_array<double>();
    double sx = 0, sy = 0;
    for (const double e : xs) sx += e;
    for (const double e : ys) sy += e;
    out << JsonLine("logreg")
               .num("s_per_epoch", epoch.wall, 5)
               .num("s_per_epoch_cpu", epoch.cpu, 5)
               .num("full_loss", full_loss, 9)
               .num("acc", acc, 6)
               .num("s_full_batch_grad", t_grad.wall, 5)
               .num("s_full_batch_grad_cpu", t_grad.cpu, 5)
               .num("data_mean_x", sx / static_cast<double>(xs.size()), 9)
               .num("data_pos_frac", sy / static_cast<double>(ys.size()), 9)
               .finish(dtype);
}

// ---- fmnist-dp, logreg-dp: data parallel -----------------------------------------------------
// fmnist's and logreg's data, models, batches and optimizers, trained by fit: alone, or under
// mpirun data parallel (distributed::fit: each process its share of every batch, the gradients
// summed over processes after backward). bench/distributed runs both ways and compares the
// epoch times; only the first process prints.

struct EpochTimes : optim::Callback {
    std::optional<Stopwatch> watch;
    std::vector<double> wall;
    void on_epoch_begin(optim::TrainState&) override { watch.emplace(); }
    void on_epoch_end(optim::TrainState&, optim::Logs&) override { wall.push_back(watch->wall()); }
};

void fit_timed(const char* name, nn::Module& model, optim::Optimizer& opt,
               const optim::LossFn& loss, const data::Dataset& train, std::size_t batch_size,
               int epochs, Dtype dtype, std::ostream& out) {
    data::DataLoader loader(
        train, shard_for_processes({.batch_size = batch_size, .shuffle = true, .seed = 0}));
    EpochTimes times;
    AllreduceCost cost;
    const auto result = fit_on_processes(model, opt, loss, loader,
                                         {.epochs = epochs, .callbacks = {&times}}, &cost);
    const double total = std::accumulate(times.wall.begin(), times.wall.end(), 0.0);
    out << JsonLine(name)
               .num("processes", process_count())
               .num("s_per_epoch_median", median(times.wall), 5)
               .list("s_per_epoch", times.wall)
               .num("steps_per_epoch", static_cast<double>(loader.num_batches()))
               .num("allreduce_ms_per_step",
                    cost.calls ? 1e3 * cost.seconds / static_cast<double>(cost.calls) : 0.0, 4)
               .num("allreduce_share_of_epoch", cost.seconds / total, 4)
               .num("loss_last_epoch", result.epochs.back().at("loss"), 6)
               .finish(dtype);
}

void fmnist_dp(const BenchArgs&, Dtype dtype, std::ostream& out) {
    data::Dataset train = data::load_fashion_mnist(true);
    if (dtype == f64) train = {train.x.to(f64), train.y};
    nn::Sequential model = fmnist_model(dtype);
    optim::Adam opt(model.parameters(), {.lr = 1e-3});
    const auto cross_entropy = [](const Tensor& logits, const Tensor& classes) {
        return nn::cross_entropy(logits, classes);
    };
    fit_timed("fmnist-dp", model, opt, cross_entropy, train, 128, 3, dtype, out);
}

void logreg_dp(const BenchArgs&, Dtype dtype, std::ostream& out) {
    const data::Dataset train = logreg_rows(dtype);
    Generator gen(0);
    nn::Linear model = default_linear(kLogregFeatures, 1, dtype, gen);
    optim::SGD opt(model.parameters(), {.lr = 0.1});
    fit_timed("logreg-dp", model, opt, bce, train, 256, 3, dtype, out);
}

// ---- matmul ---------------------------------------------------------------------------------

// The three products of a matmul step, straight through cblas on the same buffers: forward
// C = A·B, then dA = G·Bᵀ and dB = Aᵀ·G (the transposes by flag, as the tape does them).
template <class T>
void direct_products(std::size_t n, const T* a, const T* b, const T* g, T* c, T* da, T* db) {
    const auto N = static_cast<blasint>(n);
    if constexpr (std::is_same_v<T, float>) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1, a, N, b, N, 0, c, N);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, N, 1, g, N, b, N, 0, da, N);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, N, N, 1, a, N, g, N, 0, db, N);
    } else {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1, a, N, b, N, 0, c, N);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, N, 1, g, N, b, N, 0, da, N);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, N, N, 1, a, N, g, N, 0, db, N);
    }
}

template <class T>
void direct_step(std::size_t n, const Tensor& a, const Tensor& b, const Tensor& g,
                 std::vector<T>& c, std::vector<T>& da, std::vector<T>& db) {
    c.resize(n * n), da.resize(n * n), db.resize(n * n);
    direct_products<T>(n, a.value<T>().data(), b.value<T>().data(), g.value<T>().data(), c.data(),
                       da.data(), db.data());
}

void matmul(const BenchArgs&, Dtype dtype, std::ostream& out) {
    constexpr std::size_t n = 1024;
    auto a = randn({n, n}, 1, dtype).requires_grad_();
    auto b = randn({n, n}, 2, dtype).requires_grad_();
    const auto seed = ones({n, n}, dtype);
    auto step = [&] {
        Tape tape;
        auto c = tapegrad::matmul(a, b);
        tape.backward(c, seed);
        a.zero_grad();
        b.zero_grad();
    };
    std::vector<float> cf, daf, dbf;
    std::vector<double> cd, dad, dbd;
    auto direct = [&] {
        if (dtype == f32) return direct_step<float>(n, a, b, seed, cf, daf, dbf);
        direct_step<double>(n, a, b, seed, cd, dad, dbd);
    };
    step();  // warm-up: BLAS buffers, page faults
    direct();
    // Alternate the two so that a noisy neighbour hits both alike.
    std::vector<double> tape_wall, tape_cpu, direct_wall, direct_cpu;
    for (int r = 0; r < 9; ++r) {
        const Seconds t = median_seconds(1, step), d = median_seconds(1, direct);
        tape_wall.push_back(t.wall), tape_cpu.push_back(t.cpu);
        direct_wall.push_back(d.wall), direct_cpu.push_back(d.cpu);
    }
    const double gflop = 3.0 * 2.0 * static_cast<double>(n * n * n) * 1e-9;
    const double gflops = gflop / median(tape_wall), direct_gflops = gflop / median(direct_wall);
    out << JsonLine("matmul")
               .num("n", static_cast<double>(n))
               .num("gflops", gflops, 4)
               .num("gflops_cpu", gflop / median(tape_cpu), 4)
               .num("direct_gflops", direct_gflops, 4)
               .num("direct_gflops_cpu", gflop / median(direct_cpu), 4)
               .num("vs_direct", gflops / direct_gflops, 3)
               .finish(dtype);
}

// ---- overhead -------------------------------------------------------------------------------

void overhead(const BenchArgs&, Dtype dtype, std::ostream& out) {
    const auto a = scalar(1.0, dtype).requires_grad_();
    const auto b = scalar(2.0, dtype);
    constexpr int kOps = 1000;
    Tensor sink;
    // Forward: kOps adds recorded on one tape; the tape's creation and release included.
    const Seconds fwd = median_seconds(301, [&] {
        Tape tape;
        for (int i = 0; i < kOps; ++i) sink = a + b;
    });
    // A chain of 100 adds, then backward through all of them.
    const Seconds chain = median_seconds(3001, [&] {
        Tape tape;
        Tensor y = a;
        for (int i = 0; i < 100; ++i) y = y + b;
        tape.backward(y);
    });
    out << JsonLine("overhead")
               .num("ns_add_fwd", fwd.wall / kOps * 1e9, 4)
               .num("ns_add_fwd_cpu", fwd.cpu / kOps * 1e9, 4)
               .num("ns_per_op_fwd_plus_bwd", chain.wall / 100 * 1e9, 4)
               .num("ns_per_op_fwd_plus_bwd_cpu", chain.cpu / 100 * 1e9, 4)
               .finish(dtype);
}

using Workload = void (*)(const BenchArgs&, Dtype, std::ostream&);
const std::vector<std::pair<std::string, Workload>> kWorkloads = {{"tiny", tiny},
                                                                  {"fmnist", fmnist},
                                                                  {"logreg", logreg},
                                                                  {"matmul", matmul},
                                                                  {"overhead", overhead}};
// Not part of "all" (bench/compare's PyTorch side has no twin): run by name.
const std::vector<std::pair<std::string, Workload>> kParallelWorkloads = {{"fmnist-dp", fmnist_dp},
                                                                          {"logreg-dp", logreg_dp}};

// --threads within what OpenBLAS can run (it would cut a larger count down silently).
void set_threads(int threads) {
    if (threads < 1)
        throw UsageError("bench: --threads must be at least 1, got " + std::to_string(threads));
    set_num_threads(threads);  // OpenBLAS's pool: tapegrad runs no other
    if (num_threads() != threads) {
        throw UsageError("bench: --threads " + std::to_string(threads) +
                         " is more than OpenBLAS can run here (at most " +
                         std::to_string(num_threads()) + ")");
    }
}

}  // namespace

void run_bench(const BenchArgs& args, std::ostream& out) {
    if (args.dtype != "f32" && args.dtype != "f64")
        throw UsageError("bench: --dtype must be f32 or f64, got '" + args.dtype + "'");
    bool known = args.workload == "all";
    for (const auto& w : kWorkloads) known = known || w.first == args.workload;
    for (const auto& w : kParallelWorkloads) known = known || w.first == args.workload;
    if (!known) {
        throw UsageError(
            "bench: unknown workload '" + args.workload +
            "' (known: tiny, fmnist, logreg, matmul, overhead, all, fmnist-dp, logreg-dp)");
    }
    // Only tiny reads a file; the others draw or download their data.
    if (args.data_dir_given && args.workload != "tiny" && args.workload != "all") {
        throw UsageError("bench: --data applies to the workload tiny only; " + args.workload +
                         " does not read it");
    }
    if (args.threads) set_threads(*args.threads);
    const Dtype dtype = args.dtype == "f64" ? f64 : f32;
    for (const auto& [name, fn] : kWorkloads) {
        if (args.workload == "all" || args.workload == name) {
            fn(args, dtype, out);
            out.flush();
        }
    }
    for (const auto& [name, fn] : kParallelWorkloads)
        if (args.workload == name) fn(args, dtype, out);
}

CLI::App* add_bench_command(CLI::App& app, BenchArgs& args, int& exit_code) {
    auto* cmd = add_command(
        app, "bench",
        "Run a benchmark workload and print one JSON line per run (bench/compare puts it beside "
        "PyTorch)",
        exit_code, [&args] { run_bench(args, output_of_this_process(std::cout)); });
    cmd->add_option("workload", args.workload,
                    "tiny, fmnist, logreg, matmul, overhead or all; fmnist-dp or logreg-dp (data "
                    "parallel under mpirun)")
        ->required();
    cmd->add_option("--threads", args.threads,
                    "OpenBLAS threads (default: as OPENBLAS_NUM_THREADS or OpenBLAS decides)");
    cmd->add_option("--dtype", args.dtype, "f32 or f64")->check(CLI::IsMember({"f32", "f64"}));
    args.data_dir = TAPEGRAD_BENCH_DATA;
    cmd->add_option("--data", args.data_dir, "folder with make_classification_400.csv (tiny only)")
        ->each([&args](const std::string&) { args.data_dir_given = true; });
    return cmd;
}

}  // namespace tapegrad::cli

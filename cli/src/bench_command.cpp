#include "bench_command.hpp"

#include <cblas.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <functional>
#include <iostream>
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

#include "../../bench/bench_common.hpp"  // shared with LibTorch's side, bench/libtorch_bench.cpp
#include "command.hpp"
#include "exit_status.hpp"
#include "model_spec.hpp"
#include "parallel.hpp"

#ifndef TAPEGRAD_BENCH_DATA
#define TAPEGRAD_BENCH_DATA "examples/data"
#endif

namespace tapegrad::cli {

namespace {

using bench::JsonLine;
using bench::matmul_line;
using bench::median;
using bench::median_seconds;
using bench::Seconds;
using bench::Stopwatch;

// The run's context on every line, as compare checks it.
std::string finish(JsonLine& line, Dtype dtype) {
    return line.finish(num_threads(), openblas_get_num_threads(), openblas_get_corename(),
                       dtype == f32 ? "f32" : "f64");
}

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
    out << finish(JsonLine("tiny")
                      .num("us_per_step", elapsed.wall / kSteps * 1e6, 5)
                      .num("us_per_step_cpu", elapsed.cpu / kSteps * 1e6, 5)
                      .num("final_loss", final_loss, 9),
                  dtype);
}

// C = op(A)·op(B), row-major, straight through cblas: op transposes when its flag is set; C is
// m×n, the inner dimension k.
template <class T>
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, const T* a,
          const T* b, T* c) {
    const auto M = static_cast<blasint>(m), N = static_cast<blasint>(n),
               K = static_cast<blasint>(k);
    const auto ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
    const blasint lda = trans_a ? M : K, ldb = trans_b ? K : N;
    if constexpr (std::is_same_v<T, float>)
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1, a, lda, b, ldb, 0, c, N);
    else
        cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, 1, a, lda, b, ldb, 0, c, N);
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

// The limit of an fmnist epoch here: the products of every step of one epoch alone, through
// cblas on buffers of the same shapes (per layer, in → out: forward a·Wᵀ; backward gᵀ·a for the
// weight and g·W for the input of every layer but the first), the rest of a step left out.
// widths: 784, 256, 128, 10.
template <class T>
Seconds epoch_products(std::size_t rows, std::size_t batch,
                       const std::vector<std::size_t>& widths) {
    const std::size_t layers = widths.size() - 1;
    // 0.01 everywhere: no denormals, no NaN, the speed of any other values.
    std::vector<std::vector<T>> act(widths.size()), grad(widths.size()), w(layers), dw(layers);
    for (std::size_t l = 0; l < widths.size(); ++l) {
        act[l].assign(batch * widths[l], T(0.01));
        grad[l].assign(batch * widths[l], T(0.01));
    }
    for (std::size_t l = 0; l < layers; ++l) {
        w[l].assign(widths[l + 1] * widths[l], T(0.01));
        dw[l].assign(widths[l + 1] * widths[l], T(0.01));
    }
    auto epoch = [&] {
        for (std::size_t r0 = 0; r0 < rows; r0 += batch) {
            const std::size_t b = std::min(batch, rows - r0);
            for (std::size_t l = 0; l < layers; ++l)
                gemm<T>(false, true, b, widths[l + 1], widths[l], act[l].data(), w[l].data(),
                        act[l + 1].data());
            for (std::size_t l = layers; l-- > 0;) {
                gemm<T>(true, false, widths[l + 1], widths[l], b, grad[l + 1].data(), act[l].data(),
                        dw[l].data());
                if (l > 0)
                    gemm<T>(false, false, b, widths[l], widths[l + 1], grad[l + 1].data(),
                            w[l].data(), grad[l].data());
            }
        }
    };
    epoch();  // warm-up: OpenBLAS's buffers
    return median_seconds(3, epoch);
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
    const std::vector<std::size_t> widths{784, 256, 128, 10};
    const Seconds products = dtype == f32 ? epoch_products<float>(train.size(), 128, widths)
                                          : epoch_products<double>(train.size(), 128, widths);
    out << finish(JsonLine("fmnist")
                      .num("s_per_epoch_median", median(times), 5)
                      .num("s_per_epoch_median_cpu", median(cpu_times), 5)
                      .list("s_per_epoch", times)
                      .num("test_acc", acc, 5)
                      .num("peak_rss_mb", bench::peak_rss_mb(), 5)
                      .num("s_epoch_products", products.wall, 5)
                      .num("s_epoch_products_cpu", products.cpu, 5)
                      .num("vs_products", median(times) / products.wall, 4)
                      .num("vs_products_cpu", median(cpu_times) / products.cpu, 4),
                  dtype);
}

// ---- logreg ---------------------------------------------------------------------------------

// The data every side draws (bench/bench_common.hpp).
template <class T>
data::Dataset logreg_data(std::size_t rows, std::size_t features) {
    auto x = xt::xarray<T>::from_shape({rows, features});
    auto y = xt::xarray<T>::from_shape({rows, 1});
    bench::logreg_fill<T>(rows, features, x.data(), y.data());
    return {Tensor(std::move(x)), Tensor(std::move(y))};
}

data::Dataset logreg_rows(Dtype dtype) {
    return dtype == f32 ? logreg_data<float>(bench::kLogregRows, bench::kLogregFeatures)
                        : logreg_data<double>(bench::kLogregRows, bench::kLogregFeatures);
}

void logreg(const BenchArgs&, Dtype dtype, std::ostream& out) {
    const data::Dataset data = logreg_rows(dtype);
    Generator gen(0);
    nn::Linear model = default_linear(bench::kLogregFeatures, 1, dtype, gen);
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
    JsonLine line =
        bench::logreg_line(epoch, full_loss, acc, t_grad, bench::mean_of(xs.data(), xs.size()),
                           bench::mean_of(ys.data(), ys.size()));
    out << finish(line, dtype);
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
    out << finish(
        JsonLine(name)
            .num("processes", process_count())
            .num("s_per_epoch_median", median(times.wall), 5)
            .list("s_per_epoch", times.wall)
            .num("steps_per_epoch", static_cast<double>(loader.num_batches()))
            .num("allreduce_ms_per_step",
                 cost.calls ? 1e3 * cost.seconds / static_cast<double>(cost.calls) : 0.0, 4)
            .num("allreduce_share_of_epoch", cost.seconds / total, 4)
            .num("loss_last_epoch", result.epochs.back().at("loss"), 6),
        dtype);
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
    nn::Linear model = default_linear(bench::kLogregFeatures, 1, dtype, gen);
    optim::SGD opt(model.parameters(), {.lr = 0.1});
    fit_timed("logreg-dp", model, opt, bce, train, 256, 3, dtype, out);
}

// ---- matmul ---------------------------------------------------------------------------------

// The three products of a matmul step, straight through cblas on the same buffers: forward
// C = A·B, then dA = G·Bᵀ and dB = Aᵀ·G (the transposes by flag, as the tape does them).
template <class T>
void direct_products(std::size_t n, const T* a, const T* b, const T* g, T* c, T* da, T* db) {
    gemm<T>(false, false, n, n, n, a, b, c);
    gemm<T>(false, true, n, n, n, g, b, da);
    gemm<T>(true, false, n, n, n, a, g, db);
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
    JsonLine line = matmul_line(n, step, direct);
    out << finish(line, dtype);
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
    out << finish(JsonLine("overhead")
                      .num("ns_add_fwd", fwd.wall / kOps * 1e9, 4)
                      .num("ns_add_fwd_cpu", fwd.cpu / kOps * 1e9, 4)
                      .num("ns_per_op_fwd_plus_bwd", chain.wall / 100 * 1e9, 4)
                      .num("ns_per_op_fwd_plus_bwd_cpu", chain.cpu / 100 * 1e9, 4),
                  dtype);
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

// tapegrad's own threads; OpenBLAS then runs one thread inside each part of a product.
void set_threads(int threads) {
    if (threads < 1)
        throw UsageError("bench: --threads must be at least 1, got " + std::to_string(threads));
    if (threads > max_threads()) {
        throw UsageError("bench: --threads " + std::to_string(threads) +
                         " is more than tapegrad runs here (at most " +
                         std::to_string(max_threads()) + ", four a core)");
    }
    set_num_threads(threads);
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
                    "tapegrad's threads (default: none of its own; OpenBLAS's as "
                    "OPENBLAS_NUM_THREADS or OpenBLAS decides)");
    cmd->add_option("--dtype", args.dtype, "f32 or f64")->check(CLI::IsMember({"f32", "f64"}));
    args.data_dir = TAPEGRAD_BENCH_DATA;
    cmd->add_option("--data", args.data_dir, "folder with make_classification_400.csv (tiny only)")
        ->each([&args](const std::string&) { args.data_dir_given = true; });
    return cmd;
}

}  // namespace tapegrad::cli

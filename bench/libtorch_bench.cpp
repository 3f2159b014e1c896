// LibTorch's side of `tapegrad bench`: the five workloads of bench/torch_bench.py written
// against PyTorch's own C++ API (Debian's libtorch-dev), the same data, sizes, initial weights
// (torch::manual_seed(0), then the layers in the same order: the same draws as in Python),
// hyper-parameters and thread settings, printing one JSON line per run with the same keys.
// bench/compare runs it beside the other two; built with -DTAPEGRAD_BENCH_LIBTORCH=ON.
//
// usage: libtorch_bench WORKLOAD [--threads N] [--dtype f32|f64]
//   WORKLOAD: tiny | fmnist | logreg | matmul | overhead | all
#include <cblas.h>  // openblas_*: the OpenBLAS that libtorch_cpu.so loads (libopenblas.so.0)
#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench_common.hpp"

#ifndef TAPEGRAD_BENCH_DATA
#define TAPEGRAD_BENCH_DATA "examples/data"
#endif

namespace {

using namespace tapegrad::bench;
using torch::indexing::Slice;

const std::string kTinyCsv = std::string(TAPEGRAD_BENCH_DATA) + "/make_classification_400.csv";
const std::string kFmnistDir = "/usr/share/datasets/fashion-mnist";

// The run's context on every line, as compare checks it.
std::string finish(JsonLine& line, torch::Dtype dtype) {
    return line.finish(torch::get_num_threads(), openblas_get_num_threads(),
                       openblas_get_corename(), dtype == torch::kFloat64 ? "f64" : "f32");
}

// Three linear layers with an activation between them, created in this order from torch's
// global generator, as torch.nn.Sequential(Linear, act, Linear, act, Linear) in Python: one
// statement each, since C++ leaves the order in which a call's arguments are made open.
template <class Activation>
torch::nn::Sequential mlp(int64_t in, int64_t h1, int64_t h2, int64_t out, torch::Dtype dtype) {
    torch::nn::Linear l1(in, h1);
    torch::nn::Linear l2(h1, h2);
    torch::nn::Linear l3(h2, out);
    torch::nn::Sequential model(l1, Activation(), l2, Activation(), l3);
    model->to(dtype);
    return model;
}

// One epoch of mini-batches in a fresh random order (torch's global generator), as
// torch_bench.py's train_epoch: zero_grad(set_to_none=True), forward, backward, step.
template <class Model, class Loss>
void train_epoch(Model& model, torch::optim::Optimizer& opt, Loss& loss_fn, const torch::Tensor& x,
                 const torch::Tensor& y, int64_t batch) {
    const int64_t n = x.size(0);
    const torch::Tensor perm = torch::randperm(n);
    for (int64_t i = 0; i < n; i += batch) {
        const torch::Tensor idx = perm.index({Slice(i, i + batch)});
        model->zero_grad(/*set_to_none=*/true);
        torch::Tensor loss = loss_fn(model->forward(x.index({idx})), y.index({idx}));
        loss.backward();
        opt.step();
    }
}

// ---- tiny -----------------------------------------------------------------------------------

// make_classification_400.csv: a header, then rows x1,x2,y.
std::vector<std::vector<double>> read_csv_rows(const std::string& path, std::size_t columns) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path + ": cannot open");
    std::string line;
    std::getline(in, line);  // the header
    std::vector<std::vector<double>> rows;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        std::vector<double> row;
        std::stringstream cells(line);
        for (std::string cell; std::getline(cells, cell, ',');) row.push_back(std::stod(cell));
        if (row.size() != columns) {
            throw std::runtime_error(path + ": line " + std::to_string(rows.size() + 2) + " has " +
                                     std::to_string(row.size()) + " cells, expected " +
                                     std::to_string(columns));
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

void tiny(torch::Dtype dtype) {
    const auto rows = read_csv_rows(kTinyCsv, 3);
    const auto n = static_cast<int64_t>(rows.size());
    std::vector<double> xv, yv;
    for (const auto& r : rows) xv.insert(xv.end(), {r[0], r[1]}), yv.push_back(r[2]);
    // Standardised in double with the population std, as StandardScaler and torch_bench.py.
    torch::Tensor x = torch::tensor(xv, torch::kFloat64).reshape({n, 2});
    x = ((x - x.mean(0)) / x.std(0, /*unbiased=*/false)).to(dtype);
    const torch::Tensor y = torch::tensor(yv, torch::kFloat64).reshape({n, 1}).to(dtype);
    torch::manual_seed(0);
    torch::nn::Sequential model = mlp<torch::nn::Tanh>(2, 16, 16, 1, dtype);
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(0.01));
    torch::nn::BCEWithLogitsLoss loss_fn;
    constexpr int kSteps = 2000;
    const Stopwatch sw;
    for (int s = 0; s < kSteps; ++s) {
        model->zero_grad(/*set_to_none=*/true);
        torch::Tensor loss = loss_fn(model->forward(x), y);
        loss.backward();
        opt.step();
    }
    const Seconds elapsed{sw.wall(), sw.cpu()};
    torch::NoGradGuard no_grad;
    const double final_loss = loss_fn(model->forward(x), y).item<double>();
    std::cout << finish(JsonLine("tiny")
                            .num("us_per_step", elapsed.wall / kSteps * 1e6, 5)
                            .num("us_per_step_cpu", elapsed.cpu / kSteps * 1e6, 5)
                            .num("final_loss", final_loss, 9),
                        dtype);
}

// ---- fmnist ---------------------------------------------------------------------------------

// A gzip-compressed IDX file (unsigned bytes): its dimensions and its bytes.
std::pair<std::vector<int64_t>, std::vector<uint8_t>> read_idx_gz(const std::string& path) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) throw std::runtime_error(path + ": cannot open");
    std::vector<uint8_t> raw;
    uint8_t buf[1 << 16];
    for (int got; (got = gzread(f, buf, sizeof buf)) > 0;) raw.insert(raw.end(), buf, buf + got);
    const bool failed = !gzeof(f);
    gzclose(f);
    if (failed || raw.size() < 4 || raw[0] != 0 || raw[1] != 0 || raw[2] != 0x08)
        throw std::runtime_error(path + ": not a gzip-compressed IDX file of unsigned bytes");
    const std::size_t dims = raw[3];
    std::vector<int64_t> shape;
    std::size_t count = 1;
    for (std::size_t d = 0; d < dims && 8 + 4 * d <= raw.size(); ++d) {
        const uint8_t* p = raw.data() + 4 + 4 * d;
        shape.push_back(int64_t{p[0]} << 24 | int64_t{p[1]} << 16 | int64_t{p[2]} << 8 | p[3]);
        count *= static_cast<std::size_t>(shape.back());
    }
    const std::size_t offset = 4 + 4 * dims;
    if (shape.size() != dims || raw.size() != offset + count)
        throw std::runtime_error(path + ": the IDX header does not match the file's size");
    return {shape,
            std::vector<uint8_t>(raw.begin() + static_cast<std::ptrdiff_t>(offset), raw.end())};
}

// x [n, 784] as float32 / 255 (as torch_bench.py: float32 division), then dtype; y int64.
std::pair<torch::Tensor, torch::Tensor> load_fmnist(const std::string& prefix, torch::Dtype dtype) {
    const auto [xshape, xbytes] = read_idx_gz(kFmnistDir + "/" + prefix + "-images-idx3-ubyte.gz");
    const auto [yshape, ybytes] = read_idx_gz(kFmnistDir + "/" + prefix + "-labels-idx1-ubyte.gz");
    const int64_t n = xshape.at(0), features = static_cast<int64_t>(xbytes.size()) / n;
    torch::Tensor x = torch::empty({n, features}, torch::kFloat32);
    float* xp = x.data_ptr<float>();
    for (std::size_t i = 0; i < xbytes.size(); ++i) xp[i] = static_cast<float>(xbytes[i]) / 255.0f;
    torch::Tensor y = torch::empty({yshape.at(0)}, torch::kInt64);
    std::copy(ybytes.begin(), ybytes.end(), y.data_ptr<int64_t>());
    return {x.to(dtype), y};
}

void fmnist(torch::Dtype dtype) {
    const auto [x_train, y_train] = load_fmnist("train", dtype);
    const auto [x_test, y_test] = load_fmnist("t10k", dtype);
    torch::manual_seed(0);
    torch::nn::Sequential model = mlp<torch::nn::ReLU>(784, 256, 128, 10, dtype);
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3));
    torch::nn::CrossEntropyLoss loss_fn;
    std::vector<double> times, cpu_times;
    for (int epoch = 0; epoch < 3; ++epoch) {
        const Stopwatch sw;
        train_epoch(model, opt, loss_fn, x_train, y_train, 128);
        times.push_back(sw.wall());
        cpu_times.push_back(sw.cpu());
    }
    torch::NoGradGuard no_grad;
    const double acc =
        (model->forward(x_test).argmax(1) == y_test).to(torch::kFloat64).mean().item<double>();
    std::cout << finish(JsonLine("fmnist")
                            .num("s_per_epoch_median", median(times), 5)
                            .num("s_per_epoch_median_cpu", median(cpu_times), 5)
                            .list("s_per_epoch", times)
                            .num("test_acc", acc, 5)
                            .num("peak_rss_mb", peak_rss_mb(), 5),
                        dtype);
}

// ---- logreg ---------------------------------------------------------------------------------

void logreg(torch::Dtype dtype) {
    const auto rows = static_cast<int64_t>(kLogregRows);
    const auto features = static_cast<int64_t>(kLogregFeatures);
    torch::Tensor xf = torch::empty({rows, features}, torch::kFloat32);
    torch::Tensor yf = torch::empty({rows, 1}, torch::kFloat32);
    logreg_fill<float>(kLogregRows, kLogregFeatures, xf.data_ptr<float>(), yf.data_ptr<float>());
    const double mean_x = mean_of(xf.data_ptr<float>(), kLogregRows * kLogregFeatures);
    const double pos_frac = mean_of(yf.data_ptr<float>(), kLogregRows);
    const torch::Tensor x = xf.to(dtype), y = yf.to(dtype);
    torch::manual_seed(0);
    torch::nn::Linear model(features, 1);
    model->to(dtype);
    torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.1));
    torch::nn::BCEWithLogitsLoss loss_fn;
    const Stopwatch sw;
    train_epoch(model, opt, loss_fn, x, y, 256);
    const Seconds epoch{sw.wall(), sw.cpu()};
    double full_loss, acc;
    {
        torch::NoGradGuard no_grad;
        const torch::Tensor out = model->forward(x);
        full_loss = loss_fn(out, y).item<double>();
        acc = ((out > 0).to(dtype) == y).to(torch::kFloat64).mean().item<double>();
    }
    auto full_grad = [&] {
        model->zero_grad(/*set_to_none=*/true);
        loss_fn(model->forward(x), y).backward();
    };
    full_grad();
    const Seconds t_grad = median_seconds(5, full_grad);
    JsonLine line = logreg_line(epoch, full_loss, acc, t_grad, mean_x, pos_frac);
    std::cout << finish(line, dtype);
}

// ---- matmul ---------------------------------------------------------------------------------

void matmul(torch::Dtype dtype) {
    constexpr int64_t n = 1024;
    const auto options = torch::TensorOptions().dtype(dtype);
    const at::Generator gen = at::detail::createCPUGenerator(0);
    torch::Tensor a = torch::randn({n, n}, gen, options).requires_grad_(true);
    torch::Tensor b = torch::randn({n, n}, gen, options).requires_grad_(true);
    const torch::Tensor seed = torch::ones({n, n}, options);
    auto step = [&] {
        torch::matmul(a, b).backward(seed);
        a.mutable_grad() = torch::Tensor();
        b.mutable_grad() = torch::Tensor();
    };
    // The three products of the step without autograd: forward, dA = dC·Bᵀ, dB = Aᵀ·dC.
    const torch::Tensor ad = a.detach(), bd = b.detach();
    auto direct = [&] {
        torch::mm(ad, bd);
        torch::mm(seed, bd.t());
        torch::mm(ad.t(), seed);
    };
    JsonLine line = matmul_line(n, step, direct);
    std::cout << finish(line, dtype);
}

// ---- overhead -------------------------------------------------------------------------------

void overhead(torch::Dtype dtype) {
    const auto options = torch::TensorOptions().dtype(dtype);
    const torch::Tensor a = torch::scalar_tensor(1.0, options).requires_grad_(true);
    const torch::Tensor b = torch::scalar_tensor(2.0, options);
    constexpr int kOps = 1000;
    // The repetitions of torch_bench.py (its per-op cost is of the same order).
    const Seconds fwd = median_seconds(31, [&] {
        for (int i = 0; i < kOps; ++i) (void)(a + b);
    });
    const Seconds chain = median_seconds(301, [&] {
        torch::Tensor y = a;
        for (int i = 0; i < 100; ++i) y = y + b;
        y.backward();
    });
    std::cout << finish(JsonLine("overhead")
                            .num("ns_add_fwd", fwd.wall / kOps * 1e9, 4)
                            .num("ns_add_fwd_cpu", fwd.cpu / kOps * 1e9, 4)
                            .num("ns_per_op_fwd_plus_bwd", chain.wall / 100 * 1e9, 4)
                            .num("ns_per_op_fwd_plus_bwd_cpu", chain.cpu / 100 * 1e9, 4),
                        dtype);
}

const std::vector<std::pair<std::string, void (*)(torch::Dtype)>> kWorkloads = {
    {"tiny", tiny},
    {"fmnist", fmnist},
    {"logreg", logreg},
    {"matmul", matmul},
    {"overhead", overhead}};

int usage(const std::string& why) {
    std::cerr << "libtorch_bench: " << why
              << "\nusage: libtorch_bench WORKLOAD [--threads N] [--dtype f32|f64]"
                 "\n  WORKLOAD: tiny, fmnist, logreg, matmul, overhead or all\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string workload, dtype_name = "f32";
    int threads = 1;  // as torch_bench.py
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if ((arg == "--threads" || arg == "--dtype") && i + 1 == argc)
            return usage(arg + " needs a value");
        if (arg == "--threads") {
            const std::string value = argv[++i];
            try {
                std::size_t used = 0;
                threads = std::stoi(value, &used);
                if (used != value.size() || threads < 1) throw std::invalid_argument(value);
            } catch (const std::exception&) {
                return usage("--threads must be a whole number of at least 1, got '" + value + "'");
            }
        } else if (arg == "--dtype") {
            dtype_name = argv[++i];
            if (dtype_name != "f32" && dtype_name != "f64")
                return usage("--dtype must be f32 or f64, got '" + dtype_name + "'");
        } else if (workload.empty() && arg.rfind("--", 0) != 0) {
            workload = arg;
        } else {
            return usage("unexpected argument '" + arg + "'");
        }
    }
    if (workload.empty()) return usage("a workload is required");
    const bool known =
        workload == "all" || std::any_of(kWorkloads.begin(), kWorkloads.end(),
                                         [&](const auto& w) { return w.first == workload; });
    if (!known) return usage("unknown workload '" + workload + "'");
    // Both pools, as torch_bench.py: torch's intra-op (OpenMP) threads and OpenBLAS's own,
    // which torch::set_num_threads does not reach.
    torch::set_num_threads(threads);
    openblas_set_num_threads(threads);
    const torch::Dtype dtype = dtype_name == "f64" ? torch::kFloat64 : torch::kFloat32;
    try {
        for (const auto& [name, fn] : kWorkloads) {
            if (workload == "all" || workload == name) fn(dtype);
        }
    } catch (const std::exception& e) {
        std::cerr << "libtorch_bench: error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

// Cost of the tape itself and of matrix products through it, one JSON line per measurement:
//   overhead: a scalar add recorded on a tape (forward), and a chain of 100 adds forward
//             plus backward, per op;
//   matmul:   a 1024x1024 float32 product forward and backward (3 products) in GFLOP/s.
// bench/compare runs this beside bench/torch_autodiff.py, which measures the same in PyTorch.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <tapegrad/autodiff/autodiff.hpp>
#include <vector>

namespace tg = tapegrad;
using Clock = std::chrono::steady_clock;

namespace {

// The median of `reps` timings of f, in seconds (the median shrugs off a noisy neighbour).
template <class F>
double median_seconds(int reps, F&& f) {
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
        const auto start = Clock::now();
        f();
        t.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
    std::nth_element(t.begin(), t.begin() + reps / 2, t.end());
    return t[reps / 2];
}

void overhead() {
    const auto a = tg::scalar(1.0).requires_grad_();
    const auto b = tg::scalar(2.0);
    constexpr int kOps = 1000;
    tg::Tensor sink;
    // Forward: kOps adds recorded on one tape; the tape's creation and release included.
    const double fwd = median_seconds(301, [&] {
        tg::Tape tape;
        for (int i = 0; i < kOps; ++i) sink = a + b;
    });
    // A chain of 100 adds, then backward through all of them.
    const double chain = median_seconds(3001, [&] {
        tg::Tape tape;
        tg::Tensor y = a;
        for (int i = 0; i < 100; ++i) y = y + b;
        tape.backward(y);
    });
    std::printf(
        "{\"bench\": \"overhead\", \"ns_add_fwd\": %.1f, \"ns_per_op_fwd_plus_bwd\": %.1f}\n",
        fwd / kOps * 1e9, chain / 100 * 1e9);
}

void matmul(std::size_t n, tg::Dtype dtype) {
    auto a = tg::randn({n, n}, 1, dtype).requires_grad_();
    auto b = tg::randn({n, n}, 2, dtype).requires_grad_();
    const auto seed = tg::ones({n, n}, dtype);
    auto step = [&] {
        tg::Tape tape;
        auto c = tg::matmul(a, b);
        tape.backward(c, seed);
        a.zero_grad();
        b.zero_grad();
    };
    step();  // warm-up: BLAS buffers, page faults
    const double t = median_seconds(9, step);
    const double flops = 3.0 * 2.0 * static_cast<double>(n * n * n);
    std::printf(
        "{\"bench\": \"matmul\", \"n\": %zu, \"dtype\": \"%s\", \"threads\": %d, \"gflops\": "
        "%.1f}\n",
        n, dtype == tg::f32 ? "f32" : "f64", tg::num_threads(), flops / t * 1e-9);
}

}  // namespace

int main(int argc, char** argv) {
    int threads = 1;
    std::string which = "all";
    tg::Dtype dtype = tg::f32;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--threads" && i + 1 < argc) {
            threads = std::atoi(argv[++i]);
        } else if (arg == "--dtype" && i + 1 < argc) {
            dtype = std::strcmp(argv[++i], "f64") == 0 ? tg::f64 : tg::f32;
        } else if (arg == "overhead" || arg == "matmul" || arg == "all") {
            which = arg;
        } else {
            std::fprintf(
                stderr,
                "usage: bench_autodiff [overhead|matmul|all] [--threads N] [--dtype f32|f64]\n");
            return 2;
        }
    }
    tg::set_num_threads(threads);
    if (which == "overhead" || which == "all") overhead();
    if (which == "matmul" || which == "all") matmul(1024, dtype);
}

// Parameters shared by several threads, each with its own tape: nothing a tape records is
// written into the shared tensor records, so every gradient() call on every thread is exact
// (this build also runs under ThreadSanitizer: make test-tsan).
#include <atomic>
#include <thread>
#include <vector>

#include "check.hpp"

namespace {

constexpr int kCalls = 100000;

// Each thread asks for the gradient of its own function of the shared parameters, with its
// own inputs, kCalls times, and counts the results that are not exactly the expected ones.
int wrong_results(const tg::Tensor& w, const tg::Tensor& b, double x) {
    // f = Σ (w·x + b)² over two entries: df/dw = 2(w·x + b)·x, df/db = 2(w·x + b).
    const double w0 = w.value<double>()(0), w1 = w.value<double>()(1), b0 = b.item();
    const double r0 = w0 * x + b0, r1 = w1 * x + b0;
    const double dw0 = 2 * r0 * x, dw1 = 2 * r1 * x, db = 2 * (r0 + r1);
    const tg::Tensor xs = tg::scalar(x, tg::f64);
    int wrong = 0;
    for (int call = 0; call < kCalls; ++call) {
        tg::Tape tape;
        const tg::Tensor f = tg::sum(tg::square(w * xs + b));
        const auto g = tape.gradient(f, {w, b});
        const auto& gw = g[0].value<double>();
        wrong += gw(0) != dw0 || gw(1) != dw1 || g[1].item() != db;
    }
    return wrong;
}

void run_threads(int n) {
    const tg::Tensor w = tg::tensor({0.5, -1.5}, tg::f64).requires_grad_();
    const tg::Tensor b = tg::scalar(0.25, tg::f64).requires_grad_();
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < n; ++t)
        threads.emplace_back([&, t] { wrong += wrong_results(w, b, 1.0 + t); });
    for (auto& th : threads) th.join();
    CHECK(wrong.load() == 0);
    CHECK_FALSE(w.has_grad());  // gradient() never touches .grad()
}

}  // namespace

TEST_CASE("two threads sharing parameters: 100 000 gradient() calls each, all exact") {
    run_threads(2);
}

TEST_CASE("four threads sharing parameters: 100 000 gradient() calls each, all exact") {
    run_threads(4);
}

TEST_CASE("threads sharing parameters with nested tapes and second derivatives") {
    const tg::Tensor w = tg::scalar(1.5, tg::f64).requires_grad_();
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
        threads.emplace_back([&, t] {
            const double x = 2.0 + t;
            for (int call = 0; call < 2000; ++call) {
                tg::Tape outer;
                tg::Tensor g;
                {
                    tg::Tape inner;
                    g = inner.gradient(tg::pow(w, 3.0) * x, {w})[0];  // 3w²x
                }
                const double h = outer.gradient(g, {w})[0].item();  // 6wx
                wrong += g.item() != 3 * 1.5 * 1.5 * x || h != 6 * 1.5 * x;
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(wrong.load() == 0);
}

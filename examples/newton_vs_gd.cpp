// Second derivatives from the tape, on the logistic regression of text 001
// (make_classification_400: the raw features and a bias, mean binary cross-entropy, full
// batch, float64, from zero weights):
//  1. Newton's method with its exact Hessian (optim::Newton, which differentiates the
//     closure's backward again) beside gradient descent: iterations and time to the same loss.
//  2. Curvature a learner can see, from Hessian-vector products (tg::hvp) without forming the
//     Hessian: along the gradient (gᵀHg / gᵀg, which says how far a step along -g should go),
//     and the largest curvature λmax by power iteration, which bounds the stable learning
//     rate of gradient descent: 0 < η < 2/λmax (text 001's bound 2/a in several dimensions).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include <vector>

namespace tg = tapegrad;
namespace optim = tapegrad::optim;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The data as tensors: X [400, 2] and y [400, 1].
struct Data {
    tg::Tensor x, y;
};

Data load() {
    const std::string path = std::string(TAPEGRAD_EXAMPLES_DATA) + "/make_classification_400.csv";
    const auto csv = tg::data::read_csv(path, "y", {.dtype = tg::f64});
    return {csv.data.x, tg::reshape(csv.data.y, {csv.data.y.numel(), 1})};
}

// Mean BCE with logits of w = [w1, w2, b] (one tensor, so that the Hessian is one 3x3 block).
tg::Tensor loss_of(const Data& d, const tg::Tensor& w) {
    const tg::Tensor z =
        tg::matmul(d.x, tg::reshape(tg::slice_rows(w, 0, 2), {2, 1})) + tg::slice_rows(w, 2, 3);
    return tg::mean(tg::softplus(z) - d.y * z);
}

std::function<double()> closure_for(const Data& d, tg::Tensor w) {
    return [&d, w]() mutable {
        w.zero_grad();
        tg::Tape tape;
        const tg::Tensor loss = loss_of(d, w);
        tape.backward(loss);
        return loss.item();
    };
}

double dot(const tg::Tensor& a, const tg::Tensor& b) {
    return tg::sum(a * b).item();
}

// λmax of the Hessian at w by power iteration on Hessian-vector products.
double largest_curvature(const Data& d, const tg::Tensor& w, int iterations) {
    auto f = [&d](const tg::Tensor& v) { return loss_of(d, v); };
    tg::Tensor v = tg::ones({3}, tg::f64);
    double lambda = 0;
    for (int i = 0; i < iterations; ++i) {
        const tg::Tensor hv = tg::hvp(f, w, v).hvp[0];
        lambda = dot(v, hv) / dot(v, v);
        v = hv / std::sqrt(dot(hv, hv));
    }
    return lambda;
}

struct Run {
    int iterations = 0;
    double seconds = 0, loss = 0;
};

// Newton steps until the loss stops changing (to 1e-14); the iterations reported are those
// after which the loss was within 1e-10 of where it ended.
Run newton(const Data& d) {
    tg::Tensor w = tg::zeros({3}, tg::f64).requires_grad_();
    optim::Newton opt({w});
    auto closure = closure_for(d, w);
    std::vector<double> losses{closure()};
    const auto t0 = Clock::now();
    double seconds = 0;
    for (int i = 0; i < 20; ++i) {
        opt.step(closure);
        losses.push_back(closure());
        if (std::abs(losses[losses.size() - 2] - losses.back()) < 1e-14) break;
        seconds = seconds_since(t0);
    }
    Run r{0, seconds, losses.back()};
    while (std::abs(losses[static_cast<std::size_t>(r.iterations)] - r.loss) > 1e-10)
        ++r.iterations;
    for (std::size_t i = 0; i < losses.size(); ++i)
        std::printf("  iteration %zu  loss %.10f\n", i, losses[i]);
    return r;
}

Run gradient_descent(const Data& d, double lr, double target, int max_iterations) {
    tg::Tensor w = tg::zeros({3}, tg::f64).requires_grad_();
    optim::SGD opt({w}, {.lr = lr});
    auto closure = closure_for(d, w);
    Run r;
    const auto t0 = Clock::now();
    r.loss = closure();
    while (r.loss > target && r.iterations < max_iterations) {
        opt.step();
        r.loss = closure();
        ++r.iterations;
    }
    r.seconds = seconds_since(t0);
    return r;
}

}  // namespace

int main() {
    const Data d = load();
    std::printf(
        "Logistic regression on make_classification_400 (400 rows, 2 features and a "
        "bias), mean BCE, full batch, float64, from w = 0.\n\n");

    // 1. Newton with the exact Hessian: a handful of iterations to the minimum.
    std::printf("1. Newton's method with the exact Hessian from the tape:\n");
    const Run nt = newton(d);
    const double minimum = nt.loss;
    std::printf("  minimum %.10f reached (to 1e-10) after %d iterations\n\n", minimum,
                nt.iterations);

    // 2. Curvature at the start, from Hessian-vector products.
    tg::Tensor w0 = tg::zeros({3}, tg::f64).requires_grad_();
    tg::Tensor g0;
    {
        tg::Tape tape;
        g0 = tape.gradient(loss_of(d, w0), {w0})[0];
    }
    auto f = [&d](const tg::Tensor& v) { return loss_of(d, v); };
    const tg::Tensor hg = tg::hvp(f, w0, g0).hvp[0];
    const double along_gradient = dot(g0, hg) / dot(g0, g0);
    const double lambda_max = largest_curvature(d, w0, 100);
    const tg::Tensor h = tg::hessian(f, w0);
    std::printf("2. Curvature at w = 0 from Hessian-vector products (no Hessian formed):\n");
    std::printf("  along the gradient  gᵀHg/gᵀg = %.6f  (the best step along -g: η = %.4f)\n",
                along_gradient, 1 / along_gradient);
    std::printf("  largest, by 100 power iterations  λmax = %.10f\n", lambda_max);
    std::printf("  stable learning rates for gradient descent: 0 < η < 2/λmax = %.6f\n",
                2 / lambda_max);
    std::printf("  (the Hessian itself, by tg::hessian: diagonal %.6f %.6f %.6f)\n\n",
                h.value<double>()(0, 0), h.value<double>()(1, 1), h.value<double>()(2, 2));

    // 3. Gradient descent at rates from that bound, to Newton's loss plus 1e-6.
    const double target = minimum + 1e-6;
    std::printf("3. Gradient descent to the loss %.10f (Newton's minimum + 1e-6):\n", target);
    std::printf("  %-22s %10s %12s %10s\n", "learning rate", "iterations", "loss", "time");
    for (const double k : {1.0, 1.9}) {
        const double lr = k / lambda_max;
        const Run gd = gradient_descent(d, lr, target, 200000);
        char name[64];
        std::snprintf(name, sizeof name, "%.1f/λmax = %.4f", k, lr);
        std::printf("  %-22s %10d %12.10f %8.2f ms\n", name, gd.iterations, gd.loss,
                    gd.seconds * 1e3);
    }
    std::printf("  %-22s %10d %12.10f %8.2f ms\n", "Newton (exact Hessian)", nt.iterations, nt.loss,
                nt.seconds * 1e3);
    std::printf(
        "\nNewton uses the curvature in every direction at once, so it needs a handful of\n"
        "iterations where gradient descent, held back by its largest curvature, needs\n"
        "hundreds: each Newton iteration costs one more pass (the backward differentiated\n"
        "again), which on 3 parameters is nothing. With millions of parameters the Hessian\n"
        "cannot be formed, but Hessian-vector products still can: the curvature numbers above\n"
        "cost one product each.\n");
}

#pragma once
// What the training tests (fit and its callbacks, crash safety, bad input) train: small seeded
// data sets whose targets follow a known rule, the two losses they use, a logistic regression
// and a model of one weight that ignores its input. Also the short names nn, data and optim.
#include <cstdint>
#include <functional>
#include <span>
#include <tapegrad/data/data_loader.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/fit.hpp>
#include <tapegrad/optim/sgd.hpp>

#include "check.hpp"

namespace nn = tapegrad::nn;
namespace data = tapegrad::data;
namespace optim = tapegrad::optim;

namespace testing {

// n rows of `features` standard-normal values (seeded by seed) and a column [n, 1] of targets
// y_i = rule(x_i, e_i), where e_i is standard normal (seeded by seed + 1000), all float64.
inline data::Dataset rows_with_rule(
    std::size_t n, std::size_t features, std::uint64_t seed,
    const std::function<double(std::span<const double> x, double e)>& rule) {
    const tg::Tensor x = tg::randn({n, features}, seed, tg::f64);
    const tg::Tensor noise = tg::randn({n}, seed + 1000, tg::f64);
    tg::Tensor y = tg::zeros({n, 1}, tg::f64);
    auto& yv = y.mutable_value<double>();
    const auto& xv = x.value<double>();
    for (std::size_t i = 0; i < n; ++i)
        yv(i, 0) = rule({&xv(i, 0), features}, noise.value<double>()(i));
    return {x, y};
}

// y = 1 when 2 x0 - x1 + 0.5 + 0.5 noise > 0: logistic regression that a line fits well.
inline data::Dataset logistic_data(std::size_t n, std::uint64_t seed) {
    return rows_with_rule(n, 2, seed, [](std::span<const double> x, double e) {
        return 2 * x[0] - x[1] + 0.5 + 0.5 * e > 0 ? 1 : 0;
    });
}

// y = x·(1, -2, 0.5) + 0.3 exactly: a convex least-squares problem.
inline data::Dataset linear_data(std::size_t n, std::uint64_t seed) {
    return rows_with_rule(n, 3, seed, [](std::span<const double> x, double) {
        return x[0] - 2 * x[1] + 0.5 * x[2] + 0.3;
    });
}

// y = x·(1, -2, 0.5) + 0.3 + 0.1 noise.
inline data::Dataset regression_data(std::size_t n, std::uint64_t seed) {
    return rows_with_rule(n, 3, seed, [](std::span<const double> x, double e) {
        return x[0] - 2 * x[1] + 0.5 * x[2] + 0.3 + 0.1 * e;
    });
}

// Largest |a - b| over the models' parameters.
inline double max_difference(nn::Module& a, nn::Module& b) {
    const auto pa = a.parameters(), pb = b.parameters();
    double worst = 0;
    for (std::size_t i = 0; i < pa.size(); ++i) {
        const auto va = pa[i].to_array<double>(), vb = pb[i].to_array<double>();
        for (std::size_t k = 0; k < va.size(); ++k)
            worst = std::max(worst, std::abs(va.data()[k] - vb.data()[k]));
    }
    return worst;
}

inline const optim::LossFn bce = [](const tg::Tensor& out, const tg::Tensor& y) {
    return nn::bce_with_logits(out, y);
};
inline const optim::LossFn mse = [](const tg::Tensor& out, const tg::Tensor& y) {
    return nn::mse_loss(out, y);
};

inline nn::Linear logistic_model() {
    return nn::Linear(2, 1, {.seed = 0, .dtype = tg::f64});
}

// What most fit and callback tests train: rows of logistic_data (seed 1) in a loader, a
// logistic_model and SGD at lr 0.1. A test takes the parts by name:
//   LogisticRun run(64, {.batch_size = 16});
//   auto& [train, loader, model, opt] = run;
struct LogisticRun {
    data::Dataset train;
    data::DataLoader loader;
    nn::Linear model = logistic_model();
    optim::SGD opt{model.parameters(), {.lr = 0.1}};
    explicit LogisticRun(std::size_t rows = 64,
                         data::DataLoaderOptions options = {.batch_size = 16})
        : train(logistic_data(rows, 1)), loader(train, options) {}
};

// A model of one float64 weight w whose output is w whatever the batch: the loss alone says
// what is trained, so every step can be worked out by hand.
struct OneWeight : nn::Module {
    tg::Tensor w;
    explicit OneWeight(double start) : w(tg::scalar(start, tg::f64)) { register_parameter("w", w); }
    tg::Tensor forward(const tg::Tensor&) override { return w; }
};

// Eight rows of zeros: with batches of one, eight steps per epoch for a OneWeight.
inline data::Dataset eight_zero_rows() {
    return {tg::zeros({8, 1}, tg::f64), tg::zeros({8, 1}, tg::f64)};
}

}  // namespace testing

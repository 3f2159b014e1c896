#pragma once
// The rows of logistic_2m (and of its data-parallel twin distributed/logistic_2m_mpi): 20
// standard-normal features and labels from a known logistic rule, all from one seeded
// generator, so that every process of an MPI run draws the same rows without a file.
#include <cmath>
#include <cstdint>
#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/data/dataset.hpp>
#include <vector>

namespace logistic_2m {

namespace tg = tapegrad;

constexpr std::size_t kFeatures = 20;
constexpr std::size_t kHoldout = 100'000;  // rows drawn first, the same for any training size
constexpr std::uint64_t kSeed = 2024;

struct Rule {
    std::vector<double> w;
    double b;
};

// x [rows, 20] float32 standard normal, y [rows, 1] in {0, 1}: written straight into the
// arrays (2M rows take 160 MB for x), no temporaries.
inline tapegrad::data::Dataset draw_rows(std::size_t rows, const Rule& rule, tg::Generator& gen) {
    xt::xarray<float> x = xt::xarray<float>::from_shape({rows, kFeatures});
    xt::xarray<float> y = xt::xarray<float>::from_shape({rows, 1});
    float* xp = x.data();
    for (std::size_t i = 0; i < rows; ++i) {
        double z = rule.b;
        for (std::size_t j = 0; j < kFeatures; ++j) {
            const double v = gen.normal();
            xp[i * kFeatures + j] = static_cast<float>(v);
            z += rule.w[j] * v;
        }
        // Logistic noise log(u / (1 - u)): then P(z + noise > 0) = sigmoid(z).
        const double u = gen.uniform();
        y.data()[i] = z + std::log(u / (1.0 - u)) > 0 ? 1.0f : 0.0f;
    }
    return {tg::from_array(std::move(x)), tg::from_array(std::move(y))};
}

// The true rule: w*_j = the first 20 normals of the generator, b* = the 21st.
inline Rule draw_rule(tg::Generator& gen) {
    Rule rule{std::vector<double>(kFeatures), 0.0};
    for (double& v : rule.w) v = gen.normal();
    rule.b = gen.normal();
    return rule;
}

}  // namespace logistic_2m

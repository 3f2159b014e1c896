// Seeded synthetic data sets: blobs, moons, spirals and linear regression. Rows are built in
// float64, then stored in the requested dtype.
#include "tapegrad/data/synthetic.hpp"

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::data {

namespace {

constexpr double kPi = std::numbers::pi;

void check_count(const char* fn, const char* what, std::size_t v) {
    if (v == 0) throw ValueError(std::string(fn) + ": " + what + " must be at least 1, got 0");
}

void check_scale(const char* fn, const char* what, double v) {
    if (!(std::isfinite(v) && v >= 0.0))
        throw ValueError(std::string(fn) + ": " + what + " must be a finite number >= 0, got " +
                         std::to_string(v));
}

// Rows in class order: the first n % classes classes get one row more than n / classes.
std::vector<std::size_t> class_sizes(std::size_t n, std::size_t classes) {
    std::vector<std::size_t> sizes(classes, n / classes);
    for (std::size_t c = 0; c < n % classes; ++c) ++sizes[c];
    return sizes;
}

Tensor make_tensor(const std::vector<double>& v, const Shape& shape, Dtype dtype) {
    if (dtype == f64) {
        auto a = xt::xarray<double>::from_shape(shape);
        std::copy(v.begin(), v.end(), a.begin());
        return Tensor(std::move(a));
    }
    auto a = xt::xarray<float>::from_shape(shape);
    for (std::size_t i = 0; i < v.size(); ++i) a.data()[i] = static_cast<float>(v[i]);
    return Tensor(std::move(a));
}

// Rows of x (width f) and labels y, reordered by a permutation drawn from gen.
void shuffle_rows(std::vector<double>& x, std::vector<double>& y, std::size_t f, Generator& gen) {
    const std::size_t n = y.size();
    const std::vector<std::size_t> p = permutation(n, gen);
    std::vector<double> x2(x.size()), y2(n);
    for (std::size_t i = 0; i < n; ++i) {
        std::copy_n(x.begin() + static_cast<std::ptrdiff_t>(p[i] * f), f,
                    x2.begin() + static_cast<std::ptrdiff_t>(i * f));
        y2[i] = y[p[i]];
    }
    x.swap(x2);
    y.swap(y2);
}

// numpy.linspace(0, stop, m)[i]: i · (stop / (m - 1)), the last one exactly stop, and 0 for a
// single point; the same arithmetic gives scikit-learn's moons to the last bit.
double spaced(std::size_t i, std::size_t m, double stop) {
    if (m < 2) return 0.0;
    if (i == m - 1) return stop;
    return static_cast<double>(i) * (stop / static_cast<double>(m - 1));
}

}  // namespace

Dataset make_blobs(std::size_t n, std::size_t features, std::size_t classes, std::uint64_t seed,
                   double cluster_std, double center_box, Dtype dtype) {
    check_count("make_blobs", "features", features);
    check_count("make_blobs", "classes", classes);
    check_scale("make_blobs", "cluster_std", cluster_std);
    check_scale("make_blobs", "center_box", center_box);
    Generator gen(seed);
    std::vector<double> centres(classes * features);
    for (double& c : centres) c = gen.uniform(-center_box, center_box);
    std::vector<double> x, y;
    x.reserve(n * features);
    y.reserve(n);
    const auto sizes = class_sizes(n, classes);
    for (std::size_t c = 0; c < classes; ++c)
        for (std::size_t i = 0; i < sizes[c]; ++i) {
            for (std::size_t j = 0; j < features; ++j)
                x.push_back(centres[c * features + j] + cluster_std * gen.normal());
            y.push_back(static_cast<double>(c));
        }
    shuffle_rows(x, y, features, gen);
    return {make_tensor(x, {n, features}, dtype), make_tensor(y, {n}, dtype)};
}

Dataset make_moons(std::size_t n, double noise, std::uint64_t seed, Dtype dtype) {
    check_scale("make_moons", "noise", noise);
    Generator gen(seed);
    const std::size_t outer = n / 2, inner = n - outer;
    std::vector<double> x, y;
    x.reserve(2 * n);
    y.reserve(n);
    for (std::size_t i = 0; i < outer; ++i) {
        const double t = spaced(i, outer, kPi);
        x.insert(x.end(), {std::cos(t), std::sin(t)});
        y.push_back(0.0);
    }
    for (std::size_t i = 0; i < inner; ++i) {
        const double t = spaced(i, inner, kPi);
        x.insert(x.end(), {1.0 - std::cos(t), 1.0 - std::sin(t) - 0.5});
        y.push_back(1.0);
    }
    shuffle_rows(x, y, 2, gen);
    for (double& v : x) v += noise * gen.normal();
    return {make_tensor(x, {n, 2}, dtype), make_tensor(y, {n}, dtype)};
}

Dataset make_spirals(std::size_t n, std::size_t classes, double noise, std::uint64_t seed,
                     Dtype dtype) {
    check_count("make_spirals", "classes", classes);
    check_scale("make_spirals", "noise", noise);
    Generator gen(seed);
    std::vector<double> x, y;
    x.reserve(2 * n);
    y.reserve(n);
    const auto sizes = class_sizes(n, classes);
    for (std::size_t k = 0; k < classes; ++k) {
        const std::size_t m = sizes[k];
        for (std::size_t i = 0; i < m; ++i) {
            const double r = static_cast<double>(i + 1) / static_cast<double>(m);
            const double angle =
                2.0 * kPi * (static_cast<double>(k) / static_cast<double>(classes) + r);
            x.insert(x.end(), {r * std::cos(angle), r * std::sin(angle)});
            y.push_back(static_cast<double>(k));
        }
    }
    shuffle_rows(x, y, 2, gen);
    for (double& v : x) v += noise * gen.normal();
    return {make_tensor(x, {n, 2}, dtype), make_tensor(y, {n}, dtype)};
}

RegressionData make_regression(std::size_t n, std::size_t features, double noise,
                               std::uint64_t seed, double intercept, Dtype dtype) {
    check_count("make_regression", "features", features);
    check_scale("make_regression", "noise", noise);
    if (!std::isfinite(intercept))
        throw ValueError("make_regression: intercept must be finite, got " +
                         std::to_string(intercept));
    Generator gen(seed);
    std::vector<double> x(n * features);
    for (double& v : x) v = gen.normal();
    Tensor xt = make_tensor(x, {n, features}, dtype);
    if (dtype == f32)  // y from the values as stored, so that x·w + b is exact for a fit
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = xt.value<float>().data()[i];
    std::vector<double> coef(features);
    for (double& w : coef) w = 100.0 * gen.uniform();
    std::vector<double> y(n);
    for (std::size_t i = 0; i < n; ++i) {
        double s = intercept;
        for (std::size_t j = 0; j < features; ++j) s += x[i * features + j] * coef[j];
        y[i] = s + noise * gen.normal();
    }
    return {{xt, make_tensor(y, {n}, dtype)}, make_tensor(coef, {features}, f64), intercept};
}

}  // namespace tapegrad::data

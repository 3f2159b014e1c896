// Synthetic data sets: shapes, class balance, determinism by seed, the geometry each one
// promises, and make_regression's true coefficients recovered by least squares.
#include <cmath>
#include <map>
#include <numbers>
#include <tapegrad/data/synthetic.hpp>

#include "check.hpp"

using Catch::Contains;
using testing::class_counts;

namespace {

constexpr double kPi = std::numbers::pi;

bool same(const tg::data::Dataset& a, const tg::data::Dataset& b) {
    return a.x.to_array<double>() == b.x.to_array<double>() &&
           a.y.to_array<double>() == b.y.to_array<double>();
}

// Labels not sorted by class: the rows were shuffled.
bool shuffled(const tg::Tensor& y) {
    const auto v = y.to_array<double>();
    return !std::is_sorted(v.begin(), v.end());
}

// The inverse of a small symmetric positive definite matrix, by Gauss-Jordan elimination.
std::vector<std::vector<double>> inverse(std::vector<std::vector<double>> a) {
    const std::size_t n = a.size();
    std::vector<std::vector<double>> inv(n, std::vector<double>(n, 0.0));
    for (std::size_t i = 0; i < n; ++i) inv[i][i] = 1.0;
    for (std::size_t c = 0; c < n; ++c) {
        const double p = a[c][c];
        for (std::size_t j = 0; j < n; ++j) a[c][j] /= p, inv[c][j] /= p;
        for (std::size_t r = 0; r < n; ++r) {
            if (r == c) continue;
            const double f = a[r][c];
            for (std::size_t j = 0; j < n; ++j) a[r][j] -= f * a[c][j], inv[r][j] -= f * inv[c][j];
        }
    }
    return inv;
}

// Ordinary least squares of y on [x, 1]: the coefficients (intercept last), the diagonal of
// (AᵀA)⁻¹ (an estimate's variance is noise² times it) and the residual sum of squares.
struct Ols {
    std::vector<double> beta, var_factor;
    double rss;
};

Ols least_squares(const tg::Tensor& x, const tg::Tensor& y) {
    const auto xv = x.to_array<double>();
    const auto yv = y.to_array<double>();
    const std::size_t n = xv.shape()[0], f = xv.shape()[1], p = f + 1;
    auto a = [&](std::size_t i, std::size_t j) { return j < f ? xv(i, j) : 1.0; };
    std::vector<std::vector<double>> ata(p, std::vector<double>(p, 0.0));
    std::vector<double> aty(p, 0.0);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < p; ++j) {
            aty[j] += a(i, j) * yv(i);
            for (std::size_t k = 0; k < p; ++k) ata[j][k] += a(i, j) * a(i, k);
        }
    const auto inv = inverse(ata);
    Ols out{std::vector<double>(p, 0.0), std::vector<double>(p), 0.0};
    for (std::size_t j = 0; j < p; ++j) {
        for (std::size_t k = 0; k < p; ++k) out.beta[j] += inv[j][k] * aty[k];
        out.var_factor[j] = inv[j][j];
    }
    for (std::size_t i = 0; i < n; ++i) {
        double fit = 0.0;
        for (std::size_t j = 0; j < p; ++j) fit += a(i, j) * out.beta[j];
        out.rss += (yv(i) - fit) * (yv(i) - fit);
    }
    return out;
}

}  // namespace

// ---- make_blobs --------------------------------------------------------------------------

TEST_CASE("make_blobs: shapes, balance, seed") {
    const auto d = tg::data::make_blobs(10, 3, 3, 0);
    CHECK(d.x.shape() == tg::Shape{10, 3});
    CHECK(d.y.shape() == tg::Shape{10});
    CHECK(d.x.dtype() == tg::f32);
    CHECK(class_counts(d.y, 3) == std::vector<std::size_t>{4, 3, 3, 0});  // 10 = 4 + 3 + 3
    CHECK(shuffled(d.y));
    CHECK(same(d, tg::data::make_blobs(10, 3, 3, 0)));
    CHECK_FALSE(same(d, tg::data::make_blobs(10, 3, 3, 1)));
    CHECK(tg::data::make_blobs(10, 3, 3, 0, 1.0, 5.0, tg::f64).x.dtype() == tg::f64);
}

TEST_CASE("make_blobs: small clusters around their centres, separable") {
    const double sd = 0.1;
    const auto d = tg::data::make_blobs(600, 4, 3, 42, sd, 5.0, tg::f64);
    CHECK(class_counts(d.y, 3) == std::vector<std::size_t>{200, 200, 200, 0});
    const auto x = d.x.value<double>();
    const auto y = d.y.value<double>();
    // Class means, then the spread around them and the nearest mean of every row.
    std::vector<std::vector<double>> mean(3, std::vector<double>(4, 0.0));
    for (std::size_t i = 0; i < 600; ++i)
        for (std::size_t j = 0; j < 4; ++j) mean[std::size_t(y(i))][j] += x(i, j) / 200.0;
    for (const auto& m : mean)
        for (double v : m) CHECK(std::abs(v) <= 5.0 + 4 * sd / std::sqrt(200.0));
    double ss = 0.0;
    std::size_t nearest_own = 0;
    for (std::size_t i = 0; i < 600; ++i) {
        std::size_t best = 0;
        double best_d = INFINITY;
        for (std::size_t c = 0; c < 3; ++c) {
            double dist = 0.0;
            for (std::size_t j = 0; j < 4; ++j)
                dist += (x(i, j) - mean[c][j]) * (x(i, j) - mean[c][j]);
            if (dist < best_d) best_d = dist, best = c;
            if (c == std::size_t(y(i))) ss += dist;
        }
        nearest_own += best == std::size_t(y(i));
    }
    CHECK(nearest_own == 600);
    // The per-coordinate std around the class mean is cluster_std (2400 values: ±5%).
    CHECK(std::sqrt(ss / 2400.0) == Approx(sd).epsilon(0.05));
}

TEST_CASE("make_blobs: bad arguments") {
    CHECK_THROWS_TYPED(tg::data::make_blobs(10, 0, 2, 0), tg::ValueError,
                       Contains("features must be at least 1"));
    CHECK_THROWS_TYPED(tg::data::make_blobs(10, 2, 0, 0), tg::ValueError,
                       Contains("classes must be at least 1"));
    CHECK_THROWS_TYPED(tg::data::make_blobs(10, 2, 2, 0, -1.0), tg::ValueError,
                       Contains("cluster_std must be a finite number >= 0"));
}

// ---- make_moons --------------------------------------------------------------------------

TEST_CASE("make_moons: without noise, points on scikit-learn's two half circles") {
    const auto d = tg::data::make_moons(201, 0.0, 3, tg::f64);
    REQUIRE(d.x.shape() == tg::Shape{201, 2});
    // n / 2 outer, the rest inner.
    CHECK(class_counts(d.y, 2) == std::vector<std::size_t>{100, 101, 0});
    CHECK(shuffled(d.y));
    const auto x = d.x.value<double>();
    const auto y = d.y.value<double>();
    std::size_t on_arc = 0, ends = 0;
    for (std::size_t i = 0; i < 201; ++i) {
        const double a = x(i, 0), b = x(i, 1);
        if (y(i) == 0) {  // (cos t, sin t), t in [0, pi]
            on_arc += std::abs(a * a + b * b - 1.0) < 1e-12 && b >= -1e-12;
            ends += (std::abs(a - 1) < 1e-12 || std::abs(a + 1) < 1e-12) && std::abs(b) < 1e-12;
        } else {  // (1 - cos t, 1 - sin t - 0.5)
            const double u = 1.0 - a, v = 0.5 - b;
            on_arc += std::abs(u * u + v * v - 1.0) < 1e-12 && b <= 0.5 + 1e-12;
            ends += (std::abs(a) < 1e-12 || std::abs(a - 2) < 1e-12) && std::abs(b - 0.5) < 1e-12;
        }
    }
    CHECK(on_arc == 201);
    CHECK(ends == 4);  // both ends of both arcs: t = 0 and t = pi
}

TEST_CASE("make_moons: noise, seed, arguments") {
    const double noise = 0.1;
    const auto d = tg::data::make_moons(400, noise, 7, tg::f64);
    const auto clean = tg::data::make_moons(400, 0.0, 7, tg::f64);
    // Same seed: the same shuffle, so the rows differ by the noise alone, of std 0.1.
    CHECK(d.y.value<double>() == clean.y.value<double>());
    const auto diff = d.x.value<double>() - clean.x.value<double>();
    double ss = 0.0;
    for (double v : diff) ss += v * v;
    CHECK(std::sqrt(ss / 800.0) == Approx(noise).epsilon(0.1));  // 800 values: ±10% is 4 SE
    CHECK(same(d, tg::data::make_moons(400, noise, 7, tg::f64)));
    CHECK_FALSE(same(d, tg::data::make_moons(400, noise, 8, tg::f64)));
    CHECK(tg::data::make_moons(400, noise, 7).x.dtype() == tg::f32);
    CHECK_THROWS_TYPED(tg::data::make_moons(10, -0.1, 0), tg::ValueError,
                       Contains("noise must be a finite number >= 0"));
}

// ---- make_spirals ------------------------------------------------------------------------

TEST_CASE("make_spirals: arms at radius (i + 1) / m, angle 2π (k / classes + r)") {
    const auto d = tg::data::make_spirals(300, 3, 0.0, 11, tg::f64);
    REQUIRE(d.x.shape() == tg::Shape{300, 2});
    CHECK(class_counts(d.y, 3) == std::vector<std::size_t>{100, 100, 100, 0});
    CHECK(shuffled(d.y));
    const auto x = d.x.value<double>();
    const auto y = d.y.value<double>();
    std::size_t on_arm = 0;
    std::map<double, std::size_t> radii;  // each radius once per arm
    for (std::size_t i = 0; i < 300; ++i) {
        const double r = std::hypot(x(i, 0), x(i, 1));
        const double steps = r * 100.0;  // r = (i + 1) / 100
        const double expected = 2.0 * kPi * (y(i) / 3.0 + r);
        const double turn = std::remainder(std::atan2(x(i, 1), x(i, 0)) - expected, 2.0 * kPi);
        on_arm += std::abs(steps - std::round(steps)) < 1e-9 && std::abs(turn) < 1e-9;
        ++radii[std::round(steps)];
    }
    CHECK(on_arm == 300);
    CHECK(radii.size() == 100);
    CHECK(radii.begin()->first == 1.0);
    CHECK(radii.rbegin()->first == 100.0);

    const auto noisy = tg::data::make_spirals(300, 3, 0.05, 11);
    CHECK(same(noisy, tg::data::make_spirals(300, 3, 0.05, 11)));
    CHECK_FALSE(same(noisy, tg::data::make_spirals(300, 3, 0.05, 12)));
    CHECK(class_counts(tg::data::make_spirals(7, 2, 0.1, 0).y, 2) ==
          std::vector<std::size_t>{4, 3, 0});
    CHECK_THROWS_AS(tg::data::make_spirals(10, 0, 0.1, 0), tg::ValueError);
    CHECK_THROWS_AS(tg::data::make_spirals(10, 2, NAN, 0), tg::ValueError);
}

// ---- make_regression ---------------------------------------------------------------------

TEST_CASE("make_regression: least squares recovers coef and intercept within the noise") {
    const std::size_t n = 2000, f = 4;
    const double noise = 0.5, b = 3.0;
    const auto r = tg::data::make_regression(n, f, noise, 21, b, tg::f64);
    REQUIRE(r.data.x.shape() == tg::Shape{n, f});
    REQUIRE(r.data.y.shape() == tg::Shape{n});
    REQUIRE(r.coef.shape() == tg::Shape{f});
    CHECK(r.coef.dtype() == tg::f64);
    CHECK(r.intercept == b);
    const auto& w = r.coef.value<double>();
    for (double v : w) CHECK((v >= 0.0 && v < 100.0));

    // An estimate's standard error is noise · sqrt((AᵀA)⁻¹_jj) (about 0.5 / sqrt(2000) = 0.011
    // here); 5 of them bound each of the five errors with probability 1 - 6e-7.
    const Ols ols = least_squares(r.data.x, r.data.y);
    for (std::size_t j = 0; j <= f; ++j) {
        INFO("coefficient " << j);
        const double truth = j < f ? w(j) : b;
        CHECK(std::abs(ols.beta[j] - truth) <= 5.0 * noise * std::sqrt(ols.var_factor[j]));
    }
    // The residual std estimates the noise (relative SE 1 / sqrt(2 (n - 5)) = 1.6%).
    CHECK(std::sqrt(ols.rss / double(n - f - 1)) == Approx(noise).epsilon(0.08));

    // Without noise the fit is exact up to rounding; float32 x as stored gives y too.
    for (const tg::Dtype dtype : {tg::f64, tg::f32}) {
        const auto exact = tg::data::make_regression(50, 3, 0.0, 5, -1.5, dtype);
        const Ols e = least_squares(exact.data.x, exact.data.y);
        const double tol = dtype == tg::f64 ? 1e-9 : 1e-3;  // float32 y: ~1e-5 relative
        for (std::size_t j = 0; j < 3; ++j)
            CHECK(e.beta[j] == Approx(exact.coef.value<double>()(j)).margin(tol));
        CHECK(e.beta[3] == Approx(-1.5).margin(tol));
    }
}

TEST_CASE("make_regression: seed and arguments") {
    const auto a = tg::data::make_regression(30, 2, 1.0, 4);
    CHECK(a.data.x.dtype() == tg::f32);
    CHECK(same(a.data, tg::data::make_regression(30, 2, 1.0, 4).data));
    CHECK_FALSE(same(a.data, tg::data::make_regression(30, 2, 1.0, 5).data));
    CHECK_THROWS_TYPED(tg::data::make_regression(30, 0, 1.0, 4), tg::ValueError,
                       Contains("features must be at least 1"));
    CHECK_THROWS_AS(tg::data::make_regression(30, 2, -1.0, 4), tg::ValueError);
}

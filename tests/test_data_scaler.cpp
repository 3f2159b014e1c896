// StandardScaler, MinMaxScaler and one_hot: statistics in float64 per column, constant columns
// left alone, the input's dtype kept, errors that say what to do, state round trips.
#include <cmath>
#include <filesystem>
#include <tapegrad/data/readers.hpp>
#include <tapegrad/data/scaler.hpp>

#include "check.hpp"
#include "files.hpp"

using Catch::Contains;

namespace {

const std::filesystem::path kExamples = testing::examples_data();

tg::Tensor iris_x(tg::Dtype dtype) {
    return tg::data::read_csv(kExamples / "iris.csv", "target", {.dtype = dtype}).data.x;
}

// Column means and population standard deviations of a float64 matrix, by plain loops.
std::pair<std::vector<double>, std::vector<double>> column_moments(const tg::Tensor& t) {
    const auto a = t.to_array<double>();
    const std::size_t n = a.shape()[0], f = a.shape()[1];
    std::vector<double> mean(f, 0.0), sd(f, 0.0);
    for (std::size_t j = 0; j < f; ++j) {
        for (std::size_t i = 0; i < n; ++i) mean[j] += a(i, j) / static_cast<double>(n);
        for (std::size_t i = 0; i < n; ++i)
            sd[j] += (a(i, j) - mean[j]) * (a(i, j) - mean[j]) / static_cast<double>(n);
        sd[j] = std::sqrt(sd[j]);
    }
    return {mean, sd};
}

}  // namespace

// ---- StandardScaler ----------------------------------------------------------------------

TEST_CASE("StandardScaler: a small matrix by hand") {
    const tg::Tensor x = tg::tensor({{1, 10}, {3, 10}, {5, 10}}, tg::f64);
    tg::data::StandardScaler s;
    CHECK_FALSE(s.fitted());
    const tg::Tensor z = s.fit_transform(x);
    CHECK(s.fitted());
    // Column 0: mean 3, population variance (4 + 0 + 4) / 3. Column 1 is constant: scale 1.
    const double sd = std::sqrt(8.0 / 3.0);
    CHECK(s.mean().dtype() == tg::f64);
    CHECK(xt::allclose(s.mean().value<double>(), xt::xarray<double>{3.0, 10.0}, 0, 1e-15));
    CHECK(xt::allclose(s.scale().value<double>(), xt::xarray<double>{sd, 1.0}, 0, 1e-15));
    const auto& zv = z.value<double>();
    CHECK(zv(0, 0) == Approx(-2.0 / sd).epsilon(1e-15));
    CHECK(zv(1, 0) == 0.0);
    CHECK(zv(2, 0) == Approx(2.0 / sd).epsilon(1e-15));
    for (std::size_t i = 0; i < 3; ++i) CHECK(zv(i, 1) == 0.0);
}

TEST_CASE("StandardScaler: iris as NumPy computes it, float32 in and out") {
    const tg::Tensor x = iris_x(tg::f32);
    tg::data::StandardScaler s;
    s.fit(x);
    // numpy 1.24 on iris.csv's float64 values: x.mean(axis=0), x.std(axis=0) (ddof = 0).
    // The float32 input differs from those values by at most 2e-7 relative.
    const xt::xarray<double> mean{5.843333333333335, 3.057333333333334, 3.7580000000000027,
                                  1.199333333333334};
    const xt::xarray<double> scale{0.8253012917851409, 0.43441096773549437, 1.7594040657753032,
                                   0.7596926279021594};
    CHECK(xt::allclose(s.mean().value<double>(), mean, 1e-6, 0));
    CHECK(xt::allclose(s.scale().value<double>(), scale, 1e-6, 0));
    // In float64 the same numbers to the last few bits.
    tg::data::StandardScaler s64;
    s64.fit(iris_x(tg::f64));
    CHECK(xt::allclose(s64.mean().value<double>(), mean, 1e-14, 0));
    CHECK(xt::allclose(s64.scale().value<double>(), scale, 1e-14, 0));

    const tg::Tensor z = s.transform(x);
    CHECK(z.dtype() == tg::f32);
    CHECK(z.shape() == tg::Shape{150, 4});
    const auto [zm, zs] = column_moments(z);
    for (std::size_t j = 0; j < 4; ++j) {
        CHECK(std::abs(zm[j]) < 1e-6);
        CHECK(zs[j] == Approx(1.0).epsilon(1e-6));
    }
    const tg::Tensor back = s.inverse_transform(z);
    CHECK(back.dtype() == tg::f32);
    CHECK(xt::allclose(back.value<float>(), x.value<float>(), 1e-6f, 1e-6f));
}

TEST_CASE("StandardScaler: digits' all-zero pixel columns are left alone") {
    const tg::Tensor x = tg::data::read_csv(kExamples / "digits.csv", "target").data.x;
    tg::data::StandardScaler s;
    const tg::Tensor z = s.fit_transform(x);
    const auto& scale = s.scale().value<double>();
    for (std::size_t j : {0, 32, 39}) {  // px0, px32, px39: zero in every row
        INFO("column " << j);
        CHECK(scale(j) == 1.0);
        CHECK(s.mean().value<double>()(j) == 0.0);
    }
    std::size_t unit = 0;
    for (double v : scale) unit += v == 1.0;
    CHECK(unit == 3);
    const auto& zv = z.value<float>();
    CHECK(std::all_of(zv.begin(), zv.end(), [](float v) { return std::isfinite(v); }));
    std::size_t zeros = 0;
    for (std::size_t i = 0; i < 1797; ++i) zeros += zv(i, 0) == 0.0f;
    CHECK(zeros == 1797);

    // A constant column whose summed mean is off in the last bit (0.1 · 3 / 3) still maps to
    // exactly 0, with scale 1.
    const tg::Tensor c = tg::tensor({{0.1}, {0.1}, {0.1}}, tg::f64);
    const tg::Tensor zc = tg::data::StandardScaler().fit_transform(c);
    for (double v : zc.value<double>()) CHECK(v == 0.0);
}

TEST_CASE("StandardScaler: errors say what is wrong") {
    tg::data::StandardScaler s;
    CHECK_THROWS_TYPED(s.transform(tg::zeros({2, 3})), tg::Error,
                       Contains("StandardScaler.transform") && Contains("call fit first"));
    CHECK_THROWS_WITH(s.inverse_transform(tg::zeros({2, 3})), Contains("call fit first"));
    CHECK_THROWS_WITH(s.state_dict(), Contains("call fit first"));
    s.fit(tg::randn({5, 3}, 1));
    CHECK_THROWS_TYPED(s.transform(tg::zeros({2, 4})), tg::ShapeError,
                       Contains("has 4 columns but the scaler was fitted on 3 columns"));
    CHECK_THROWS_TYPED(s.inverse_transform(tg::zeros({2, 2})), tg::ShapeError,
                       Contains("has 2 columns") && Contains("fitted on 3 columns"));
    CHECK_THROWS_TYPED(s.transform(tg::zeros({3})), tg::ShapeError, Contains("must be 2-D"));
    CHECK_THROWS_TYPED(s.fit(tg::zeros({0, 3})), tg::ValueError, Contains("has no rows"));
}

TEST_CASE("StandardScaler: state_dict round trip") {
    const tg::Tensor x = tg::randn({20, 3}, 5, tg::f64);
    tg::data::StandardScaler a;
    a.fit(x);
    const tg::StateDict state = a.state_dict();
    REQUIRE(state.size() == 2);
    CHECK(state.at("mean").shape() == tg::Shape{3});
    tg::data::StandardScaler b;
    b.load_state_dict(state);
    CHECK(b.fitted());
    const tg::Tensor probe = tg::randn({4, 3}, 6, tg::f64);
    CHECK(b.transform(probe).value<double>() == a.transform(probe).value<double>());
    // float32 state is taken too (as a checkpoint saved in float32 would hold it).
    tg::data::StandardScaler c;
    c.load_state_dict({{"mean", state.at("mean").to(tg::f32)}, {"scale", state.at("scale")}});
    CHECK(c.mean().dtype() == tg::f64);

    tg::data::StandardScaler d;
    CHECK_THROWS_TYPED(d.load_state_dict({{"mean", tg::zeros({3})}}), tg::ValueError,
                       Contains("no \"scale\""));
    CHECK_THROWS_TYPED(d.load_state_dict({{"mean", tg::zeros({3})}, {"scale", tg::ones({2})}}),
                       tg::ValueError, Contains("[3] and [2]"));
    CHECK_THROWS_TYPED(d.load_state_dict({{"mean", tg::zeros({2})}, {"scale", tg::zeros({2})}}),
                       tg::ValueError, Contains("\"scale\"[0] is 0"));
    CHECK_FALSE(d.fitted());  // nothing was loaded
}

// ---- MinMaxScaler ------------------------------------------------------------------------

TEST_CASE("MinMaxScaler: columns to [low, high], constant ones to low") {
    const tg::Tensor x = tg::tensor({{1, 7, -2}, {3, 7, 0}, {2, 7, 6}}, tg::f64);
    tg::data::MinMaxScaler s;
    const tg::Tensor z = s.fit_transform(x);
    CHECK(z.value<double>() == xt::xarray<double>{{0, 0, 0}, {1, 0, 0.25}, {0.5, 0, 1}});
    CHECK(s.min().value<double>() == xt::xarray<double>{1, 7, -2});
    CHECK(s.range().value<double>() == xt::xarray<double>{2, 1, 8});
    CHECK(s.inverse_transform(z).value<double>() == x.value<double>());

    tg::data::MinMaxScaler sym(-1.0, 1.0);
    const tg::Tensor x32 = tg::tensor({{0}, {5}, {10}});
    const tg::Tensor z32 = sym.fit_transform(x32);
    CHECK(z32.dtype() == tg::f32);
    CHECK(z32.shape() == tg::Shape{3, 1});
    CHECK(std::vector<float>(z32.value<float>().begin(), z32.value<float>().end()) ==
          std::vector<float>{-1, 0, 1});
    // Rows outside the fitted range map outside [low, high], as scikit-learn's (no clipping).
    CHECK(sym.transform(tg::tensor({{20}})).item() == 3.0);
}

TEST_CASE("MinMaxScaler: errors and state round trip") {
    CHECK_THROWS_TYPED(tg::data::MinMaxScaler(1.0, 1.0), tg::ValueError, Contains("low < high"));
    tg::data::MinMaxScaler s(2.0, 4.0);
    CHECK_THROWS_TYPED(s.transform(tg::zeros({1, 2})), tg::Error, Contains("call fit first"));
    s.fit(tg::tensor({{0, 1}, {4, 3}}));
    CHECK_THROWS_TYPED(s.transform(tg::zeros({1, 3})), tg::ShapeError,
                       Contains("has 3 columns but the scaler was fitted on 2 columns"));

    const tg::StateDict state = s.state_dict();
    CHECK(state.at("low").item() == 2.0);
    CHECK(state.at("high").item() == 4.0);
    tg::data::MinMaxScaler t;  // [0, 1] until the state says [2, 4]
    t.load_state_dict(state);
    const tg::Tensor probe = tg::tensor({{1, 2}, {3, 0}});
    CHECK(t.transform(probe).value<float>() == s.transform(probe).value<float>());
    CHECK(t.transform(probe).value<float>() == xt::xarray<float>{{2.5, 3}, {3.5, 1}});

    tg::StateDict bad = state;
    bad["high"] = tg::scalar(1.0, tg::f64);
    CHECK_THROWS_TYPED(t.load_state_dict(bad), tg::ValueError, Contains("is not below"));
}

// ---- one_hot -----------------------------------------------------------------------------

TEST_CASE("one_hot: rows of zeros with a one at the label, in the labels' dtype") {
    const tg::Tensor h = tg::data::one_hot(tg::tensor({2.0, 0.0, 1.0, 2.0}), 3);
    CHECK(h.dtype() == tg::f32);
    CHECK(h.value<float>() == xt::xarray<float>{{0, 0, 1}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}});
    const tg::Tensor col = tg::data::one_hot(tg::tensor({{1}, {0}}, tg::f64), 2);
    CHECK(col.dtype() == tg::f64);
    CHECK(col.value<double>() == xt::xarray<double>{{0, 1}, {1, 0}});
    CHECK(tg::data::one_hot(tg::zeros({0}), 4).shape() == tg::Shape{0, 4});
}

TEST_CASE("one_hot: labels outside 0 to num_classes - 1 name the row and the value") {
    using tg::data::one_hot;
    CHECK_THROWS_TYPED(one_hot(tg::tensor({0.0, 3.0}), 3), tg::ValueError,
                       Contains("row 1 is 3, not a class index in [0, 3)"));
    CHECK_THROWS_WITH(one_hot(tg::tensor({1.5}), 3), Contains("row 0 is 1.5"));
    CHECK_THROWS_WITH(one_hot(tg::tensor({-1.0}), 3), Contains("row 0 is -1"));
    CHECK_THROWS_TYPED(one_hot(tg::tensor({0.0}), 0), tg::ValueError,
                       Contains("num_classes must be at least 1"));
    CHECK_THROWS_TYPED(one_hot(tg::zeros({2, 2}), 3), tg::ShapeError, Contains("[2, 2]"));
}

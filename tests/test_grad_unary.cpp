// Finite-difference gradient checks (float64) of the elementwise functions, on several
// shapes (scalar, vector, matrix, batch) and away from kinks where a function has one.
#include "check.hpp"

#include <cstring>
#include <limits>
#include <xtensor/xadapt.hpp>

using namespace testing;

namespace {

const std::vector<tg::Shape> kShapes = {{}, {5}, {3, 4}, {2, 3, 2}};

template <class F>
void check_unary(F f, tg::Tensor (*make)(const tg::Shape&, std::uint64_t), std::uint64_t seed,
                 int order) {
    for (const auto& s : kShapes) {
        INFO("shape " << tg::shape_str(s));
        REQUIRE_GRADCHECK_ORDER(order, std::function<tg::Tensor(const tg::Tensor&)>(f),
                                {make(s, ++seed)});
    }
}

tg::Tensor positive(const tg::Shape& s, std::uint64_t seed) {
    return in_range(s, seed, 0.3, 3.0);
}
tg::Tensor kinkless(const tg::Shape& s, std::uint64_t seed) {
    return away_from_zero(s, seed);
}
tg::Tensor wide(const tg::Shape& s, std::uint64_t seed) {
    tg::Tensor t = normal(s, seed);
    t *= 3.0;
    return t;
}

}  // namespace

// A TEST_CASE "gradcheck TITLE": the elementwise function fn on inputs drawn by make (seeded
// from seed, one shape after another) at each derivative order listed last.
#define UNARY_GRADCHECK(title, fn, make, seed, ...)                                                \
    TEST_CASE("gradcheck " title) {                                                                \
        check_unary([](const tg::Tensor& x) { return fn(x); }, make, seed, GENERATE(__VA_ARGS__)); \
    }

UNARY_GRADCHECK("square, first and second order", tg::square, normal, 100, 1, 2)
UNARY_GRADCHECK("sqrt, first and second order", tg::sqrt, positive, 110, 1, 2)
UNARY_GRADCHECK("exp, first to third order", tg::exp, normal, 120, 1, 2, 3)
UNARY_GRADCHECK("log, first to third order", tg::log, positive, 130, 1, 2, 3)
UNARY_GRADCHECK("abs, first and second order", tg::abs, kinkless, 140, 1, 2)
UNARY_GRADCHECK("sin, first and second order", tg::sin, wide, 150, 1, 2)
UNARY_GRADCHECK("cos, first and second order", tg::cos, wide, 160, 1, 2)
UNARY_GRADCHECK("tanh, first to third order", tg::tanh, wide, 170, 1, 2, 3)
UNARY_GRADCHECK("sigmoid, first to third order", tg::sigmoid, wide, 180, 1, 2, 3)
UNARY_GRADCHECK("relu, first and second order", tg::relu, kinkless, 190, 1, 2)
TEST_CASE("gradcheck leaky_relu, first and second order") {
    const int order = GENERATE(1, 2);
    check_unary([](const tg::Tensor& x) { return tg::leaky_relu(x); }, kinkless, 200, order);
    check_unary([](const tg::Tensor& x) { return tg::leaky_relu(x, 0.3); }, kinkless, 205, order);
}
TEST_CASE("gradcheck elu, first to third order") {
    const int order = GENERATE(1, 2, 3);
    check_unary([](const tg::Tensor& x) { return tg::elu(x); }, kinkless, 210, order);
    check_unary([](const tg::Tensor& x) { return tg::elu(x, 0.5); }, kinkless, 215, order);
}
TEST_CASE("gradcheck softplus, first to third order") {
    const int order = GENERATE(1, 2, 3);
    check_unary([](const tg::Tensor& x) { return tg::softplus(x); }, wide, 220, order);
    check_unary([](const tg::Tensor& x) { return tg::softplus(x, 2.0, 5.0); }, kinkless, 225,
                order);
}
UNARY_GRADCHECK("gelu, first to third order", tg::gelu, wide, 230, 1, 2, 3)
UNARY_GRADCHECK("erf, first and second order", tg::erf, wide, 235, 1, 2)
TEST_CASE("gradcheck clamp, first and second order") {
    const int order = GENERATE(1, 2);
    // Bounds at +-0.5; inputs kept 0.2 away from them.
    auto make = [](const tg::Shape& s, std::uint64_t seed) {
        tg::Tensor t = away_from_zero(s, seed);
        for (auto& v : t.mutable_value<double>()) v += v > 0 ? 0.5 : -0.5;
        for (auto& v : t.mutable_value<double>()) v = std::abs(v) < 1.0 ? v * 0.25 : v;
        return t;
    };
    check_unary([](const tg::Tensor& x) { return tg::clamp(x, -0.5, 0.5); }, make, 240, order);
    check_unary([](const tg::Tensor& x) { return tg::clamp(x, std::nullopt, 0.5); }, make, 245,
                order);
    check_unary([](const tg::Tensor& x) { return tg::clamp(x, -0.5, std::nullopt); }, make, 248,
                order);
    // PyTorch's defaults: clamp(x, min) and the one-sided forms.
    check_unary([](const tg::Tensor& x) { return tg::clamp(x, -0.5); }, make, 260, order);
    check_unary([](const tg::Tensor& x) { return tg::clamp_min(x, -0.5); }, make, 263, order);
    check_unary([](const tg::Tensor& x) { return tg::clamp_max(x, 0.5); }, make, 266, order);
}

TEST_CASE("clamp takes one bound or both, as torch.clamp") {
    const auto x = tg::tensor({-2.0, -0.25, 3.0}, tg::f64);
    CHECK(tg::clamp(x, 0.0).value<double>() == xt::xarray<double>{0.0, 0.0, 3.0});
    CHECK(tg::clamp_min(x, -1.0).value<double>() == xt::xarray<double>{-1.0, -0.25, 3.0});
    CHECK(tg::clamp_max(x, 1.0).value<double>() == xt::xarray<double>{-2.0, -0.25, 1.0});
    CHECK_THROWS_WITH(tg::clamp(x, std::nullopt),
                      Catch::Matchers::Contains("at least one of min and max"));
}

TEST_CASE("gradcheck to(f64) conversion, first and second order") {
    const int order = GENERATE(1, 2);
    check_unary([](const tg::Tensor& x) { return x.to(tg::f64) * 2.0; }, normal, 250, order);
    // Through float32 and back: the values are rounded, the derivative is the identity's.
    REQUIRE_GRADCHECK_ORDER(
        order, [](const tg::Tensor& x) { return tg::square(x.to(tg::f32).to(tg::f64)); },
        {normal({3}, 251)}, {.eps = 1e-2, .atol = 1e-3, .rtol = 1e-2});
}

TEST_CASE("elementwise values match the standard library") {
    const auto x = tg::tensor({-2.0, -0.5, 0.0, 0.5, 3.0}, tg::f64);
    const auto& v = x.value<double>();
    auto each = [&](const tg::Tensor& r, auto f) {
        for (std::size_t i = 0; i < v.size(); ++i) {
            INFO("x = " << v(i));
            CHECK(r.value<double>()(i) == Approx(f(v(i))).margin(1e-15));
        }
    };
    each(tg::sigmoid(x), [](double t) { return 1 / (1 + std::exp(-t)); });
    each(tg::tanh(x), [](double t) { return std::tanh(t); });
    each(tg::relu(x), [](double t) { return t > 0 ? t : 0.0; });
    each(tg::leaky_relu(x, 0.1), [](double t) { return t > 0 ? t : 0.1 * t; });
    each(tg::elu(x), [](double t) { return t > 0 ? t : std::expm1(t); });
    each(tg::softplus(x), [](double t) { return std::log1p(std::exp(t)); });
    each(tg::gelu(x), [](double t) { return 0.5 * t * (1 + std::erf(t / std::sqrt(2.0))); });
    each(tg::clamp(x, -1.0, 1.0), [](double t) { return std::clamp(t, -1.0, 1.0); });
    each(tg::abs(x), [](double t) { return std::abs(t); });
    each(tg::erf(x), [](double t) { return std::erf(t); });
}

// tanh's forward is xt::tanh's SIMD form with its branches taken out (ops_unary.cpp): the bits
// must stay xt::tanh's, and within 1 ulp of tanh in double (float) or long double (double).
// Every lane pattern of small (< 5/8) and large |x| is met: 2^17 consecutive values from each of
// a few points with random signs, normal draws, the special values; the length is not a whole
// number of vectors.
template <class T>
void check_tanh_against_xtensor(tg::Dtype dtype) {
    std::vector<T> values = {T(0),
                             -T(0),
                             std::numeric_limits<T>::infinity(),
                             -std::numeric_limits<T>::infinity(),
                             std::numeric_limits<T>::quiet_NaN(),
                             std::numeric_limits<T>::denorm_min(),
                             T(0.625),
                             -T(0.625),
                             std::nextafter(T(0.625), T(0)),
                             T(9),
                             T(20),
                             T(-400)};
    tg::Generator gen(7);
    for (T centre : {T(1e-6), T(0.3), T(0.6), T(1.5), T(5)}) {
        T v = centre;
        for (int i = 0; i < (1 << 17); ++i) {
            values.push_back(gen.uniform() < 0.5 ? v : -v);
            v = std::nextafter(v, T(10));
        }
    }
    for (int i = 0; i < (1 << 18); ++i) values.push_back(static_cast<T>(gen.normal() * 2));
    values.push_back(T(0.1));
    REQUIRE(values.size() % 8 != 0);
    const xt::xarray<T> x = xt::adapt(values, {values.size()});
    const xt::xarray<T> want = xt::tanh(x);  // xsimd's tanh, branches and all
    const tg::Tensor result = tg::tanh(tg::Tensor(x));
    REQUIRE(result.dtype() == dtype);
    const xt::xarray<T>& got = result.value<T>();
    REQUIRE(got.shape() == want.shape());
    std::size_t different = 0, far = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        const T g = got.data()[i], w = want.data()[i];
        if (std::memcmp(&g, &w, sizeof(T)) != 0 && !(std::isnan(g) && std::isnan(w))) {
            if (++different <= 3) WARN("x = " << x.data()[i] << ": " << g << " against " << w);
        }
        const T exact = static_cast<T>(std::tanh(static_cast<long double>(x.data()[i])));
        const T ulp =
            std::max(std::nextafter(exact, T(2)) - exact, exact - std::nextafter(exact, T(-2)));
        if (!std::isnan(exact) && std::abs(g - exact) > ulp) ++far;
    }
    INFO(got.size() << " values");
    CHECK(different == 0);
    CHECK(far == 0);
}

TEST_CASE(
    "tanh gives xt::tanh's bits and stays within 1 ulp on every mix of small and large values") {
    check_tanh_against_xtensor<float>(tg::f32);
    check_tanh_against_xtensor<double>(tg::f64);
}

TEST_CASE("stable functions stay finite at extreme inputs") {
    const auto x = tg::tensor({-1000.0, 1000.0}, tg::f64);
    CHECK(xt::allclose(tg::sigmoid(x).value<double>(), xt::xarray<double>{0.0, 1.0}));
    CHECK(xt::allclose(tg::softplus(x).value<double>(), xt::xarray<double>{0.0, 1000.0}));
}

TEST_CASE("relu and abs have zero gradient at the kink") {
    auto x = tg::tensor({0.0}, tg::f64).requires_grad_();
    {
        tg::Tape tape;
        tape.backward(tg::sum(tg::relu(x) + tg::abs(x)));
    }
    CHECK(x.grad().value<double>()(0) == 0.0);
}

TEST_CASE("log of a negative number is NaN, as IEEE says") {
    const auto y = tg::log(tg::tensor({-1.0, 0.0}, tg::f64));
    CHECK(std::isnan(y.value<double>()(0)));
    CHECK(std::isinf(y.value<double>()(1)));
}

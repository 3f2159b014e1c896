// Finite-difference gradient checks (float64) of the reductions, over all elements and over
// every subset of axes of a rank-3 tensor, with and without keepdims; softmax family.
#include "check.hpp"

using namespace testing;

namespace {

using Reduce = tg::Tensor (*)(const tg::Tensor&, const tg::Axes&, bool);

// Every non-empty subset of the axes of a [2, 3, 4] tensor, including negative spellings.
const std::vector<tg::Axes> kAxes = {{0}, {1}, {2}, {-1}, {0, 1}, {0, 2}, {1, -1}, {0, 1, 2}};

void check_reduce(Reduce f, std::uint64_t seed, int order) {
    for (const auto& axes : kAxes) {
        for (bool keep : {false, true}) {
            INFO("axes " << axes.size() << " first " << axes[0] << " keepdims " << keep);
            REQUIRE_GRADCHECK_ORDER(order, [&](const tg::Tensor& x) { return f(x, axes, keep); },
                                    {normal({2, 3, 4}, ++seed)});
        }
    }
    tg::Generator g(seed);
    for (int i = 0; i < 4; ++i) {
        tg::Shape s = random_shape(g);
        if (s.empty()) continue;
        const tg::Axes axes{static_cast<std::int64_t>(g.below(s.size()))};
        INFO("random shape " << tg::shape_str(s) << " axis " << axes[0]);
        REQUIRE_GRADCHECK_ORDER(order, [&](const tg::Tensor& x) { return f(x, axes, false); },
                                {normal(s, ++seed)});
    }
}

}  // namespace

// A TEST_CASE "gradcheck FN, first and second order": tg::FN over all elements of a [3, 4]
// tensor (seeded by all_seed), then over axes as check_reduce does (from axes_seed).
#define REDUCTION_GRADCHECK(fn, all_seed, axes_seed)                                        \
    TEST_CASE("gradcheck " #fn ", first and second order") {                                \
        const int order = GENERATE(1, 2);                                                   \
        REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& x) { return tg::fn(x); },       \
                                {normal({3, 4}, all_seed)});                                \
        check_reduce(                                                                       \
            [](const tg::Tensor& x, const tg::Axes& a, bool k) { return tg::fn(x, a, k); }, \
            axes_seed, order);                                                              \
    }

TEST_CASE("gradcheck sum, first and second order") {
    const int order = GENERATE(1, 2);
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& x) { return tg::sum(x); },
                            {normal({3, 4}, 1)});
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& x) { return tg::sum(x); }, {normal({}, 2)});
    check_reduce([](const tg::Tensor& x, const tg::Axes& a, bool k) { return tg::sum(x, a, k); },
                 10, order);
}

REDUCTION_GRADCHECK(mean, 3, 20)
REDUCTION_GRADCHECK(max, 4, 30)
REDUCTION_GRADCHECK(min, 5, 40)

REDUCTION_GRADCHECK(logsumexp, 6, 50)

TEST_CASE("gradcheck softmax, first and second order") {
    const int order = GENERATE(1, 2);
    for (std::int64_t axis : {0, 1, -1}) {
        INFO("axis " << axis);
        REQUIRE_GRADCHECK_ORDER(order, [axis](const tg::Tensor& x) { return tg::softmax(x, axis); },
                                {normal({3, 4}, 60 + axis)});
    }
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& x) { return tg::softmax(x, 1); },
                            {normal({2, 3, 2}, 65)});
}

TEST_CASE("gradcheck log_softmax, first to third order") {
    const int order = GENERATE(1, 2, 3);
    for (std::int64_t axis : {0, 1, -1}) {
        INFO("axis " << axis);
        REQUIRE_GRADCHECK_ORDER(order,
                                [axis](const tg::Tensor& x) { return tg::log_softmax(x, axis); },
                                {normal({3, 4}, 70 + axis)});
    }
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& x) { return tg::log_softmax(x, 1); },
                            {normal({2, 3, 2}, 75)});
}

TEST_CASE("reduction values and shapes") {
    const auto x = tg::tensor({{1, 5, 3}, {4, 2, 6}}, tg::f64);
    CHECK(tg::sum(x).item() == 21);
    CHECK(tg::mean(x).item() == 3.5);
    CHECK(tg::max(x).item() == 6);
    CHECK(tg::min(x).item() == 1);
    CHECK(xt::allclose(tg::sum(x, {0}).value<double>(), xt::xarray<double>{5, 7, 9}));
    CHECK(tg::sum(x, {1}, true).shape() == tg::Shape{2, 1});
    CHECK(tg::sum(x, {0, 1}).shape() == tg::Shape{});
    CHECK(xt::allclose(tg::max(x, {1}).value<double>(), xt::xarray<double>{5, 6}));
    CHECK(xt::allclose(tg::min(x, {0}).value<double>(), xt::xarray<double>{1, 2, 3}));
    CHECK(tg::logsumexp(x, {1}).value<double>()(0) ==
          Approx(std::log(std::exp(1.0) + std::exp(5.0) + std::exp(3.0))));
}

TEST_CASE("softmax family is stable for large logits") {
    const auto x = tg::tensor({{1000.0, 1001.0, 999.0}, {-1000.0, -1000.0, -1000.0}}, tg::f64);
    const auto p = tg::softmax(x, 1).value<double>();
    CHECK(xt::all(xt::isfinite(p)));
    CHECK(p(1, 0) == Approx(1.0 / 3));
    CHECK(xt::allclose(xt::sum(p, {1}), xt::xarray<double>{1, 1}));
    const auto lp = tg::log_softmax(x, 1).value<double>();
    CHECK(lp(0, 1) == Approx(-std::log(1 + std::exp(-1.0) + std::exp(-2.0))));
    const auto lse = tg::logsumexp(x, {1}).value<double>();
    CHECK(lse(0) == Approx(1001.0 + std::log(1 + std::exp(-1.0) + std::exp(-2.0))));
}

TEST_CASE("logsumexp over all elements is a stable scalar, as sum(x)") {
    const auto x = tg::tensor({{1000.0, 1001.0}, {999.0, 1000.0}}, tg::f64);
    const tg::Tensor all = tg::logsumexp(x);
    CHECK(all.shape() == tg::Shape{});
    CHECK(all.item() == Approx(1001.0 + std::log(1 + 2 * std::exp(-1.0) + std::exp(-2.0))));
    CHECK(all.item() == Approx(tg::logsumexp(x, {0, 1}).item()));
}

TEST_CASE("max splits the gradient between tied maxima") {
    auto x = tg::tensor({3.0, 1.0, 3.0}, tg::f64).requires_grad_();
    tg::Tape tape;
    tape.backward(tg::max(x));
    CHECK(xt::allclose(x.grad().value<double>(), xt::xarray<double>{0.5, 0.0, 0.5}));
}

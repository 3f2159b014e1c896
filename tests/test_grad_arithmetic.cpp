// Finite-difference gradient checks (float64) of the arithmetic ops, with the fixed
// broadcasting cases and random shapes from a seeded generator.
#include "check.hpp"

using namespace testing;

namespace {

using Binary = tg::Tensor (*)(const tg::Tensor&, const tg::Tensor&);
using MakeInput = tg::Tensor (*)(const tg::Shape&, std::uint64_t);

// Checks f on every fixed broadcasting case and on 6 random broadcastable pairs.
void check_binary(Binary f, MakeInput make_a, MakeInput make_b, std::uint64_t seed, int order) {
    auto cases = broadcast_cases();
    tg::Generator g(seed);
    for (int i = 0; i < 6; ++i) cases.push_back(random_broadcast_pair(g));
    std::uint64_t s = seed * 100;
    for (const auto& [sa, sb] : cases) {
        INFO("shapes " << tg::shape_str(sa) << " and " << tg::shape_str(sb));
        REQUIRE_GRADCHECK_ORDER(order, f, {make_a(sa, ++s), make_b(sb, ++s)});
    }
}

tg::Tensor positive(const tg::Shape& s, std::uint64_t seed) {
    return in_range(s, seed, 0.5, 2.0);
}
tg::Tensor nonzero(const tg::Shape& s, std::uint64_t seed) {
    return away_from_zero(s, seed, 0.5);
}

}  // namespace

TEST_CASE("gradcheck add (broadcasting), first and second order") {
    const int order = GENERATE(1, 2);
    check_binary([](const tg::Tensor& a, const tg::Tensor& b) { return a + b; }, normal, normal, 1,
                 order);
}

TEST_CASE("gradcheck sub (broadcasting), first and second order") {
    const int order = GENERATE(1, 2);
    check_binary([](const tg::Tensor& a, const tg::Tensor& b) { return a - b; }, normal, normal, 2,
                 order);
}

TEST_CASE("gradcheck mul (broadcasting), first and second order") {
    const int order = GENERATE(1, 2);
    check_binary([](const tg::Tensor& a, const tg::Tensor& b) { return a * b; }, normal, normal, 3,
                 order);
}

TEST_CASE("gradcheck div (broadcasting), first and second order") {
    const int order = GENERATE(1, 2);
    check_binary([](const tg::Tensor& a, const tg::Tensor& b) { return a / b; }, normal, nonzero, 4,
                 order);
}

TEST_CASE("gradcheck pow tensor^tensor (broadcasting), first to third order") {
    const int order = GENERATE(1, 2, 3);
    check_binary([](const tg::Tensor& a, const tg::Tensor& b) { return tg::pow(a, b); }, positive,
                 normal, 5, order);
}

TEST_CASE("gradcheck maximum (broadcasting), first and second order") {
    const int order = GENERATE(1, 2);
    check_binary(tg::maximum, normal, normal, 6, order);
}

TEST_CASE("gradcheck minimum (broadcasting), first and second order") {
    const int order = GENERATE(1, 2);
    check_binary(tg::minimum, normal, normal, 7, order);
}

TEST_CASE("gradcheck where (broadcasting), first and second order") {
    const int order = GENERATE(1, 2);
    tg::Generator g(8);
    auto cases = broadcast_cases();
    for (int i = 0; i < 6; ++i) cases.push_back(random_broadcast_pair(g));
    std::uint64_t s = 800;
    for (const auto& [sa, sb] : cases) {
        INFO("shapes " << tg::shape_str(sa) << " and " << tg::shape_str(sb));
        // The condition broadcasts too: it takes a's shape, with a 1 where b has one.
        tg::Tensor cond = tg::rand(sa, ++s, tg::f64);
        for (auto& v : cond.mutable_value<double>()) v = v < 0.5 ? 0.0 : 1.0;
        REQUIRE_GRADCHECK_ORDER(
            order, [&](const tg::Tensor& a, const tg::Tensor& b) { return tg::where(cond, a, b); },
            {normal(sa, ++s), normal(sb, ++s)});
    }
}

TEST_CASE("gradcheck neg, first and second order") {
    const int order = GENERATE(1, 2);
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& a) { return -a; }, {normal({3, 2}, 9)});
}

TEST_CASE("gradcheck tensor-scalar operators, first and second order") {
    const int order = GENERATE(1, 2);
    const auto x = normal({2, 3}, 10);
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& a) { return a + 2.5; }, {x});
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& a) { return 2.5 + a; }, {x});
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& a) { return a - 1.5; }, {x});
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& a) { return 1.5 - a; }, {x});
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& a) { return a * -3.0; }, {x});
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& a) { return 0.5 * a; }, {x});
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& a) { return a / 4.0; }, {x});
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& a) { return 2.0 / a; },
                            {away_from_zero({2, 3}, 11, 0.5)});
}

TEST_CASE("gradcheck pow tensor^scalar, first to third order") {
    const int order = GENERATE(1, 2, 3);
    const auto x = in_range({2, 3}, 12, 0.5, 2.0);
    for (double p : {2.0, 3.0, 0.5, -1.5, 1.0, 0.0}) {
        INFO("exponent " << p);
        REQUIRE_GRADCHECK_ORDER(order, [p](const tg::Tensor& a) { return tg::pow(a, p); }, {x});
    }
    // Integer exponents on negative bases.
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& a) { return tg::pow(a, 3.0); },
                            {normal({4}, 13)});
}

TEST_CASE("arithmetic values match hand-computed ones") {
    const auto a = tg::tensor({{1, 2, 3}, {4, 5, 6}}, tg::f64);
    const auto b = tg::tensor({10, 20, 30}, tg::f64);
    CHECK(xt::allclose((a + b).value<double>(), xt::xarray<double>{{11, 22, 33}, {14, 25, 36}}));
    CHECK(xt::allclose((a * b).value<double>(), xt::xarray<double>{{10, 40, 90}, {40, 100, 180}}));
    CHECK(xt::allclose((b / a).value<double>(), xt::xarray<double>{{10, 10, 10}, {2.5, 4, 5}}));
    CHECK(
        xt::allclose(tg::pow(a, 2.0).value<double>(), xt::xarray<double>{{1, 4, 9}, {16, 25, 36}}));
    CHECK(xt::allclose(tg::maximum(a, tg::scalar(3.5, tg::f64)).value<double>(),
                       xt::xarray<double>{{3.5, 3.5, 3.5}, {4, 5, 6}}));
}

TEST_CASE("maximum and minimum split the gradient on ties") {
    auto a = tg::tensor({1.0, 2.0}, tg::f64).requires_grad_();
    auto b = tg::tensor({1.0, 3.0}, tg::f64).requires_grad_();
    tg::Tape tape;
    tape.backward(tg::sum(tg::maximum(a, b)));
    CHECK(xt::allclose(a.grad().value<double>(), xt::xarray<double>{0.5, 0.0}));
    CHECK(xt::allclose(b.grad().value<double>(), xt::xarray<double>{0.5, 1.0}));
}

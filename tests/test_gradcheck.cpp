// gradcheck itself: it must catch wrong rules, name the worst element, and leave the
// caller's tensors alone.
#include <tapegrad/autodiff/op.hpp>

#include "check.hpp"

using namespace testing;
using tg::BackwardContext;
using tg::Inputs;
using tg::OpArgs;
using tg::OpInfo;

namespace {

// WrongSquare (check.hpp) is out = x² with the rule 3x instead of 2x.

// x², right everywhere but at one element (flat index 5): the report must point there.
struct WrongAtOneElement : WrongSquare {
    static constexpr OpInfo info{"wrong_at_one", "∂out/∂x = 2x except at element 5"};
    template <class T>
    static void backward(BackwardContext<T>& c) {
        xt::xarray<T> g = c.grad() * T(2) * c.in(0);
        g.data()[5] += T(0.01);
        c.accumulate(0, std::move(g));
    }
};

// Forgets its gradient altogether: a silently missing gradient.
struct ForgetsGradient {
    static constexpr OpInfo info{"forgets", "none"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs&) {
        return xt::exp(*in[0]);
    }
    template <class T>
    static void backward(BackwardContext<T>&) {}
};

// x³ with a right array rule and a backward_graph that is wrong (2x² instead of 3x²) but
// consistent with itself: its own differences agree with its own derivative.
struct WrongGraphRule {
    static constexpr OpInfo info{.name = "wrong_graph_rule", .rule = "∂out/∂x = 3x²"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs&) {
        return *in[0] * *in[0] * *in[0];
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        c.accumulate(0, c.grad() * T(3) * c.in(0) * c.in(0));
    }
    static void backward_graph(tg::GraphContext& c) {
        c.accumulate(0, c.grad() * 2.0 * tg::square(c.in(0)));
    }
};

// x³ whose backward_graph has the right first derivative but treats x as a constant
// (detach): the second derivative it gives is wrong.
struct DetachedGraphRule : WrongGraphRule {
    static constexpr OpInfo info{.name = "detached_graph_rule", .rule = "∂out/∂x = 3x²"};
    static void backward_graph(tg::GraphContext& c) {
        c.accumulate(0, c.grad() * 3.0 * tg::square(c.in(0).detach()));
    }
};

template <class Op>
tg::Tensor run(const tg::Tensor& x) {
    return tg::apply<Op>({&x});
}

}  // namespace

TEST_CASE("gradcheck catches a wrong derivative rule") {
    const auto r = tg::gradcheck([](const tg::Tensor& x) { return tg::sum(run<WrongSquare>(x)); },
                                 {normal({3}, 1)});
    INFO(r.to_string());
    CHECK_FALSE(r.passed);
    CHECK(r.max_rel_error == Approx(0.5).epsilon(1e-4));  // |3x - 2x| / |2x|
    CHECK(r.to_string().find("FAILED") != std::string::npos);
}

TEST_CASE("gradcheck names the worst element") {
    const auto r =
        tg::gradcheck([](const tg::Tensor& x) { return tg::sum(run<WrongAtOneElement>(x)); },
                      {normal({2, 4}, 2)});
    INFO(r.to_string());
    CHECK_FALSE(r.passed);
    CHECK(r.worst_input == 0);
    CHECK(r.worst_index == tg::Shape{1, 1});  // flat 5 of [2, 4]
    CHECK(r.worst_analytic - r.worst_numeric == Approx(0.01).epsilon(1e-4));
    CHECK(r.to_string().find("element [1, 1]") != std::string::npos);
}

TEST_CASE("gradcheck catches a missing gradient") {
    const auto r = tg::gradcheck(
        [](const tg::Tensor& x) { return tg::sum(run<ForgetsGradient>(x)); }, {normal({3}, 3)});
    CHECK_FALSE(r.passed);
    CHECK(r.worst_analytic == 0.0);
}

TEST_CASE("gradcheck catches a wrong rule in one of several inputs, on a non-scalar output") {
    // Full Jacobian: 6 outputs x (6 + 6) input elements.
    const auto r = tg::gradcheck(
        [](const tg::Tensor& a, const tg::Tensor& b) { return a * run<WrongSquare>(b); },
        {normal({2, 3}, 4), normal({2, 3}, 5)});
    CHECK_FALSE(r.passed);
    CHECK(r.worst_input == 1);
    CHECK(r.checked == 6 * 12);
    CHECK_FALSE(r.projected);
}

TEST_CASE(
    "gradcheck checks large outputs through random projections, and still fails wrong rules") {
    const auto good =
        tg::gradcheck([](const tg::Tensor& x) { return tg::tanh(x); }, {normal({10, 10}, 6)});
    CHECK(good.passed);
    CHECK(good.projected);
    const auto bad = tg::gradcheck([](const tg::Tensor& x) { return run<WrongSquare>(x); },
                                   {normal({10, 10}, 7)});
    CHECK_FALSE(bad.passed);
}

TEST_CASE("gradcheck passes correct rules and reports small errors") {
    const auto r = tg::gradcheck([](const tg::Tensor& x) { return tg::sum(tg::tanh(x)); },
                                 {normal({3, 4}, 8)});
    CHECK(r.passed);
    CHECK(r.checked == 12);
    CHECK(r.max_abs_error < 1e-8);
}

TEST_CASE("gradcheck leaves the caller's tensors as they were, and takes float32 inputs") {
    tg::Tensor x = tg::randn({2, 2}, 9, tg::f32).requires_grad_();
    const auto before = x.value<float>();
    const auto r = tg::gradcheck([](const tg::Tensor& t) { return tg::sum(tg::exp(t)); }, {x});
    CHECK(r.passed);
    CHECK(x.value<float>() == before);
    CHECK(x.dtype() == tg::f32);
    CHECK_FALSE(x.has_grad());
}

TEST_CASE("gradcheck refuses a function that computes in float32") {
    const tg::Tensor w = tg::ones({2}, tg::f32);
    CHECK_THROWS_WITH(tg::gradcheck([&](const tg::Tensor& x) { return tg::sum(x.to(tg::f32) * w); },
                                    {normal({2}, 10)}),
                      Catch::Contains("float64"));
}

TEST_CASE("gradcheck of a composite: a two-layer network") {
    REQUIRE_GRADCHECK(
        [](const std::vector<tg::Tensor>& p) {
            auto h = tg::tanh(tg::matmul(p[0], p[1]) + p[2]);
            return tg::mean(tg::square(tg::matmul(h, p[3]) - 1.0));
        },
        {normal({5, 3}, 11), normal({3, 4}, 12), normal({4}, 13), normal({4, 1}, 14)});
}

TEST_CASE("gradgradcheck catches a backward_graph that disagrees with the array rule") {
    const auto r = tg::gradgradcheck(
        [](const tg::Tensor& x) { return tg::sum(run<WrongGraphRule>(x)); }, {normal({3}, 40)});
    INFO(r.to_string());
    CHECK_FALSE(r.passed);
    CHECK_THAT(r.to_string(), Catch::Contains("recorded pass against plain pass"));
}

TEST_CASE("gradgradcheck catches a second derivative that is wrong") {
    const auto r = tg::gradgradcheck(
        [](const tg::Tensor& x) { return tg::sum(run<DetachedGraphRule>(x)); }, {normal({3}, 41)});
    INFO(r.to_string());
    CHECK_FALSE(r.passed);
    CHECK_THAT(r.to_string(), Catch::Contains("d/d(input 0)"));
    // The right rules pass, to third order.
    REQUIRE_GRADCHECK_ORDER(3, [](const tg::Tensor& x) { return tg::sum(tg::pow(x, 3.0)); },
                            {normal({3}, 42)});
}

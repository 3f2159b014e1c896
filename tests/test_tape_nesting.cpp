// Tapes that nest, interleave and share parameters: which slot a tensor has is each record's own
// knowledge, so a tape's gradients never depend on what other tapes did with the same leaf.
#include <optional>
#include <tapegrad/autodiff/op.hpp>

#include "check.hpp"

TEST_CASE("a leaf recorded on another tape in between keeps its gradients exact") {
    // The snippet of the issue that found it: both calls gave 0 and 1.
    tg::Tensor p = tg::scalar(3.0, tg::f64).requires_grad_();
    tg::Tape outer({.persistent = true});
    tg::Tensor loss = p * p;
    {
        tg::Tape inner;
        tg::Tensor q = p * 2.0;
    }
    CHECK(outer.gradient(loss, {p})[0].item() == 6.0);
    CHECK(outer.gradient(loss + p, {p})[0].item() == 7.0);
}

TEST_CASE("two open tapes that close out of order give each its own gradients") {
    tg::Tensor p = tg::scalar(3.0, tg::f64).requires_grad_();
    std::optional<tg::Tape> a(std::in_place, tg::TapeOptions{.persistent = true});
    const tg::Tensor ya = p * p;  // recorded while a is the only tape
    std::optional<tg::Tape> b(std::in_place, tg::TapeOptions{.persistent = true});
    const tg::Tensor yb = p * 5.0;
    CHECK(a->gradient(ya, {p})[0].item() == 6.0);
    CHECK(b->gradient(yb, {p})[0].item() == 5.0);
    // b opened after ya was computed: for b, ya is a constant made before it.
    CHECK_THROWS_WITH(b->gradient(ya, {p}), Catch::Contains("before this tape opened"));
    a.reset();  // the older tape closes first; b still works
    CHECK(b->gradient(yb * p, {p})[0].item() == 30.0);
    tg::Tensor later = p * p * p;
    CHECK(b->gradient(later, {p})[0].item() == 27.0);
    b.reset();
    tg::Tape c;
    CHECK_THROWS_WITH(later * p, Catch::Contains("ended"));
    tg::Tape d;  // and a fresh tape starts afresh
    tg::Tensor e = p * 4.0;
    CHECK(d.gradient(e, {p})[0].item() == 4.0);
}

TEST_CASE("backward on nested tapes accumulates into .grad() once per call") {
    tg::Tensor p = tg::scalar(2.0, tg::f64).requires_grad_();
    tg::Tape outer({.persistent = true});
    const tg::Tensor y = p * p * p;  // 3p² = 12
    {
        tg::Tape inner;
        inner.backward(p * 10.0);
    }
    CHECK(p.grad().item() == 10.0);
    outer.backward(y);
    CHECK(p.grad().item() == 22.0);
}

TEST_CASE("an inner tape differentiates what it recorded, an outer one sees everything") {
    auto x = tg::scalar(1.0, tg::f64).requires_grad_();
    tg::Tape outer({.persistent = true});
    const tg::Tensor h = (x * 2.0).name("h");  // before the inner tape opened
    tg::Tensor z;
    {
        tg::Tape inner({.persistent = true});
        z = h * h;
        const auto g = inner.gradient(z, {h, x});
        CHECK(g[0].item() == 4.0);  // d(h²)/dh = 2h
        CHECK(g[1].item() == 0.0);  // h is a constant to the inner tape (TensorFlow's rule)
    }
    CHECK(outer.gradient(z, {x})[0].item() == 8.0);  // d(4x²)/dx
}

TEST_CASE("PyTorch style: create_graph makes the gradient differentiable, to any order") {
    auto x = tg::scalar(3.0, tg::f64).requires_grad_();
    tg::Tape tape;
    const tg::Tensor y = x * x * x;
    const tg::Tensor g = tape.gradient(y, {x}, {.create_graph = true})[0];
    CHECK(g.item() == 27.0);
    REQUIRE(g.requires_grad());
    const tg::Tensor h = tape.gradient(g, {x}, {.create_graph = true})[0];
    CHECK(h.item() == 18.0);
    const tg::Tensor t = tape.gradient(h, {x})[0];  // the last pass need not be recorded
    CHECK(t.item() == 6.0);
    CHECK_FALSE(t.requires_grad());
    // Without create_graph (and without persistent) the tape is spent after that pass.
    CHECK_THROWS_WITH(tape.gradient(y, {x}), Catch::Contains("already differentiated"));
}

TEST_CASE("backward with create_graph leaves a .grad() that can be differentiated") {
    auto x = tg::scalar(3.0, tg::f64).requires_grad_();
    tg::Tape tape;
    tape.backward(x * x * x, {.create_graph = true});
    CHECK(x.grad().item() == 27.0);
    REQUIRE(x.grad().requires_grad());
    tape.backward(x.grad());  // d(3x²)/dx = 18 accumulates, as in PyTorch: 27 + 18
    CHECK(x.grad().item() == 45.0);
    CHECK_FALSE(x.grad().requires_grad());
}

TEST_CASE("TensorFlow style: an outer tape records what an inner tape's gradient computes") {
    auto x = tg::tensor({1.0, 2.0}, tg::f64).requires_grad_();
    tg::Tape outer;
    tg::Tensor dy;
    {
        tg::Tape inner;
        const tg::Tensor y = tg::sum(tg::exp(x) * x);  // dy/dx = eˣ(1 + x)
        dy = inner.gradient(y, {x})[0];
    }
    REQUIRE(dy.requires_grad());
    // d/dx Σ dy = eˣ(2 + x)
    const auto d2 = outer.gradient(tg::sum(dy), {x})[0].value<double>();
    CHECK(d2(0) == Approx(std::exp(1.0) * 3).epsilon(1e-14));
    CHECK(d2(1) == Approx(std::exp(2.0) * 4).epsilon(1e-14));
}

TEST_CASE("create_graph records even inside NoGrad, a nested pass inside NoGrad does not") {
    auto x = tg::scalar(2.0, tg::f64).requires_grad_();
    tg::Tape tape({.persistent = true});
    const tg::Tensor y = x * x * x;
    tg::Tensor g;
    {
        tg::NoGrad no_grad;
        g = tape.gradient(y, {x}, {.create_graph = true})[0];
    }
    CHECK(tape.gradient(g, {x})[0].item() == 12.0);
    tg::Tape inner;
    {
        tg::NoGrad no_grad;
        const tg::Tensor plain = tape.gradient(y, {x})[0];
        CHECK_FALSE(plain.requires_grad());
    }
}

namespace {

// x³ with only an array rule: first order everywhere, and no second derivative.
struct FirstOrderCube {
    static constexpr tg::OpInfo info{.name = "first_order_cube", .rule = "∂out/∂x = 3x²"};
    template <class T>
    static xt::xarray<T> forward(const tg::Inputs<T>& in, const tg::OpArgs&) {
        return (*in[0]) * (*in[0]) * (*in[0]);
    }
    template <class T>
    static void backward(tg::BackwardContext<T>& c) {
        c.accumulate(0, c.grad() * T(3) * c.in(0) * c.in(0));
    }
};

// The same with its rule in tensor ops as well: differentiable again.
struct Cube : FirstOrderCube {
    static constexpr tg::OpInfo info{.name = "cube", .rule = "∂out/∂x = 3x²"};
    static void backward_graph(tg::GraphContext& c) {
        c.accumulate(0, c.grad() * 3.0 * tg::square(c.in(0)));
    }
};

}  // namespace

TEST_CASE("a custom op's backward_graph makes it differentiable to any order") {
    auto x = tg::scalar(2.0, tg::f64).requires_grad_();
    tg::Tape tape;
    const tg::Tensor y = tg::apply<Cube>({&x});
    const tg::Tensor g = tape.gradient(y, {x}, {.create_graph = true})[0];
    const tg::Tensor h = tape.gradient(g, {x}, {.create_graph = true})[0];
    CHECK(g.item() == 12.0);
    CHECK(h.item() == 12.0);  // 6x
    CHECK(tape.gradient(h, {x})[0].item() == 6.0);
}

TEST_CASE("a second derivative through a first-order-only op is an error naming it") {
    auto x = tg::scalar(2.0, tg::f64).requires_grad_();
    tg::Tape tape;
    const tg::Tensor y = tg::apply<FirstOrderCube>({&x}) * x;
    // First order works in a recorded pass too...
    const tg::Tensor g = tape.gradient(y, {x}, {.create_graph = true})[0];
    CHECK(g.item() == 32.0);  // 4x³
    // ...and differentiating it again names the op that cannot.
    CHECK_THROWS_WITH(tape.gradient(g, {x}),
                      Catch::Contains("first_order_cube") && Catch::Contains("first order only"));
}

TEST_CASE("pow with a tensor exponent has PyTorch's gradients at a = 0") {
    auto a = tg::tensor({0.0, 0.0, 0.0, 2.0}, tg::f64).requires_grad_();
    auto b = tg::tensor({0.0, 2.0, 0.5, 0.0}, tg::f64).requires_grad_();
    tg::Tape tape;
    const auto g = tape.gradient(tg::sum(tg::pow(a, b)), {a, b});
    // d/da = b·a^(b-1): 0 where b = 0 (it was NaN), 0 at a = 0 for b = 2, inf for b = 0.5.
    const auto da = g[0].value<double>(), db = g[1].value<double>();
    CHECK(da(0) == 0.0);
    CHECK(da(1) == 0.0);
    CHECK(std::isinf(da(2)));
    CHECK(da(3) == 0.0);
    // d/db = out·ln a: 0 at a = 0 with b >= 0; ln 2 at a = 2, b = 0.
    CHECK(db(0) == 0.0);
    CHECK(db(1) == 0.0);
    CHECK(db(2) == 0.0);
    CHECK(db(3) == Approx(std::log(2.0)));
}

TEST_CASE("a first-order pass on an inner tape records nothing when no other tape is open") {
    auto x = tg::scalar(2.0, tg::f64).requires_grad_();
    tg::Tape tape({.persistent = true});
    const tg::Tensor y = tg::sin(x) * x;
    const auto before = tape.nodes().size();
    const tg::Tensor g = tape.gradient(y, {x})[0];
    CHECK(tape.nodes().size() == before);
    CHECK_FALSE(g.requires_grad());
    const tg::Tensor gg = tape.gradient(y, {x}, {.create_graph = true})[0];
    CHECK(tape.nodes().size() > before);
    CHECK(gg.item() == Approx(g.item()).epsilon(1e-15));
}

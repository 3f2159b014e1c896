// The tape: recording, accumulation, scopes, persistence, and the errors of misuse.
#include <thread>

#include "check.hpp"

using namespace testing;

TEST_CASE("a tensor used twice receives the sum of both contributions") {
    auto x = tg::scalar(3.0, tg::f64).requires_grad_();
    tg::Tape tape;
    auto y = x * x + x;  // dy/dx = 2x + 1 = 7
    tape.backward(y);
    CHECK(x.grad().item() == 7.0);
}

TEST_CASE("a shared subexpression is differentiated once per use, not re-walked") {
    auto x = tg::scalar(2.0, tg::f64).requires_grad_();
    tg::Tape tape;
    auto s = tg::exp(x);
    auto y = s * s * s;  // e^{3x}: dy/dx = 3e^{3x}
    tape.backward(y);
    CHECK(x.grad().item() == Approx(3 * std::exp(6.0)));
}

TEST_CASE("gradients accumulate over backward calls until zero_grad") {
    auto w = tg::tensor({1.0, 2.0}, tg::f64).requires_grad_();
    for (int i = 0; i < 3; ++i) {
        tg::Tape tape;
        tape.backward(tg::sum(w * 2.0));
    }
    CHECK(xt::allclose(w.grad().value<double>(), xt::xarray<double>{6, 6}));
    w.zero_grad();
    CHECK_FALSE(w.has_grad());
    CHECK(xt::allclose(w.grad().value<double>(), xt::xarray<double>{0, 0}));
}

TEST_CASE("the quadratic walkthrough reaches the text's numbers") {
    auto w = tg::scalar(10.0, tg::f64).requires_grad_();
    for (int step = 0; step < 12; ++step) {
        tg::Tape tape;
        tape.backward(tg::square(w - 3.0));
        CHECK(w.grad().item() == Approx(2 * (w.item() - 3)));
        w -= 0.1 * w.grad();
        w.zero_grad();
    }
    // w_t - 3 = 7 * 0.8^t
    CHECK(w.item() == Approx(3 + 7 * std::pow(0.8, 12)));
    CHECK(w.item() == Approx(3.481).margin(5e-4));
}

TEST_CASE("NoGrad records nothing") {
    auto x = tg::scalar(1.0, tg::f64).requires_grad_();
    tg::Tape tape;
    tg::Tensor y;
    {
        tg::NoGrad no_grad;
        y = x * 2.0;
    }
    CHECK(tape.nodes().empty());
    CHECK_FALSE(y.requires_grad());
    CHECK_THROWS_AS(tape.backward(y), tg::TapeError);
    // Recording resumes after the scope.
    auto z = x * 2.0;
    CHECK(tape.nodes().size() == 1);
}

TEST_CASE("without a tape, ops compute values and record nothing") {
    auto x = tg::scalar(2.0, tg::f64).requires_grad_();
    auto y = tg::square(x);
    CHECK(y.item() == 4.0);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
}

TEST_CASE("ops on tensors that need no gradient are not recorded") {
    tg::Tape tape;
    auto a = tg::ones({3}, tg::f64);
    auto b = tg::exp(a) + a;
    CHECK(tape.nodes().empty());
    CHECK_FALSE(b.requires_grad());
}

TEST_CASE("detach stops gradients") {
    auto x = tg::scalar(3.0, tg::f64).requires_grad_();
    tg::Tape tape;
    auto y = x * x;
    auto z = y.detach() * x;  // d/dx = y = 9 (y is a constant here)
    tape.backward(z);
    CHECK(x.grad().item() == 9.0);
    CHECK(y.detach().is_leaf());
    CHECK_FALSE(y.detach().requires_grad());
}

TEST_CASE("backward of a non-scalar output with a seed gradient") {
    auto x = tg::tensor({1.0, 2.0, 3.0}, tg::f64).requires_grad_();
    tg::Tape tape;
    auto y = x * x;
    tape.backward(y, tg::tensor({1.0, 10.0, 100.0}, tg::f64));  // x.grad = 2x * seed
    CHECK(xt::allclose(x.grad().value<double>(), xt::xarray<double>{2, 40, 600}));
}

TEST_CASE("backward of a non-scalar output without a seed is an error that says what to do") {
    auto x = tg::tensor({1.0, 2.0}, tg::f64).requires_grad_();
    tg::Tape tape;
    auto y = x * 2.0;
    CHECK_THROWS_WITH(tape.backward(y), Catch::Contains("shape [2]") && Catch::Contains("seed"));
    CHECK_THROWS_WITH(tape.backward(y, tg::ones({3}, tg::f64)),
                      Catch::Contains("[3]") && Catch::Contains("[2]"));
    CHECK_FALSE(x.has_grad());
}

TEST_CASE("a second backward is an error unless the tape is persistent") {
    auto x = tg::scalar(2.0, tg::f64).requires_grad_();
    {
        tg::Tape tape;
        auto y = x * x;
        tape.backward(y);
        CHECK_THROWS_WITH(tape.backward(y), Catch::Contains("persistent"));
        CHECK(x.grad().item() == 4.0);  // the first result is kept
    }
    x.zero_grad();
    {
        tg::Tape tape({.persistent = true});
        auto y = x * x;
        tape.backward(y);
        tape.backward(y);
        CHECK(x.grad().item() == 8.0);
    }
}

TEST_CASE("gradient() returns gradients without touching .grad()") {
    auto a = tg::scalar(2.0, tg::f64).requires_grad_();
    auto b = tg::scalar(5.0, tg::f64).requires_grad_();
    auto unused = tg::ones({2}, tg::f64).requires_grad_();
    tg::Tape tape;
    auto y = a * b + a;
    auto g = tape.gradient(y, {a, b, unused});
    CHECK(g[0].item() == 6.0);
    CHECK(g[1].item() == 2.0);
    CHECK(xt::allclose(g[2].value<double>(), xt::xarray<double>{0, 0}));
    CHECK_FALSE(a.has_grad());
    CHECK_FALSE(b.has_grad());
}

TEST_CASE("gradient() with respect to an intermediate result") {
    auto x = tg::scalar(3.0, tg::f64).requires_grad_();
    tg::Tape tape;
    auto h = x * x;
    auto y = tg::sin(h);
    auto g = tape.gradient(y, {h, x});
    CHECK(g[0].item() == Approx(std::cos(9.0)));
    CHECK(g[1].item() == Approx(std::cos(9.0) * 6));
}

TEST_CASE("a tensor from an ended tape: values readable, recording is a clear error") {
    auto x = tg::scalar(2.0, tg::f64).requires_grad_();
    tg::Tensor h;
    {
        tg::Tape tape;
        h = (x * 3.0).name("h");
    }
    CHECK(h.item() == 6.0);  // reading is always allowed
    tg::Tape tape;
    CHECK_THROWS_WITH(
        h * x, Catch::Contains("'h'") && Catch::Contains("ended") && Catch::Contains("detach()"));
    CHECK_THROWS_WITH(tape.backward(h), Catch::Contains("another tape"));
    auto ok = h.detach() * x;  // the suggested fix works
    tape.backward(ok);
    CHECK(x.grad().item() == 6.0);
}

TEST_CASE("an outer tape's result inside an inner tape is a constant to the inner tape") {
    auto x = tg::scalar(1.0, tg::f64).requires_grad_();
    tg::Tape outer({.persistent = true});
    auto h = x * 2.0;
    tg::Tape inner;
    const auto y = h + x;                            // allowed now: tapes nest, as TensorFlow's do
    CHECK(inner.gradient(y, {x})[0].item() == 1.0);  // through x alone
    CHECK(outer.gradient(y, {x})[0].item() == 3.0);  // through h as well
}

TEST_CASE("changing a saved value in place before backward is a named error") {
    auto w = tg::tensor({1.0, 2.0}, tg::f64).requires_grad_().name("w");
    tg::Tape tape;
    auto y = tg::sum(w * w);
    w -= 0.5;  // would silently corrupt d/dw = 2w
    CHECK_THROWS_WITH(tape.backward(y), Catch::Contains("'w'") && Catch::Contains("in place"));
}

TEST_CASE("retain_grads keeps every intermediate gradient") {
    auto x = tg::scalar(2.0, tg::f64).requires_grad_();
    tg::Tape tape({.retain_grads = true});
    auto h = x * 3.0;
    auto y = tg::square(h);
    tape.backward(y);
    CHECK(h.grad().item() == 12.0);  // 2h
    CHECK(y.grad().item() == 1.0);
    CHECK(x.grad().item() == 36.0);
}

TEST_CASE("without retain_grads an intermediate's grad() explains how to get it") {
    auto x = tg::scalar(2.0, tg::f64).requires_grad_();
    tg::Tape tape;
    auto h = x * 3.0;
    tape.backward(tg::square(h));
    CHECK_THROWS_WITH(h.grad(), Catch::Contains("retain_grads"));
}

TEST_CASE("a deep graph is walked without recursion") {
    auto x = tg::scalar(1.0, tg::f64).requires_grad_();
    tg::Tape tape;
    tg::Tensor y = x;
    for (int i = 0; i < 200000; ++i) y = y + 1.0;
    tape.backward(y);
    CHECK(x.grad().item() == 1.0);
    CHECK(y.item() == 200001.0);
}

TEST_CASE("tapes on different threads do not interfere") {
    auto train = [](double start, double* result) {
        auto w = tg::scalar(start, tg::f64).requires_grad_();
        for (int step = 0; step < 200; ++step) {
            tg::Tape tape;
            tape.backward(tg::square(w - 3.0));
            w -= 0.01 * w.grad();
            w.zero_grad();
        }
        *result = w.item();
    };
    double seq_a = 0, seq_b = 0, par_a = 0, par_b = 0;
    train(10.0, &seq_a);
    train(-4.0, &seq_b);
    std::thread ta(train, 10.0, &par_a), tb(train, -4.0, &par_b);
    ta.join();
    tb.join();
    CHECK(par_a == seq_a);
    CHECK(par_b == seq_b);
}

TEST_CASE("backward on a leaf gives the seed") {
    auto x = tg::tensor({1.0, 2.0}, tg::f64).requires_grad_();
    tg::Tape tape;
    tape.backward(x, tg::tensor({3.0, 4.0}, tg::f64));
    CHECK(xt::allclose(x.grad().value<double>(), xt::xarray<double>{3, 4}));
}

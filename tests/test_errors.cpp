// Bad input gets an error that names the op and the shapes, and loses nothing.
#include "check.hpp"

using namespace testing;

TEST_CASE("a broadcasting mismatch names the op and both shapes") {
    const auto a = tg::ones({2, 3}, tg::f64), b = tg::ones({4}, tg::f64);
    CHECK_THROWS_AS(a + b, tg::ShapeError);
    CHECK_THROWS_WITH(
        a + b, Catch::Contains("add") && Catch::Contains("[2, 3]") && Catch::Contains("[4]"));
    CHECK_THROWS_WITH(a * b, Catch::StartsWith("mul:"));
    CHECK_THROWS_WITH(tg::where(a, a, b), Catch::StartsWith("where:"));
    CHECK_THROWS_WITH(tg::maximum(b, a), Catch::Contains("[4]") && Catch::Contains("[2, 3]"));
}

TEST_CASE("a matmul inner-dimension mismatch names both shapes") {
    const auto a = tg::ones({2, 3}, tg::f64), b = tg::ones({4, 5}, tg::f64);
    CHECK_THROWS_WITH(tg::matmul(a, b), Catch::Contains("matmul") && Catch::Contains("[2, 3]") &&
                                            Catch::Contains("[4, 5]") && Catch::Contains("inner"));
    CHECK_THROWS_WITH(tg::matmul(tg::ones({3}, tg::f64), b), Catch::Contains("2-D x 2-D"));
}

TEST_CASE("an axis that does not exist is named") {
    const auto a = tg::ones({2, 3}, tg::f64);
    CHECK_THROWS_AS(tg::sum(a, {2}), tg::ValueError);
    CHECK_THROWS_WITH(tg::sum(a, {2}), Catch::Contains("axis 2") && Catch::Contains("rank 2"));
    CHECK_THROWS_WITH(tg::softmax(a, -3), Catch::Contains("softmax") && Catch::Contains("axis -3"));
    CHECK_THROWS_WITH(tg::mean(a, {0, 0}), Catch::Contains("twice"));
}

TEST_CASE("mixing float32 and float64 without a conversion is named") {
    const auto a = tg::ones({2}, tg::f32), b = tg::ones({2}, tg::f64);
    CHECK_THROWS_AS(a + b, tg::DtypeError);
    CHECK_THROWS_WITH(
        a * b, Catch::Contains("float32") && Catch::Contains("float64") && Catch::Contains(".to("));
    CHECK_NOTHROW(a.to(tg::f64) + b);
    CHECK_THROWS_WITH(a.value<double>(), Catch::Contains("float32"));
}

TEST_CASE("shape ops check their arguments") {
    const auto a = tg::ones({2, 3}, tg::f64);
    CHECK_THROWS_WITH(tg::reshape(a, {4, 2}),
                      Catch::Contains("[2, 3]") && Catch::Contains("[4, 2]"));
    CHECK_THROWS_WITH(tg::broadcast_to(a, {3, 3}), Catch::Contains("broadcast_to"));
    CHECK_THROWS_WITH(tg::concat({a, tg::ones({2, 2}, tg::f64)}, 0),
                      Catch::Contains("part 1") && Catch::Contains("[2, 2]"));
    CHECK_THROWS_WITH(tg::stack({a, tg::ones({3, 2}, tg::f64)}), Catch::Contains("stack"));
    CHECK_THROWS_WITH(tg::slice_rows(a, 1, 3),
                      Catch::Contains("[1, 3)") && Catch::Contains("2 rows"));
    CHECK_THROWS_WITH(tg::gather_rows(a, {0, 2}), Catch::Contains("index 2"));
    CHECK_THROWS_WITH(tg::permute(a, {0, 0}), Catch::Contains("twice"));
    CHECK_THROWS_WITH(tg::tensor({{1, 2}, {3}}), Catch::Contains("row 1"));
}

TEST_CASE("an error while recording leaves the tape and the inputs as they were") {
    auto w = tg::ones({2, 3}, tg::f64).requires_grad_();
    tg::Tape tape;
    auto y = w * 2.0;
    const auto nodes_before = tape.nodes().size();
    CHECK_THROWS(y + tg::ones({4}, tg::f64));
    CHECK(tape.nodes().size() == nodes_before);
    tape.backward(tg::sum(y));  // the tape still works
    CHECK(xt::allclose(w.grad().value<double>(), xt::ones<double>({2, 3}) * 2.0));
}

TEST_CASE("in-place updates check shapes and dtypes and change nothing on error") {
    auto w = tg::ones({2}, tg::f64);
    CHECK_THROWS_WITH(w -= tg::ones({3}, tg::f64),
                      Catch::Contains("[3]") && Catch::Contains("[2]"));
    CHECK_THROWS_WITH(w += tg::ones({2}, tg::f32), Catch::Contains("float32"));
    CHECK(xt::allclose(w.value<double>(), xt::xarray<double>{1, 1}));
    CHECK(w.version() == 0);
}

TEST_CASE("undefined tensors and non-leaf requires_grad_ are named") {
    tg::Tensor t;
    CHECK_THROWS_WITH(t.shape(), Catch::Contains("undefined"));
    CHECK_THROWS_WITH(tg::exp(t), Catch::Contains("exp") && Catch::Contains("undefined"));
    auto x = tg::scalar(1.0, tg::f64).requires_grad_();
    tg::Tape tape;
    auto y = x * 2.0;
    CHECK_THROWS_WITH(y.requires_grad_(), Catch::Contains("leaves"));
    CHECK_THROWS_WITH(tg::ones({2}).item(), Catch::Contains("one-element"));
}

TEST_CASE("a NaN from log of a negative number propagates as IEEE says") {
    auto x = tg::tensor({-1.0, 4.0}, tg::f64).requires_grad_();
    tg::Tape tape;
    auto y = tg::sum(tg::log(x));
    CHECK(std::isnan(y.item()));
    tape.backward(y);
    CHECK(x.grad().value<double>()(1) == 0.25);
}

// Gradient clipping: the norm after clip_grad_norm equals the limit, the returned norm is the
// one before, nothing changes under the limit, the infinity norm, non-finite gradients refused
// untouched, and clip_grad_value's bounds.
#include <tapegrad/optim/clip_grad.hpp>

#include "check.hpp"

namespace {

namespace optim = tg::optim;

// Parameters whose gradients are set to the given values (as backward would leave them).
tg::Tensor with_grad(const tg::Tensor& value, const tg::Tensor& grad) {
    tg::Tensor p = value.detach().requires_grad_();
    p.grad().copy_(grad);
    return p;
}

double norm_of_grads(const std::vector<tg::Tensor>& ps, double p = 2) {
    double acc = 0;
    for (const auto& t : ps)
        for (double g : t.grad().to_array<double>()) acc += std::pow(std::abs(g), p);
    return std::pow(acc, 1 / p);
}

std::vector<tg::Tensor> two_params(double scale = 1.0) {
    tg::Tensor g1 = tg::randn({3, 4}, 11, tg::f64), g2 = tg::randn({5}, 12, tg::f64);
    g1 *= scale;
    g2 *= scale;
    return {with_grad(tg::zeros({3, 4}, tg::f64), g1), with_grad(tg::zeros({5}, tg::f64), g2)};
}

}  // namespace

TEST_CASE("clip_grad_norm scales the total 2-norm to exactly max_norm") {
    auto ps = two_params();
    const double before = norm_of_grads(ps);
    REQUIRE(before > 1.0);
    const auto g0 = ps[0].grad().to_array<double>();
    const double returned = optim::clip_grad_norm(ps, 1.0);
    CHECK(std::abs(returned - before) <= 1e-14 * before);  // the norm before clipping
    CHECK(std::abs(norm_of_grads(ps) - 1.0) <= 1e-12);     // exactly the limit
    // Every gradient is scaled by the same coefficient max_norm / norm: directions are kept.
    CHECK(xt::allclose(ps[0].grad().value<double>(), g0 / before, 1e-14, 0));
}

TEST_CASE("clip_grad_norm leaves gradients under the limit alone") {
    auto ps = two_params(0.01);
    const auto g0 = ps[0].grad().to_array<double>();
    const auto g1 = ps[1].grad().to_array<double>();
    const double before = norm_of_grads(ps);
    REQUIRE(before < 1.0);
    CHECK(std::abs(optim::clip_grad_norm(ps, 1.0) - before) <= 1e-14 * before);
    CHECK(ps[0].grad().value<double>() == g0);  // bit for bit
    CHECK(ps[1].grad().value<double>() == g1);
}

TEST_CASE("clip_grad_norm with other norms") {
    SECTION("infinity norm: the largest |g|") {
        // g = [[3, -7], [2, 0]] and [5]: max |g| = 7, clipped to 3.5 by the factor 0.5.
        auto p1 =
            with_grad(tg::zeros({2, 2}, tg::f64), tg::tensor({{3.0, -7.0}, {2.0, 0.0}}, tg::f64));
        auto p2 = with_grad(tg::zeros({1}, tg::f64), tg::tensor({5.0}, tg::f64));
        CHECK(optim::clip_grad_norm({p1, p2}, 3.5, optim::inf_norm) == 7.0);
        CHECK(p1.grad().value<double>() == xt::xarray<double>{{1.5, -3.5}, {1.0, 0.0}});
        CHECK(p2.grad().value<double>()(0) == 2.5);
    }
    SECTION("1-norm: the sum of |g|") {
        // |3| + |-4| = 7, scaled by 2/7.
        auto p = with_grad(tg::zeros({2}, tg::f64), tg::tensor({3.0, -4.0}, tg::f64));
        CHECK(optim::clip_grad_norm({p}, 2.0, 1.0) == 7.0);
        CHECK(std::abs(norm_of_grads({p}, 1.0) - 2.0) <= 1e-15);
    }
    SECTION("3-norm") {
        auto ps = two_params();
        const double before = norm_of_grads(ps, 3.0);
        CHECK(std::abs(optim::clip_grad_norm(ps, 0.5, 3.0) - before) <= 1e-13 * before);
        CHECK(std::abs(norm_of_grads(ps, 3.0) - 0.5) <= 1e-12);
    }
    SECTION("2-norm of a 3-4-5 triangle") {
        auto p = with_grad(tg::zeros({2}, tg::f64), tg::tensor({3.0, 4.0}, tg::f64));
        CHECK(optim::clip_grad_norm({p}, 1.0) == 5.0);
        CHECK(std::abs(p.grad().value<double>()(0) - 0.6) <= 1e-15);
        CHECK(std::abs(p.grad().value<double>()(1) - 0.8) <= 1e-15);
    }
}

TEST_CASE("clip_grad_norm copes with huge and tiny gradients") {
    // sum g^2 would overflow (1e400) or underflow (1e-400) in a naive sum of squares.
    auto big = with_grad(tg::zeros({2}, tg::f64), tg::tensor({3e200, 4e200}, tg::f64));
    CHECK(std::abs(optim::clip_grad_norm({big}, 1.0) / 5e200 - 1) <= 1e-15);
    CHECK(std::abs(norm_of_grads({big}) - 1.0) <= 1e-12);
    auto tiny = with_grad(tg::zeros({2}, tg::f64), tg::tensor({3e-200, 4e-200}, tg::f64));
    CHECK(std::abs(optim::clip_grad_norm({tiny}, 1.0) / 5e-200 - 1) <= 1e-15);
}

TEST_CASE("clip_grad_norm refuses non-finite gradients and leaves them untouched") {
    for (double bad : {std::nan(""), std::numeric_limits<double>::infinity()}) {
        for (double norm_type : {2.0, 1.0, optim::inf_norm}) {
            INFO("bad value " << bad << ", norm " << norm_type);
            auto ps = two_params();
            ps[1].grad().mutable_value<double>()(2) = bad;
            const auto g0 = ps[0].grad().to_array<double>();
            try {
                optim::clip_grad_norm(ps, 1.0, norm_type);
                FAIL("a non-finite norm was clipped");
            } catch (const tg::Error& e) {
                const std::string m = e.what();
                CHECK(m.find(std::isnan(bad) ? "nan" : "inf") != std::string::npos);
                CHECK(m.find("learning rate") != std::string::npos);
            }
            CHECK(ps[0].grad().value<double>() == g0);
            CHECK(xt::all(xt::isfinite(ps[0].grad().value<double>())));
        }
    }
}

TEST_CASE("clip_grad_norm skips parameters without a gradient and works in float32") {
    tg::Tensor none = tg::zeros({3}, tg::f64).requires_grad_();
    CHECK(optim::clip_grad_norm({none}, 1.0) == 0.0);
    CHECK_FALSE(none.has_grad());
    auto p = with_grad(tg::zeros({2}, tg::f32), tg::tensor({30.0, 40.0}, tg::f32));
    CHECK(optim::clip_grad_norm({p, none}, 5.0) == 50.0);
    CHECK_FALSE(none.has_grad());
    CHECK(p.grad().dtype() == tg::f32);
    CHECK(std::abs(p.grad().value<float>()(0) - 3.0f) <= 1e-6f);
    CHECK(std::abs(p.grad().value<float>()(1) - 4.0f) <= 1e-6f);
}

TEST_CASE("clip_grad_norm after backward, before the step") {
    // f(w) = sum(10 w^2) at w = [1, 2]: g = [20, 40], norm 20 sqrt(5), clipped to 1.
    tg::Tensor w = tg::tensor({1.0, 2.0}, tg::f64).requires_grad_();
    {
        tg::Tape tape;
        tape.backward(tg::sum(tg::square(w) * 10.0));
    }
    CHECK(std::abs(optim::clip_grad_norm({w}, 1.0) - 20 * std::sqrt(5.0)) <= 1e-13);
    CHECK(std::abs(w.grad().value<double>()(0) - 1 / std::sqrt(5.0)) <= 1e-15);
}

TEST_CASE("clip_grad_norm rejects invalid arguments") {
    auto ps = two_params();
    CHECK_THROWS_AS(optim::clip_grad_norm(ps, -1.0), tg::ValueError);
    CHECK_THROWS_AS(optim::clip_grad_norm(ps, 1.0, 0.0), tg::ValueError);
    CHECK_THROWS_AS(optim::clip_grad_value(ps, -1.0), tg::ValueError);
}

TEST_CASE("clip_grad_value clamps every element into [-c, c]") {
    auto p = with_grad(tg::zeros({5}, tg::f64), tg::tensor({-3.0, -0.5, 0.0, 0.7, 9.0}, tg::f64));
    auto q = with_grad(tg::zeros({2}, tg::f32), tg::tensor({2.0, -0.25}, tg::f32));
    tg::Tensor none = tg::zeros({1}, tg::f64).requires_grad_();
    optim::clip_grad_value({p, q, none}, 1.0);
    CHECK(p.grad().value<double>() == xt::xarray<double>{-1.0, -0.5, 0.0, 0.7, 1.0});
    CHECK(q.grad().value<float>() == xt::xarray<float>{1.0f, -0.25f});
    CHECK_FALSE(none.has_grad());
}

// Newton's method with the exact Hessian from the tape (finite differences as an option): the
// Hessian itself (quadratic, Rosenbrock, a model with two parameter tensors), one-step
// convergence on a convex quadratic, damping, the Levenberg fallback on an indefinite Hessian,
// Rosenbrock, logistic regression (the texts' data set among them), float32, and its errors.
#include <tapegrad/data/readers.hpp>
#include <tapegrad/optim/newton.hpp>

#include "check.hpp"
#include "optim_problems.hpp"

namespace {

using namespace testing;
using tg::optim::Newton;

double max_abs_grad(const std::vector<tg::Tensor>& params) {
    double m = 0.0;
    for (const auto& p : params)
        for (double g : p.grad().to_array<double>()) m = std::max(m, std::abs(g));
    return m;
}

// 0.5 x^T A x - b^T x with A symmetric positive definite (diagonally dominant) and
// b = A x_star, so that the minimiser is x_star.
const xt::xarray<double> kA = {
    {4.0, 1.0, 0.0, 0.5}, {1.0, 3.0, 0.5, 0.0}, {0.0, 0.5, 2.0, 0.25}, {0.5, 0.0, 0.25, 1.0}};
const std::vector<double> kXStar = {1.0, -2.0, 0.5, 3.0};
const std::vector<double> kX0 = {0.3, 0.1, -0.2, 0.7};

std::vector<double> times_a(const std::vector<double>& x, double shift = 0.0) {
    std::vector<double> y(4, 0.0);
    for (std::size_t i = 0; i < 4; ++i) {
        for (std::size_t j = 0; j < 4; ++j) y[i] += kA(i, j) * x[j];
        y[i] += shift * x[i];
    }
    return y;
}

tg::Tensor column(const std::vector<double>& v, tg::Dtype dtype) {
    xt::xarray<double> a = xt::zeros<double>({v.size(), std::size_t{1}});
    std::copy(v.begin(), v.end(), a.begin());
    return tg::from_array(a).to(dtype).detach();
}

Problem quadratic(tg::Dtype dtype = tg::f64) {
    tg::Tensor A = tg::from_array(kA).to(dtype).detach();
    tg::Tensor b = column(times_a(kXStar), dtype);
    tg::Tensor x = column(kX0, dtype).requires_grad_();
    return {{x}, [A, b, x] { return 0.5 * tg::sum(x * tg::matmul(A, x)) - tg::sum(b * x); }};
}

Problem rosenbrock(double x0, double y0) {
    tg::Tensor x = tg::scalar(x0, tg::f64).requires_grad_();
    tg::Tensor y = tg::scalar(y0, tg::f64).requires_grad_();
    return {{x, y}, [x, y] { return tg::square(1.0 - x) + 100.0 * tg::square(y - tg::square(x)); }};
}

// Logistic regression on 100 seeded points in 2-D whose labels come from a noisy linear rule
// (so the classes overlap and the loss has a finite minimiser): mean BCE with logits.
Problem logistic_regression() {
    const std::size_t n = 100;
    const xt::xarray<double> X = tg::randn({n, 2}, 7, tg::f64).value<double>();
    const xt::xarray<double> noise = tg::randn({n}, 8, tg::f64).value<double>();
    xt::xarray<double> y = xt::zeros<double>({n, std::size_t{1}});
    for (std::size_t i = 0; i < n; ++i)
        y(i, 0) = 1.5 * X(i, 0) - 2.0 * X(i, 1) + 0.3 + 1.5 * noise(i) > 0;
    tg::Tensor Xt = tg::from_array(X), yt = tg::from_array(y);
    tg::Tensor w = tg::zeros({2, 1}, tg::f64).requires_grad_();
    tg::Tensor c = tg::zeros({1}, tg::f64).requires_grad_();
    return {{w, c}, [Xt, yt, w, c] {
                tg::Tensor z = tg::matmul(Xt, w) + c;
                return tg::mean(tg::softplus(z) - yt * z);  // -log sigmoid(+-z)
            }};
}

}  // namespace

TEST_CASE("hessian of a quadratic is its matrix") {
    Problem q = quadratic();
    const auto before = flat(q.params);
    const xt::xarray<double> H = tg::optim::hessian(closure_for(q), q.params);
    REQUIRE(H.shape() == tg::Shape{4, 4});
    CHECK(xt::allclose(H, kA, 0.0, 1e-6));
    CHECK(flat(q.params) == before);  // restored exactly
}

TEST_CASE("hessian of Rosenbrock matches the analytic one") {
    // d2f/dx2 = 1200 x^2 - 400 y + 2, d2f/dxdy = -400 x, d2f/dy2 = 200.
    const double x = -1.2, y = 1.0;
    Problem r = rosenbrock(x, y);
    const xt::xarray<double> H = tg::optim::hessian(closure_for(r), r.params);
    const xt::xarray<double> want = {{1200 * x * x - 400 * y + 2, -400 * x}, {-400 * x, 200.0}};
    CHECK(xt::allclose(H, want, 1e-7, 1e-6));
}

TEST_CASE("hessian spans every element of several parameter tensors") {
    // mean((A w + c - b)^2) over m rows has Hessian (2/m) [A 1]^T [A 1] in (w, c).
    xt::xarray<double> a = {{1.0, 2.0}, {-1.0, 0.5}, {0.25, -3.0}};
    tg::Tensor A = tg::from_array(a), b = tg::tensor({{1.0}, {0.0}, {2.0}}, tg::f64);
    tg::Tensor w = tg::tensor({{0.5}, {-0.5}}, tg::f64).requires_grad_();
    tg::Tensor c = tg::zeros({1}, tg::f64).requires_grad_();
    Problem p{{w, c}, [A, b, w, c] { return tg::mean(tg::square(tg::matmul(A, w) + c - b)); }};
    xt::xarray<double> a1 = {{1.0, 2.0, 1.0}, {-1.0, 0.5, 1.0}, {0.25, -3.0, 1.0}};
    xt::xarray<double> want = xt::zeros<double>({3, 3});
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 3; ++j)
            for (std::size_t r = 0; r < 3; ++r) want(i, j) += 2.0 / 3.0 * a1(r, i) * a1(r, j);
    const xt::xarray<double> H = tg::optim::hessian(closure_for(p), p.params);
    CHECK(xt::allclose(H, want, 0.0, 1e-6));
}

TEST_CASE("Newton solves a convex quadratic in one step") {
    Problem q = quadratic();
    Newton opt(q.params);  // lr = 1, damping = 0
    const double loss0 = opt.step(closure_for(q));
    // The returned loss and the gradient left behind are those of the starting point.
    const auto ax0 = times_a(kX0), b = times_a(kXStar);
    double want_loss = 0.0;
    for (std::size_t i = 0; i < 4; ++i) want_loss += 0.5 * kX0[i] * ax0[i] - b[i] * kX0[i];
    CHECK(loss0 == Approx(want_loss).epsilon(1e-12));
    CHECK(q.params[0].grad().to_array<double>()(1, 0) == Approx(ax0[1] - b[1]).epsilon(1e-12));
    CHECK(opt.last_damping() == 0.0);
    const auto x = flat(q.params);
    for (std::size_t i = 0; i < 4; ++i) CHECK(std::abs(x[i] - kXStar[i]) < 1e-8);
}

TEST_CASE("Newton with damping solves (H + damping I) d = g") {
    Problem q = quadratic();
    Newton opt(q.params, {.lr = 0.5, .damping = 0.75});
    opt.step(closure_for(q));
    // (A + 0.75 I) (x0 - x1) / 0.5 = A x0 - b.
    const auto x1 = flat(q.params);
    std::vector<double> d(4);
    for (std::size_t i = 0; i < 4; ++i) d[i] = (kX0[i] - x1[i]) / 0.5;
    const auto lhs = times_a(d, 0.75), ax0 = times_a(kX0), b = times_a(kXStar);
    for (std::size_t i = 0; i < 4; ++i) CHECK(std::abs(lhs[i] - (ax0[i] - b[i])) < 1e-8);
    CHECK(opt.last_damping() == 0.75);
}

TEST_CASE("Newton adds damping until an indefinite Hessian is positive definite") {
    // At (0, 1) the Hessian of Rosenbrock is diag(-398, 200): the pure Newton step would go
    // uphill along x. The damped step is a descent direction, so a short step lowers the loss.
    Problem r = rosenbrock(0.0, 1.0);
    Newton opt(r.params, {.lr = 1e-3});
    const double before = opt.step(closure_for(r));
    CHECK(before == 101.0);
    CHECK(opt.last_damping() > 398.0);
    CHECK(opt.last_damping() < 2 * 400.0);
    const double after = closure_for(r)();
    CHECK(after < before);
}

TEST_CASE("Newton reaches the minimum of Rosenbrock from (-1.2, 1)") {
    Problem r = rosenbrock(-1.2, 1.0);
    Newton opt(r.params);
    auto closure = closure_for(r);
    int steps = 0;
    for (; steps < 50; ++steps) {
        const auto x = flat(r.params);
        if (std::abs(x[0] - 1) < 1e-8 && std::abs(x[1] - 1) < 1e-8) break;
        opt.step(closure);
    }
    INFO("steps " << steps);
    CHECK(steps < 8);  // 6 steps here, each a full undamped Newton step
}

TEST_CASE("Newton fits logistic regression in a few steps") {
    Problem p = logistic_regression();
    Newton opt(p.params);
    auto closure = closure_for(p);
    int steps = 0;
    closure();
    for (; steps < 20 && max_abs_grad(p.params) > 1e-10; ++steps) {
        opt.step(closure);
        closure();  // the gradient at the new parameters
    }
    INFO("steps " << steps);
    CHECK(steps < 10);
    // A real fit: the weights point along the rule that made the labels (1.5, -2).
    const auto w = flat(p.params);
    CHECK(w[0] > 0.5);
    CHECK(w[1] < -0.5);
}

TEST_CASE("Newton works on float32 parameters") {
    Problem q = quadratic(tg::f32);
    Newton opt(q.params);
    auto closure = closure_for(q);
    for (int i = 0; i < 3; ++i) opt.step(closure);
    CHECK(q.params[0].dtype() == tg::f32);
    const auto x = flat(q.params);
    for (std::size_t i = 0; i < 4; ++i) CHECK(std::abs(x[i] - kXStar[i]) < 1e-4);
}

TEST_CASE("Newton refuses too many parameters, a missing closure and bad options") {
    tg::Tensor big = tg::zeros({1001}, tg::f64).requires_grad_();
    REQUIRE_THROWS_AS(Newton({big}), tg::ValueError);
    REQUIRE_THROWS_WITH(Newton({big}), Catch::Contains("1001") && Catch::Contains("1000"));
    tg::Tensor a = tg::zeros({2, 2}, tg::f64).requires_grad_();
    tg::Tensor s = tg::scalar(0.0, tg::f64).requires_grad_();
    REQUIRE_THROWS_WITH(Newton({a, s}, {.max_params = 4}), Catch::Contains("5 elements"));
    CHECK_NOTHROW(Newton({a, s}, {.max_params = 5}));
    CHECK_THROWS_AS(Newton({a}, {.lr = 0.0}), tg::ValueError);
    CHECK_THROWS_AS(Newton({a}, {.damping = -1.0}), tg::ValueError);

    Problem q = quadratic();
    Newton opt(q.params);
    REQUIRE_THROWS_AS(opt.step(), tg::ValueError);
    REQUIRE_THROWS_WITH(opt.step(), Catch::Contains("closure"));
    REQUIRE_THROWS_WITH(opt.step(std::function<double()>{}), Catch::Contains("closure"));
    CHECK(flat(q.params) == kX0);
}

TEST_CASE("Newton refuses a non-finite loss") {
    tg::Tensor x = tg::scalar(-1.0, tg::f64).requires_grad_();
    Problem p{{x}, [x] { return tg::sqrt(x); }};  // NaN for x < 0
    Newton opt(p.params);
    REQUIRE_THROWS_WITH(opt.step(closure_for(p)), Catch::Contains("not finite"));
    CHECK(x.item() == -1.0);
}

TEST_CASE("the exact Hessian matches the analytic one to rounding, finite differences to 1e-6") {
    Problem r = rosenbrock(0.7, 1.3);
    using tg::optim::HessianMethod;
    const auto exact = tg::optim::hessian(closure_for(r), r.params, HessianMethod::exact);
    const auto fd = tg::optim::hessian(closure_for(r), r.params, HessianMethod::finite_differences);
    // f = (1-x)² + 100(y-x²)²: f_xx = 2 - 400(y - x²) + 800x², f_xy = -400x, f_yy = 200.
    const double x = 0.7, y = 1.3;
    const xt::xarray<double> want = {{2 - 400 * (y - x * x) + 800 * x * x, -400 * x},
                                     {-400 * x, 200.0}};
    CHECK(xt::amax(xt::abs(exact - want))() <= 1e-12);
    CHECK(xt::amax(xt::abs(fd - want))() <= 1e-6 * 1000);
    CHECK(flat(r.params) == std::vector<double>{0.7, 1.3});  // left as they were
}

TEST_CASE("Newton with the exact Hessian fits the texts' logistic regression in 6 iterations") {
    // make_classification_400 (the logistic regression walkthrough's data), the raw features
    // and a bias, mean binary cross-entropy over all 400 rows, from zero weights.
    const auto csv =
        tg::data::read_csv(TAPEGRAD_TEST_DATA "/../../examples/data/make_classification_400.csv",
                           "y", {.dtype = tg::f64});
    const tg::Tensor X = csv.data.x, y = tg::reshape(csv.data.y, {csv.data.y.numel(), 1});
    tg::Tensor w = tg::zeros({2, 1}, tg::f64).requires_grad_();
    tg::Tensor b = tg::zeros({1}, tg::f64).requires_grad_();
    Problem p{{w, b}, [X, y, w, b] {
                  const tg::Tensor z = tg::matmul(X, w) + b;
                  return tg::mean(tg::softplus(z) - y * z);  // BCE with logits
              }};
    Newton opt(p.params);
    auto closure = closure_for(p);
    double loss = closure();
    int iterations = 0;
    while (iterations < 6 && std::abs(loss - 0.3296404177) > 1e-10) {
        opt.step(closure);
        loss = closure();
        ++iterations;
    }
    INFO("loss " << loss << " after " << iterations << " iterations");
    CHECK(std::abs(loss - 0.3296404177) <= 1e-9);
    CHECK(iterations <= 6);
    CHECK(max_abs_grad(p.params) < 1e-8);
}

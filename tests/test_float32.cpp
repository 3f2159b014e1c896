// float32 gives what float64 gives, within float32's precision, values and gradients.
#include "check.hpp"

using namespace testing;

namespace {

using Fn = std::function<tg::Tensor(const tg::Tensor&, const tg::Tensor&)>;

void compare_dtypes(const std::string& what, const Fn& f, const tg::Tensor& a64,
                    const tg::Tensor& b64) {
    INFO(what);
    std::vector<xt::xarray<double>> values, grads_a, grads_b;
    for (auto dt : {tg::f64, tg::f32}) {
        auto a = a64.to(dt).detach().requires_grad_();
        auto b = b64.to(dt).detach().requires_grad_();
        tg::Tape tape;
        auto y = f(a, b);
        tape.backward(tg::sum(y));
        values.push_back(y.to_array<double>());
        grads_a.push_back(a.grad().to_array<double>());
        grads_b.push_back(b.grad().to_array<double>());
    }
    CHECK(xt::allclose(values[0], values[1], 1e-4, 1e-5));
    CHECK(xt::allclose(grads_a[0], grads_a[1], 1e-4, 1e-5));
    CHECK(xt::allclose(grads_b[0], grads_b[1], 1e-4, 1e-5));
}

}  // namespace

TEST_CASE("float32 agrees with float64 on every kind of op") {
    const auto a = normal({4, 5}, 1), b = normal({5}, 2), m = normal({5, 3}, 3);
    const auto pa = in_range({4, 5}, 4, 0.5, 2.0);
    compare_dtypes(
        "arithmetic", [](auto& x, auto& y) { return (x * y + x - y) / (tg::abs(y) + 1.0); }, a, b);
    compare_dtypes(
        "pow", [](auto& x, auto& y) { return tg::pow(x, y); }, pa, b);
    compare_dtypes(
        "unary",
        [](auto& x, auto& y) {
            return tg::tanh(x) + tg::sigmoid(y) + tg::gelu(x) + tg::softplus(x) + tg::elu(x) +
                   tg::exp(y) + tg::sin(x) * tg::cos(y);
        },
        a, b);
    compare_dtypes(
        "log sqrt", [](auto& x, auto& y) { return tg::log(x) + tg::sqrt(x) + y; }, pa, b);
    compare_dtypes(
        "reductions",
        [](auto& x, auto& y) {
            return tg::sum(x, {0}) + tg::mean(x, {0}) + tg::max(x, {0}) + tg::min(x, {0}) +
                   tg::logsumexp(x, {0}) + y;
        },
        a, b);
    compare_dtypes(
        "softmax",
        [](auto& x, auto& y) { return tg::softmax(x * y, 1) * 3.0 + tg::log_softmax(x, 0); }, a, b);
    compare_dtypes(
        "matmul", [](auto& x, auto& y) { return tg::matmul(x, y); }, a, m);
    compare_dtypes(
        "shapes",
        [](auto& x, auto& y) {
            return tg::concat({tg::transpose(tg::slice_rows(x, 1, 3)),
                               tg::reshape(tg::gather_rows(y, {0, 2}), {5, 2})},
                              1);
        },
        a, normal({3, 5}, 5));
}

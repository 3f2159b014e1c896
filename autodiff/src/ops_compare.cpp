// Comparisons and sign: elementwise results that carry no gradient (PyTorch's comparisons give
// booleans; sign's derivative is 0 wherever it exists). They are never recorded, so a rule in
// tensor ops can build its masks from them and the masks stay constants.
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/op.hpp"
#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad {

namespace {

// 1 where rel(a, b) holds, else 0, in the dtype of a and b, broadcast like NumPy.
template <class Rel>
Tensor compare(const char* op, const Tensor& a, const Tensor& b, Rel rel) {
    const Tensor* in[] = {&a, &b};
    const Dtype dt = detail::common_dtype(op, in);
    broadcast_shapes(op, a.shape(), b.shape());
    if (dt == f32)
        return Tensor(xt::xarray<float>(xt::cast<float>(rel(a.value<float>(), b.value<float>()))));
    return Tensor(xt::xarray<double>(xt::cast<double>(rel(a.value<double>(), b.value<double>()))));
}

Tensor scalar_like(double s, const Tensor& a) {
    return scalar(s, a.defined() ? a.dtype() : f32);
}

}  // namespace

Tensor gt(const Tensor& a, const Tensor& b) {
    return compare("gt", a, b, [](const auto& x, const auto& y) { return x > y; });
}
Tensor ge(const Tensor& a, const Tensor& b) {
    return compare("ge", a, b, [](const auto& x, const auto& y) { return x >= y; });
}
Tensor lt(const Tensor& a, const Tensor& b) {
    return compare("lt", a, b, [](const auto& x, const auto& y) { return x < y; });
}
Tensor le(const Tensor& a, const Tensor& b) {
    return compare("le", a, b, [](const auto& x, const auto& y) { return x <= y; });
}
Tensor eq(const Tensor& a, const Tensor& b) {
    return compare("eq", a, b, [](const auto& x, const auto& y) { return xt::equal(x, y); });
}
Tensor gt(const Tensor& a, double s) {
    return gt(a, scalar_like(s, a));
}
Tensor ge(const Tensor& a, double s) {
    return ge(a, scalar_like(s, a));
}
Tensor lt(const Tensor& a, double s) {
    return lt(a, scalar_like(s, a));
}
Tensor le(const Tensor& a, double s) {
    return le(a, scalar_like(s, a));
}
Tensor eq(const Tensor& a, double s) {
    return eq(a, scalar_like(s, a));
}

Tensor sign(const Tensor& a) {
    if (a.dtype() == f32) return Tensor(xt::xarray<float>(xt::sign(a.value<float>())));
    return Tensor(xt::xarray<double>(xt::sign(a.value<double>())));
}

}  // namespace tapegrad

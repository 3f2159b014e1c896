// Broadcasting, handled once: the forward shape rule and its adjoint (summing a gradient
// back to the shape of the input that was broadcast).
#include <string>

#include "reduce_kernel.hpp"
#include "tapegrad/autodiff/op.hpp"

namespace tapegrad {

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
    const std::size_t n = std::max(a.size(), b.size());
    Shape r(n);
    for (std::size_t i = 0; i < n; ++i) {
        // Align from the right; a missing extent counts as 1.
        const std::size_t ea = i + a.size() >= n ? a[i + a.size() - n] : 1;
        const std::size_t eb = i + b.size() >= n ? b[i + b.size() - n] : 1;
        if (ea != eb && ea != 1 && eb != 1) {
            throw ShapeError(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                             " cannot be broadcast together (axis " + std::to_string(i) + ": " +
                             std::to_string(ea) + " vs " + std::to_string(eb) + ")");
        }
        r[i] = ea == 1 ? eb : ea;
    }
    return r;
}

template <class T>
xt::xarray<T> sum_to_shape(const xt::xarray<T>& g, const Shape& target) {
    return detail::sum_kept(g, target);
}

template xt::xarray<float> sum_to_shape(const xt::xarray<float>&, const Shape&);
template xt::xarray<double> sum_to_shape(const xt::xarray<double>&, const Shape&);

}  // namespace tapegrad

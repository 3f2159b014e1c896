#pragma once
// The axes of a reduction, checked once: sorted, unique, non-negative.
#include <vector>
#include <xtensor/xadapt.hpp>

#include "tapegrad/autodiff/op.hpp"
#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad::detail {

// Axes in a node's ints: [keepdims, axis0, axis1, ...].
std::vector<std::int64_t> reduction_ints(const char* op, const Axes& axes, std::size_t dim,
                                         bool keepdims);
std::vector<std::int64_t> all_axes_ints(std::size_t dim);

inline std::vector<std::size_t> axes_of(std::span<const std::int64_t> ints) {
    return {ints.begin() + 1, ints.end()};
}
inline bool keepdims_of(std::span<const std::int64_t> ints) {
    return ints[0] != 0;
}

// The input shape with the reduced axes set to 1.
Shape kept_shape(const Shape& in, const std::vector<std::size_t>& axes);
// The output shape: kept_shape, or without the reduced axes.
Shape reduced_shape(const Shape& in, const std::vector<std::size_t>& axes, bool keepdims);

// A view of a reduction's result (or its gradient) with the reduced axes kept as 1, so it
// broadcasts against the input; no copy.
template <class T>
auto as_kept(const xt::xarray<T>& r, const Shape& kept) {
    return xt::adapt(r.data(), r.size(), xt::no_ownership(), kept);
}

}  // namespace tapegrad::detail

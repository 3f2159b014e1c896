#include "reduce_axes.hpp"

#include <algorithm>

namespace tapegrad::detail {

std::vector<std::int64_t> reduction_ints(const char* op, const Axes& axes, std::size_t dim,
                                         bool keepdims) {
    std::vector<std::int64_t> r{keepdims ? 1 : 0};
    for (auto a : axes) r.push_back(static_cast<std::int64_t>(normalize_axis(op, a, dim)));
    std::sort(r.begin() + 1, r.end());
    if (std::adjacent_find(r.begin() + 1, r.end()) != r.end()) {
        throw ValueError(std::string(op) + ": an axis is listed twice");
    }
    return r;
}

std::vector<std::int64_t> all_axes_ints(std::size_t dim) {
    std::vector<std::int64_t> r{0};
    for (std::size_t i = 0; i < dim; ++i) r.push_back(static_cast<std::int64_t>(i));
    return r;
}

Shape kept_shape(const Shape& in, const std::vector<std::size_t>& axes) {
    Shape s = in;
    for (auto a : axes) s[a] = 1;
    return s;
}

Shape reduced_shape(const Shape& in, const std::vector<std::size_t>& axes, bool keepdims) {
    if (keepdims) return kept_shape(in, axes);
    Shape s;
    for (std::size_t i = 0; i < in.size(); ++i)
        if (std::find(axes.begin(), axes.end(), i) == axes.end()) s.push_back(in[i]);
    return s;
}

}  // namespace tapegrad::detail

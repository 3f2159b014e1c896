#pragma once
// One reduction kernel for every reduction and for the adjoint of broadcasting: combine the
// elements of x into an array of `target` shape, where target has x's rank (or fewer, aligned
// right) and extent 1 on the reduced axes. xtensor's generic reducers are slow and, in 0.24,
// crash on some full reductions; this loop is simple and fast for the common layouts.
#include <vector>
#include <xtensor/xarray.hpp>

#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad::detail {

template <class T, class Op>
xt::xarray<T> reduce_to(const xt::xarray<T>& x, const Shape& target, T init, Op op) {
    const Shape& xs = x.shape();
    const std::size_t rank = xs.size();
    const std::size_t lead = rank - target.size();
    xt::xarray<T> r = xt::xarray<T>::from_shape(target);
    std::fill(r.begin(), r.end(), init);
    if (x.size() == 0) return r;
    // Offsets into r for each axis of x: 0 along reduced axes, so those elements combine.
    std::vector<std::size_t> rstride(rank, 0);
    std::size_t st = 1;
    for (std::size_t i = target.size(); i-- > 0;) {
        rstride[i + lead] = target[i] == 1 ? 0 : st;
        st *= target[i];
    }
    const T* src = x.data();
    T* dst = r.data();
    // Reduced leading axes, kept trailing block (bias gradients, column sums): a row loop.
    std::size_t inner = 1, k = rank;
    while (k > 0 && rstride[k - 1] != 0) inner *= xs[--k];
    bool leading_only = true;
    for (std::size_t i = 0; i < k; ++i) leading_only = leading_only && rstride[i] == 0;
    if (leading_only) {
        for (std::size_t o = 0, outer = x.size() / inner; o < outer; ++o, src += inner)
            for (std::size_t j = 0; j < inner; ++j) dst[j] = op(dst[j], src[j]);
        return r;
    }
    // Kept leading block, reduced trailing axes (row sums, softmax along the last axis).
    std::size_t tail = 1;
    k = rank;
    while (k > 0 && rstride[k - 1] == 0) tail *= xs[--k];
    bool trailing_only = true;
    for (std::size_t i = 0; i < k; ++i) trailing_only = trailing_only && rstride[i] != 0;
    if (trailing_only) {
        for (std::size_t o = 0, outer = x.size() / tail; o < outer; ++o, src += tail) {
            T acc = dst[o];
            for (std::size_t j = 0; j < tail; ++j) acc = op(acc, src[j]);
            dst[o] = acc;
        }
        return r;
    }
    // Anything else: an odometer over x's indices, carrying the offset into r along.
    std::vector<std::size_t> idx(rank, 0);
    std::size_t off = 0;
    for (std::size_t n = 0; n < x.size(); ++n) {
        dst[off] = op(dst[off], src[n]);
        for (std::size_t d = rank; d-- > 0;) {
            if (++idx[d] < xs[d]) {
                off += rstride[d];
                break;
            }
            off -= rstride[d] * (xs[d] - 1);
            idx[d] = 0;
        }
    }
    return r;
}

template <class T>
xt::xarray<T> sum_kept(const xt::xarray<T>& x, const Shape& kept) {
    return reduce_to(x, kept, T(0), [](T a, T b) { return a + b; });
}
template <class T>
xt::xarray<T> max_kept(const xt::xarray<T>& x, const Shape& kept) {
    return reduce_to(x, kept, -std::numeric_limits<T>::infinity(),
                     [](T a, T b) { return b > a || b != b ? b : a; });  // NaN wins, as NumPy
}
template <class T>
xt::xarray<T> min_kept(const xt::xarray<T>& x, const Shape& kept) {
    return reduce_to(x, kept, std::numeric_limits<T>::infinity(),
                     [](T a, T b) { return b < a || b != b ? b : a; });
}

}  // namespace tapegrad::detail

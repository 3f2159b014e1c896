#pragma once
// One reduction kernel for every reduction and for the adjoint of broadcasting: combine the
// elements of x into an array of `target` shape, where target has x's rank (or fewer, aligned
// right) and extent 1 on the reduced axes. xtensor's generic reducers are slow and, in 0.24,
// crash on some full reductions; this loop is simple and fast for the common layouts.
#include <vector>
#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xbroadcast.hpp>

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
    if (leading_only && inner == 1) {
        // Everything into one element (a full sum, a loss's mean): L partial results side by
        // side (64 bytes' worth), so that each add need not wait for the one before (4 cycles).
        constexpr std::size_t L = 64 / sizeof(T);
        T part[L];
        std::fill(part, part + L, init);
        const std::size_t n = x.size();
        std::size_t i = 0;
        for (; i + L <= n; i += L)
            for (std::size_t l = 0; l < L; ++l) part[l] = op(part[l], src[i + l]);
        T acc = dst[0];
        for (; i < n; ++i) acc = op(acc, src[i]);
        for (std::size_t l = 0; l < L; ++l) acc = op(acc, part[l]);
        dst[0] = acc;
        return r;
    }
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

// The adjoint of a sum: g, of the kept shape (extent 1 on the reduced axes), broadcast back to
// `shape` and times s. The common layouts are plain loops (xtensor's broadcasting assignment
// costs several ns per element); the others go through xt::broadcast.
template <class T>
xt::xarray<T> expand_to(const xt::xarray<T>& g, const Shape& kept, const Shape& shape, T s) {
    xt::xarray<T> out = xt::xarray<T>::from_shape(shape);
    T* o = out.data();
    const T* src = g.data();
    const std::size_t n = out.size();
    if (g.size() == 1) {
        std::fill(o, o + n, src[0] * s);
        return out;
    }
    // Kept extents form a trailing block (bias-like) or a leading block (row-like)?
    std::size_t k = kept.size(), inner = 1;
    while (k > 0 && kept[k - 1] == shape[k - 1]) inner *= shape[--k];
    bool rest_reduced = true;
    for (std::size_t i = 0; i < k; ++i) rest_reduced = rest_reduced && kept[i] == 1;
    if (rest_reduced && inner == g.size()) {
        for (std::size_t r = 0; r < n; r += inner)
            for (std::size_t j = 0; j < inner; ++j) o[r + j] = src[j] * s;
        return out;
    }
    std::size_t tail = 1;
    k = kept.size();
    while (k > 0 && kept[k - 1] == 1) tail *= shape[--k];
    bool rest_kept = true;
    for (std::size_t i = 0; i < k; ++i) rest_kept = rest_kept && kept[i] == shape[i];
    if (rest_kept) {
        for (std::size_t r = 0; r < g.size(); ++r)
            std::fill(o + r * tail, o + (r + 1) * tail, src[r] * s);
        return out;
    }
    out = xt::broadcast(xt::adapt(src, g.size(), xt::no_ownership(), kept), shape) * s;
    return out;
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

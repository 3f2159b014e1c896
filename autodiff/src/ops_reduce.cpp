// Reductions over all elements or over given axes, with keepdims. g is the gradient of the
// result; it is viewed with the reduced axes kept as 1 and broadcast back over the input.
#include <cmath>
#include <xtensor/xmath.hpp>

#include "reduce_axes.hpp"
#include "reduce_kernel.hpp"

namespace tapegrad {

namespace {

using detail::as_kept;
using detail::axes_of;
using detail::kept_shape;

// Reduces x with kernel K over the axes in ints, giving the shape keepdims asks for.
template <class T, class K>
xt::xarray<T> reduce_with(const xt::xarray<T>& x, std::span<const std::int64_t> ints, K kernel) {
    const auto axes = axes_of(ints);
    xt::xarray<T> out = kernel(x, kept_shape(x.shape(), axes));
    out.reshape(detail::reduced_shape(x.shape(), axes, detail::keepdims_of(ints)));
    return out;
}

struct Sum {
    static constexpr OpInfo info{"sum", "∂out/∂x = 1 for every summed element"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        return reduce_with(*in[0], args.ints, detail::sum_kept<T>);
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const auto kept = kept_shape(c.in_shape(0), axes_of(c.ints()));
        c.accumulate(0, detail::expand_to(c.grad(), kept, c.in_shape(0), T(1)));
    }
};

struct Mean {
    static constexpr OpInfo info{"mean", "∂out/∂x = 1/n for each of the n averaged elements"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        xt::xarray<T> s = reduce_with(*in[0], args.ints, detail::sum_kept<T>);
        const T n =
            static_cast<T>(in[0]->size()) / static_cast<T>(std::max<std::size_t>(s.size(), 1));
        s /= n;
        return s;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const auto axes = axes_of(c.ints());
        const auto kept = kept_shape(c.in_shape(0), axes);
        std::size_t n = 1;
        for (auto a : axes) n *= c.in_shape(0)[a];
        const T inv = T(1) / static_cast<T>(n);
        c.accumulate(0, detail::expand_to(c.grad(), kept, c.in_shape(0), inv));
    }
};

// max and min: the gradient goes to the elements equal to the result, split between ties.
template <bool IsMax>
struct Extremum {
    static constexpr OpInfo info{IsMax ? "max" : "min",
                                 IsMax ? "∂out/∂x = [x = max] / (number of maxima)"
                                       : "∂out/∂x = [x = min] / (number of minima)"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        if (in[0]->size() == 0) {
            throw ValueError(std::string(info.name) + ": reduction of an empty tensor");
        }
        if constexpr (IsMax) {
            return reduce_with(*in[0], args.ints, detail::max_kept<T>);
        } else {
            return reduce_with(*in[0], args.ints, detail::min_kept<T>);
        }
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const auto axes = axes_of(c.ints());
        const auto kept = kept_shape(c.in_shape(0), axes);
        const auto& x = c.in(0);
        xt::xarray<T> mask = xt::cast<T>(xt::equal(x, as_kept(c.out(), kept)));
        xt::xarray<T> count = detail::sum_kept(mask, kept);
        c.accumulate(0, mask * as_kept(c.grad(), kept) / count);
    }
};

struct LogSumExp {
    static constexpr OpInfo info{"logsumexp", "∂out/∂x = exp(x - out) (the softmax of x)"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const auto axes = axes_of(args.ints);
        const auto kept = kept_shape(in[0]->shape(), axes);
        // Subtract the maximum first so that exp never overflows; an all -inf slice keeps 0.
        xt::xarray<T> m = detail::max_kept(*in[0], kept);
        m = xt::where(xt::isfinite(m), m, T(0));
        xt::xarray<T> s = detail::sum_kept(xt::xarray<T>(xt::exp(*in[0] - m)), kept);
        xt::xarray<T> out = xt::log(s) + m;
        out.reshape(detail::reduced_shape(in[0]->shape(), axes, detail::keepdims_of(args.ints)));
        return out;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const auto kept = kept_shape(c.in_shape(0), axes_of(c.ints()));
        c.accumulate(0, as_kept(c.grad(), kept) * xt::exp(c.in(0) - as_kept(c.out(), kept)));
    }
};

Tensor reduce_all(const Tensor& a, auto tag) {
    using Op = decltype(tag);
    const auto ints = detail::all_axes_ints(a.dim());
    return apply<Op>({&a}, {.ints = ints});
}

template <class Op>
Tensor reduce(const Tensor& a, const Axes& axes, bool keepdims) {
    const auto ints = detail::reduction_ints(Op::info.name, axes, a.dim(), keepdims);
    return apply<Op>({&a}, {.ints = ints});
}

}  // namespace

Tensor sum(const Tensor& a) {
    return reduce_all(a, Sum{});
}
Tensor sum(const Tensor& a, const Axes& axes, bool keepdims) {
    return reduce<Sum>(a, axes, keepdims);
}
Tensor mean(const Tensor& a) {
    return reduce_all(a, Mean{});
}
Tensor mean(const Tensor& a, const Axes& axes, bool keepdims) {
    return reduce<Mean>(a, axes, keepdims);
}
Tensor max(const Tensor& a) {
    return reduce_all(a, Extremum<true>{});
}
Tensor max(const Tensor& a, const Axes& axes, bool keepdims) {
    return reduce<Extremum<true>>(a, axes, keepdims);
}
Tensor min(const Tensor& a) {
    return reduce_all(a, Extremum<false>{});
}
Tensor min(const Tensor& a, const Axes& axes, bool keepdims) {
    return reduce<Extremum<false>>(a, axes, keepdims);
}
Tensor logsumexp(const Tensor& a, const Axes& axes, bool keepdims) {
    return reduce<LogSumExp>(a, axes, keepdims);
}

}  // namespace tapegrad

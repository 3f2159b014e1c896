// Reductions over all elements or over given axes, with keepdims. g is the gradient of the
// result; it is viewed with the reduced axes kept as 1 and broadcast back over the input (on
// arrays in backward, with reshape and broadcast_to in backward_graph).
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

// For the rules in tensor ops: the input shape with the reduced axes kept as 1, those axes,
// and a shape's element count.
Shape kept_of(const GraphContext& c) {
    return kept_shape(c.in_shape(0), axes_of(c.ints()));
}
Axes axes_list(const GraphContext& c) {
    const auto axes = axes_of(c.ints());
    return Axes(axes.begin(), axes.end());
}
std::size_t numel(const Shape& s) {
    std::size_t n = 1;
    for (auto e : s) n *= e;
    return n;
}

struct Sum {
    static constexpr OpInfo info{.name = "sum", .rule = "∂out/∂x = 1 for every summed element"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        return reduce_with(*in[0], args.ints, detail::sum_kept<T>);
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const auto kept = kept_shape(c.in_shape(0), axes_of(c.ints()));
        c.accumulate(0, detail::expand_to(c.grad(), kept, c.in_shape(0), T(1)));
    }
    static void backward_graph(GraphContext& c) {
        const Shape in = c.in_shape(0);
        c.accumulate(0, broadcast_to(reshape(c.grad(), kept_of(c)), in));
    }
};

struct Mean {
    static constexpr OpInfo info{.name = "mean",
                                 .rule = "∂out/∂x = 1/n for each of the n averaged elements"};
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
    static void backward_graph(GraphContext& c) {
        const Shape in = c.in_shape(0), kept = kept_of(c);
        const double n = static_cast<double>(numel(in)) / static_cast<double>(numel(kept));
        c.accumulate(0, broadcast_to(reshape(c.grad(), kept), in) * (1.0 / n));
    }
};

// max and min: the gradient goes to the elements equal to the result, split between ties.
template <bool IsMax>
struct Extremum {
    static constexpr OpInfo info{.name = IsMax ? "max" : "min",
                                 .rule = IsMax ? "∂out/∂x = [x = max] / (number of maxima)"
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
    // The mask and the count of ties are constants (PyTorch's rule at ties).
    static void backward_graph(GraphContext& c) {
        const Shape kept = kept_of(c);
        const Tensor mask = eq(c.in(0), reshape(c.out().detach(), kept));
        const Tensor count = sum(mask, axes_list(c), true);
        c.accumulate(0, reshape(c.grad(), kept) * (mask / count));
    }
};

struct LogSumExp {
    static constexpr OpInfo info{.name = "logsumexp",
                                 .rule = "∂out/∂x = exp(x - out) (the softmax of x)"};
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
    static void backward_graph(GraphContext& c) {
        const Shape kept = kept_of(c);
        c.accumulate(0, reshape(c.grad(), kept) * exp(c.in(0) - reshape(c.out(), kept)));
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
Tensor logsumexp(const Tensor& a) {
    return reduce_all(a, LogSumExp{});
}
Tensor logsumexp(const Tensor& a, const Axes& axes, bool keepdims) {
    return reduce<LogSumExp>(a, axes, keepdims);
}

}  // namespace tapegrad

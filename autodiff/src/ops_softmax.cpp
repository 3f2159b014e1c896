// softmax and log_softmax along one axis, computed after subtracting the maximum so that
// exp never overflows.
#include <xtensor/xmath.hpp>

#include "reduce_kernel.hpp"
#include "tapegrad/autodiff/op.hpp"
#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad {

namespace {

Shape kept(const Shape& s, std::size_t axis) {
    Shape k = s;
    k[axis] = 1;
    return k;
}

template <class T>
xt::xarray<T> shifted(const xt::xarray<T>& x, std::size_t axis) {
    xt::xarray<T> m = detail::max_kept(x, kept(x.shape(), axis));
    m = xt::where(xt::isfinite(m), m, T(0));
    return x - m;
}

struct Softmax {
    static constexpr OpInfo info{
        .name = "softmax", .rule = "∂out_i/∂x_j = out_i(δ_ij - out_j); dx = out·(g - Σ g·out)"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const auto axis = static_cast<std::size_t>(args.ints[0]);
        xt::xarray<T> e = xt::exp(shifted(*in[0], axis));
        xt::xarray<T> s = detail::sum_kept(e, kept(e.shape(), axis));
        return e / s;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const auto axis = static_cast<std::size_t>(c.ints()[0]);
        const auto& y = c.out();
        xt::xarray<T> dot = detail::sum_kept(xt::xarray<T>(c.grad() * y), kept(y.shape(), axis));
        c.accumulate(0, y * (c.grad() - dot));
    }
    static void backward_graph(GraphContext& c) {
        const Tensor y = c.out(), g = c.grad();
        c.accumulate(0, y * (g - sum(g * y, {c.ints()[0]}, true)));
    }
};

struct LogSoftmax {
    static constexpr OpInfo info{.name = "log_softmax",
                                 .rule = "∂out_i/∂x_j = δ_ij - softmax_j; dx = g - softmax·Σ g"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const auto axis = static_cast<std::size_t>(args.ints[0]);
        xt::xarray<T> z = shifted(*in[0], axis);
        xt::xarray<T> lse =
            xt::log(detail::sum_kept(xt::xarray<T>(xt::exp(z)), kept(z.shape(), axis)));
        return z - lse;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const auto axis = static_cast<std::size_t>(c.ints()[0]);
        xt::xarray<T> gs = detail::sum_kept(c.grad(), kept(c.grad().shape(), axis));
        c.accumulate(0, c.grad() - xt::exp(c.out()) * gs);
    }
    static void backward_graph(GraphContext& c) {
        const Tensor g = c.grad();
        c.accumulate(0, g - exp(c.out()) * sum(g, {c.ints()[0]}, true));
    }
};

template <class Op>
Tensor along_axis(const Tensor& a, std::int64_t axis) {
    const std::int64_t ax[] = {
        static_cast<std::int64_t>(normalize_axis(Op::info.name, axis, a.dim()))};
    return apply<Op>({&a}, {.ints = ax});
}

}  // namespace

Tensor softmax(const Tensor& a, std::int64_t axis) {
    return along_axis<Softmax>(a, axis);
}
Tensor log_softmax(const Tensor& a, std::int64_t axis) {
    return along_axis<LogSoftmax>(a, axis);
}

}  // namespace tapegrad

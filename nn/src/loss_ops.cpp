// The fused loss ops: value and local derivative side by side (written once for arrays and
// tensors where it can be, op.hpp; else on arrays and in tensor ops, backward_graph). d = x - y is
// the difference of input and target; g is the gradient arriving at the (unreduced) loss. Fusing
// keeps each loss one node on the tape and lets the rules be the exact ones PyTorch uses, including
// at points where a composition of relu/abs/max would pick a one-sided derivative.
#include "loss_ops.hpp"

#include <algorithm>
#include <cmath>
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>
#ifdef XTENSOR_USE_XSIMD
#include <xsimd/xsimd.hpp>
#endif

#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/op.hpp"
#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad::nn::detail {

namespace {

struct SquaredError {
    static constexpr OpInfo info{.name = "mse_loss",
                                 .rule = "out = (x - y)²; ∂out/∂x = 2(x - y), ∂out/∂y = -2(x - y)",
                                 .elementwise = true};
    static auto forward(const auto& x, const auto& y) { return xt::square(x - y); }
    static void backward(auto& c) {
        const auto gd = evaluated(2 * (c.in(0) - c.in(1)) * c.grad());
        c.accumulate(0, gd);
        c.accumulate(1, -gd);
    }
};

struct AbsoluteError {
    static constexpr OpInfo info{
        .name = "l1_loss",
        .rule = "out = |x - y|; ∂out/∂x = sign(x - y), ∂out/∂y = -sign(x - y)",
        .elementwise = true};
    static auto forward(const auto& x, const auto& y) { return xt::abs(x - y); }
    // sign is a constant in a recorded pass: 0 second derivative.
    static void backward(auto& c) {
        const auto gs = evaluated(sign(c.in(0) - c.in(1)) * c.grad());
        c.accumulate(0, gs);
        c.accumulate(1, -gs);
    }
};

struct HuberError {
    static constexpr OpInfo info{.name = "huber_loss",
                                 .rule =
                                     "out = ½d² if |d| < δ else δ(|d| - δ/2), d = x - y; "
                                     "∂out/∂x = clamp(d, -δ, δ), ∂out/∂y = -clamp(d, -δ, δ)",
                                 .scalars = {"δ"},
                                 .elementwise = true};
    // 0.5 d² inside |d| < δ, δ(|d| - δ/2) outside: the two pieces and their slopes meet at δ.
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const T delta = static_cast<T>(args.s0);
        xt::xarray<T> z = xt::abs(*in[0] - *in[1]);
        return xt::where(z < delta, T(0.5) * z * z, delta * (z - T(0.5) * delta));
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const T delta = static_cast<T>(c.scalar(0));
        xt::xarray<T> gc = xt::clip(c.in(0) - c.in(1), -delta, delta) * c.grad();
        c.accumulate(0, gc);
        c.accumulate(1, -gc);
    }
    static void backward_graph(GraphContext& c) {
        const double delta = c.scalar(0);
        const Tensor gc = clamp(c.in(0) - c.in(1), -delta, delta) * c.grad();
        c.accumulate(0, gc);
        c.accumulate(1, -gc);
    }
};

// out[i] = f(in[i]...) over n elements: xsimd batches when the build vectorises, then the
// remaining elements one by one. f is generic so that one body serves both (unqualified calls
// find xsimd's functions for batches and std's for scalars).
template <class T, class F>
void simd_map(std::size_t n, T* out, const T* a, const T* b, F&& f) {
    std::size_t i = 0;
#ifdef XTENSOR_USE_XSIMD
    using B = xsimd::batch<T>;
    for (; i + B::size <= n; i += B::size)
        f(B::load_unaligned(a + i), B::load_unaligned(b + i)).store_unaligned(out + i);
#endif
    for (; i < n; ++i) out[i] = f(a[i], b[i]);
}
template <class T, class F>
void simd_map(std::size_t n, T* out, const T* a, const T* b, const T* c, F&& f) {
    std::size_t i = 0;
#ifdef XTENSOR_USE_XSIMD
    using B = xsimd::batch<T>;
    for (; i + B::size <= n; i += B::size)
        f(B::load_unaligned(a + i), B::load_unaligned(b + i), B::load_unaligned(c + i))
            .store_unaligned(out + i);
#endif
    for (; i < n; ++i) out[i] = f(a[i], b[i], c[i]);
}

// max(x, 0), for scalars and batches alike.
template <class V>
V relu(V x) {
    if constexpr (std::is_floating_point_v<V>) {
        return x > V(0) ? x : V(0);
    } else {
        return xsimd::max(x, V(0));
    }
}

// max(v, lo) that keeps NaN (std::max(v, lo) in PyTorch's kernels; xt::maximum drops NaN).
template <class T>
xt::xarray<T> at_least(xt::xarray<T> v, T lo) {
    for (T& e : v)
        if (e < lo) e = lo;
    return v;
}

struct BceProbs {
    static constexpr OpInfo info{
        .name = "binary_cross_entropy",
        .rule =
            "out = -(y·log p + (1 - y)·log(1 - p)), logs clamped at -100; "
            "∂out/∂p = (p - y)/max(p(1 - p), 1e-12), ∂out/∂y = log(1 - p) - log p (clamped)",
        .elementwise = true};
    // -(y·max(log p, -100) + (1 - y)·max(log(1 - p), -100)), PyTorch's clamp at -100.
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs&) {
        const auto& p = *in[0];
        const auto& y = *in[1];
        return (y - T(1)) * at_least<T>(xt::log1p(-p), T(-100)) -
               y * at_least<T>(xt::log(p), T(-100));
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const auto& p = c.in(0);
        // PyTorch's rule: the true derivative -y/p + (1-y)/(1-p), with the denominator kept
        // off zero so that p = 0 or 1 gives a large finite gradient rather than inf or NaN.
        if (c.needs(0))
            c.accumulate(0, c.grad() * (p - c.in(1)) / at_least<T>((T(1) - p) * p, T(1e-12)));
        // The derivative of the clamped forward (PyTorch's -logit(p) is inf at p = 0 or 1).
        if (c.needs(1))
            c.accumulate(1, c.grad() * (at_least<T>(xt::log1p(-p), T(-100)) -
                                        at_least<T>(xt::log(p), T(-100))));
    }
    static void backward_graph(GraphContext& c) {
        const Tensor p = c.in(0), y = c.in(1), g = c.grad();
        if (c.needs(0))
            c.accumulate(0, g * (p - y) / maximum((1.0 - p) * p, full({}, 1e-12, p.dtype())));
        if (c.needs(1))
            c.accumulate(1, g * (clamp(log(1.0 - p), -100.0, {}) - clamp(log(p), -100.0, {})));
    }
};

struct BceLogits {
    static constexpr OpInfo info{.name = "bce_with_logits",
                                 .rule =
                                     "out = max(x, 0) - x·y + log(1 + exp(-|x|)); "
                                     "∂out/∂x = σ(x) - y, ∂out/∂y = -x",
                                 .elementwise = true};
    // max(x, 0) - x·y + log(1 + exp(-|x|)): exp never overflows and log1p keeps the small
    // tail accurate, so x = ±1000 gives the exact loss (0 or 1000 when y is 0 or 1).
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs&) {
        xt::xarray<T> out = xt::xarray<T>::from_shape(in[0]->shape());
        simd_map(out.size(), out.data(), in[0]->data(), in[1]->data(), [](auto x, auto y) {
            using std::abs, std::exp, std::log1p;
            return relu(x) - x * y + log1p(exp(-abs(x)));
        });
        return out;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const auto& x = c.in(0);
        const T* g = c.grad().data();
        if (c.needs(0)) {
            // σ(x) = 1/(1 + exp(-x)): exactly 0.5 at x = 0, and exp(-x) = inf gives 0, not NaN.
            xt::xarray<T> d = xt::xarray<T>::from_shape(x.shape());
            simd_map(d.size(), d.data(), x.data(), c.in(1).data(), g, [](auto x, auto y, auto g) {
                using std::exp;
                using V = decltype(x);
                return (V(1) / (V(1) + exp(-x)) - y) * g;
            });
            c.accumulate(0, std::move(d));
        }
        if (c.needs(1)) {
            xt::xarray<T> d = xt::xarray<T>::from_shape(x.shape());
            simd_map(d.size(), d.data(), x.data(), g, [](auto x, auto g) { return -x * g; });
            c.accumulate(1, std::move(d));
        }
    }
    static void backward_graph(GraphContext& c) {
        const Tensor x = c.in(0), g = c.grad();
        if (c.needs(0)) c.accumulate(0, (sigmoid(x) - c.in(1)) * g);
        if (c.needs(1)) c.accumulate(1, -x * g);
    }
};

// 1 at [n, classes[n]], else 0: the targets of the class losses, a constant of shape [N, C].
Tensor one_hot_rows(const std::vector<std::int64_t>& classes, const Shape& shape, Dtype dtype) {
    Tensor t = zeros(shape, dtype);
    for (std::size_t r = 0; r < shape[0]; ++r) {
        const std::size_t at = r * shape[1] + static_cast<std::size_t>(classes[r]);
        if (dtype == f32) {
            t.mutable_value<float>().data()[at] = 1;
        } else {
            t.mutable_value<double>().data()[at] = 1;
        }
    }
    return t;
}

// Rows of a contiguous row-major [N, C] array.
template <class T>
std::size_t n_classes(const xt::xarray<T>& x) {
    return x.shape()[1];
}

template <class T>
T row_logsumexp(const T* row, std::size_t n) {
    T m = *std::max_element(row, row + n);
    if (!std::isfinite(m)) m = T(0);  // a row of -inf stays -inf; +inf gives inf (or NaN)
    T s = 0;
    for (std::size_t k = 0; k < n; ++k) s += std::exp(row[k] - m);
    return m + std::log(s);
}

struct NllRows {
    static constexpr OpInfo info{.name = "nll_loss",
                                 .rule =
                                     "out_n = -x[n, t_n]; ∂out_n/∂x[n, c] = -[c = t_n] "
                                     "(t_n the class of row n)"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const auto& x = *in[0];
        const std::size_t n = x.shape()[0], nc = n_classes(x);
        xt::xarray<T> out = xt::xarray<T>::from_shape({n});
        for (std::size_t r = 0; r < n; ++r) out(r) = -x.data()[r * nc + args.ints[r]];
        return out;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        if (!c.needs(0)) return;
        const auto& g = c.grad();
        const std::size_t n = c.in_shape(0)[0], nc = c.in_shape(0)[1];
        xt::xarray<T> dx = xt::zeros<T>(c.in_shape(0));
        for (std::size_t r = 0; r < n; ++r) dx.data()[r * nc + c.ints()[r]] = -g(r);
        c.accumulate(0, std::move(dx));
    }
    static void backward_graph(GraphContext& c) {
        const Shape s = c.in_shape(0);
        const Tensor target = one_hot_rows(c.ints(), s, c.grad().dtype());
        c.accumulate(0, -target * reshape(c.grad(), {s[0], 1}));
    }
};

struct CrossEntropyRows {
    static constexpr OpInfo info{.name = "cross_entropy",
                                 .rule =
                                     "out_n = -log softmax(x)[n, t_n], smoothed by ε; "
                                     "∂out_n/∂x[n, c] = softmax(x)[n, c] - (1 - ε)[c = t_n] - ε/C",
                                 .scalars = {"ε"}};
    // With lse = log Σ_c exp(x_c): -log p_t = lse - x_t and mean_c(-log p_c) = lse - mean_c x_c,
    // so no log-probability is formed and logits of ±1000 stay exact.
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const auto& x = *in[0];
        const std::size_t n = x.shape()[0], nc = n_classes(x);
        const T eps = static_cast<T>(args.s0);
        xt::xarray<T> out = xt::xarray<T>::from_shape({n});
        for (std::size_t r = 0; r < n; ++r) {
            const T* row = x.data() + r * nc;
            const T lse = row_logsumexp(row, nc);
            const T nll = lse - row[args.ints[r]];
            if (eps == T(0)) {
                out(r) = nll;
            } else {
                T mean = 0;
                for (std::size_t k = 0; k < nc; ++k) mean += row[k];
                mean /= static_cast<T>(nc);
                out(r) = (T(1) - eps) * nll + eps * (lse - mean);
            }
        }
        return out;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        if (!c.needs(0)) return;
        const auto& x = c.in(0);
        const auto& g = c.grad();
        const std::size_t n = x.shape()[0], nc = n_classes(x);
        const T eps = static_cast<T>(c.scalar(0));
        const T uniform = eps / static_cast<T>(nc);
        xt::xarray<T> dx = xt::xarray<T>::from_shape(x.shape());
        for (std::size_t r = 0; r < n; ++r) {
            const T* row = x.data() + r * nc;
            T* d = dx.data() + r * nc;
            const T lse = row_logsumexp(row, nc);
            for (std::size_t k = 0; k < nc; ++k) d[k] = g(r) * (std::exp(row[k] - lse) - uniform);
            d[c.ints()[r]] -= g(r) * (T(1) - eps);
        }
        c.accumulate(0, std::move(dx));
    }
    static void backward_graph(GraphContext& c) {
        const Shape s = c.in_shape(0);
        const double eps = c.scalar(0);
        const Tensor target = one_hot_rows(c.ints(), s, c.grad().dtype()) * (1 - eps) +
                              eps / static_cast<double>(s[1]);
        c.accumulate(0, (softmax(c.in(0), 1) - target) * reshape(c.grad(), {s[0], 1}));
    }
};

struct WeightedSumOfSquares {
    static constexpr OpInfo info{.name = "l2_penalty",
                                 .rule = "out = weight·Σ_i Σ w_i²; ∂out/∂w_i = 2·weight·w_i",
                                 .scalars = {"weight"}};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        double s = 0;  // accumulated in double: parameters can number millions
        for (const auto* t : in)
            for (const T v : *t) s += static_cast<double>(v) * static_cast<double>(v);
        return xt::xarray<T>(static_cast<T>(args.s0 * s));
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const T k = static_cast<T>(2.0 * c.scalar(0)) * c.grad().data()[0];
        for (int i = 0; i < c.n_in(); ++i) c.accumulate(i, c.in(i)*k);
    }
    static void backward_graph(GraphContext& c) {
        const Tensor k = c.grad() * (2.0 * c.scalar(0));
        for (int i = 0; i < c.n_in(); ++i)
            if (c.needs(i)) c.accumulate(i, c.in(i)*k);
    }
};

template <class Op>
Tensor elementwise(const Tensor& x, const Tensor& y, double s0 = 0.0) {
    return apply<Op>({&x, &y}, {.s0 = s0});
}

}  // namespace

Tensor squared_error(const Tensor& input, const Tensor& target) {
    return elementwise<SquaredError>(input, target);
}
Tensor absolute_error(const Tensor& input, const Tensor& target) {
    return elementwise<AbsoluteError>(input, target);
}
Tensor huber_error(const Tensor& input, const Tensor& target, double delta) {
    return elementwise<HuberError>(input, target, delta);
}
Tensor bce_probs(const Tensor& probs, const Tensor& target) {
    return elementwise<BceProbs>(probs, target);
}
Tensor bce_logits(const Tensor& logits, const Tensor& target) {
    return elementwise<BceLogits>(logits, target);
}
Tensor nll_rows(const Tensor& log_probs, std::span<const std::int64_t> classes) {
    return apply<NllRows>({&log_probs}, {.ints = classes});
}
Tensor cross_entropy_rows(const Tensor& logits, std::span<const std::int64_t> classes,
                          double label_smoothing) {
    return apply<CrossEntropyRows>({&logits}, {.s0 = label_smoothing, .ints = classes});
}
Tensor weighted_sum_of_squares(const std::vector<Tensor>& tensors, double weight) {
    std::vector<const Tensor*> inputs;
    inputs.reserve(tensors.size());
    for (const auto& t : tensors) inputs.push_back(&t);
    return apply<WeightedSumOfSquares>(std::span<const Tensor* const>(inputs), {.s0 = weight});
}

}  // namespace tapegrad::nn::detail

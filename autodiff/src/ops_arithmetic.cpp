// Arithmetic. Each op: its metadata and local rule, the forward value and the backward rule,
// written once for arrays and tensors (op.hpp) unless a mask needs other code on each side.
// g is the gradient arriving at the result; accumulate() sums broadcast axes away.
#include <type_traits>
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>
#include <xtensor/xvectorize.hpp>

#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/op.hpp"
#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad {

namespace {

struct Add {
    static constexpr OpInfo info{
        .name = "add", .rule = "∂out/∂a = 1, ∂out/∂b = 1", .elementwise = true};
    static auto forward(const auto& a, const auto& b) { return a + b; }
    static void backward(auto& c) {
        c.accumulate(0, c.grad());
        c.accumulate(1, c.grad());
    }
};

struct Sub {
    static constexpr OpInfo info{
        .name = "sub", .rule = "∂out/∂a = 1, ∂out/∂b = -1", .elementwise = true};
    static auto forward(const auto& a, const auto& b) { return a - b; }
    static void backward(auto& c) {
        c.accumulate(0, c.grad());
        c.accumulate(1, -c.grad());
    }
};

struct Mul {
    static constexpr OpInfo info{
        .name = "mul", .rule = "∂out/∂a = b, ∂out/∂b = a", .elementwise = true};
    static auto forward(const auto& a, const auto& b) { return a * b; }
    static void backward(auto& c) {
        c.accumulate(0, c.grad() * c.in(1));
        c.accumulate(1, c.grad() * c.in(0));
    }
};

struct Div {
    static constexpr OpInfo info{
        .name = "div", .rule = "∂out/∂a = 1/b, ∂out/∂b = -a/b² = -out/b", .elementwise = true};
    static auto forward(const auto& a, const auto& b) { return a / b; }
    static void backward(auto& c) {
        c.accumulate(0, c.grad() / c.in(1));
        c.accumulate(1, -c.grad() * c.out() / c.in(1));
    }
};

struct Neg {
    static constexpr OpInfo info{.name = "neg", .rule = "∂out/∂a = -1", .elementwise = true};
    static auto forward(const auto& a) { return -a; }
    static void backward(auto& c) { c.accumulate(0, -c.grad()); }
};

struct AddScalar {
    static constexpr OpInfo info{.name = "add_scalar",
                                 .rule = "out = a + s; ∂out/∂a = 1",
                                 .scalars = {"s"},
                                 .elementwise = true};
    template <class T>
    static xt::xarray<T> forward(const xt::xarray<T>& a, T s) {
        return a + s;
    }
    static void backward(auto& c) { c.accumulate(0, c.grad()); }
};

struct MulScalar {
    static constexpr OpInfo info{.name = "mul_scalar",
                                 .rule = "out = a·s; ∂out/∂a = s",
                                 .scalars = {"s"},
                                 .elementwise = true};
    template <class T>
    static xt::xarray<T> forward(const xt::xarray<T>& a, T s) {
        return a * s;
    }
    static void backward(auto& c) { c.accumulate(0, c.grad() * c.constant(c.scalar(0))); }
};

struct RSubScalar {
    static constexpr OpInfo info{.name = "rsub_scalar",
                                 .rule = "out = s - a; ∂out/∂a = -1",
                                 .scalars = {"s"},
                                 .elementwise = true};
    template <class T>
    static xt::xarray<T> forward(const xt::xarray<T>& a, T s) {
        return s - a;
    }
    static void backward(auto& c) { c.accumulate(0, -c.grad()); }
};

struct RDivScalar {
    static constexpr OpInfo info{.name = "rdiv_scalar",
                                 .rule = "out = s/a; ∂out/∂a = -s/a² = -out/a",
                                 .scalars = {"s"},
                                 .elementwise = true};
    template <class T>
    static xt::xarray<T> forward(const xt::xarray<T>& a, T s) {
        return s / a;
    }
    static void backward(auto& c) { c.accumulate(0, -c.grad() * c.out() / c.in(0)); }
};

// a^b elementwise by std::pow: xsimd 8.1's SSE2 pow of two batches gives 0 for 0^-1 and
// 0^-0.5 (its AVX-512 one gives inf, as IEEE and std::pow do), so a build without
// -march=native would answer otherwise.
template <class A, class B>
auto ieee_pow(A&& a, B&& b) {
    using T = typename std::decay_t<A>::value_type;
    return xt::vectorize([](T x, T y) -> T { return std::pow(x, y); })(std::forward<A>(a),
                                                                       std::forward<B>(b));
}

struct Pow {
    static constexpr OpInfo info{
        .name = "pow",
        .rule =
            "out = a^b; ∂out/∂a = b·a^(b-1) (0 where b = 0), ∂out/∂b = out·ln a (0 where a = 0 "
            "and b ≥ 0)",
        .elementwise = true};
    static auto forward(const auto& a, const auto& b) { return ieee_pow(a, b); }
    // Where b = 0, out = 1 whatever a is: the slope in a is 0 (b·a^(b-1) would be 0·inf = NaN at
    // a = 0). Where a = 0 and b ≥ 0 the limit of out·ln a is 0, not NaN. Both as in PyTorch.
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const auto& a = c.in(0);
        const auto& b = c.in(1);
        c.accumulate(0, xt::where(xt::equal(b, T(0)), T(0), c.grad() * b * ieee_pow(a, b - T(1))));
        c.accumulate(
            1, xt::where(xt::equal(a, T(0)) && b >= T(0), T(0), c.grad() * c.out() * xt::log(a)));
    }
    // The same; each masked branch is computed from inputs made safe where it is masked (a = 1
    // there), so that no inf or NaN from the unused branch leaks into a second derivative.
    static void backward_graph(GraphContext& c) {
        const Tensor a = c.in(0), b = c.in(1), one = ones_like(a), zero = zeros_like(a);
        const Tensor b_zero = eq(b, 0.0);
        const Tensor a_safe = where(b_zero, one, a);
        c.accumulate(0, where(b_zero, zero, c.grad() * b * pow(a_safe, b - 1.0)));
        const Tensor a_zero = eq(a, 0.0) * ge(b, 0.0);
        const Tensor log_a = log(where(a_zero, one, a));
        c.accumulate(1, where(a_zero, zero, c.grad() * c.out() * log_a));
    }
};

struct PowScalar {
    static constexpr OpInfo info{.name = "pow_scalar",
                                 .rule = "out = a^p; ∂out/∂a = p·a^(p-1)",
                                 .scalars = {"p"},
                                 .elementwise = true};
    template <class T>
    static xt::xarray<T> forward(const xt::xarray<T>& a, T p) {
        if (p == T(2)) return a * a;  // exact, and faster than pow
        return xt::pow(a, p);
    }
    static void backward(auto& c) {
        const auto p = c.constant(c.scalar(0));
        if (p == 0) return;  // a constant: no contribution
        c.accumulate(0, c.grad() * p * pow(c.in(0), p - 1));
    }
};

// maximum/minimum: the gradient goes to the chosen input, half to each on a tie (PyTorch).
template <bool IsMax>
struct Extremum {
    static constexpr OpInfo info{
        .name = IsMax ? "maximum" : "minimum",
        .rule = IsMax ? "∂out/∂a = [a > b] + ½[a = b], ∂out/∂b = [b > a] + ½[a = b]"
                      : "∂out/∂a = [a < b] + ½[a = b], ∂out/∂b = [b < a] + ½[a = b]",
        .elementwise = true};
    static auto forward(const auto& a, const auto& b) {
        if constexpr (IsMax) {
            return xt::maximum(a, b);
        } else {
            return xt::minimum(a, b);
        }
    }
    // [x is chosen over y]: x > y for maximum, x < y for minimum; on arrays and on tensors.
    template <class X>
    static auto chosen(const X& x, const X& y) {
        if constexpr (std::is_same_v<X, Tensor>) {
            return IsMax ? gt(x, y) : lt(x, y);
        } else if constexpr (IsMax) {
            return x > y;
        } else {
            return x < y;
        }
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const auto& a = c.in(0);
        const auto& b = c.in(1);
        const auto tie = xt::where(xt::equal(a, b), T(0.5), T(0));
        c.accumulate(0, c.grad() * xt::where(chosen(a, b), T(1), tie));
        c.accumulate(1, c.grad() * xt::where(chosen(b, a), T(1), tie));
    }
    static void backward_graph(GraphContext& c) {
        const Tensor a = c.in(0), b = c.in(1), tie = eq(a, b) * 0.5;
        c.accumulate(0, c.grad() * (chosen(a, b) + tie));
        c.accumulate(1, c.grad() * (chosen(b, a) + tie));
    }
};

struct Where {
    static constexpr OpInfo info{
        .name = "where",
        .rule =
            "out = cond ? a : b; ∂out/∂cond = 0 (a selector), ∂out/∂a = [cond], ∂out/∂b = "
            "[not cond]",
        .elementwise = true};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs&) {
        broadcast_shapes(info.name, broadcast_shapes(info.name, in[0]->shape(), in[1]->shape()),
                         in[2]->shape());
        return xt::where(xt::not_equal(*in[0], T(0)), *in[1], *in[2]);
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        // The condition is a selector, not a value: it receives no gradient.
        const auto& cond = c.in(0);
        c.accumulate(1, xt::where(xt::not_equal(cond, T(0)), c.grad(), T(0)));
        c.accumulate(2, xt::where(xt::not_equal(cond, T(0)), T(0), c.grad()));
    }
    static void backward_graph(GraphContext& c) {
        const Tensor g = c.grad(), zero = zeros({}, g.dtype());
        c.accumulate(1, where(c.in(0), g, zero));
        c.accumulate(2, where(c.in(0), zero, g));
    }
};

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
    return apply<Add>({&a, &b});
}
Tensor sub(const Tensor& a, const Tensor& b) {
    return apply<Sub>({&a, &b});
}
Tensor mul(const Tensor& a, const Tensor& b) {
    return apply<Mul>({&a, &b});
}
Tensor div(const Tensor& a, const Tensor& b) {
    return apply<Div>({&a, &b});
}
Tensor neg(const Tensor& a) {
    return apply<Neg>({&a});
}
Tensor add(const Tensor& a, double s) {
    return apply<AddScalar>({&a}, {.s0 = s});
}
Tensor mul(const Tensor& a, double s) {
    return apply<MulScalar>({&a}, {.s0 = s});
}
Tensor rsub(const Tensor& a, double s) {
    return apply<RSubScalar>({&a}, {.s0 = s});
}
Tensor rdiv(const Tensor& a, double s) {
    return apply<RDivScalar>({&a}, {.s0 = s});
}
Tensor pow(const Tensor& a, const Tensor& b) {
    return apply<Pow>({&a, &b});
}
Tensor pow(const Tensor& a, double exponent) {
    return apply<PowScalar>({&a}, {.s0 = exponent});
}
Tensor maximum(const Tensor& a, const Tensor& b) {
    return apply<Extremum<true>>({&a, &b});
}
Tensor minimum(const Tensor& a, const Tensor& b) {
    return apply<Extremum<false>>({&a, &b});
}
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
    return apply<Where>({&cond, &a, &b});
}

}  // namespace tapegrad

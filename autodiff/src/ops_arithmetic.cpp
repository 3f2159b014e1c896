// Arithmetic. Each op: its name and local rule, the forward value, the backward rule.
// g is the gradient arriving at the result; accumulate() sums broadcast axes away.
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "tapegrad/autodiff/op.hpp"
#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad {

namespace {

template <class T>
const xt::xarray<T>& checked_pair(const char* op, const Inputs<T>& in) {
    broadcast_shapes(op, in[0]->shape(), in[1]->shape());
    return *in[0];
}

struct Add {
    static constexpr OpInfo info{"add", "∂out/∂a = 1, ∂out/∂b = 1"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs&) {
        return checked_pair(info.name, in) + *in[1];
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        c.accumulate(0, c.grad());
        c.accumulate(1, c.grad());
    }
};

struct Sub {
    static constexpr OpInfo info{"sub", "∂out/∂a = 1, ∂out/∂b = -1"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs&) {
        return checked_pair(info.name, in) - *in[1];
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        c.accumulate(0, c.grad());
        c.accumulate(1, -c.grad());
    }
};

struct Mul {
    static constexpr OpInfo info{"mul", "∂out/∂a = b, ∂out/∂b = a"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs&) {
        return checked_pair(info.name, in) * *in[1];
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        c.accumulate(0, c.grad() * c.in(1));
        c.accumulate(1, c.grad() * c.in(0));
    }
};

struct Div {
    static constexpr OpInfo info{"div", "∂out/∂a = 1/b, ∂out/∂b = -a/b² = -out/b"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs&) {
        return checked_pair(info.name, in) / *in[1];
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        c.accumulate(0, c.grad() / c.in(1));
        c.accumulate(1, -c.grad() * c.out() / c.in(1));
    }
};

struct Neg {
    static constexpr OpInfo info{"neg", "∂out/∂a = -1"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs&) {
        return -*in[0];
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        c.accumulate(0, -c.grad());
    }
};

struct AddScalar {
    static constexpr OpInfo info{"add_scalar", "out = a + s; ∂out/∂a = 1"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const T s = static_cast<T>(args.s0);
        return *in[0] + s;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        c.accumulate(0, c.grad());
    }
};

struct MulScalar {
    static constexpr OpInfo info{"mul_scalar", "out = a·s; ∂out/∂a = s"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const T s = static_cast<T>(args.s0);
        return *in[0] * s;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const T s = static_cast<T>(c.scalar(0));
        c.accumulate(0, c.grad() * s);
    }
};

struct RSubScalar {
    static constexpr OpInfo info{"rsub_scalar", "out = s - a; ∂out/∂a = -1"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const T s = static_cast<T>(args.s0);
        return s - *in[0];
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        c.accumulate(0, -c.grad());
    }
};

struct RDivScalar {
    static constexpr OpInfo info{"rdiv_scalar", "out = s/a; ∂out/∂a = -s/a² = -out/a"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const T s = static_cast<T>(args.s0);
        return s / *in[0];
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        c.accumulate(0, -c.grad() * c.out() / c.in(0));
    }
};

struct Pow {
    static constexpr OpInfo info{"pow", "out = a^b; ∂out/∂a = b·a^(b-1), ∂out/∂b = out·ln a"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs&) {
        return xt::pow(checked_pair(info.name, in), *in[1]);
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const auto& a = c.in(0);
        const auto& b = c.in(1);
        c.accumulate(0, c.grad() * b * xt::pow(a, b - T(1)));
        // At a = 0 with b >= 0 the limit of out·ln a is 0, not NaN (as in PyTorch).
        c.accumulate(
            1, xt::where(xt::equal(a, T(0)) && b >= T(0), T(0), c.grad() * c.out() * xt::log(a)));
    }
};

struct PowScalar {
    static constexpr OpInfo info{"pow_scalar", "out = a^p; ∂out/∂a = p·a^(p-1)"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const T p = static_cast<T>(args.s0);
        if (p == T(2)) return *in[0] * *in[0];
        return xt::pow(*in[0], p);
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const T p = static_cast<T>(c.scalar(0));
        if (p == T(0)) return;  // a constant: no contribution
        c.accumulate(0, c.grad() * p * xt::pow(c.in(0), p - T(1)));
    }
};

// maximum/minimum: the gradient goes to the chosen input, half to each on a tie (PyTorch).
struct Maximum {
    static constexpr OpInfo info{"maximum",
                                 "∂out/∂a = [a > b] + ½[a = b], ∂out/∂b = [b > a] + ½[a = b]"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs&) {
        return xt::maximum(checked_pair(info.name, in), *in[1]);
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const auto& a = c.in(0);
        const auto& b = c.in(1);
        c.accumulate(0,
                     c.grad() * xt::where(a > b, T(1), xt::where(xt::equal(a, b), T(0.5), T(0))));
        c.accumulate(1,
                     c.grad() * xt::where(b > a, T(1), xt::where(xt::equal(a, b), T(0.5), T(0))));
    }
};

struct Minimum {
    static constexpr OpInfo info{"minimum",
                                 "∂out/∂a = [a < b] + ½[a = b], ∂out/∂b = [b < a] + ½[a = b]"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs&) {
        return xt::minimum(checked_pair(info.name, in), *in[1]);
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const auto& a = c.in(0);
        const auto& b = c.in(1);
        c.accumulate(0,
                     c.grad() * xt::where(a < b, T(1), xt::where(xt::equal(a, b), T(0.5), T(0))));
        c.accumulate(1,
                     c.grad() * xt::where(b < a, T(1), xt::where(xt::equal(a, b), T(0.5), T(0))));
    }
};

struct Where {
    static constexpr OpInfo info{
        "where",
        "out = cond ? a : b; ∂out/∂cond = 0 (a selector), ∂out/∂a = [cond], ∂out/∂b = [not cond]"};
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
    return apply<Maximum>({&a, &b});
}
Tensor minimum(const Tensor& a, const Tensor& b) {
    return apply<Minimum>({&a, &b});
}
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
    return apply<Where>({&cond, &a, &b});
}

}  // namespace tapegrad

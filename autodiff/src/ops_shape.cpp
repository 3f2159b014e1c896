// Shape ops: they move values around, and backward moves the gradient back the same way
// (the ops that pick rows or a range of an axis are in ops_index.cpp).
#include <algorithm>
#include <cstring>
#include <numeric>
#include <utility>
#include <xtensor/xadapt.hpp>
#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmanipulation.hpp>

#include "op_checks.hpp"
#include "tapegrad/autodiff/op.hpp"
#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad {

namespace {

Shape shape_from_ints(std::span<const std::int64_t> ints) {
    Shape s;
    for (auto v : ints) s.push_back(static_cast<std::size_t>(v));
    return s;
}

struct Reshape {
    static constexpr OpInfo info{.name = "reshape",
                                 .rule = "∂out/∂x = identity, gradient reshaped back"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        xt::xarray<T> r = *in[0];
        r.reshape(shape_from_ints(args.ints));
        return r;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        c.accumulate(
            0, xt::adapt(c.grad().data(), c.grad().size(), xt::no_ownership(), c.in_shape(0)));
    }
    static void backward_graph(GraphContext& c) {
        c.accumulate(0, reshape(c.grad(), c.in_shape(0)));
    }
};

struct Permute {
    static constexpr OpInfo info{.name = "permute",
                                 .rule = "∂out/∂x = identity, gradient permuted back"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        std::vector<std::size_t> order(args.ints.begin(), args.ints.end());
        return xt::transpose(*in[0], order);
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        std::vector<std::size_t> inverse(c.ints().size());
        for (std::size_t i = 0; i < inverse.size(); ++i)
            inverse[static_cast<std::size_t>(c.ints()[i])] = i;
        c.accumulate(0, xt::transpose(c.grad(), inverse));
    }
    static void backward_graph(GraphContext& c) {
        const auto order = c.ints();
        Axes inverse(order.size());
        for (std::size_t i = 0; i < inverse.size(); ++i)
            inverse[static_cast<std::size_t>(order[i])] = static_cast<std::int64_t>(i);
        c.accumulate(0, permute(c.grad(), inverse));
    }
};

struct BroadcastTo {
    static constexpr OpInfo info{.name = "broadcast_to",
                                 .rule = "∂out/∂x = 1, gradient summed over the broadcast axes"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        return xt::broadcast(*in[0], shape_from_ints(args.ints));
    }
    // accumulate() sums the broadcast axes away (sum_to, in a recorded pass).
    static void backward(auto& c) { c.accumulate(0, c.grad()); }
};

// ints: the target shape. The adjoint of broadcast_to, and broadcast_to is its adjoint.
struct SumTo {
    static constexpr OpInfo info{.name = "sum_to",
                                 .rule = "∂out/∂x = 1, gradient broadcast back to x's shape"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        return sum_to_shape(*in[0], shape_from_ints(args.ints));
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        c.accumulate(0, xt::broadcast(c.grad(), c.in_shape(0)));
    }
    static void backward_graph(GraphContext& c) {
        c.accumulate(0, broadcast_to(c.grad(), c.in_shape(0)));
    }
};

struct Clone {
    static constexpr OpInfo info{.name = "clone", .rule = "∂out/∂x = 1", .elementwise = true};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs&) {
        return *in[0];
    }
    static void backward(auto& c) { c.accumulate(0, c.grad()); }
};

// concat and stack are one copy pattern: the output is `outer` rows, and row o holds block o
// of each part in turn (block length len_i). Backward cuts the gradient the same way.
template <class T>
void interleave(const Inputs<T>& parts, std::size_t outer, const std::vector<std::size_t>& len,
                T* dst) {
    for (std::size_t o = 0; o < outer; ++o) {
        for (std::size_t i = 0; i < parts.size(); ++i) {
            std::copy_n(parts[i]->data() + o * len[i], len[i], dst);
            dst += len[i];
        }
    }
}
template <class T>
void deinterleave(BackwardContext<T>& c, std::size_t outer, const std::vector<std::size_t>& len) {
    std::size_t row = 0;
    for (auto l : len) row += l;
    std::size_t off = 0;
    for (int i = 0; i < c.n_in(); off += len[static_cast<std::size_t>(i)], ++i) {
        if (!c.needs(i)) continue;
        const std::size_t l = len[static_cast<std::size_t>(i)];
        xt::xarray<T> g = xt::xarray<T>::from_shape(c.in_shape(i));
        for (std::size_t o = 0; o < outer; ++o)
            std::copy_n(c.grad().data() + o * row + off, l, g.data() + o * l);
        c.accumulate(i, std::move(g));
    }
}

std::size_t product(const Shape& s, std::size_t from, std::size_t to) {
    std::size_t p = 1;
    for (std::size_t i = from; i < to; ++i) p *= s[i];
    return p;
}

// ints: [axis, offset_0, offset_1, ..., offset_n]: part i is [offset_i, offset_i+1) on axis.
struct Concat {
    static constexpr OpInfo info{.name = "concat",
                                 .rule = "∂out/∂part_i = the slice of g where part i was placed"};
    static std::vector<std::size_t> lengths(std::span<const std::int64_t> ints, std::size_t inner) {
        std::vector<std::size_t> len;
        for (std::size_t i = 1; i + 1 < ints.size(); ++i)
            len.push_back(static_cast<std::size_t>(ints[i + 1] - ints[i]) * inner);
        return len;
    }
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const auto axis = static_cast<std::size_t>(args.ints[0]);
        Shape s = in[0]->shape();
        s[axis] = static_cast<std::size_t>(args.ints.back());
        xt::xarray<T> out = xt::xarray<T>::from_shape(s);
        interleave(in, product(s, 0, axis), lengths(args.ints, product(s, axis + 1, s.size())),
                   out.data());
        return out;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const auto axis = static_cast<std::size_t>(c.ints()[0]);
        const Shape& s = c.grad().shape();
        deinterleave(c, product(s, 0, axis), lengths(c.ints(), product(s, axis + 1, s.size())));
    }
    static void backward_graph(GraphContext& c) {
        const auto ints = c.ints();
        for (int i = 0; i < c.n_in(); ++i) {
            const auto start = static_cast<std::size_t>(ints[static_cast<std::size_t>(i) + 1]);
            const auto stop = static_cast<std::size_t>(ints[static_cast<std::size_t>(i) + 2]);
            if (c.needs(i)) c.accumulate(i, narrow(c.grad(), ints[0], start, stop - start));
        }
    }
};

// ints: [axis]. Stacking is concatenation of parts that have a new axis of extent 1.
struct Stack {
    static constexpr OpInfo info{.name = "stack",
                                 .rule = "∂out/∂part_i = g[..., i, ...] along the new axis"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const auto axis = static_cast<std::size_t>(args.ints[0]);
        Shape s = in[0]->shape();
        const std::vector<std::size_t> len(in.size(), product(s, axis, s.size()));
        const std::size_t outer = product(s, 0, axis);
        s.push_back(0);  // the new axis: what follows it moves one place on
        std::copy_backward(s.begin() + static_cast<std::ptrdiff_t>(axis), s.end() - 1, s.end());
        s[axis] = in.size();
        xt::xarray<T> out = xt::xarray<T>::from_shape(s);
        interleave(in, outer, len, out.data());
        return out;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const auto axis = static_cast<std::size_t>(c.ints()[0]);
        const Shape& s = c.in_shape(0);
        deinterleave(c, product(s, 0, axis),
                     std::vector<std::size_t>(static_cast<std::size_t>(c.n_in()),
                                              product(s, axis, s.size())));
    }
    static void backward_graph(GraphContext& c) {
        for (int i = 0; i < c.n_in(); ++i) {
            if (!c.needs(i)) continue;
            const Tensor part = narrow(c.grad(), c.ints()[0], static_cast<std::size_t>(i), 1);
            c.accumulate(i, reshape(part, c.in_shape(i)));
        }
    }
};

std::vector<std::int64_t> to_ints(const Shape& s) {
    return {s.begin(), s.end()};
}

std::vector<const Tensor*> pointers(const char* op, const std::vector<Tensor>& parts) {
    if (parts.empty()) throw ValueError(std::string(op) + ": needs at least one tensor");
    std::vector<const Tensor*> p;
    for (const auto& t : parts) p.push_back(&t);
    detail::common_dtype(op, p);
    return p;
}

}  // namespace

Tensor reshape(const Tensor& a, const Shape& shape) {
    const std::size_t n =
        std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
    if (n != a.numel()) {
        throw ShapeError("reshape: cannot reshape " + shape_str(a.shape()) + " (" +
                         std::to_string(a.numel()) + " elements) to " + shape_str(shape) + " (" +
                         std::to_string(n) + " elements)");
    }
    const auto ints = to_ints(shape);
    return apply<Reshape>({&a}, {.ints = ints});
}

Tensor permute(const Tensor& a, const Axes& order) {
    std::vector<std::int64_t> ints;
    std::vector<bool> seen(a.dim(), false);
    if (order.size() != a.dim()) {
        throw ValueError("permute: the order lists " + std::to_string(order.size()) +
                         " axes for a tensor of rank " + std::to_string(a.dim()));
    }
    for (auto ax : order) {
        const auto n = normalize_axis("permute", ax, a.dim());
        if (seen[n]) throw ValueError("permute: axis " + std::to_string(ax) + " is listed twice");
        seen[n] = true;
        ints.push_back(static_cast<std::int64_t>(n));
    }
    return apply<Permute>({&a}, {.ints = ints});
}

Tensor transpose(const Tensor& a) {
    Axes order(a.dim());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = static_cast<std::int64_t>(order.size() - 1 - i);
    return permute(a, order);
}

Tensor transpose(const Tensor& a, std::int64_t dim0, std::int64_t dim1) {
    Axes order(a.dim());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(i);
    const auto i = normalize_axis("transpose", dim0, a.dim());
    const auto j = normalize_axis("transpose", dim1, a.dim());
    std::swap(order[i], order[j]);
    return permute(a, order);
}

Tensor broadcast_to(const Tensor& a, const Shape& shape) {
    if (broadcast_shapes("broadcast_to", a.shape(), shape) != shape) {
        throw ShapeError("broadcast_to: shape " + shape_str(a.shape()) +
                         " cannot be broadcast to " + shape_str(shape));
    }
    const auto ints = to_ints(shape);
    return apply<BroadcastTo>({&a}, {.ints = ints});
}

Tensor concat(const std::vector<Tensor>& parts, std::int64_t axis) {
    const auto p = pointers("concat", parts);
    detail::require_rows("concat", parts[0]);
    const auto ax = normalize_axis("concat", axis, parts[0].dim());
    std::vector<std::int64_t> ints{static_cast<std::int64_t>(ax), 0};
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const Shape& s = parts[i].shape();
        bool ok = s.size() == parts[0].dim();
        for (std::size_t d = 0; ok && d < s.size(); ++d)
            ok = d == ax || s[d] == parts[0].shape()[d];
        if (!ok) {
            throw ShapeError("concat: part " + std::to_string(i) + " has shape " + shape_str(s) +
                             ", incompatible with part 0 of shape " + shape_str(parts[0].shape()) +
                             " along axis " + std::to_string(ax));
        }
        ints.push_back(ints.back() + static_cast<std::int64_t>(s[ax]));
    }
    return apply<Concat>(std::span<const Tensor* const>(p), {.ints = ints});
}

Tensor stack(const std::vector<Tensor>& parts, std::int64_t axis) {
    const auto p = pointers("stack", parts);
    const auto ax = normalize_axis("stack", axis, parts[0].dim() + 1);
    for (std::size_t i = 1; i < parts.size(); ++i) {
        if (parts[i].shape() != parts[0].shape()) {
            throw ShapeError("stack: part " + std::to_string(i) + " has shape " +
                             shape_str(parts[i].shape()) + " but part 0 has shape " +
                             shape_str(parts[0].shape()) + "; stacked tensors need one shape");
        }
    }
    const std::int64_t ints[] = {static_cast<std::int64_t>(ax)};
    return apply<Stack>(std::span<const Tensor* const>(p), {.ints = ints});
}

Tensor sum_to(const Tensor& a, const Shape& shape) {
    if (broadcast_shapes("sum_to", a.shape(), shape) != a.shape()) {
        throw ShapeError("sum_to: shape " + shape_str(shape) + " does not broadcast to the shape " +
                         shape_str(a.shape()) + " of the tensor to sum");
    }
    if (shape == a.shape()) return a;
    const auto ints = to_ints(shape);
    return apply<SumTo>({&a}, {.ints = ints});
}

Tensor clone(const Tensor& a) {
    return apply<Clone>({&a});
}

}  // namespace tapegrad

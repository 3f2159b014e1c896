// Ops that pick parts of a tensor: a range of one axis (narrow, slice_rows) or rows by index
// (gather_rows), and their adjoints, which put a gradient back where the parts came from
// (narrow's is a concat with zeros; gather_rows' is scatter_add_rows, and the other way round).
#include <algorithm>
#include <numeric>
#include <span>

#include "op_checks.hpp"
#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/op.hpp"
#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad {

namespace {

// Rows are contiguous in row-major storage, so row copies are plain memory copies.
std::size_t row_size(const Shape& s) {
    return std::accumulate(s.begin() + 1, s.end(), std::size_t{1}, std::multiplies<>());
}

// Row i of out is row index[i] of x: gather_rows forward, scatter_add_rows backward.
template <class T>
void gather_rows_into(const T* x, std::size_t row, std::span<const std::int64_t> index, T* out) {
    for (std::size_t i = 0; i < index.size(); ++i)
        std::copy_n(x + static_cast<std::size_t>(index[i]) * row, row, out + i * row);
}

// Row i of src is added into row index[i] of out (a repeated index adds up): scatter_add_rows
// forward, gather_rows backward.
template <class T>
void scatter_add_rows_into(const T* src, std::size_t row, std::span<const std::int64_t> index,
                           T* out) {
    for (std::size_t i = 0; i < index.size(); ++i, src += row) {
        T* dst = out + static_cast<std::size_t>(index[i]) * row;
        for (std::size_t j = 0; j < row; ++j) dst[j] += src[j];
    }
}

std::size_t product(const Shape& s, std::size_t from, std::size_t to) {
    std::size_t p = 1;
    for (std::size_t i = from; i < to; ++i) p *= s[i];
    return p;
}

// The gradient of a range of an axis, in recorded ops: zeros before and after it.
Tensor pad_range(const Tensor& g, std::size_t axis, std::size_t start, const Shape& full) {
    std::vector<Tensor> parts;
    Shape before = full, after = full;
    before[axis] = start;
    after[axis] = full[axis] - start - g.shape()[axis];
    if (before[axis] > 0) parts.push_back(zeros(before, g.dtype()));
    parts.push_back(g);
    if (after[axis] > 0) parts.push_back(zeros(after, g.dtype()));
    return parts.size() == 1 ? g : concat(parts, static_cast<std::int64_t>(axis));
}

// ints: [axis, start, length].
struct Narrow {
    static constexpr OpInfo info{.name = "narrow",
                                 .rule = "∂out/∂x = 1 on the kept range of the axis, 0 elsewhere"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const auto axis = static_cast<std::size_t>(args.ints[0]);
        const auto start = static_cast<std::size_t>(args.ints[1]);
        const auto len = static_cast<std::size_t>(args.ints[2]);
        const Shape& s = in[0]->shape();
        Shape r = s;
        r[axis] = len;
        xt::xarray<T> out = xt::xarray<T>::from_shape(r);
        const std::size_t inner = product(s, axis + 1, s.size());
        const std::size_t outer = product(s, 0, axis);
        for (std::size_t o = 0; o < outer; ++o)
            std::copy_n(in[0]->data() + (o * s[axis] + start) * inner, len * inner,
                        out.data() + o * len * inner);
        return out;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        if (!c.needs(0)) return;
        const auto axis = static_cast<std::size_t>(c.ints()[0]);
        const auto start = static_cast<std::size_t>(c.ints()[1]);
        const auto len = static_cast<std::size_t>(c.ints()[2]);
        const Shape& s = c.in_shape(0);
        xt::xarray<T> g = xt::zeros<T>(s);
        const std::size_t inner = product(s, axis + 1, s.size());
        for (std::size_t o = 0, outer = product(s, 0, axis); o < outer; ++o)
            std::copy_n(c.grad().data() + o * len * inner, len * inner,
                        g.data() + (o * s[axis] + start) * inner);
        c.accumulate(0, std::move(g));
    }
    static void backward_graph(GraphContext& c) {
        const auto ints = c.ints();
        c.accumulate(0, pad_range(c.grad(), static_cast<std::size_t>(ints[0]),
                                  static_cast<std::size_t>(ints[1]), c.in_shape(0)));
    }
};

// ints: [start, stop].
struct SliceRows {
    static constexpr OpInfo info{.name = "slice_rows",
                                 .rule = "∂out/∂x = 1 on the selected rows, 0 elsewhere"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const auto start = static_cast<std::size_t>(args.ints[0]),
                   stop = static_cast<std::size_t>(args.ints[1]);
        Shape s = in[0]->shape();
        const std::size_t rs = row_size(s);
        s[0] = stop - start;
        xt::xarray<T> out = xt::xarray<T>::from_shape(s);
        std::copy_n(in[0]->data() + start * rs, (stop - start) * rs, out.data());
        return out;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        if (!c.needs(0)) return;
        const auto start = static_cast<std::size_t>(c.ints()[0]);
        xt::xarray<T> g = xt::zeros<T>(c.in_shape(0));
        std::copy_n(c.grad().data(), c.grad().size(), g.data() + start * row_size(c.in_shape(0)));
        c.accumulate(0, std::move(g));
    }
    static void backward_graph(GraphContext& c) {
        c.accumulate(0,
                     pad_range(c.grad(), 0, static_cast<std::size_t>(c.ints()[0]), c.in_shape(0)));
    }
};

std::vector<std::size_t> indices_of(const std::vector<std::int64_t>& ints, std::size_t from) {
    return {ints.begin() + static_cast<std::ptrdiff_t>(from), ints.end()};
}

// ints: the row indices.
struct GatherRows {
    static constexpr OpInfo info{.name = "gather_rows",
                                 .rule = "∂out/∂x = 1 at each gathered row (repeats add up)"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        Shape s = in[0]->shape();
        const std::size_t rs = row_size(s);
        s[0] = args.ints.size();
        xt::xarray<T> out = xt::xarray<T>::from_shape(s);
        gather_rows_into(in[0]->data(), rs, args.ints, out.data());
        return out;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        if (!c.needs(0)) return;
        const std::size_t rs = row_size(c.in_shape(0));
        xt::xarray<T> g = xt::zeros<T>(c.in_shape(0));
        scatter_add_rows_into(c.grad().data(), rs, c.ints(), g.data());
        c.accumulate(0, std::move(g));
    }
    static void backward_graph(GraphContext& c) {
        c.accumulate(0, scatter_add_rows(c.grad(), indices_of(c.ints(), 0), c.in_shape(0)[0]));
    }
};

// ints: [rows, index_0, index_1, ...].
struct ScatterAddRows {
    static constexpr OpInfo info{.name = "scatter_add_rows",
                                 .rule = "∂out/∂src = the rows of g at the indices"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        Shape s = in[0]->shape();
        const std::size_t rs = row_size(s);
        s[0] = static_cast<std::size_t>(args.ints[0]);
        xt::xarray<T> out = xt::zeros<T>(s);
        scatter_add_rows_into(in[0]->data(), rs, args.ints.subspan(1), out.data());
        return out;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        if (!c.needs(0)) return;
        const std::size_t rs = row_size(c.in_shape(0));
        xt::xarray<T> g = xt::xarray<T>::from_shape(c.in_shape(0));
        gather_rows_into(c.grad().data(), rs, c.ints().subspan(1), g.data());
        c.accumulate(0, std::move(g));
    }
    static void backward_graph(GraphContext& c) {
        c.accumulate(0, gather_rows(c.grad(), indices_of(c.ints(), 1)));
    }
};

void check_indices(const char* op, const std::vector<std::size_t>& indices, std::size_t rows,
                   const Shape& shape, std::vector<std::int64_t>& ints) {
    for (std::size_t i = 0; i < indices.size(); ++i) {
        if (indices[i] >= rows) {
            throw ValueError(std::string(op) + ": index " + std::to_string(indices[i]) +
                             " (position " + std::to_string(i) + ") is out of range for " +
                             std::to_string(rows) + " rows of shape " + shape_str(shape));
        }
        ints.push_back(static_cast<std::int64_t>(indices[i]));
    }
}

}  // namespace

Tensor narrow(const Tensor& a, std::int64_t axis, std::size_t start, std::size_t length) {
    detail::require_rows("narrow", a);
    const auto ax = normalize_axis("narrow", axis, a.dim());
    if (start > a.shape()[ax] || length > a.shape()[ax] - start) {
        throw ValueError("narrow: [" + std::to_string(start) + ", " +
                         std::to_string(start + length) + ") is not within the " +
                         std::to_string(a.shape()[ax]) + " entries of axis " + std::to_string(ax) +
                         " of shape " + shape_str(a.shape()));
    }
    const std::int64_t ints[] = {static_cast<std::int64_t>(ax), static_cast<std::int64_t>(start),
                                 static_cast<std::int64_t>(length)};
    return apply<Narrow>({&a}, {.ints = ints});
}

Tensor slice_rows(const Tensor& a, std::size_t start, std::size_t stop) {
    detail::require_rows("slice_rows", a);
    if (start > stop || stop > a.shape()[0]) {
        throw ValueError("slice_rows: rows [" + std::to_string(start) + ", " +
                         std::to_string(stop) + ") are not within the " +
                         std::to_string(a.shape()[0]) + " rows of shape " + shape_str(a.shape()));
    }
    const std::int64_t ints[] = {static_cast<std::int64_t>(start), static_cast<std::int64_t>(stop)};
    return apply<SliceRows>({&a}, {.ints = ints});
}

Tensor gather_rows(const Tensor& a, const std::vector<std::size_t>& indices) {
    detail::require_rows("gather_rows", a);
    std::vector<std::int64_t> ints;
    ints.reserve(indices.size());
    check_indices("gather_rows", indices, a.shape()[0], a.shape(), ints);
    return apply<GatherRows>({&a}, {.ints = ints});
}

Tensor scatter_add_rows(const Tensor& src, const std::vector<std::size_t>& indices,
                        std::size_t rows) {
    detail::require_rows("scatter_add_rows", src);
    if (indices.size() != src.shape()[0]) {
        throw ShapeError("scatter_add_rows: " + std::to_string(indices.size()) +
                         " indices for the " + std::to_string(src.shape()[0]) + " rows of shape " +
                         shape_str(src.shape()));
    }
    std::vector<std::int64_t> ints{static_cast<std::int64_t>(rows)};
    check_indices("scatter_add_rows", indices, rows, src.shape(), ints);
    return apply<ScatterAddRows>({&src}, {.ints = ints});
}

}  // namespace tapegrad

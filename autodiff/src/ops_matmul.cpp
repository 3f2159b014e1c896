// Matrix products through BLAS. Every case is one row-major product A[M,K]·B[K,N]:
// 2-D x 2-D as is, 2-D x 1-D with N = 1, and a batch [P,M,K] x [K,N] with M := P·M.
#include <algorithm>
#ifdef XTENSOR_USE_XSIMD
#include <xsimd/xsimd.hpp>
#endif

#include "blas.hpp"
#include "tapegrad/autodiff/op.hpp"
#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad {

namespace {

// d[j] = (fresh ? 0 : d[j]) + Σ_i g[i·n + j]. A sum kept in memory waits for the previous
// store on every row (4-5 cycles each: 9% of a tiny MLP's step), so each block of columns is
// summed in registers, four rows at a time; a single column (n = 1) is one contiguous sum.
template <class T>
void column_sums(const T* g, std::size_t m, std::size_t n, T* d, bool fresh) {
    std::size_t j0 = 0;
#ifdef XTENSOR_USE_XSIMD
    using B = xsimd::batch<T>;
    constexpr std::size_t W = B::size;
    for (; j0 + W <= n; j0 += W) {
        B a0(T(0)), a1(T(0)), a2(T(0)), a3(T(0));
        std::size_t i = 0;
        for (; i + 4 <= m; i += 4) {
            a0 += B::load_unaligned(g + i * n + j0);
            a1 += B::load_unaligned(g + (i + 1) * n + j0);
            a2 += B::load_unaligned(g + (i + 2) * n + j0);
            a3 += B::load_unaligned(g + (i + 3) * n + j0);
        }
        for (; i < m; ++i) a0 += B::load_unaligned(g + i * n + j0);
        B s = (a0 + a1) + (a2 + a3);
        if (!fresh) s += B::load_unaligned(d + j0);
        s.store_unaligned(d + j0);
    }
    if (n == 1) {
        B a0(T(0)), a1(T(0));
        std::size_t i = 0;
        for (; i + 2 * W <= m; i += 2 * W) {
            a0 += B::load_unaligned(g + i);
            a1 += B::load_unaligned(g + i + W);
        }
        T s = xsimd::hadd(a0 + a1);
        for (; i < m; ++i) s += g[i];
        d[0] = fresh ? s : d[0] + s;
        return;
    }
#endif
    for (; j0 < n; ++j0) {  // columns left over: down each column, four partial sums
        T p[4] = {};
        std::size_t i = 0;
        for (; i + 4 <= m; i += 4)
            for (std::size_t r = 0; r < 4; ++r) p[r] += g[(i + r) * n + j0];
        for (; i < m; ++i) p[0] += g[i * n + j0];
        const T s = (p[0] + p[1]) + (p[2] + p[3]);
        d[j0] = fresh ? s : d[j0] + s;
    }
}

// The sizes [M, K, N] of the flattened product, from a node's integer arguments.
struct ProductSizes {
    std::size_t m, k, n;
    template <class Ints>
    explicit ProductSizes(const Ints& ints)
        : m(static_cast<std::size_t>(ints[0])),
          k(static_cast<std::size_t>(ints[1])),
          n(static_cast<std::size_t>(ints[2])) {}
};

// Input i's gradient += op(A)·op(B) ([rows, cols], inner extent `inner`), straight into its
// buffer: beta = 1 adds to what is there, beta = 0 overwrites a fresh one.
template <class T>
void gemm_into_grad(BackwardContext<T>& c, int i, bool trans_a, bool trans_b, std::size_t rows,
                    std::size_t cols, std::size_t inner, const T* a, const T* b) {
    if (!c.needs(i)) return;
    auto [d, fresh] = c.grad_buffer(i);
    blas::gemm(trans_a, trans_b, rows, cols, inner, T(1), a, b, fresh ? T(0) : T(1), d->data());
}

// ints: [M, K, N] of the flattened product.
struct Matmul {
    static constexpr OpInfo info{.name = "matmul", .rule = "out = A·B; ∂/∂A = g·Bᵀ, ∂/∂B = Aᵀ·g"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const ProductSizes p(args.ints);
        Shape s = in[0]->shape();
        if (in[1]->dimension() == 1) {
            s.pop_back();  // [.., M, K] x [K] -> [.., M]
        } else {
            s.back() = p.n;
        }
        xt::xarray<T> out = xt::xarray<T>::from_shape(s);
        blas::gemm(false, false, p.m, p.n, p.k, T(1), in[0]->data(), in[1]->data(), T(0),
                   out.data());
        return out;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const ProductSizes p(c.ints());
        const T* g = c.grad().data();
        gemm_into_grad(c, 0, false, true, p.m, p.k, p.n, g, c.in(1).data());  // dA = g·Bᵀ
        gemm_into_grad(c, 1, true, false, p.k, p.n, p.m, c.in(0).data(), g);  // dB = Aᵀ·g
    }
    // The same products in recorded ops, each case in its own shapes: A [M,K]·B [K,N], A [M,K]·b
    // [K] (dA = g bᵀ, an outer product), and a batch A [P,M,K]·B [K,N] (dB sums over the batch).
    static void backward_graph(GraphContext& c) {
        const Tensor a = c.in(0), b = c.in(1), g = c.grad();
        const ProductSizes p(c.ints());
        const Shape mk{p.m, p.k}, mn{p.m, p.n};
        if (b.dim() == 1) {
            if (c.needs(0)) c.accumulate(0, matmul(reshape(g, mn), reshape(b, {1, mk[1]})));
            if (c.needs(1)) c.accumulate(1, matmul(transpose(a), g));
            return;
        }
        if (c.needs(0)) c.accumulate(0, matmul(g, transpose(b)));  // [.., M, N]·[N, K]
        if (c.needs(1)) c.accumulate(1, matmul(transpose(reshape(a, mk)), reshape(g, mn)));
    }
};

// The affine map of a Linear layer, x·Wᵀ + b, with W stored [out, in] as in PyTorch, so that
// neither forward nor backward materialises Wᵀ. ints: [M, K, N]; the bias is input 2 if any.
struct Linear {
    static constexpr OpInfo info{
        .name = "linear", .rule = "out = x·Wᵀ + b; ∂/∂x = g·W, ∂/∂W = gᵀ·x, ∂/∂b = Σ_rows g"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const ProductSizes p(args.ints);
        Shape s = in[0]->shape();
        s.back() = p.n;
        xt::xarray<T> out = xt::xarray<T>::from_shape(s);
        const T* bias = in.size() == 3 ? in[2]->data() : nullptr;
        blas::gemm_bias(p.m, p.n, p.k, in[0]->data(), in[1]->data(), bias, out.data());
        return out;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const ProductSizes p(c.ints());
        const T* g = c.grad().data();
        gemm_into_grad(c, 0, false, false, p.m, p.k, p.n, g, c.in(1).data());  // dx = g·W
        gemm_into_grad(c, 1, true, false, p.n, p.k, p.m, g, c.in(0).data());   // dW = gᵀ·x
        if (c.n_in() == 3 && c.needs(2)) {  // db[N] = column sums of g
            auto [db, fresh] = c.grad_buffer(2);
            column_sums(g, p.m, p.n, db->data(), fresh);
        }
    }
    // The same in recorded ops, on x and g flattened to [M, K] and [M, N].
    static void backward_graph(GraphContext& c) {
        const ProductSizes p(c.ints());
        const Tensor x = reshape(c.in(0), {p.m, p.k}), g = reshape(c.grad(), {p.m, p.n});
        if (c.needs(0)) c.accumulate(0, reshape(matmul(g, c.in(1)), c.in_shape(0)));
        if (c.needs(1)) c.accumulate(1, matmul(transpose(g), x));
        if (c.n_in() == 3 && c.needs(2)) c.accumulate(2, sum(g, {0}));
    }
};

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    const Shape& sx = x.shape();
    const Shape& sw = weight.shape();
    if (sx.empty() || sx.size() > 3 || sw.size() != 2) {
        throw ShapeError("linear: takes input [..., in] (1-D to 3-D) and weight [out, in]; got " +
                         shape_str(sx) + " and " + shape_str(sw));
    }
    if (sx.back() != sw[1]) {
        throw ShapeError("linear: input " + shape_str(sx) + " has " + std::to_string(sx.back()) +
                         " features but weight " + shape_str(sw) + " expects " +
                         std::to_string(sw[1]));
    }
    if (bias.defined() && (bias.dim() != 1 || bias.shape()[0] != sw[0])) {
        throw ShapeError("linear: bias " + shape_str(bias.shape()) + " does not match weight " +
                         shape_str(sw) + " (expected [" + std::to_string(sw[0]) + "])");
    }
    std::size_t m = 1;
    for (std::size_t i = 0; i + 1 < sx.size(); ++i) m *= sx[i];
    const std::int64_t ints[] = {static_cast<std::int64_t>(m), static_cast<std::int64_t>(sw[1]),
                                 static_cast<std::int64_t>(sw[0])};
    if (bias.defined()) return apply<Linear>({&x, &weight, &bias}, {.ints = ints});
    return apply<Linear>({&x, &weight}, {.ints = ints});
}

Tensor matmul(const Tensor& a, const Tensor& b) {
    const Shape& sa = a.shape();
    const Shape& sb = b.shape();
    const bool ok_rank = (sa.size() == 2 || sa.size() == 3) && (sb.size() == 1 || sb.size() == 2) &&
                         !(sa.size() == 3 && sb.size() == 1);
    if (!ok_rank) {
        throw ShapeError("matmul: takes 2-D x 2-D, 2-D x 1-D or 3-D x 2-D; got " + shape_str(sa) +
                         " x " + shape_str(sb));
    }
    const std::size_t k = sa.back();
    if (sb[0] != k) {
        throw ShapeError("matmul: inner dimensions differ: " + shape_str(sa) + " x " +
                         shape_str(sb) + " (" + std::to_string(k) + " vs " + std::to_string(sb[0]) +
                         ")");
    }
    std::size_t m = 1;
    for (std::size_t i = 0; i + 1 < sa.size(); ++i) m *= sa[i];
    const std::size_t n = sb.size() == 2 ? sb[1] : 1;
    const std::int64_t ints[] = {static_cast<std::int64_t>(m), static_cast<std::int64_t>(k),
                                 static_cast<std::int64_t>(n)};
    return apply<Matmul>({&a, &b}, {.ints = ints});
}

}  // namespace tapegrad

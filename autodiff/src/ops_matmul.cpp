// Matrix products through BLAS. Every case is one row-major product A[M,K]·B[K,N]:
// 2-D x 2-D as is, 2-D x 1-D with N = 1, and a batch [P,M,K] x [K,N] with M := P·M.
#include "blas.hpp"
#include "tapegrad/autodiff/op.hpp"
#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad {

namespace {

// ints: [M, K, N] of the flattened product.
struct Matmul {
    static constexpr OpInfo info{"matmul", "out = A·B; ∂/∂A = g·Bᵀ, ∂/∂B = Aᵀ·g"};
    template <class T>
    static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs& args) {
        const auto m = static_cast<std::size_t>(args.ints[0]),
                   k = static_cast<std::size_t>(args.ints[1]),
                   n = static_cast<std::size_t>(args.ints[2]);
        Shape s = in[0]->shape();
        if (in[1]->dimension() == 1) {
            s.pop_back();  // [.., M, K] x [K] -> [.., M]
        } else {
            s.back() = n;
        }
        xt::xarray<T> out = xt::xarray<T>::from_shape(s);
        blas::gemm(false, false, m, n, k, T(1), in[0]->data(), in[1]->data(), T(0), out.data());
        return out;
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        const auto m = static_cast<std::size_t>(c.ints()[0]),
                   k = static_cast<std::size_t>(c.ints()[1]),
                   n = static_cast<std::size_t>(c.ints()[2]);
        const T* g = c.grad().data();
        // Accumulate straight into the gradient buffers: beta = 1 adds, beta = 0 overwrites.
        if (c.needs(0)) {
            auto [da, fresh] = c.grad_buffer(0);
            blas::gemm(false, true, m, k, n, T(1), g, c.in(1).data(), fresh ? T(0) : T(1),
                       da->data());
        }
        if (c.needs(1)) {
            auto [db, fresh] = c.grad_buffer(1);
            blas::gemm(true, false, k, n, m, T(1), c.in(0).data(), g, fresh ? T(0) : T(1),
                       db->data());
        }
    }
};

}  // namespace

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

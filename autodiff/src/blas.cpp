// The only file that includes OpenBLAS's cblas.h: xtensor-blas declares cblas functions too,
// and the two sets of declarations conflict in one translation unit.
#include "blas.hpp"

#include "tapegrad/autodiff/parallel.hpp"

#include <cblas.h>

#include <algorithm>
#include <type_traits>
#include <vector>
#ifdef XTENSOR_USE_XSIMD
#include <xsimd/xsimd.hpp>
#endif

namespace tapegrad::blas {

namespace {

// OpenBLAS 0.3.21 answers a small product in 40-80 ns (its SkylakeX small-matrix kernels, and
// the Haswell ones too): measured here, it beats this loop from 4x4x4 up (8x8x8: 0.04-0.08 us
// against 0.26; 400x1x16: 1.2 us against 20). Only products of a few dozen multiply-adds stay.
constexpr std::size_t kSmallWork = 64;

template <class T>
void small_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
                const T* b, T beta, T* c) {
    // Row-major: op(A) is m x k (stored k x m when transposed), op(B) is k x n.
    for (std::size_t i = 0; i < m; ++i) {
        T* ci = c + i * n;
        if (beta == T(0)) {
            for (std::size_t j = 0; j < n; ++j) ci[j] = T(0);
        } else if (beta != T(1)) {
            for (std::size_t j = 0; j < n; ++j) ci[j] *= beta;
        }
        for (std::size_t p = 0; p < k; ++p) {
            const T aip = alpha * (ta ? a[p * m + i] : a[i * k + p]);
            if (tb) {
                for (std::size_t j = 0; j < n; ++j) ci[j] += aip * b[j * k + p];
            } else {
                const T* bp = b + p * n;
                for (std::size_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
            }
        }
    }
}

#ifdef XTENSOR_USE_XSIMD
// Products whose C has few columns, summed in registers: a block of R rows by V vectors of C is
// summed across k, each element the same sum in the same order whatever R and V. Two kinds:
// tall, A·op(B) on many rows (a layer's forward x·Wᵀ and its dx = g·W on a batch), and short,
// Aᵀ·B over many rows (a weight's gradient gᵀ·x on a batch). With OPENBLAS_CORETYPE=Haswell,
// OpenBLAS has no small-matrix kernels and packs both operands: 400x16x16 took 2.8 us there
// against 2.1 here (1.7-2.6 with its SkylakeX kernels, 2.2 here), and a tiny MLP's step spends
// a third of its time in products.
template <class T>
struct BlockedProduct {
    const T* a;
    std::size_t a_row, a_step;  // element (i, p) of op(A) at a[i·a_row + p·a_step]
    const T* b;
    std::size_t ldb;  // row p of op(B) at b + p·ldb, readable in whole vectors
    std::size_t n, k;
    T alpha, beta;
    T* c;                     // m x n, row-major
    const T* bias = nullptr;  // n: added to every row of C instead of beta·C
};

template <class T, int R, int V>
void blocked_rows(const BlockedProduct<T>& o, std::size_t i0, std::size_t j0) {
    using B = xsimd::batch<T>;
    constexpr std::size_t W = B::size;
    B acc[R][V];
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) acc[r][v] = B(T(0));
    const T* ai = o.a + i0 * o.a_row;
    for (std::size_t p = 0; p < o.k; ++p) {
        B bv[V];
        for (int v = 0; v < V; ++v) bv[v] = B::load_unaligned(o.b + p * o.ldb + j0 + v * W);
        const T* ap = ai + p * o.a_step;
        for (int r = 0; r < R; ++r) {
            const B av(ap[r * o.a_row]);
            for (int v = 0; v < V; ++v) acc[r][v] = xsimd::fma(av, bv[v], acc[r][v]);
        }
    }
    // Whole vectors of C straight from the registers, the choice of bias, beta·C or neither
    // made once for the block. (One loop for whole and partial vectors made GCC keep the sums
    // on the stack: at k = 1 or 2 the stores took most of a product's time; the choice made
    // per vector cost those products a fifth more.)
    if (j0 + V * W <= o.n) {
        const B alpha(o.alpha), beta(o.beta);
        const auto each = [&](auto with) {
            for (int r = 0; r < R; ++r)
                for (int v = 0; v < V; ++v) {
                    T* cr = o.c + (i0 + r) * o.n + j0 + v * W;
                    with(acc[r][v] * alpha, cr, j0 + v * W).store_unaligned(cr);
                }
        };
        if (o.bias)
            each([&](B out, T*, std::size_t j) { return out + B::load_unaligned(o.bias + j); });
        else if (o.beta != T(0))
            each([&](B out, T* cr, std::size_t) {
                return xsimd::fma(B::load_unaligned(cr), beta, out);
            });
        else
            each([](B out, T*, std::size_t) { return out; });
        return;
    }
    for (int v = 0; v < V; ++v) {
        const std::size_t j = j0 + v * W, w = std::min(W, o.n - j);
        for (int r = 0; r < R; ++r) {
            T* cr = o.c + (i0 + r) * o.n + j;
            B out = acc[r][v] * B(o.alpha);
            if (w == W) {
                if (o.bias)
                    out = out + B::load_unaligned(o.bias + j);
                else if (o.beta != T(0))
                    out = xsimd::fma(B::load_unaligned(cr), B(o.beta), out);
                out.store_unaligned(cr);
                continue;
            }
            alignas(64) T part[W];
            out.store_aligned(part);
            for (std::size_t l = 0; l < w; ++l)
                cr[l] = o.bias           ? part[l] + o.bias[j + l]
                        : o.beta == T(0) ? part[l]
                                         : part[l] + o.beta * cr[l];
        }
    }
}

// R rows of C: two vectors a pass where there are two (each broadcast of A then feeds two
// multiply-adds: 400x16x16 2.8 -> 2.5 us, the tiny MLP's forward on 2 inputs 0.70 -> 0.55 us),
// the last odd vector alone.
template <class T, int R>
void blocked_rows(const BlockedProduct<T>& o, std::size_t i0) {
    constexpr std::size_t W = xsimd::batch<T>::size;
    std::size_t j0 = 0;
    for (; j0 + W < o.n; j0 += 2 * W) blocked_rows<T, R, 2>(o, i0, j0);
    if (j0 < o.n) blocked_rows<T, R, 1>(o, i0, j0);
}

// C = alpha·op(A)·op(B) + beta·C, C m x n; with a bias, alpha·op(A)·op(B) + bias on every row.
template <class T>
void blocked_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha,
                  const T* a, const T* b, T beta, T* c, const T* bias = nullptr) {
    constexpr std::size_t W = xsimd::batch<T>::size;
    BlockedProduct<T> o{a, ta ? 1 : k, ta ? m : 1, b, n, n, k, alpha, beta, c, bias};
    // op(B) read in place when its rows are whole vectors; else packed, zero-padded.
    if (tb || n % W != 0) {
        thread_local std::vector<T, ArrayAllocator<T>> packed;
        o.ldb = (n + W - 1) / W * W;
        packed.assign(k * o.ldb, T(0));
        for (std::size_t p = 0; p < k; ++p)
            for (std::size_t j = 0; j < n; ++j)
                packed[p * o.ldb + j] = tb ? b[j * k + p] : b[p * n + j];
        o.b = packed.data();
    }
    // 16 vector registers: 8 rows of one vector, or 6 rows of two (12 sums, 2 of B, 1 of A).
    std::size_t i = 0;
    if (n <= W)
        for (; i + 8 <= m; i += 8) blocked_rows<T, 8, 1>(o, i, 0);
    else
        for (; i + 6 <= m; i += 6) blocked_rows<T, 6>(o, i);
    for (; i + 4 <= m; i += 4) blocked_rows<T, 4>(o, i);
    for (; i + 2 <= m; i += 2) blocked_rows<T, 2>(o, i);
    for (; i < m; ++i) blocked_rows<T, 1>(o, i);
}

// Aᵀ·B whose C has fewer columns than a vector but rows in whole vectors (a weight's gradient
// gᵀ·x on a layer of two inputs, 16x2x400: 2.3 -> 0.55 us) as Cᵀ = Bᵀ·A, which reads both in
// place and fills whole vectors, then transposed into C. Each element is the same sum in the
// same order as in blocked_gemm (fma(a, b, s) = fma(b, a, s)), so the same bits; alpha is 1.
template <class T>
void blocked_gemm_transposed(std::size_t m, std::size_t n, std::size_t k, const T* a, const T* b,
                             T beta, T* c) {
    thread_local std::vector<T, ArrayAllocator<T>> ct;
    ct.resize(n * m);
    blocked_gemm(true, false, n, m, k, T(1), b, a, T(0), ct.data());
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            T& cij = c[i * n + j];
            cij = beta == T(0) ? ct[j * m + i] : ct[j * m + i] + beta * cij;
        }
}

bool is_transposed_short(bool ta, bool tb, std::size_t m, std::size_t n, float alpha) {
    constexpr std::size_t W = xsimd::batch<float>::size;
    return ta && !tb && alpha == 1.0f && n < W && m % W == 0;
}

// At most 64 columns and 2^18 multiply-adds; tall: A·op(B) on at least 64 rows; short:
// Aᵀ·op(B) of at most 64 rows, summed over at least 64.
bool is_blocked(bool ta, std::size_t m, std::size_t n, std::size_t k) {
    if (n > 64 || m * n * k > (std::size_t(1) << 18)) return false;
    return ta ? m <= 64 && k >= 64 : m >= 64;
}
#endif

}  // namespace

namespace {

blasint as_int(std::size_t v) {
    return static_cast<blasint>(v);
}
CBLAS_TRANSPOSE flag(bool t) {
    return t ? CblasTrans : CblasNoTrans;
}
void gemv(bool t, std::size_t rows, std::size_t cols, float alpha, const float* a, const float* x,
          float beta, float* y) {
    cblas_sgemv(CblasRowMajor, flag(t), as_int(rows), as_int(cols), alpha, a, as_int(cols), x, 1,
                beta, y, 1);
}
void gemv(bool t, std::size_t rows, std::size_t cols, double alpha, const double* a,
          const double* x, double beta, double* y) {
    cblas_dgemv(CblasRowMajor, flag(t), as_int(rows), as_int(cols), alpha, a, as_int(cols), x, 1,
                beta, y, 1);
}
// Leading dimensions as stored: a part of a split product keeps its whole operand's.
void full_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
               const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta,
               float* c, std::size_t ldc) {
    cblas_sgemm(CblasRowMajor, flag(ta), flag(tb), as_int(m), as_int(n), as_int(k), alpha, a,
                as_int(lda), b, as_int(ldb), beta, c, as_int(ldc));
}
void full_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, double alpha,
               const double* a, std::size_t lda, const double* b, std::size_t ldb, double beta,
               double* c, std::size_t ldc) {
    cblas_dgemm(CblasRowMajor, flag(ta), flag(tb), as_int(m), as_int(n), as_int(k), alpha, a,
                as_int(lda), b, as_int(ldb), beta, c, as_int(ldc));
}

// A product with one row or one column is a matrix-vector product, and OpenBLAS's gemv does it
// in half the time of its gemm or better (measured: 256x1x20 0.41 against 0.98 us, a 2M x 20
// logistic-regression forward 22 against 37 ms, which gemm spends packing the 2M rows).
template <class T>
void any_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
              const T* b, T beta, T* c) {
    if (m * n * k <= kSmallWork) return small_gemm(ta, tb, m, n, k, alpha, a, b, beta, c);
    if (n == 1) {  // c = op(A)·b; b is a contiguous vector whether or not it is "transposed"
        return ta ? gemv(true, k, m, alpha, a, b, beta, c)
                  : gemv(false, m, k, alpha, a, b, beta, c);
    }
    if (m == 1) {  // cᵀ = op(B)ᵀ·aᵀ; a is a contiguous vector either way
        return tb ? gemv(false, n, k, alpha, b, a, beta, c)
                  : gemv(true, k, n, alpha, b, a, beta, c);
    }
#ifdef XTENSOR_USE_XSIMD
    // float32 only: measured there; float64 products stay with OpenBLAS's own kernels.
    if constexpr (std::is_same_v<T, float>) {
        if (is_blocked(ta, m, n, k)) {
            if (is_transposed_short(ta, tb, m, n, alpha))
                return blocked_gemm_transposed(m, n, k, a, b, beta, c);
            return blocked_gemm(ta, tb, m, n, k, alpha, a, b, beta, c);
        }
    }
#endif
    full_gemm(ta, tb, m, n, k, alpha, a, ta ? m : k, b, tb ? k : n, beta, c, n);
}

// A product of at least this many multiply-adds a thread is split across tapegrad's threads:
// about 50 us of work here, against a few us to hand a part to a thread.
constexpr std::size_t kMinMacsPerThread = std::size_t(1) << 20;

// Each thread computes its own rows of C (or its own columns, when C has few rows), so no
// element is summed by two threads: the parts of a product depend only on its shape and the
// thread count, and each element of C is computed by one call of the kernels above.
template <class T>
void threaded_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha,
                   const T* a, const T* b, T beta, T* c) {
    const std::size_t parts = parallel_parts(m * n * k, kMinMacsPerThread);
    constexpr std::size_t kAlign = 8;  // whole vectors of C; rows in eights (few odd rows a part)
    // At least ceil(rows / parts) a part: parallel_for then makes no more parts than the
    // multiply-adds pay for.
    const auto per_part = [parts](std::size_t rows) { return (rows + parts - 1) / parts; };
    if (parts > 1 && m >= parts * kAlign && m >= n) {
        return parallel_for(m, per_part(m), kAlign, [&](std::size_t i0, std::size_t i1) {
            if (ta)  // rows i0..i1 of op(A) are columns of the stored k x m A
                return full_gemm(true, tb, i1 - i0, n, k, alpha, a + i0, m, b, tb ? k : n, beta,
                                 c + i0 * n, n);
            any_gemm(false, tb, i1 - i0, n, k, alpha, a + i0 * k, b, beta, c + i0 * n);
        });
    }
    if (parts > 1 && n >= parts * kAlign) {
        return parallel_for(n, per_part(n), kAlign, [&](std::size_t j0, std::size_t j1) {
            // columns j0..j1 of op(B): of the stored k x n B, or rows of the stored n x k one
            full_gemm(ta, tb, m, j1 - j0, k, alpha, a, ta ? m : k, tb ? b + j0 * k : b + j0,
                      tb ? k : n, beta, c + j0, n);
        });
    }
    any_gemm(ta, tb, m, n, k, alpha, a, b, beta, c);
}

// Where any_gemm would take the blocked kernel, the bias is added as the sums leave the
// registers: out + bias, the bits that filling C with the bias and beta = 1 give (fma(c, 1, out)
// rounds once, as the addition does), without writing and reading C once more (6% of the tiny
// MLP's step). Elsewhere C starts as the bias.
template <class T>
void bias_gemm(std::size_t m, std::size_t n, std::size_t k, const T* a, const T* b, const T* bias,
               T* c) {
    if (!bias) return threaded_gemm(false, true, m, n, k, T(1), a, b, T(0), c);
#ifdef XTENSOR_USE_XSIMD
    if constexpr (std::is_same_v<T, float>) {
        if (m * n * k > kSmallWork && m > 1 && n > 1 && is_blocked(false, m, n, k))
            return blocked_gemm(false, true, m, n, k, T(1), a, b, T(0), c, bias);
    }
#endif
    if (n == 1) {  // one output (logistic regression): one value down the column
        std::fill_n(c, m, bias[0]);
    } else {
        for (std::size_t i = 0; i < m; ++i)  // (std::copy: a memmove call per row, 6% of
            for (std::size_t j = 0; j < n; ++j) c[i * n + j] = bias[j];  // a logreg step)
    }
    threaded_gemm(false, true, m, n, k, T(1), a, b, T(1), c);
}

}  // namespace

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
          const float* a, const float* b, float beta, float* c) {
    threaded_gemm(ta, tb, m, n, k, alpha, a, b, beta, c);
}

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, double alpha,
          const double* a, const double* b, double beta, double* c) {
    threaded_gemm(ta, tb, m, n, k, alpha, a, b, beta, c);
}

void gemm_bias(std::size_t m, std::size_t n, std::size_t k, const float* a, const float* b,
               const float* bias, float* c) {
    bias_gemm(m, n, k, a, b, bias, c);
}

void gemm_bias(std::size_t m, std::size_t n, std::size_t k, const double* a, const double* b,
               const double* bias, double* c) {
    bias_gemm(m, n, k, a, b, bias, c);
}

void set_num_threads(int n) {
    openblas_set_num_threads(n);
}
int num_threads() {
    return openblas_get_num_threads();
}

}  // namespace tapegrad::blas

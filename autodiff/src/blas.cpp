// The only file that includes OpenBLAS's cblas.h: xtensor-blas declares cblas functions too,
// and the two sets of declarations conflict in one translation unit.
#include "blas.hpp"

#include <cblas.h>

namespace tapegrad::blas {

namespace {

// Below about 8x32x32 a call into BLAS costs more (70-100 ns) than the arithmetic.
constexpr std::size_t kSmallWork = 8 * 32 * 32;

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

}  // namespace

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
          const float* a, const float* b, float beta, float* c) {
    if (m * n * k <= kSmallWork) return small_gemm(ta, tb, m, n, k, alpha, a, b, beta, c);
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
                static_cast<blasint>(ta ? m : k), b, static_cast<blasint>(tb ? k : n), beta, c,
                static_cast<blasint>(n));
}

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, double alpha,
          const double* a, const double* b, double beta, double* c) {
    if (m * n * k <= kSmallWork) return small_gemm(ta, tb, m, n, k, alpha, a, b, beta, c);
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
                static_cast<blasint>(ta ? m : k), b, static_cast<blasint>(tb ? k : n), beta, c,
                static_cast<blasint>(n));
}

void set_num_threads(int n) {
    openblas_set_num_threads(n);
}
int num_threads() {
    return openblas_get_num_threads();
}

}  // namespace tapegrad::blas

#include "tapegrad/autodiff/threads.hpp"

namespace tapegrad {
void set_num_threads(int n) {
    blas::set_num_threads(n);
}
int num_threads() {
    return blas::num_threads();
}
}  // namespace tapegrad

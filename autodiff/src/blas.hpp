#pragma once
// Matrix products on contiguous row-major buffers, with transpose flags so that backward's
// dA = dC·Bᵀ and dB = Aᵀ·dC never materialise a transpose. C = alpha·op(A)·op(B) + beta·C.
#include <cstddef>

namespace tapegrad::blas {

void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
          const float* a, const float* b, float beta, float* c);
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, double alpha,
          const double* a, const double* b, double beta, double* c);

// C = A·Bᵀ + bias on every row (A m x k, B n x k, bias n, or none when null): a linear layer's
// forward x·Wᵀ + b.
void gemm_bias(std::size_t m, std::size_t n, std::size_t k, const float* a, const float* b,
               const float* bias, float* c);
void gemm_bias(std::size_t m, std::size_t n, std::size_t k, const double* a, const double* b,
               const double* bias, double* c);

// OpenBLAS's own thread count (torch.set_num_threads does not reach it; neither does OpenMP).
void set_num_threads(int n);
int num_threads();

}  // namespace tapegrad::blas

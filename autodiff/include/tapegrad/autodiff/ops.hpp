#pragma once
// Every operation of autodiff. Elementwise binary ops broadcast like NumPy. The forward
// computation and the derivative rules of each op sit side by side in autodiff/src/ops_*.cpp
// (the fused losses of nn in nn/src/loss_ops.cpp); every differentiable op here can be
// differentiated to any order (Tape's create_graph).
#include <cstdint>
#include <optional>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad {

using Axes = std::vector<std::int64_t>;  // negative axes count from the end

// ---- arithmetic (ops_arithmetic.cpp) ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& a);
Tensor add(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor rsub(const Tensor& a, double s);  // s - a
Tensor rdiv(const Tensor& a, double s);  // s / a
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, double exponent);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
// Elementwise choice: a where cond is non-zero, b elsewhere (cond is not differentiated).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

inline Tensor operator+(const Tensor& a, const Tensor& b) {
    return add(a, b);
}
inline Tensor operator-(const Tensor& a, const Tensor& b) {
    return sub(a, b);
}
inline Tensor operator*(const Tensor& a, const Tensor& b) {
    return mul(a, b);
}
inline Tensor operator/(const Tensor& a, const Tensor& b) {
    return div(a, b);
}
inline Tensor operator-(const Tensor& a) {
    return neg(a);
}
inline Tensor operator+(const Tensor& a, double s) {
    return add(a, s);
}
inline Tensor operator+(double s, const Tensor& a) {
    return add(a, s);
}
inline Tensor operator-(const Tensor& a, double s) {
    return add(a, -s);
}
inline Tensor operator-(double s, const Tensor& a) {
    return rsub(a, s);
}
inline Tensor operator*(const Tensor& a, double s) {
    return mul(a, s);
}
inline Tensor operator*(double s, const Tensor& a) {
    return mul(a, s);
}
inline Tensor operator/(const Tensor& a, double s) {
    return mul(a, 1.0 / s);
}
inline Tensor operator/(double s, const Tensor& a) {
    return rdiv(a, s);
}

// ---- elementwise functions (ops_unary.cpp) ----
Tensor square(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);  // log of a negative number is NaN (IEEE), as in NumPy
Tensor abs(const Tensor& a);
Tensor sin(const Tensor& a);
Tensor cos(const Tensor& a);
Tensor tanh(const Tensor& a);
Tensor sigmoid(const Tensor& a);
Tensor relu(const Tensor& a);
Tensor leaky_relu(const Tensor& a, double negative_slope = 0.01);
Tensor elu(const Tensor& a, double alpha = 1.0);
// log(1 + exp(beta*x)) / beta, linear above threshold (PyTorch's defaults).
Tensor softplus(const Tensor& a, double beta = 1.0, double threshold = 20.0);
Tensor gelu(const Tensor& a);  // exact form x * Phi(x)
Tensor erf(const Tensor& a);   // the error function, 2/sqrt(pi) * integral of exp(-t^2) to a
// As torch.clamp: a missing bound is no bound, but at least one must be given.
Tensor clamp(const Tensor& a, std::optional<double> min, std::optional<double> max = std::nullopt);
Tensor clamp_min(const Tensor& a, double min);  // clamp(a, min, nullopt)
Tensor clamp_max(const Tensor& a, double max);  // clamp(a, nullopt, max)

// ---- reductions (ops_reduce.cpp, ops_softmax.cpp) ----
Tensor sum(const Tensor& a);
Tensor sum(const Tensor& a, const Axes& axes, bool keepdims = false);
Tensor mean(const Tensor& a);
Tensor mean(const Tensor& a, const Axes& axes, bool keepdims = false);
// max/min send the gradient to the maximal elements, split evenly between ties.
Tensor max(const Tensor& a);
Tensor max(const Tensor& a, const Axes& axes, bool keepdims = false);
Tensor min(const Tensor& a);
Tensor min(const Tensor& a, const Axes& axes, bool keepdims = false);
Tensor logsumexp(const Tensor& a);  // over all elements, a scalar (as sum(a))
Tensor logsumexp(const Tensor& a, const Axes& axes, bool keepdims = false);
Tensor softmax(const Tensor& a, std::int64_t axis = -1);
Tensor log_softmax(const Tensor& a, std::int64_t axis = -1);

// ---- comparisons (ops_compare.cpp): constants, never recorded ----
// 1 where the relation holds, else 0, in the inputs' dtype (broadcasting). Masks for rules
// and data; like PyTorch's boolean results they carry no gradient.
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, double s);
Tensor ge(const Tensor& a, double s);
Tensor lt(const Tensor& a, double s);
Tensor le(const Tensor& a, double s);
Tensor eq(const Tensor& a, double s);
// -1, 0 or 1 (0 at 0, NaN at NaN); its derivative is 0 wherever it has one, so it is a constant.
Tensor sign(const Tensor& a);

// ---- shapes (ops_shape.cpp, ops_index.cpp) ----
Tensor reshape(const Tensor& a, const Shape& shape);  // same number of elements
Tensor transpose(const Tensor& a);                    // reverses the axes (a.T)
// Swaps two axes (negative counts from the end), as torch.transpose(input, dim0, dim1).
Tensor transpose(const Tensor& a, std::int64_t dim0, std::int64_t dim1);
Tensor permute(const Tensor& a, const Axes& order);
Tensor broadcast_to(const Tensor& a, const Shape& shape);
// The adjoint of broadcast_to: sums a over the axes along which `shape` would be broadcast to
// a's shape (PyTorch's sum_to_size; leading axes may be dropped).
Tensor sum_to(const Tensor& a, const Shape& shape);
// A copy of a with its own storage; the gradient passes through unchanged.
Tensor clone(const Tensor& a);
Tensor concat(const std::vector<Tensor>& parts, std::int64_t axis = 0);
Tensor stack(const std::vector<Tensor>& parts, std::int64_t axis = 0);
// length entries of one axis from start on (PyTorch's narrow).
Tensor narrow(const Tensor& a, std::int64_t axis, std::size_t start, std::size_t length);
// Rows [start, stop) of the first axis (a[start:stop]).
Tensor slice_rows(const Tensor& a, std::size_t start, std::size_t stop);
// The rows a[indices[0]], a[indices[1]], ... (index select along the first axis; repeats allowed).
Tensor gather_rows(const Tensor& a, const std::vector<std::size_t>& indices);
// The adjoint of gather_rows: `rows` rows of zeros, with row i of src added into row
// indices[i] (PyTorch's index_add along axis 0; repeats add up).
Tensor scatter_add_rows(const Tensor& src, const std::vector<std::size_t>& indices,
                        std::size_t rows);

// Conversion between float32 and float64 (ops_cast.cpp): Tensor::to is this op.
Tensor to_dtype(const Tensor& a, Dtype dtype);

// ---- matrix products (ops_matmul.cpp), through BLAS ----
// 2-D x 2-D, 2-D x 1-D, and a batch of matrices 3-D x 2-D.
Tensor matmul(const Tensor& a, const Tensor& b);
// x·Wᵀ + b for x [..., in] (1-D to 3-D), weight [out, in] (PyTorch's layout) and bias [out]
// (or an undefined Tensor() for none): torch.nn.functional.linear, one BLAS call each way.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace tapegrad

#pragma once
// The fused ops behind the losses of loss.hpp (internal to tapegrad::nn). Each returns the
// unreduced loss: per element for the elementwise losses, per row for the class losses.
// The callers (loss.cpp) check shapes and class indices first; these ops trust their inputs.
#include <cstdint>
#include <span>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad::nn::detail {

Tensor squared_error(const Tensor& input, const Tensor& target);   // (x - y)^2
Tensor absolute_error(const Tensor& input, const Tensor& target);  // |x - y|
Tensor huber_error(const Tensor& input, const Tensor& target, double delta);
Tensor bce_probs(const Tensor& probs, const Tensor& target);
Tensor bce_logits(const Tensor& logits, const Tensor& target);
// Rows [N] of -log_probs[n, classes[n]].
Tensor nll_rows(const Tensor& log_probs, std::span<const std::int64_t> classes);
// Rows [N] of (1 - eps) (-log softmax(x)[n, classes[n]]) + eps mean_c(-log softmax(x)[n, c]).
Tensor cross_entropy_rows(const Tensor& logits, std::span<const std::int64_t> classes,
                          double label_smoothing);
// weight * sum of x^2 over every element of every tensor (a scalar).
Tensor weighted_sum_of_squares(const std::vector<Tensor>& tensors, double weight);

}  // namespace tapegrad::nn::detail

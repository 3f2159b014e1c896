#pragma once
// Loss functions with PyTorch's names, formulas and defaults (torch.nn.functional), written to
// be numerically stable. Each takes a reduction: the mean over elements (the default), the
// sum, or none (the per-element losses, shape of the input).
// Elementwise losses need input and target of one shape (a ShapeError names the function and
// both shapes: no silent broadcasting) and differentiate both. Class losses take logits or
// log-probabilities [N, C]; a class outside [0, C), or not a whole number, is a ValueError
// naming the function, the row and the value.
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad::nn {

enum class Reduction { mean, sum, none };

// (input - target)^2
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction r = Reduction::mean);
// |input - target|
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction r = Reduction::mean);
// 0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere; d = input - target.
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction r = Reduction::mean,
                  double delta = 1.0);
// -(y log p + (1 - y) log(1 - p)) for probabilities p in [0, 1]; the logs are clamped at -100
// as in PyTorch, so p = 0 or 1 gives a finite loss. A p outside [0, 1] is a ValueError; NaN
// passes through to the loss.
Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target,
                            Reduction r = Reduction::mean);
// The same from logits x, without forming sigmoid(x): max(x, 0) - x y + log(1 + exp(-|x|)).
// Its gradient is sigmoid(x) - y, exact at x = 0 too.
Tensor bce_with_logits(const Tensor& logits, const Tensor& target, Reduction r = Reduction::mean);
// Logits [N, C] and class indices in [0, C) (N of them): -log softmax(x)[class], with label
// smoothing eps mixing in the uniform distribution: (1 - eps) nll + eps mean_c(-log p_c).
// With Reduction::none the result has shape [N].
Tensor cross_entropy(const Tensor& logits, const std::vector<std::int64_t>& target,
                     Reduction r = Reduction::mean, double label_smoothing = 0.0);
// The same with the classes held in a tensor of shape [N] (whole numbers as float values).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction r = Reduction::mean,
                     double label_smoothing = 0.0);
// The classes written in place, cross_entropy(logits, {2, 0}). (Without this overload a single
// class {0} would be ambiguous: 0 also converts to a Tensor through its null handle.)
Tensor cross_entropy(const Tensor& logits, std::initializer_list<std::int64_t> target,
                     Reduction r = Reduction::mean, double label_smoothing = 0.0);
// Log-probabilities [N, C] and class indices: -log_probs[n, class_n].
Tensor nll_loss(const Tensor& log_probs, const std::vector<std::int64_t>& target,
                Reduction r = Reduction::mean);
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction r = Reduction::mean);
Tensor nll_loss(const Tensor& log_probs, std::initializer_list<std::int64_t> target,
                Reduction r = Reduction::mean);
// weight * sum of squares of every tensor (the L2 penalty added to a loss; use the optimizer's
// weight_decay for the same effect without recording it on the tape).
Tensor l2_penalty(const std::vector<Tensor>& params, double weight);

}  // namespace tapegrad::nn

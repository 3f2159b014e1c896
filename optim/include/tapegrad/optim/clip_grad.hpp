#pragma once
// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_, with two
// deliberate differences: the scale is exactly max_norm / total (PyTorch divides by
// total + 1e-6), and a non-finite norm throws instead of scaling NaN into every gradient
// (PyTorch issue 46849). Call between backward and optimizer.step():
//
//   tape.backward(loss);
//   double norm = tg::optim::clip_grad_norm(model.parameters(), 1.0);  // norm before clipping
//   opt.step();
#include <limits>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad::optim {

// The norm of all gradients taken together (as one concatenated vector), before clipping:
// (sum |g|^p)^(1/p), or max |g| for norm_type = infinity. When it exceeds max_norm every
// gradient is multiplied by max_norm / norm, so that the norm becomes max_norm; otherwise the
// gradients are left alone. Parameters without a gradient are skipped (none at all: 0).
// Throws tapegrad::Error, touching no gradient, when the norm is NaN or infinite; ValueError
// when max_norm < 0 or norm_type <= 0.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);

// Clamps every gradient element into [-clip_value, clip_value]; ValueError when clip_value < 0.
void clip_grad_value(const std::vector<Tensor>& params, double clip_value);

inline constexpr double inf_norm = std::numeric_limits<double>::infinity();

}  // namespace tapegrad::optim

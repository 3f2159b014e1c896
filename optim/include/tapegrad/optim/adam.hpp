#pragma once
// Adam (with L2 weight decay and the AMSGrad variant) and AdamW (decoupled weight decay),
// exactly as torch.optim.Adam and torch.optim.AdamW of PyTorch 1.13: one update rule
// (adam.cpp) that FirstOrder drives (first_order.hpp); the two differ only in how weight
// decay applies. Per element, at step t:
//
//   g = maximize ? -g : g
//   Adam:  g = g + weight_decay * p                     (L2, when weight_decay != 0)
//   AdamW: p = p * (1 - lr * weight_decay)              (decoupled, before the moments)
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g * g
//   v_max = max(v_max, v)                               (amsgrad only)
//   denom = sqrt(amsgrad ? v_max : v) / sqrt(1 - beta2^t) + eps
//   p = p - (lr / (1 - beta1^t)) * m / denom
//
//   tg::optim::Adam opt(model.parameters(), {.lr = 1e-2});
//   tg::optim::AdamW optw(model.parameters(), {.lr = 1e-3, .weight_decay = 0.05});
#include <utility>

#include "tapegrad/optim/first_order.hpp"

namespace tapegrad::optim {

struct AdamOptions {
    double lr = 1e-3;
    std::pair<double, double> betas = {0.9, 0.999};  // each in [0, 1)
    double eps = 1e-8;
    double weight_decay = 0.0;  // L2: added to the gradient
    bool amsgrad = false;
    bool maximize = false;
};

struct AdamWOptions {
    double lr = 1e-3;
    std::pair<double, double> betas = {0.9, 0.999};
    double eps = 1e-8;
    double weight_decay = 0.01;  // decoupled: p *= 1 - lr * weight_decay
    bool amsgrad = false;
    bool maximize = false;
};

// One rule (adam.cpp) for both; `decoupled` is AdamW's weight decay.
template <bool decoupled>
struct AdamRule;
extern template class FirstOrder<AdamRule<false>, AdamOptions>;
extern template class FirstOrder<AdamRule<true>, AdamWOptions>;
using Adam = FirstOrder<AdamRule<false>, AdamOptions>;
using AdamW = FirstOrder<AdamRule<true>, AdamWOptions>;

}  // namespace tapegrad::optim

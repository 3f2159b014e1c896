#pragma once
// RMSprop, exactly as torch.optim.RMSprop of PyTorch 1.13: an update rule (rmsprop.cpp) that
// FirstOrder drives (first_order.hpp). Per element:
//
//   g = maximize ? -g : g
//   g = g + weight_decay * p                           (when weight_decay != 0)
//   v = alpha * v + (1 - alpha) * g * g
//   centered: a = alpha * a + (1 - alpha) * g;  avg = sqrt(v - a * a) + eps
//   else:                                       avg = sqrt(v) + eps
//   momentum > 0: buf = momentum * buf + g / avg;  p = p - lr * buf
//   else:                                          p = p - lr * g / avg
//
//   tg::optim::RMSprop opt(model.parameters(), {.lr = 1e-3, .centered = true});
#include "tapegrad/optim/first_order.hpp"

namespace tapegrad::optim {

struct RMSpropOptions {
    double lr = 0.01;
    double alpha = 0.99;  // smoothing of the squared-gradient average
    double eps = 1e-8;
    double weight_decay = 0.0;  // L2: added to the gradient
    double momentum = 0.0;
    // Divide by an estimate of the variance instead of the raw second moment.
    bool centered = false;
    bool maximize = false;
};

struct RMSpropRule;  // rmsprop.cpp: name, option keys, validation, update
extern template class FirstOrder<RMSpropRule, RMSpropOptions>;
using RMSprop = FirstOrder<RMSpropRule, RMSpropOptions>;

}  // namespace tapegrad::optim

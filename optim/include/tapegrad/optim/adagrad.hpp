#pragma once
// Adagrad, exactly as torch.optim.Adagrad of PyTorch 1.13: an update rule (adagrad.cpp) that
// FirstOrder drives (first_order.hpp). Per element, at step t:
//
//   g = maximize ? -g : g
//   g = g + weight_decay * p                           (when weight_decay != 0)
//   clr = lr / (1 + (t - 1) * lr_decay)
//   s = s + g * g                                      (s starts at initial_accumulator_value)
//   p = p - clr * g / (sqrt(s) + eps)
//
// One difference: each group's own initial_accumulator_value is used (PyTorch 1.13 fills every
// group's accumulator from the constructor's value and ignores a group's).
//
//   tg::optim::Adagrad opt(model.parameters(), {.lr = 0.1});
#include "tapegrad/optim/first_order.hpp"

namespace tapegrad::optim {

struct AdagradOptions {
    double lr = 0.01;
    double lr_decay = 0.0;
    double weight_decay = 0.0;  // L2: added to the gradient
    double initial_accumulator_value = 0.0;
    double eps = 1e-10;
    bool maximize = false;
};

struct AdagradRule;  // adagrad.cpp: name, option keys, validation, update
extern template class FirstOrder<AdagradRule, AdagradOptions>;
using Adagrad = FirstOrder<AdagradRule, AdagradOptions>;

}  // namespace tapegrad::optim

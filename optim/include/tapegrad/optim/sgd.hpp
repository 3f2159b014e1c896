#pragma once
// Stochastic gradient descent with momentum, dampening, Nesterov momentum, L2 weight decay
// and maximisation, exactly as torch.optim.SGD (PyTorch 1.13): an update rule (sgd.cpp) that
// FirstOrder drives (first_order.hpp). Per element:
//
//   d = maximize ? -g : g
//   d = d + weight_decay * p                           (when weight_decay != 0)
//   buf = d on the first step, else buf = momentum * buf + (1 - dampening) * d
//   d = nesterov ? d + momentum * buf : buf            (when momentum != 0)
//   p = p - lr * d
//
//   tg::optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9, .nesterov = true});
#include "tapegrad/optim/first_order.hpp"

namespace tapegrad::optim {

struct SGDOptions {
    double lr = 0.01;  // Keras's default: PyTorch has none
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;  // L2: added to the gradient
    bool nesterov = false;      // needs momentum > 0 and dampening == 0
    bool maximize = false;
};

struct SGDRule;  // sgd.cpp: name, option keys, validation, update
extern template class FirstOrder<SGDRule, SGDOptions>;
using SGD = FirstOrder<SGDRule, SGDOptions>;

}  // namespace tapegrad::optim

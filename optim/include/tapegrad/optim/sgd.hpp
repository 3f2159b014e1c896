#pragma once
// Stochastic gradient descent with momentum, dampening, Nesterov momentum, L2 weight decay
// and maximisation, exactly as torch.optim.SGD (PyTorch 1.13):
//
//   d = maximize ? -g : g
//   d = d + weight_decay * p                           (when weight_decay != 0)
//   buf = d on the first step, else buf = momentum * buf + (1 - dampening) * d
//   d = nesterov ? d + momentum * buf : buf            (when momentum != 0)
//   p = p - lr * d
//
//   tg::optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9, .nesterov = true});
#include <cstddef>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

struct SGDOptions {
    double lr = 0.01;  // Keras's default: PyTorch has none
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;  // L2: added to the gradient
    bool nesterov = false;      // needs momentum > 0 and dampening == 0
    bool maximize = false;
};

class SGD : public Optimizer {
  public:
    using Options = SGDOptions;

    // Throws ValueError naming the option when one is out of its domain.
    explicit SGD(std::vector<Tensor> params, Options options = {});
    // A further group of parameters with options of its own.
    void add_param_group(std::vector<Tensor> params, Options options);

    using Optimizer::step;
    void step() override;
    std::string name() const override { return "SGD"; }

    // The options of group g; .lr is the group's current learning rate (schedules change it).
    Options options(std::size_t g) const;

    // The base state plus every group's options ("param_groups.G.momentum", ...), so that
    // loading restores the hyper-parameters too, as PyTorch's load_state_dict does.
    StateDict state_dict() const override;
    void load_state_dict(const StateDict& state) override;

  private:
    std::vector<Options> options_;
};

}  // namespace tapegrad::optim

#pragma once
// RMSprop, exactly as torch.optim.RMSprop of PyTorch 1.13. Per parameter:
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
#include <cstddef>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

struct RMSpropOptions {
    double lr = 0.01;
    double alpha = 0.99;  // smoothing of the squared-gradient average
    double eps = 1e-8;
    double weight_decay = 0.0;  // L2: added to the gradient
    double momentum = 0.0;
    bool centered =
        false;  // divide by an estimate of the variance instead of the raw second moment
    bool maximize = false;
};

class RMSprop : public Optimizer {
  public:
    using Options = RMSpropOptions;

    // Throws ValueError naming the option when one is out of its domain.
    explicit RMSprop(std::vector<Tensor> params, Options options = {});
    void add_param_group(std::vector<Tensor> params, Options options);

    using Optimizer::step;
    void step() override;
    std::string name() const override { return "RMSprop"; }

    // The options of group g; .lr is the group's current learning rate.
    Options options(std::size_t g) const;

    // The base state plus every group's options ("param_groups.G.alpha", ...).
    StateDict state_dict() const override;
    void load_state_dict(const StateDict& state) override;

  private:
    std::vector<Options> options_;
};

}  // namespace tapegrad::optim

#pragma once
// Adagrad, exactly as torch.optim.Adagrad of PyTorch 1.13. Per parameter, at step t:
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
#include <cstddef>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

struct AdagradOptions {
    double lr = 0.01;
    double lr_decay = 0.0;
    double weight_decay = 0.0;  // L2: added to the gradient
    double initial_accumulator_value = 0.0;
    double eps = 1e-10;
    bool maximize = false;
};

class Adagrad : public Optimizer {
  public:
    using Options = AdagradOptions;

    // Throws ValueError naming the option when one is out of its domain.
    explicit Adagrad(std::vector<Tensor> params, Options options = {});
    void add_param_group(std::vector<Tensor> params, Options options);

    using Optimizer::step;
    void step() override;
    std::string name() const override { return "Adagrad"; }

    // The options of group g; .lr is the group's current learning rate.
    Options options(std::size_t g) const;

    // The base state plus every group's options ("param_groups.G.lr_decay", ...).
    StateDict state_dict() const override;
    void load_state_dict(const StateDict& state) override;

  private:
    std::vector<Options> options_;
};

}  // namespace tapegrad::optim

#pragma once
// Adam (with L2 weight decay and the AMSGrad variant) and AdamW (decoupled weight decay),
// exactly as torch.optim.Adam and torch.optim.AdamW of PyTorch 1.13. Per parameter, at step t:
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
#include <cstddef>
#include <utility>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

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

namespace detail {

// The shared machinery of Adam and AdamW; `decoupled` selects how weight decay applies.
class AdamBase : public Optimizer {
  public:
    using Optimizer::step;
    void step() override;
    StateDict state_dict() const override;
    void load_state_dict(const StateDict& state) override;

  protected:
    struct GroupOptions {
        std::pair<double, double> betas;
        double eps, weight_decay;
        bool amsgrad, maximize;
    };
    explicit AdamBase(bool decoupled)
        : Optimizer(std::vector<ParamGroup>{}), decoupled_(decoupled) {}
    void add_group_checked(std::vector<Tensor> params, double lr, const GroupOptions& o);
    const GroupOptions& group_options(std::size_t g) const { return options_.at(g); }

  private:
    void validate(double lr, const GroupOptions& o) const;
    bool decoupled_;
    std::vector<GroupOptions> options_;
};

}  // namespace detail

class Adam : public detail::AdamBase {
  public:
    using Options = AdamOptions;
    // Throws ValueError naming the option when one is out of its domain.
    explicit Adam(std::vector<Tensor> params, Options options = {});
    void add_param_group(std::vector<Tensor> params, Options options);
    std::string name() const override { return "Adam"; }
    // The options of group g; .lr is the group's current learning rate.
    Options options(std::size_t g) const;
};

class AdamW : public detail::AdamBase {
  public:
    using Options = AdamWOptions;
    explicit AdamW(std::vector<Tensor> params, Options options = {});
    void add_param_group(std::vector<Tensor> params, Options options);
    std::string name() const override { return "AdamW"; }
    Options options(std::size_t g) const;
};

}  // namespace tapegrad::optim

#pragma once
// The optimizer interface, as torch.optim.Optimizer: parameter groups, each with its own
// learning rate (and the optimizer's other options), per-parameter state, step(),
// zero_grad(), and a state_dict that saves and restores everything needed to resume.
//
// A new first-order optimizer is an update rule that FirstOrder drives (first_order.hpp): its
// options, and the update of one parameter (float or double) from its gradient and state.
// Groups, state_dict, checkpoints, set_lr and schedules come with the driver. signSGD
// (Bernstein et al. 2018), p = p - lr * sign(g):
//
//   struct SignSGD {
//       struct Options {
//           double lr = 1e-3;
//       };
//       static constexpr const char* name = "SignSGD";
//       template <class T>
//       static void update(tg::optim::ParamState<T>& p, const Options& o) {
//           for (std::size_t i = 0; i < p.size(); ++i) {
//               const T g = p.grad()[i];
//               p.value()[i] -= T(o.lr) * T((g > 0) - (g < 0));
//           }
//       }
//   };
//   tg::optim::FirstOrder<SignSGD> opt(model.parameters(), {.lr = 1e-3});
//
// Methods that evaluate the loss more than once per step (LBFGS, Newton) subclass
// ClosureOptimizer (closure_optimizer.hpp): their step with a closure, and name().
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tapegrad/autodiff/state_dict.hpp"
#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad::optim {

struct ParamGroup {
    std::vector<Tensor> params;
    double lr = 0.0;  // the group's current learning rate; schedules change it
};

class Optimizer {
  public:
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    // One update of every parameter from its accumulated .grad(). A parameter that has no
    // gradient (has_grad() is false) is skipped, as PyTorch skips p.grad is None.
    virtual void step() = 0;
    // For methods that evaluate the loss more than once per step (LBFGS, Newton): closure
    // zeroes the gradients, records a tape, runs backward and returns the loss. The default
    // calls closure once, then step(), and returns that loss.
    virtual double step(const std::function<double()>& closure);
    virtual std::string name() const = 0;

    // Drops the gradient of every parameter (PyTorch's set_to_none=True).
    void zero_grad();

    std::vector<ParamGroup>& param_groups() { return groups_; }
    const std::vector<ParamGroup>& param_groups() const { return groups_; }
    // Every parameter of every group, in order.
    std::vector<Tensor> parameters() const;
    // The learning rate of group 0, and a setter for every group.
    double lr() const;
    void set_lr(double lr);

    // Everything needed to resume exactly: "param_groups.G.lr" and the per-parameter state
    // "state.G.I.NAME" (group G, parameter I of the group), float64 scalars for counters.
    // Subclasses with further state extend both.
    virtual StateDict state_dict() const;
    // Restores what state_dict saved. Throws ValueError naming the key when the saved state
    // does not fit these parameter groups (missing key, a count or shape that differs).
    virtual void load_state_dict(const StateDict& state);

  protected:
    explicit Optimizer(std::vector<ParamGroup> groups);
    // Appends a group; subclasses call this from their add_param_group with their options.
    void add_group(ParamGroup group);

    // The state of parameter i of group g ("momentum_buffer", "exp_avg", "step"); empty
    // until the optimizer's first step creates it.
    std::map<std::string, Tensor>& state(std::size_t g, std::size_t i);
    const std::map<std::string, Tensor>* find_state(std::size_t g, std::size_t i) const;

  private:
    std::vector<ParamGroup> groups_;
    std::vector<std::vector<std::map<std::string, Tensor>>> state_;  // [group][param]
};

}  // namespace tapegrad::optim

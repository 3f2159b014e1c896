#pragma once
// What the methods that evaluate the loss more than once per step (LBFGS, Newton) share: one
// parameter group holding every parameter (PyTorch's LBFGS takes no groups either), their
// options with the live learning rate, and a step() without closure that says one is needed.
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

namespace detail {
// Throws ValueError: "<name>.step: <name> evaluates the loss more than once per step and needs
// a closure (...)".
[[noreturn]] void closure_required(std::string_view name);
// Throws ValueError "<name>: got an empty parameter list" when params is empty.
void require_params(std::string_view name, const std::vector<Tensor>& params);
}  // namespace detail

template <class Options>
class ClosureOptimizer : public Optimizer {
  public:
    // Throws ValueError: the method needs a closure.
    void step() override { detail::closure_required(name()); }
    // Runs one step of the method; a closure zeroes the gradients, records a tape, runs
    // backward and returns the loss. An empty closure throws as step() does.
    double step(const std::function<double()>& closure) override {
        if (!closure) step();
        return step_with(closure);
    }

    // The options, with .lr the group's current learning rate (set_lr and schedules change it).
    Options options() const {
        Options o = options_;
        o.lr = param_groups()[0].lr;
        return o;
    }

  protected:
    // ValueError for an empty parameter list, naming the method.
    ClosureOptimizer(std::string_view name, std::vector<Tensor> params, Options options)
        : Optimizer(std::vector<ParamGroup>{}), options_(std::move(options)) {
        detail::require_params(name, params);
        add_group({std::move(params), options_.lr});
    }
    // The method's step, with a closure that is set.
    virtual double step_with(const std::function<double()>& closure) = 0;

    Options options_;  // as given; lr lives in param_groups()[0].lr
};

}  // namespace tapegrad::optim

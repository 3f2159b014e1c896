#pragma once
// The --optim flag: an optimizer by name with the learning rate given, or its default.
#include <memory>
#include <string>
#include <vector>

#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad::cli {

// sgd, momentum (SGD, momentum 0.9), nesterov, adam, adamw, rmsprop, adagrad, lbfgs.
const std::vector<std::string>& optimizer_names();
// The learning rate used when --lr is not given.
double default_lr(const std::string& name);
// ValueError listing the names for an unknown one.
std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& name,
                                                 std::vector<Tensor> params, double lr);

}  // namespace tapegrad::cli

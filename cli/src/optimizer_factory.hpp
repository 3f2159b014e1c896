#pragma once
// The --optim flag: one table of the optimizers it offers, which the flag's choices, --help's
// text, the default learning rates and the factory all read.
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad::cli {

struct OptimizerChoice {
    std::string_view name;  // what --optim takes
    double default_lr;      // used when --lr is not given
    std::string_view help;  // what --help says about it
    // Trained one full-batch step per epoch (its line search and curvature pairs want the
    // same loss at every evaluation), and not by the learning-rate range test.
    bool full_batch;
    std::unique_ptr<optim::Optimizer> (*make)(std::vector<Tensor> params, double lr);
};

// Every choice, in the order --help lists them: sgd, momentum (SGD, momentum 0.9), nesterov,
// adam, adamw, rmsprop, adagrad, lbfgs.
std::span<const OptimizerChoice> optimizer_choices();
// The choice of that name; ValueError listing the names for an unknown one.
const OptimizerChoice& find_optimizer(const std::string& name);
// The names, in the table's order.
const std::vector<std::string>& optimizer_names();
// The learning rate used when --lr is not given (ValueError for an unknown name).
double default_lr(const std::string& name);
// ValueError listing the names for an unknown one.
std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& name,
                                                 std::vector<Tensor> params, double lr);
// "--optim"'s help: each name with what it is and its default learning rate.
std::string optimizer_help();

}  // namespace tapegrad::cli

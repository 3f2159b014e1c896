#pragma once
// What `train` optimises and reports, shared with `predict` so that both compute the metrics
// the same way: the targets as the loss wants them, the loss and the metrics of the task.
#include <string>
#include <vector>

#include <tapegrad/autodiff/tensor.hpp>
#include <tapegrad/optim/fit.hpp>

namespace tapegrad::cli {

// Every model here outputs logits: a binary class is predicted when its logit is above 0.
constexpr double kLogitThreshold = 0.0;

// Targets y [N] as the loss wants them: for a classification (classes not empty, sorted) the
// index of each value in classes, [N, 1] for two classes (BCE on logits) and [N] for more
// (cross-entropy); for a regression the values, [N, 1] (MSE). ValueError naming the row
// (counted from 1) and the value for a value that is not one of the classes.
Tensor encode_targets(const std::vector<double>& classes, const Tensor& y);

// Binary cross-entropy on logits for two classes, cross-entropy for more (metric accuracy),
// mean squared error for a regression (classes empty; metric r2).
struct Objective {
    optim::LossFn loss;
    std::vector<std::string> metrics;
};
Objective objective_for(const std::vector<double>& classes);

}  // namespace tapegrad::cli

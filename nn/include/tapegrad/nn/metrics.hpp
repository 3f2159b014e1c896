#pragma once
// Metrics on plain values (nothing is recorded on a tape), as scikit-learn defines them
// (accuracy_score, precision_score, recall_score, f1_score with zero_division=0,
// confusion_matrix, mean_squared_error, mean_absolute_error, r2_score).
//
// Classification predictions are scores in a tensor, float32 or float64:
//   [N] or [N, 1]  one score per example for a binary task: class 1 when score > threshold
//                  (pass threshold 0 for logits, 0.5 for probabilities; 0/1 class indices
//                  pass through unchanged for any threshold in [0, 1));
//   [N, C], C > 1  one row of scores per example: the argmax, ties to the lowest index;
// or class indices in a std::vector (what predict_classes returns), for any number of classes.
// A NaN score is never above the threshold and never the argmax of a row that has a number.
// Targets are class indices [N] or [N, 1]: whole numbers, float32 or float64.
//
// Errors: ShapeError (naming the function and both shapes) when the numbers of examples
// differ or a tensor has another rank; ValueError for a target that is not a whole number,
// a class outside [0, number of classes), or no examples at all.
#include <cstddef>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad::nn::metrics {

// Class predictions from scores: argmax of each row for [N, C] (C > 1); score > threshold
// for [N] or [N, 1]. Pass threshold 0 for logits, 0.5 for probabilities.
std::vector<std::size_t> predict_classes(const Tensor& scores, double threshold = 0.5);

// The fraction of examples whose predicted class is the target. The classes allowed in the
// target are [0, C) for [N, C] scores, {0, 1} for a column of scores, and any non-negative
// whole number beside class indices.
double accuracy(const Tensor& scores, const Tensor& target, double threshold = 0.5);
double accuracy(const std::vector<std::size_t>& predicted, const Tensor& target);

// Binary, positive class 1 (targets and predictions in {0, 1}; scores [N], [N, 1] or [N, 2]):
//   precision = TP / (TP + FP), recall = TP / (TP + FN), f1 = 2 TP / (2 TP + FP + FN),
// each 0 when its denominator is 0 (no predicted, no actual positives), as scikit-learn's
// zero_division=0.
double precision(const Tensor& scores, const Tensor& target, double threshold = 0.5);
double recall(const Tensor& scores, const Tensor& target, double threshold = 0.5);
double f1_score(const Tensor& scores, const Tensor& target, double threshold = 0.5);
double precision(const std::vector<std::size_t>& predicted, const Tensor& target);
double recall(const std::vector<std::size_t>& predicted, const Tensor& target);
double f1_score(const std::vector<std::size_t>& predicted, const Tensor& target);

// [C, C] counts, row = true class, column = predicted class (C = num_classes, at least 1).
// [N, K] scores must have K = num_classes; no examples gives a matrix of zeros.
std::vector<std::vector<std::size_t>> confusion_matrix(const Tensor& scores, const Tensor& target,
                                                       std::size_t num_classes,
                                                       double threshold = 0.5);
std::vector<std::vector<std::size_t>> confusion_matrix(const std::vector<std::size_t>& predicted,
                                                       const Tensor& target,
                                                       std::size_t num_classes);

// Regression: prediction and target [N] or [N, 1] (interchangeably), or both [N, D] for D
// outputs. mse and mae average over every element (scikit-learn's uniform_average); r2_score
// is the mean over the D columns of 1 - SS_res / SS_tot, SS_tot = sum (y - mean y)^2.
// A constant target column (SS_tot = 0) scores 1.0 when predicted exactly and 0.0 otherwise
// (scikit-learn's force_finite=True). r2 needs N >= 2 (scikit-learn returns NaN with a
// warning; here it is a ValueError). NaN or infinite values give a NaN or infinite result
// (scikit-learn raises instead), so a diverged model shows as such in the logs.
double mse(const Tensor& prediction, const Tensor& target);
double mae(const Tensor& prediction, const Tensor& target);
double r2_score(const Tensor& prediction, const Tensor& target);  // 1 - SS_res / SS_tot

}  // namespace tapegrad::nn::metrics

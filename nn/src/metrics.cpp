// Classification and regression metrics, as scikit-learn computes them, on plain values: the
// inputs are read as double (float32 or float64) and nothing is recorded on a tape.
#include "tapegrad/nn/metrics.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::nn::metrics {

namespace {

using Classes = std::vector<std::size_t>;

std::vector<double> values_of(const Tensor& t) {
    if (t.dtype() == f32) {
        const auto& v = t.value<float>();
        return std::vector<double>(v.data(), v.data() + v.size());
    }
    const auto& v = t.value<double>();
    return std::vector<double>(v.data(), v.data() + v.size());
}

// A column [N] or [N, 1] (scores of a binary task, class indices of a target).
bool is_column(const Shape& s) {
    return s.size() == 1 || (s.size() == 2 && s[1] == 1);
}

// The number of classes that scores can predict: C for rows [N, C], 2 for a column.
std::size_t classes_of_scores(const char* fn, const Tensor& scores) {
    const Shape& s = scores.shape();
    if (is_column(s)) return 2;
    if (s.size() != 2 || s[1] == 0) {
        throw ShapeError(std::string(fn) + ": scores must have shape [N], [N, 1] or [N, C], got " +
                         shape_str(s));
    }
    return s[1];
}

Classes predict(const char* fn, const Tensor& scores, double threshold) {
    const std::size_t c = classes_of_scores(fn, scores);
    const std::vector<double> v = values_of(scores);
    const std::size_t n = scores.shape()[0];
    Classes out(n, 0);
    if (is_column(scores.shape())) {
        if (std::isnan(threshold)) throw ValueError(std::string(fn) + ": the threshold is NaN");
        for (std::size_t i = 0; i < n; ++i) out[i] = v[i] > threshold ? 1 : 0;
        return out;
    }
    // Argmax of each row: strict > keeps the lowest index on ties (numpy.argmax), and a NaN
    // never wins over a number; a row of NaN gives class 0.
    for (std::size_t i = 0; i < n; ++i) {
        const double* row = v.data() + i * c;
        std::size_t best = c;
        for (std::size_t j = 0; j < c; ++j) {
            if (std::isnan(row[j])) continue;
            if (best == c || row[j] > row[best]) best = j;
        }
        out[i] = best == c ? 0 : best;
    }
    return out;
}

// Class indices of a target [N] or [N, 1], each a whole number in [0, limit).
Classes target_classes(const char* fn, const Tensor& target, std::size_t limit,
                       const std::string& limit_reason) {
    if (!is_column(target.shape())) {
        throw ShapeError(std::string(fn) + ": the target must be class indices of shape [N] or " +
                         "[N, 1], got " + shape_str(target.shape()));
    }
    const std::vector<double> v = values_of(target);
    // Beyond 2^53 a double no longer holds every whole number, and the cast would overflow.
    const double cap = std::min(static_cast<double>(limit), 9007199254740992.0);
    Classes out(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (!std::isfinite(v[i]) || v[i] != std::floor(v[i])) {
            throw ValueError(std::string(fn) + ": target row " + std::to_string(i) + " is " +
                             exact_text(v[i]) + ", not a whole number (targets are class indices)");
        }
        if (v[i] < 0 || v[i] >= cap) {
            throw ValueError(std::string(fn) + ": target row " + std::to_string(i) + " is class " +
                             exact_text(v[i]) + ", outside [0, " +
                             (limit == std::numeric_limits<std::size_t>::max()
                                  ? std::string("2^53")
                                  : std::to_string(limit)) +
                             ")" + limit_reason);
        }
        out[i] = static_cast<std::size_t>(v[i]);
    }
    return out;
}

void check_same_n(const char* fn, const std::string& what, const Shape& pred_shape,
                  std::size_t n_pred, const Tensor& target) {
    const std::size_t n_target = target.shape().empty() ? 1 : target.shape()[0];
    if (n_pred != n_target) {
        throw ShapeError(std::string(fn) + ": " + what + " of shape " + shape_str(pred_shape) +
                         " and target of shape " + shape_str(target.shape()) +
                         " have different numbers of examples (" + std::to_string(n_pred) +
                         " and " + std::to_string(n_target) + ")");
    }
}

void check_not_empty(const char* fn, std::size_t n) {
    if (n == 0) throw ValueError(std::string(fn) + ": no examples (N = 0)");
}

Shape shape_of(const Classes& predicted) {
    return Shape{predicted.size()};
}

// Predicted classes and target classes of the same length, from scores.
std::pair<Classes, Classes> from_scores(const char* fn, const Tensor& scores, const Tensor& target,
                                        double threshold) {
    const std::size_t c = classes_of_scores(fn, scores);
    check_same_n(fn, "scores", scores.shape(), scores.shape()[0], target);
    Classes predicted = predict(fn, scores, threshold);
    const std::string reason = " for scores of shape " + shape_str(scores.shape());
    return {std::move(predicted), target_classes(fn, target, c, reason)};
}

void check_predicted(const char* fn, const Classes& predicted, std::size_t limit,
                     const std::string& why) {
    for (std::size_t i = 0; i < predicted.size(); ++i) {
        if (predicted[i] >= limit) {
            throw ValueError(std::string(fn) + ": predicted class at row " + std::to_string(i) +
                             " is " + std::to_string(predicted[i]) + ", outside [0, " +
                             std::to_string(limit) + ")" + why);
        }
    }
}

double accuracy_of(const Classes& predicted, const Classes& target) {
    std::size_t right = 0;
    for (std::size_t i = 0; i < target.size(); ++i) right += predicted[i] == target[i];
    return static_cast<double>(right) / static_cast<double>(target.size());
}

struct BinaryCounts {
    std::size_t tp = 0, fp = 0, fn = 0;
};

BinaryCounts count(const Classes& predicted, const Classes& target) {
    BinaryCounts c;
    for (std::size_t i = 0; i < target.size(); ++i) {
        c.tp += predicted[i] == 1 && target[i] == 1;
        c.fp += predicted[i] == 1 && target[i] == 0;
        c.fn += predicted[i] == 0 && target[i] == 1;
    }
    return c;
}

// Binary metrics from scores: a column, or rows of two scores (argmax); more classes is a
// shape problem, since precision of class 1 alone says little about a C-class model.
BinaryCounts binary_from_scores(const char* fn, const Tensor& scores, const Tensor& target,
                                double threshold) {
    const std::size_t c = classes_of_scores(fn, scores);
    if (c > 2) {
        throw ShapeError(std::string(fn) + " is binary (positive class 1): scores of shape " +
                         shape_str(scores.shape()) + " have " + std::to_string(c) +
                         " classes; use accuracy or confusion_matrix");
    }
    auto [predicted, classes] = from_scores(fn, scores, target, threshold);
    check_not_empty(fn, classes.size());
    return count(predicted, classes);
}

BinaryCounts binary_from_classes(const char* fn, const Classes& predicted, const Tensor& target) {
    check_same_n(fn, "predicted classes", shape_of(predicted), predicted.size(), target);
    const std::string why = " (a binary metric: classes 0 and 1)";
    check_predicted(fn, predicted, 2, why);
    Classes classes = target_classes(fn, target, 2, why);
    check_not_empty(fn, classes.size());
    return count(predicted, classes);
}

// zero_division=0: a ratio with nothing to divide by is 0.
double ratio(std::size_t num, std::size_t den) {
    return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}
double precision_of(BinaryCounts c) {
    return ratio(c.tp, c.tp + c.fp);  // TP / (TP + FP)
}
double recall_of(BinaryCounts c) {
    return ratio(c.tp, c.tp + c.fn);  // TP / (TP + FN)
}
// 2PR / (P + R) written with counts, which is 2 TP / (2 TP + FP + FN), as scikit-learn >= 1.3.
double f1_of(BinaryCounts c) {
    return ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn);
}

std::vector<std::vector<std::size_t>> matrix_of(const Classes& predicted, const Classes& target,
                                                std::size_t num_classes) {
    std::vector<std::vector<std::size_t>> m(num_classes, std::vector<std::size_t>(num_classes, 0));
    for (std::size_t i = 0; i < target.size(); ++i) ++m[target[i]][predicted[i]];
    return m;
}

void check_num_classes(const char* fn, std::size_t num_classes) {
    if (num_classes == 0) throw ValueError(std::string(fn) + ": num_classes is 0");
}

// Regression values as N rows of D columns: [N] and [N, 1] are one column, [N, D] D columns.
struct Columns {
    std::size_t n = 0, d = 1;
    std::vector<double> pred, target;  // row-major, N * D each
};

Columns regression_inputs(const char* fn, const Tensor& prediction, const Tensor& target) {
    auto rows_cols = [&](const Tensor& t, const char* what) {
        const Shape& s = t.shape();
        if (s.size() == 1) return std::pair<std::size_t, std::size_t>{s[0], 1};
        if (s.size() == 2) return std::pair<std::size_t, std::size_t>{s[0], s[1]};
        throw ShapeError(std::string(fn) + ": the " + what + " must have shape [N], [N, 1] or " +
                         "[N, D], got " + shape_str(s));
    };
    const auto [np, dp] = rows_cols(prediction, "prediction");
    const auto [nt, dt] = rows_cols(target, "target");
    if (np != nt || dp != dt) {
        throw ShapeError(std::string(fn) + ": prediction of shape " +
                         shape_str(prediction.shape()) + " and target of shape " +
                         shape_str(target.shape()) +
                         (np != nt ? " have different numbers of examples"
                                   : " have different numbers of outputs"));
    }
    check_not_empty(fn, np);
    return {np, dp, values_of(prediction), values_of(target)};
}

}  // namespace

std::vector<std::size_t> predict_classes(const Tensor& scores, double threshold) {
    return predict("predict_classes", scores, threshold);
}

double accuracy(const Tensor& scores, const Tensor& target, double threshold) {
    auto [predicted, classes] = from_scores("accuracy", scores, target, threshold);
    check_not_empty("accuracy", classes.size());
    return accuracy_of(predicted, classes);
}

double accuracy(const std::vector<std::size_t>& predicted, const Tensor& target) {
    check_same_n("accuracy", "predicted classes", shape_of(predicted), predicted.size(), target);
    Classes classes =
        target_classes("accuracy", target, std::numeric_limits<std::size_t>::max(), "");
    check_not_empty("accuracy", classes.size());
    return accuracy_of(predicted, classes);
}

double precision(const Tensor& scores, const Tensor& target, double threshold) {
    return precision_of(binary_from_scores("precision", scores, target, threshold));
}
double recall(const Tensor& scores, const Tensor& target, double threshold) {
    return recall_of(binary_from_scores("recall", scores, target, threshold));
}
double f1_score(const Tensor& scores, const Tensor& target, double threshold) {
    return f1_of(binary_from_scores("f1_score", scores, target, threshold));
}
double precision(const std::vector<std::size_t>& predicted, const Tensor& target) {
    return precision_of(binary_from_classes("precision", predicted, target));
}
double recall(const std::vector<std::size_t>& predicted, const Tensor& target) {
    return recall_of(binary_from_classes("recall", predicted, target));
}
double f1_score(const std::vector<std::size_t>& predicted, const Tensor& target) {
    return f1_of(binary_from_classes("f1_score", predicted, target));
}

std::vector<std::vector<std::size_t>> confusion_matrix(const Tensor& scores, const Tensor& target,
                                                       std::size_t num_classes, double threshold) {
    const char* fn = "confusion_matrix";
    check_num_classes(fn, num_classes);
    const std::size_t c = classes_of_scores(fn, scores);
    if (!is_column(scores.shape()) && c != num_classes) {
        throw ShapeError(std::string(fn) + ": scores of shape " + shape_str(scores.shape()) +
                         " have " + std::to_string(c) + " classes but num_classes is " +
                         std::to_string(num_classes));
    }
    if (is_column(scores.shape()) && num_classes < 2) {
        throw ValueError(std::string(fn) + ": scores of shape " + shape_str(scores.shape()) +
                         " predict classes 0 and 1 but num_classes is " +
                         std::to_string(num_classes));
    }
    check_same_n(fn, "scores", scores.shape(), scores.shape()[0], target);
    Classes predicted = predict(fn, scores, threshold);
    Classes classes = target_classes(fn, target, num_classes,
                                     " (num_classes is " + std::to_string(num_classes) + ")");
    return matrix_of(predicted, classes, num_classes);
}

std::vector<std::vector<std::size_t>> confusion_matrix(const std::vector<std::size_t>& predicted,
                                                       const Tensor& target,
                                                       std::size_t num_classes) {
    const char* fn = "confusion_matrix";
    check_num_classes(fn, num_classes);
    check_same_n(fn, "predicted classes", shape_of(predicted), predicted.size(), target);
    const std::string why = " (num_classes is " + std::to_string(num_classes) + ")";
    check_predicted(fn, predicted, num_classes, why);
    Classes classes = target_classes(fn, target, num_classes, why);
    return matrix_of(predicted, classes, num_classes);
}

double mse(const Tensor& prediction, const Tensor& target) {
    const Columns c = regression_inputs("mse", prediction, target);
    double sum = 0.0;  // mean of (y - y_hat)^2 over all N * D elements
    for (std::size_t i = 0; i < c.pred.size(); ++i) {
        const double e = c.target[i] - c.pred[i];
        sum += e * e;
    }
    return sum / static_cast<double>(c.pred.size());
}

double mae(const Tensor& prediction, const Tensor& target) {
    const Columns c = regression_inputs("mae", prediction, target);
    double sum = 0.0;  // mean of |y - y_hat| over all N * D elements
    for (std::size_t i = 0; i < c.pred.size(); ++i) sum += std::abs(c.target[i] - c.pred[i]);
    return sum / static_cast<double>(c.pred.size());
}

double r2_score(const Tensor& prediction, const Tensor& target) {
    const Columns c = regression_inputs("r2_score", prediction, target);
    if (c.n < 2) {
        throw ValueError("r2_score: needs at least 2 examples, got " + std::to_string(c.n) +
                         " (R^2 is not defined for one)");
    }
    double total = 0.0;
    for (std::size_t j = 0; j < c.d; ++j) {
        auto y = [&](std::size_t i) { return c.target[i * c.d + j]; };
        auto y_hat = [&](std::size_t i) { return c.pred[i * c.d + j]; };
        double mean = 0.0;
        bool constant = true;  // tested exactly: a mean of equal values can be off by an ulp
        for (std::size_t i = 0; i < c.n; ++i) {
            mean += y(i);
            constant = constant && y(i) == y(0);
        }
        mean /= static_cast<double>(c.n);
        double ss_res = 0.0, ss_tot = 0.0;
        for (std::size_t i = 0; i < c.n; ++i) {
            ss_res += (y(i) - y_hat(i)) * (y(i) - y_hat(i));
            ss_tot += (y(i) - mean) * (y(i) - mean);
        }
        if (constant && std::isfinite(y(0))) {
            // scikit-learn (force_finite=True): perfect predictions of a constant score 1, any
            // error 0, rather than 1 - x / 0. A NaN prediction still gives NaN.
            total += std::isnan(ss_res) ? ss_res : (ss_res == 0.0 ? 1.0 : 0.0);
        } else {
            total += 1.0 - ss_res / ss_tot;
        }
    }
    return total / static_cast<double>(c.d);
}

}  // namespace tapegrad::nn::metrics

// The public losses: argument checks with errors that name the function, then one fused op
// (loss_ops.cpp) for the unreduced loss and a mean or sum for the reduction.
#include "tapegrad/nn/loss.hpp"

#include <cmath>
#include <string>

#include "loss_ops.hpp"
#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad::nn {

namespace {

Tensor reduce(const Tensor& per_element, Reduction r) {
    switch (r) {
        case Reduction::mean:
            return mean(per_element);
        case Reduction::sum:
            return sum(per_element);
        case Reduction::none:
            break;
    }
    return per_element;
}

// PyTorch broadcasts mismatched shapes with only a warning, which silently turns an [N, 1]
// prediction against an [N] target into an [N, N] loss; here it is an error.
void check_same_shape(const char* fn, const Tensor& input, const Tensor& target) {
    if (input.shape() != target.shape()) {
        throw ShapeError(std::string(fn) + ": input shape " + shape_str(input.shape()) +
                         " and target shape " + shape_str(target.shape()) +
                         " differ; the loss is elementwise and does not broadcast (reshape "
                         "one of them)");
    }
}

template <class F>
void for_each_value(const Tensor& t, F f) {
    if (t.dtype() == f32) {
        const auto& v = t.value<float>();
        for (std::size_t i = 0; i < v.size(); ++i) f(i, static_cast<double>(v.data()[i]));
    } else {
        const auto& v = t.value<double>();
        for (std::size_t i = 0; i < v.size(); ++i) f(i, v.data()[i]);
    }
}

// Logits or log-probabilities must be [N, C] with one class per row.
void check_rows(const char* fn, const char* what, const Tensor& x, std::size_t n_targets) {
    if (x.dim() != 2 || x.shape()[1] == 0) {
        throw ShapeError(std::string(fn) + ": " + what +
                         " must have shape [N, C] with C >= 1, got " + shape_str(x.shape()));
    }
    if (x.shape()[0] != n_targets) {
        throw ShapeError(std::string(fn) + ": " + what + " of shape " + shape_str(x.shape()) +
                         " have " + std::to_string(x.shape()[0]) + " rows but the target has " +
                         std::to_string(n_targets) + " class indices");
    }
}

void throw_out_of_range(const char* fn, const char* what, const Tensor& x, std::size_t row,
                        const std::string& value) {
    throw ValueError(std::string(fn) + ": target row " + std::to_string(row) + " is class " +
                     value + ", outside [0, " + std::to_string(x.shape()[1]) + ") for " + what +
                     " of shape " + shape_str(x.shape()));
}

const std::vector<std::int64_t>& checked_classes(const char* fn, const char* what, const Tensor& x,
                                                 const std::vector<std::int64_t>& target) {
    check_rows(fn, what, x, target.size());
    const auto nc = static_cast<std::int64_t>(x.shape()[1]);
    for (std::size_t r = 0; r < target.size(); ++r)
        if (target[r] < 0 || target[r] >= nc)
            throw_out_of_range(fn, what, x, r, std::to_string(target[r]));
    return target;
}

// Classes held as float values: each must be a whole number in [0, C).
std::vector<std::int64_t> classes_from_tensor(const char* fn, const char* what, const Tensor& x,
                                              const Tensor& target) {
    if (target.dim() != 1) {
        throw ShapeError(std::string(fn) + ": the target must hold one class index per row, " +
                         "shape [N], got " + shape_str(target.shape()) + " (class " +
                         "probabilities are not supported)");
    }
    check_rows(fn, what, x, target.numel());
    const double nc = static_cast<double>(x.shape()[1]);
    std::vector<std::int64_t> classes(target.numel());
    for_each_value(target, [&](std::size_t r, double v) {
        if (!std::isfinite(v) || std::floor(v) != v) {
            throw ValueError(std::string(fn) + ": target row " + std::to_string(r) + " holds " +
                             exact_text(v) + ", which is not a whole class index");
        }
        if (v < 0 || v >= nc) throw_out_of_range(fn, what, x, r, exact_text(v));
        classes[r] = static_cast<std::int64_t>(v);
    });
    return classes;
}

Tensor cross_entropy_checked(const Tensor& logits, const std::vector<std::int64_t>& classes,
                             Reduction r, double label_smoothing) {
    if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0)) {
        throw ValueError("cross_entropy: label_smoothing must lie in [0, 1], got " +
                         exact_text(label_smoothing));
    }
    return reduce(detail::cross_entropy_rows(logits, classes, label_smoothing), r);
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction r) {
    check_same_shape("mse_loss", input, target);
    return reduce(detail::squared_error(input, target), r);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction r) {
    check_same_shape("l1_loss", input, target);
    return reduce(detail::absolute_error(input, target), r);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction r, double delta) {
    check_same_shape("huber_loss", input, target);
    if (!(delta > 0.0))
        throw ValueError("huber_loss: delta must be positive, got " + exact_text(delta));
    return reduce(detail::huber_error(input, target, delta), r);
}

Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target, Reduction r) {
    check_same_shape("binary_cross_entropy", probs, target);
    // NaN passes through (a diverging model shows up as a NaN loss, which the training loop
    // reports with its step); a finite value outside [0, 1] is a mistake in the model.
    for_each_value(probs, [](std::size_t i, double p) {
        if (p < 0.0 || p > 1.0) {
            throw ValueError(
                "binary_cross_entropy: probabilities must lie in [0, 1], but "
                "element " +
                std::to_string(i) + " is " + exact_text(p) + " (for logits use bce_with_logits)");
        }
    });
    return reduce(detail::bce_probs(probs, target), r);
}

Tensor bce_with_logits(const Tensor& logits, const Tensor& target, Reduction r) {
    check_same_shape("bce_with_logits", logits, target);
    return reduce(detail::bce_logits(logits, target), r);
}

Tensor cross_entropy(const Tensor& logits, const std::vector<std::int64_t>& target, Reduction r,
                     double label_smoothing) {
    return cross_entropy_checked(logits, checked_classes("cross_entropy", "logits", logits, target),
                                 r, label_smoothing);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction r,
                     double label_smoothing) {
    return cross_entropy_checked(
        logits, classes_from_tensor("cross_entropy", "logits", logits, target), r, label_smoothing);
}

Tensor cross_entropy(const Tensor& logits, std::initializer_list<std::int64_t> target, Reduction r,
                     double label_smoothing) {
    return cross_entropy(logits, std::vector<std::int64_t>(target), r, label_smoothing);
}

Tensor nll_loss(const Tensor& log_probs, const std::vector<std::int64_t>& target, Reduction r) {
    return reduce(detail::nll_rows(log_probs, checked_classes("nll_loss", "log-probabilities",
                                                              log_probs, target)),
                  r);
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction r) {
    const auto classes = classes_from_tensor("nll_loss", "log-probabilities", log_probs, target);
    return reduce(detail::nll_rows(log_probs, classes), r);
}

Tensor nll_loss(const Tensor& log_probs, std::initializer_list<std::int64_t> target, Reduction r) {
    return nll_loss(log_probs, std::vector<std::int64_t>(target), r);
}

Tensor l2_penalty(const std::vector<Tensor>& params, double weight) {
    if (params.empty()) throw ValueError("l2_penalty: no tensors given");
    return detail::weighted_sum_of_squares(params, weight);
}

}  // namespace tapegrad::nn

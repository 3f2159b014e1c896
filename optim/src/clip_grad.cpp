#include "tapegrad/optim/clip_grad.hpp"

#include <algorithm>
#include <cmath>

#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::optim {

namespace {

// The largest |g|, and whether any element is NaN (std::max would skip it).
template <class T>
void scan(const xt::xarray<T>& g, double& largest, bool& saw_nan) {
    for (const T x : g) {
        const double a = std::abs(static_cast<double>(x));
        if (std::isnan(a)) saw_nan = true;
        largest = std::max(largest, a);
    }
}

// sum (|g| / scale)^p: dividing by the largest element first keeps a norm of huge (1e200)
// or tiny (1e-200) gradients from overflowing or underflowing in the powers.
template <class T>
double scaled_power_sum(const xt::xarray<T>& g, double norm_type, double scale) {
    double acc = 0.0;
    for (const T x : g) {
        const double a = std::abs(static_cast<double>(x)) / scale;
        acc += norm_type == 2.0 ? a * a : norm_type == 1.0 ? a : std::pow(a, norm_type);
    }
    return acc;
}

}  // namespace

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type) {
    if (!(max_norm >= 0)) {
        throw ValueError("clip_grad_norm: max_norm must be >= 0, got " + short_text(max_norm));
    }
    if (!(norm_type > 0)) {
        throw ValueError("clip_grad_norm: norm_type must be > 0 (or infinity), got " +
                         short_text(norm_type));
    }
    std::vector<Tensor> grads;
    for (const Tensor& p : params)
        if (p.has_grad()) grads.push_back(p.grad());
    if (grads.empty()) return 0.0;

    // The norm is max |g| for p = inf, else largest * (sum (|g| / largest)^p)^(1/p).
    double largest = 0.0;
    bool saw_nan = false;
    for (const Tensor& g : grads) {
        if (g.dtype() == f32) {
            scan(g.value<float>(), largest, saw_nan);
        } else {
            scan(g.value<double>(), largest, saw_nan);
        }
    }
    double total = largest;
    if (saw_nan) {
        total = std::numeric_limits<double>::quiet_NaN();
    } else if (!std::isinf(norm_type) && std::isfinite(largest) && largest > 0) {
        double acc = 0.0;
        for (const Tensor& g : grads) {
            acc += g.dtype() == f32 ? scaled_power_sum(g.value<float>(), norm_type, largest)
                                    : scaled_power_sum(g.value<double>(), norm_type, largest);
        }
        total = largest * (norm_type == 2.0   ? std::sqrt(acc)
                           : norm_type == 1.0 ? acc
                                              : std::pow(acc, 1.0 / norm_type));
    }
    if (!std::isfinite(total)) {
        throw Error("clip_grad_norm: the total " + short_text(norm_type) +
                    "-norm of the gradients is " + short_text(total) +
                    ", so it cannot be clipped (scaling would write NaN into the weights); the "
                    "gradients are left as they are. Training has probably diverged: try a "
                    "smaller learning rate");
    }
    if (total > max_norm) {
        // Exactly max_norm / total: the norm after clipping equals max_norm up to rounding.
        const double coef = max_norm / total;
        for (Tensor& g : grads) g *= coef;
    }
    return total;
}

void clip_grad_value(const std::vector<Tensor>& params, double clip_value) {
    if (!(clip_value >= 0)) {
        throw ValueError("clip_grad_value: clip_value must be >= 0, got " + short_text(clip_value));
    }
    for (const Tensor& p : params) {
        if (!p.has_grad()) continue;
        Tensor g = p.grad();
        auto clamp = [clip_value](auto& a) {
            using T = typename std::decay_t<decltype(a)>::value_type;
            const T hi = static_cast<T>(clip_value);
            for (auto& x : a) x = std::clamp(x, -hi, hi);
        };
        if (g.dtype() == f32) {
            clamp(g.mutable_value<float>());
        } else {
            clamp(g.mutable_value<double>());
        }
    }
}

}  // namespace tapegrad::optim

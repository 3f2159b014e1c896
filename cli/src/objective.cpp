#include "objective.hpp"

#include <algorithm>
#include <cstdio>

#include <tapegrad/autodiff/error.hpp>
#include <tapegrad/autodiff/ops.hpp>
#include <tapegrad/nn/loss.hpp>

namespace tapegrad::cli {

Tensor encode_targets(const std::vector<double>& classes, const Tensor& y) {
    const auto v = y.to_array<double>();
    const std::size_t n = v.size();
    if (classes.empty()) return reshape(Tensor(xt::xarray<float>(xt::cast<float>(v))), {n, 1});
    xt::xarray<float> idx = xt::zeros<float>({n});
    for (std::size_t i = 0; i < n; ++i) {
        const auto it = std::lower_bound(classes.begin(), classes.end(), v(i));
        if (it == classes.end() || *it != v(i)) {
            char value[32];
            std::snprintf(value, sizeof value, "%.17g", v(i));
            throw ValueError("the target in row " + std::to_string(i + 1) + " is " + value +
                             ", not one of the model's " + std::to_string(classes.size()) +
                             " classes");
        }
        idx(i) = static_cast<float>(it - classes.begin());
    }
    Tensor t(std::move(idx));
    return classes.size() == 2 ? reshape(t, {n, 1}) : t;
}

Objective objective_for(const std::vector<double>& classes) {
    if (classes.empty()) {
        return {[](const Tensor& o, const Tensor& y) { return nn::mse_loss(o, y); }, {"r2"}};
    }
    if (classes.size() == 2) {
        return {[](const Tensor& o, const Tensor& y) { return nn::bce_with_logits(o, y); },
                {"accuracy"}};
    }
    return {[](const Tensor& o, const Tensor& y) { return nn::cross_entropy(o, y); }, {"accuracy"}};
}

}  // namespace tapegrad::cli

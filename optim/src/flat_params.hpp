#pragma once
// Parameters seen as one flat vector of doubles, in order (the layout torch.optim.LBFGS uses):
// reading values and gradients, and writing updates back in each parameter's own dtype.
// Private to tapegrad::optim (LBFGS and Newton).
#include <algorithm>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad::optim::detail {

inline std::size_t total_numel(const std::vector<Tensor>& params) {
    std::size_t n = 0;
    for (const auto& p : params) n += p.numel();
    return n;
}

template <class Out>
Out copy_values(const Tensor& t, Out out) {
    if (t.dtype() == f64) return std::copy(t.value<double>().begin(), t.value<double>().end(), out);
    return std::copy(t.value<float>().begin(), t.value<float>().end(), out);
}

inline std::vector<double> flat_values(const std::vector<Tensor>& params) {
    std::vector<double> flat(total_numel(params));
    auto out = flat.begin();
    for (const auto& p : params) out = copy_values(p, out);
    return flat;
}

// A parameter without a gradient contributes zeros (torch's _gather_flat_grad).
inline std::vector<double> flat_grads(const std::vector<Tensor>& params) {
    std::vector<double> flat(total_numel(params), 0.0);
    auto out = flat.begin();
    for (const auto& p : params) {
        if (p.has_grad()) {
            out = copy_values(p.grad(), out);
        } else {
            out += static_cast<std::ptrdiff_t>(p.numel());
        }
    }
    return flat;
}

// p += step * update, in double, rounded to float for float32 parameters (torch's _add_grad).
inline void add_flat(std::vector<Tensor>& params, double step, const std::vector<double>& update) {
    std::size_t k = 0;
    for (auto& p : params) {
        if (p.dtype() == f64) {
            for (double& v : p.mutable_value<double>()) v += step * update[k++];
        } else {
            for (float& v : p.mutable_value<float>())
                v = static_cast<float>(static_cast<double>(v) + step * update[k++]);
        }
    }
}

inline void set_flat(std::vector<Tensor>& params, const std::vector<double>& x) {
    std::size_t k = 0;
    for (auto& p : params) {
        if (p.dtype() == f64) {
            for (double& v : p.mutable_value<double>()) v = x[k++];
        } else {
            for (float& v : p.mutable_value<float>()) v = static_cast<float>(x[k++]);
        }
    }
}

inline void zero_grads(std::vector<Tensor>& params) {
    for (auto& p : params) p.zero_grad();
}

}  // namespace tapegrad::optim::detail

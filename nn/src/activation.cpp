#include "tapegrad/nn/activation.hpp"

#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::nn {

Tensor LeakyReLU::forward(const Tensor& x) {
    return leaky_relu(x, slope_);
}
std::string LeakyReLU::extra_repr() const {
    return "negative_slope=" + short_text(slope_);
}
Tensor Softplus::forward(const Tensor& x) {
    return softplus(x, beta_, threshold_);
}
std::string Softplus::extra_repr() const {
    return "beta=" + short_text(beta_) + ", threshold=" + short_text(threshold_);
}

}  // namespace tapegrad::nn

#include "tapegrad/nn/activation.hpp"

#include <sstream>

#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad::nn {

namespace {
std::string num(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}
}  // namespace

Tensor ReLU::forward(const Tensor& x) {
    return relu(x);
}
Tensor Tanh::forward(const Tensor& x) {
    return tanh(x);
}
Tensor Sigmoid::forward(const Tensor& x) {
    return sigmoid(x);
}
Tensor GELU::forward(const Tensor& x) {
    return gelu(x);
}
Tensor LeakyReLU::forward(const Tensor& x) {
    return leaky_relu(x, slope_);
}
std::string LeakyReLU::extra_repr() const {
    return "negative_slope=" + num(slope_);
}
Tensor Softplus::forward(const Tensor& x) {
    return softplus(x, beta_, threshold_);
}
std::string Softplus::extra_repr() const {
    return "beta=" + num(beta_) + ", threshold=" + num(threshold_);
}

}  // namespace tapegrad::nn

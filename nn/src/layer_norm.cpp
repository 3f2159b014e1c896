#include "tapegrad/nn/layer_norm.hpp"

#include <sstream>

#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad::nn {

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool affine, Dtype dtype)
    : shape_(std::move(normalized_shape)), eps_(eps) {
    if (shape_.empty()) throw ValueError("LayerNorm: normalized_shape must not be empty");
    if (affine) {
        weight = ones(shape_, dtype);
        bias = zeros(shape_, dtype);
        register_parameter("weight", weight);
        register_parameter("bias", bias);
    }
}

Tensor LayerNorm::forward(const Tensor& x) {
    const Shape& s = x.shape();
    const std::size_t k = shape_.size();
    if (s.size() < k || !std::equal(shape_.begin(), shape_.end(), s.end() - static_cast<long>(k))) {
        throw ShapeError("LayerNorm: input " + shape_str(s) + " does not end in the normalized " +
                         "shape " + shape_str(shape_));
    }
    Axes axes;
    for (std::size_t i = 0; i < k; ++i) axes.push_back(-static_cast<std::int64_t>(i) - 1);
    // Composed of recorded ops, so the derivative is the chain rule through mean and variance.
    const Tensor centred = x - mean(x, axes, true);
    const Tensor var = mean(square(centred), axes, true);
    Tensor y = centred / sqrt(var + eps_);
    if (weight.defined()) y = y * weight + bias;
    return y;
}

std::string LayerNorm::extra_repr() const {
    std::ostringstream os;
    os << "(";
    for (std::size_t i = 0; i < shape_.size(); ++i) os << (i ? ", " : "") << shape_[i];
    os << (shape_.size() == 1 ? ",)" : ")") << ", eps=" << eps_
       << ", elementwise_affine=" << (weight.defined() ? "True" : "False");
    return os.str();
}

}  // namespace tapegrad::nn

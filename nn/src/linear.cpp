#include "tapegrad/nn/linear.hpp"

#include <cmath>

#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/ops.hpp"
#include "tapegrad/nn/init.hpp"

namespace tapegrad::nn {

Linear::Linear(std::size_t in_features, std::size_t out_features, LinearOptions o)
    : in_(in_features), out_(out_features) {
    if (in_features == 0 || out_features == 0) {
        throw ValueError("Linear: in_features and out_features must be positive; got " +
                         std::to_string(in_features) + " and " + std::to_string(out_features));
    }
    Generator seeded(o.seed.value_or(0));
    Generator& gen = o.generator ? *o.generator : o.seed ? seeded : default_generator();
    weight = zeros({out_features, in_features}, o.dtype);
    if (o.bias) bias = zeros({out_features}, o.dtype);
    // PyTorch: kaiming_uniform_(W, a=sqrt(5)) gives bound sqrt(6/((1+5)·in)) = 1/sqrt(in); the
    // bias takes U(±1/sqrt(in)) too. The others zero the bias, as Keras does.
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    switch (o.init) {
        case Init::pytorch_default:
            init::uniform_(weight, -bound, bound, gen);
            if (o.bias) init::uniform_(bias, -bound, bound, gen);
            break;
        case Init::xavier_uniform:
            init::xavier_uniform_(weight, 1.0, gen);
            break;
        case Init::xavier_normal:
            init::xavier_normal_(weight, 1.0, gen);
            break;
        case Init::kaiming_uniform:
            init::kaiming_uniform_(weight, 0.0, init::FanMode::fan_in, "relu", gen);
            break;
        case Init::kaiming_normal:
            init::kaiming_normal_(weight, 0.0, init::FanMode::fan_in, "relu", gen);
            break;
    }
    register_parameter("weight", weight);
    if (o.bias) register_parameter("bias", bias);
}

Tensor Linear::forward(const Tensor& x) {
    // The op names the shapes; the layer adds which layer it was, e.g.
    // "Linear(in_features=3, out_features=2, bias=True): linear: input [4, 5] has 5 features...".
    try {
        return linear(x, weight, bias);
    } catch (const ShapeError& e) {
        throw ShapeError("Linear(" + extra_repr() + "): " + e.what());
    } catch (const DtypeError& e) {
        throw DtypeError("Linear(" + extra_repr() + "): " + e.what());
    }
}

std::string Linear::extra_repr() const {
    return "in_features=" + std::to_string(in_) + ", out_features=" + std::to_string(out_) +
           ", bias=" + (bias.defined() ? "True" : "False");
}

}  // namespace tapegrad::nn

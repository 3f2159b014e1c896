#include "tapegrad/nn/init.hpp"

#include <cmath>

#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::nn::init {

namespace {

// Fills t element by element from draw() in row-major order (one sequence of draws for both
// dtypes, so float32 and float64 weights agree to rounding).
template <class F>
Tensor& fill_with(Tensor& t, F&& draw) {
    if (t.dtype() == f32) {
        for (auto& v : t.mutable_value<float>()) v = static_cast<float>(draw());
    } else {
        for (auto& v : t.mutable_value<double>()) v = draw();
    }
    return t;
}

double fan(const Tensor& t, FanMode mode) {
    auto [in, out] = fans(t);
    return static_cast<double>(mode == FanMode::fan_in ? in : out);
}

}  // namespace

std::pair<std::size_t, std::size_t> fans(const Tensor& w) {
    const Shape& s = w.shape();
    if (s.empty()) throw ValueError("init: fan in and fan out of a scalar are not defined");
    if (s.size() == 1) return {s[0], s[0]};
    std::size_t field = 1;  // beyond [out, in]: a receptive field, as PyTorch counts it
    for (std::size_t i = 2; i < s.size(); ++i) field *= s[i];
    return {s[1] * field, s[0] * field};
}

double calculate_gain(const std::string& nl, double param) {
    if (nl == "linear" || nl == "sigmoid" || nl == "identity") return 1.0;
    if (nl == "tanh") return 5.0 / 3.0;
    if (nl == "relu") return std::sqrt(2.0);
    if (nl == "leaky_relu") return std::sqrt(2.0 / (1.0 + param * param));
    if (nl == "selu") return 0.75;
    throw ValueError("calculate_gain: unknown nonlinearity '" + nl +
                     "' (linear, sigmoid, tanh, relu, leaky_relu, selu)");
}

Tensor& uniform_(Tensor& t, double low, double high, Generator& gen) {
    return fill_with(t, [&] { return gen.uniform(low, high); });
}

Tensor& normal_(Tensor& t, double mean, double std, Generator& gen) {
    return fill_with(t, [&] { return mean + std * gen.normal(); });
}

Tensor& constant_(Tensor& t, double v) {
    t.fill_(v);
    return t;
}
Tensor& zeros_(Tensor& t) {
    return constant_(t, 0.0);
}
Tensor& ones_(Tensor& t) {
    return constant_(t, 1.0);
}

Tensor& xavier_uniform_(Tensor& t, double gain, Generator& gen) {
    auto [in, out] = fans(t);
    const double a = gain * std::sqrt(6.0 / static_cast<double>(in + out));
    return uniform_(t, -a, a, gen);
}

Tensor& xavier_normal_(Tensor& t, double gain, Generator& gen) {
    auto [in, out] = fans(t);
    return normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(in + out)), gen);
}

Tensor& kaiming_uniform_(Tensor& t, double a, FanMode mode, const std::string& nl, Generator& gen) {
    const double bound = calculate_gain(nl, a) * std::sqrt(3.0 / fan(t, mode));
    return uniform_(t, -bound, bound, gen);
}

Tensor& kaiming_normal_(Tensor& t, double a, FanMode mode, const std::string& nl, Generator& gen) {
    return normal_(t, 0.0, calculate_gain(nl, a) / std::sqrt(fan(t, mode)), gen);
}

}  // namespace tapegrad::nn::init

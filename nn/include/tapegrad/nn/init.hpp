#pragma once
// Weight initialisers, as torch.nn.init: each fills a tensor in place from a generator (or a
// fresh one with a seed), so a seed gives the same weights on every machine.
#include <cstdint>
#include <string>
#include <utility>

#include "tapegrad/autodiff/random.hpp"
#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad::nn::init {

enum class FanMode { fan_in, fan_out };

// (fan_in, fan_out) of a weight: [out, in] for a Linear layer; [in] has fan_in = fan_out = in.
std::pair<std::size_t, std::size_t> fans(const Tensor& w);
// The gain PyTorch recommends for a nonlinearity: "linear", "sigmoid", "tanh" (5/3), "relu"
// (sqrt 2), "leaky_relu" (sqrt(2 / (1 + slope²))), "selu" (3/4).
double calculate_gain(const std::string& nonlinearity, double param = 0.01);

Tensor& uniform_(Tensor& t, double low, double high, Generator& gen = default_generator());
Tensor& normal_(Tensor& t, double mean, double std, Generator& gen = default_generator());
Tensor& constant_(Tensor& t, double v);
Tensor& zeros_(Tensor& t);
Tensor& ones_(Tensor& t);
// Glorot: U(±gain·sqrt(6 / (fan_in + fan_out))) and N(0, gain²·2 / (fan_in + fan_out)).
Tensor& xavier_uniform_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());
Tensor& xavier_normal_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());
// He: bound = gain·sqrt(3 / fan) and std = gain / sqrt(fan), gain from the nonlinearity with
// slope a (PyTorch's defaults: a = 0, fan_in, leaky_relu, i.e. gain sqrt 2).
Tensor& kaiming_uniform_(Tensor& t, double a = 0.0, FanMode mode = FanMode::fan_in,
                         const std::string& nonlinearity = "leaky_relu",
                         Generator& gen = default_generator());
Tensor& kaiming_normal_(Tensor& t, double a = 0.0, FanMode mode = FanMode::fan_in,
                        const std::string& nonlinearity = "leaky_relu",
                        Generator& gen = default_generator());

}  // namespace tapegrad::nn::init

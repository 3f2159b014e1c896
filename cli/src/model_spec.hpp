#pragma once
// The --model flag: "linear", or "mlp:H1,H2,..." (hidden layer widths), built as a Sequential.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <tapegrad/autodiff/random.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/sequential.hpp>

namespace tapegrad::cli {

struct ModelSpec {
    std::vector<std::size_t> hidden;  // empty: a linear model
    std::string activation = "relu";  // relu | tanh
};

// ValueError naming the flag and the text when it is not of that form.
ModelSpec parse_model_spec(const std::string& text, const std::string& activation);
// Hidden layers with He (relu) or Glorot (tanh) weights and zero biases, and an output layer
// as PyTorch's nn.Linear initialises it, all drawn in turn from one Generator(seed): the same
// seed gives the same model, whatever else the thread's default generator was used for.
std::shared_ptr<nn::Sequential> build_model(const ModelSpec& spec, std::size_t inputs,
                                            std::size_t outputs, std::uint64_t seed = 0);
std::string describe(const ModelSpec& spec);

// A Linear layer initialised as nn::Linear does by default (W and b ~ U(±1/sqrt(inputs))),
// drawn from gen. Layers built in turn from one generator continue its stream, as layers
// without a seed do from the thread's default generator; nn::LinearOptions::seed would start
// each layer's numbers anew from the seed instead.
nn::Linear default_linear(std::size_t inputs, std::size_t outputs, Dtype dtype, Generator& gen);

}  // namespace tapegrad::cli

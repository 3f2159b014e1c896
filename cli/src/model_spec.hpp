#pragma once
// The --model flag: "linear", or "mlp:H1,H2,..." (hidden layer widths), built as a Sequential.
#include <memory>
#include <string>
#include <vector>

#include <tapegrad/nn/sequential.hpp>

namespace tapegrad::cli {

struct ModelSpec {
    std::vector<std::size_t> hidden;  // empty: a linear model
    std::string activation = "relu";  // relu | tanh
};

// ValueError naming the flag and the text when it is not of that form.
ModelSpec parse_model_spec(const std::string& text, const std::string& activation);
std::shared_ptr<nn::Sequential> build_model(const ModelSpec& spec, std::size_t inputs,
                                            std::size_t outputs);
std::string describe(const ModelSpec& spec);

}  // namespace tapegrad::cli

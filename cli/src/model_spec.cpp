#include "model_spec.hpp"

#include <charconv>

#include <tapegrad/autodiff/error.hpp>
#include <tapegrad/nn/activation.hpp>

#include "exit_status.hpp"

namespace tapegrad::cli {

ModelSpec parse_model_spec(const std::string& text, const std::string& activation) {
    ModelSpec spec;
    if (activation != "relu" && activation != "tanh") {
        throw UsageError("--activation: expected relu or tanh, got '" + activation + "'");
    }
    spec.activation = activation;
    if (text == "linear") return spec;
    const std::string prefix = "mlp:";
    if (text.rfind(prefix, 0) != 0 || text.size() == prefix.size()) {
        throw UsageError("--model: expected 'linear' or 'mlp:H1,H2,...' (e.g. mlp:64,32), got '" +
                         text + "'");
    }
    std::size_t pos = prefix.size();
    while (pos <= text.size()) {
        const std::size_t comma = std::min(text.find(',', pos), text.size());
        std::size_t width = 0;
        const char* first = text.data() + pos;
        const char* last = text.data() + comma;
        auto [end, ec] = std::from_chars(first, last, width);
        if (ec != std::errc() || end != last || width == 0 || width > 1'000'000) {
            throw UsageError("--model: '" + std::string(first, last) +
                             "' is not a layer width (a whole number from 1 to 1000000) in '" +
                             text + "'");
        }
        spec.hidden.push_back(width);
        pos = comma + 1;
    }
    return spec;
}

namespace {

// A hidden layer: He initialisation for ReLU, Glorot for tanh (the usual pairings), zero bias.
nn::Linear hidden_linear(std::size_t inputs, std::size_t outputs, const std::string& activation,
                         Generator& gen) {
    const auto init = activation == "relu" ? nn::Init::kaiming_uniform : nn::Init::xavier_uniform;
    return nn::Linear(inputs, outputs, {.init = init, .generator = &gen});
}

}  // namespace

nn::Linear default_linear(std::size_t inputs, std::size_t outputs, Dtype dtype, Generator& gen) {
    return nn::Linear(inputs, outputs, {.generator = &gen, .dtype = dtype});
}

std::shared_ptr<nn::Sequential> build_model(const ModelSpec& spec, std::size_t inputs,
                                            std::size_t outputs, std::uint64_t seed) {
    Generator gen(seed);
    auto model = std::make_shared<nn::Sequential>();
    std::size_t width = inputs;
    for (std::size_t h : spec.hidden) {
        model->push_back(hidden_linear(width, h, spec.activation, gen));
        if (spec.activation == "relu") {
            model->push_back(nn::ReLU());
        } else {
            model->push_back(nn::Tanh());
        }
        width = h;
    }
    model->push_back(default_linear(width, outputs, f32, gen));
    return model;
}

std::string describe(const ModelSpec& spec) {
    if (spec.hidden.empty()) return "linear";
    std::string s = "mlp:";
    for (std::size_t i = 0; i < spec.hidden.size(); ++i) {
        if (i) s += ",";  // appended apart: "," + to_string(...) trips GCC 12's -Wrestrict
        s += std::to_string(spec.hidden[i]);
    }
    return s + " (" + spec.activation + ")";
}

}  // namespace tapegrad::cli

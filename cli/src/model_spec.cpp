#include "model_spec.hpp"

#include <charconv>

#include <tapegrad/autodiff/error.hpp>
#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/linear.hpp>

namespace tapegrad::cli {

ModelSpec parse_model_spec(const std::string& text, const std::string& activation) {
    ModelSpec spec;
    if (activation != "relu" && activation != "tanh") {
        throw ValueError("--activation: expected relu or tanh, got '" + activation + "'");
    }
    spec.activation = activation;
    if (text == "linear") return spec;
    const std::string prefix = "mlp:";
    if (text.rfind(prefix, 0) != 0 || text.size() == prefix.size()) {
        throw ValueError("--model: expected 'linear' or 'mlp:H1,H2,...' (e.g. mlp:64,32), got '" +
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
            throw ValueError("--model: '" + std::string(first, last) +
                             "' is not a layer width (a whole number from 1 to 1000000) in '" +
                             text + "'");
        }
        spec.hidden.push_back(width);
        pos = comma + 1;
    }
    return spec;
}

std::shared_ptr<nn::Sequential> build_model(const ModelSpec& spec, std::size_t inputs,
                                            std::size_t outputs) {
    auto model = std::make_shared<nn::Sequential>();
    std::size_t width = inputs;
    for (std::size_t h : spec.hidden) {
        // He initialisation for ReLU, Glorot for tanh: the usual pairing.
        const nn::Init init =
            spec.activation == "relu" ? nn::Init::kaiming_uniform : nn::Init::xavier_uniform;
        model->push_back(nn::Linear(width, h, {.init = init}));
        if (spec.activation == "relu") {
            model->push_back(nn::ReLU());
        } else {
            model->push_back(nn::Tanh());
        }
        width = h;
    }
    model->push_back(nn::Linear(width, outputs));
    return model;
}

std::string describe(const ModelSpec& spec) {
    if (spec.hidden.empty()) return "linear";
    std::string s = "mlp:";
    for (std::size_t i = 0; i < spec.hidden.size(); ++i)
        s += (i ? "," : "") + std::to_string(spec.hidden[i]);
    return s + " (" + spec.activation + ")";
}

}  // namespace tapegrad::cli

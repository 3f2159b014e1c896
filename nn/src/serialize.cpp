#include "tapegrad/nn/serialize.hpp"

#include <algorithm>

#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/formats/npz.hpp"

namespace tapegrad::nn {

void save(const Module& model, const std::filesystem::path& path) {
    formats::save_npz(path, model.state_dict());
}

namespace {

// optim's checkpoint layout (checkpoint.hpp): "format_version" beside "model/..." entries.
bool is_checkpoint(const StateDict& state) {
    if (!state.count("format_version")) return false;
    return std::any_of(state.begin(), state.end(),
                       [](const auto& kv) { return kv.first.rfind("model/", 0) == 0; });
}

}  // namespace

void load(Module& model, const std::filesystem::path& path, LoadOptions options) {
    StateDict state = formats::load_npz(path);
    // A model file of tapegrad train describes itself in reserved entries beside the weights.
    std::erase_if(state,
                  [](const auto& entry) { return entry.first.starts_with(kReservedPrefix); });
    if (is_checkpoint(state)) {
        throw ValueError(path.string() +
                         ": this is a checkpoint (a model with its optimizer: model/, optimizer/ "
                         "and format_version entries), not a model file; load it with "
                         "optim::load_checkpoint(path, model, optimizer), or "
                         "optim::load_training_checkpoint to resume a fit");
    }
    try {
        model.load_state_dict(state, options);
    } catch (const ValueError& e) {
        throw ValueError(path.string() + ": " + e.what());
    }
}

}  // namespace tapegrad::nn

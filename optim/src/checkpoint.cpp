#include "tapegrad/optim/checkpoint.hpp"

#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/nn/npz.hpp"

namespace tapegrad::optim {

namespace {
const std::string kModel = "model/", kOptimizer = "optimizer/";
}

void save_checkpoint(const std::filesystem::path& path, const nn::Module& model,
                     const Optimizer& optimizer) {
    StateDict all;
    for (auto& [k, v] : model.state_dict()) all[kModel + k] = v;
    for (auto& [k, v] : optimizer.state_dict()) all[kOptimizer + k] = v;
    all["format_version"] = scalar(kCheckpointFormatVersion, f64);
    nn::save_npz(path, all);
}

void load_checkpoint(const std::filesystem::path& path, nn::Module& model, Optimizer& optimizer) {
    const StateDict all = nn::load_npz(path);
    auto version = all.find("format_version");
    if (version == all.end()) {
        throw ValueError(path.string() +
                         ": not a tapegrad checkpoint (no 'format_version'); a file of model "
                         "weights alone loads with nn::load");
    }
    if (version->second.item() > kCheckpointFormatVersion) {
        throw ValueError(path.string() + ": checkpoint format version " +
                         std::to_string(static_cast<int>(version->second.item())) +
                         " is newer than this tapegrad reads (" +
                         std::to_string(kCheckpointFormatVersion) + ")");
    }
    StateDict model_state, optimizer_state;
    for (const auto& [k, v] : all) {
        if (k.rfind(kModel, 0) == 0) model_state[k.substr(kModel.size())] = v;
        if (k.rfind(kOptimizer, 0) == 0) optimizer_state[k.substr(kOptimizer.size())] = v;
    }
    // The model's load checks everything before it changes anything; so does the optimizer's.
    // Keep the model's old values until the optimizer has accepted its part too.
    const StateDict model_before = model.state_dict();
    try {
        model.load_state_dict(model_state);
        optimizer.load_state_dict(optimizer_state);
    } catch (const ValueError& e) {
        model.load_state_dict(model_before);
        throw ValueError(path.string() + ": " + e.what());
    }
}

}  // namespace tapegrad::optim

#include "tapegrad/optim/checkpoint.hpp"

#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/formats/npz.hpp"

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
    formats::save_npz(path, all);
}

void load_checkpoint(const std::filesystem::path& path, nn::Module& model, Optimizer& optimizer) {
    const StateDict all = formats::load_npz(path);
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

// ---- training checkpoints ----------------------------------------------------------------

namespace {

const std::string kScheduler = "scheduler/", kPlateau = "plateau/", kTraining = "training/";

StateDict with_prefix(const StateDict& all, const std::string& prefix) {
    StateDict part;
    for (const auto& [k, v] : all)
        if (k.rfind(prefix, 0) == 0) part[k.substr(prefix.size())] = v;
    return part;
}

double training_value(const StateDict& all, const std::filesystem::path& path,
                      const std::string& name) {
    auto it = all.find(kTraining + name);
    if (it == all.end()) {
        throw ValueError(path.string() + ": not a training checkpoint (no '" + kTraining + name +
                         "'); a checkpoint of model and optimizer alone loads with "
                         "load_checkpoint");
    }
    return it->second.item();
}

}  // namespace

void save_training_checkpoint(const std::filesystem::path& path, const nn::Module& model,
                              const Optimizer& optimizer, const LRScheduler* scheduler,
                              const ReduceLROnPlateau* plateau, const TrainingProgress& progress) {
    StateDict all;
    for (auto& [k, v] : model.state_dict()) all[kModel + k] = v;
    for (auto& [k, v] : optimizer.state_dict()) all[kOptimizer + k] = v;
    if (scheduler)
        for (auto& [k, v] : scheduler->state_dict()) all[kScheduler + k] = v;
    if (plateau)
        for (auto& [k, v] : plateau->state_dict()) all[kPlateau + k] = v;
    // float64 scalars hold these counters exactly up to 2^53.
    all[kTraining + "epoch"] = scalar(progress.epoch, f64);
    all[kTraining + "loader_epoch"] = scalar(static_cast<double>(progress.loader_epoch), f64);
    all[kTraining + "global_step"] = scalar(static_cast<double>(progress.global_step), f64);
    all["format_version"] = scalar(kCheckpointFormatVersion, f64);
    formats::save_npz(path, all);
}

TrainingProgress load_training_checkpoint(const std::filesystem::path& path, nn::Module& model,
                                          Optimizer& optimizer, LRScheduler* scheduler,
                                          ReduceLROnPlateau* plateau) {
    const StateDict all = formats::load_npz(path);
    auto version = all.find("format_version");
    if (version == all.end())
        throw ValueError(path.string() + ": not a tapegrad checkpoint (no 'format_version')");
    if (version->second.item() > kCheckpointFormatVersion) {
        throw ValueError(path.string() + ": checkpoint format version " +
                         std::to_string(static_cast<int>(version->second.item())) +
                         " is newer than this tapegrad reads (" +
                         std::to_string(kCheckpointFormatVersion) + ")");
    }
    TrainingProgress progress;
    progress.epoch = static_cast<int>(training_value(all, path, "epoch"));
    progress.loader_epoch = static_cast<std::uint64_t>(training_value(all, path, "loader_epoch"));
    progress.global_step = static_cast<std::int64_t>(training_value(all, path, "global_step"));

    const StateDict scheduler_state = with_prefix(all, kScheduler);
    const StateDict plateau_state = with_prefix(all, kPlateau);
    // A schedule given but not saved (or saved but not given) would resume with the wrong lr.
    auto check_part = [&](bool given, bool saved, const char* what) {
        if (given && !saved)
            throw ValueError(path.string() + ": the checkpoint holds no " + what +
                             " state, but one was given to load it into");
        if (!given && saved)
            throw ValueError(path.string() + ": the checkpoint holds " + what +
                             " state; pass the " + what + " to load it into");
    };
    check_part(scheduler != nullptr, !scheduler_state.empty(), "LR scheduler");
    check_part(plateau != nullptr, !plateau_state.empty(), "ReduceLROnPlateau");

    // Each load checks before it changes anything; keep the old states so that a later part
    // failing puts the earlier ones back.
    const StateDict model_before = model.state_dict();
    const StateDict optimizer_before = optimizer.state_dict();
    const StateDict scheduler_before = scheduler ? scheduler->state_dict() : StateDict{};
    try {
        model.load_state_dict(with_prefix(all, kModel));
        optimizer.load_state_dict(with_prefix(all, kOptimizer));
        if (scheduler) scheduler->load_state_dict(scheduler_state);
        if (plateau) plateau->load_state_dict(plateau_state);
    } catch (const ValueError& e) {
        model.load_state_dict(model_before);
        optimizer.load_state_dict(optimizer_before);
        if (scheduler) scheduler->load_state_dict(scheduler_before);
        throw ValueError(path.string() + ": " + e.what());
    }
    return progress;
}

}  // namespace tapegrad::optim

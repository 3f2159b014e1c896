// EarlyStopping: stop when a monitored log stops improving, and put the best weights back
// however training ended (keras issue 12511).
#include <cmath>

#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/optim/callbacks.hpp"

namespace tapegrad::optim {

namespace {

bool higher_is_better(const std::string& name) {
    const std::string base = name.rfind("val_", 0) == 0 ? name.substr(4) : name;
    for (const char* m : {"accuracy", "precision", "recall", "f1", "r2"})
        if (base == m) return true;
    return false;
}

}  // namespace

EarlyStopping::EarlyStopping(Options options) : options_(std::move(options)) {
    if (options_.patience < 0)
        throw ValueError("EarlyStopping: patience must be >= 0, got " +
                         std::to_string(options_.patience));
    if (!(options_.min_delta >= 0))
        throw ValueError("EarlyStopping: min_delta must be >= 0, got " +
                         short_text(options_.min_delta));
}

void EarlyStopping::on_train_begin(TrainState&) {
    monitor_ = options_.monitor;
    best_ = std::numeric_limits<double>::quiet_NaN();
    best_epoch_ = -1;
    wait_ = 0;
    stopped_ = false;
    noted_ = false;
    best_weights_.clear();
}

bool EarlyStopping::improved(double value) const {
    if (std::isnan(value)) return false;
    if (best_epoch_ < 0) return true;
    return maximize_ ? value > best_ + options_.min_delta : value < best_ - options_.min_delta;
}

void EarlyStopping::on_epoch_end(TrainState& state, Logs& logs) {
    auto it = logs.find(monitor_);
    if (it == logs.end() && monitor_ == "val_loss" && logs.count("loss")) {
        // No validation: the training loss is the only loss there is.
        monitor_ = "loss";
        it = logs.find(monitor_);
        if (!noted_ && options_.notes)
            *options_.notes << "EarlyStopping: no val_loss (no validation data); monitoring "
                               "the training loss instead\n";
        noted_ = true;
    }
    if (it == logs.end()) {
        std::string names;
        for (const auto& [k, v] : logs) names += (names.empty() ? "" : ", ") + k;
        throw ValueError("EarlyStopping: no log named '" + monitor_ + "' (the logs are: " + names +
                         ")");
    }
    maximize_ = options_.mode == MonitorMode::max ||
                (options_.mode == MonitorMode::automatic && higher_is_better(monitor_));
    const double value = it->second;
    if (improved(value)) {
        best_ = value;
        best_epoch_ = state.epoch;
        wait_ = 0;
        if (options_.restore_best_weights) best_weights_ = state.model.state_dict();
        return;
    }
    if (++wait_ < options_.patience || best_epoch_ < 0) return;
    stopped_ = true;
    state.stop_training = true;
    state.stop_reason = "early stopping: " + monitor_ + " did not improve by more than " +
                        short_text(options_.min_delta) + " for " +
                        std::to_string(options_.patience) + " epochs; best " + short_text(best_) +
                        " at epoch " + std::to_string(best_epoch_ + 1) +
                        (options_.restore_best_weights ? " (weights restored)"
                                                       : " (weights of the last epoch kept)");
}

void EarlyStopping::on_train_end(TrainState& state) {
    if (options_.restore_best_weights && !best_weights_.empty())
        state.model.load_state_dict(best_weights_);
}

}  // namespace tapegrad::optim

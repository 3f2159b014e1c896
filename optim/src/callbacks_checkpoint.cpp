// Checkpoint: the whole training state in one .npz every few epochs, and resume from it.
#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/optim/callbacks.hpp"
#include "tapegrad/optim/checkpoint.hpp"

namespace tapegrad::optim {

Checkpoint::Checkpoint(Options options) : options_(std::move(options)) {
    if (options_.path.empty()) throw ValueError("Checkpoint: the path is empty");
    if (options_.every < 1)
        throw ValueError("Checkpoint: every must be at least 1, got " +
                         std::to_string(options_.every));
}

void Checkpoint::on_train_begin(TrainState& state) {
    completed_ = state.initial_epoch;
    saved_epochs_ = -1;
    saves_ = 0;
}

void Checkpoint::save(const TrainState& state, int completed) {
    // fit steps the schedules before on_epoch_end, so what is saved is what the next epoch
    // starts from; the loader's epoch is the one its next begin() starts.
    save_training_checkpoint(options_.path, state.model, state.optimizer, state.scheduler,
                             state.plateau,
                             {.epoch = completed,
                              .loader_epoch = state.loader.epoch(),
                              .global_step = state.global_step});
    saved_epochs_ = completed;
    ++saves_;
}

void Checkpoint::on_epoch_end(TrainState& state, Logs&) {
    if (state.partial_epoch) return;  // not a point training can resume from
    completed_ = state.epoch + 1;
    if (completed_ % options_.every == 0) save(state, completed_);
}

void Checkpoint::on_train_end(TrainState& state) {
    // After a partial last epoch the weights are mid-epoch: no complete epoch to label them.
    if (state.failed || state.partial_epoch || !options_.save_at_end) return;
    if (completed_ > state.initial_epoch && completed_ != saved_epochs_) save(state, completed_);
}

int resume(const std::filesystem::path& path, nn::Module& model, Optimizer& optimizer,
           LRScheduler* scheduler, ReduceLROnPlateau* plateau) {
    return load_training_checkpoint(path, model, optimizer, scheduler, plateau).epoch;
}

}  // namespace tapegrad::optim

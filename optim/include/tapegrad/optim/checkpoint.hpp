#pragma once
// A model and its optimizer in one .npz file, to resume training exactly: the model's tensors
// under "model/NAME", the optimizer's under "optimizer/KEY", and "format_version". NumPy reads
// it like any .npz. Written atomically (a temporary, then rename).
#include <cstdint>
#include <filesystem>

#include "tapegrad/nn/module.hpp"
#include "tapegrad/optim/lr_scheduler.hpp"
#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

inline constexpr int kCheckpointFormatVersion = 1;

void save_checkpoint(const std::filesystem::path& path, const nn::Module& model,
                     const Optimizer& optimizer);
// Checks the whole file against the model and the optimizer before changing either; the
// error names the file and what does not match (a newer format version included).
void load_checkpoint(const std::filesystem::path& path, nn::Module& model, Optimizer& optimizer);

// ---- training checkpoints (fit's Checkpoint callback and resume) ----
// The same file with the rest of a training run's state: the LR schedule's counters under
// "scheduler/KEY", ReduceLROnPlateau's under "plateau/KEY", and where the run stood under
// "training/epoch", "training/loader_epoch", "training/global_step". load_checkpoint reads
// such a file too (it takes the model and optimizer parts).
struct TrainingProgress {
    int epoch = 0;                   // completed epochs: FitOptions::initial_epoch to resume
    std::uint64_t loader_epoch = 0;  // the epoch the training loader starts next
    std::int64_t global_step = 0;    // optimizer steps so far
};

void save_training_checkpoint(const std::filesystem::path& path, const nn::Module& model,
                              const Optimizer& optimizer, const LRScheduler* scheduler,
                              const ReduceLROnPlateau* plateau, const TrainingProgress& progress);
// Loads every part; a schedule must be passed exactly when the file holds its state. Checks
// everything before it keeps any change (ValueError or IoError naming the file).
TrainingProgress load_training_checkpoint(const std::filesystem::path& path, nn::Module& model,
                                          Optimizer& optimizer, LRScheduler* scheduler = nullptr,
                                          ReduceLROnPlateau* plateau = nullptr);

}  // namespace tapegrad::optim

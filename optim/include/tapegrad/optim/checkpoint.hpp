#pragma once
// A model and its optimizer in one .npz file, to resume training exactly: the model's tensors
// under "model/NAME", the optimizer's under "optimizer/KEY", and "format_version". NumPy reads
// it like any .npz. Written atomically (a temporary, then rename).
#include <filesystem>

#include "tapegrad/nn/module.hpp"
#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

inline constexpr int kCheckpointFormatVersion = 1;

void save_checkpoint(const std::filesystem::path& path, const nn::Module& model,
                     const Optimizer& optimizer);
// Checks the whole file against the model and the optimizer before changing either; the
// error names the file and what does not match (a newer format version included).
void load_checkpoint(const std::filesystem::path& path, nn::Module& model, Optimizer& optimizer);

}  // namespace tapegrad::optim

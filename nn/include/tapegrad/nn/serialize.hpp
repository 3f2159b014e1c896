#pragma once
// A model's weights to and from an .npz file, by name ("0.weight", "fc1.bias"): NumPy reads it
// (numpy.load), and a PyTorch state_dict becomes one with
//   np.savez("model.npz", **{k: v.detach().numpy() for k, v in model.state_dict().items()})
#include <filesystem>
#include <string_view>

#include "tapegrad/nn/module.hpp"

namespace tapegrad::nn {

// Entries whose name starts with this describe the file rather than hold a module's weights
// (`tapegrad train --save` keeps the architecture, the scalers and the class labels there):
// load leaves them out, strict or not, so such a file loads like a file of weights only.
inline constexpr std::string_view kReservedPrefix = "_tapegrad.";

// Atomic: written to a temporary beside the file, then renamed over it.
void save(const Module& model, const std::filesystem::path& path);
// Checks names, shapes and dtypes before changing anything (Module::load_state_dict with
// these options); the error names the file and every name that does not match. A training
// checkpoint (optim::save_checkpoint) is recognised and refused with a pointer to
// optim::load_checkpoint.
void load(Module& model, const std::filesystem::path& path, LoadOptions options = {});

}  // namespace tapegrad::nn

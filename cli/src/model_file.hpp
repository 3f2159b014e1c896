#pragma once
// The model file that `tapegrad train --save` writes and `tapegrad predict` reads: an .npz whose
// weights keep their state_dict names (nn::load reads them into a model built in code), and,
// under names that start with nn::kReservedPrefix, all that a prediction needs besides:
//   _tapegrad.model                    JSON text (1-D uint8 array): format, format_version,
//                                      task, model, activation, features, target, classes,
//                                      feature_scaler and target_scaler ("standard" or "none")
//   _tapegrad.feature_scaler.mean      float64 [features], when feature_scaler is "standard"
//   _tapegrad.feature_scaler.scale
//   _tapegrad.target_scaler.mean       float64 [1], when target_scaler is "standard"
//   _tapegrad.target_scaler.scale
// NumPy: json.loads(np.load("M.npz")["_tapegrad.model"].tobytes()).
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <tapegrad/autodiff/state_dict.hpp>
#include <tapegrad/data/scaler.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/nn/sequential.hpp>

namespace tapegrad::cli {

// The version this tapegrad writes and the newest it reads.
constexpr int kModelFormatVersion = 1;

// What a model file says besides the weights.
struct ModelDescription {
    bool classify = false;
    std::string model = "linear", activation = "relu";  // --model and --activation
    std::vector<std::string> features;                  // in the order of the model's inputs
    std::string target;
    std::vector<double> classes;  // class labels in the order of the model's outputs (classify)
    // Unfitted when not applied: --no-standardize, and the target of a classification.
    data::StandardScaler feature_scaler, target_scaler;

    // The model's outputs: one logit per class for more than two classes, else one.
    std::size_t outputs() const { return classes.size() > 2 ? classes.size() : 1; }
};

struct ModelFile {
    ModelDescription description;
    std::shared_ptr<nn::Sequential> model;  // rebuilt from the description, weights loaded
};

// Writes the weights of model and the description (atomically, as save_npz does).
void save_model_file(const std::filesystem::path& path, const ModelDescription& description,
                     const nn::Module& model);

// IoError naming the file for a file that is not a model file (e.g. weights only), a format
// version it does not know, a description that is incomplete or contradicts itself, and
// weights that do not fit the model it describes.
ModelFile load_model_file(const std::filesystem::path& path);

}  // namespace tapegrad::cli

#pragma once
// A model's predictions for the rows of a CSV file, as `tapegrad predict` writes them; `train
// --predictions` writes the same with the model it has just trained, so that the two files can
// be compared byte for byte.
#include <filesystem>
#include <string>
#include <vector>

#include <tapegrad/nn/module.hpp>

#include "model_file.hpp"

namespace tapegrad::cli {

struct Predictions {
    // A header (the target's name), then one line per row of the file, in its order: the class
    // label as the training file wrote it, or the value in the target's units.
    std::string csv;
    std::size_t rows = 0;
    // "loss=0.1234 accuracy=0.9561" (r2 for a regression), as `train` computes them, when the
    // file has the target column and at least two rows; else empty.
    std::string metrics;
    // Columns of the file that are neither features of the model nor its target.
    std::vector<std::string> ignored;

    // "569 rows: loss=0.0612 accuracy=0.9824", or "569 rows" without metrics.
    std::string summary() const;
};

// Reads the file's columns by name: the model's features, in any order (IoError naming the file
// and every feature it lacks, or a feature it has twice), and its target when there. IoError
// naming the row and column of a NaN or infinite feature; ValueError for a target value that is
// not one of a classifier's classes.
Predictions predict_csv(nn::Module& model, const ModelDescription& description,
                        const std::filesystem::path& data);

}  // namespace tapegrad::cli

#pragma once
// One array in NumPy's .npy format, as numpy.save writes and numpy.load reads it.
#include <filesystem>

#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad::formats {

// Writes t as '<f4' (float32) or '<f8' (float64), C order, atomically (a temporary beside
// the file, renamed over it). Throws IoError naming the file.
void save_npy(const std::filesystem::path& path, const Tensor& t);

// Reads one array (format versions 1.0 to 3.0): '<f4' and '>f4' become float32; '<f8', '>f8',
// integers and bools float64; Fortran order is turned into C order. Throws IoError naming
// the file for a missing, truncated or unsupported one.
Tensor load_npy(const std::filesystem::path& path);

}  // namespace tapegrad::formats

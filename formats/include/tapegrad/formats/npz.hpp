#pragma once
// NumPy's .npz format: a zip archive with one .npy file per array. What save_npz writes,
// numpy.load reads; what np.savez or np.savez_compressed writes, load_npz reads.
#include <filesystem>
#include <map>
#include <string>

#include "tapegrad/autodiff/state_dict.hpp"

namespace tapegrad::formats {

// Writes every tensor as "<name>.npy" (float32 as '<f4', float64 as '<f8', C order). The
// file is written to a temporary beside the target and renamed over it, so a crash never
// leaves a half-written file where a good one was. Throws IoError naming the file.
void save_npz(const std::filesystem::path& path, const StateDict& tensors);

// Texts beside the arrays (e.g. a description of the model whose weights they are), each stored
// as a 1-D uint8 array of its bytes, which NumPy reads as np.load(path)[name].tobytes().decode().
// load_npz returns such an entry as a float64 array of the byte values; text_of turns it back.
// IoError naming the file when a text has the name of an array.
using NpzTexts = std::map<std::string, std::string>;
void save_npz(const std::filesystem::path& path, const StateDict& tensors, const NpzTexts& texts);
// The text of an entry that save_npz wrote from texts; ValueError when t is not a 1-D array of
// whole numbers from 0 to 255.
std::string text_of(const Tensor& t);

// Reads every array of an .npz file (stored or deflated entries; float32 and float64, and
// integer arrays converted to float64). Throws IoError naming the file and the entry for a
// missing file, a truncated or corrupt archive, or an array it cannot represent.
StateDict load_npz(const std::filesystem::path& path);

}  // namespace tapegrad::formats

#pragma once
// Private to tapegrad::formats (save_npy/load_npy in tapegrad/formats/npy.hpp are the public
// API): one array in NumPy's .npy format (numpy/lib/format.py): the magic "\x93NUMPY", a
// version, the length of a header that is a Python dict literal, then the data.
#include <string>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"
#include "zip.hpp"

namespace tapegrad::formats::detail {

// The header NumPy writes for a C-ordered '<f4' or '<f8' array of this shape: magic, version
// 1.0, length, the dict, then spaces and a newline so that the data starts at a multiple of 64.
std::string npy_header(Dtype dtype, const Shape& shape);
// The same for another dtype given as NumPy's descr ("|u1" for the bytes of a text).
std::string npy_header(const std::string& descr, const Shape& shape);

// The tensor's values as little-endian bytes: a view of its storage on a little-endian
// machine, a byte-swapped copy in scratch on a big-endian one.
Bytes npy_data(const Tensor& t, std::vector<unsigned char>& scratch);

// Parses one .npy array (versions 1.0, 2.0 and 3.0). '<f4' and '>f4' become float32; '<f8',
// '>f8', integers and bools become float64; Fortran order is transposed into C order. Throws
// IoError starting with `what` (e.g. "model.npz: entry 'w.npy'") for anything else.
Tensor npy_decode(Bytes npy, const std::string& what);

}  // namespace tapegrad::formats::detail

#pragma once
// Named tensors: a model's parameters and buffers ("fc1.weight"), an optimizer's state, or
// both in one checkpoint. Sorted by name, as numpy.load lists the arrays of an .npz file.
#include <map>
#include <string>

#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad {

using StateDict = std::map<std::string, Tensor>;

}  // namespace tapegrad

#pragma once
// Argument checks that several ops share (op_checks.cpp), so that their errors read alike.
#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad::detail {

// A ShapeError naming op when a is a scalar (the op works on rows: the first axis).
void require_rows(const char* op, const Tensor& a);

}  // namespace tapegrad::detail

#pragma once
// Text helpers shared by the listing, the stepper and the DOT export (internal).
#include <cstddef>
#include <string>
#include <vector>

#include "tapegrad/autodiff/trace.hpp"

namespace tapegrad::detail {

// A number with `digits` significant digits, without trailing zeros ("0.5", "-3", "1.5e-07").
std::string format_number(double v, int digits);
// "[2, 3] float64"
std::string shape_and_dtype(const Tensor& t);
// Columns padded to their widest cell (widths counted in characters, not UTF-8 bytes), two
// spaces apart, each line indented.
std::string format_table(const std::vector<std::vector<std::string>>& rows,
                         const std::string& indent = "  ");
// The node's call as a formula: "mul(w, x)", "add_scalar(d, s = -3)".
std::string call_text(const TraceTensor& t, const std::vector<TraceTensor>& all);
// The number of characters of a UTF-8 string.
std::size_t display_width(const std::string& s);

}  // namespace tapegrad::detail

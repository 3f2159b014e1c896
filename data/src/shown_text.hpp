#pragma once
// Text from an input file (a cell, a column name) as an error message shows it.
#include <cstddef>
#include <string>
#include <string_view>

namespace tapegrad::data {

// In double quotes and at most max_chars characters, then "…" and the text's byte count (a
// 10 MB cell stays one line); control characters, backslashes and bytes that are not UTF-8 as
// \xNN and \\ (binary bytes never reach the terminal raw). UTF-8 letters are kept.
std::string shown_text(std::string_view s, std::size_t max_chars = 40);

}  // namespace tapegrad::data

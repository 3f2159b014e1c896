#pragma once
// UTF-8 as the places that show text check it: messages that echo a file's bytes (data) and
// SVG text (charts) keep well-formed characters and replace or escape the rest.
#include <cstddef>
#include <string_view>

namespace tapegrad {

// The length of the well-formed UTF-8 character at s[i] (1 for ASCII), 0 when the bytes there
// are not one (RFC 3629: a stray continuation byte, an overlong form, a surrogate, a code
// point beyond U+10FFFF, a cut-off sequence).
std::size_t utf8_length(std::string_view s, std::size_t i);

}  // namespace tapegrad

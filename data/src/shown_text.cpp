// shown_text: input text made safe and short for a message.
#include "shown_text.hpp"

#include <cstdio>

#include "tapegrad/autodiff/utf8.hpp"

namespace tapegrad::data {

namespace {

void append_escaped(std::string& out, unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02X", c);
    out += buf;
}

}  // namespace

std::string shown_text(std::string_view s, std::size_t max_chars) {
    std::string out = "\"";
    std::size_t i = 0, chars = 0;
    for (; i < s.size() && chars < max_chars; ++chars) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t n = utf8_length(s, i);
        // C1 controls (U+0080-U+009F, C2 80-9F) act as escape codes in some terminals.
        const bool control = c < 0x20 || c == 0x7F ||
                             (c == 0xC2 && n == 2 && static_cast<unsigned char>(s[i + 1]) < 0xA0);
        if (n == 0 || control) {
            for (std::size_t k = 0; k < (n == 0 ? 1 : n); ++k)
                append_escaped(out, static_cast<unsigned char>(s[i + k]));
            i += n == 0 ? 1 : n;
        } else if (c == '\\') {
            out += "\\\\";
            ++i;
        } else {
            out.append(s, i, n);
            i += n;
        }
    }
    out += '"';
    if (i < s.size())
        out.insert(out.size() - 1, "…").append(" (" + std::to_string(s.size()) + " bytes)");
    return out;
}

}  // namespace tapegrad::data

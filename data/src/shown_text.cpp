// shown_text: input text made safe and short for a message.
#include "shown_text.hpp"

#include <cstdio>

namespace tapegrad::data {

namespace {

bool continuation(std::string_view s, std::size_t i) {
    return i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80;
}

// The length of the well-formed UTF-8 character at s[i] (1 for ASCII), 0 when the bytes there
// are not one (a stray continuation byte, an overlong form, a surrogate, a cut-off sequence).
std::size_t utf8_length(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return 1;
    std::size_t n = 0;
    unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) low = 0xA0;   // overlong
        if (c == 0xED) high = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) low = 0x90;   // overlong
        if (c == 0xF4) high = 0x8F;  // beyond U+10FFFF
    } else {
        return 0;
    }
    if (i + 1 >= s.size()) return 0;
    const auto second = static_cast<unsigned char>(s[i + 1]);
    if (second < low || second > high) return 0;
    for (std::size_t k = 2; k < n; ++k)
        if (!continuation(s, i + k)) return 0;
    return n;
}

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

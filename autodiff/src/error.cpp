// The two ways messages print numbers (error.hpp).
#include "tapegrad/autodiff/error.hpp"

#include <charconv>
#include <cstdio>

namespace tapegrad {

std::string exact_text(double v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

std::string short_text(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

}  // namespace tapegrad

// The library's own version, for a program to compare with the headers' TAPEGRAD_VERSION.
#include "tapegrad/version.hpp"

namespace tapegrad {

const char* version() {
    return TAPEGRAD_VERSION;
}

}  // namespace tapegrad

// libFuzzer target: the bytes as one checkpoint file (see fuzz_entry.hpp for what counts as a
// finding).
#include "fuzz_entry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    tapegrad::fuzz::checkpoint({data, size});
    return 0;
}

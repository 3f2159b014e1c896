// The compiler itself: GCC 12.2 with AVX-512 tuning miscompiled constant lists whose leading
// elements are equal and the rest zero ({100, 100, 0, 0} became four 100s) until the build
// turned SLP vectorisation off (CMakeLists.txt). This keeps that setting honest.
#include <vector>

#include "check.hpp"

namespace {
[[gnu::noinline]] std::vector<double> keep(const std::vector<double>& v) {
    return v;
}
[[gnu::noinline]] std::vector<int> keep_int(const std::vector<int>& v) {
    return v;
}
}  // namespace

TEST_CASE("constant lists with a run of equal values then zeros survive compilation") {
    const auto a = keep({100.0, 100.0, 0.0, 0.0});
    CHECK(a == std::vector<double>{100.0, 100.0, 0.0, 0.0});
    CHECK(a[2] == 0.0);
    const auto b = keep_int({1, 1, 1, 0});
    CHECK(b[3] == 0);
    const auto c = keep({3.0, 3.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0});
    CHECK(c[7] == 0.0);
}

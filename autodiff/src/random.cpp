#include "tapegrad/autodiff/random.hpp"

#include <cmath>
#include <numbers>

namespace tapegrad {

double Generator::uniform() {
    // The top 53 bits, scaled: every double in [0, 1) on the 2^-53 grid, equally likely.
    return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
}

double Generator::uniform(double low, double high) {
    return low + (high - low) * uniform();
}

double Generator::normal() {
    if (has_spare_) {
        has_spare_ = false;
        return spare_;
    }
    // Box-Muller: two uniforms give two independent normals; 1 - u keeps log away from 0.
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * std::numbers::pi * u2;
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
}

std::uint64_t Generator::below(std::uint64_t n) {
    if (n == 0) return 0;
    // Rejection of the short last block makes every value equally likely. The block is shorter
    // than n, so a draw below UINT64_MAX - n + 1 is kept without working out its limit (a
    // 64-bit division, which a shuffle of 2M rows would otherwise pay 2M times).
    std::uint64_t x = engine_();
    if (x > UINT64_MAX - n) {
        const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        while (x >= limit) x = engine_();
    }
    return x % n;
}

Generator& default_generator() {
    thread_local Generator gen(0);
    return gen;
}

void manual_seed(std::uint64_t seed) {
    default_generator().seed(seed);
}

}  // namespace tapegrad

#pragma once
// Seeded random numbers that are the same on every machine: std::mt19937_64 is specified
// bit for bit by the standard, but std::normal_distribution and friends are not, so the
// transforms (53-bit uniforms, Box-Muller, unbiased integer ranges) are our own.
#include <cstdint>
#include <random>

namespace tapegrad {

class Generator {
  public:
    explicit Generator(std::uint64_t seed = 0) : engine_(seed) {}
    void seed(std::uint64_t s) {
        engine_.seed(s);
        has_spare_ = false;
    }
    std::uint64_t next_u64() { return engine_(); }
    double uniform();                         // [0, 1)
    double uniform(double low, double high);  // [low, high)
    double normal();                          // standard normal (Box-Muller)
    std::uint64_t below(std::uint64_t n);     // uniform integer in [0, n), unbiased

    // The complete state, so that an LR finder or a checkpoint can put the generator back.
    struct State {
        std::mt19937_64 engine;
        bool has_spare;
        double spare;
    };
    State state() const { return {engine_, has_spare_, spare_}; }
    void set_state(const State& s) {
        engine_ = s.engine;
        has_spare_ = s.has_spare;
        spare_ = s.spare;
    }

  private:
    std::mt19937_64 engine_;
    bool has_spare_ = false;
    double spare_ = 0.0;
};

// The generator used when none is passed; one per thread, seeded with 0 until manual_seed.
Generator& default_generator();
void manual_seed(std::uint64_t seed);

}  // namespace tapegrad

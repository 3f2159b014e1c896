#pragma once
// Linear: y = x·Wᵀ + b with W of shape [out, in] and b of shape [out], as torch.nn.Linear, so
// that a PyTorch state_dict loads as is.
#include <cstdint>
#include <optional>

#include "tapegrad/autodiff/dtype.hpp"
#include "tapegrad/autodiff/random.hpp"
#include "tapegrad/nn/module.hpp"

namespace tapegrad::nn {

enum class Init {
    pytorch_default,  // W, b ~ U(±1/sqrt(in)): kaiming_uniform_(a = sqrt 5), as nn.Linear
    xavier_uniform,   // Glorot, b = 0
    xavier_normal,
    kaiming_uniform,  // He for ReLU (gain sqrt 2, fan_in), b = 0
    kaiming_normal,
};

struct LinearOptions {
    bool bias = true;
    Init init = Init::pytorch_default;
    // Seed of the initial weights; without one they come from default_generator(), which
    // manual_seed() sets (so two layers built in a row differ, and a run repeats).
    std::optional<std::uint64_t> seed{};
    // Or a generator to draw them from (not owned; before seed when both are given): layers
    // built in turn from one generator each continue where the last stopped, as with
    // manual_seed, without touching the thread's default generator.
    Generator* generator = nullptr;
    Dtype dtype = f32;
};

class Linear : public Module {
  public:
    Linear(std::size_t in_features, std::size_t out_features, LinearOptions options = {});
    // A shape or dtype error names the layer: "Linear(in_features=3, out_features=2, ...): ".
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Linear"; }
    std::string extra_repr() const override;

    std::size_t in_features() const { return in_; }
    std::size_t out_features() const { return out_; }

    Tensor weight;  // [out, in]
    Tensor bias;    // [out], undefined without bias

  private:
    std::size_t in_, out_;
};

}  // namespace tapegrad::nn

#pragma once
// Dropout: in training mode each element is zeroed with probability p and the rest scaled by
// 1/(1-p) (inverted dropout, as PyTorch); in evaluation mode it is the identity. The masks
// come from the module's own generator, so a seed repeats them.
#include <cstdint>

#include "tapegrad/autodiff/random.hpp"
#include "tapegrad/nn/module.hpp"

namespace tapegrad::nn {

class Dropout : public Module {
  public:
    explicit Dropout(double p = 0.5, std::uint64_t seed = 0);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Dropout"; }
    std::string extra_repr() const override;
    double p() const { return p_; }
    Generator& generator() { return gen_; }

  private:
    double p_;
    Generator gen_;
};

}  // namespace tapegrad::nn

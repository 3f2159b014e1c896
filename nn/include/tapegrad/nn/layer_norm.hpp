#pragma once
// LayerNorm over the last dimensions of the input, as torch.nn.LayerNorm:
// y = (x - mean) / sqrt(var + eps) · weight + bias, with the biased variance.
#include "tapegrad/autodiff/dtype.hpp"
#include "tapegrad/nn/module.hpp"

namespace tapegrad::nn {

class LayerNorm : public Module {
  public:
    explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true,
                       Dtype dtype = f32);
    explicit LayerNorm(std::size_t features, double eps = 1e-5, bool elementwise_affine = true,
                       Dtype dtype = f32)
        : LayerNorm(Shape{features}, eps, elementwise_affine, dtype) {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "LayerNorm"; }
    std::string extra_repr() const override;

    Tensor weight;  // ones, shape normalized_shape (undefined without affine)
    Tensor bias;    // zeros

  private:
    Shape shape_;
    double eps_;
};

}  // namespace tapegrad::nn

#pragma once
// Activation functions as modules, for Sequential; each calls the op of the same name.
#include "tapegrad/nn/module.hpp"

namespace tapegrad::nn {

class ReLU : public Module {
  public:
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "ReLU"; }
};

class Tanh : public Module {
  public:
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Tanh"; }
};

class Sigmoid : public Module {
  public:
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Sigmoid"; }
};

class GELU : public Module {
  public:
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "GELU"; }
};

class Identity : public Module {
  public:
    Tensor forward(const Tensor& x) override { return x; }
    std::string type_name() const override { return "Identity"; }
};

class LeakyReLU : public Module {
  public:
    explicit LeakyReLU(double negative_slope = 0.01) : slope_(negative_slope) {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "LeakyReLU"; }
    std::string extra_repr() const override;

  private:
    double slope_;
};

class Softplus : public Module {
  public:
    explicit Softplus(double beta = 1.0, double threshold = 20.0)
        : beta_(beta), threshold_(threshold) {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Softplus"; }
    std::string extra_repr() const override;

  private:
    double beta_, threshold_;
};

}  // namespace tapegrad::nn

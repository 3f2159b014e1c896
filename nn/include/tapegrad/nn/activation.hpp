#pragma once
// Activation functions as modules, for Sequential; each calls the op of the same name.
#include "tapegrad/autodiff/ops.hpp"
#include "tapegrad/nn/module.hpp"

namespace tapegrad::nn {

// A parameter-free activation: forward applies fn, the module prints as name.
class Activation : public Module {
  public:
    Activation(const char* name, Tensor (*fn)(const Tensor&)) : name_(name), fn_(fn) {}
    Tensor forward(const Tensor& x) override { return fn_(x); }
    std::string type_name() const override { return name_; }

  private:
    const char* name_;
    Tensor (*fn_)(const Tensor&);
};

struct ReLU : Activation {
    ReLU() : Activation("ReLU", relu) {}
};
struct Tanh : Activation {
    Tanh() : Activation("Tanh", tanh) {}
};
struct Sigmoid : Activation {
    Sigmoid() : Activation("Sigmoid", sigmoid) {}
};
struct GELU : Activation {
    GELU() : Activation("GELU", gelu) {}
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

#pragma once
// Derivatives of functions, in the spirit of torch.autograd.functional: each call runs f on a
// tape of its own and returns the numbers, with PyTorch's shapes.
//
//   auto f = [](const tg::Tensor& x) { return tg::sum(tg::pow(x, 3.0)); };
//   tg::Tensor H = tg::hessian(f, x);          // [n, n] for x [n]: diag(6x)
//   auto [y, Hv] = tg::hvp(f, x, v);           // f(x) and H·v, without forming H
//
// Functions take one tensor or a list; the inputs are not changed (f sees float copies that
// require grad, of the caller's dtype). With create_graph the results are recorded on the
// caller's open tape and can be differentiated again (the inputs are then the caller's own
// tensors when they require grad).
#include <functional>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad {

using TensorFunction = std::function<Tensor(const std::vector<Tensor>&)>;

struct FunctionalOptions {
    bool create_graph = false;
};

// f(inputs) and vᵀ·J for each input (the gradient of v·f; v may be omitted for a one-element
// output): torch.autograd.functional.vjp.
struct VjpResult {
    Tensor output;
    std::vector<Tensor> vjp;  // one per input, of its shape
};
VjpResult vjp(const TensorFunction& f, const std::vector<Tensor>& inputs, const Tensor& v = {},
              FunctionalOptions options = {});

// f(inputs) and J·v = Σ_i ∂f/∂input_i · v_i (one v per input, of its shape), by two reverse
// passes (the gradient of vᵀ·J·u with respect to u): torch.autograd.functional.jvp.
struct JvpResult {
    Tensor output;
    Tensor jvp;  // of the output's shape
};
JvpResult jvp(const TensorFunction& f, const std::vector<Tensor>& inputs,
              const std::vector<Tensor>& v, FunctionalOptions options = {});

// ∂f/∂input_i for each input, of shape output.shape + input_i.shape (one reverse pass per
// output element): torch.autograd.functional.jacobian.
std::vector<Tensor> jacobian(const TensorFunction& f, const std::vector<Tensor>& inputs,
                             FunctionalOptions options = {});
Tensor jacobian(const std::function<Tensor(const Tensor&)>& f, const Tensor& input,
                FunctionalOptions options = {});

// The second derivatives of a function with a one-element output: H[i][j] has the shape
// input_i.shape + input_j.shape: torch.autograd.functional.hessian.
std::vector<std::vector<Tensor>> hessian(const TensorFunction& f, const std::vector<Tensor>& inputs,
                                         FunctionalOptions options = {});
Tensor hessian(const std::function<Tensor(const Tensor&)>& f, const Tensor& input,
               FunctionalOptions options = {});

// f(inputs) and H·v for a one-element output, without forming H (the gradient of ∇f·v):
// torch.autograd.functional.hvp.
struct HvpResult {
    Tensor output;
    std::vector<Tensor> hvp;  // one per input, of its shape
};
HvpResult hvp(const TensorFunction& f, const std::vector<Tensor>& inputs,
              const std::vector<Tensor>& v, FunctionalOptions options = {});
HvpResult hvp(const std::function<Tensor(const Tensor&)>& f, const Tensor& input, const Tensor& v,
              FunctionalOptions options = {});

}  // namespace tapegrad

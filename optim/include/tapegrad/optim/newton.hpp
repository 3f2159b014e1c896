#pragma once
// Newton's method with the exact Hessian, for models with up to a few hundred parameters.
// The Hessian comes from the tape: the closure runs inside a tape of Newton's own, so the
// backward it calls is itself recorded (nested tapes) and each gradient element can be
// differentiated again; row j of H is the gradient of gradient element j (n reverse passes).
// Finite differences of exact gradients remain an option (HessianMethod::finite_differences),
// in float64:
//
//   H_ij = (g_i(x + h_j e_j) - g_i(x - h_j e_j)) / (2 h_j),  h_j = 1e-5 max(1, |x_j|)
//
// (h_j = 5e-3 max(1, |x_j|) for float32 parameters, whose gradients carry float32 rounding),
// that is 2n gradient evaluations for n parameters. Either way H = (H + H^T) / 2, and a step
// solves
//
//   (H + lambda I) d = g    by a Cholesky factorisation, lambda = damping,
//   x = x - lr d
//
// and when H + damping I is not positive definite, lambda grows (Levenberg style, doubling
// from a small multiple of max |H_ij|) until it is, so d is always a descent direction.
//
//   tg::optim::Newton opt(params, {.lr = 1});
//   for (int i = 0; i < 10; ++i) opt.step(closure);  // closure as for LBFGS
//
// fit (fit.hpp) drives it as it drives LBFGS: one step() per batch, the closure its own.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>
#include <xtensor/xarray.hpp>

#include "tapegrad/optim/closure_optimizer.hpp"

namespace tapegrad::optim {

enum class HessianMethod {
    exact,               // from the tape: the closure's backward differentiated again
    finite_differences,  // central differences of exact gradients (2n closure calls)
};

struct NewtonOptions {
    double lr = 1.0;
    HessianMethod hessian = HessianMethod::exact;
    double damping = 0.0;           // lambda added to the Hessian's diagonal, >= 0
    std::size_t max_params = 1000;  // more parameters than this: ValueError
};

// The Hessian of the loss that closure computes with respect to every element of params
// (flattened in order), n x n and symmetric, by the method given (see above). closure records a
// tape, runs backward and returns the loss; the gradients of params are zeroed before each of
// its calls (one for exact, 2n for finite differences). The parameters are left exactly as
// they were; their .grad() is left from the last evaluation.
xt::xarray<double> hessian(const std::function<double()>& closure,
                           const std::vector<Tensor>& params,
                           HessianMethod method = HessianMethod::exact);

// step(closure) makes one Newton step; it returns the loss at the parameters as they were when
// step() was called, and leaves their .grad() from that point. Throws ValueError when the loss,
// gradient or Hessian is not finite. step() without a closure throws (closure_optimizer.hpp).
class Newton : public ClosureOptimizer<NewtonOptions> {
  public:
    // Throws ValueError for an empty list, more than max_params elements (naming the count),
    // lr <= 0 or damping < 0.
    Newton(std::vector<Tensor> params, NewtonOptions options = {});
    std::string name() const override { return "Newton"; }
    // The lambda the last step used: damping, or more when the Hessian was not positive
    // definite.
    double last_damping() const { return last_damping_; }

  private:
    double step_with(const std::function<double()>& closure) override;
    double last_damping_ = 0.0;
};

}  // namespace tapegrad::optim

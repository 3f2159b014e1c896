#pragma once
// Gradient check of a whole model: every parameter element of a float64 model against central
// differences of a scalar loss; the report names the worst parameter by its dotted name.
//   model.to(tg::f64);
//   auto r = tg::nn::gradcheck(model, [&] { return tg::nn::mse_loss(model(x), y); });
#include <functional>

#include "tapegrad/autodiff/gradcheck.hpp"
#include "tapegrad/nn/module.hpp"

namespace tapegrad::nn {

GradcheckReport gradcheck(const Module& model, const std::function<Tensor()>& loss,
                          const GradcheckOptions& options = {});

}  // namespace tapegrad::nn

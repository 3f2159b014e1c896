#pragma once
// What the training examples (early_stopping, lr_finder, update_styles, clipping_and_schedules)
// share: the library's headers, the short names they write (tg, data, charts, nn, optim), and
// the two losses they give fit.
#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/charts/plot.hpp>
#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>

namespace tg = tapegrad;
namespace data = tapegrad::data;
namespace charts = tapegrad::charts;
namespace nn = tapegrad::nn;
namespace optim = tapegrad::optim;

// Binary cross-entropy of logits against 0/1 labels.
inline tg::Tensor bce(const tg::Tensor& out, const tg::Tensor& y) {
    return nn::bce_with_logits(out, y);
}

// Mean squared error.
inline tg::Tensor mse(const tg::Tensor& out, const tg::Tensor& y) {
    return nn::mse_loss(out, y);
}

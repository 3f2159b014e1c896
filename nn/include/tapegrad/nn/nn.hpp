#pragma once
// Everything of tapegrad's nn part in one include (data sets and loaders are in
// tapegrad/data/data.hpp, .npz files in tapegrad/formats/npz.hpp, charts in tapegrad/charts/).
#include "tapegrad/nn/activation.hpp"
#include "tapegrad/nn/dropout.hpp"
#include "tapegrad/nn/gradcheck.hpp"
#include "tapegrad/nn/init.hpp"
#include "tapegrad/nn/layer_norm.hpp"
#include "tapegrad/nn/linear.hpp"
#include "tapegrad/nn/loss.hpp"
#include "tapegrad/nn/metrics.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/nn/sequential.hpp"
#include "tapegrad/nn/serialize.hpp"

#pragma once
// Everything of tapegrad's optim part in one include.
#include "tapegrad/optim/adagrad.hpp"
#include "tapegrad/optim/adam.hpp"
#include "tapegrad/optim/callbacks.hpp"
#include "tapegrad/optim/checkpoint.hpp"
#include "tapegrad/optim/clip_grad.hpp"
#include "tapegrad/optim/fit.hpp"
#include "tapegrad/optim/lbfgs.hpp"
#include "tapegrad/optim/lr_scheduler.hpp"
#include "tapegrad/optim/newton.hpp"
#include "tapegrad/optim/optimizer.hpp"
#include "tapegrad/optim/rmsprop.hpp"
#include "tapegrad/optim/sgd.hpp"

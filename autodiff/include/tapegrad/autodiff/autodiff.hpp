#pragma once
// Everything of tapegrad's autodiff part in one include.
#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/dtype.hpp"
#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/autodiff/functional.hpp"
#include "tapegrad/autodiff/gradcheck.hpp"
#include "tapegrad/autodiff/ops.hpp"
#include "tapegrad/autodiff/parallel.hpp"
#include "tapegrad/autodiff/random.hpp"
#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/autodiff/tensor.hpp"
#include "tapegrad/autodiff/threads.hpp"
#include "tapegrad/autodiff/trace.hpp"

#pragma once
// Everything of tapegrad's data part in one include.
#include "tapegrad/data/data_loader.hpp"
#include "tapegrad/data/dataset.hpp"
#include "tapegrad/data/readers.hpp"
#include "tapegrad/data/scaler.hpp"
#include "tapegrad/data/synthetic.hpp"

// The README's training example ("Data, training loops and the command line"), compiled from
// the README itself: examples/CMakeLists.txt copies the code block into
// readme_training_snippet.inc, so the README shows what builds and runs (a ctest runs it).
#include <iostream>
#include <tapegrad/charts/training.hpp>
#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>

namespace tg = tapegrad;
namespace data = tapegrad::data;
namespace nn = tapegrad::nn;

int main() {
#include "readme_training_snippet.inc"
    // What the snippet trained: its validation accuracy, and the lr its schedule left.
    const auto logs = tg::optim::evaluate(model, bce, parts.validation, {"accuracy"});
    std::cout << "readme_training: validation accuracy " << logs.at("accuracy") << ", lr "
              << (opt.lr() < 1e-3 ? "decayed" : "constant") << " (" << opt.lr() << ")\n";
    return 0;
}

#include "tapegrad/optim/closure_optimizer.hpp"

#include <string>

#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::optim::detail {

void closure_required(std::string_view name) {
    const std::string n(name);
    throw ValueError(n + ".step: " + n +
                     " evaluates the loss more than once per step and needs a closure (call "
                     "step(closure) with a function that zeroes the gradients, records a tape, "
                     "runs backward and returns the loss)");
}

void require_params(std::string_view name, const std::vector<Tensor>& params) {
    if (params.empty()) throw ValueError(std::string(name) + ": got an empty parameter list");
}

}  // namespace tapegrad::optim::detail

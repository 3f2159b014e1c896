#pragma once
// The built-in walkthroughs of `tapegrad step`: small computations, written with named
// tensors and hand-picked float64 numbers, whose backward pass a learner can follow node by
// node and check on paper.
#include <functional>
#include <string>
#include <vector>

#include <tapegrad/autodiff/gradcheck.hpp>
#include <tapegrad/autodiff/tensor.hpp>
#include <tapegrad/autodiff/trace.hpp>

namespace tapegrad::cli {

struct Walkthrough {
    std::string name;     // "quadratic"
    std::string summary;  // one line, for the list
    std::string maths;    // a few lines: the formula, the numbers, what to watch for
    // Fresh named leaves on each call: parameters require grad, data does not.
    std::function<std::vector<Tensor>()> leaves;
    // The loss from the leaves (in the order leaves() gives them), intermediates named.
    std::function<Tensor(const std::vector<Tensor>&)> forward;
};

// quadratic, line_fit, neuron, mlp.
const std::vector<Walkthrough>& walkthroughs();
// The walkthrough of that name; a ValueError listing the names when there is none.
const Walkthrough& find_walkthrough(const std::string& name);

struct WalkthroughRun {
    std::vector<Tensor> leaves;  // their .grad() hold the gradients of the loss
    Tensor loss;
    Stepper stepper;  // the recorded forward and backward pass
};
// Runs the forward pass on a tape and backward with a stepper listening.
WalkthroughRun run_walkthrough(const Walkthrough& w, const TraceOptions& options = {});
// The loss's gradients with respect to the parameters against central differences.
GradcheckTable check_walkthrough(const Walkthrough& w);

}  // namespace tapegrad::cli

#pragma once
// Seeing backprop happen: a listing of what a tape recorded, a trace of a backward pass node by
// node with the real numbers (the gradient that arrives, the local rule, what each input
// receives), a stepper that holds both as data and as pages of text, and the graph as DOT text.
// The terminal loop and the call to Graphviz are the command line's (tapegrad/cli/).
//
//   tg::Tape tape;
//   tg::Stepper stepper;
//   tape.set_observer(&stepper);                 // the next backward is recorded
//   tg::Tensor loss = tg::square(w * x - y).name("loss");
//   tape.backward(loss);
//   std::cout << stepper.transcript();           // everything at once
//   // step by step at a terminal: tg::cli::interact (tapegrad/cli/stepper_terminal.hpp)
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad {

struct TraceOptions {
    // Tensors with at most this many elements print in full; larger ones as a summary
    // (shape, min, max, mean).
    std::size_t full_limit = 16;
    std::size_t dot_full_limit = 6;  // the same in graph pictures, where space is short
    int digits = 6;                  // significant digits of printed numbers
};

// A tensor's values on one line: "2.5", "[1, -0.5]", "[[1, 2], [3, 4]]", or for a large one
// "<shape [64, 10]: min -1.2, max 3, mean 0.1>". Undefined tensors print as "-".
std::string format_values(const Tensor& t, const TraceOptions& options = {});

// One tensor the tape touched, as listings show it.
struct TraceTensor {
    std::int32_t slot = -1;  // the tape's number for it: the # of listings
    // Its own name; unnamed results get their op's name and number ("mul_3"), unnamed leaves
    // "param_0" (requires grad) or "const_0". A name used twice gets the number too.
    std::string name;
    std::int32_t node = -1;            // the node that made it in tape.nodes(); -1 for a leaf
    const OpInfo* op = nullptr;        // that node's op
    std::vector<std::int32_t> inputs;  // that node's inputs (slots)
    std::vector<std::string> roles;    // what the rule calls each input ("a", "x", "W")
    std::string args;                  // scalar arguments, "s = -3" (empty when none)
    bool requires_grad = false;
    Tensor value;  // a copy taken when the tensors were listed
};

// Every tensor of the tape in the order the tape first saw it (inputs before results).
std::vector<TraceTensor> trace_tensors(const Tape& tape);
// The forward listing: #, name, op, inputs, shape, dtype and value of every tensor.
std::string forward_listing(const Tape& tape, const TraceOptions& options = {});
std::string forward_listing(const std::vector<TraceTensor>& tensors,
                            const TraceOptions& options = {});
// What the rule of an op calls its inputs, read from the rule's ∂/∂a: "a", "b" for mul, "x",
// "W", "b" for linear, "part_0", "part_1"... for concat; "input k" where the rule is silent.
std::vector<std::string> rule_roles(const OpInfo& op, std::size_t n_inputs);

// What one input of a node received when backward ran the node.
struct TraceContribution {
    std::size_t input = 0;  // its place among the node's inputs
    std::int32_t slot = -1;
    bool requires_grad = false;  // false: a constant, which receives nothing
    // The other inputs of this node that are the same tensor (mul(x, x)): the contribution
    // below is then the sum of all of theirs.
    std::vector<std::size_t> same_tensor_as;
    Tensor before;        // the input's gradient before the node (undefined: none yet)
    Tensor contribution;  // what the node added: after - before (after, when there was none)
    Tensor after;         // the input's gradient after the node
};

// One node as backward visited it.
struct TraceStep {
    std::size_t node = 0;  // index in tape.nodes()
    std::int32_t out = -1;
    Tensor grad;  // the gradient arriving at the node's result, complete when the node runs
    std::vector<TraceContribution> inputs;
};

// Records a backward pass when set as a tape's observer, then shows it: all at once
// (transcript) or step by step (page; tg::cli::interact walks the pages at a terminal). Values and
// gradients are copies of the tape's own, so the stepper may outlive the tape. Each backward pass
// it sees replaces the previous record. Made for learning-sized graphs: it copies every value and,
// at each node, its inputs' gradients.
class Stepper : public BackwardObserver {
  public:
    explicit Stepper(TraceOptions options = {});

    void backward_begin(const Tape& tape, std::int32_t target_slot) override;
    void before_node(const Tape& tape, std::size_t node_index) override;
    void after_node(const Tape& tape, std::size_t node_index) override;
    void backward_end(const Tape& tape) override;

    bool recorded() const { return target_ >= 0; }
    const TraceOptions& options() const { return options_; }
    const std::vector<TraceTensor>& tensors() const { return tensors_; }
    // The forward nodes in tape order, as slots of their results.
    const std::vector<std::int32_t>& forward_order() const { return forward_; }
    // The nodes backward ran, in the order it ran them.
    const std::vector<TraceStep>& steps() const { return steps_; }
    std::int32_t target() const { return target_; }
    // The tensor of that name (nullptr when none) and its slot (-1 when none).
    const TraceTensor* find(const std::string& name) const;
    const TraceTensor& tensor(std::int32_t slot) const;
    // A tensor's gradient once the first k backward steps have run (undefined when none has
    // reached it); k = steps().size() gives the gradient at the end of backward.
    Tensor grad_after(std::int32_t slot, std::size_t k) const;
    // The final gradient of a named tensor; throws ValueError naming the known tensors.
    Tensor grad(const std::string& name) const;

    std::string forward_listing() const;
    std::string describe_step(std::size_t k) const;  // backward step k, in words and numbers
    std::string backward_trace() const;              // every step
    std::string gradients() const;   // the final gradients of the leaves that require grad
    std::string transcript() const;  // listing, trace and gradients
    std::string dot(const std::string& title = {}) const;  // Graphviz, with the gradients

    // Walking one node at a time: positions are the forward nodes, then the backward steps,
    // then a summary of the gradients.
    std::size_t positions() const;
    std::string page(std::size_t position) const;
    // A tensor as it stands at a position: its value once computed, its gradient so far.
    std::string print(const std::string& name, std::size_t position) const;

  private:
    void require_recorded(const char* what) const;
    std::string name_of(std::int32_t slot) const;

    TraceOptions options_;
    std::vector<TraceTensor> tensors_;  // by slot
    std::vector<std::int32_t> forward_;
    std::vector<TraceStep> steps_;
    std::int32_t target_ = -1;
    Tensor seed_;
};

// The tape as a Graphviz DOT graph: a box per tensor (name, shape, dtype, value and, where the
// last backward left one, the gradient), an ellipse per op, arrows in the direction of the
// forward pass. Values of tensors up to options.dot_full_limit elements are shown in full.
std::string to_dot(const Tape& tape, const TraceOptions& options = {},
                   const std::string& title = {});

}  // namespace tapegrad

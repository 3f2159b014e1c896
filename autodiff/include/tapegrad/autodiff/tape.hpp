#pragma once
// The tape: a list of the operations run while it is alive, in the order they ran. backward
// walks the list from the end, so a tensor used twice simply receives two contributions and
// deep graphs need no recursion.
#include <cstdint>
#include <span>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad {

class Tape;

// What a learner sees of an op: its name and its local derivative rule.
struct OpInfo {
    const char* name;  // "mul"
    const char* rule;  // "d/da = g*b, d/db = g*a"
};

// One recorded operation. Inputs and integer arguments live in flat arrays of the tape,
// so a node is a small record and recording allocates nothing per op once the arrays grew.
struct Node {
    using BackwardFn = void (*)(Tape&, const Node&);
    BackwardFn backward;
    const OpInfo* op;
    std::int32_t out;       // slot of the result
    std::int32_t in_begin;  // inputs: tape.input_slots()[in_begin, in_begin + n_in)
    std::int32_t n_in;
    std::int32_t int_begin;  // integer arguments (axes, indices): tape.node_ints()[...]
    std::int32_t n_int;
    double scalar[2];  // scalar arguments (exponent, slope, bounds)
};

// Told about every node a backward pass runs, in the order it runs them (the stepper in
// trace.hpp is one). Each call sees the tape as it is at that moment: before_node while the
// node's rule has not run yet, after_node once its contributions are in its inputs' gradients.
class BackwardObserver {
  public:
    virtual ~BackwardObserver() = default;
    // The pass starts from target_slot, whose gradient (the seed) is already set.
    virtual void backward_begin(const Tape& tape, std::int32_t target_slot) = 0;
    virtual void before_node(const Tape& tape, std::size_t node_index) = 0;
    virtual void after_node(const Tape& tape, std::size_t node_index) = 0;
    virtual void backward_end(const Tape& tape) = 0;
};

struct TapeOptions {
    bool persistent = false;    // allow more than one backward / gradient call
    bool retain_grads = false;  // keep every recorded tensor's gradient readable with grad()
};

class Tape {
  public:
    explicit Tape(TapeOptions options = {});
    ~Tape();
    Tape(const Tape&) = delete;
    Tape& operator=(const Tape&) = delete;

    // Gradients of a scalar loss, accumulated into the .grad() of every leaf that requires
    // grad (they add up until zero_grad, as in PyTorch).
    void backward(const Tensor& loss);
    // The same for any output, starting from seed = d(something)/d(output), shape of output.
    void backward(const Tensor& output, const Tensor& seed);
    // d target / d source for each source, without touching any .grad() (TensorFlow's
    // GradientTape.gradient). A source the target does not depend on gets zeros.
    std::vector<Tensor> gradient(const Tensor& target, const std::vector<Tensor>& sources);
    std::vector<Tensor> gradient(const Tensor& target, const std::vector<Tensor>& sources,
                                 const Tensor& seed);

    std::uint64_t id() const { return id_; }
    const TapeOptions& options() const { return options_; }
    // The innermost tape of this thread that records now (none inside a NoGrad scope).
    static Tape* recording();

    // ---- inspection (listings, the stepper) ----
    // Every later backward (and gradient) reports to the observer; nullptr stops it. The tape
    // does not own it: it must outlive those calls.
    void set_observer(BackwardObserver* observer) { observer_ = observer; }
    BackwardObserver* observer() const { return observer_; }
    const std::vector<Node>& nodes() const { return nodes_; }
    std::span<const std::int32_t> inputs_of(const Node& n) const {
        return {input_slots_.data() + n.in_begin, static_cast<std::size_t>(n.n_in)};
    }
    std::span<const std::int64_t> ints_of(const Node& n) const {
        return {ints_.data() + n.int_begin, static_cast<std::size_t>(n.n_int)};
    }
    std::size_t num_slots() const { return slots_.size(); }
    Tensor slot_tensor(std::int32_t slot) const { return Tensor(slots_.at(slot)); }
    // The gradient that reached a slot in the last backward (undefined when none did).
    Tensor slot_grad(std::int32_t slot) const;

    // ---- used by op recording (autodiff/src/record.hpp) ----
    // Throws when an input belongs to another tape; call before computing anything.
    void check_inputs(std::span<const Tensor* const> inputs, const char* op) const;
    void record(Node::BackwardFn fn, const OpInfo* op, std::span<const Tensor* const> inputs,
                const std::shared_ptr<detail::TensorImpl>& out, double s0, double s1,
                std::span<const std::int64_t> ints);

  private:
    template <class T>
    friend class BackwardContext;

    std::int32_t slot_of_input(const Tensor& t);
    void run_backward(const Tensor& target, const Tensor* seed, const char* what);
    void observed_backward(std::int32_t target_slot);
    void check_versions(const Node& n) const;
    void accumulate_into_grads();
    std::vector<Tensor> collect(const std::vector<Tensor>& sources) const;

    TapeOptions options_;
    std::uint64_t id_;
    std::vector<Node> nodes_;
    std::vector<std::shared_ptr<detail::TensorImpl>> slots_;  // every tensor the tape touched
    std::vector<std::int32_t> input_slots_;
    std::vector<std::uint32_t> input_versions_;
    std::vector<std::int64_t> ints_;
    std::vector<detail::AnyArray> grads_;  // per slot, during and after backward
    BackwardObserver* observer_ = nullptr;
    bool used_ = false;
};

// Inside this scope nothing is recorded (evaluation, parameter updates, gradient checks).
class NoGrad {
  public:
    NoGrad();
    ~NoGrad();
    NoGrad(const NoGrad&) = delete;
    NoGrad& operator=(const NoGrad&) = delete;
};

}  // namespace tapegrad

#pragma once
// The tape: a list of the operations run while it is alive, in the order they ran. backward
// walks the list from the end, so a tensor used twice simply receives two contributions and
// deep graphs need no recursion.
//
// Tapes nest. The open tapes of a thread share one record (detail::Recording): an op is
// appended once and belongs to every tape that is open, and a tape differentiates what was
// recorded since it opened. Tensors made before a tape opened are constants to it, unless they
// are the sources asked for. A backward pass can itself be recorded (create_graph, or
// automatically when an older tape of the thread is still open, as TensorFlow's nested
// GradientTapes do), so that the gradients it returns can be differentiated again.
#include <cstdint>
#include <span>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad {

class Tape;
class GraphContext;

// What a learner and the listings see of an op: everything about it that is not code.
struct OpInfo {
    const char* name;  // "mul"
    const char* rule;  // "∂out/∂a = b, ∂out/∂b = a"
    // The names of its scalar arguments in listings ("s" shows as "s = -6"); nullptr: unused.
    const char* scalars[2] = {nullptr, nullptr};
    // Elementwise: the result has the inputs' broadcast shape, and backward sums a gradient
    // back to each input's shape (the stepper says so when it happens).
    bool elementwise = false;
};

// One recorded operation. Inputs and integer arguments live in flat arrays of the recording,
// so a node is a small record and recording allocates nothing per op once the arrays grew.
struct Node {
    using BackwardFn = void (*)(Tape&, const Node&);
    using GraphBackwardFn = void (*)(GraphContext&);
    BackwardFn backward;             // the rule on arrays, for the node's dtype (first order)
    GraphBackwardFn backward_graph;  // the rule in recorded ops; nullptr: first order only
    const OpInfo* op;
    std::int32_t out;       // slot of the result
    std::int32_t in_begin;  // inputs: tape.inputs_of(node)
    std::int32_t n_in;
    std::int32_t int_begin;  // integer arguments (axes, indices): tape.ints_of(node)
    std::int32_t n_int;
    double scalar[2];  // scalar arguments (exponent, slope, bounds)
};

namespace detail {

// Which slot each leaf that requires grad occupies in one recording: an open-addressing table
// keyed by the tensor record's address, so that a parameter used many times takes one slot
// and nothing is written into the (shared) tensor record itself.
class LeafSlots {
  public:
    std::int32_t find(const TensorImpl* key) const;
    // The slot of key, or next_slot (stored) when key is new.
    std::int32_t find_or_insert(const TensorImpl* key, std::int32_t next_slot);
    void clear();

  private:
    struct Entry {
        const TensorImpl* key = nullptr;
        std::int32_t slot = -1;
    };
    std::size_t index(const TensorImpl* key) const;
    void grow();
    std::vector<Entry> table_;
    std::size_t count_ = 0;
    const TensorImpl* last_key_ = nullptr;  // a loop uses one parameter many times in a row
    std::int32_t last_slot_ = -1;
};

// What the open tapes of one thread have recorded, oldest first. Nested tapes share it; it is
// emptied (its arrays keep their capacity) when the thread's last open tape closes.
struct Recording {
    std::uint64_t id = 0;  // a new one each time recording starts afresh; never reused
    std::vector<Node> nodes;
    std::vector<std::shared_ptr<TensorImpl>> slots;  // every tensor recorded or used as input
    std::vector<std::int32_t> input_slots;
    std::vector<std::uint32_t> input_versions;
    std::vector<std::int64_t> ints;
    LeafSlots leaves;
    // Gradient arrays of tapes that have closed, emptied with their capacity kept: a training
    // loop makes a tape per step, and growing a fresh one per backward pass was measurable.
    std::vector<std::vector<AnyArray>> spare_grads;
};

}  // namespace detail

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

struct BackwardOptions {
    // Record the backward pass itself (PyTorch's create_graph), so that the gradients it
    // produces are recorded tensors that can be differentiated again, to any order. It also
    // keeps the tape usable for further passes, as PyTorch's retain_graph. Without it a pass is
    // recorded only when an older tape of this thread is still open (TensorFlow's nesting);
    // otherwise it works on plain arrays and costs what a first-order pass costs.
    bool create_graph = false;
};

class Tape {
  public:
    explicit Tape(TapeOptions options = {});
    ~Tape();
    Tape(const Tape&) = delete;
    Tape& operator=(const Tape&) = delete;

    // Gradients of a scalar loss, accumulated into the .grad() of every leaf that requires
    // grad (they add up until zero_grad, as in PyTorch).
    void backward(const Tensor& loss, BackwardOptions options = {});
    // The same for any output, starting from seed = d(something)/d(output), shape of output.
    void backward(const Tensor& output, const Tensor& seed, BackwardOptions options = {});
    // d target / d source for each source, without touching any .grad() (TensorFlow's
    // GradientTape.gradient). A source the target does not depend on gets zeros.
    std::vector<Tensor> gradient(const Tensor& target, const std::vector<Tensor>& sources,
                                 BackwardOptions options = {});
    std::vector<Tensor> gradient(const Tensor& target, const std::vector<Tensor>& sources,
                                 const Tensor& seed, BackwardOptions options = {});

    const TapeOptions& options() const { return options_; }
    // The innermost tape of this thread that records now (none inside a NoGrad scope).
    static Tape* recording();

    // ---- inspection (listings, the stepper) ----
    // Every later backward (and gradient) reports to the observer; nullptr stops it. The tape
    // does not own it: it must outlive those calls.
    void set_observer(BackwardObserver* observer) { observer_ = observer; }
    BackwardObserver* observer() const { return observer_; }
    // The nodes of the thread's record: from this tape's first node on are the ones it
    // recorded (an outer tape's earlier nodes come before them when tapes nest).
    std::span<const Node> nodes() const { return rec_->nodes; }
    std::size_t first_node() const { return first_node_; }
    std::span<const std::int32_t> inputs_of(const Node& n) const {
        return {rec_->input_slots.data() + n.in_begin, static_cast<std::size_t>(n.n_in)};
    }
    std::span<const std::int64_t> ints_of(const Node& n) const {
        return {rec_->ints.data() + n.int_begin, static_cast<std::size_t>(n.n_int)};
    }
    std::size_t num_slots() const { return rec_->slots.size(); }
    Tensor slot_tensor(std::int32_t slot) const { return Tensor(rec_->slots.at(slot)); }
    // The gradient that reached a slot in the last backward (undefined when none did).
    Tensor slot_grad(std::int32_t slot) const;

    // ---- used by op recording (op.hpp) ----
    // Throws when an input was recorded on a tape that has ended (or on another thread's);
    // call before computing anything.
    void check_inputs(std::span<const Tensor* const> inputs, const char* op) const;
    void record(Node::BackwardFn fn, Node::GraphBackwardFn graph_fn, const OpInfo* op,
                std::span<const Tensor* const> inputs,
                const std::shared_ptr<detail::TensorImpl>& out, double s0, double s1,
                std::span<const std::int64_t> ints);

  private:
    template <class T>
    friend class BackwardContext;
    friend class GraphContext;

    std::int32_t slot_of_input(const Tensor& t);
    std::int32_t slot_of_source(const Tensor& t) const;  // -1: not in this record
    std::int32_t start_pass(const Tensor& target, const Tensor* seed, const char* what,
                            bool create_graph);
    void run_backward(const Tensor& target, const Tensor* seed, const char* what);
    void run_graph_backward(const Tensor& target, const Tensor* seed, const char* what);
    void run_first_order_only(const Node& n);
    void check_versions(const Node& n) const;
    bool records_its_gradients(const BackwardOptions& options) const;
    void accumulate_into_grads();
    void accumulate_graph_into_grads();
    std::vector<Tensor> collect(const std::vector<Tensor>& sources) const;

    TapeOptions options_;
    detail::Recording* rec_;  // this thread's
    std::uint64_t rec_id_;    // its id, which stays the same while this tape is open
    std::size_t first_node_;  // the record's length when this tape opened
    std::size_t first_slot_;
    std::vector<detail::AnyArray> grads_;                    // per slot, after a first-order pass
    std::vector<detail::AnyArray>* active_grads_ = &grads_;  // what BackwardContext writes
    std::vector<Tensor> graph_grads_;                        // per slot, after a recorded pass
    std::vector<detail::AnyArray> scratch_;  // a first-order-only op's gradients in a recorded pass
    BackwardObserver* observer_ = nullptr;
    bool used_ = false;
    bool last_pass_recorded_ = false;
};

// Whether open tapes record inside this scope; the setting from before comes back at its end
// (PyTorch's AutoGradMode). NoGrad and EnableGrad name its two settings.
class GradMode {
  public:
    explicit GradMode(bool enabled);
    ~GradMode();
    GradMode(const GradMode&) = delete;
    GradMode& operator=(const GradMode&) = delete;

  private:
    int saved_depth_;
};

// Inside this scope nothing is recorded (evaluation, parameter updates, gradient checks).
struct NoGrad : GradMode {
    NoGrad() : GradMode(false) {}
};

// Inside this scope open tapes record again, even within a NoGrad (PyTorch's enable_grad):
// for code that needs gradients of its own, such as a function that gradgradcheck evaluates.
struct EnableGrad : GradMode {
    EnableGrad() : GradMode(true) {}
};

}  // namespace tapegrad

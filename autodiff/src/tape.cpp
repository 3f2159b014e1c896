#include "tapegrad/autodiff/tape.hpp"

#include <algorithm>
#include <atomic>
#include <string>

#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/op.hpp"
#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad {

namespace {

std::atomic<std::uint64_t> next_recording_id{1};
// The open tapes of this thread, oldest first; tapes on other threads never interfere.
thread_local std::vector<Tape*> open_tapes;
thread_local int no_grad_depth = 0;
constexpr std::size_t kMaxKeptNodes = 1 << 16;  // a huge record's arrays are not kept

// This thread's record. A training loop makes one tape per step: the arrays keep their
// capacity from one tape to the next (growing fresh ones every step, with glibc merging its
// small free blocks before each large request, cost 20-30 ns per recorded op).
detail::Recording& thread_recording() {
    thread_local detail::Recording recording;
    return recording;
}

void empty(detail::Recording& r) {
    r.slots.clear();  // values are freed here
    r.nodes.clear();
    r.input_slots.clear();
    r.input_versions.clear();
    r.ints.clear();
    r.leaves.clear();
    if (r.nodes.capacity() > kMaxKeptNodes) {
        r.nodes.shrink_to_fit();
        r.slots.shrink_to_fit();
        r.input_slots.shrink_to_fit();
        r.input_versions.shrink_to_fit();
        r.ints.shrink_to_fit();
    }
}

std::string describe_input(const Tensor& t, std::size_t i, const char* op) {
    std::string s = std::string(op) + ": input " + std::to_string(i);
    if (!t.name().empty()) s += " '" + t.name() + "'";
    return s + " (shape " + shape_str(t.shape()) + ")";
}

template <class T>
xt::xarray<T> ones_of(const Shape& s) {
    return xt::xarray<T>(xt::ones<T>(s));
}

// No op is recorded while a first-order pass runs (a custom rule may call tensor ops).
struct Quiet {
    Quiet() { ++no_grad_depth; }
    ~Quiet() { --no_grad_depth; }
};

// The rules of the node that stands for a first-order-only op's contributions in a recorded
// pass: there is nothing to differentiate them with, so asking is an error naming the op.
[[noreturn]] void refuse(const OpInfo& op) {
    throw TapeError(std::string(op.name) +
                    ": this op's backward is first order only (it has no backward_graph), so a "
                    "gradient computed through it cannot be differentiated again. Give the op a "
                    "backward_graph written with tensor ops (see op.hpp)");
}
void refuse_backward(Tape&, const Node& n) {
    refuse(*n.op);
}
void refuse_graph(GraphContext& c) {
    refuse(*c.node().op);
}

// A gradient of a recording that has ended is only a value now.
Tensor usable(const Tensor& t, std::uint64_t recording) {
    const auto& impl = *t.impl();
    return impl.is_leaf || impl.recorded_in == recording ? t : t.detach();
}

}  // namespace

// ---- LeafSlots -------------------------------------------------------------------------------

std::size_t detail::LeafSlots::index(const TensorImpl* key) const {
    // Fibonacci hashing of the address (records are at least 16-byte aligned).
    const auto h = (reinterpret_cast<std::uintptr_t>(key) >> 4) * 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(h >> 32) & (table_.size() - 1);
}

std::int32_t detail::LeafSlots::find(const TensorImpl* key) const {
    if (key == last_key_) return last_slot_;
    if (table_.empty()) return -1;
    for (std::size_t i = index(key);; i = (i + 1) & (table_.size() - 1)) {
        if (table_[i].key == key) return table_[i].slot;
        if (table_[i].key == nullptr) return -1;
    }
}

std::int32_t detail::LeafSlots::find_or_insert(const TensorImpl* key, std::int32_t next_slot) {
    if (key == last_key_) return last_slot_;
    if (2 * (count_ + 1) > table_.size()) grow();
    std::size_t i = index(key);
    while (table_[i].key != nullptr && table_[i].key != key) i = (i + 1) & (table_.size() - 1);
    if (table_[i].key == nullptr) {
        table_[i] = {key, next_slot};
        ++count_;
    }
    last_key_ = key;
    last_slot_ = table_[i].slot;
    return last_slot_;
}

void detail::LeafSlots::grow() {
    std::vector<Entry> old = std::move(table_);
    table_.assign(std::max<std::size_t>(16, 2 * old.size()), Entry{});
    for (const Entry& e : old) {
        if (e.key == nullptr) continue;
        std::size_t i = index(e.key);
        while (table_[i].key != nullptr) i = (i + 1) & (table_.size() - 1);
        table_[i] = e;
    }
}

void detail::LeafSlots::clear() {
    // A table much larger than its last use is given back; a typical one is refilled as is.
    if (table_.size() > 64 && table_.size() > 8 * count_) {
        table_.clear();
    } else {
        std::fill(table_.begin(), table_.end(), Entry{});
    }
    count_ = 0;
    last_key_ = nullptr;
    last_slot_ = -1;
}

// ---- opening and closing --------------------------------------------------------------------

Tape::Tape(TapeOptions options)
    : options_(options),
      rec_(&thread_recording()),
      rec_id_(0),
      first_node_(rec_->nodes.size()),
      first_slot_(rec_->slots.size()) {
    if (open_tapes.empty()) {
        rec_->id = next_recording_id++;
        if (rec_->nodes.capacity() == 0) {
            rec_->nodes.reserve(64);
            rec_->slots.reserve(128);
            rec_->input_slots.reserve(128);
            rec_->input_versions.reserve(128);
        }
    }
    rec_id_ = rec_->id;
    if (!rec_->spare_grads.empty()) {
        grads_ = std::move(rec_->spare_grads.back());
        rec_->spare_grads.pop_back();
    }
    open_tapes.push_back(this);
}

Tape::~Tape() {
    // Tapes are scoped objects, so they close in reverse order; tolerate any order anyway.
    auto it = std::find(open_tapes.rbegin(), open_tapes.rend(), this);
    if (it != open_tapes.rend()) open_tapes.erase(std::next(it).base());
    grads_.clear();  // first: gradients are freed before the values
    graph_grads_.clear();
    if (rec_->spare_grads.size() < 4 && grads_.capacity() <= kMaxKeptNodes)
        rec_->spare_grads.push_back(std::move(grads_));
    if (open_tapes.empty()) empty(*rec_);
}

Tape* Tape::recording() {
    return (no_grad_depth == 0 && !open_tapes.empty()) ? open_tapes.back() : nullptr;
}

// Within a NoGrad the depth counts the NoGrads open; EnableGrad sets it to 0 for its scope.
GradMode::GradMode(bool enabled) : saved_depth_(no_grad_depth) {
    no_grad_depth = enabled ? 0 : saved_depth_ + 1;
}
GradMode::~GradMode() {
    no_grad_depth = saved_depth_;
}

// ---- recording ------------------------------------------------------------------------------

void Tape::check_inputs(std::span<const Tensor* const> inputs, const char* op) const {
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const auto& impl = *inputs[i]->impl();
        if (impl.is_leaf || impl.recorded_in == rec_id_) continue;
        throw TapeError(describe_input(*inputs[i], i, op) +
                        " was recorded on a tape that has ended (or on another thread's tape). "
                        "Use .detach() to take its value as a constant.");
    }
}

std::int32_t Tape::slot_of_input(const Tensor& t) {
    auto& impl = *t.impl();
    if (!impl.is_leaf) return impl.slot;  // recorded here: check_inputs made sure
    const auto next = static_cast<std::int32_t>(rec_->slots.size());
    // A parameter takes one slot however often it is used; a constant takes one per use (it
    // is never asked for).
    if (impl.requires_grad) {
        const std::int32_t slot = rec_->leaves.find_or_insert(&impl, next);
        if (slot != next) return slot;
    }
    rec_->slots.push_back(t.impl());
    return next;
}

std::int32_t Tape::slot_of_source(const Tensor& t) const {
    const auto& impl = t.checked_impl();
    if (!impl.is_leaf) return impl.recorded_in == rec_->id ? impl.slot : -1;
    return impl.requires_grad ? rec_->leaves.find(&impl) : -1;
}

void Tape::record(Node::BackwardFn fn, Node::GraphBackwardFn graph_fn, const OpInfo* op,
                  std::span<const Tensor* const> inputs,
                  const std::shared_ptr<detail::TensorImpl>& out, double s0, double s1,
                  std::span<const std::int64_t> ints) {
    detail::Recording& r = *rec_;
    Node n;
    n.backward = fn;
    n.backward_graph = graph_fn;
    n.op = op;
    n.in_begin = static_cast<std::int32_t>(r.input_slots.size());
    n.n_in = static_cast<std::int32_t>(inputs.size());
    for (const Tensor* t : inputs) {
        r.input_slots.push_back(slot_of_input(*t));
        r.input_versions.push_back(t->impl()->version);
    }
    n.int_begin = static_cast<std::int32_t>(r.ints.size());
    n.n_int = static_cast<std::int32_t>(ints.size());
    r.ints.insert(r.ints.end(), ints.begin(), ints.end());
    n.scalar[0] = s0;
    n.scalar[1] = s1;
    n.out = static_cast<std::int32_t>(r.slots.size());
    out->requires_grad = true;
    out->is_leaf = false;
    out->recorded_in = r.id;
    out->slot = n.out;
    r.slots.push_back(out);
    r.nodes.push_back(n);
}

// ---- backward -------------------------------------------------------------------------------

void Tape::check_versions(const Node& n) const {
    for (std::int32_t k = 0; k < n.n_in; ++k) {
        const auto& impl = *rec_->slots[rec_->input_slots[n.in_begin + k]];
        const auto saved = rec_->input_versions[n.in_begin + k];
        if (impl.version != saved) {
            Tensor t(rec_->slots[rec_->input_slots[n.in_begin + k]]);
            throw TapeError("backward: " + describe_input(t, k, n.op->name) +
                            " was changed in place after the op was recorded (version " +
                            std::to_string(saved) + ", now " + std::to_string(impl.version) +
                            "); change parameters after backward, not between the forward "
                            "pass and backward");
        }
    }
}

// Checks the request and finds the target's slot; from here on the pass counts as done.
std::int32_t Tape::start_pass(const Tensor& target, const Tensor* seed, const char* what,
                              bool create_graph) {
    const std::string w = what;
    if (!target.defined()) throw TapeError(w + ": the target tensor is undefined");
    const auto& ti = *target.impl();
    if (!ti.requires_grad) {
        throw TapeError(w +
                        ": the target does not require grad: no recorded op led to it from a "
                        "tensor with requires_grad_() (was it computed before the tape was "
                        "created, or inside NoGrad?)");
    }
    if (!ti.is_leaf && ti.recorded_in != rec_->id) {
        throw TapeError(w +
                        ": the target was recorded on another tape (one that has ended, or "
                        "another thread's); call backward on the tape that recorded it");
    }
    if (!ti.is_leaf && static_cast<std::size_t>(ti.slot) < first_slot_) {
        throw TapeError(w +
                        ": the target was computed before this tape opened (on an outer tape); "
                        "differentiate it with the tape that was open when it was computed");
    }
    if (used_ && !options_.persistent) {
        throw TapeError(w +
                        ": this tape was already differentiated once; construct it with "
                        "Tape({.persistent = true}) to differentiate it again (or pass "
                        "{.create_graph = true}, which keeps it)");
    }
    if (seed) {
        if (!seed->defined()) throw TapeError(w + ": the seed gradient is undefined");
        if (seed->shape() != target.shape() || seed->dtype() != target.dtype()) {
            throw ShapeError(w + ": the seed gradient (" + std::string(dtype_name(seed->dtype())) +
                             ", shape " + shape_str(seed->shape()) + ") must match the output (" +
                             std::string(dtype_name(target.dtype())) + ", shape " +
                             shape_str(target.shape()) + ")");
        }
    } else if (target.numel() != 1) {
        throw ShapeError(w + ": the output has shape " + shape_str(target.shape()) +
                         "; backward without a seed needs a one-element (scalar) output. Reduce "
                         "it (sum, mean) or pass a seed gradient of its shape");
    }
    if (!create_graph) used_ = true;  // a recorded pass keeps the tape (PyTorch's retain_graph)
    if (!ti.is_leaf) return ti.slot;
    // A leaf target: the slot it has here, or a new one.
    const auto next = static_cast<std::int32_t>(rec_->slots.size());
    const std::int32_t slot = rec_->leaves.find_or_insert(&ti, next);
    if (slot == next) rec_->slots.push_back(target.impl());
    return slot;
}

void Tape::run_backward(const Tensor& target, const Tensor* seed, const char* what) {
    const std::int32_t target_slot = start_pass(target, seed, what, false);
    last_pass_recorded_ = false;
    graph_grads_.clear();
    grads_.assign(rec_->slots.size(), std::monostate{});
    if (seed) {
        grads_[target_slot] = seed->impl()->value;
    } else if (target.dtype() == f32) {
        grads_[target_slot] = ones_of<float>(target.shape());
    } else {
        grads_[target_slot] = ones_of<double>(target.shape());
    }
    active_grads_ = &grads_;
    Quiet quiet;
    if (observer_) [[unlikely]] {
        // A separate loop, so that the usual one pays a single branch per pass, not per node.
        observer_->backward_begin(*this, target_slot);
        for (std::size_t i = rec_->nodes.size(); i-- > first_node_;) {
            const Node& n = rec_->nodes[i];
            if (std::holds_alternative<std::monostate>(grads_[n.out])) continue;
            check_versions(n);
            observer_->before_node(*this, i);
            n.backward(*this, n);
            observer_->after_node(*this, i);
        }
        observer_->backward_end(*this);
        return;
    }
    for (std::size_t i = rec_->nodes.size(); i-- > first_node_;) {
        const Node& n = rec_->nodes[i];
        if (std::holds_alternative<std::monostate>(grads_[n.out])) continue;
        check_versions(n);
        n.backward(*this, n);
    }
}

// The same walk with each rule written in recorded ops: every contribution is a recorded
// tensor, so the gradients can be differentiated again. Nodes recorded by the pass itself
// come after the walk's start and are not walked.
void Tape::run_graph_backward(const Tensor& target, const Tensor* seed, const char* what) {
    const std::int32_t target_slot = start_pass(target, seed, what, true);
    last_pass_recorded_ = true;
    grads_.clear();
    graph_grads_.assign(rec_->slots.size(), Tensor());
    graph_grads_[target_slot] = seed ? *seed : ones_like(target);
    const std::size_t end = rec_->nodes.size();
    if (observer_) observer_->backward_begin(*this, target_slot);
    for (std::size_t i = end; i-- > first_node_;) {
        const Node n = rec_->nodes[i];  // a copy: the pass appends to the record
        if (!graph_grads_[n.out].defined()) continue;
        check_versions(n);
        if (observer_) observer_->before_node(*this, i);
        if (n.backward_graph) {
            GraphContext c(*this, n);
            n.backward_graph(c);
        } else {
            run_first_order_only(n);
        }
        if (observer_) observer_->after_node(*this, i);
    }
    if (observer_) observer_->backward_end(*this);
}

// An op with only an array rule, in a recorded pass: its rule runs on the values, and each
// contribution becomes the result of a recorded node that refuses to be differentiated.
void Tape::run_first_order_only(const Node& n) {
    if (scratch_.size() < rec_->slots.size()) scratch_.resize(rec_->slots.size());
    const Tensor g = graph_grads_[n.out];
    const auto ins = inputs_of(n);
    std::vector<std::int32_t> slots(ins.begin(), ins.end());
    for (auto s : slots) scratch_[s] = std::monostate{};
    scratch_[n.out] = g.impl()->value;
    {
        Quiet quiet;
        active_grads_ = &scratch_;
        n.backward(*this, n);
        active_grads_ = &grads_;
    }
    std::vector<Tensor> node_inputs{g};
    for (auto s : slots) node_inputs.push_back(Tensor(rec_->slots[s]));
    std::vector<const Tensor*> pointers;
    for (const auto& t : node_inputs) pointers.push_back(&t);
    bool any = false;
    for (const auto& t : node_inputs) any = any || t.requires_grad();
    for (std::size_t k = 0; k < slots.size(); ++k) {
        const std::int32_t s = slots[k];
        if (std::holds_alternative<std::monostate>(scratch_[s])) continue;  // done, or none
        auto impl = detail::new_impl();
        impl->value = std::move(scratch_[s]);
        scratch_[s] = std::monostate{};
        if (any && Tape::recording()) {
            Tape::recording()->record(&refuse_backward, &refuse_graph, n.op, pointers, impl, 0, 0,
                                      {});
        }
        Tensor contribution(std::move(impl));
        Tensor& acc = graph_grads_[s];
        acc = acc.defined() ? acc + contribution : contribution;
    }
    scratch_[n.out] = std::monostate{};
}

bool Tape::records_its_gradients(const BackwardOptions& options) const {
    // Explicitly asked, or another tape of this thread is open and recording (TensorFlow's
    // nested tapes: the outer one sees what the inner one's gradient computes).
    return options.create_graph || (open_tapes.size() > 1 && Tape::recording() != nullptr);
}

void Tape::accumulate_into_grads() {
    // Leaves that require grad accumulate (until zero_grad); recorded results keep their
    // gradient only when the tape was asked to retain them.
    for (std::size_t s = 0; s < grads_.size(); ++s) {
        auto& g = grads_[s];
        if (std::holds_alternative<std::monostate>(g)) continue;
        auto& impl = *rec_->slots[s];
        const bool leaf_param = impl.is_leaf && impl.requires_grad;
        if (!leaf_param && !(options_.retain_grads && !impl.is_leaf)) continue;
        if (impl.grad && leaf_param && impl.grad->value.index() == g.index()) {
            // A gradient recorded by an earlier create_graph pass is not changed in place.
            if (!impl.grad->is_leaf) impl.grad = Tensor(impl.grad).detach().impl();
            if (auto* acc = std::get_if<1>(&impl.grad->value)) {
                *acc += std::get<1>(g);
            } else {
                std::get<2>(impl.grad->value) += std::get<2>(g);
            }
            continue;
        }
        impl.grad = detail::new_impl();
        // Keep the tape's copy only when someone will read it (retain_grads); else move.
        if (options_.retain_grads) {
            impl.grad->value = g;
        } else {
            impl.grad->value = std::move(g);
            g = std::monostate{};
        }
    }
}

void Tape::accumulate_graph_into_grads() {
    for (std::size_t s = 0; s < graph_grads_.size(); ++s) {
        const Tensor& g = graph_grads_[s];
        if (!g.defined()) continue;
        auto& impl = *rec_->slots[s];
        const bool leaf_param = impl.is_leaf && impl.requires_grad;
        if (!leaf_param && !(options_.retain_grads && !impl.is_leaf)) continue;
        // A tensor of its own: one gradient can reach several slots (add passes it on), and
        // optimizers change .grad() in place.
        Tensor own = g.requires_grad() ? clone(g) : g.detach();
        if (impl.grad && leaf_param) own = usable(Tensor(impl.grad), rec_->id) + own;
        impl.grad = own.impl();
    }
}

void Tape::backward(const Tensor& loss, BackwardOptions options) {
    if (records_its_gradients(options)) {
        EnableGrad enable;
        run_graph_backward(loss, nullptr, "backward");
        accumulate_graph_into_grads();
        return;
    }
    run_backward(loss, nullptr, "backward");
    accumulate_into_grads();
}

void Tape::backward(const Tensor& output, const Tensor& seed, BackwardOptions options) {
    if (records_its_gradients(options)) {
        EnableGrad enable;
        run_graph_backward(output, &seed, "backward");
        accumulate_graph_into_grads();
        return;
    }
    run_backward(output, &seed, "backward");
    accumulate_into_grads();
}

std::vector<Tensor> Tape::collect(const std::vector<Tensor>& sources) const {
    std::vector<Tensor> out;
    out.reserve(sources.size());
    for (const Tensor& src : sources) {
        const std::int32_t slot = slot_of_source(src);
        Tensor g = slot >= 0 ? slot_grad(slot) : Tensor();
        out.push_back(g.defined() ? g : zeros_like(src));
    }
    return out;
}

std::vector<Tensor> Tape::gradient(const Tensor& target, const std::vector<Tensor>& sources,
                                   BackwardOptions options) {
    if (records_its_gradients(options)) {
        EnableGrad enable;
        run_graph_backward(target, nullptr, "gradient");
        return collect(sources);
    }
    run_backward(target, nullptr, "gradient");
    return collect(sources);
}

std::vector<Tensor> Tape::gradient(const Tensor& target, const std::vector<Tensor>& sources,
                                   const Tensor& seed, BackwardOptions options) {
    if (records_its_gradients(options)) {
        EnableGrad enable;
        run_graph_backward(target, &seed, "gradient");
        return collect(sources);
    }
    run_backward(target, &seed, "gradient");
    return collect(sources);
}

Tensor Tape::slot_grad(std::int32_t slot) const {
    if (slot < 0) return Tensor();
    const auto s = static_cast<std::size_t>(slot);
    if (last_pass_recorded_) return s < graph_grads_.size() ? graph_grads_[s] : Tensor();
    if (s >= grads_.size() || std::holds_alternative<std::monostate>(grads_[s])) return Tensor();
    auto impl = detail::new_impl();
    impl->value = grads_[s];
    return Tensor(std::move(impl));
}

// ---- GraphContext ---------------------------------------------------------------------------

void GraphContext::accumulate(int i, Tensor contribution) {
    if (!needs(i)) return;
    const Shape& target = in_shape(i);
    if (contribution.shape() != target) contribution = sum_to(contribution, target);
    Tensor& acc = tape_.graph_grads_[slot(i)];
    acc = acc.defined() ? acc + contribution : std::move(contribution);
}

}  // namespace tapegrad

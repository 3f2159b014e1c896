#include "tapegrad/autodiff/tape.hpp"

#include <algorithm>
#include <atomic>
#include <string>

#include "tapegrad/autodiff/op.hpp"

namespace tapegrad {

namespace {

std::atomic<std::uint64_t> next_tape_id{1};
// The open tapes of this thread, innermost last; tapes on other threads never interfere.
thread_local std::vector<Tape*> open_tapes;
thread_local int no_grad_depth = 0;

std::string describe_input(const Tensor& t, std::size_t i, const char* op) {
    std::string s = std::string(op) + ": input " + std::to_string(i);
    if (!t.name().empty()) s += " '" + t.name() + "'";
    return s + " (shape " + shape_str(t.shape()) + ")";
}

template <class T>
xt::xarray<T> ones_of(const Shape& s) {
    return xt::xarray<T>(xt::ones<T>(s));
}

// The arrays of tapes that ended on this thread, emptied but with their capacity. A training
// loop makes one tape per step; growing fresh arrays every time (and glibc merging its small
// free blocks before each large request) cost 20-30 ns per recorded op.
struct SpareArrays {
    std::vector<Node> nodes;
    std::vector<std::shared_ptr<detail::TensorImpl>> slots;
    std::vector<std::int32_t> input_slots;
    std::vector<std::uint32_t> input_versions;
    std::vector<std::int64_t> ints;
    std::vector<detail::AnyArray> grads;
};
thread_local bool spares_alive = false;  // false before first use and after thread exit
struct SpareList {
    std::vector<SpareArrays> list;
    SpareList() { spares_alive = true; }
    ~SpareList() { spares_alive = false; }
};
thread_local SpareList spares;
constexpr std::size_t kMaxSpareNodes = 1 << 16;  // a huge tape's arrays are not kept

}  // namespace

Tape::Tape(TapeOptions options) : options_(options), id_(next_tape_id++) {
    if (!spares.list.empty()) {
        SpareArrays& a = spares.list.back();
        nodes_ = std::move(a.nodes);
        slots_ = std::move(a.slots);
        input_slots_ = std::move(a.input_slots);
        input_versions_ = std::move(a.input_versions);
        ints_ = std::move(a.ints);
        grads_ = std::move(a.grads);
        spares.list.pop_back();
    } else {
        nodes_.reserve(64);
        slots_.reserve(128);
        input_slots_.reserve(128);
        input_versions_.reserve(128);
    }
    open_tapes.push_back(this);
}

Tape::~Tape() {
    // Tapes are scoped objects, so they close in reverse order; tolerate any order anyway.
    auto it = std::find(open_tapes.rbegin(), open_tapes.rend(), this);
    if (it != open_tapes.rend()) open_tapes.erase(std::next(it).base());
    if (!spares_alive || spares.list.size() >= 4 || nodes_.capacity() > kMaxSpareNodes) return;
    grads_.clear();  // first: gradients and values are freed here, as before
    slots_.clear();
    nodes_.clear();
    input_slots_.clear();
    input_versions_.clear();
    ints_.clear();
    spares.list.push_back({std::move(nodes_), std::move(slots_), std::move(input_slots_),
                           std::move(input_versions_), std::move(ints_), std::move(grads_)});
}

Tape* Tape::recording() {
    return (no_grad_depth == 0 && !open_tapes.empty()) ? open_tapes.back() : nullptr;
}

NoGrad::NoGrad() {
    ++no_grad_depth;
}
NoGrad::~NoGrad() {
    --no_grad_depth;
}

void Tape::check_inputs(std::span<const Tensor* const> inputs, const char* op) const {
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const auto& impl = *inputs[i]->impl();
        if (impl.is_leaf || impl.tape_id == id_) continue;
        const bool outer = std::any_of(open_tapes.begin(), open_tapes.end(),
                                       [&](const Tape* t) { return t->id_ == impl.tape_id; });
        throw TapeError(describe_input(*inputs[i], i, op) +
                        (outer ? " was recorded on an outer tape that is still open; a tape "
                                 "differentiates only what it recorded itself"
                               : " was recorded on a tape that has ended") +
                        ". Use .detach() to take its value as a constant.");
    }
}

std::int32_t Tape::slot_of_input(const Tensor& t) {
    auto& impl = *t.impl();
    if (impl.tape_id == id_) return impl.slot;  // recorded here, or a parameter seen before
    const auto slot = static_cast<std::int32_t>(slots_.size());
    slots_.push_back(t.impl());
    // Only parameters remember their slot: a constant may be shared between threads.
    if (impl.requires_grad) {
        impl.tape_id = id_;
        impl.slot = slot;
    }
    return slot;
}

void Tape::record(Node::BackwardFn fn, const OpInfo* op, std::span<const Tensor* const> inputs,
                  const std::shared_ptr<detail::TensorImpl>& out, double s0, double s1,
                  std::span<const std::int64_t> ints) {
    Node n;
    n.backward = fn;
    n.op = op;
    n.in_begin = static_cast<std::int32_t>(input_slots_.size());
    n.n_in = static_cast<std::int32_t>(inputs.size());
    for (const Tensor* t : inputs) {
        input_slots_.push_back(slot_of_input(*t));
        input_versions_.push_back(t->impl()->version);
    }
    n.int_begin = static_cast<std::int32_t>(ints_.size());
    n.n_int = static_cast<std::int32_t>(ints.size());
    ints_.insert(ints_.end(), ints.begin(), ints.end());
    n.scalar[0] = s0;
    n.scalar[1] = s1;
    n.out = static_cast<std::int32_t>(slots_.size());
    out->requires_grad = true;
    out->is_leaf = false;
    out->tape_id = id_;
    out->slot = n.out;
    slots_.push_back(out);
    nodes_.push_back(n);
}

void Tape::check_versions(const Node& n) const {
    for (std::int32_t k = 0; k < n.n_in; ++k) {
        const auto& impl = *slots_[input_slots_[n.in_begin + k]];
        const auto saved = input_versions_[n.in_begin + k];
        if (impl.version != saved) {
            Tensor t(slots_[input_slots_[n.in_begin + k]]);
            throw TapeError("backward: " + describe_input(t, k, n.op->name) +
                            " was changed in place after the op was recorded (version " +
                            std::to_string(saved) + ", now " + std::to_string(impl.version) +
                            "); change parameters after backward, not between the forward "
                            "pass and backward");
        }
    }
}

void Tape::run_backward(const Tensor& target, const Tensor* seed, const char* what) {
    if (!target.defined()) throw TapeError(std::string(what) + ": the target tensor is undefined");
    const auto& ti = *target.impl();
    if (!ti.requires_grad) {
        throw TapeError(std::string(what) +
                        ": the target does not require grad: no recorded op led to it from a "
                        "tensor with requires_grad_() (was it computed before the tape was "
                        "created, or inside NoGrad?)");
    }
    if (!ti.is_leaf && ti.tape_id != id_) {
        throw TapeError(std::string(what) +
                        ": the target was recorded on another tape (one that has ended, or "
                        "another open one); call backward on the tape that recorded it");
    }
    if (used_ && !options_.persistent) {
        throw TapeError(std::string(what) +
                        ": this tape was already differentiated once; construct it with "
                        "Tape({.persistent = true}) to differentiate it again");
    }
    if (seed) {
        if (!seed->defined())
            throw TapeError(std::string(what) + ": the seed gradient is undefined");
        if (seed->shape() != target.shape() || seed->dtype() != target.dtype()) {
            throw ShapeError(std::string(what) + ": the seed gradient (" +
                             std::string(dtype_name(seed->dtype())) + ", shape " +
                             shape_str(seed->shape()) + ") must match the output (" +
                             std::string(dtype_name(target.dtype())) + ", shape " +
                             shape_str(target.shape()) + ")");
        }
    } else if (target.numel() != 1) {
        throw ShapeError(std::string(what) + ": the output has shape " + shape_str(target.shape()) +
                         "; backward without a seed needs a one-element (scalar) output. Reduce "
                         "it (sum, mean) or pass a seed gradient of its shape");
    }
    used_ = true;
    grads_.assign(slots_.size(), std::monostate{});
    // A leaf target that was never an input here has no slot; its gradient is the seed.
    std::int32_t target_slot = -1;
    if (!ti.is_leaf || ti.tape_id == id_) target_slot = ti.slot;
    if (target_slot < 0) {
        target_slot = static_cast<std::int32_t>(slots_.size());
        slots_.push_back(target.impl());
        grads_.emplace_back();
        target.impl()->tape_id = id_;
        target.impl()->slot = target_slot;
    }
    if (seed) {
        grads_[target_slot] = seed->impl()->value;
    } else if (target.dtype() == f32) {
        grads_[target_slot] = ones_of<float>(target.shape());
    } else {
        grads_[target_slot] = ones_of<double>(target.shape());
    }
    if (observer_) [[unlikely]] {
        observed_backward(target_slot);
        return;
    }
    for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {
        if (std::holds_alternative<std::monostate>(grads_[it->out])) continue;
        check_versions(*it);
        it->backward(*this, *it);
    }
}

// The same walk with the observer told about each node: a separate loop, so that the usual
// one pays a single branch per backward pass, not per node.
void Tape::observed_backward(std::int32_t target_slot) {
    observer_->backward_begin(*this, target_slot);
    for (std::size_t i = nodes_.size(); i-- > 0;) {
        const Node& n = nodes_[i];
        if (std::holds_alternative<std::monostate>(grads_[n.out])) continue;
        check_versions(n);
        observer_->before_node(*this, i);
        n.backward(*this, n);
        observer_->after_node(*this, i);
    }
    observer_->backward_end(*this);
}

void Tape::accumulate_into_grads() {
    // Leaves that require grad accumulate (until zero_grad); recorded results keep their
    // gradient only when the tape was asked to retain them.
    for (std::size_t s = 0; s < slots_.size(); ++s) {
        auto& g = grads_[s];
        if (std::holds_alternative<std::monostate>(g)) continue;
        auto& impl = *slots_[s];
        const bool leaf_param = impl.is_leaf && impl.requires_grad;
        if (!leaf_param && !(options_.retain_grads && !impl.is_leaf)) continue;
        if (impl.grad && leaf_param) {
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

void Tape::backward(const Tensor& loss) {
    run_backward(loss, nullptr, "backward");
    accumulate_into_grads();
}

void Tape::backward(const Tensor& output, const Tensor& seed) {
    run_backward(output, &seed, "backward");
    accumulate_into_grads();
}

namespace {
Tensor zeros_of(const Tensor& like) {
    auto impl = detail::new_impl();
    if (like.dtype() == f32) {
        impl->value = xt::xarray<float>(xt::zeros<float>(like.shape()));
    } else {
        impl->value = xt::xarray<double>(xt::zeros<double>(like.shape()));
    }
    return Tensor(std::move(impl));
}
}  // namespace

std::vector<Tensor> Tape::collect(const std::vector<Tensor>& sources) const {
    std::vector<Tensor> out;
    out.reserve(sources.size());
    for (const Tensor& src : sources) {
        const auto& impl = src.checked_impl();
        Tensor g = impl.tape_id == id_ && impl.slot >= 0 ? slot_grad(impl.slot) : Tensor();
        out.push_back(g.defined() ? g : zeros_of(src));
    }
    return out;
}

std::vector<Tensor> Tape::gradient(const Tensor& target, const std::vector<Tensor>& sources) {
    run_backward(target, nullptr, "gradient");
    return collect(sources);
}

std::vector<Tensor> Tape::gradient(const Tensor& target, const std::vector<Tensor>& sources,
                                   const Tensor& seed) {
    run_backward(target, &seed, "gradient");
    return collect(sources);
}

Tensor Tape::slot_grad(std::int32_t slot) const {
    if (slot < 0 || static_cast<std::size_t>(slot) >= grads_.size() ||
        std::holds_alternative<std::monostate>(grads_[slot])) {
        return Tensor();
    }
    auto impl = detail::new_impl();
    impl->value = grads_[slot];
    return Tensor(std::move(impl));
}

}  // namespace tapegrad

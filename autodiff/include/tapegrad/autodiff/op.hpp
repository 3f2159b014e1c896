#pragma once
// How an op is defined: a struct with its name and rule (OpInfo), a forward that computes the
// value from the input values, and a backward that turns the gradient of the result into
// contributions to the inputs. apply<Op>() runs the forward and, when a tape records and an
// input requires grad, appends the node. Every built-in op is written this way, and so is a
// user's custom op:
//
//   struct Cube {
//       static constexpr OpInfo info{"cube", "d/dx = g*3x^2"};
//       template <class T> static xt::xarray<T> forward(const Inputs<T>& in, const OpArgs&) {
//           return (*in[0]) * (*in[0]) * (*in[0]);
//       }
//       template <class T> static void backward(BackwardContext<T>& c) {
//           c.accumulate(0, c.grad() * T(3) * c.in(0) * c.in(0));
//       }
//   };
//   Tensor cube(const Tensor& x) { return apply<Cube>({&x}); }
#include <initializer_list>
#include <span>
#include <xtensor/xarray.hpp>

#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad {

// Arguments that are not tensors: up to two scalars and a list of integers (axes, indices).
struct OpArgs {
    double s0 = 0.0;
    double s1 = 0.0;
    std::span<const std::int64_t> ints{};
};

template <class T>
using Inputs = xt::svector<const xt::xarray<T>*, 4>;

// Sums a gradient over the axes along which the input was broadcast, so that the gradient
// has the input's shape: the one place where broadcasting meets backward.
template <class T>
xt::xarray<T> sum_to_shape(const xt::xarray<T>& g, const Shape& target);
// The shape a NumPy broadcast of a and b gives; a ShapeError naming op and shapes if none.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);
// An axis in [-dim, dim) made non-negative; a ValueError naming the op otherwise.
std::size_t normalize_axis(const char* op, std::int64_t axis, std::size_t dim);

// What a backward rule sees: the incoming gradient, the values, and where to send results.
template <class T>
class BackwardContext {
  public:
    BackwardContext(Tape& tape, const Node& node) : tape_(tape), node_(node) {}

    const xt::xarray<T>& grad() const {
        return std::get<detail::variant_index<T>()>(tape_.grads_[node_.out]);
    }
    const xt::xarray<T>& out() const { return value_of<T>(node_.out); }
    const xt::xarray<T>& in(int i) const { return value_of<T>(slot(i)); }
    template <class U>
    const xt::xarray<U>& in_as(int i) const {
        return value_of<U>(slot(i));
    }
    const Shape& in_shape(int i) const;
    int n_in() const { return node_.n_in; }
    bool needs(int i) const { return tape_.slots_[slot(i)]->requires_grad; }
    double scalar(int k) const { return node_.scalar[k]; }
    std::span<const std::int64_t> ints() const { return tape_.ints_of(node_); }
    const Node& node() const { return node_; }

    // Adds the expression e (a gradient of input i, possibly of the broadcast shape) into the
    // gradient of input i. Nothing is evaluated when input i does not require grad.
    template <class E>
    void accumulate(int i, E&& e) {
        if (!needs(i)) return;
        using U = typename std::decay_t<E>::value_type;
        const std::int32_t s = slot(i);
        auto& acc = tape_.grads_[s];
        const Shape& target = tape_.slots_[s]->value.index() == 1
                                  ? std::get<1>(tape_.slots_[s]->value).shape()
                                  : std::get<2>(tape_.slots_[s]->value).shape();
        if (std::holds_alternative<std::monostate>(acc)) {
            xt::xarray<U> g = std::forward<E>(e);
            if (g.shape() != target) g = sum_to_shape(g, target);
            acc.template emplace<detail::variant_index<U>()>(std::move(g));
        } else {
            auto& a = std::get<detail::variant_index<U>()>(acc);
            const auto& es = e.shape();
            if (es.size() == target.size() && std::equal(es.begin(), es.end(), target.begin())) {
                a += e;
            } else {
                a += sum_to_shape(xt::xarray<U>(std::forward<E>(e)), target);
            }
        }
    }

    // Input i's gradient buffer, for kernels that accumulate in place (BLAS with beta = 1).
    // The flag is true when the buffer is new and uninitialised: overwrite it (beta = 0).
    std::pair<xt::xarray<T>*, bool> grad_buffer(int i) {
        auto& acc = tape_.grads_[slot(i)];
        if (std::holds_alternative<std::monostate>(acc)) {
            acc.template emplace<detail::variant_index<T>()>(
                xt::xarray<T>::from_shape(in_shape(i)));
            return {&std::get<detail::variant_index<T>()>(acc), true};
        }
        return {&std::get<detail::variant_index<T>()>(acc), false};
    }

  private:
    std::int32_t slot(int i) const { return tape_.input_slots_[node_.in_begin + i]; }
    template <class U>
    const xt::xarray<U>& value_of(std::int32_t s) const {
        return std::get<detail::variant_index<U>()>(tape_.slots_[s]->value);
    }
    Tape& tape_;
    const Node& node_;
};

template <class T>
const Shape& BackwardContext<T>::in_shape(int i) const {
    const auto& v = tape_.slots_[slot(i)]->value;
    return v.index() == 1 ? std::get<1>(v).shape() : std::get<2>(v).shape();
}

namespace detail {

template <class Op, class T>
void run_backward(Tape& tape, const Node& node) {
    BackwardContext<T> c(tape, node);
    Op::template backward<T>(c);
}

// Checks that every input is defined and that all share one dtype (the op is named).
Dtype common_dtype(const char* op, std::span<const Tensor* const> inputs);

template <class Op, class T>
Tensor apply_typed(std::span<const Tensor* const> inputs, const OpArgs& args, Tape* tape) {
    Inputs<T> values;
    for (const Tensor* t : inputs)
        values.push_back(&std::get<variant_index<T>()>(t->impl()->value));
    if (tape) tape->check_inputs(inputs, Op::info.name);
    auto impl = new_impl();
    impl->value.template emplace<variant_index<T>()>(Op::template forward<T>(values, args));
    if (tape) {
        tape->record(&run_backward<Op, T>, &Op::info, inputs, impl, args.s0, args.s1, args.ints);
    }
    return Tensor(std::move(impl));
}

}  // namespace detail

// Runs Op on the inputs (all of one dtype) and records it when a tape is recording and
// some input requires grad.
template <class Op>
Tensor apply(std::span<const Tensor* const> inputs, const OpArgs& args = {}) {
    const Dtype dt = detail::common_dtype(Op::info.name, inputs);
    Tape* tape = Tape::recording();
    if (tape) {
        bool any = false;
        for (const Tensor* t : inputs) any = any || t->impl()->requires_grad;
        if (!any) tape = nullptr;
    }
    return dt == Dtype::f32 ? detail::apply_typed<Op, float>(inputs, args, tape)
                            : detail::apply_typed<Op, double>(inputs, args, tape);
}
template <class Op>
Tensor apply(std::initializer_list<const Tensor*> inputs, const OpArgs& args = {}) {
    return apply<Op>(std::span<const Tensor* const>(inputs.begin(), inputs.size()), args);
}

}  // namespace tapegrad

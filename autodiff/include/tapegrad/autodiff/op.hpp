#pragma once
// How an op is defined: a struct with its metadata (OpInfo), a forward that computes the value
// from the input values, and its derivative rule. apply<Op>() runs the forward and, when a tape
// records and an input requires grad, appends the node. Every built-in op with a derivative
// is written this way (comparisons give constants), and so is a user's custom op.
//
// The rule is one function template, `backward(auto& c)`, written once for both passes: the
// fast first-order pass calls it with a BackwardContext<T> (xtensor arrays), a recorded pass
// with a GraphContext (tensors of the tape, so that the gradient can be differentiated again).
// Unqualified calls (exp, cos, sign, pow) find xtensor's or tapegrad's function by argument
// type, and c.constant(v) is v in the rule's element type:
//
//   struct Cube {
//       static constexpr OpInfo info{.name = "cube", .rule = "∂out/∂x = 3x²", .elementwise = true};
//       static auto forward(const auto& x) { return x * x * x; }
//       static void backward(auto& c) { c.accumulate(0, c.grad() * 3 * c.in(0) * c.in(0)); }
//   };
//   Tensor cube(const Tensor& x) { return apply<Cube>({&x}); }
//
// The forward has one of these forms (detail::forward_into picks it):
//   - elementwise, on the input arrays and the scalar arguments in the element type T:
//     forward(x), forward(a, b) (the shapes checked to broadcast, in the op's name), which may
//     return an expression of their inputs; forward(x, s) or forward(x, s0, s1) when OpInfo
//     names one or two scalars, which return xt::xarray<T> (checked);
//   - general: template <class T> static xt::xarray<T> forward(const Inputs<T>&, const OpArgs&),
//     for everything else (axes, indices, several outputs' shapes, a cast).
//
// Where the two passes need different code (a BLAS kernel, a mask), an op has
// `template <class T> static void backward(BackwardContext<T>&)` on arrays and, optionally,
// `static void backward_graph(GraphContext&)` in tensor ops. Without a rule for tensors the op
// is first order only: a recorded pass still computes its gradient, and differentiating that
// gradient again is an error naming the op.
#include <initializer_list>
#include <span>
#include <type_traits>
#include <utility>
#include <xtensor/xarray.hpp>
#include <xtensor/xnoalias.hpp>

#include "tapegrad/autodiff/parallel.hpp"
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

// What an array rule sees: the incoming gradient, the values, and where to send results.
template <class T>
class BackwardContext {
  public:
    using value_type = T;
    BackwardContext(Tape& tape, const Node& node)
        : rec_(*tape.rec_), grads_(*tape.active_grads_), node_(node) {}

    const xt::xarray<T>& grad() const { return grad_as<T>(); }
    // The gradient of a result whose dtype differs from the inputs' (a cast).
    template <class U>
    const xt::xarray<U>& grad_as() const {
        return std::get<detail::variant_index<U>()>(grads_[node_.out]);
    }
    const xt::xarray<T>& out() const { return value_of<T>(node_.out); }
    const xt::xarray<T>& in(int i) const { return value_of<T>(slot(i)); }
    template <class U>
    const xt::xarray<U>& in_as(int i) const {
        return value_of<U>(slot(i));
    }
    const Shape& in_shape(int i) const;
    int n_in() const { return node_.n_in; }
    bool needs(int i) const { return rec_.slots[slot(i)]->requires_grad; }
    double scalar(int k) const { return node_.scalar[k]; }
    // v in the element type, so that a rule on float arrays stays in float.
    T constant(double v) const { return static_cast<T>(v); }
    std::span<const std::int64_t> ints() const {
        return {rec_.ints.data() + node_.int_begin, static_cast<std::size_t>(node_.n_int)};
    }
    const Node& node() const { return node_; }

    // Adds the expression e (a gradient of input i, possibly of the broadcast shape) into the
    // gradient of input i. Nothing is evaluated when input i does not require grad.
    template <class E>
    void accumulate(int i, E&& e) {
        if (!needs(i)) return;
        using U = typename std::decay_t<E>::value_type;
        const std::int32_t s = slot(i);
        auto& acc = grads_[s];
        const Shape& target = in_shape(i);
        if (std::holds_alternative<std::monostate>(acc)) {
            // Computed straight into the new gradient (e cannot refer to it: it was empty).
            auto& g = acc.template emplace<detail::variant_index<U>()>();
            assign_elementwise(g, e);
            if (g.shape() != target) g = sum_to_shape(g, target);
        } else {
            auto& a = std::get<detail::variant_index<U>()>(acc);
            const auto& es = e.shape();
            if (es.size() == target.size() && std::equal(es.begin(), es.end(), target.begin())) {
                assign_elementwise(a, a + e);
            } else {
                a += sum_to_shape(xt::xarray<U>(std::forward<E>(e)), target);
            }
        }
    }

    // Input i's gradient buffer, for kernels that accumulate in place (BLAS with beta = 1).
    // The flag is true when the buffer is new and uninitialised: overwrite it (beta = 0).
    std::pair<xt::xarray<T>*, bool> grad_buffer(int i) {
        auto& acc = grads_[slot(i)];
        if (std::holds_alternative<std::monostate>(acc)) {
            acc.template emplace<detail::variant_index<T>()>(
                xt::xarray<T>::from_shape(in_shape(i)));
            return {&std::get<detail::variant_index<T>()>(acc), true};
        }
        return {&std::get<detail::variant_index<T>()>(acc), false};
    }

  private:
    std::int32_t slot(int i) const { return rec_.input_slots[node_.in_begin + i]; }
    template <class U>
    const xt::xarray<U>& value_of(std::int32_t s) const {
        return std::get<detail::variant_index<U>()>(rec_.slots[s]->value);
    }
    detail::Recording& rec_;
    std::vector<detail::AnyArray>& grads_;
    const Node& node_;
};

template <class T>
const Shape& BackwardContext<T>::in_shape(int i) const {
    const auto& v = rec_.slots[slot(i)]->value;
    return v.index() == 1 ? std::get<1>(v).shape() : std::get<2>(v).shape();
}

// What a rule in tensor ops sees, in a recorded pass: the incoming gradient and the inputs and
// result as tensors of the tape, so that every op the rule applies is recorded too and the
// contributions it makes can be differentiated again. Results made from values alone (masks:
// gt(x, 0.0)) are constants, as PyTorch treats them.
class GraphContext {
  public:
    using value_type = double;  // the scalars tensor ops take
    GraphContext(Tape& tape, const Node& node) : tape_(tape), node_(node) {}

    Tensor grad() const { return tape_.graph_grads_[node_.out]; }
    Tensor in(int i) const { return Tensor(tape_.rec_->slots[slot(i)]); }
    Tensor out() const { return Tensor(tape_.rec_->slots[node_.out]); }
    Shape in_shape(int i) const { return in(i).shape(); }
    int n_in() const { return node_.n_in; }
    bool needs(int i) const { return tape_.rec_->slots[slot(i)]->requires_grad; }
    double scalar(int k) const { return node_.scalar[k]; }
    double constant(double v) const { return v; }
    // A copy: the rule's own ops append to the record's arrays.
    std::vector<std::int64_t> ints() const {
        const auto* p = tape_.rec_->ints.data() + node_.int_begin;
        return {p, p + node_.n_int};
    }
    const Node& node() const { return node_; }

    // Adds a contribution to input i's gradient (recorded), summed over the axes along which
    // input i was broadcast. Nothing happens when input i does not require grad.
    void accumulate(int i, Tensor contribution);

  private:
    std::int32_t slot(int i) const { return tape_.rec_->input_slots[node_.in_begin + i]; }
    Tape& tape_;
    const Node node_;  // a copy: the rule's own ops append to the record's node list
};

// An intermediate that a rule uses more than once, computed once: on arrays into an array (a
// lazy xtensor expression would be computed again at each use); a tensor already is a value.
template <class E>
auto evaluated(E&& e) {
    if constexpr (std::is_same_v<std::decay_t<E>, Tensor>) {
        return std::forward<E>(e);
    } else {
        return xt::xarray<typename std::decay_t<E>::value_type>(std::forward<E>(e));
    }
}

namespace detail {

template <class Op, class T>
void run_backward(Tape& tape, const Node& node) {
    BackwardContext<T> c(tape, node);
    Op::backward(c);
}

// The rule in tensor ops, when the op has one: its own backward_graph, or its one backward
// written for both passes.
template <class Op>
constexpr Node::GraphBackwardFn graph_rule() {
    if constexpr (requires(GraphContext & c) { Op::backward_graph(c); }) {
        return &Op::backward_graph;
    } else if constexpr (requires(GraphContext & c) { Op::backward(c); }) {
        return [](GraphContext& c) { Op::backward(c); };
    } else {
        return nullptr;
    }
}

// The element type of an op's result: the inputs' unless the op says (a cast).
template <class Op, class T>
struct OutputOf {
    using type = T;
};
template <class Op, class T>
requires requires {
    typename Op::template Output<T>;
}
struct OutputOf<Op, T> {
    using type = typename Op::template Output<T>;
};

// Checks that every input is defined and that all share one dtype (the op is named).
Dtype common_dtype(const char* op, std::span<const Tensor* const> inputs);

constexpr int scalar_count(const OpInfo& info) {
    return (info.scalars[0] != nullptr) + (info.scalars[1] != nullptr);
}

// A forward that takes scalars returns an array: a lazy expression would hold references to
// its scalar parameters, which are gone once it returns.
template <class T, class R>
xt::xarray<T> value_of_scalar_form(R&& r) {
    static_assert(std::is_same_v<std::decay_t<R>, xt::xarray<T>>,
                  "an op's forward(x, s) returns xt::xarray<T>, not an expression of s");
    return std::forward<R>(r);
}

// The op's forward in whichever form it is written (see the top of this file), into out, the
// new record's empty array. An expression is computed straight into it (noalias: out is none
// of the inputs), so that a small op makes no temporary array and moves none.
template <class Op, class T, class Out>
void forward_into(xt::xarray<Out>& out, const Inputs<T>& in, const OpArgs& args) {
    constexpr int scalars = scalar_count(Op::info);
    if constexpr (requires { Op::template forward<T>(in, args); }) {
        out = Op::template forward<T>(in, args);  // a cast's result has its own element type
    } else if constexpr (scalars == 1) {
        out = value_of_scalar_form<T>(Op::forward(*in[0], static_cast<T>(args.s0)));
    } else if constexpr (scalars == 2) {
        out = value_of_scalar_form<T>(
            Op::forward(*in[0], static_cast<T>(args.s0), static_cast<T>(args.s1)));
    } else if constexpr (requires(const xt::xarray<T>& x) { Op::forward(x); }) {
        assign_elementwise(out, Op::forward(*in[0]));
    } else {
        if (in[0]->shape() != in[1]->shape())
            broadcast_shapes(Op::info.name, in[0]->shape(), in[1]->shape());
        assign_elementwise(out, Op::forward(*in[0], *in[1]));
    }
}

template <class Op, class T>
Tensor apply_typed(std::span<const Tensor* const> inputs, const OpArgs& args, Tape* tape) {
    using Out = typename OutputOf<Op, T>::type;
    Inputs<T> values;
    for (const Tensor* t : inputs)
        values.push_back(&std::get<variant_index<T>()>(t->impl()->value));
    if (tape) tape->check_inputs(inputs, Op::info.name);
    auto impl = new_impl();
    forward_into<Op>(impl->value.template emplace<variant_index<Out>()>(), values, args);
    if (tape) {
        tape->record(&run_backward<Op, T>, graph_rule<Op>(), &Op::info, inputs, impl, args.s0,
                     args.s1, args.ints);
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

// The functional API: jacobian, hessian, vjp, jvp and hvp, each a few passes of a tape of its
// own (recorded passes where a derivative is differentiated again).
#include "tapegrad/autodiff/functional.hpp"

#include <string>

#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/ops.hpp"
#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

namespace {

// What f is evaluated at: fresh leaves (values only), or with create_graph the caller's own
// tensors where they require grad, so that the results stay connected to them.
std::vector<Tensor> prepare(const char* what, const std::vector<Tensor>& inputs,
                            const FunctionalOptions& options) {
    if (inputs.empty()) throw ValueError(std::string(what) + ": needs at least one input");
    std::vector<Tensor> xs;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].defined()) {
            throw ValueError(std::string(what) + ": input " + std::to_string(i) + " is undefined");
        }
        const bool keep = options.create_graph && inputs[i].requires_grad();
        xs.push_back(keep ? inputs[i] : inputs[i].detach().requires_grad_());
    }
    return xs;
}

Tensor call(const char* what, const TensorFunction& f, const std::vector<Tensor>& xs) {
    Tensor y = f(xs);
    if (!y.defined())
        throw ValueError(std::string(what) + ": the function returned an undefined tensor");
    return y;
}

// Without create_graph the caller gets values: nothing of the temporary tape stays reachable.
Tensor result(const Tensor& t, const FunctionalOptions& options) {
    return options.create_graph ? t : t.detach();
}
std::vector<Tensor> results(const std::vector<Tensor>& ts, const FunctionalOptions& options) {
    std::vector<Tensor> out;
    for (const auto& t : ts) out.push_back(result(t, options));
    return out;
}

void need_scalar(const char* what, const Tensor& y) {
    if (y.numel() != 1) {
        throw ShapeError(std::string(what) +
                         ": the function must return one element (a loss); "
                         "it returned shape " +
                         shape_str(y.shape()));
    }
}

void need_like(const char* what, const std::vector<Tensor>& v, const std::vector<Tensor>& xs) {
    if (v.size() != xs.size()) {
        throw ValueError(std::string(what) + ": " + std::to_string(v.size()) + " vectors for " +
                         std::to_string(xs.size()) + " inputs");
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (!v[i].defined() || v[i].shape() != xs[i].shape() || v[i].dtype() != xs[i].dtype()) {
            throw ShapeError(std::string(what) + ": vector " + std::to_string(i) +
                             (v[i].defined() ? " has shape " + shape_str(v[i].shape()) + " " +
                                                   std::string(dtype_name(v[i].dtype()))
                                             : std::string(" is undefined")) +
                             "; input " + std::to_string(i) + " is " + shape_str(xs[i].shape()) +
                             " " + std::string(dtype_name(xs[i].dtype())));
        }
    }
}

// prepare() for a function taken along vectors v (one per input, of its shape and dtype).
std::vector<Tensor> prepare_along(const char* what, const std::vector<Tensor>& inputs,
                                  const std::vector<Tensor>& v, const FunctionalOptions& options) {
    auto xs = prepare(what, inputs, options);
    need_like(what, v, xs);
    return xs;
}

// Σ_i sum(a_i · b_i): a scalar that is linear in each b_i.
Tensor dot_all(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
    Tensor s;
    for (std::size_t i = 0; i < a.size(); ++i) {
        Tensor term = sum(a[i] * b[i]);
        s = s.defined() ? s + term : term;
    }
    return s;
}

Shape concat_shapes(const Shape& a, const Shape& b) {
    Shape s = a;
    s.insert(s.end(), b.begin(), b.end());
    return s;
}

// The rows of d y / d xs, one reverse pass per element of y: row k of input i's block is
// d y[k] / d xs[i]. Recorded passes when create_graph (the rows can then be differentiated).
std::vector<Tensor> jacobian_of(Tape& tape, const Tensor& y, const std::vector<Tensor>& xs,
                                const FunctionalOptions& options) {
    std::vector<std::vector<Tensor>> rows(xs.size());
    for (std::size_t k = 0; k < y.numel(); ++k) {
        std::vector<Tensor> g;
        if (y.requires_grad()) {
            Tensor seed = zeros(y.shape(), y.dtype());
            if (seed.dtype() == f32) {
                seed.mutable_value<float>().data()[k] = 1;
            } else {
                seed.mutable_value<double>().data()[k] = 1;
            }
            g = tape.gradient(y, xs, seed, {.create_graph = options.create_graph});
        } else {
            for (const auto& x : xs) g.push_back(zeros_like(x));
        }
        for (std::size_t i = 0; i < xs.size(); ++i) rows[i].push_back(g[i]);
    }
    std::vector<Tensor> out;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        const Tensor stacked = y.numel() == 0
                                   ? zeros(concat_shapes(y.shape(), xs[i].shape()), xs[i].dtype())
                                   : stack(rows[i], 0);
        out.push_back(reshape(stacked, concat_shapes(y.shape(), xs[i].shape())));
    }
    return out;
}

}  // namespace

VjpResult vjp(const TensorFunction& f, const std::vector<Tensor>& inputs, const Tensor& v,
              FunctionalOptions options) {
    const auto xs = prepare("vjp", inputs, options);
    Tape tape;
    const Tensor y = call("vjp", f, xs);
    if (!v.defined()) need_scalar("vjp (without v)", y);
    if (v.defined() && (v.shape() != y.shape() || v.dtype() != y.dtype())) {
        throw ShapeError("vjp: v has shape " + shape_str(v.shape()) + " " +
                         std::string(dtype_name(v.dtype())) + "; the output is " +
                         shape_str(y.shape()) + " " + std::string(dtype_name(y.dtype())));
    }
    std::vector<Tensor> g;
    if (!y.requires_grad()) {
        for (const auto& x : xs) g.push_back(zeros_like(x));
    } else if (v.defined()) {
        g = tape.gradient(y, xs, v, {.create_graph = options.create_graph});
    } else {
        g = tape.gradient(y, xs, {.create_graph = options.create_graph});
    }
    return {result(y, options), results(g, options)};
}

JvpResult jvp(const TensorFunction& f, const std::vector<Tensor>& inputs,
              const std::vector<Tensor>& v, FunctionalOptions options) {
    const auto xs = prepare_along("jvp", inputs, v, options);
    Tape tape;
    const Tensor y = call("jvp", f, xs);
    if (!y.requires_grad()) return {result(y, options), zeros_like(y)};
    // g(u) = Jᵀu is linear in u; the gradient of g(u)·v with respect to u is J·v.
    const Tensor u = zeros_like(y).requires_grad_();
    const auto g = tape.gradient(y, xs, u, {.create_graph = true});
    const Tensor gv = dot_all(g, v);
    if (!gv.requires_grad()) return {result(y, options), zeros_like(y)};
    const auto jv = tape.gradient(gv, {u}, {.create_graph = options.create_graph});
    return {result(y, options), result(jv[0], options)};
}

std::vector<Tensor> jacobian(const TensorFunction& f, const std::vector<Tensor>& inputs,
                             FunctionalOptions options) {
    const auto xs = prepare("jacobian", inputs, options);
    Tape tape({.persistent = true});
    const Tensor y = call("jacobian", f, xs);
    return results(jacobian_of(tape, y, xs, options), options);
}

Tensor jacobian(const std::function<Tensor(const Tensor&)>& f, const Tensor& input,
                FunctionalOptions options) {
    return jacobian([&](const std::vector<Tensor>& xs) { return f(xs[0]); }, {input}, options)[0];
}

std::vector<std::vector<Tensor>> hessian(const TensorFunction& f, const std::vector<Tensor>& inputs,
                                         FunctionalOptions options) {
    const auto xs = prepare("hessian", inputs, options);
    Tape tape({.persistent = true});
    const Tensor y = call("hessian", f, xs);
    need_scalar("hessian", y);
    std::vector<std::vector<Tensor>> h(xs.size());
    if (!y.requires_grad()) {
        for (std::size_t i = 0; i < xs.size(); ++i)
            for (std::size_t j = 0; j < xs.size(); ++j)
                h[i].push_back(zeros(concat_shapes(xs[i].shape(), xs[j].shape()), xs[i].dtype()));
        return h;
    }
    // The gradient, recorded; then the Jacobian of each input's block of it.
    const auto g = tape.gradient(y, xs, {.create_graph = true});
    for (std::size_t i = 0; i < xs.size(); ++i)
        h[i] = results(jacobian_of(tape, g[i], xs, options), options);
    return h;
}

Tensor hessian(const std::function<Tensor(const Tensor&)>& f, const Tensor& input,
               FunctionalOptions options) {
    return hessian([&](const std::vector<Tensor>& xs) { return f(xs[0]); }, {input}, options)[0][0];
}

HvpResult hvp(const TensorFunction& f, const std::vector<Tensor>& inputs,
              const std::vector<Tensor>& v, FunctionalOptions options) {
    const auto xs = prepare_along("hvp", inputs, v, options);
    Tape tape;
    const Tensor y = call("hvp", f, xs);
    need_scalar("hvp", y);
    std::vector<Tensor> hv;
    if (y.requires_grad()) {
        const auto g = tape.gradient(y, xs, {.create_graph = true});
        const Tensor gv = dot_all(g, v);
        if (gv.requires_grad()) hv = tape.gradient(gv, xs, {.create_graph = options.create_graph});
    }
    if (hv.empty())
        for (const auto& x : xs) hv.push_back(zeros_like(x));
    return {result(y, options), results(hv, options)};
}

HvpResult hvp(const std::function<Tensor(const Tensor&)>& f, const Tensor& input, const Tensor& v,
              FunctionalOptions options) {
    return hvp([&](const std::vector<Tensor>& xs) { return f(xs[0]); }, {input}, {v}, options);
}

}  // namespace tapegrad

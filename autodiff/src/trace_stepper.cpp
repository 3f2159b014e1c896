// The stepper: records a backward pass as a tape's observer, then shows it node by node with
// the tape's own numbers: the gradient that arrives, the rule, what each input receives.
#include <algorithm>
#include <ostream>

#include "tapegrad/autodiff/trace.hpp"
#include "trace_text.hpp"

namespace tapegrad {

namespace {

// What a node added to a gradient buffer: after - before, or after when it was the first.
Tensor difference(const Tensor& after, const Tensor& before) {
    if (!after.defined() || !before.defined()) return after;
    if (after.dtype() == f32) {
        return Tensor(xt::xarray<float>(after.value<float>() - before.value<float>()));
    }
    return Tensor(xt::xarray<double>(after.value<double>() - before.value<double>()));
}

}  // namespace

Stepper::Stepper(TraceOptions options) : options_(options) {}

void Stepper::backward_begin(const Tape& tape, std::int32_t target_slot) {
    tensors_ = trace_tensors(tape);
    forward_.clear();
    for (const Node& n : tape.nodes()) forward_.push_back(n.out);
    steps_.clear();
    target_ = target_slot;
    seed_ = tape.slot_grad(target_slot);
}

void Stepper::before_node(const Tape& tape, std::size_t node_index) {
    const Node& n = tape.nodes()[node_index];
    TraceStep st;
    st.node = node_index;
    st.out = n.out;
    st.grad = tape.slot_grad(n.out);
    const auto ins = tape.inputs_of(n);
    for (std::size_t k = 0; k < ins.size(); ++k) {
        TraceContribution c;
        c.input = k;
        c.slot = ins[k];
        c.requires_grad = tape.slot_tensor(ins[k]).requires_grad();
        for (std::size_t j = 0; j < ins.size(); ++j)
            if (j != k && ins[j] == ins[k]) c.same_tensor_as.push_back(j);
        c.before = tape.slot_grad(ins[k]);
        st.inputs.push_back(std::move(c));
    }
    steps_.push_back(std::move(st));
}

void Stepper::after_node(const Tape& tape, std::size_t) {
    for (auto& c : steps_.back().inputs) {
        c.after = tape.slot_grad(c.slot);
        c.contribution = difference(c.after, c.before);
    }
}

void Stepper::backward_end(const Tape&) {}

void Stepper::require_recorded(const char* what) const {
    if (!recorded()) {
        throw TapeError(std::string("Stepper::") + what +
                        ": no backward pass was recorded; call tape.set_observer(&stepper) "
                        "before tape.backward(...)");
    }
}

std::string Stepper::name_of(std::int32_t slot) const {
    return tensors_.at(static_cast<std::size_t>(slot)).name;
}

const TraceTensor* Stepper::find(const std::string& name) const {
    for (const auto& t : tensors_)
        if (t.name == name) return &t;
    return nullptr;
}

const TraceTensor& Stepper::tensor(std::int32_t slot) const {
    if (slot < 0 || static_cast<std::size_t>(slot) >= tensors_.size()) {
        throw ValueError("Stepper::tensor: no tensor number " + std::to_string(slot) +
                         " (there are " + std::to_string(tensors_.size()) + ")");
    }
    return tensors_[static_cast<std::size_t>(slot)];
}

Tensor Stepper::grad_after(std::int32_t slot, std::size_t k) const {
    if (slot == target_) return seed_;
    Tensor g;
    for (std::size_t i = 0; i < std::min(k, steps_.size()); ++i)
        for (const auto& c : steps_[i].inputs)
            if (c.slot == slot && c.after.defined()) g = c.after;
    return g;
}

Tensor Stepper::grad(const std::string& name) const {
    require_recorded("grad");
    const TraceTensor* t = find(name);
    if (!t) {
        std::string names;
        for (const auto& u : tensors_) names += (names.empty() ? "" : ", ") + u.name;
        throw ValueError("Stepper::grad: no tensor named '" + name + "'; the tensors are " + names);
    }
    return grad_after(t->slot, steps_.size());
}

std::string Stepper::forward_listing() const {
    require_recorded("forward_listing");
    return tapegrad::forward_listing(tensors_, options_);
}

std::string Stepper::describe_step(std::size_t k) const {
    require_recorded("describe_step");
    const TraceStep& st = steps_.at(k);
    const TraceTensor& out = tensor(st.out);
    const std::string& target = name_of(target_);
    std::string s = "backward " + std::to_string(k + 1) + "/" + std::to_string(steps_.size()) +
                    " · node " + std::to_string(st.node) + ": " + out.name + " = " +
                    detail::call_text(out, tensors_) + "\n";
    const std::string arriving =
        st.out == target_
            ? "∂" + target + "/∂" + target + " = " + format_values(st.grad, options_) +
                  "  (the seed: backward starts here)"
            : "∂" + target + "/∂" + out.name + " = " + format_values(st.grad, options_);
    std::string roles;
    for (std::size_t i = 0; i < out.inputs.size(); ++i)
        roles += (i ? ", " : "") + out.roles[i] + " = " + name_of(out.inputs[i]);
    std::vector<std::vector<std::string>> head{
        {"gradient in", arriving},
        {"local rule", std::string(out.op->name) + ": " + out.op->rule},
        {"", "with " + roles + (out.args.empty() ? "" : ", " + out.args)}};
    s += detail::format_table(head);
    s += "  each input receives the incoming gradient times its local derivative:\n";

    std::vector<std::vector<std::string>> rows;
    for (const auto& c : st.inputs) {
        if (!c.same_tensor_as.empty() && c.same_tensor_as.front() < c.input) continue;
        std::string who = name_of(c.slot) + " (" + out.roles[c.input];
        for (std::size_t j : c.same_tensor_as) who += " and " + out.roles[j];
        who += c.same_tensor_as.empty() ? ")" : ": the same tensor)";
        std::string what;
        if (!c.requires_grad) {
            what = "nothing: a constant (does not require grad)";
        } else if (!c.contribution.defined()) {
            what = "nothing from this rule";
        } else {
            what = format_values(c.contribution, options_);
            if (!c.same_tensor_as.empty()) what += "  (all its places together)";
            if (c.before.defined()) {
                what += ", added to the " + format_values(c.before, options_) +
                        " it already had: " + format_values(c.after, options_) +
                        " (it is used more than once)";
            }
            if (out.op->elementwise && c.contribution.shape() != st.grad.shape()) {
                what += "  (summed over the broadcast axes to shape " +
                        shape_str(c.contribution.shape()) + ")";
            }
        }
        rows.push_back({"→ " + who, what});
    }
    return s + detail::format_table(rows, "    ");
}

std::string Stepper::backward_trace() const {
    require_recorded("backward_trace");
    std::string s;
    for (std::size_t k = 0; k < steps_.size(); ++k) {
        if (k) s += "\n";
        s += describe_step(k);
    }
    return s;
}

std::string Stepper::gradients() const {
    require_recorded("gradients");
    std::vector<std::vector<std::string>> rows{{"name", "shape", "value", "gradient"}};
    for (const auto& t : tensors_) {
        if (t.node >= 0 || !t.requires_grad) continue;
        rows.push_back({t.name, shape_str(t.value.shape()), format_values(t.value, options_),
                        format_values(grad_after(t.slot, steps_.size()), options_)});
    }
    return detail::format_table(rows);
}

std::string Stepper::transcript() const {
    require_recorded("transcript");
    const std::string& target = name_of(target_);
    return "forward: the tape recorded " + std::to_string(forward_.size()) +
           " nodes; every tensor it saw, in order:\n" + forward_listing() + "\nbackward from " +
           target +
           ", visiting the nodes from the last recorded to the first. At each node, the\n"
           "gradient that arrived (∂" +
           target +
           "/∂node) goes through the op's local rule to each input and is added\n"
           "to what that input already has.\n\n" +
           backward_trace() + "\ngradients of the leaves that require grad:\n" + gradients();
}

std::size_t Stepper::positions() const {
    return recorded() ? forward_.size() + steps_.size() + 1 : 0;
}

std::string Stepper::page(std::size_t position) const {
    require_recorded("page");
    const std::size_t nf = forward_.size(), nb = steps_.size();
    if (position >= positions()) {
        throw ValueError("Stepper::page: position " + std::to_string(position) +
                         " is past the end (there are " + std::to_string(positions()) + ")");
    }
    if (position < nf) {
        const TraceTensor& out = tensor(forward_[position]);
        std::string s = "forward " + std::to_string(position + 1) + "/" + std::to_string(nf) +
                        " · node " + std::to_string(position) + ": " + out.name + " = " +
                        detail::call_text(out, tensors_) + "\n";
        std::vector<std::vector<std::string>> rows;
        for (std::size_t i = 0; i < out.inputs.size(); ++i) {
            const TraceTensor& in = tensor(out.inputs[i]);
            if (std::find(out.inputs.begin(), out.inputs.begin() + static_cast<std::ptrdiff_t>(i),
                          in.slot) != out.inputs.begin() + static_cast<std::ptrdiff_t>(i))
                continue;
            rows.push_back(
                {i == 0 ? "inputs" : "", in.name + " = " + format_values(in.value, options_)});
        }
        rows.push_back({"result", out.name + " = " + format_values(out.value, options_) + "  (" +
                                      detail::shape_and_dtype(out.value) + ")"});
        return s + detail::format_table(rows);
    }
    if (position < nf + nb) return describe_step(position - nf);
    return "end: backward is done; the gradients of the leaves that require grad:\n" + gradients();
}

std::string Stepper::print(const std::string& name, std::size_t position) const {
    require_recorded("print");
    const TraceTensor* t = find(name);
    if (!t) {
        std::string names;
        for (const auto& u : tensors_) names += (names.empty() ? "" : ", ") + u.name;
        return "no tensor named '" + name + "'; the tensors are: " + names + "\n";
    }
    const std::size_t nf = forward_.size(), nb = steps_.size();
    std::string s = t->name + " = " + detail::call_text(*t, tensors_) + "  (" +
                    detail::shape_and_dtype(t->value) + ")\n";
    std::vector<std::vector<std::string>> rows;
    const bool computed = t->node < 0 || static_cast<std::size_t>(t->node) <= position;
    rows.push_back({"value", computed ? format_values(t->value, options_)
                                      : "not computed yet (node " + std::to_string(t->node) +
                                            " comes later)"});
    if (!t->requires_grad) {
        rows.push_back({"gradient", "none: a constant"});
    } else if (position < nf) {
        rows.push_back({"gradient", "backward has not started"});
    } else {
        const std::size_t done = std::min(position - nf + 1, nb);
        const Tensor g = grad_after(t->slot, done);
        std::string when =
            done == nb ? "final"
                       : "after backward step " + std::to_string(done) + "/" + std::to_string(nb);
        rows.push_back({"gradient", g.defined() ? format_values(g, options_) + "  (" + when + ")"
                                                : "none has reached it yet"});
    }
    return s + detail::format_table(rows);
}

}  // namespace tapegrad

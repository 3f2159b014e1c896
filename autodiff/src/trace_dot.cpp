// Graph pictures: the tape as Graphviz DOT text (a box per tensor, an ellipse per op). Running
// Graphviz on it is the command line's business (cli/src/graphviz.cpp).
#include <algorithm>

#include "tapegrad/autodiff/trace.hpp"
#include "trace_text.hpp"

namespace tapegrad {

namespace {

std::string html_escape(const std::string& s) {
    std::string r;
    for (char c : s) {
        switch (c) {
            case '&':
                r += "&amp;";
                break;
            case '<':
                r += "&lt;";
                break;
            case '>':
                r += "&gt;";
                break;
            case '"':
                r += "&quot;";
                break;
            default:
                r += c;
        }
    }
    return r;
}

std::string dot_string(const std::string& s) {  // a DOT string
    std::string r = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') r += '\\';
        r += c;
    }
    return r + "\"";
}

std::string dot_graph(const std::vector<TraceTensor>& tensors, const std::vector<Tensor>& grads,
                      std::int32_t target, const TraceOptions& options, const std::string& title) {
    TraceOptions small = options;
    small.full_limit = options.dot_full_limit;
    small.digits = std::min(options.digits, 4);
    std::string s = "digraph tape {\n";
    s += "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=14, nodesep=0.3, ranksep=0.4";
    if (!title.empty()) s += ", labelloc=t, label=" + dot_string(title);
    s += "];\n";
    s += "  node [fontname=\"Helvetica\", fontsize=11];\n";
    s += "  edge [fontname=\"Helvetica\", fontsize=10, color=\"#555555\"];\n";
    for (const auto& t : tensors) {
        const char* fill = t.slot == target  ? "#fde2c8"   // the loss
                           : t.node >= 0     ? "#ffffff"   // a result
                           : t.requires_grad ? "#dbe9f6"   // a parameter
                                             : "#eeeeee";  // a constant
        const Tensor& g = grads[static_cast<std::size_t>(t.slot)];
        s += "  t" + std::to_string(t.slot) +
             " [shape=plaintext, label=<<table border=\"0\" cellborder=\"1\" cellspacing=\"0\" "
             "cellpadding=\"3\" bgcolor=\"" +
             fill + "\">";
        s += "<tr><td colspan=\"2\"><b>" + html_escape(t.name) +
             "</b>&#160;&#160;<font color=\"#555555\">" +
             html_escape(detail::shape_and_dtype(t.value)) + "</font></td></tr>";
        s += "<tr><td align=\"left\">value</td><td align=\"left\">" +
             html_escape(format_values(t.value, small)) + "</td></tr>";
        if (t.requires_grad) {
            s += "<tr><td align=\"left\">grad</td><td align=\"left\">" +
                 html_escape(g.defined() ? format_values(g, small) : "-") + "</td></tr>";
        }
        s += "</table>>];\n";
    }
    for (const auto& t : tensors) {
        if (t.node < 0) continue;
        const std::string op = "op" + std::to_string(t.slot);
        std::string label = t.op->name;
        if (!t.args.empty()) label += "\n" + t.args;
        s += "  " + op +
             " [shape=ellipse, style=filled, fillcolor=\"#f4f4d8\", label=" + dot_string(label) +
             ", tooltip=" + dot_string(std::string(t.op->name) + ": " + t.op->rule) + "];\n";
        for (std::size_t i = 0; i < t.inputs.size(); ++i) {
            s += "  t" + std::to_string(t.inputs[i]) + " -> " + op;
            if (t.inputs.size() > 1) s += " [label=" + dot_string(t.roles[i]) + "]";
            s += ";\n";
        }
        s += "  " + op + " -> t" + std::to_string(t.slot) + ";\n";
    }
    return s + "}\n";
}

}  // namespace

std::string Stepper::dot(const std::string& title) const {
    require_recorded("dot");
    std::vector<Tensor> grads;
    for (const auto& t : tensors_) grads.push_back(grad_after(t.slot, steps_.size()));
    return dot_graph(tensors_, grads, target_, options_, title);
}

std::string to_dot(const Tape& tape, const TraceOptions& options, const std::string& title) {
    const auto tensors = trace_tensors(tape);
    std::vector<Tensor> grads;
    for (const auto& t : tensors) {
        Tensor g = tape.slot_grad(t.slot);
        // backward moves the leaves' gradients into their .grad(); read them there.
        const Tensor own = tape.slot_tensor(t.slot);
        if (!g.defined() && t.node < 0 && own.has_grad()) g = own.grad();
        grads.push_back(g);
    }
    return dot_graph(tensors, grads, -1, options, title);
}

}  // namespace tapegrad

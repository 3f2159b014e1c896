// Listings of a tape: each tensor's name, op, inputs, shape, dtype and value, and the names a
// rule gives to an op's inputs.
#include "tapegrad/autodiff/trace.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string_view>

#include "trace_text.hpp"

namespace tapegrad {

namespace detail {

std::string format_number(double v, int digits) {
    if (v == 0) return "0";  // also -0, which reads as a sign error to a learner
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

std::string shape_and_dtype(const Tensor& t) {
    return shape_str(t.shape()) + " " + std::string(dtype_name(t.dtype()));
}

std::size_t display_width(const std::string& s) {
    // UTF-8 continuation bytes (10xxxxxx) do not start a character.
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string format_table(const std::vector<std::vector<std::string>>& rows,
                         const std::string& indent) {
    std::vector<std::size_t> width;
    for (const auto& r : rows) {
        if (width.size() < r.size()) width.resize(r.size(), 0);
        for (std::size_t c = 0; c < r.size(); ++c)
            width[c] = std::max(width[c], display_width(r[c]));
    }
    std::string out;
    for (const auto& r : rows) {
        std::string line = indent;
        for (std::size_t c = 0; c < r.size(); ++c) {
            line += r[c];
            if (c + 1 < r.size()) line += std::string(width[c] - display_width(r[c]) + 2, ' ');
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
    }
    return out;
}

std::string call_text(const TraceTensor& t, const std::vector<TraceTensor>& all) {
    if (t.node < 0) return t.requires_grad ? "leaf, requires grad" : "leaf";
    std::string s = std::string(t.op->name) + "(";
    for (std::size_t i = 0; i < t.inputs.size(); ++i) {
        if (i) s += ", ";
        s += all[static_cast<std::size_t>(t.inputs[i])].name;
    }
    if (!t.args.empty()) s += (t.inputs.empty() ? "" : ", ") + t.args;
    return s + ")";
}

}  // namespace detail

namespace {

template <class T>
void append_values(std::string& s, const xt::xarray<T>& a, std::size_t dim, std::size_t& flat,
                   int digits) {
    if (dim == a.dimension()) {
        s += detail::format_number(static_cast<double>(a.data()[flat++]), digits);
        return;
    }
    s += "[";
    for (std::size_t i = 0; i < a.shape()[dim]; ++i) {
        if (i) s += ", ";
        append_values(s, a, dim + 1, flat, digits);
    }
    s += "]";
}

template <class T>
std::string values_text(const xt::xarray<T>& a, const TraceOptions& o, std::size_t limit) {
    if (a.size() <= limit) {
        std::string s;
        std::size_t flat = 0;
        append_values(s, a, 0, flat, o.digits);
        return s;
    }
    double mn = INFINITY, mx = -INFINITY, sum = 0;
    std::size_t finite = 0;
    for (const T v : a) {
        if (!std::isfinite(v)) continue;
        const double d = static_cast<double>(v);
        mn = std::min(mn, d);
        mx = std::max(mx, d);
        sum += d;
        ++finite;
    }
    const int dg = std::min(o.digits, 4);
    std::string s = "<shape " + shape_str(a.shape());
    if (finite > 0) {
        s += ": min " + detail::format_number(mn, dg) + ", max " + detail::format_number(mx, dg) +
             ", mean " + detail::format_number(sum / static_cast<double>(finite), dg);
    }
    if (finite < a.size()) s += ", " + std::to_string(a.size() - finite) + " not finite";
    return s + ">";
}

// The scalar arguments an op was recorded with, under the names its OpInfo gives them.
std::string scalar_args(const OpInfo& op, const Node& n, int digits) {
    std::string s;
    for (int k = 0; k < 2; ++k) {
        if (!op.scalars[k]) continue;
        if (!s.empty()) s += ", ";
        s += std::string(op.scalars[k]) + " = " + detail::format_number(n.scalar[k], digits);
    }
    return s;
}

// The identifier after a "∂" (or "d/d") in a rule: letters only; "_i" after it marks a list.
void read_roles(std::string_view rule, std::vector<std::string>& roles, bool& listed) {
    static constexpr std::string_view partial = "∂";
    for (std::size_t pos = 0; pos < rule.size();) {
        std::size_t start = std::string_view::npos;
        if (rule.compare(pos, partial.size(), partial) == 0) {
            start = pos + partial.size();
        } else if (rule.compare(pos, 3, "d/d") == 0) {
            start = pos + 3;
        }
        if (start == std::string_view::npos) {
            ++pos;
            continue;
        }
        std::size_t end = start;
        while (end < rule.size() && std::isalpha(static_cast<unsigned char>(rule[end]))) ++end;
        const std::string id(rule.substr(start, end - start));
        // "∂out" is the numerator; a ∂ in "∂out/∂a" is followed by "out" first.
        if (!id.empty() && id != "out" &&
            std::find(roles.begin(), roles.end(), id) == roles.end()) {
            roles.push_back(id);
            if (rule.compare(end, 2, "_i") == 0) listed = true;
        }
        pos = std::max(end, pos + 1);
    }
}

}  // namespace

std::string format_values(const Tensor& t, const TraceOptions& options) {
    if (!t.defined()) return "-";
    return t.dtype() == f32 ? values_text(t.value<float>(), options, options.full_limit)
                            : values_text(t.value<double>(), options, options.full_limit);
}

std::vector<std::string> rule_roles(const OpInfo& op, std::size_t n_inputs) {
    std::vector<std::string> roles;
    bool listed = false;
    if (op.rule) read_roles(op.rule, roles, listed);
    std::vector<std::string> out;
    if (listed && roles.size() == 1) {  // concat(part_0, part_1, ...)
        for (std::size_t i = 0; i < n_inputs; ++i)
            out.push_back(roles[0] + "_" + std::to_string(i));
        return out;
    }
    if (roles.empty() && n_inputs == 1) return {"x"};
    for (std::size_t i = 0; i < n_inputs; ++i)
        out.push_back(i < roles.size() ? roles[i] : "input " + std::to_string(i));
    return out;
}

std::vector<TraceTensor> trace_tensors(const Tape& tape) {
    const auto n_slots = tape.num_slots();
    std::vector<std::int32_t> made_by(n_slots, -1);
    const auto& nodes = tape.nodes();
    for (std::size_t i = 0; i < nodes.size(); ++i)
        made_by[static_cast<std::size_t>(nodes[i].out)] = static_cast<std::int32_t>(i);

    std::vector<TraceTensor> out(n_slots);
    std::map<std::string, int> seen;
    for (std::size_t s = 0; s < n_slots; ++s) {
        const Tensor t = tape.slot_tensor(static_cast<std::int32_t>(s));
        TraceTensor& r = out[s];
        r.slot = static_cast<std::int32_t>(s);
        r.node = made_by[s];
        r.requires_grad = t.requires_grad();
        r.value = t.detach();
        if (r.node >= 0) {
            const Node& n = nodes[static_cast<std::size_t>(r.node)];
            r.op = n.op;
            const auto ins = tape.inputs_of(n);
            r.inputs.assign(ins.begin(), ins.end());
            r.roles = rule_roles(*n.op, r.inputs.size());
            r.args = scalar_args(*n.op, n, 6);
        }
        const std::string number = std::to_string(s);
        std::string name = t.name();
        if (name.empty()) {
            name = r.op ? std::string(r.op->name) + "_" + number
                        : (r.requires_grad ? "param_" : "const_") + number;
        } else if (seen.count(name)) {
            name += "_" + number;  // the same name given twice (a loop): keep both findable
        }
        ++seen[name];
        r.name = std::move(name);
    }
    return out;
}

std::string forward_listing(const std::vector<TraceTensor>& tensors, const TraceOptions& o) {
    std::vector<std::vector<std::string>> rows{
        {"#", "name", "op", "inputs", "shape", "dtype", "value"}};
    for (const auto& t : tensors) {
        std::string inputs;
        for (std::size_t i = 0; i < t.inputs.size(); ++i) {
            if (i) inputs += ", ";
            inputs += tensors[static_cast<std::size_t>(t.inputs[i])].name;
        }
        if (!t.args.empty()) inputs += (inputs.empty() ? "" : ", ") + t.args;
        std::string op = t.op ? t.op->name : (t.requires_grad ? "leaf (requires grad)" : "leaf");
        rows.push_back({std::to_string(t.slot), t.name, op, inputs, shape_str(t.value.shape()),
                        std::string(dtype_name(t.value.dtype())), format_values(t.value, o)});
    }
    return detail::format_table(rows);
}

std::string forward_listing(const Tape& tape, const TraceOptions& options) {
    return forward_listing(trace_tensors(tape), options);
}

}  // namespace tapegrad

// The stepper as one self-contained HTML page: the recorded tape and backward pass as JSON data,
// the graph's layout, and the page's own script and style (cli/web/), all in one file.
#include "tapegrad/cli/html_page.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "graph_layout.hpp"
#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/formats/atomic_file.hpp"
#include "web_assets.hpp"

namespace tapegrad::cli {

namespace {

using nlohmann::json;

// What the page draws in a node box; cli/web/stepper.js draws with the same figures.
constexpr double kChar = 6.8;      // px of one character of the 11px monospace font
constexpr double kLine = 15;       // px of a line of numbers
constexpr double kPad = 6;         // px inside a box
constexpr double kTitle = 18;      // px of the name line
constexpr double kLabel = 36;      // px of the "value" / "grad" labels
constexpr double kMap = 48;        // px of a colour map, for tensors beyond 8×8 or of 3+ axes
constexpr std::size_t kTable = 8;  // at most this many rows and columns as a table

std::vector<double> flat_values(const Tensor& t) {
    if (!t.defined()) return {};
    if (t.dtype() == f32) {
        const auto& a = t.value<float>();
        return std::vector<double>(a.begin(), a.end());
    }
    const auto& a = t.value<double>();
    return std::vector<double>(a.begin(), a.end());
}

// JSON has no NaN or infinity: those travel as the strings the page turns back into numbers.
json number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
    return v;
}

json tensor_json(const Tensor& t) {
    if (!t.defined()) return nullptr;
    json data = json::array();
    for (double v : flat_values(t)) data.push_back(number(v));
    return {{"shape", json(std::vector<std::size_t>(t.shape().begin(), t.shape().end()))},
            {"data", std::move(data)}};
}

// The characters of the longest number among the tensors, as the page prints them.
std::size_t widest_number(const std::vector<Tensor>& tensors, int digits) {
    std::size_t widest = 1;
    for (const auto& t : tensors) {
        for (double v : flat_values(t)) widest = std::max(widest, short_text(v, digits).size());
    }
    return widest;
}

// How a node box shows a tensor of this shape, and the size of the box.
struct BoxView {
    std::string kind;  // "scalar", "table" or "map"
    std::size_t rows = 1, cols = 1;
    double cell = 0;  // px of a table cell
    LayoutBox size;
};

BoxView box_view(const TraceTensor& t, const std::vector<Tensor>& grads, int digits) {
    BoxView v;
    const Shape& s = t.value.shape();
    const bool table = !s.empty() && s.size() <= 2 && s.back() <= kTable &&
                       (s.size() == 1 || s[0] <= kTable) && t.value.numel() > 0;
    v.kind = s.empty() ? "scalar" : table ? "table" : "map";
    if (v.kind != "map") {  // numbers in cells as wide as the widest value or gradient
        const std::size_t widest =
            std::max(widest_number(grads, digits), widest_number({t.value}, digits));
        v.cell = (static_cast<double>(widest) + 1.5) * kChar;
    }
    if (table) {
        v.rows = s.size() == 1 ? 1 : s[0];
        v.cols = s.back();
    }
    // Each of the two sections (value, grad): the cells, or the map (kMap px along its longer
    // side, at most 64 × 64 cells, as stepper.js draws it) and its "min … max" line.
    double map_h = 0;
    if (v.kind == "map" && t.value.numel() > 0) {
        const double last = static_cast<double>(s.back());  // a map is never a scalar
        const double cols = std::min(last, 64.0);
        const double rows = std::min(static_cast<double>(t.value.numel()) / last, 64.0);
        map_h = kMap * rows / std::max(rows, cols);
    }
    const double body_w =
        v.kind == "map" ? std::max(kMap, 20 * kChar) : static_cast<double>(v.cols) * v.cell;
    const double body_h = v.kind == "map" ? map_h + kLine : static_cast<double>(v.rows) * kLine;
    const std::size_t op = t.op ? std::string(t.op->name).size() : 5;  // "param", "leaf"
    const double title_w =
        static_cast<double>(t.name.size() + 2 + op + 1 + shape_str(s).size()) * kChar;
    v.size.w = 2 * kPad + std::max(title_w, kLabel + body_w);
    v.size.h = 2 * kPad + kTitle + 2 * body_h + 4;
    return v;
}

json layout_json(const GraphLayoutResult& layout) {
    json boxes = json::array();
    for (const auto& b : layout.boxes) boxes.push_back({b.x, b.y, b.w, b.h});
    json edges = json::array();
    for (const auto& e : layout.edges) {
        json points = json::array();
        for (const auto& p : e.points) points.push_back({p[0], p[1]});
        edges.push_back({{"from", e.from}, {"to", e.to}, {"input", e.input}, {"points", points}});
    }
    return {{"engine", layout.engine},
            {"width", layout.width},
            {"height", layout.height},
            {"boxes", boxes},
            {"edges", edges}};
}

json gradcheck_json(const GradcheckTable& table) {
    json rows = json::array();
    // Worst first, as the table prints them; the page has room for the worst few dozen.
    const std::size_t n = std::min<std::size_t>(table.entries.size(), 64);
    for (std::size_t i = 0; i < n; ++i) {
        const auto& e = table.entries[i];
        rows.push_back({{"name", e.input_name},
                        {"index", json(std::vector<std::size_t>(e.index.begin(), e.index.end()))},
                        {"analytic", number(e.analytic)},
                        {"numeric", number(e.numeric)},
                        {"abs_error", number(e.abs_error)},
                        {"tolerance", number(e.tolerance)},
                        {"passed", e.passed}});
    }
    return {{"passed", table.report.passed},
            {"checked", table.report.checked},
            {"shown", n},
            {"rows", rows}};
}

json page_data(const Stepper& st, const HtmlPageOptions& options) {
    const auto& tensors = st.tensors();
    const std::size_t nb = st.steps().size();
    json ts = json::array();
    std::vector<LayoutBox> sizes;
    for (const auto& t : tensors) {
        // Every gradient the slot holds at some step, for the width of its cells.
        std::vector<Tensor> grads;
        if (t.value.numel() <= kTable * kTable)
            for (std::size_t k = 0; k <= nb; ++k) grads.push_back(st.grad_after(t.slot, k));
        const BoxView v = box_view(t, grads, st.options().digits);
        sizes.push_back(v.size);
        json op = nullptr;
        if (t.op) {
            op = {{"name", t.op->name}, {"rule", t.op->rule}, {"elementwise", t.op->elementwise}};
        }
        ts.push_back(
            {{"slot", t.slot},
             {"name", t.name},
             {"node", t.node},
             {"op", op},
             {"inputs", t.inputs},
             {"roles", t.roles},
             {"args", t.args},
             {"requires_grad", t.requires_grad},
             {"dtype", std::string(dtype_name(t.value.dtype()))},
             {"value", tensor_json(t.value)},
             {"view", {{"kind", v.kind}, {"rows", v.rows}, {"cols", v.cols}, {"cell", v.cell}}}});
    }
    json steps = json::array();
    for (const auto& s : st.steps()) {
        json ins = json::array();
        for (const auto& c : s.inputs) {
            ins.push_back({{"input", c.input},
                           {"slot", c.slot},
                           {"requires_grad", c.requires_grad},
                           {"same", c.same_tensor_as},
                           {"before", tensor_json(c.before)},
                           {"contribution", tensor_json(c.contribution)},
                           {"after", tensor_json(c.after)}});
        }
        steps.push_back(
            {{"node", s.node}, {"out", s.out}, {"grad", tensor_json(s.grad)}, {"inputs", ins}});
    }
    const std::string target = st.tensor(st.target()).name;
    json data = {{"title", options.title.empty() ? "backward from " + target : options.title},
                 {"formula", options.formula},
                 {"digits", st.options().digits},
                 {"full_limit", st.options().full_limit},
                 {"metrics",
                  {{"char", kChar},
                   {"line", kLine},
                   {"pad", kPad},
                   {"title", kTitle},
                   {"label", kLabel},
                   {"map", kMap},
                   {"table", kTable}}},
                 {"target", st.target()},
                 {"seed", tensor_json(st.grad_after(st.target(), 0))},
                 {"tensors", ts},
                 {"forward", st.forward_order()},
                 {"steps", steps},
                 {"gradcheck", options.gradcheck ? gradcheck_json(*options.gradcheck) : json()}};
    data["layout"] = layout_json(layout_graph(tensors, sizes, options.layout));
    return data;
}

// Replaces the next {{KEY}} of the template from `from` on (so text put in earlier is never
// searched) and returns where the text put in ends. A template without it is a build mistake.
std::size_t fill(std::string& page, std::size_t from, const std::string& key,
                 const std::string& text) {
    const std::string marker = "{{" + key + "}}";
    const auto at = page.find(marker, from);
    if (at == std::string::npos) throw Error("html_page: the page template has no " + marker);
    page.replace(at, marker.size(), text);
    return at + text.size();
}

// The page and who laid the graph out.
std::pair<std::string, std::string> render(const Stepper& stepper, const HtmlPageOptions& options) {
    if (!stepper.recorded()) {
        throw TapeError(
            "html_page: no backward pass was recorded; call tape.set_observer(&stepper) "
            "before tape.backward(...)");
    }
    const json data = page_data(stepper, options);
    // Inside <script>, "</" could close the element and "<!--" change how it is parsed: every
    // "<" (only ever inside a JSON string) is written as the escape \u003c.
    std::string text = data.dump(-1, ' ', false, json::error_handler_t::replace);
    for (auto at = text.find('<'); at != std::string::npos; at = text.find('<', at + 6))
        text.replace(at, 1, "\\u003c");
    std::string page(web::stepper_html);
    // The title is the script's to set (from the data): no text of the tape is HTML here.
    std::size_t at = fill(page, 0, "CSS", std::string(web::stepper_css));
    at = fill(page, at, "DATA", text);
    fill(page, at, "JS", std::string(web::stepper_js));
    return {page, data["layout"]["engine"].get<std::string>()};
}

}  // namespace

std::string html_page(const Stepper& stepper, const HtmlPageOptions& options) {
    return render(stepper, options).first;
}

HtmlFile write_html(const Stepper& stepper, const std::filesystem::path& path,
                    const HtmlPageOptions& options) {
    const auto [page, engine] = render(stepper, options);
    formats::write_file_atomically(path, page);
    HtmlFile r;
    r.path = path;
    r.layout = engine;
    r.bytes = page.size();
    r.message = "wrote " + path.string() + " (" + std::to_string((page.size() + 1023) / 1024) +
                " KB, the graph laid out by " +
                (r.layout == "graphviz" ? std::string("Graphviz's dot")
                                        : std::string("a simple layered layout")) +
                "); open it in a browser";
    return r;
}

}  // namespace tapegrad::cli

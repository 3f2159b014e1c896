// A tape's graph on a page: Graphviz's dot places the boxes and draws the edges (dot -Tplain),
// or, without Graphviz, a layered layout of our own: each result a row below its inputs.
#include "graph_layout.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/cli/graphviz.hpp"

namespace tapegrad::cli {

namespace {

constexpr double kPoints = 72;  // Graphviz's inches to the page's pixels
constexpr double kMargin = 8;   // px around the drawing
constexpr double kGapX = 28;    // px between boxes of a row (simple layout)
constexpr double kGapY = 44;    // px between rows (simple layout)

std::string inches(double px) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", px / kPoints);
    return buf;
}

// The edges in the order of the results and their inputs.
std::vector<LayoutEdge> edges_of(const std::vector<TraceTensor>& tensors) {
    std::vector<LayoutEdge> edges;
    for (const auto& t : tensors) {
        for (std::size_t k = 0; k < t.inputs.size(); ++k) {
            LayoutEdge e;
            e.from = t.inputs[k];
            e.to = t.slot;
            e.input = k;
            edges.push_back(e);
        }
    }
    return edges;
}

GraphLayoutResult layout_with_graphviz(const std::vector<TraceTensor>& tensors,
                                       const std::vector<LayoutBox>& sizes) {
    std::string dot =
        "digraph tape {\n  graph [rankdir=TB, nodesep=0.35, ranksep=0.45];\n"
        "  node [shape=box, fixedsize=true, label=\"\"];\n  edge [arrowsize=0.6];\n";
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        dot += "  t" + std::to_string(i) + " [width=" + inches(sizes[i].w) +
               ", height=" + inches(sizes[i].h) + "];\n";
    }
    GraphLayoutResult r;
    r.engine = "graphviz";
    r.boxes = sizes;
    r.edges = edges_of(tensors);
    // dot's plain output names edges by their two ends only: the same pair twice (mul(x, x))
    // is matched in input order.
    std::map<std::pair<std::int32_t, std::int32_t>, std::vector<std::size_t>> waiting;
    for (std::size_t i = 0; i < r.edges.size(); ++i) {
        dot += "  t" + std::to_string(r.edges[i].from) + " -> t" + std::to_string(r.edges[i].to) +
               ";\n";
        waiting[{r.edges[i].from, r.edges[i].to}].push_back(i);
    }
    dot += "}\n";
    std::istringstream plain(run_dot(dot, "plain"));
    std::string line;
    double height = 0;
    const auto slot = [](const std::string& id) { return std::stoi(id.substr(1)); };
    while (std::getline(plain, line)) {
        std::istringstream in(line);
        std::string kind;
        in >> kind;
        if (kind == "graph") {
            double scale = 0;
            in >> scale >> r.width >> height;
            r.width = r.width * kPoints + 2 * kMargin;
            r.height = height * kPoints + 2 * kMargin;
        } else if (kind == "node") {
            std::string id;
            double x = 0, y = 0;
            in >> id >> x >> y;
            auto& b = r.boxes.at(static_cast<std::size_t>(slot(id)));
            b.x = x * kPoints + kMargin;
            b.y = (height - y) * kPoints + kMargin;
        } else if (kind == "edge") {
            std::string tail, head;
            std::size_t n = 0;
            in >> tail >> head >> n;
            auto& queue = waiting[{slot(tail), slot(head)}];
            if (queue.empty()) continue;
            LayoutEdge& e = r.edges[queue.front()];
            queue.erase(queue.begin());
            for (std::size_t i = 0; i < n; ++i) {
                double x = 0, y = 0;
                in >> x >> y;
                e.points.push_back({x * kPoints + kMargin, (height - y) * kPoints + kMargin});
            }
        }
    }
    const bool complete =
        r.width > 0 && std::all_of(r.edges.begin(), r.edges.end(),
                                   [](const LayoutEdge& e) { return e.points.size() >= 4; });
    if (!complete) throw IoError("layout_graph: Graphviz's dot -Tplain output is incomplete");
    return r;
}

// Rows: a result one row below its lowest input; a leaf one row above its first user.
std::vector<std::size_t> rows_of(const std::vector<TraceTensor>& tensors) {
    std::vector<std::size_t> row(tensors.size(), 0);
    for (const auto& t : tensors)  // inputs come before their results
        for (auto in : t.inputs)
            row[static_cast<std::size_t>(t.slot)] = std::max(row[static_cast<std::size_t>(t.slot)],
                                                             row[static_cast<std::size_t>(in)] + 1);
    std::vector<std::size_t> leaf_row(tensors.size(), static_cast<std::size_t>(-1));
    for (const auto& t : tensors)
        for (auto in : t.inputs)
            leaf_row[static_cast<std::size_t>(in)] = std::min(
                leaf_row[static_cast<std::size_t>(in)], row[static_cast<std::size_t>(t.slot)] - 1);
    for (const auto& t : tensors)
        if (t.node < 0 &&
            leaf_row[static_cast<std::size_t>(t.slot)] != static_cast<std::size_t>(-1))
            row[static_cast<std::size_t>(t.slot)] = leaf_row[static_cast<std::size_t>(t.slot)];
    return row;
}

GraphLayoutResult layout_simple(const std::vector<TraceTensor>& tensors,
                                const std::vector<LayoutBox>& sizes) {
    GraphLayoutResult r;
    r.engine = "simple";
    r.boxes = sizes;
    r.edges = edges_of(tensors);
    const auto row = rows_of(tensors);
    const std::size_t n_rows = tensors.empty() ? 0 : *std::max_element(row.begin(), row.end()) + 1;
    std::vector<std::vector<std::size_t>> rows(n_rows);
    for (std::size_t i = 0; i < tensors.size(); ++i) rows[row[i]].push_back(i);
    // Order each row by where its neighbours are (the mean place of its inputs and of its
    // users): two sweeps down, fewer crossings for small graphs.
    std::vector<double> place(tensors.size(), 0);
    for (const auto& r_slots : rows)
        for (std::size_t j = 0; j < r_slots.size(); ++j) place[r_slots[j]] = static_cast<double>(j);
    for (int sweep = 0; sweep < 2; ++sweep) {
        for (auto& r_slots : rows) {
            std::vector<double> key(tensors.size(), 0);
            for (auto i : r_slots) {
                double sum = 0;
                std::size_t n = 0;
                for (auto in : tensors[i].inputs) sum += place[static_cast<std::size_t>(in)], ++n;
                for (const auto& e : r.edges)
                    if (static_cast<std::size_t>(e.from) == i)
                        sum += place[static_cast<std::size_t>(e.to)], ++n;
                key[i] = n ? sum / static_cast<double>(n) : place[i];
            }
            std::stable_sort(r_slots.begin(), r_slots.end(),
                             [&](std::size_t a, std::size_t b) { return key[a] < key[b]; });
            for (std::size_t j = 0; j < r_slots.size(); ++j)
                place[r_slots[j]] = static_cast<double>(j);
        }
    }
    std::vector<double> row_w(n_rows, 0), row_h(n_rows, 0);
    for (std::size_t k = 0; k < n_rows; ++k) {
        for (auto i : rows[k]) {
            row_w[k] += sizes[i].w + (row_w[k] > 0 ? kGapX : 0);
            row_h[k] = std::max(row_h[k], sizes[i].h);
        }
    }
    const double width = n_rows ? *std::max_element(row_w.begin(), row_w.end()) : 0;
    double y = kMargin;
    for (std::size_t k = 0; k < n_rows; ++k) {
        double x = kMargin + (width - row_w[k]) / 2;
        for (auto i : rows[k]) {
            r.boxes[i].x = x + sizes[i].w / 2;
            r.boxes[i].y = y + row_h[k] / 2;
            x += sizes[i].w + kGapX;
        }
        y += row_h[k] + kGapY;
    }
    r.width = width + 2 * kMargin;
    r.height = y - kGapY + kMargin;
    // Each edge from the bottom of its input to the top of its result, spread along that top.
    for (auto& e : r.edges) {
        const LayoutBox& a = r.boxes[static_cast<std::size_t>(e.from)];
        const LayoutBox& b = r.boxes[static_cast<std::size_t>(e.to)];
        const double n = static_cast<double>(tensors[static_cast<std::size_t>(e.to)].inputs.size());
        const double spread = std::min(24.0, b.w / (n + 1));
        const double x1 = b.x + (static_cast<double>(e.input) - (n - 1) / 2) * spread;
        const double y0 = a.y + a.h / 2, y1 = b.y - b.h / 2, dy = (y1 - y0) / 2;
        e.points = {{a.x, y0}, {a.x, y0 + dy}, {x1, y1 - dy}, {x1, y1}};
    }
    return r;
}

}  // namespace

GraphLayoutResult layout_graph(const std::vector<TraceTensor>& tensors,
                               const std::vector<LayoutBox>& sizes, GraphLayout mode) {
    if (sizes.size() != tensors.size()) {
        throw ValueError("layout_graph: " + std::to_string(sizes.size()) + " sizes for " +
                         std::to_string(tensors.size()) + " tensors");
    }
    const bool graphviz = mode == GraphLayout::graphviz ||
                          (mode == GraphLayout::automatic && !find_graphviz_dot().empty());
    return graphviz ? layout_with_graphviz(tensors, sizes) : layout_simple(tensors, sizes);
}

}  // namespace tapegrad::cli

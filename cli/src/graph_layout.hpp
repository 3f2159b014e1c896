#pragma once
// Where the boxes of a tape's graph go on a page: Graphviz's dot lays them out when it is
// installed (dot -Tplain), else a simple layered layout of our own (internal to the HTML page).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/autodiff/trace.hpp"
#include "tapegrad/cli/html_page.hpp"

namespace tapegrad::cli {

struct LayoutBox {
    double x = 0, y = 0;  // the centre, in pixels, y down
    double w = 0, h = 0;
};

struct LayoutEdge {
    std::int32_t from = -1, to = -1;  // slots: an input and the result it feeds
    std::size_t input = 0;            // its place among the result's inputs
    // A cubic Bézier chain: the start, then three points per segment.
    std::vector<std::array<double, 2>> points;
};

struct GraphLayoutResult {
    std::string engine;  // "graphviz" or "simple"
    double width = 0, height = 0;
    std::vector<LayoutBox> boxes;  // by slot
    std::vector<LayoutEdge> edges;
};

// Lays out one box per tensor (sizes by slot; x and y are ignored) with an edge from each input
// to its result. automatic: Graphviz when its dot is on the PATH. Throws IoError when graphviz
// is asked for and dot is missing or fails.
GraphLayoutResult layout_graph(const std::vector<TraceTensor>& tensors,
                               const std::vector<LayoutBox>& sizes, GraphLayout mode);

}  // namespace tapegrad::cli

#pragma once
// Stepping through backprop in a browser: one self-contained HTML file per recorded backward
// pass (no network, no outside script, font or style). It shows the graph with every node's
// value, the gradients as backward reaches them, and beside it the facts of the current step
// (the gradient that arrived, the op's rule with its inputs' values, what each input receives).
// Arrow keys or buttons step; #step=7 in the URL links to a moment. For a program of your own:
//
//   tg::Stepper stepper;
//   { tg::Tape tape; tape.set_observer(&stepper); ...; tape.backward(loss); }
//   tg::cli::write_html(stepper, "backprop.html", {.title = "my model"});
#include <filesystem>
#include <optional>
#include <string>

#include "tapegrad/autodiff/gradcheck.hpp"
#include "tapegrad/autodiff/trace.hpp"

namespace tapegrad::cli {

// automatic: Graphviz's dot lays the graph out when it is installed, else a simple layered
// layout; graphviz: dot or an IoError; simple: never runs dot.
enum class GraphLayout { automatic, graphviz, simple };

struct HtmlPageOptions {
    std::string title{};    // the heading; empty: "backward from <target>"
    std::string formula{};  // a few lines under the heading: what is computed, with its numbers
    // Shown beside the final gradients of the leaves (gradcheck_params_table); none: not shown.
    std::optional<GradcheckTable> gradcheck{};
    GraphLayout layout = GraphLayout::automatic;
};

// The page as text. Throws TapeError when the stepper recorded no backward pass.
std::string html_page(const Stepper& stepper, const HtmlPageOptions& options = {});

struct HtmlFile {
    std::filesystem::path path;
    std::string layout;  // "graphviz" or "simple": who laid the graph out
    std::size_t bytes = 0;
    std::string message;  // what was written
};
// Writes html_page(stepper, options) to path. Throws IoError, with the reason, when the file
// cannot be written.
HtmlFile write_html(const Stepper& stepper, const std::filesystem::path& path,
                    const HtmlPageOptions& options = {});

}  // namespace tapegrad::cli

#pragma once
// Rendering the DOT text of a tape (tapegrad/autodiff/trace.hpp: to_dot, Stepper::dot) with
// Graphviz's `dot`, when it is installed.
#include <filesystem>
#include <string>

namespace tapegrad::cli {

// Where Graphviz's `dot` is on the PATH; empty when it is not installed.
std::filesystem::path find_graphviz_dot();

struct GraphFiles {
    std::filesystem::path dot;
    std::filesystem::path svg;  // empty when no SVG was made
    std::string message;        // what was written, or how to render the DOT file by hand
};
// Writes the DOT text to dot_path and, when Graphviz is installed, renders it to the same path
// with .svg (dot -Tsvg). Without Graphviz the message says how to install and run it. Throws
// IoError when a file cannot be written or dot fails.
GraphFiles write_graph(const std::string& dot_text, const std::filesystem::path& dot_path);

// What Graphviz's dot prints for the DOT text in the given output format ("plain", "svg").
// Throws IoError when dot is not installed or fails.
std::string run_dot(const std::string& dot_text, const std::string& format);

}  // namespace tapegrad::cli

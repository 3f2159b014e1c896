#pragma once
// `tapegrad step EXAMPLE`: one of the built-in walkthroughs (walkthroughs.hpp) forward and
// backward, node by node: interactively, or all at once with --all; --dot draws the graph and
// --html writes a page to step through in a browser and --gradcheck compares its gradients
// with finite differences.
#include <iosfwd>
#include <string>

namespace CLI {
class App;
}

namespace tapegrad::cli {

struct StepArgs {
    std::string example;     // empty: list the walkthroughs
    bool all = false;        // print the whole trace, no interaction
    bool list = false;       // list the walkthroughs
    std::string dot;         // write the graph here (and an SVG beside it when Graphviz is there)
    std::string html;        // write a page to step through in a browser here
    bool gradcheck = false;  // print the gradient-check table
};

// Adds the subcommand and its flags; the callback runs it (on std::cin, std::cout) and sets
// exit_code.
CLI::App* add_step_command(CLI::App& app, StepArgs& args, int& exit_code);
// Runs it: commands are read from in when interactive, everything is written to out. Throws
// tapegrad::Error on a bad name or a file that cannot be written.
void run_step(const StepArgs& args, std::istream& in, std::ostream& out);

}  // namespace tapegrad::cli

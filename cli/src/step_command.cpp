#include "step_command.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>

#include "command.hpp"
#include "tapegrad/cli/graphviz.hpp"
#include "tapegrad/cli/html_page.hpp"
#include "tapegrad/cli/stepper_terminal.hpp"
#include "walkthroughs.hpp"

namespace tapegrad::cli {

namespace {

// What `tapegrad step --help` says first.
constexpr const char* kDescription =
    "Step through backprop on a built-in walkthrough: every node's value on the way forward, "
    "then, in the order backward visits them, the gradient each node receives, its local rule "
    "and what each input gets. Interactive by default (n next, p previous, print NAME, q quit, "
    "h help).";

std::string walkthrough_list() {
    std::string s = "walkthroughs (tapegrad step NAME):\n";
    for (const auto& w : walkthroughs()) {
        s += "  " + w.name + std::string(w.name.size() < 11 ? 11 - w.name.size() : 1, ' ') +
             w.summary + "\n";
    }
    return s;
}

}  // namespace

CLI::App* add_step_command(CLI::App& app, StepArgs& a, int& exit_code) {
    auto* cmd = add_command(app, "step", kDescription, exit_code,
                            [&a] { run_step(a, std::cin, std::cout); });
    cmd->add_option("example", a.example, "quadratic | line_fit | neuron | mlp");
    cmd->add_flag("--all", a.all, "print the whole trace at once, without interaction");
    cmd->add_flag("--list", a.list, "list the walkthroughs");
    cmd->add_option("--dot", a.dot,
                    "write the graph (values and gradients) to this DOT file, and an SVG beside "
                    "it when Graphviz's dot is installed");
    cmd->add_option("--html", a.html,
                    "write a page to step through in a browser: one self-contained HTML file "
                    "(the graph laid out by Graphviz's dot when it is installed)");
    cmd->add_flag("--gradcheck", a.gradcheck,
                  "compare the gradients with central differences, worst elements first");
    return cmd;
}

void run_step(const StepArgs& a, std::istream& in, std::ostream& out) {
    if (a.list || a.example.empty()) {
        out << walkthrough_list();
        return;
    }
    const Walkthrough& w = find_walkthrough(a.example);
    const WalkthroughRun run = run_walkthrough(w);
    out << "tapegrad step " << w.name << ": " << w.summary << "\n\n" << w.maths << "\n";
    const bool interactive = !a.all && a.dot.empty() && !a.gradcheck && a.html.empty();
    if (a.all) out << "\n" << run.stepper.transcript();
    if (!a.dot.empty()) {
        out << "\n"
            << write_graph(run.stepper.dot(w.name + ": " + w.summary), a.dot).message << "\n";
    }
    std::optional<GradcheckTable> check;  // printed, and shown at the end of the page
    if (a.gradcheck || !a.html.empty()) check = check_walkthrough(w);
    if (!a.html.empty()) {
        const HtmlPageOptions page{"tapegrad step " + w.name + ": " + w.summary, w.maths, check};
        out << "\n" << write_html(run.stepper, a.html, page).message << "\n";
    }
    if (a.gradcheck) out << "\n" << check->to_string();
    if (!interactive) return;
    out << "\nThe tape, forward (every tensor it saw, in order):\n"
        << run.stepper.forward_listing() << "\nStep through it: Enter or n for the next node, "
        << "p for the previous, print NAME, h for help, q to quit.\n";
    interact(run.stepper, in, out);
}

}  // namespace tapegrad::cli

// The terminal loop of `tapegrad step` over a recorded Stepper.
#include "tapegrad/cli/stepper_terminal.hpp"

#include <istream>
#include <ostream>

namespace tapegrad::cli {

namespace {

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

}  // namespace

std::string stepper_help() {
    return "commands:\n"
           "  n, Enter, →    next node          p, ←        previous node\n"
           "  b              the beginning      e           the end\n"
           "  print NAME     a tensor's value and gradient so far (p NAME too)\n"
           "  l              the forward listing\n"
           "  t              the whole backward trace\n"
           "  g              the final gradients\n"
           "  h              this help          q           quit (end of input quits too)\n";
}

void interact(const Stepper& stepper, std::istream& in, std::ostream& out) {
    if (!stepper.recorded()) {
        out << "nothing to step through: no backward pass was recorded\n";
        return;
    }
    const std::size_t last = stepper.positions() - 1;
    std::size_t pos = 0;
    bool show = true;
    std::string line;
    while (true) {
        if (show) out << "\n" << stepper.page(pos);
        show = false;
        out << "step " << pos + 1 << "/" << last + 1 << " > " << std::flush;
        if (!std::getline(in, line)) break;
        std::string cmd = trim(line);
        // An arrow key typed at a line prompt arrives as ESC [ C (or ESC O C); other escape
        // sequences are not echoed back, which would garble the terminal.
        if (!cmd.empty() && cmd[0] == '\x1b') {
            if (cmd.back() == 'C' || cmd.back() == 'D') {
                cmd = cmd.back() == 'C' ? "n" : "p";
            } else {
                out << "(only → and ← move; h lists the commands)\n";
                continue;
            }
        }
        const auto space = cmd.find(' ');
        const std::string word = cmd.substr(0, space);
        const std::string arg = space == std::string::npos ? "" : trim(cmd.substr(space + 1));
        if (word.empty() || word == "n" || word == "next") {
            if (pos == last) {
                out << "(this is the end: b goes to the beginning, q quits)\n";
            } else {
                ++pos;
                show = true;
            }
        } else if ((word == "p" || word == "prev" || word == "previous" || word == "back") &&
                   arg.empty()) {
            if (pos == 0) {
                out << "(this is the beginning)\n";
            } else {
                --pos;
                show = true;
            }
        } else if (word == "print" || word == "p" || word == "show") {
            out << (arg.empty() ? "print which tensor? print NAME\n" : stepper.print(arg, pos));
        } else if (word == "e" || word == "end") {
            pos = last;
            show = true;
        } else if (word == "b" || word == "begin" || word == "beginning" || word == "start") {
            pos = 0;
            show = true;
        } else if (word == "l" || word == "list") {
            out << stepper.forward_listing();
        } else if (word == "t" || word == "trace") {
            out << stepper.backward_trace();
        } else if (word == "g" || word == "grads" || word == "gradients") {
            out << stepper.gradients();
        } else if (word == "h" || word == "help" || word == "?") {
            out << stepper_help();
        } else if (word == "q" || word == "quit" || word == "exit") {
            return;
        } else {
            out << "unknown command '" << cmd << "'"
                << (stepper.find(cmd) ? " (to see that tensor: print " + cmd + ")" : std::string())
                << "; h lists the commands\n";
        }
    }
    out << "\n";  // end of input: leave the terminal on a fresh line
}

}  // namespace tapegrad::cli

#pragma once
// Stepping through backprop at a terminal: the command loop of `tapegrad step`, over what a
// Stepper (tapegrad/autodiff/trace.hpp) recorded. For a program of your own:
//
//   tg::Stepper stepper;
//   { tg::Tape tape; tape.set_observer(&stepper); ...; tape.backward(loss); }
//   tg::cli::interact(stepper, std::cin, std::cout);
#include <iosfwd>
#include <string>

#include "tapegrad/autodiff/trace.hpp"

namespace tapegrad::cli {

// Shows a position, reads a command line, until q or the end of input. n (or Enter, →) next,
// p (←) previous, b beginning, e end, print NAME, l listing, t whole trace, g gradients, h
// help, q quit. Unknown commands get a message; nothing a person types makes it fail.
void interact(const Stepper& stepper, std::istream& in, std::ostream& out);

// The help text of the loop.
std::string stepper_help();

}  // namespace tapegrad::cli

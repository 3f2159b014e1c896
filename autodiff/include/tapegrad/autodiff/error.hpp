#pragma once
// Every exception tapegrad throws derives from tapegrad::Error, so one catch covers them all,
// and the subclasses let a caller (or a test) tell a shape problem from a tape problem.
#include <stdexcept>
#include <string>

namespace tapegrad {

// A number in a message, as every message of the project prints it: the shortest text that
// reads back as the same double ("0.1", "3.5", "1e+20", "nan").
std::string exact_text(double v);
// A number for a person to read at a glance: `digits` significant digits, as printf's %g
// ("0.333333", "1e-07"; 6 digits is also what an ostream prints by default).
std::string short_text(double v, int digits = 6);

class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Incompatible shapes: the message names the op and every shape involved.
class ShapeError : public Error {
  public:
    using Error::Error;
};

// float32 and float64 mixed without a conversion, or an op that does not take the dtype.
class DtypeError : public Error {
  public:
    using Error::Error;
};

// Misuse of a tape: a tensor from an ended tape, backward twice, a loss not on this tape.
class TapeError : public Error {
  public:
    using Error::Error;
};

// An argument outside its domain (an axis that does not exist, an index out of range).
class ValueError : public Error {
  public:
    using Error::Error;
};

// A file that cannot be read or written, or whose contents are not what they should be: the
// message names the file and, where it applies, the entry, line or byte offset.
class IoError : public Error {
  public:
    using Error::Error;
};

}  // namespace tapegrad

#pragma once
// The exit statuses of `tapegrad`, one per kind of failure, so that a script can tell a bad
// file from a bad flag from a run that diverged. `tapegrad --help` lists them.
#include <tapegrad/autodiff/error.hpp>

namespace tapegrad::cli {

enum ExitStatus : int {
    kSuccess = 0,
    kBadInput = 1,       // a file or its data: missing, unreadable, nothing a model can learn
    kBadUsage = 2,       // the command line: an unknown command or flag, a value out of range
    kDiverged = 3,       // training stopped because the loss became NaN, infinite or blew up
    kInternalError = 4,  // a bug in tapegrad: an exception that is none of its errors
};

// What --help shows under the flags.
inline constexpr const char* kExitStatusHelp =
    "Exit status: 0 success; 1 bad input (a file or its data); 2 bad usage (an unknown "
    "command or flag, a flag's value); 3 training diverged; 4 internal error.";

// A command line that is wrong whatever the files hold: exit status kBadUsage. Every other
// tapegrad::Error is about the input (kBadInput).
class UsageError : public ValueError {
  public:
    using ValueError::ValueError;
};

// Training stopped by the divergence guard: exit status kDiverged.
class DivergedError : public Error {
  public:
    using Error::Error;
};

}  // namespace tapegrad::cli

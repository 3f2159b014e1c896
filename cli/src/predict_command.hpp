#pragma once
// `tapegrad predict --model M.npz --data F.csv [--output P.csv]`: a model that `tapegrad train
// --save` wrote, applied to the rows of a CSV file.
#include <iosfwd>
#include <string>

namespace CLI {
class App;
}

namespace tapegrad::cli {

struct PredictArgs {
    std::string model, data;
    std::string output;  // empty: the predictions go to standard output
};

// Adds the subcommand and its flags; the callback runs it (on std::cout, std::cerr) and sets
// exit_code.
CLI::App* add_predict_command(CLI::App& app, PredictArgs& args, int& exit_code);
// Runs it: the predictions go to --output, or to out when there is none; the report (rows,
// metrics, ignored columns) to out after an --output, else to err, so that out holds nothing
// but the CSV. Throws tapegrad::Error on a bad model file or data file.
void run_predict(const PredictArgs& args, std::ostream& out, std::ostream& err);

}  // namespace tapegrad::cli

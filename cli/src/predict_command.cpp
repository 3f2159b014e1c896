#include "predict_command.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

#include <tapegrad/formats/atomic_file.hpp>

#include "command.hpp"
#include "model_file.hpp"
#include "prediction.hpp"

namespace tapegrad::cli {

namespace {

// The line of `tapegrad --help`'s list, and what `tapegrad predict --help` says below the flags.
constexpr const char* kSummary =
    "Predict with a model that `tapegrad train --save` wrote, for every row of a CSV file";
constexpr const char* kDetails =
    "The CSV file's columns are found by name: the model's features, in any order (a missing one "
    "is an error naming it); other columns are ignored (and named in the report). One prediction "
    "per row, with a header (the target's name): the class label as the training file wrote it, "
    "or the value in the target's units. When the file has the target column, the loss and the "
    "accuracy (r2 for a regression) are reported as `train` computes them (the loss of a "
    "regression on the standardised target). The report goes to standard output after --output, "
    "else to standard error.";

}  // namespace

CLI::App* add_predict_command(CLI::App& app, PredictArgs& a, int& exit_code) {
    auto* cmd = add_command(app, "predict", kSummary, exit_code,
                            [&a] { run_predict(a, std::cout, std::cerr); });
    cmd->footer(kDetails);
    cmd->add_option("--model", a.model, "model file written by `tapegrad train --save`")
        ->required();
    cmd->add_option("--data", a.data, "CSV file with a header row")->required();
    cmd->add_option("--output", a.output,
                    "write the predictions to this CSV file (default: standard output)");
    return cmd;
}

void run_predict(const PredictArgs& a, std::ostream& out, std::ostream& err) {
    const ModelFile m = load_model_file(a.model);
    const Predictions p = predict_csv(*m.model, m.description, a.data);
    std::ostream& report = a.output.empty() ? err : out;
    if (a.output.empty()) {
        out << p.csv;
    } else {
        formats::write_file_atomically(a.output, p.csv);
    }
    report << "tapegrad predict: " << p.summary() << "\n";
    if (!p.ignored.empty()) {
        report << "ignored columns (not features of the model):";
        for (std::size_t i = 0; i < p.ignored.size(); ++i)
            report << (i ? ", " : " ") << p.ignored[i];
        report << "\n";
    }
}

}  // namespace tapegrad::cli

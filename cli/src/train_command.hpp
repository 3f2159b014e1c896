#pragma once
// `tapegrad train`: a model trained on a CSV file with sensible defaults, for people who just
// want to train on a table.
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace CLI {
class App;
}

namespace tapegrad::cli {

struct TrainArgs {
    std::string data{}, target{};
    std::string task = "auto";  // auto | classify | regress
    std::string model = "linear";
    std::string activation = "relu";
    std::string optim = "adam";
    std::optional<double> lr{};  // the optimizer's default when not given
    std::size_t batch_size = 32;
    int epochs = 200;
    double val_split = 0.2;
    bool standardize = true;
    int early_stopping = 20;  // patience in epochs; 0 turns it off
    std::uint64_t seed = 0;
    std::string save{}, history{}, plot{};  // empty: not written
    std::string predictions{};              // empty: not written
    bool find_lr = false;
    std::optional<std::uint64_t> max_csv_bytes{};  // data::CsvOptions's limit when not given
    std::optional<int> threads{};  // tapegrad's threads (set_num_threads) when given
};

// Adds the subcommand and its flags; the callback runs it and sets exit_code.
CLI::App* add_train_command(CLI::App& app, TrainArgs& args, int& exit_code);
// Runs training; progress and the final line go to out. Throws UsageError for a bad flag,
// DivergedError when the loss blew up, another tapegrad::Error on bad input (exit_status.hpp).
void run_train(const TrainArgs& args, std::ostream& out);

}  // namespace tapegrad::cli

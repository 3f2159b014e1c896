#include "train_command.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/charts/training.hpp>
#include <tapegrad/data/data_loader.hpp>
#include <tapegrad/data/readers.hpp>
#include <tapegrad/data/scaler.hpp>
#include <tapegrad/formats/atomic_file.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/callbacks.hpp>
#include <tapegrad/optim/fit.hpp>

#include "command.hpp"
#include "exit_status.hpp"
#include "model_file.hpp"
#include "model_spec.hpp"
#include "objective.hpp"
#include "optimizer_factory.hpp"
#include "parallel.hpp"
#include "prediction.hpp"

namespace tapegrad::cli {

namespace {

// Classes when the target holds few distinct whole numbers, regression otherwise.
constexpr std::size_t kMaxClasses = 20;

struct Task {
    bool classify = false;
    std::vector<double> classes;  // the distinct target values, sorted; index = class
};

Task decide_task(const std::string& flag, const Tensor& y) {
    const auto v = y.to_array<double>();
    std::set<double> distinct(v.begin(), v.end());
    const bool whole = std::all_of(v.begin(), v.end(),
                                   [](double d) { return std::isfinite(d) && d == std::round(d); });
    Task t;
    if (flag == "auto") {
        t.classify = whole && distinct.size() <= kMaxClasses;
    } else if (flag == "classify") {
        if (!whole || distinct.size() > 1000) {
            throw ValueError("--task classify: the target column holds " +
                             std::string(whole ? "more than 1000 distinct values"
                                               : "values that are not whole numbers") +
                             "; use --task regress");
        }
        t.classify = true;
    } else if (flag != "regress") {
        throw UsageError("--task: expected auto, classify or regress, got '" + flag + "'");
    }
    if (t.classify) {
        t.classes.assign(distinct.begin(), distinct.end());
        if (t.classes.size() < 2) {
            throw ValueError("the target column has a single class; there is nothing to learn");
        }
    }
    return t;
}

std::string fmt(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4f", v);
    return buf;
}

// What `tapegrad train --help` says first.
constexpr const char* kDescription =
    "Train a model on a CSV file (a header row, numeric columns) and report validation numbers. "
    "Classification when the target holds at most 20 distinct whole numbers: two classes use "
    "binary cross-entropy on logits, more use cross-entropy; regression uses mean squared error "
    "on the standardised target.";

// ---- the flags ---------------------------------------------------------------------------

void add_data_flags(CLI::App& cmd, TrainArgs& a) {
    cmd.add_option("--data", a.data, "CSV file with a header row")->required();
    cmd.add_option("--target", a.target, "name of the target column")->required();
    add_option_with_default(cmd, "--task", a.task, "auto | classify | regress");
    add_option_with_default(cmd, "--val-split", a.val_split,
                            "share of the rows held out for validation (stratified for classes)");
    // Two flags rather than "--standardize,!--no-standardize", which --help shows as
    // "{false}" (the value the negation sets) although standardising is on by default.
    cmd.add_flag("--standardize", a.standardize,
                 "scale features (and a regression target) to mean 0, variance 1, fitted on "
                 "the training rows (the default)");
    cmd.add_flag_callback(
        "--no-standardize", [&a] { a.standardize = false; }, "leave features and target as read");
    add_option_with_default(cmd, "--seed", a.seed,
                            "seed of the split, the initial weights and the shuffling");
    cmd.add_option("--max-csv-bytes", a.max_csv_bytes,
                   "largest --data file read, in bytes (default " +
                       std::to_string(data::CsvOptions{}.max_bytes) + ", 2 GiB)");
}

void add_model_flags(CLI::App& cmd, TrainArgs& a) {
    add_option_with_default(cmd, "--model", a.model,
                            "linear, or mlp:H1,H2,... (hidden layer widths)");
    add_option_with_default(cmd, "--activation", a.activation, "relu | tanh (hidden layers)");
}

void add_training_flags(CLI::App& cmd, TrainArgs& a) {
    add_option_with_default(cmd, "--optim", a.optim, optimizer_help());
    cmd.add_option("--lr", a.lr, "learning rate (default: the optimizer's, listed under --optim)");
    add_option_with_default(cmd, "--batch-size", a.batch_size,
                            "rows per mini-batch (1 = stochastic; lbfgs always takes them all)");
    add_option_with_default(cmd, "--epochs", a.epochs,
                            "passes over the training rows (lbfgs: its steps)");
    cmd.add_option("--threads", a.threads,
                   "tapegrad's threads for large products, elementwise ops and batches "
                   "(default: none of its own, OpenBLAS's count)");
    add_option_with_default(
        cmd, "--early-stopping", a.early_stopping,
        "patience in epochs on the validation loss, best weights restored (0: off)");
    cmd.add_flag("--find-lr", a.find_lr,
                 "run the learning-rate range test first and train with its suggestion (unless "
                 "--lr is given); with --plot, its curve goes to PLOT with .lr.svg");
}

void add_output_flags(CLI::App& cmd, TrainArgs& a) {
    cmd.add_option("--save", a.save,
                   "write the model to this .npz: its weights, and what `tapegrad predict` "
                   "needs (architecture, feature names, scalers, class labels)");
    cmd.add_option("--predictions", a.predictions,
                   "write the final model's predictions for every row of --data to this CSV, "
                   "as `tapegrad predict` writes them, and report the metrics on all rows");
    cmd.add_option("--history", a.history, "write per-epoch losses and metrics to this CSV");
    cmd.add_option("--plot", a.plot, "write the loss curves to this SVG");
}

// ---- the run -----------------------------------------------------------------------------

// The flags' values that no later step would catch as early, with the flag named.
void check_args(const TrainArgs& a, const OptimizerChoice& optimizer, double lr) {
    if (a.batch_size == 0) throw UsageError("--batch-size must be at least 1");
    if (a.epochs < 1) throw UsageError("--epochs must be at least 1");
    if (!(a.val_split > 0.0 && a.val_split < 1.0)) {
        throw UsageError("--val-split must be between 0 and 1 (exclusive), got " +
                         std::to_string(a.val_split));
    }
    if (a.early_stopping < 0) throw UsageError("--early-stopping must be 0 (off) or more");
    if (a.threads && (*a.threads < 1 || *a.threads > max_threads())) {
        throw UsageError("--threads must be from 1 to " + std::to_string(max_threads()) +
                         " (four a core), got " + std::to_string(*a.threads));
    }
    if (!(lr > 0.0) || !std::isfinite(lr)) throw UsageError("--lr must be positive");
    if (a.find_lr && optimizer.full_batch) {
        throw UsageError("--find-lr does not apply to " + std::string(optimizer.name));
    }
    if (a.find_lr && process_count() > 1) {
        throw UsageError(
            "--find-lr runs in one process: run it without mpirun, then train "
            "under mpirun with --lr");
    }
}

// An output file is written after training: a folder that is missing or not writable is
// reported before it, with the reason.
void check_writable(const std::string& flag, const std::string& path) {
    if (path.empty()) return;
    const std::filesystem::path file(path);
    std::error_code ec;
    const auto fail = [&](int error) {
        throw ValueError(flag + ": cannot write '" + path + "': " + std::strerror(error));
    };
    if (std::filesystem::is_directory(file, ec)) fail(EISDIR);
    const std::filesystem::path folder = file.has_parent_path() ? file.parent_path() : ".";
    const auto status = std::filesystem::status(folder, ec);
    if (ec) fail(ec.value());  // the system's errno: ENOENT, EACCES, ...
    if (!std::filesystem::is_directory(status)) fail(ENOTDIR);
    if (::access(folder.c_str(), W_OK | X_OK) != 0) fail(errno);
}

void check_outputs(const TrainArgs& a) {
    check_writable("--save", a.save);
    check_writable("--history", a.history);
    check_writable("--plot", a.plot);
}

// The table as the model learns from it: targets encoded for the task, split, and (unless
// --no-standardize) scaled with numbers fitted on the training rows only.
struct Problem {
    std::size_t rows = 0, features = 0, outputs = 0;
    Task task;
    std::vector<std::string> feature_names;
    data::Split parts;
    data::StandardScaler scaler, target_scaler;
};

// The smallest table that --val-split leaves a validation row and a training row (split
// holds out round(val_split * rows) rows).
std::size_t min_rows_to_split(double val_split) {
    std::size_t n = 2;
    while (true) {
        const auto held_out =
            static_cast<std::size_t>(std::floor(val_split * static_cast<double>(n) + 0.5));
        if (held_out >= 1 && held_out < n) return n;
        ++n;
    }
}

// A table a model can learn from, in the command line's words (the library would speak of
// classes, in_features or nullptr).
void check_table(const TrainArgs& a, const data::CsvDataset& csv) {
    const std::size_t rows = csv.data.size();
    if (rows == 0) throw ValueError(a.data + ": no data rows (only a header)");
    if (csv.data.x.shape()[1] == 0) {
        throw ValueError(a.data + ": no feature columns besides the target '" + a.target + "'");
    }
    const std::size_t needed = min_rows_to_split(a.val_split);
    if (rows < needed) {
        throw ValueError(a.data + ": " + std::to_string(rows) + " data row" +
                         (rows == 1 ? "" : "s") +
                         ", too few to split into training and validation rows: --val-split " +
                         short_text(a.val_split) + " needs at least " + std::to_string(needed));
    }
}

Problem load_problem(const TrainArgs& a) {
    data::CsvOptions csv_options;
    if (a.max_csv_bytes) csv_options.max_bytes = *a.max_csv_bytes;
    const data::CsvDataset csv = data::read_csv(a.data, a.target, csv_options);
    check_table(a, csv);
    // A nan or inf is named at its file line here; fit would find it shuffled and scaled.
    data::require_finite(csv);
    Problem p;
    p.task = decide_task(a.task, csv.data.y);
    data::Dataset all{csv.data.x, encode_targets(p.task.classes, csv.data.y)};
    const bool binary = p.task.classify && p.task.classes.size() == 2;
    p.rows = csv.data.size();
    p.feature_names = csv.feature_names;
    p.features = all.x.shape()[1];
    p.outputs = p.task.classify && !binary ? p.task.classes.size() : 1;
    p.parts =
        data::split(all, {.validation = a.val_split, .seed = a.seed, .stratify = p.task.classify});
    if (a.standardize) {
        p.parts.train.x = p.scaler.fit_transform(p.parts.train.x);
        p.parts.validation.x = p.scaler.transform(p.parts.validation.x);
        if (!p.task.classify) {
            p.parts.train.y = p.target_scaler.fit_transform(p.parts.train.y);
            p.parts.validation.y = p.target_scaler.transform(p.parts.validation.y);
        }
    }
    return p;
}

void print_header(std::ostream& out, const TrainArgs& a, const Problem& p, const ModelSpec& spec,
                  nn::Module& model, double lr) {
    const std::size_t n_classes = p.task.classes.size();
    out << "tapegrad train: " << p.rows << " rows, " << p.features << " features, "
        << (p.task.classify ? std::to_string(n_classes) + " classes" : std::string("regression"))
        << "; " << p.parts.train.size() << " train / " << p.parts.validation.size()
        << " validation rows; model " << describe(spec) << " (" << model.num_parameters()
        << " parameters); " << a.optim << " lr " << lr << "; seed " << a.seed;
    if (process_count() > 1) out << "; data parallel over " << process_count() << " processes";
    out << "\n";
}

// Shuffled mini-batches, or for a full-batch optimizer every training row in one batch, in
// their order, so that each of its steps sees the same loss; under mpirun this process's
// share of each.
data::DataLoader make_loader(const TrainArgs& a, const OptimizerChoice& optimizer,
                             const data::Dataset& train) {
    if (optimizer.full_batch) {
        return data::DataLoader(
            train, shard_for_processes({.batch_size = train.size(), .shuffle = false}));
    }
    return data::DataLoader(
        train, shard_for_processes({.batch_size = a.batch_size, .shuffle = true, .seed = a.seed}));
}

// --find-lr: the range test, its suggestion taken unless --lr was given, its curve drawn
// beside --plot's.
void find_lr(const TrainArgs& a, nn::Module& model, optim::Optimizer& opt,
             const optim::LossFn& loss, data::DataLoader& loader, std::ostream& out) {
    const optim::LRFinderOptions options;
    const auto found = optim::lr_find(model, opt, loss, loader, options);
    // A minimum at the last rate of a sweep that never blew up: the turn lies beyond it.
    const bool still_falling = !found.diverged && found.best_index + 1 == found.lrs.size();
    if (std::isfinite(found.suggested_lr)) {
        out << "lr finder: suggested learning rate " << found.suggested_lr
            << " (smoothed loss lowest at " << found.lrs[found.best_index] << ", divided by "
            << options.divide_by
            << (still_falling ? "; the loss was still falling at the sweep's last rate" : "")
            << ")\n";
    } else {
        out << "lr finder: no suggestion (the smoothed loss did not fall below its level at the "
               "start of the sweep); training at lr "
            << opt.lr() << "\n";
    }
    if (!a.plot.empty()) {
        std::string path = a.plot;
        if (path.size() > 4 && path.substr(path.size() - 4) == ".svg") path.resize(path.size() - 4);
        charts::plot_lr_finder(found, path + ".lr.svg");
    }
    if (!a.lr && std::isfinite(found.suggested_lr)) opt.set_lr(found.suggested_lr);
}

// fit with the command's callbacks: the divergence guard first (it puts back the weights of
// the last good step before EarlyStopping keeps any), a line per epoch, the history and the
// chart. Stop reasons are printed by the progress bar; a diverged run throws DivergedError
// with the guard's reason (the epoch and step where the loss blew up). Under mpirun only the
// first process prints and writes files; the guard and early stopping run on every process
// (they see the same numbers everywhere, so all stop together).
void train(const TrainArgs& a, nn::Module& model, optim::Optimizer& opt, const Objective& objective,
           data::DataLoader& loader, const data::Dataset& validation, std::ostream& out) {
    optim::DivergenceGuard guard;
    optim::EarlyStopping stop({.patience = a.early_stopping, .notes = nullptr});
    // One line per epoch under mpirun: its processes' stdout is a terminal even when mpirun's
    // own output goes to a file.
    optim::ProgressBar progress(out,
                                {.mode = process_count() > 1 ? optim::ProgressMode::lines
                                                             : optim::ProgressMode::automatic});
    optim::History history({.csv_path = a.history});
    std::optional<charts::HistoryChart> chart;
    if (!a.plot.empty()) chart.emplace(charts::HistoryChartOptions{.path = a.plot});
    std::vector<optim::Callback*> callbacks = {&guard};
    if (a.early_stopping > 0) callbacks.push_back(&stop);
    if (is_first_process()) callbacks.insert(callbacks.end(), {&progress, &history});
    if (chart && is_first_process()) callbacks.push_back(&*chart);
    const auto result = fit_on_processes(model, opt, objective.loss, loader,
                                         {.epochs = a.epochs,
                                          .validation = &validation,
                                          .metrics = objective.metrics,
                                          .threshold = kLogitThreshold,
                                          .callbacks = callbacks});
    if (guard.diverged()) {
        throw DivergedError("training diverged: " + result.stop_reason +
                            (a.save.empty() ? "" : "; nothing saved"));
    }
}

// What `tapegrad predict` needs besides the weights, as this run learnt it.
ModelDescription describe_model(const TrainArgs& a, const Problem& p) {
    return {.classify = p.task.classify,
            .model = a.model,
            .activation = a.activation,
            .features = p.feature_names,
            .target = a.target,
            .classes = p.task.classes,
            .feature_scaler = p.scaler,
            .target_scaler = p.target_scaler};
}

// "final: train_loss=... val_loss=... val_accuracy=..." (val_r2 for a regression).
std::string final_line(nn::Module& model, const Objective& objective, const Problem& p) {
    const auto eval = [&](const data::Dataset& d) {
        return optim::evaluate(model, objective.loss, d, objective.metrics, kLogitThreshold);
    };
    const auto train_logs = eval(p.parts.train), val_logs = eval(p.parts.validation);
    const std::string metric = p.task.classify ? "accuracy" : "r2";
    return "final: train_loss=" + fmt(train_logs.at("loss")) +
           " val_loss=" + fmt(val_logs.at("loss")) + " val_" + metric + "=" +
           fmt(val_logs.at(metric));
}

}  // namespace

CLI::App* add_train_command(CLI::App& app, TrainArgs& a, int& exit_code) {
    auto* cmd = add_command(app, "train", kDescription, exit_code,
                            [&a] { run_train(a, output_of_this_process(std::cout)); });
    add_data_flags(*cmd, a);
    add_model_flags(*cmd, a);
    add_training_flags(*cmd, a);
    add_output_flags(*cmd, a);
    return cmd;
}

void run_train(const TrainArgs& a, std::ostream& out) {
    const OptimizerChoice& choice = find_optimizer(a.optim);
    const double lr = a.lr.value_or(choice.default_lr);
    check_args(a, choice, lr);
    const ModelSpec spec = parse_model_spec(a.model, a.activation);
    check_outputs(a);
    if (a.threads) set_num_threads(*a.threads);

    Problem p = load_problem(a);
    auto model = build_model(spec, p.features, p.outputs, a.seed);
    auto opt = choice.make(model->parameters(), lr);
    const Objective objective = objective_for(p.task.classes);
    print_header(out, a, p, spec, *model, lr);

    data::DataLoader loader = make_loader(a, choice, p.parts.train);
    if (a.find_lr) find_lr(a, *model, *opt, objective.loss, loader, out);
    train(a, *model, *opt, objective, loader, p.parts.validation, out);

    const ModelDescription description = describe_model(a, p);
    if (!a.save.empty() && is_first_process()) {
        save_model_file(a.save, description, *model);
        out << "saved " << a.save << "\n";
    }
    if (!a.predictions.empty() && is_first_process()) {
        const Predictions predictions = predict_csv(*model, description, a.data);
        formats::write_file_atomically(a.predictions, predictions.csv);
        out << "predictions: " << a.predictions << ", " << predictions.summary() << "\n";
    }
    out << final_line(*model, objective, p) << "\n";
}

}  // namespace tapegrad::cli

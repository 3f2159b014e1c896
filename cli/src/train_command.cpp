#include "train_command.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/charts/training.hpp>
#include <tapegrad/data/data_loader.hpp>
#include <tapegrad/data/readers.hpp>
#include <tapegrad/data/scaler.hpp>
#include <tapegrad/formats/npz.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/callbacks.hpp>
#include <tapegrad/optim/fit.hpp>

#include "command.hpp"
#include "model_spec.hpp"
#include "optimizer_factory.hpp"

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
        throw ValueError("--task: expected auto, classify or regress, got '" + flag + "'");
    }
    if (t.classify) {
        t.classes.assign(distinct.begin(), distinct.end());
        if (t.classes.size() < 2) {
            throw ValueError("the target column has a single class; there is nothing to learn");
        }
    }
    return t;
}

// Targets as the loss wants them: [N, 1] of 0/1 for two classes (BCE on logits), class indices
// [N] for more (cross-entropy), [N, 1] values for regression (MSE).
Tensor encode_targets(const Task& task, const Tensor& y) {
    const auto v = y.to_array<double>();
    const std::size_t n = v.size();
    if (!task.classify) return Tensor(xt::xarray<float>(xt::cast<float>(v)));
    xt::xarray<float> idx = xt::zeros<float>({n});
    for (std::size_t i = 0; i < n; ++i) {
        idx(i) =
            static_cast<float>(std::lower_bound(task.classes.begin(), task.classes.end(), v(i)) -
                               task.classes.begin());
    }
    return Tensor(std::move(idx));
}

std::string fmt(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4f", v);
    return buf;
}

// Every model here outputs logits: a binary class is predicted when its logit is above 0.
constexpr double kLogitThreshold = 0.0;

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
    cmd.add_flag("--standardize,!--no-standardize", a.standardize,
                 "scale features (and a regression target) to mean 0, variance 1, fitted on "
                 "the training rows (default on)");
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
    add_option_with_default(
        cmd, "--early-stopping", a.early_stopping,
        "patience in epochs on the validation loss, best weights restored (0: off)");
    cmd.add_flag("--find-lr", a.find_lr,
                 "run the learning-rate range test first and train with its suggestion (unless "
                 "--lr is given); with --plot, its curve goes to PLOT with .lr.svg");
}

void add_output_flags(CLI::App& cmd, TrainArgs& a) {
    cmd.add_option("--save", a.save, "write the model's weights (and the scaler) to this .npz");
    cmd.add_option("--history", a.history, "write per-epoch losses and metrics to this CSV");
    cmd.add_option("--plot", a.plot, "write the loss curves to this SVG");
}

// ---- the run -----------------------------------------------------------------------------

// The flags' values that no later step would catch as early, with the flag named.
void check_args(const TrainArgs& a, const OptimizerChoice& optimizer, double lr) {
    if (a.batch_size == 0) throw ValueError("--batch-size must be at least 1");
    if (a.epochs < 1) throw ValueError("--epochs must be at least 1");
    if (!(a.val_split > 0.0 && a.val_split < 1.0)) {
        throw ValueError("--val-split must be between 0 and 1 (exclusive), got " +
                         std::to_string(a.val_split));
    }
    if (a.early_stopping < 0) throw ValueError("--early-stopping must be 0 (off) or more");
    if (!(lr > 0.0) || !std::isfinite(lr)) throw ValueError("--lr must be positive");
    if (a.find_lr && optimizer.full_batch) {
        throw ValueError("--find-lr does not apply to " + std::string(optimizer.name));
    }
}

// The table as the model learns from it: targets encoded for the task, split, and (unless
// --no-standardize) scaled with numbers fitted on the training rows only.
struct Problem {
    std::size_t rows = 0, features = 0, outputs = 0;
    Task task;
    data::Split parts;
    data::StandardScaler scaler, target_scaler;
};

Problem load_problem(const TrainArgs& a) {
    data::CsvOptions csv_options;
    if (a.max_csv_bytes) csv_options.max_bytes = *a.max_csv_bytes;
    const data::CsvDataset csv = data::read_csv(a.data, a.target, csv_options);
    // A nan or inf is named at its file line here; fit would find it shuffled and scaled.
    data::require_finite(csv);
    Problem p;
    p.task = decide_task(a.task, csv.data.y);
    data::Dataset all{csv.data.x, encode_targets(p.task, csv.data.y)};
    const bool binary = p.task.classify && p.task.classes.size() == 2;
    if (binary || !p.task.classify) all.y = reshape(all.y, {all.y.numel(), 1});
    p.rows = csv.data.size();
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

// The loss and the metrics of the task: binary cross-entropy on logits for two classes,
// cross-entropy for more, mean squared error (and R²) for regression.
struct Objective {
    optim::LossFn loss;
    std::vector<std::string> metrics;
};

Objective objective_for(const Task& task) {
    if (!task.classify) {
        return {[](const Tensor& o, const Tensor& y) { return nn::mse_loss(o, y); }, {"r2"}};
    }
    if (task.classes.size() == 2) {
        return {[](const Tensor& o, const Tensor& y) { return nn::bce_with_logits(o, y); },
                {"accuracy"}};
    }
    return {[](const Tensor& o, const Tensor& y) { return nn::cross_entropy(o, y); }, {"accuracy"}};
}

void print_header(std::ostream& out, const TrainArgs& a, const Problem& p, const ModelSpec& spec,
                  nn::Module& model, double lr) {
    const std::size_t n_classes = p.task.classes.size();
    out << "tapegrad train: " << p.rows << " rows, " << p.features << " features, "
        << (p.task.classify ? std::to_string(n_classes) + " classes" : std::string("regression"))
        << "; " << p.parts.train.size() << " train / " << p.parts.validation.size()
        << " validation rows; model " << describe(spec) << " (" << model.num_parameters()
        << " parameters); " << a.optim << " lr " << lr << "; seed " << a.seed << "\n";
}

// Shuffled mini-batches, or for a full-batch optimizer every training row in one batch, in
// their order, so that each of its steps sees the same loss.
data::DataLoader make_loader(const TrainArgs& a, const OptimizerChoice& optimizer,
                             const data::Dataset& train) {
    if (optimizer.full_batch) {
        return data::DataLoader(train, {.batch_size = train.size(), .shuffle = false});
    }
    return data::DataLoader(train, {.batch_size = a.batch_size, .shuffle = true, .seed = a.seed});
}

// --find-lr: the range test, its suggestion taken unless --lr was given, its curve drawn
// beside --plot's.
void find_lr(const TrainArgs& a, nn::Module& model, optim::Optimizer& opt,
             const optim::LossFn& loss, data::DataLoader& loader, std::ostream& out) {
    const auto found = optim::lr_find(model, opt, loss, loader);
    out << "lr finder: suggested learning rate " << found.suggested_lr << " (loss lowest at "
        << found.lrs[found.best_index] << ", divided by 10)\n";
    if (!a.plot.empty()) {
        std::string path = a.plot;
        if (path.size() > 4 && path.substr(path.size() - 4) == ".svg") path.resize(path.size() - 4);
        charts::plot_lr_finder(found, path + ".lr.svg");
    }
    if (!a.lr && std::isfinite(found.suggested_lr)) opt.set_lr(found.suggested_lr);
}

// fit with the command's callbacks: the divergence guard first (it puts back the weights of
// the last good step before EarlyStopping keeps any), a line per epoch, the history and the
// chart. Stop reasons are printed by the progress bar.
void train(const TrainArgs& a, nn::Module& model, optim::Optimizer& opt, const Objective& objective,
           data::DataLoader& loader, const data::Dataset& validation, std::ostream& out) {
    optim::DivergenceGuard guard;
    optim::EarlyStopping stop({.patience = a.early_stopping, .notes = nullptr});
    optim::ProgressBar progress(out);
    optim::History history({.csv_path = a.history});
    std::optional<charts::HistoryChart> chart;
    if (!a.plot.empty()) chart.emplace(charts::HistoryChartOptions{.path = a.plot});
    std::vector<optim::Callback*> callbacks = {&guard, &progress, &history};
    if (a.early_stopping > 0) callbacks.insert(callbacks.begin() + 1, &stop);
    if (chart) callbacks.push_back(&*chart);
    optim::fit(model, opt, objective.loss, loader,
               {.epochs = a.epochs,
                .validation = &validation,
                .metrics = objective.metrics,
                .threshold = kLogitThreshold,
                .callbacks = callbacks});
}

// The weights and, when the features were standardised, the scaler ("scaler.mean", ...), so
// that the file holds all a prediction needs.
void save_model(const std::string& path, nn::Module& model, const data::StandardScaler& scaler,
                std::ostream& out) {
    StateDict state = model.state_dict();
    for (auto& [k, v] : scaler.fitted() ? scaler.state_dict() : StateDict{})
        state["scaler." + k] = v;
    formats::save_npz(path, state);
    out << "saved " << path << "\n";
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
    auto* cmd =
        add_command(app, "train", kDescription, exit_code, [&a] { run_train(a, std::cout); });
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

    Problem p = load_problem(a);
    auto model = build_model(spec, p.features, p.outputs, a.seed);
    auto opt = choice.make(model->parameters(), lr);
    const Objective objective = objective_for(p.task);
    print_header(out, a, p, spec, *model, lr);

    data::DataLoader loader = make_loader(a, choice, p.parts.train);
    if (a.find_lr) find_lr(a, *model, *opt, objective.loss, loader, out);
    train(a, *model, *opt, objective, loader, p.parts.validation, out);

    if (!a.save.empty()) save_model(a.save, *model, p.scaler, out);
    out << final_line(*model, objective, p) << "\n";
}

}  // namespace tapegrad::cli

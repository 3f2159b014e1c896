#include "train_command.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/charts/training.hpp>
#include <tapegrad/data/data_loader.hpp>
#include <tapegrad/data/readers.hpp>
#include <tapegrad/data/scaler.hpp>
#include <tapegrad/formats/npz.hpp>
#include <tapegrad/nn/metrics.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/callbacks.hpp>
#include <tapegrad/optim/fit.hpp>
#include <tapegrad/optim/optim.hpp>

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

}  // namespace

CLI::App* add_train_command(CLI::App& app, TrainArgs& a, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "train",
        "Train a model on a CSV file (a header row, numeric columns) and report validation "
        "numbers. Classification when the target holds at most 20 distinct whole numbers: two "
        "classes use binary cross-entropy on logits, more use cross-entropy; regression uses "
        "mean squared error on the standardised target.");
    cmd->add_option("--data", a.data, "CSV file with a header row")->required();
    cmd->add_option("--target", a.target, "name of the target column")->required();
    cmd->add_option("--task", a.task, "auto | classify | regress")->capture_default_str();
    cmd->add_option("--model", a.model, "linear, or mlp:H1,H2,... (hidden layer widths)")
        ->capture_default_str();
    cmd->add_option("--activation", a.activation, "relu | tanh (hidden layers)")
        ->capture_default_str();
    cmd->add_option("--optim", a.optim,
                    "sgd | momentum | nesterov | adam | adamw | rmsprop | adagrad | lbfgs")
        ->capture_default_str();
    cmd->add_option("--lr", a.lr,
                    "learning rate (default: sgd 0.1, momentum/nesterov 0.01, adagrad 0.05, "
                    "lbfgs 1, adam/adamw/rmsprop 0.001)");
    cmd->add_option("--batch-size", a.batch_size, "rows per mini-batch (1 = stochastic)")
        ->capture_default_str();
    cmd->add_option("--epochs", a.epochs, "passes over the training rows (lbfgs: its steps)")
        ->capture_default_str();
    cmd->add_option("--val-split", a.val_split,
                    "share of the rows held out for validation (stratified for classes)")
        ->capture_default_str();
    cmd->add_flag("--standardize,!--no-standardize", a.standardize,
                  "scale features (and a regression target) to mean 0, variance 1, fitted on "
                  "the training rows (default on)");
    cmd->add_option("--early-stopping", a.early_stopping,
                    "patience in epochs on the validation loss, best weights restored (0: off)")
        ->capture_default_str();
    cmd->add_option("--seed", a.seed, "seed of the split, the initial weights and the shuffling")
        ->capture_default_str();
    cmd->add_option("--save", a.save, "write the model's weights (and the scaler) to this .npz");
    cmd->add_option("--history", a.history, "write per-epoch losses and metrics to this CSV");
    cmd->add_option("--plot", a.plot, "write the loss curves to this SVG");
    cmd->add_flag("--find-lr", a.find_lr,
                  "run the learning-rate range test first and train with its suggestion (unless "
                  "--lr is given); with --plot, its curve goes to PLOT with .lr.svg");
    cmd->callback([&a, &exit_code] {
        run_train(a, std::cout);
        exit_code = 0;
    });
    return cmd;
}

void run_train(const TrainArgs& a, std::ostream& out) {
    if (a.batch_size == 0) throw ValueError("--batch-size must be at least 1");
    if (a.epochs < 1) throw ValueError("--epochs must be at least 1");
    if (!(a.val_split > 0.0 && a.val_split < 1.0)) {
        throw ValueError("--val-split must be between 0 and 1 (exclusive), got " +
                         std::to_string(a.val_split));
    }
    if (a.early_stopping < 0) throw ValueError("--early-stopping must be 0 (off) or more");
    const ModelSpec spec = parse_model_spec(a.model, a.activation);
    const double lr = a.lr.value_or(default_lr(a.optim));
    if (!(lr > 0.0) || !std::isfinite(lr)) throw ValueError("--lr must be positive");
    (void)make_optimizer(a.optim, {scalar(0.0).requires_grad_()}, lr);  // checks the name now

    const data::CsvDataset csv = data::read_csv(a.data, a.target);
    const Task task = decide_task(a.task, csv.data.y);
    data::Dataset all{csv.data.x, encode_targets(task, csv.data.y)};
    const std::size_t n_classes = task.classes.size();
    const bool binary = task.classify && n_classes == 2;
    if (binary || !task.classify) all.y = reshape(all.y, {all.y.numel(), 1});

    data::Split parts =
        data::split(all, {.validation = a.val_split, .seed = a.seed, .stratify = task.classify});
    data::StandardScaler scaler, target_scaler;
    if (a.standardize) {
        parts.train.x = scaler.fit_transform(parts.train.x);
        parts.validation.x = scaler.transform(parts.validation.x);
        if (!task.classify) {
            parts.train.y = target_scaler.fit_transform(parts.train.y);
            parts.validation.y = target_scaler.transform(parts.validation.y);
        }
    }
    const std::size_t features = all.x.shape()[1];
    const std::size_t outputs = binary ? 1 : (task.classify ? n_classes : 1);

    auto model = build_model(spec, features, outputs, a.seed);
    auto opt = make_optimizer(a.optim, model->parameters(), lr);

    optim::LossFn loss;
    std::vector<std::string> metrics;
    double threshold = 0.0;  // logits
    if (binary) {
        loss = [](const Tensor& o, const Tensor& y) { return nn::bce_with_logits(o, y); };
        metrics = {"accuracy"};
    } else if (task.classify) {
        loss = [](const Tensor& o, const Tensor& y) { return nn::cross_entropy(o, y); };
        metrics = {"accuracy"};
    } else {
        loss = [](const Tensor& o, const Tensor& y) { return nn::mse_loss(o, y); };
        metrics = {"r2"};
    }

    out << "tapegrad train: " << csv.data.size() << " rows, " << features << " features, "
        << (task.classify ? std::to_string(n_classes) + " classes" : std::string("regression"))
        << "; " << parts.train.size() << " train / " << parts.validation.size()
        << " validation rows; model " << describe(spec) << " (" << model->num_parameters()
        << " parameters); " << a.optim << " lr " << lr << "; seed " << a.seed << "\n";

    data::DataLoader loader(parts.train,
                            {.batch_size = a.batch_size, .shuffle = true, .seed = a.seed});
    if (a.find_lr) {
        if (a.optim == "lbfgs") throw ValueError("--find-lr does not apply to lbfgs");
        const auto found = optim::lr_find(*model, *opt, loss, loader);
        out << "lr finder: suggested learning rate " << found.suggested_lr << " (loss lowest at "
            << found.lrs[found.best_index] << ", divided by 10)\n";
        if (!a.plot.empty()) {
            std::string path = a.plot;
            if (path.size() > 4 && path.substr(path.size() - 4) == ".svg")
                path.resize(path.size() - 4);
            charts::plot_lr_finder(found, path + ".lr.svg");
        }
        if (!a.lr && std::isfinite(found.suggested_lr)) opt->set_lr(found.suggested_lr);
    }

    optim::History history({.csv_path = a.history});
    std::optional<charts::HistoryChart> chart;
    if (!a.plot.empty()) chart.emplace(charts::HistoryChartOptions{.path = a.plot});
    optim::ProgressBar progress(out);
    optim::EarlyStopping stop({.patience = a.early_stopping, .notes = nullptr});
    optim::DivergenceGuard guard;
    std::string stop_reason;
    if (a.optim == "lbfgs") {
        // Full batch, one closure-based step per epoch (each up to 20 L-BFGS iterations).
        auto& lbfgs = static_cast<optim::LBFGS&>(*opt);
        const data::Dataset& tr = parts.train;
        double best = INFINITY;
        int since = 0;
        StateDict best_state = model->state_dict();
        for (int epoch = 0; epoch < a.epochs; ++epoch) {
            const double l = lbfgs.step([&] {
                Tape tape;
                Tensor value = loss((*model)(tr.x), tr.y);
                lbfgs.zero_grad();
                tape.backward(value);
                return value.item();
            });
            const auto logs = optim::evaluate(*model, loss, parts.validation, metrics, threshold);
            out << "Epoch " << epoch + 1 << "/" << a.epochs << "  loss: " << fmt(l)
                << " - val_loss: " << fmt(logs.at("loss")) << "\n";
            if (!std::isfinite(l)) {
                stop_reason = "the loss became " + std::to_string(l) + " at epoch " +
                              std::to_string(epoch + 1) + "; try a smaller --lr";
                break;
            }
            if (logs.at("loss") < best) {
                best = logs.at("loss");
                best_state = model->state_dict();
                since = 0;
            } else if (a.early_stopping > 0 && ++since >= a.early_stopping) {
                stop_reason = "early stopping: val_loss did not improve for " +
                              std::to_string(a.early_stopping) + " epochs";
                break;
            }
        }
        model->load_state_dict(best_state);
    } else {
        std::vector<optim::Callback*> callbacks = {&guard, &progress, &history};
        if (chart) callbacks.push_back(&*chart);
        if (a.early_stopping > 0) callbacks.insert(callbacks.begin() + 1, &stop);
        const auto result = optim::fit(*model, *opt, loss, loader,
                                       {.epochs = a.epochs,
                                        .validation = &parts.validation,
                                        .metrics = metrics,
                                        .threshold = threshold,
                                        .callbacks = callbacks});
        stop_reason = result.stop_reason;
    }

    const auto train_logs = optim::evaluate(*model, loss, parts.train, metrics, threshold);
    const auto val_logs = optim::evaluate(*model, loss, parts.validation, metrics, threshold);
    if (!a.save.empty()) {
        StateDict state = model->state_dict();
        for (auto& [k, v] : scaler.fitted() ? scaler.state_dict() : StateDict{})
            state["scaler." + k] = v;
        formats::save_npz(a.save, state);
        out << "saved " << a.save << "\n";
    }
    out << "final: train_loss=" << fmt(train_logs.at("loss"))
        << " val_loss=" << fmt(val_logs.at("loss"));
    if (task.classify) {
        out << " val_accuracy=" << fmt(val_logs.at("accuracy"));
    } else {
        out << " val_r2=" << fmt(val_logs.at("r2"));
    }
    out << "\n";
}

}  // namespace tapegrad::cli

// fit and evaluate: the training loop of fit.hpp, and the numbers of its logs.
#include "tapegrad/optim/fit.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>

#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/autodiff/ops.hpp"
#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/nn/metrics.hpp"

namespace tapegrad::optim {

namespace {

const std::vector<std::string> kMetrics = {"accuracy", "precision", "recall", "f1",
                                           "mse",      "mae",       "r2"};

void check_metrics(const std::vector<std::string>& metrics, const char* who) {
    for (const auto& m : metrics) {
        if (std::find(kMetrics.begin(), kMetrics.end(), m) != kMetrics.end()) continue;
        std::string known;
        for (const auto& k : kMetrics) known += (known.empty() ? "" : ", ") + k;
        throw ValueError(std::string(who) + ": unknown metric '" + m + "' (known: " + known + ")");
    }
}

}  // namespace

double compute_metric(const std::string& name, const Tensor& out, const Tensor& y,
                      double threshold) {
    check_metrics({name}, "compute_metric");
    namespace m = nn::metrics;
    if (name == "accuracy") return m::accuracy(out, y, threshold);
    if (name == "precision") return m::precision(out, y, threshold);
    if (name == "recall") return m::recall(out, y, threshold);
    if (name == "f1") return m::f1_score(out, y, threshold);
    if (name == "mse") return m::mse(out, y);
    if (name == "mae") return m::mae(out, y);
    return m::r2_score(out, y);  // "r2": the list was checked
}

namespace {

// The rows of several batches as one tensor (outputs or targets of an epoch).
Tensor join(const std::vector<Tensor>& parts) {
    NoGrad no_grad;
    return parts.size() == 1 ? parts.front() : concat(parts, 0);
}

// Sums the loss weighted by rows and keeps what the metrics need.
struct Accumulator {
    bool keep = false;
    double loss_sum = 0;
    std::size_t rows = 0;
    std::vector<Tensor> outputs, targets;

    void add(double loss, std::size_t n, const Tensor& out, const Tensor& y) {
        loss_sum += loss * static_cast<double>(n);
        rows += n;
        if (keep) {
            outputs.push_back(out);
            targets.push_back(y);
        }
    }
    void into(Logs& logs, const std::string& prefix, const std::vector<std::string>& metrics,
              double threshold) const {
        logs[prefix + "loss"] =
            rows ? loss_sum / static_cast<double>(rows) : std::numeric_limits<double>::quiet_NaN();
        if (metrics.empty() || outputs.empty()) return;
        const Tensor out = join(outputs), y = join(targets);
        for (const auto& m : metrics) logs[prefix + m] = compute_metric(m, out, y, threshold);
    }
};

std::size_t rows_of(const Tensor& x) {
    return x.dim() == 0 ? 1 : x.shape()[0];
}

// Puts the model back in the mode it had, however the scope is left.
struct ModeGuard {
    nn::Module& model;
    bool training = model.is_training();
    ~ModeGuard() { model.train(training); }
};

void evaluate_into(Logs& logs, const std::string& prefix, nn::Module& model, const LossFn& loss,
                   const data::Dataset& data, const std::vector<std::string>& metrics,
                   double threshold, std::size_t batch_size) {
    ModeGuard mode{model};
    model.eval();
    NoGrad no_grad;
    Accumulator acc;
    acc.keep = !metrics.empty();
    if (data.size() <= batch_size) {  // one batch: no copy of the rows
        const Tensor out = model(data.x);
        acc.add(loss(out, data.y).item(), data.size(), out, data.y);
    } else {
        data::DataLoader batches(data, {.batch_size = batch_size, .shuffle = false});
        for (auto [x, y] : batches) {
            const Tensor out = model(x);
            acc.add(loss(out, y).item(), rows_of(x), out, y);
        }
    }
    acc.into(logs, prefix, metrics, threshold);
}

// One pass over a data set before training: a NaN or infinity in the data makes the loss NaN
// many steps later, where nothing says which row was at fault, so it is named here.
template <class T>
void check_finite_values(const xt::xarray<T>& a, const Shape& shape, const std::string& what) {
    const T* p = a.data();
    const std::size_t n = a.size();
    for (std::size_t i = 0; i < n; ++i) {
        if (std::isfinite(p[i])) continue;
        const std::size_t per_row = shape.empty() || shape[0] == 0 ? 1 : n / shape[0];
        throw ValueError(what + " has " +
                         (std::isnan(p[i]) ? "nan"
                          : p[i] > 0       ? "inf"
                                           : "-inf") +
                         " at row " + std::to_string(i / per_row) + ", column " +
                         std::to_string(i % per_row) +
                         " (counted from 0): training on it makes the loss nan; remove or "
                         "impute it first");
    }
}

void check_finite(const data::Dataset& data, const std::string& which) {
    for (const auto& [t, name] : {std::pair{&data.x, "x"}, std::pair{&data.y, "y"}}) {
        if (!t->defined()) continue;
        const std::string what = "fit: the " + which + " data's " + name;
        if (t->dtype() == f32)
            check_finite_values(t->value<float>(), t->shape(), what);
        else
            check_finite_values(t->value<double>(), t->shape(), what);
    }
}

// Ordering of the keys in a printed line: loss, training metrics, val_loss, validation
// metrics, lr, anything else.
int key_rank(const std::string& k) {
    if (k == "loss") return 0;
    if (k == "val_loss") return 2;
    if (k == "lr") return 4;
    if (k.rfind("val_", 0) == 0) return 3;
    return std::find(kMetrics.begin(), kMetrics.end(), k) != kMetrics.end() ? 1 : 5;
}

// ---- fit's parts -----------------------------------------------------------------------

// Everything fit refuses, checked before any callback runs (FitOptions' comments).
void check_fit_arguments(const Optimizer& optimizer, const data::DataLoader& train,
                         const FitOptions& options) {
    check_metrics(options.metrics, "fit");
    if (options.initial_epoch < 0 || options.epochs < options.initial_epoch) {
        throw ValueError("fit: need 0 <= initial_epoch <= epochs, got initial_epoch " +
                         std::to_string(options.initial_epoch) + " and epochs " +
                         std::to_string(options.epochs));
    }
    if (train.num_batches() == 0) {
        throw ValueError("fit: the training loader has no batches (" +
                         std::to_string(train.size()) + " rows, batch_size " +
                         std::to_string(train.options().batch_size) +
                         (train.options().drop_last ? ", drop_last)" : ")"));
    }
    if (options.validation) {
        if (options.validation->size() == 0)
            throw ValueError("fit: the validation set has no rows (pass nullptr for none)");
        if (options.validation_batch_size == 0)
            throw ValueError("fit: validation_batch_size must be at least 1, got 0");
    }
    check_finite(train.dataset(), "training");
    if (options.validation) check_finite(*options.validation, "validation");
    if (options.scheduler && &options.scheduler->optimizer() != &optimizer)
        throw ValueError("fit: the scheduler drives another optimizer than the one given");
    for (std::size_t i = 0; i < options.callbacks.size(); ++i)
        if (!options.callbacks[i])
            throw ValueError("fit: callback " + std::to_string(i) + " is a null pointer");
}

// The state at the start of a run, which may resume at initial_epoch (the loader too).
TrainState start_state(nn::Module& model, Optimizer& optimizer, data::DataLoader& train,
                       const FitOptions& options) {
    TrainState state{.model = model, .optimizer = optimizer, .loader = train};
    state.epochs = options.epochs;
    state.epoch = options.initial_epoch;
    state.initial_epoch = options.initial_epoch;
    state.scheduler = options.scheduler;
    state.plateau = options.plateau;
    // Every completed epoch ran num_batches steps (a checkpoint holds only complete epochs).
    state.global_step = static_cast<std::int64_t>(options.initial_epoch) *
                        static_cast<std::int64_t>(train.num_batches());
    if (options.initial_epoch > 0)
        train.set_epoch(static_cast<std::uint64_t>(options.initial_epoch));
    return state;
}

// The loss of one batch and, for the training metrics, the outputs it was measured on.
struct BatchResult {
    double loss = 0.0;
    Tensor output;  // detached; undefined unless asked for
};

// Tells on stderr which tensors the loss depends on that will not train, with their names in
// the model when they are there (given to no optimizer) or their shapes when they are not
// registered at all.
void warn_unregistered(const Tape& tape, const nn::Module& model, const Optimizer& optimizer) {
    const auto leaves = unregistered_leaves(tape, optimizer.parameters());
    if (leaves.empty()) return;
    const auto named = model.named_parameters();
    std::string list;
    for (const auto& t : leaves) {
        auto it = std::find_if(named.begin(), named.end(),
                               [&](const auto& p) { return p.second.impl() == t.impl(); });
        list +=
            (list.empty() ? "" : ", ") +
            (it != named.end() ? "'" + it->first + "'"
                               : std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape()));
    }
    std::cerr << "tapegrad: warning: fit: " << leaves.size()
              << " tensor(s) that require grad took part in the loss but are not among the "
                 "optimizer's parameters, so they will not train: "
              << list
              << ". A custom module must register its layers with register_module and its "
                 "tensors with register_parameter; freeze a tensor on purpose with "
                 "requires_grad_(false).\n";
}

}  // namespace

std::vector<Tensor> unregistered_leaves(const Tape& tape, const std::vector<Tensor>& params) {
    std::vector<Tensor> out;
    for (std::size_t s = 0; s < tape.num_slots(); ++s) {
        const Tensor t = tape.slot_tensor(static_cast<std::int32_t>(s));
        if (!t.defined() || !t.is_leaf() || !t.requires_grad()) continue;
        const auto same = [&](const Tensor& p) { return p.impl() == t.impl(); };
        if (std::none_of(params.begin(), params.end(), same) &&
            std::none_of(out.begin(), out.end(), same))
            out.push_back(t);
    }
    return out;
}

namespace {

// One optimizer step on the batch (x, y). Every optimizer gets a closure, as torch.optim's
// step(closure) allows: the default step(closure) calls it once and then step(), which is
// the usual record-backward-update of a first-order method, while L-BFGS and Newton call it
// as often as they need. So no optimizer has to say which kind it is, and both kinds see the
// same callbacks.
BatchResult step_on_batch(TrainState& state, const std::vector<Callback*>& callbacks,
                          const LossFn& loss, const Tensor& x, const Tensor& y, bool keep_output,
                          bool check_leaves) {
    nn::Module& model = state.model;
    Optimizer& optimizer = state.optimizer;
    BatchResult first, last;
    int evaluations = 0;
    const auto closure = [&] {
        BatchResult r;
        {
            Tape tape;
            const Tensor out = model(x);
            const Tensor l = loss(out, y);
            if (check_leaves && evaluations == 0) warn_unregistered(tape, model, optimizer);
            optimizer.zero_grad();
            tape.backward(l);
            state.batch_loss = l.item();
            for (auto* cb : callbacks) cb->on_after_backward(state);
            r.loss = state.batch_loss;
            if (keep_output) r.output = out.detach();
        }
        (evaluations++ == 0 ? first : last) = r;
        return r.loss;
    };
    const double value = optimizer.step(closure);
    // The batch's loss is the one step() returns, measured on the weights it started from;
    // the metrics take the outputs of that same evaluation: L-BFGS's first, Newton's last (it
    // evaluates the Hessian first), the first when the values cannot tell.
    const bool use_last = evaluations > 1 && !(first.loss == value) && last.loss == value;
    return {value, use_last ? last.output : first.output};
}

// The batches of one epoch, each between on_batch_begin and on_batch_end, until the loader is
// done or a callback stops training. Returns the epoch's training logs: "loss", the metrics
// and "lr".
Logs train_epoch(TrainState& state, const LossFn& loss, const FitOptions& options) {
    Accumulator acc;
    acc.keep = !options.metrics.empty();
    double epoch_lr = state.optimizer.lr();
    const std::size_t num_batches = state.loader.num_batches();
    std::size_t b = 0;
    for (auto it = state.loader.begin(); it != state.loader.end(); ++it, ++b) {
        state.batch = b;
        for (auto* cb : options.callbacks) cb->on_batch_begin(state);
        auto [x, y] = *it;
        state.model.train();
        if (b == 0) epoch_lr = state.optimizer.lr();  // after on_batch_begin may set it
        // The first batch of the run is checked for tensors that will not train.
        const bool first_batch = state.epoch == state.initial_epoch && b == 0;
        const BatchResult r =
            step_on_batch(state, options.callbacks, loss, x, y, acc.keep, first_batch);
        ++state.global_step;
        if (options.scheduler && options.schedule_every == ScheduleEvery::batch)
            options.scheduler->step();
        // Weighted by the whole batch's rows: under data-parallel training r.loss is the whole
        // batch's (on_after_backward summed it), so every process logs the same epoch loss.
        acc.add(r.loss, state.loader.global_batch_rows(b), r.output, y);
        state.batch_loss = r.loss;
        if (acc.keep) {
            state.batch_output = r.output;
            state.batch_target = y;
        }
        for (auto* cb : options.callbacks) cb->on_batch_end(state);
        if (state.stop_training) {
            state.partial_epoch = b + 1 < num_batches;
            break;
        }
    }
    Logs logs;
    acc.into(logs, "", options.metrics, options.threshold);
    logs["lr"] = epoch_lr;
    return logs;
}

// After an epoch's batches: the validation logs, the schedules, then on_epoch_end.
void end_epoch(TrainState& state, Logs& logs, const LossFn& loss, const FitOptions& options) {
    if (options.validation) {
        evaluate_into(logs, "val_", state.model, loss, *options.validation, options.metrics,
                      options.threshold, options.validation_batch_size);
    }
    if (options.scheduler && options.schedule_every == ScheduleEvery::epoch)
        options.scheduler->step();
    if (options.plateau)
        options.plateau->step(logs.count("val_loss") ? logs["val_loss"] : logs["loss"]);
    for (auto* cb : options.callbacks) cb->on_epoch_end(state, logs);
}

void run_epochs(TrainState& state, const LossFn& loss, const FitOptions& options,
                FitResult& result) {
    for (int epoch = options.initial_epoch; epoch < options.epochs && !state.stop_training;
         ++epoch) {
        state.epoch = epoch;
        state.batch = 0;
        state.partial_epoch = false;
        for (auto* cb : options.callbacks) cb->on_epoch_begin(state);
        Logs logs = train_epoch(state, loss, options);
        end_epoch(state, logs, loss, options);
        result.epochs.push_back(logs);
        if (options.verbose) {
            std::cout << "Epoch " << epoch + 1 << "/" << options.epochs << " - "
                      << format_logs(logs) << "\n";
        }
    }
}

// An exception is leaving fit: on_train_end still runs (EarlyStopping puts the weights back,
// History writes its files), and the original error is the one reported.
void end_after_failure(TrainState& state, const std::vector<Callback*>& callbacks) {
    state.failed = true;
    state.stop_training = true;
    for (auto* cb : callbacks) {
        try {
            cb->on_train_end(state);
        } catch (...) {  // the original error is the one to report
        }
    }
}

}  // namespace

std::string format_logs(const Logs& logs) {
    std::vector<std::pair<std::string, double>> items(logs.begin(), logs.end());
    std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
        return key_rank(a.first) < key_rank(b.first);
    });
    std::string out;
    char buf[64];
    for (const auto& [k, v] : items) {
        std::snprintf(buf, sizeof buf, "%.4g", v);
        // "nan" whatever its sign bit (printf shows -nan for the NaN of a diverged loss).
        out += (out.empty() ? "" : " - ") + k + ": " + (std::isnan(v) ? "nan" : buf);
    }
    return out;
}

Logs evaluate(nn::Module& model, const LossFn& loss, const data::Dataset& data,
              const std::vector<std::string>& metrics, double threshold, std::size_t batch_size) {
    check_metrics(metrics, "evaluate");
    if (batch_size == 0) throw ValueError("evaluate: batch_size must be at least 1, got 0");
    if (data.size() == 0) throw ValueError("evaluate: the data set has no rows");
    Logs logs;
    evaluate_into(logs, "", model, loss, data, metrics, threshold, batch_size);
    return logs;
}

FitResult fit(nn::Module& model, Optimizer& optimizer, const LossFn& loss, data::DataLoader& train,
              const FitOptions& options) {
    check_fit_arguments(optimizer, train, options);
    TrainState state = start_state(model, optimizer, train, options);
    ModeGuard mode{model};
    FitResult result;
    try {
        for (auto* cb : options.callbacks) cb->on_train_begin(state);
        run_epochs(state, loss, options, result);
    } catch (...) {
        end_after_failure(state, options.callbacks);
        throw;
    }
    for (auto* cb : options.callbacks) cb->on_train_end(state);
    result.stop_reason = state.stop_reason;
    if (options.verbose && !state.stop_reason.empty()) std::cout << state.stop_reason << "\n";
    return result;
}

}  // namespace tapegrad::optim

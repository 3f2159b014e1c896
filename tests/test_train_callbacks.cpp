// The callbacks shipped with fit: History's CSV, ProgressBar's two kinds of output,
// EarlyStopping's restore of the best weights however training ends, LRFinder's sweep and its
// exact restore, DivergenceGuard's catch of a NaN and of a blown-up loss, and Checkpoint's
// bit-identical resume.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <sstream>
#include <tapegrad/charts/training.hpp>
#include <tapegrad/data/readers.hpp>
#include <tapegrad/data/scaler.hpp>
#include <tapegrad/formats/npz.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/callbacks.hpp>
#include <tapegrad/optim/checkpoint.hpp>
#include <tapegrad/optim/sgd.hpp>

#include "check.hpp"
#include "files.hpp"
#include "training.hpp"

namespace formats = tapegrad::formats;
namespace charts = tapegrad::charts;
using namespace testing;

namespace {

// Stops training after the epoch with this 0-based index.
struct StopAfter : optim::Callback {
    int epoch;
    explicit StopAfter(int e) : epoch(e) {}
    void on_epoch_end(optim::TrainState& s, optim::Logs&) override {
        if (s.epoch == epoch) {
            s.stop_training = true;
            s.stop_reason = "stopped by another callback";
        }
    }
};

// Puts a scripted value under a log name (before EarlyStopping sees it) and records the
// weights every epoch ends with.
struct Scripted : optim::Callback {
    std::string name;
    std::vector<double> values;
    std::vector<tg::StateDict> weights;
    Scripted(std::string n, std::vector<double> v) : name(std::move(n)), values(std::move(v)) {}
    void on_epoch_end(optim::TrainState& s, optim::Logs& logs) override {
        logs[name] = values.at(static_cast<std::size_t>(s.epoch));
        weights.push_back(s.model.state_dict());
    }
};

// Records the weights each batch's loss is measured on (those before its step).
struct WeightsBeforeStep : optim::Callback {
    std::vector<tg::StateDict> weights;
    void on_batch_begin(optim::TrainState& s) override { weights.push_back(s.model.state_dict()); }
};

}  // namespace

// ---- History ---------------------------------------------------------------------------

TEST_CASE("History records every epoch and writes them as CSV at train end, HistoryChart as SVG") {
    TempDir dir("history");
    LogisticRun run;
    auto& [train, loader, model, opt] = run;
    const auto val = logistic_data(32, 2);
    optim::History history({.csv_path = dir.path / "h.csv"});
    charts::HistoryChart chart({.path = dir.path / "h.svg"});
    const auto r = optim::fit(model, opt, bce, loader,
                              {.epochs = 3,
                               .validation = &val,
                               .metrics = {"accuracy"},
                               .callbacks = {&history, &chart}});
    REQUIRE(history.logs() == r.epochs);
    REQUIRE(history.epochs() == std::vector<int>{0, 1, 2});
    REQUIRE(history.values("val_loss")[2] == r.epochs[2].at("val_loss"));

    const auto lines = lines_of(read_file(dir.path / "h.csv"));
    REQUIRE(lines.size() == 4);
    REQUIRE(lines[0] == "epoch,accuracy,loss,lr,val_accuracy,val_loss");
    for (std::size_t e = 0; e < 3; ++e) {
        std::string expected = std::to_string(e + 1);
        for (const char* k : {"accuracy", "loss", "lr", "val_accuracy", "val_loss"}) {
            char buf[64];
            std::snprintf(buf, sizeof buf, ",%.10g", r.epochs[e].at(k));
            expected += buf;
        }
        REQUIRE(lines[e + 1] == expected);
    }
    const std::string svg = read_file(dir.path / "h.svg");
    REQUIRE(svg.find("<svg") != std::string::npos);
    REQUIRE(svg.find("val_loss") != std::string::npos);
    for (const auto& e : fs::directory_iterator(dir.path))  // no temporary left behind
        REQUIRE(e.path().filename().string().find(".tmp") == std::string::npos);
}

TEST_CASE("History leaves a cell empty where an epoch lacks a log") {
    TempDir dir("history_cells");
    LogisticRun run(16, {.batch_size = 16});
    auto& [train, loader, model, opt] = run;
    optim::TrainState state{.model = model, .optimizer = opt, .loader = loader};
    optim::History history;
    history.on_train_begin(state);
    optim::Logs first{{"loss", 1.0}}, second{{"loss", 0.5}, {"val_loss", 1.0 / 3}};
    history.on_epoch_end(state, first);
    state.epoch = 1;
    history.on_epoch_end(state, second);
    history.save_csv(dir.path / "cells.csv");
    REQUIRE(read_file(dir.path / "cells.csv") == "epoch,loss,val_loss\n1,1,\n2,0.5,0.3333333333\n");
    REQUIRE(std::isnan(history.values("val_loss")[0]));
}

// ---- ProgressBar -----------------------------------------------------------------------

TEST_CASE("ProgressBar writes exactly one line per epoch when the output is not a terminal") {
    LogisticRun run;
    auto& [train, loader, model, opt] = run;
    const auto val = logistic_data(32, 2);
    std::ostringstream out;
    optim::ProgressBar bar(out);  // automatic: a string stream is no terminal
    optim::fit(model, opt, bce, loader, {.epochs = 3, .validation = &val, .callbacks = {&bar}});
    REQUIRE_FALSE(bar.terminal());
    const std::string text = out.str();
    REQUIRE(text.find('\r') == std::string::npos);
    const auto lines = lines_of(text);
    REQUIRE(lines.size() == 3);
    for (int e = 0; e < 3; ++e) {
        const auto& line = lines[static_cast<std::size_t>(e)];
        REQUIRE(line.rfind("Epoch " + std::to_string(e + 1) + "/3  ", 0) == 0);
        REQUIRE(line.find("  loss: ") != std::string::npos);
        REQUIRE(line.find(" - val_loss: ") != std::string::npos);
        REQUIRE(line.find(" - lr: 0.1") != std::string::npos);
    }
}

TEST_CASE(
    "ProgressBar redraws a live line with a carriage return on a terminal and ends it per epoch") {
    LogisticRun run;
    auto& [train, loader, model, opt] = run;
    std::ostringstream out;
    optim::ProgressBar bar(out, {.mode = optim::ProgressMode::terminal, .refresh_seconds = 0});
    StopAfter stop(2);
    optim::fit(model, opt, bce, loader, {.epochs = 5, .callbacks = {&bar, &stop}});
    REQUIRE(bar.terminal());
    const std::string text = out.str();
    // Per epoch: the empty bar, one redraw per batch, the final line.
    REQUIRE(std::count(text.begin(), text.end(), '\r') == 3 * 6);
    const auto lines = lines_of(text);
    REQUIRE(lines.size() == 4);  // three epochs and the stop reason
    for (int e = 0; e < 3; ++e) {
        const auto& line = lines[static_cast<std::size_t>(e)];
        REQUIRE(line.find("batch/s") != std::string::npos);
        REQUIRE(line.find("ETA ") != std::string::npos);
        const std::string last = line.substr(line.rfind('\r') + 1);
        REQUIRE(last.rfind("Epoch " + std::to_string(e + 1) + "/5  4/4  ", 0) == 0);
        REQUIRE(last.find("loss: ") != std::string::npos);
    }
    REQUIRE(lines[3] == "stopped by another callback");
}

// ---- EarlyStopping ---------------------------------------------------------------------

TEST_CASE("EarlyStopping stops after patience epochs and restores the best weights") {
    LogisticRun run;
    auto& [train, loader, model, opt] = run;
    Scripted script("val_loss", {5, 3, 4, 4.5, 6, 7, 8, 9});
    optim::EarlyStopping stop({.patience = 3});
    const auto r =
        optim::fit(model, opt, bce, loader, {.epochs = 8, .callbacks = {&script, &stop}});
    REQUIRE(r.epochs.size() == 5);
    REQUIRE(stop.stopped());
    REQUIRE(stop.best_epoch() == 1);
    REQUIRE(stop.best_value() == 3);
    REQUIRE(r.stop_reason ==
            "early stopping: val_loss did not improve by more than 0 for 3 epochs; best 3 at "
            "epoch 2 (weights restored)");
    REQUIRE_FALSE(same(script.weights[1], script.weights[4]));  // training did move them
    REQUIRE(same(model.state_dict(), script.weights[1]));
}

TEST_CASE("EarlyStopping restores the best weights however training ends") {
    LogisticRun run;
    auto& [train, loader, model, opt] = run;
    Scripted script("val_loss", {5, 3, 4, 4.5, 6});

    SECTION("all epochs ran") {
        optim::EarlyStopping stop({.patience = 10});
        const auto r =
            optim::fit(model, opt, bce, loader, {.epochs = 4, .callbacks = {&script, &stop}});
        REQUIRE(r.epochs.size() == 4);
        REQUIRE_FALSE(stop.stopped());
        REQUIRE(same(model.state_dict(), script.weights[1]));
    }
    SECTION("another callback stopped training") {
        optim::EarlyStopping stop({.patience = 10});
        StopAfter other(2);
        const auto r = optim::fit(model, opt, bce, loader,
                                  {.epochs = 5, .callbacks = {&script, &stop, &other}});
        REQUIRE(r.epochs.size() == 3);
        REQUIRE(r.stop_reason == "stopped by another callback");
        REQUIRE(same(model.state_dict(), script.weights[1]));
    }
    SECTION("an exception left fit") {
        optim::EarlyStopping stop({.patience = 10});
        int calls = 0;
        const optim::LossFn failing = [&](const tg::Tensor& out, const tg::Tensor& y) {
            if (++calls == 11) throw tg::ValueError("broken");  // in the third epoch
            return nn::bce_with_logits(out, y);
        };
        REQUIRE_THROWS_AS(
            optim::fit(model, opt, failing, loader, {.epochs = 5, .callbacks = {&script, &stop}}),
            tg::ValueError);
        REQUIRE(script.weights.size() == 2);
        REQUIRE(same(model.state_dict(), script.weights[1]));
    }
    SECTION("restore_best_weights off keeps the last weights") {
        optim::EarlyStopping stop({.patience = 2, .restore_best_weights = false});
        const auto r =
            optim::fit(model, opt, bce, loader, {.epochs = 5, .callbacks = {&script, &stop}});
        REQUIRE(r.epochs.size() == 4);
        REQUIRE(r.stop_reason.find("(weights of the last epoch kept)") != std::string::npos);
        REQUIRE(same(model.state_dict(), script.weights[3]));
    }
}

TEST_CASE("EarlyStopping's monitor: fallback to loss, max for accuracy, min_delta") {
    LogisticRun run;
    auto& [train, loader, model, opt] = run;

    SECTION("no validation: val_loss falls back to loss, with one note") {
        std::ostringstream notes;
        optim::EarlyStopping stop({.patience = 2, .notes = &notes});
        const auto r = optim::fit(model, opt, bce, loader, {.epochs = 4, .callbacks = {&stop}});
        REQUIRE(stop.monitor() == "loss");
        REQUIRE(lines_of(notes.str()).size() == 1);
        REQUIRE(notes.str().find("no val_loss") != std::string::npos);
        REQUIRE(stop.best_value() ==
                r.epochs[static_cast<std::size_t>(stop.best_epoch())].at("loss"));
    }
    SECTION("a missing log names itself and the logs there are") {
        optim::EarlyStopping stop({.monitor = "val_accuracy"});
        REQUIRE_THROWS_WITH(
            optim::fit(model, opt, bce, loader, {.epochs = 2, .callbacks = {&stop}}),
            Catch::Matchers::Contains("'val_accuracy'") && Catch::Matchers::Contains("loss, lr"));
    }
    SECTION("accuracy is maximised") {
        Scripted script("val_accuracy", {0.5, 0.9, 0.8, 0.7, 0.95});
        optim::EarlyStopping stop({.monitor = "val_accuracy", .patience = 2});
        const auto r =
            optim::fit(model, opt, bce, loader, {.epochs = 5, .callbacks = {&script, &stop}});
        REQUIRE(r.epochs.size() == 4);
        REQUIRE(stop.best_epoch() == 1);
        REQUIRE(same(model.state_dict(), script.weights[1]));
    }
    SECTION("an improvement must exceed min_delta") {
        Scripted script("val_loss", {1.0, 0.95, 0.92, 0.91, 0.5});
        optim::EarlyStopping stop({.patience = 3, .min_delta = 0.1});
        const auto r =
            optim::fit(model, opt, bce, loader, {.epochs = 5, .callbacks = {&script, &stop}});
        REQUIRE(r.epochs.size() == 4);
        REQUIRE(stop.best_epoch() == 0);
        REQUIRE(r.stop_reason ==
                "early stopping: val_loss did not improve by more than 0.1 for 3 epochs; best 1 "
                "at epoch 1 (weights restored)");
    }
}

// ---- LRFinder --------------------------------------------------------------------------

TEST_CASE("LRFinder sweeps the lr exponentially and smooths the loss as fastai") {
    const auto train = linear_data(96, 3);
    data::DataLoader loader(train, {.batch_size = 32, .seed = 2});  // 3 batches per epoch
    nn::Linear model(3, 1, {.seed = 4, .dtype = tg::f64});
    optim::SGD opt(model.parameters(), {.lr = 0.01});
    const optim::LRFinderOptions o{.start_lr = 1e-5, .end_lr = 1e-2, .num_steps = 20};
    const auto r = optim::lr_find(model, opt, mse, loader, o);  // spans 7 epochs
    REQUIRE_FALSE(r.diverged);
    REQUIRE(r.lrs.size() == 20);
    for (std::size_t k = 0; k < 20; ++k)
        REQUIRE(r.lrs[k] == Approx(1e-5 * std::pow(1e3, k / 19.0)).epsilon(1e-12));
    REQUIRE(r.lrs.back() == Approx(1e-2).epsilon(1e-12));
    // avg_k = 0.98 avg_{k-1} + 0.02 loss_k, smoothed_k = avg_k / (1 - 0.98^(k+1)).
    double avg = 0;
    for (std::size_t k = 0; k < 20; ++k) {
        avg = 0.98 * avg + 0.02 * r.losses[k];
        REQUIRE(r.smoothed[k] == Approx(avg / (1 - std::pow(0.98, k + 1.0))).epsilon(1e-12));
    }
    REQUIRE(r.smoothed[0] == Approx(r.losses[0]).epsilon(1e-14));
    // The suggestion: the lr at the smallest smoothed loss after the first tenth of the steps
    // (2 of 20), divided by 10.
    const auto best =
        std::min_element(r.smoothed.begin() + 2, r.smoothed.end()) - r.smoothed.begin();
    REQUIRE(r.best_index == static_cast<std::size_t>(best));
    REQUIRE(r.suggested_lr == r.lrs[r.best_index] / 10);

    REQUIRE_THROWS_AS(optim::LRFinder({.start_lr = 1, .end_lr = 0.5}), tg::ValueError);
    REQUIRE_THROWS_AS(optim::LRFinder({.num_steps = 1}), tg::ValueError);
}

TEST_CASE("LRFinder leaves weights, optimizer state, lr and loader exactly as they were") {
    const auto train = logistic_data(64, 1);
    for (const bool adam : {false, true}) {
        INFO((adam ? "Adam" : "SGD with momentum"));
        auto make_opt = [&](nn::Module& m) -> std::unique_ptr<optim::Optimizer> {
            if (adam)
                return std::make_unique<optim::Adam>(m.parameters(),
                                                     optim::AdamOptions{.lr = 0.05});
            return std::make_unique<optim::SGD>(m.parameters(),
                                                optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
        };
        // Two identical runs; the first looks for an lr between its epochs.
        auto model_a = logistic_model(), model_b = logistic_model();
        auto opt_a = make_opt(model_a), opt_b = make_opt(model_b);
        data::DataLoader loader_a(train, {.batch_size = 16, .seed = 8});
        data::DataLoader loader_b(train, {.batch_size = 16, .seed = 8});
        optim::fit(model_a, *opt_a, bce, loader_a, {.epochs = 1});
        optim::fit(model_b, *opt_b, bce, loader_b, {.epochs = 1});

        const auto weights = model_a.state_dict();
        const auto state = opt_a->state_dict();
        tg::default_generator().seed(77);
        const double draw = tg::Generator(tg::default_generator()).uniform();
        const auto r = optim::lr_find(model_a, *opt_a, bce, loader_a, {.num_steps = 30});
        REQUIRE(r.lrs.size() >= 2);
        REQUIRE(same(model_a.state_dict(), weights));
        REQUIRE(same(opt_a->state_dict(), state));
        REQUIRE(opt_a->lr() == opt_b->lr());
        REQUIRE(loader_a.epoch() == 1);
        REQUIRE(tg::default_generator().uniform() == draw);

        optim::fit(model_a, *opt_a, bce, loader_a, {.epochs = 2});
        optim::fit(model_b, *opt_b, bce, loader_b, {.epochs = 2});
        REQUIRE(same(model_a.state_dict(), model_b.state_dict()));
        REQUIRE(same(opt_a->state_dict(), opt_b->state_dict()));
    }
}

namespace {

// The largest eigenvalue of the Hessian of mse_loss for y ≈ x·w + b: (2/N) [x 1]ᵀ[x 1], by
// power iteration (it is symmetric positive definite).
double hessian_top_eigenvalue(const tg::Tensor& x) {
    const auto& xv = x.value<double>();
    const std::size_t n = xv.shape()[0], d = xv.shape()[1] + 1;
    std::vector<double> h(d * d, 0.0);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t a = 0; a < d; ++a)
            for (std::size_t b = 0; b < d; ++b)
                h[a * d + b] +=
                    2.0 / n * (a + 1 < d ? xv(i, a) : 1.0) * (b + 1 < d ? xv(i, b) : 1.0);
    std::vector<double> v(d, 1.0), w(d);
    double lambda = 0;
    for (int it = 0; it < 500; ++it) {
        double norm = 0;
        for (std::size_t a = 0; a < d; ++a) {
            w[a] = 0;
            for (std::size_t b = 0; b < d; ++b) w[a] += h[a * d + b] * v[b];
            norm += w[a] * w[a];
        }
        norm = std::sqrt(norm);
        for (std::size_t a = 0; a < d; ++a) v[a] = w[a] / norm;
        lambda = norm;
    }
    return lambda;
}

}  // namespace

TEST_CASE("LRFinder's suggestion on a convex problem is near a rate that works") {
    const auto train = linear_data(128, 5);
    data::DataLoader loader(train, {.batch_size = 128, .shuffle = false});  // full batch
    nn::Linear model(3, 1, {.seed = 6, .dtype = tg::f64});
    optim::SGD opt(model.parameters(), {.lr = 0.01});
    const auto r = optim::lr_find(model, opt, mse, loader);
    INFO("suggested " << r.suggested_lr << " after " << r.lrs.size() << " steps");
    REQUIRE(std::isfinite(r.suggested_lr));
    REQUIRE(r.suggested_lr >= 1e-7);
    REQUIRE(r.suggested_lr <= 10);
    REQUIRE(r.diverged);  // lr up to 10 is far beyond stability here

    // Full-batch gradient descent on a quadratic converges for lr < 2 / lambda_max and is
    // fastest near 1 / lambda_max: the suggestion is within a factor 10 of that.
    const double works = 1.0 / hessian_top_eigenvalue(train.x);
    INFO("1 / lambda_max = " << works);
    REQUIRE(r.suggested_lr > works / 10);
    REQUIRE(r.suggested_lr < works * 10);
    // And it trains: 50 steps at the suggestion cut the loss by more than 100.
    const double before = optim::evaluate(model, mse, train).at("loss");
    optim::SGD at_suggestion(model.parameters(), {.lr = r.suggested_lr});
    optim::fit(model, at_suggestion, mse, loader, {.epochs = 50});
    REQUIRE(optim::evaluate(model, mse, train).at("loss") < before / 100);
}

TEST_CASE("LRFinder gives no suggestion when the loss never falls, not its first rate") {
    // One epoch of single rows: the first row's loss is 0.25, every other row's 1, whatever
    // the weights. The smoothed loss is lowest at the first step, an average of one batch: the
    // minimum is looked for after the first tenth, and its rate / 10 is below the sweep.
    auto train = linear_data(100, 3);
    xt::xarray<double> y = xt::ones<double>({100, 1});
    y(0, 0) = 0.5;
    train.y = tg::Tensor(y);
    data::DataLoader loader(train, {.batch_size = 1, .shuffle = false});
    nn::Linear model(3, 1, {.seed = 4, .dtype = tg::f64});
    optim::SGD opt(model.parameters(), {.lr = 0.01});
    const auto no_fall = [](const tg::Tensor& out, const tg::Tensor& target) {
        return nn::mse_loss(out * 0.0, target);
    };
    const auto r = optim::lr_find(model, opt, no_fall, loader);
    REQUIRE(r.lrs.size() == 100);
    REQUIRE(r.smoothed.front() == 0.25);
    REQUIRE_FALSE(r.diverged);
    REQUIRE(r.best_index == 10);
    REQUIRE(std::isnan(r.suggested_lr));
}

TEST_CASE("LRFinder writes its curve as CSV and SVG") {
    TempDir dir("lr_finder");
    const auto train = linear_data(64, 3);
    data::DataLoader loader(train, {.batch_size = 16, .seed = 2});
    nn::Linear model(3, 1, {.seed = 4, .dtype = tg::f64});
    optim::SGD opt(model.parameters(), {.lr = 0.01});
    optim::LRFinder finder({.num_steps = 12});
    optim::fit(model, opt, mse, loader, {.epochs = 3, .callbacks = {&finder}});
    REQUIRE(finder.lrs().size() == 12);
    finder.save_csv(dir.path / "lr.csv");
    charts::plot_lr_finder(finder.result(), dir.path / "lr.svg");
    const auto lines = lines_of(read_file(dir.path / "lr.csv"));
    REQUIRE(lines.size() == 13);
    REQUIRE(lines[0] == "step,lr,loss,smoothed_loss");
    REQUIRE(lines[1].rfind("1,1e-07,", 0) == 0);
    REQUIRE(read_file(dir.path / "lr.svg").find("<svg") != std::string::npos);
}

// ---- DivergenceGuard -------------------------------------------------------------------

TEST_CASE("DivergenceGuard catches a NaN loss and restores the last good weights") {
    int calls = 0;
    const optim::LossFn nan_at_7 = [&](const tg::Tensor& out, const tg::Tensor& y) {
        tg::Tensor l = nn::bce_with_logits(out, y);
        return ++calls == 7 ? l + std::numeric_limits<double>::quiet_NaN() : l;
    };
    LogisticRun run;  // 4 batches: step 7 is epoch 2, batch 3
    auto& [train, loader, model, opt] = run;
    WeightsBeforeStep before;
    optim::DivergenceGuard guard;
    const auto r =
        optim::fit(model, opt, nan_at_7, loader, {.epochs = 5, .callbacks = {&before, &guard}});
    REQUIRE(guard.diverged());
    REQUIRE(guard.diverged_step() == 7);
    REQUIRE(r.stop_reason ==
            "the loss became nan at epoch 2, step 7 (batch 3); weights restored to the last good "
            "step; try a smaller learning rate (now 0.1)");
    REQUIRE(r.epochs.size() == 2);
    REQUIRE(std::isnan(r.epochs[1].at("loss")));
    // Step 6's loss was the last good one, measured on the weights from before step 6.
    REQUIRE(before.weights.size() == 7);
    REQUIRE(same(model.state_dict(), before.weights[5]));
    for (const auto& p : model.parameters()) REQUIRE(xt::all(xt::isfinite(p.value<double>())));
}

namespace {

// f(w) = (w - 3)^2 whatever the batch, for a testing::OneWeight: the one-weight quadratic.
const optim::LossFn quadratic_loss = [](const tg::Tensor& w, const tg::Tensor&) {
    return tg::square(w - 3.0);
};

}  // namespace

TEST_CASE("DivergenceGuard catches a blown-up loss (lr = 100 on a quadratic)") {
    // w_{k+1} - 3 = (1 - 2 lr)(w_k - 3) = -199 (w_k - 3): the loss grows 39601-fold per step.
    data::DataLoader loader(testing::eight_zero_rows(), {.batch_size = 1, .shuffle = false});
    testing::OneWeight model(10.0);
    optim::SGD opt(model.parameters(), {.lr = 100});
    WeightsBeforeStep before;

    SECTION("from the first steps") {
        optim::DivergenceGuard guard;
        const auto r = optim::fit(model, opt, quadratic_loss, loader,
                                  {.epochs = 2, .callbacks = {&before, &guard}});
        // Step 1: loss 49 at w = 10; step 2: w = 10 - 100 * 14 = -1390, loss 1393^2.
        REQUIRE(
            r.stop_reason ==
            "the loss rose to 1.94e+06, over 100 x the best smoothed loss 49, at epoch 1, step 2 "
            "(batch "
            "2); weights restored to the last good step; try a smaller learning rate (now 100)");
        REQUIRE(model.w.item() == 10.0);
        REQUIRE(guard.best_loss() == 49.0);
    }
    SECTION("after a warm-up of 3 steps") {
        optim::DivergenceGuard guard({.warmup_steps = 3});
        const auto r = optim::fit(model, opt, quadratic_loss, loader,
                                  {.epochs = 2, .callbacks = {&before, &guard}});
        REQUIRE(guard.diverged_step() == 4);
        REQUIRE(r.stop_reason.find("at epoch 1, step 4 (batch 4)") != std::string::npos);
        // The warm-up's losses counted as good: back to the weights step 3 was measured on.
        REQUIRE(same(model.state_dict(), before.weights[2]));
    }
    SECTION("a stable rate is left alone") {
        optim::SGD slow(model.parameters(), {.lr = 0.4});
        optim::DivergenceGuard guard;
        const auto r =
            optim::fit(model, slow, quadratic_loss, loader, {.epochs = 2, .callbacks = {&guard}});
        REQUIRE_FALSE(guard.diverged());
        REQUIRE(r.stop_reason.empty());
        REQUIRE(std::abs(model.w.item() - 3.0) < 1e-3);
    }
}

TEST_CASE("DivergenceGuard leaves mini-batch noise alone (logistic regression, batches of 32)") {
    // On breast_cancer.csv single batches score from about 0.003 to 0.7 while training goes
    // well; against the best single batch that looked like a 100-fold blow-up.
    const auto csv = data::read_csv(testing::examples_data() / "breast_cancer.csv", "target");
    data::StandardScaler scaler;
    const data::Dataset data{scaler.fit_transform(csv.data.x),
                             tg::reshape(csv.data.y, {csv.data.size(), 1})};
    data::DataLoader loader(data, {.batch_size = 32, .seed = 0});
    tg::manual_seed(0);
    nn::Sequential model{nn::Linear(30, 1)};
    optim::Adam opt(model.parameters(), {.lr = 1e-3});
    optim::DivergenceGuard guard;
    const auto r = optim::fit(
        model, opt,
        [](const tg::Tensor& o, const tg::Tensor& y) { return nn::bce_with_logits(o, y); }, loader,
        {.epochs = 150, .callbacks = {&guard}});
    INFO(r.stop_reason);
    CHECK_FALSE(guard.diverged());
    CHECK(r.epochs.size() == 150);
    CHECK(r.epochs.back().at("loss") < 0.1);
}

// ---- Checkpoint ------------------------------------------------------------------------

namespace {

nn::Sequential mlp(std::uint64_t seed) {
    return nn::Sequential{nn::Linear(2, 8, {.seed = seed, .dtype = tg::f64}), nn::Tanh(),
                          nn::Linear(8, 1, {.seed = seed + 1, .dtype = tg::f64})};
}

// Everything a training run is made of, built fresh.
struct Run {
    nn::Sequential model;
    std::unique_ptr<optim::Optimizer> opt;
    std::unique_ptr<optim::LRScheduler> sched;
    data::DataLoader loader;
    Run(bool adam, std::uint64_t init_seed, const data::Dataset& train)
        : model(mlp(init_seed)), loader(train, {.batch_size = 16, .shuffle = true, .seed = 5}) {
        if (adam) {
            opt = std::make_unique<optim::Adam>(model.parameters(), optim::AdamOptions{.lr = 0.02});
            sched = std::make_unique<optim::CosineAnnealingLR>(
                *opt, optim::CosineAnnealingLROptions{.T_max = 6});
        } else {
            opt = std::make_unique<optim::SGD>(model.parameters(),
                                               optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
            sched = std::make_unique<optim::StepLR>(
                *opt, optim::StepLROptions{.step_size = 2, .gamma = 0.5});
        }
    }
};

}  // namespace

TEST_CASE("Checkpoint and resume: 3 + 3 epochs give the weights of 6, bit for bit") {
    TempDir dir("checkpoint_resume");
    const auto train = logistic_data(100, 1), val = logistic_data(40, 2);
    for (const bool adam : {false, true}) {
        INFO((adam ? "Adam + CosineAnnealingLR" : "SGD momentum + StepLR"));
        const fs::path path = dir.path / (adam ? "adam.npz" : "sgd.npz");

        Run straight(adam, 1, train);
        const auto all =
            optim::fit(straight.model, *straight.opt, bce, straight.loader,
                       {.epochs = 6, .validation = &val, .scheduler = straight.sched.get()});

        Run first(adam, 1, train);
        optim::Checkpoint save({.path = path, .every = 3});
        optim::fit(first.model, *first.opt, bce, first.loader,
                   {.epochs = 3,
                    .validation = &val,
                    .scheduler = first.sched.get(),
                    .callbacks = {&save}});
        REQUIRE(save.saves() == 1);
        REQUIRE(save.saved_epochs() == 3);
        const auto file = formats::load_npz(path);
        REQUIRE(file.at("training/epoch").item() == 3);
        REQUIRE(file.at("training/loader_epoch").item() == 3);
        REQUIRE(file.at("training/global_step").item() == 3 * 7);
        REQUIRE(file.count("scheduler/last_epoch") == 1);

        Run resumed(adam, 99, train);  // other initial weights: the file must replace them
        REQUIRE_FALSE(same(resumed.model.state_dict(), first.model.state_dict()));
        const int start = optim::resume(path, resumed.model, *resumed.opt, resumed.sched.get());
        REQUIRE(start == 3);
        const auto rest = optim::fit(resumed.model, *resumed.opt, bce, resumed.loader,
                                     {.epochs = 6,
                                      .validation = &val,
                                      .scheduler = resumed.sched.get(),
                                      .initial_epoch = start});

        REQUIRE(same(resumed.model.state_dict(), straight.model.state_dict()));
        REQUIRE(same(resumed.opt->state_dict(), straight.opt->state_dict()));
        REQUIRE(resumed.sched->last_epoch() == straight.sched->last_epoch());
        REQUIRE(rest.epochs.size() == 3);
        for (std::size_t e = 0; e < 3; ++e) REQUIRE(rest.epochs[e] == all.epochs[e + 3]);
    }
}

TEST_CASE("resume refuses a checkpoint that does not match, changing nothing") {
    TempDir dir("checkpoint_mismatch");
    const auto train = logistic_data(48, 1);
    Run run(false, 1, train);
    optim::Checkpoint save({.path = dir.path / "c.npz"});
    optim::fit(run.model, *run.opt, bce, run.loader,
               {.epochs = 1, .scheduler = run.sched.get(), .callbacks = {&save}});

    Run other(false, 7, train);
    const auto weights = other.model.state_dict();
    REQUIRE_THROWS_WITH(optim::resume(dir.path / "c.npz", other.model, *other.opt),
                        Catch::Matchers::Contains("pass the LR scheduler"));
    REQUIRE(same(other.model.state_dict(), weights));

    // A model of another shape: nothing is loaded, not even the optimizer.
    nn::Sequential wider{nn::Linear(2, 9, {.seed = 1, .dtype = tg::f64}), nn::Tanh(),
                         nn::Linear(9, 1, {.seed = 2, .dtype = tg::f64})};
    optim::SGD wider_opt(wider.parameters(), {.lr = 0.3});
    optim::StepLR wider_sched(wider_opt, {.step_size = 2, .gamma = 0.5});
    const auto wider_weights = wider.state_dict();
    REQUIRE_THROWS_AS(optim::resume(dir.path / "c.npz", wider, wider_opt, &wider_sched),
                      tg::ValueError);
    REQUIRE(same(wider.state_dict(), wider_weights));
    REQUIRE(wider_opt.lr() == 0.3);

    // A plain checkpoint (model + optimizer) is not a training checkpoint.
    optim::save_checkpoint(dir.path / "plain.npz", run.model, *run.opt);
    REQUIRE_THROWS_WITH(optim::resume(dir.path / "plain.npz", other.model, *other.opt),
                        Catch::Matchers::Contains("not a training checkpoint"));
}

TEST_CASE("Checkpoint saves every N epochs and at the end, never a partial epoch") {
    TempDir dir("checkpoint_every");
    const auto train = logistic_data(64, 1);  // 4 batches of 16
    SECTION("every 2 of 5 epochs, and the 5th at the end") {
        Run run(false, 1, train);
        optim::Checkpoint save({.path = dir.path / "c.npz", .every = 2});
        optim::fit(run.model, *run.opt, bce, run.loader,
                   {.epochs = 5, .scheduler = run.sched.get(), .callbacks = {&save}});
        REQUIRE(save.saves() == 3);
        REQUIRE(save.saved_epochs() == 5);
        REQUIRE(formats::load_npz(dir.path / "c.npz").at("training/epoch").item() == 5);
    }
    SECTION("a run stopped mid-epoch keeps the last complete epoch") {
        struct StopAtStep : optim::Callback {
            void on_batch_end(optim::TrainState& s) override {
                if (s.global_step == 6) s.stop_training = true;
            }
        } stop;
        Run run(false, 1, train);
        optim::Checkpoint save({.path = dir.path / "c.npz"});
        optim::fit(run.model, *run.opt, bce, run.loader,
                   {.epochs = 5, .scheduler = run.sched.get(), .callbacks = {&stop, &save}});
        REQUIRE(save.saves() == 1);
        REQUIRE(save.saved_epochs() == 1);
        REQUIRE(formats::load_npz(dir.path / "c.npz").at("training/epoch").item() == 1);
    }
}

TEST_CASE("Checkpoint carries ReduceLROnPlateau's state to the resumed run") {
    TempDir dir("checkpoint_plateau");
    const auto train = logistic_data(64, 1), val = logistic_data(32, 2);
    const optim::ReduceLROnPlateauOptions po{.factor = 0.5, .patience = 1};
    Run run(false, 1, train);
    optim::ReduceLROnPlateau plateau(*run.opt, po);
    optim::Checkpoint save({.path = dir.path / "p.npz"});
    optim::fit(run.model, *run.opt, bce, run.loader,
               {.epochs = 3, .validation = &val, .plateau = &plateau, .callbacks = {&save}});

    Run resumed(false, 3, train);
    optim::ReduceLROnPlateau fresh(*resumed.opt, po);
    REQUIRE_THROWS_WITH(optim::resume(dir.path / "p.npz", resumed.model, *resumed.opt),
                        Catch::Matchers::Contains("pass the ReduceLROnPlateau"));
    REQUIRE(optim::resume(dir.path / "p.npz", resumed.model, *resumed.opt, nullptr, &fresh) == 3);
    REQUIRE(fresh.best() == plateau.best());
    REQUIRE(fresh.num_bad_epochs() == plateau.num_bad_epochs());
    REQUIRE(fresh.last_epoch() == plateau.last_epoch());
    REQUIRE(resumed.opt->lr() == run.opt->lr());
}

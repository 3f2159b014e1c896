// The training loop: fit lowers the loss, its logs hold the right keys and numbers (equal to
// nn::metrics on the same data), schedules step at the right times, callbacks see every hook
// and can stop training, errors leave fit unchanged.
#include <cmath>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/metrics.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/callbacks.hpp>
#include <tapegrad/optim/fit.hpp>
#include <tapegrad/optim/lbfgs.hpp>
#include <tapegrad/optim/newton.hpp>
#include <tapegrad/optim/sgd.hpp>

#include "check.hpp"
#include "training.hpp"

using namespace testing;

namespace {

std::set<std::string> keys(const optim::Logs& logs) {
    std::set<std::string> k;
    for (const auto& [name, v] : logs) k.insert(name);
    return k;
}

// The outputs of a model on a data set, as evaluation sees them.
tg::Tensor predict(nn::Module& model, const tg::Tensor& x) {
    tg::NoGrad no_grad;
    model.eval();
    tg::Tensor out = model(x);
    model.train();
    return out;
}

}  // namespace

TEST_CASE("fit lowers the loss of a logistic regression and logs the expected keys") {
    const auto train = logistic_data(200, 1), val = logistic_data(100, 2);
    auto model = logistic_model();
    optim::SGD opt(model.parameters(), {.lr = 0.5});
    data::DataLoader loader(train, {.batch_size = 32, .seed = 3});
    const double before = optim::evaluate(model, bce, val).at("loss");

    const auto r = optim::fit(model, opt, bce, loader,
                              {.epochs = 15, .validation = &val, .metrics = {"accuracy", "f1"}});
    REQUIRE(r.epochs.size() == 15);
    REQUIRE(r.stop_reason.empty());
    for (const auto& logs : r.epochs)
        REQUIRE(keys(logs) == std::set<std::string>{"accuracy", "f1", "loss", "lr", "val_accuracy",
                                                    "val_f1", "val_loss"});
    INFO("val_loss before " << before << ", after " << r.epochs.back().at("val_loss"));
    REQUIRE(r.epochs.back().at("val_loss") < 0.6 * before);
    REQUIRE(r.epochs.back().at("loss") < r.epochs.front().at("loss"));
    REQUIRE(r.epochs.back().at("val_accuracy") > 0.85);
    REQUIRE(r.epochs.back().at("lr") == 0.5);
    REQUIRE(model.is_training());  // the mode it had before fit
}

TEST_CASE("fit's validation numbers equal nn::metrics and the loss on the same data") {
    const auto train = logistic_data(200, 1), val = logistic_data(90, 2);
    auto model = logistic_model();
    optim::SGD opt(model.parameters(), {.lr = 0.3, .momentum = 0.5});
    data::DataLoader loader(train, {.batch_size = 25, .seed = 4});
    const std::vector<std::string> metrics = {"accuracy", "precision", "recall", "f1"};
    const auto r =
        optim::fit(model, opt, bce, loader, {.epochs = 3, .validation = &val, .metrics = metrics});
    const auto& logs = r.epochs.back();

    // Nothing changes the weights after the last validation: recompute it by hand.
    const tg::Tensor out = predict(model, val.x);
    REQUIRE(logs.at("val_loss") == nn::bce_with_logits(out, val.y).item());
    REQUIRE(logs.at("val_accuracy") == nn::metrics::accuracy(out, val.y, 0.0));
    REQUIRE(logs.at("val_precision") == nn::metrics::precision(out, val.y, 0.0));
    REQUIRE(logs.at("val_recall") == nn::metrics::recall(out, val.y, 0.0));
    REQUIRE(logs.at("val_f1") == nn::metrics::f1_score(out, val.y, 0.0));

    // In batches (the last one short) the loss is the row-weighted mean, the metrics the same.
    const auto batched = optim::evaluate(model, bce, val, metrics, 0.0, 7);
    REQUIRE(batched.at("loss") == Approx(logs.at("val_loss")).epsilon(1e-12));
    for (const auto& m : metrics) REQUIRE(batched.at(m) == logs.at("val_" + m));
}

TEST_CASE("fit's training loss is weighted by batch rows and its metrics use every row") {
    // With lr 0 the weights never move, so the epoch's numbers are those of the whole set.
    const auto train = logistic_data(203, 5);  // batches of 32: the last has 11 rows
    auto model = logistic_model();
    optim::SGD opt(model.parameters(), {.lr = 0.0});
    data::DataLoader loader(train, {.batch_size = 32, .seed = 1});
    const auto r = optim::fit(model, opt, bce, loader,
                              {.epochs = 2, .metrics = {"accuracy", "precision", "recall"}});
    const tg::Tensor out = predict(model, train.x);
    for (const auto& logs : r.epochs) {
        REQUIRE(logs.at("loss") == Approx(nn::bce_with_logits(out, train.y).item()).epsilon(1e-12));
        REQUIRE(logs.at("accuracy") == nn::metrics::accuracy(out, train.y, 0.0));
        REQUIRE(logs.at("precision") == nn::metrics::precision(out, train.y, 0.0));
        REQUIRE(logs.at("recall") == nn::metrics::recall(out, train.y, 0.0));
    }
    // A plain mean of the batch means would weigh the 11-row batch like the others.
    REQUIRE(loader.num_batches() == 7);
}

TEST_CASE("fit computes regression metrics on training and validation data") {
    const auto train = regression_data(150, 7), val = regression_data(60, 8);
    nn::Linear model(3, 1, {.seed = 1, .dtype = tg::f64});
    optim::SGD opt(model.parameters(), {.lr = 0.0});
    data::DataLoader loader(train, {.batch_size = 40, .seed = 2});
    const auto r = optim::fit(model, opt, mse, loader,
                              {.epochs = 1, .validation = &val, .metrics = {"mse", "mae", "r2"}});
    const auto& logs = r.epochs.back();
    const tg::Tensor out_train = predict(model, train.x), out_val = predict(model, val.x);
    REQUIRE(logs.at("mse") == Approx(nn::metrics::mse(out_train, train.y)).epsilon(1e-12));
    REQUIRE(logs.at("mae") == Approx(nn::metrics::mae(out_train, train.y)).epsilon(1e-12));
    REQUIRE(logs.at("r2") == Approx(nn::metrics::r2_score(out_train, train.y)).epsilon(1e-12));
    REQUIRE(logs.at("val_mse") == nn::metrics::mse(out_val, val.y));
    REQUIRE(logs.at("val_mae") == nn::metrics::mae(out_val, val.y));
    REQUIRE(logs.at("val_r2") == nn::metrics::r2_score(out_val, val.y));
    REQUIRE(logs.at("loss") == Approx(logs.at("mse")).epsilon(1e-12));  // mse_loss is mse

    // Training lowers the regression loss by a large factor.
    optim::SGD opt2(model.parameters(), {.lr = 0.05});
    const auto r2 = optim::fit(model, opt2, mse, loader, {.epochs = 20, .validation = &val});
    REQUIRE(r2.epochs.back().at("val_loss") < 0.05 * logs.at("val_loss"));
}

namespace {

// Records the lr of group 0 at every batch.
struct LrRecorder : optim::Callback {
    std::vector<double> lrs;
    void on_batch_begin(optim::TrainState& s) override { lrs.push_back(s.optimizer.lr()); }
};

}  // namespace

TEST_CASE("a schedule steps once per epoch or once per batch, as asked") {
    const auto train = logistic_data(64, 1);
    data::DataLoader loader(train, {.batch_size = 16, .seed = 0});  // 4 batches
    // Made afresh for each section (Catch runs the test case once per section).
    auto model = logistic_model();
    optim::SGD opt(model.parameters(), {.lr = 0.1});
    optim::StepLR sched(opt, {.step_size = 1, .gamma = 0.5});
    LrRecorder rec;

    SECTION("per epoch") {
        const auto r = optim::fit(model, opt, bce, loader,
                                  {.epochs = 3, .scheduler = &sched, .callbacks = {&rec}});
        REQUIRE(r.epochs[0].at("lr") == 0.1);
        REQUIRE(r.epochs[1].at("lr") == 0.05);
        REQUIRE(r.epochs[2].at("lr") == 0.025);
        REQUIRE(rec.lrs.size() == 12);
        for (std::size_t i = 0; i < 12; ++i) REQUIRE(rec.lrs[i] == 0.1 * std::pow(0.5, i / 4));
        REQUIRE(opt.lr() == 0.0125);  // stepped after the last epoch too
    }
    SECTION("per batch") {
        const auto r = optim::fit(model, opt, bce, loader,
                                  {.epochs = 3,
                                   .scheduler = &sched,
                                   .schedule_every = optim::ScheduleEvery::batch,
                                   .callbacks = {&rec}});
        REQUIRE(rec.lrs.size() == 12);
        for (std::size_t i = 0; i < 12; ++i)
            REQUIRE(rec.lrs[i] == Approx(0.1 * std::pow(0.5, i)).epsilon(1e-14));
        // "lr" is the rate of the epoch's first step.
        REQUIRE(r.epochs[1].at("lr") == rec.lrs[4]);
        REQUIRE(r.epochs[2].at("lr") == rec.lrs[8]);
        REQUIRE(sched.last_epoch() == 12);
    }
}

TEST_CASE("ReduceLROnPlateau is stepped with val_loss when there is validation, else loss") {
    const auto train = logistic_data(64, 1), val = logistic_data(40, 9);
    data::DataLoader loader(train, {.batch_size = 16, .seed = 0});
    // Mode max on a falling loss: every epoch after the first is a bad one, and patience 0
    // halves the lr after each of them.
    const optim::ReduceLROnPlateauOptions po{
        .mode = optim::PlateauMode::max, .factor = 0.5, .patience = 0};
    for (const bool with_validation : {true, false}) {
        INFO("validation " << with_validation);
        auto model = logistic_model();
        optim::SGD opt(model.parameters(), {.lr = 0.2});
        optim::ReduceLROnPlateau plateau(opt, po);
        const auto r = optim::fit(
            model, opt, bce, loader,
            {.epochs = 4, .validation = with_validation ? &val : nullptr, .plateau = &plateau});
        REQUIRE(r.epochs[0].at("lr") == 0.2);
        REQUIRE(r.epochs[1].at("lr") == 0.2);
        REQUIRE(r.epochs[2].at("lr") == 0.1);
        REQUIRE(r.epochs[3].at("lr") == 0.05);
        // The best in max mode is the first epoch's value of the monitored loss.
        REQUIRE(plateau.best() == r.epochs[0].at(with_validation ? "val_loss" : "loss"));
    }
}

namespace {

// The few lines a user writes to stop training after the second epoch.
struct StopAfterSecondEpoch : optim::Callback {
    void on_epoch_end(optim::TrainState& state, optim::Logs&) override {
        if (state.epoch == 1) {
            state.stop_training = true;
            state.stop_reason = "two epochs are enough";
        }
    }
};

// Counts every hook and checks what the state says at each.
struct HookCounter : optim::Callback {
    int train_begin = 0, epoch_begin = 0, batch_begin = 0, batch_end = 0, epoch_end = 0,
        train_end = 0;
    std::vector<int> epochs;
    std::vector<std::int64_t> steps;
    std::vector<bool> partial;
    bool failed = false;
    void on_train_begin(optim::TrainState&) override { ++train_begin; }
    void on_epoch_begin(optim::TrainState& s) override {
        ++epoch_begin;
        epochs.push_back(s.epoch);
    }
    void on_batch_begin(optim::TrainState&) override { ++batch_begin; }
    void on_batch_end(optim::TrainState& s) override {
        ++batch_end;
        steps.push_back(s.global_step);
    }
    void on_epoch_end(optim::TrainState& s, optim::Logs&) override {
        ++epoch_end;
        partial.push_back(s.partial_epoch);
    }
    void on_train_end(optim::TrainState& s) override {
        ++train_end;
        failed = s.failed;
    }
};

}  // namespace

TEST_CASE("a custom callback stops training after its epoch") {
    LogisticRun run;
    auto& [train, loader, model, opt] = run;
    StopAfterSecondEpoch stop;
    HookCounter count;
    const auto r =
        optim::fit(model, opt, bce, loader, {.epochs = 10, .callbacks = {&stop, &count}});
    REQUIRE(r.epochs.size() == 2);
    REQUIRE(r.stop_reason == "two epochs are enough");
    REQUIRE(count.epoch_end == 2);
    REQUIRE(count.train_end == 1);
    REQUIRE_FALSE(count.failed);
    REQUIRE(count.partial == std::vector<bool>{false, false});
}

TEST_CASE("stopping within an epoch ends it after that batch, as a partial epoch") {
    struct StopAtStep : optim::Callback {
        void on_batch_end(optim::TrainState& s) override {
            if (s.global_step == 6) s.stop_training = true;
        }
    } stop;
    LogisticRun run;  // 4 batches
    auto& [train, loader, model, opt] = run;
    HookCounter count;
    const auto r = optim::fit(model, opt, bce, loader, {.epochs = 5, .callbacks = {&stop, &count}});
    REQUIRE(r.epochs.size() == 2);
    REQUIRE(count.batch_end == 6);
    REQUIRE(count.partial == std::vector<bool>{false, true});
    REQUIRE(r.stop_reason.empty());  // the callback gave none
}

TEST_CASE("fit calls every hook the right number of times and counts steps") {
    LogisticRun run(50, {.batch_size = 16});  // 4 batches, the last of 2 rows
    auto& [train, loader, model, opt] = run;
    HookCounter count;
    optim::fit(model, opt, bce, loader, {.epochs = 3, .callbacks = {&count}});
    REQUIRE(count.train_begin == 1);
    REQUIRE(count.epoch_begin == 3);
    REQUIRE(count.batch_begin == 12);
    REQUIRE(count.batch_end == 12);
    REQUIRE(count.epoch_end == 3);
    REQUIRE(count.train_end == 1);
    REQUIRE(count.epochs == std::vector<int>{0, 1, 2});
    for (std::size_t i = 0; i < 12; ++i)
        REQUIRE(count.steps[i] == static_cast<std::int64_t>(i + 1));
    REQUIRE(loader.epoch() == 3);
}

TEST_CASE("initial_epoch resumes the epoch count, the steps and the loader's order") {
    LogisticRun run(50, {.batch_size = 16, .seed = 11});
    auto& [train, loader, model, opt] = run;
    HookCounter count;
    struct OrderRecorder : optim::Callback {
        std::vector<std::vector<std::size_t>> orders;
        void on_batch_begin(optim::TrainState& s) override {
            if (s.batch == 0) orders.push_back(s.loader.order());
        }
    } orders;
    const auto r = optim::fit(model, opt, bce, loader,
                              {.epochs = 5, .callbacks = {&count, &orders}, .initial_epoch = 3});
    REQUIRE(r.epochs.size() == 2);
    REQUIRE(count.epochs == std::vector<int>{3, 4});
    REQUIRE(count.steps.front() == 3 * 4 + 1);
    REQUIRE(orders.orders.size() == 2);
    REQUIRE(orders.orders[0] == loader.order_of_epoch(3));
    REQUIRE(orders.orders[1] == loader.order_of_epoch(4));

    // initial_epoch == epochs runs nothing.
    const auto none = optim::fit(model, opt, bce, loader, {.epochs = 5, .initial_epoch = 5});
    REQUIRE(none.epochs.empty());
}

TEST_CASE("fit rejects bad options with messages that say what is wrong") {
    LogisticRun run(40, {.batch_size = 16});
    auto& [train, loader, model, opt] = run;
    REQUIRE_THROWS_AS(optim::fit(model, opt, bce, loader, {.metrics = {"acuracy"}}),
                      tg::ValueError);
    REQUIRE_THROWS_WITH(
        optim::fit(model, opt, bce, loader, {.metrics = {"acuracy"}}),
        Catch::Matchers::Contains("'acuracy'") && Catch::Matchers::Contains("accuracy, precision"));
    REQUIRE_THROWS_AS(optim::fit(model, opt, bce, loader, {.epochs = 2, .initial_epoch = 3}),
                      tg::ValueError);
    REQUIRE_THROWS_AS(optim::fit(model, opt, bce, loader, {.callbacks = {nullptr}}),
                      tg::ValueError);
    const data::Dataset empty = logistic_data(40, 2).subset({});
    REQUIRE_THROWS_WITH(optim::fit(model, opt, bce, loader, {.validation = &empty}),
                        Catch::Matchers::Contains("validation set has no rows"));
    auto other_model = logistic_model();
    optim::SGD other(other_model.parameters(), {.lr = 0.1});
    optim::StepLR sched(other, {.step_size = 1});
    REQUIRE_THROWS_WITH(optim::fit(model, opt, bce, loader, {.scheduler = &sched}),
                        Catch::Matchers::Contains("another optimizer"));
    REQUIRE_THROWS_WITH(optim::evaluate(model, bce, train, {"auc"}),
                        Catch::Matchers::Contains("'auc'"));
}

TEST_CASE("an error in the loss leaves fit unchanged, after on_train_end") {
    struct LossFailure : std::runtime_error {
        using std::runtime_error::runtime_error;
    };
    int calls = 0;
    const optim::LossFn failing = [&](const tg::Tensor& out, const tg::Tensor& y) {
        if (++calls == 3) throw LossFailure("the loss broke at call 3");
        return nn::bce_with_logits(out, y);
    };
    const auto train = logistic_data(64, 1);
    data::DataLoader loader(train, {.batch_size = 16});
    auto model = logistic_model();
    model.eval();
    optim::SGD opt(model.parameters(), {.lr = 0.1});
    HookCounter count;
    REQUIRE_THROWS_AS(optim::fit(model, opt, failing, loader, {.epochs = 2, .callbacks = {&count}}),
                      LossFailure);
    REQUIRE(count.batch_end == 2);
    REQUIRE(count.train_end == 1);
    REQUIRE(count.failed);
    REQUIRE_FALSE(model.is_training());  // back to the mode it had
}

namespace {
// fc2 is a member but was never registered: its weights take part in the loss and never train.
struct ForgotRegister : nn::Module {
    nn::Linear fc1{2, 3, {.seed = 1, .dtype = tg::f64}}, fc2{3, 1, {.seed = 2, .dtype = tg::f64}};
    ForgotRegister() { register_module("fc1", fc1); }
    tg::Tensor forward(const tg::Tensor& x) override { return fc2(tg::tanh(fc1(x))); }
};

std::string fit_stderr(nn::Module& model, optim::Optimizer& opt) {
    const data::Dataset train = logistic_data(32, 1);
    data::DataLoader loader(train, {.batch_size = 16});
    std::ostringstream captured;
    auto* old = std::cerr.rdbuf(captured.rdbuf());
    optim::fit(model, opt, bce, loader, {.epochs = 2});
    std::cerr.rdbuf(old);
    return captured.str();
}
}  // namespace

TEST_CASE("fit warns once about tensors in the loss that the optimizer does not train") {
    ForgotRegister model;
    optim::SGD opt(model.parameters(), {.lr = 0.1});
    const std::string err = fit_stderr(model, opt);
    CHECK_THAT(err, Catch::Contains("tapegrad: warning: fit: 2 tensor(s) that require grad took "
                                    "part in the loss but are not among the optimizer's "
                                    "parameters, so they will not train: float64 [1, 3], "
                                    "float64 [1]") &&
                        Catch::Contains("register_module"));
    CHECK(err.find("warning", err.find("warning") + 1) == std::string::npos);  // once
    // A registered model gives no warning; a registered layer left out of the optimizer is
    // named.
    nn::Sequential whole{nn::Linear(2, 3, {.seed = 1, .dtype = tg::f64}), nn::Tanh(),
                         nn::Linear(3, 1, {.seed = 2, .dtype = tg::f64})};
    optim::SGD all(whole.parameters(), {.lr = 0.1});
    CHECK(fit_stderr(whole, all).empty());
    const auto params = whole.parameters();
    optim::SGD first({params[0], params[1]}, {.lr = 0.1});
    CHECK_THAT(fit_stderr(whole, first), Catch::Contains("will not train: '2.weight', '2.bias'"));
}

TEST_CASE("unregistered_leaves lists what a tape reached beyond the given parameters") {
    ForgotRegister model;
    const tg::Tensor frozen = tg::ones({1}, tg::f64);  // no grad: a constant, not reported
    tg::Tape tape;
    const tg::Tensor loss = tg::sum(model(tg::ones({4, 2}, tg::f64))) * frozen;
    const auto leaves = optim::unregistered_leaves(tape, model.parameters());
    REQUIRE(leaves.size() == 2);
    CHECK(leaves[0].impl() == model.fc2.weight.impl());
    CHECK(leaves[1].impl() == model.fc2.bias.impl());
    std::vector<tg::Tensor> all = model.parameters();
    all.push_back(model.fc2.weight);
    all.push_back(model.fc2.bias);
    CHECK(optim::unregistered_leaves(tape, all).empty());
}

TEST_CASE("format_logs orders training numbers, validation numbers, then lr") {
    const optim::Logs logs{{"val_loss", 0.25},    {"lr", 0.01},  {"accuracy", 0.875},
                           {"val_accuracy", 0.8}, {"loss", 0.5}, {"custom", 3}};
    REQUIRE(optim::format_logs(logs) ==
            "loss: 0.5 - accuracy: 0.875 - val_loss: 0.25 - val_accuracy: 0.8 - lr: 0.01 - "
            "custom: 3");
}

TEST_CASE("verbose fit prints one line per epoch and the stop reason") {
    LogisticRun run(64, {.batch_size = 32});
    auto& [train, loader, model, opt] = run;
    StopAfterSecondEpoch stop;
    std::ostringstream captured;
    auto* old = std::cout.rdbuf(captured.rdbuf());
    optim::fit(model, opt, bce, loader, {.epochs = 5, .callbacks = {&stop}, .verbose = true});
    std::cout.rdbuf(old);
    std::istringstream lines(captured.str());
    std::vector<std::string> all;
    for (std::string line; std::getline(lines, line);) all.push_back(line);
    REQUIRE(all.size() == 3);
    REQUIRE(all[0].rfind("Epoch 1/5 - loss: ", 0) == 0);
    REQUIRE(all[1].rfind("Epoch 2/5 - loss: ", 0) == 0);
    REQUIRE(all[2] == "two epochs are enough");
}

// ---- closure optimizers (L-BFGS, Newton) through fit -------------------------------------

namespace {

// The closure fit.hpp describes, for stepping an optimizer by hand beside fit.
std::function<double()> full_batch_closure(nn::Module& model, optim::Optimizer& opt,
                                           const optim::LossFn& loss, const data::Dataset& d) {
    return [&model, &opt, &loss, &d] {
        tg::Tape tape;
        const tg::Tensor l = loss(model(d.x), d.y);
        opt.zero_grad();
        tape.backward(l);
        return l.item();
    };
}

bool same_weights(nn::Module& a, nn::Module& b) {
    const auto pa = a.parameters(), pb = b.parameters();
    for (std::size_t i = 0; i < pa.size(); ++i)
        if (!(pa[i].value<double>() == pb[i].value<double>())) return false;
    return true;
}

}  // namespace

TEST_CASE("fit drives L-BFGS through closures: an epoch is one full-batch step, as by hand") {
    const auto train = logistic_data(120, 7), val = logistic_data(60, 8);
    auto by_hand = logistic_model(), fitted = logistic_model();
    const optim::LBFGSOptions lbfgs{.max_iter = 5, .line_search = optim::LineSearch::strong_wolfe};
    optim::LBFGS opt_hand(by_hand.parameters(), lbfgs), opt_fit(fitted.parameters(), lbfgs);
    data::DataLoader loader(train, {.batch_size = train.size(), .shuffle = false});

    const auto closure = full_batch_closure(by_hand, opt_hand, bce, train);
    std::vector<double> losses, accuracies;
    for (int step = 0; step < 3; ++step) {
        accuracies.push_back(nn::metrics::accuracy(predict(by_hand, train.x), train.y, 0.0));
        losses.push_back(opt_hand.step(closure));
    }
    const auto r = optim::fit(fitted, opt_fit, bce, loader,
                              {.epochs = 3, .validation = &val, .metrics = {"accuracy"}});

    REQUIRE(r.epochs.size() == 3);
    for (std::size_t e = 0; e < 3; ++e) {
        CHECK(r.epochs[e].at("loss") == losses[e]);  // at the weights each step started from
        CHECK(r.epochs[e].at("accuracy") == accuracies[e]);
        CHECK(keys(r.epochs[e]) ==
              std::set<std::string>{"accuracy", "loss", "lr", "val_accuracy", "val_loss"});
    }
    CHECK(same_weights(by_hand, fitted));
    CHECK(opt_fit.func_evals() == opt_hand.func_evals());
}

TEST_CASE("EarlyStopping and DivergenceGuard stop an L-BFGS run in fit and say why") {
    const auto train = logistic_data(120, 7), val = logistic_data(60, 8);
    data::DataLoader loader(train, {.batch_size = train.size(), .shuffle = false});

    SECTION("early stopping, with a line per epoch that carries the metrics") {
        auto model = logistic_model();
        optim::LBFGS opt(model.parameters(), {.line_search = optim::LineSearch::strong_wolfe});
        optim::EarlyStopping stop({.patience = 2, .notes = nullptr});
        std::ostringstream progress_text;
        optim::ProgressBar progress(progress_text, {.mode = optim::ProgressMode::lines});
        const auto r = optim::fit(model, opt, bce, loader,
                                  {.epochs = 100,
                                   .validation = &val,
                                   .metrics = {"accuracy"},
                                   .callbacks = {&stop, &progress}});
        CHECK(r.epochs.size() < 100);
        CHECK_THAT(r.stop_reason, Catch::StartsWith("early stopping: val_loss did not improve"));
        CHECK_THAT(progress_text.str(), Catch::Contains("Epoch 1/100") &&
                                            Catch::Contains("accuracy: ") &&
                                            Catch::Contains(r.stop_reason));
        // The best epoch's weights are back.
        CHECK(optim::evaluate(model, bce, val).at("loss") == stop.best_value());
    }
    SECTION("a NaN loss stops at once and puts back the last good weights") {
        auto model = logistic_model();
        optim::LBFGS opt(model.parameters(), {.line_search = optim::LineSearch::strong_wolfe});
        bool poisoned = false;
        const optim::LossFn poisonable = [&poisoned](const tg::Tensor& out, const tg::Tensor& y) {
            const tg::Tensor l = nn::bce_with_logits(out, y);
            return poisoned ? l * tg::scalar(std::nan(""), tg::f64) : l;
        };
        struct PoisonAtThirdEpoch : optim::Callback {
            bool* flag;
            nn::Module* model;
            std::vector<tg::Tensor> good;
            void on_epoch_begin(optim::TrainState& s) override {
                *flag = s.epoch == 2;
                if (*flag)
                    for (const auto& p : model->parameters()) good.push_back(tg::clone(p.detach()));
            }
        } poison;
        poison.flag = &poisoned;
        poison.model = &model;
        optim::DivergenceGuard guard;
        const auto r = optim::fit(model, opt, poisonable, loader,
                                  {.epochs = 10, .callbacks = {&poison, &guard}});
        CHECK(r.epochs.size() == 3);
        CHECK_THAT(r.stop_reason, Catch::StartsWith("the loss became nan at epoch 3, step 3") &&
                                      Catch::Contains("weights restored to the last good step"));
        REQUIRE(poison.good.size() == 2);
        const auto params = model.parameters();
        for (std::size_t i = 0; i < params.size(); ++i)
            CHECK(params[i].value<double>() == poison.good[i].value<double>());
    }
}

TEST_CASE("fit drives Newton through closures: its logs are at the weights each step began") {
    const auto train = regression_data(80, 3);
    auto by_hand = nn::Linear(3, 1, {.seed = 2, .dtype = tg::f64});
    auto fitted = nn::Linear(3, 1, {.seed = 2, .dtype = tg::f64});
    for (auto method : {optim::HessianMethod::exact, optim::HessianMethod::finite_differences}) {
        CAPTURE(static_cast<int>(method));
        optim::Newton opt_hand(by_hand.parameters(), {.lr = 0.5, .hessian = method});
        optim::Newton opt_fit(fitted.parameters(), {.lr = 0.5, .hessian = method});
        data::DataLoader loader(train, {.batch_size = train.size(), .shuffle = false});
        const auto closure = full_batch_closure(by_hand, opt_hand, mse, train);
        std::vector<double> losses, r2s;
        for (int step = 0; step < 2; ++step) {
            r2s.push_back(nn::metrics::r2_score(predict(by_hand, train.x), train.y));
            losses.push_back(opt_hand.step(closure));
        }
        const auto r = optim::fit(fitted, opt_fit, mse, loader, {.epochs = 2, .metrics = {"r2"}});
        for (std::size_t e = 0; e < 2; ++e) {
            CHECK(r.epochs[e].at("loss") == losses[e]);
            CHECK(r.epochs[e].at("r2") == r2s[e]);
        }
        CHECK(same_weights(by_hand, fitted));
    }
}

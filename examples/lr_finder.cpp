// The learning-rate finder of text 001: "start tiny, increase the learning rate exponentially,
// plot loss against it, pick the largest value before the curve turns up, then divide by
// 3-10". An MLP (2-32-32-1, ReLU) learns make_moons with SGD and momentum 0.9; optim::lr_find
// sweeps the rate from 1e-5 to 10 over 120 mini-batches, smooths the loss and suggests the rate
// at the smoothed minimum divided by 10. Then three fresh copies of the model (same initial
// weights, same batches) train for 30 epochs at the suggested rate, at a hundredth of it (too
// small: it crawls) and at the rate where the sweep's loss blew up (too large), and the program
// prints their final losses and accuracies. Charts: lr_finder_sweep.svg (the sweep, with the
// suggestion marked) and lr_finder_training.svg (validation loss of the three runs per epoch).
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include "common.hpp"

namespace {

constexpr int kEpochs = 30;
constexpr std::size_t kBatch = 32;

nn::Sequential make_model() {
    tg::manual_seed(0);  // the same initial weights for every run
    return nn::Sequential{nn::Linear(2, 32), nn::ReLU(), nn::Linear(32, 32), nn::ReLU(),
                          nn::Linear(32, 1)};
}

struct Outcome {
    std::vector<double> val_loss, loss;
    double val_accuracy = 0;
};

Outcome train(double lr, const data::Dataset& train_set, const data::Dataset& val_set) {
    nn::Sequential model = make_model();
    optim::SGD opt(model.parameters(), {.lr = lr, .momentum = 0.9});
    data::DataLoader loader(train_set, {.batch_size = kBatch, .shuffle = true, .seed = 1});
    const auto fitted =
        optim::fit(model, opt, bce, loader,
                   {.epochs = kEpochs, .validation = &val_set, .metrics = {"accuracy"}});
    Outcome o;
    for (const auto& logs : fitted.epochs) {
        o.loss.push_back(logs.at("loss"));
        o.val_loss.push_back(logs.at("val_loss"));
    }
    o.val_accuracy = fitted.epochs.back().at("val_accuracy");
    return o;
}

// Three significant digits (as printf's %.3g).
std::string num(double v) {
    std::ostringstream text;
    text << std::setprecision(3) << v;
    return text.str();
}

}  // namespace

int main() {
    // 1000 noisy points of two interleaving half-moons, 800 to train on and 200 to validate.
    data::Dataset moons = data::make_moons(1000, 0.2, /*seed=*/0);
    moons.y = tg::reshape(moons.y, {moons.size(), 1});  // [N, 1] labels for [N, 1] logits
    const data::Split parts = data::split(moons, {.validation = 0.2, .seed = 0});
    std::printf(
        "The learning-rate finder (text 001) on make_moons: %zu training and %zu "
        "validation points,\na 2-32-32-1 ReLU MLP, SGD with momentum 0.9, batches of "
        "%zu.\n\n",
        parts.train.size(), parts.validation.size(), kBatch);

    // The sweep: one optimizer step per rate, the rate growing by a constant factor each step;
    // the model, optimizer and loader are put back afterwards.
    const optim::LRFinderOptions sweep_options{.start_lr = 1e-5, .end_lr = 10.0, .num_steps = 120};
    nn::Sequential probe = make_model();
    optim::SGD probe_opt(probe.parameters(), {.lr = 0.1, .momentum = 0.9});
    data::DataLoader probe_loader(parts.train, {.batch_size = kBatch, .shuffle = true, .seed = 1});
    const optim::LRFinderResult sweep =
        optim::lr_find(probe, probe_opt, bce, probe_loader, sweep_options);
    const double at_min = sweep.lrs[sweep.best_index];
    std::printf("Sweep: %zu steps from lr %g to %g%s.\n", sweep.lrs.size(), sweep_options.start_lr,
                sweep.lrs.back(), sweep.diverged ? " (stopped: the smoothed loss blew up)" : "");
    std::printf("  smoothed loss: %.4f at the start, lowest %.4f at lr %.4g, %.4g at the end\n",
                sweep.smoothed.front(), sweep.smoothed[sweep.best_index], at_min,
                sweep.smoothed.back());
    std::printf("  suggested lr = lr at the lowest smoothed loss / %g = %.4g\n",
                sweep_options.divide_by, sweep.suggested_lr);
    // The sweep's chart. The last losses of a blow-up are huge (tens) and would flatten the
    // rest of the curve, so losses above twice the starting loss are left out (the lines end).
    const double cap = 2 * sweep.smoothed.front();
    auto capped = [cap](std::vector<double> v) {
        for (double& x : v)
            if (!(x <= cap)) x = std::nan("");
        return v;
    };
    charts::LinePlot sweep_chart("Learning-rate finder: loss of each step as the rate grows",
                                 "learning rate (log scale)", "training loss of the batch");
    sweep_chart.add("loss of the step", sweep.lrs, capped(sweep.losses))
        .add("smoothed loss", sweep.lrs, capped(sweep.smoothed))
        .log_x()
        .mark_x(sweep.suggested_lr, "suggested " + num(sweep.suggested_lr))
        .mark_x(at_min, "lowest smoothed " + num(at_min));
    sweep_chart.save("lr_finder_sweep.svg", 760, 440);
    std::printf("  wrote lr_finder_sweep.svg (losses above %.2f, twice the start, left out)\n\n",
                cap);

    // Too large: the rate at which the sweep stopped because the loss blew up (or 30 times the
    // suggestion when it never did).
    const double suggested = sweep.suggested_lr;
    const double too_small = suggested / 100;
    const double too_large = sweep.diverged ? sweep.lrs.back() : suggested * 30;
    struct Run {
        std::string name, short_name;
        double lr;
        Outcome outcome;
    };
    std::vector<Run> runs{
        {"suggested", "suggested", suggested, {}},
        {"too small (suggested / 100)", "too small", too_small, {}},
        {sweep.diverged ? "too large (where the sweep blew up)" : "too large (suggested x 30)",
         "too large",
         too_large,
         {}}};
    std::printf("Training %d epochs from the same initial weights:\n", kEpochs);
    std::printf("%-36s %10s %12s %12s %14s\n", "run", "lr", "train loss", "val loss",
                "val accuracy");
    for (Run& r : runs) {
        r.outcome = train(r.lr, parts.train, parts.validation);
        std::printf("%-36s %10.4g %12.4f %12.4f %14.3f\n", r.name.c_str(), r.lr,
                    r.outcome.loss.back(), r.outcome.val_loss.back(), r.outcome.val_accuracy);
    }

    charts::LinePlot chart("make_moons MLP: validation loss at three learning rates", "epoch",
                           "validation loss (log scale)");
    std::vector<double> epochs;
    for (int e = 1; e <= kEpochs; ++e) epochs.push_back(e);
    for (const Run& r : runs)
        chart.add(r.short_name + ", lr " + num(r.lr), epochs, r.outcome.val_loss);
    chart.log_y().save("lr_finder_training.svg", 820, 440);
    std::printf("wrote lr_finder_training.svg\n");

    // When did the suggested rate get as low as the too-small one ended?
    const auto& good = runs[0].outcome.val_loss;
    const double small_end = runs[1].outcome.val_loss.back();
    std::size_t caught_up = 0;
    while (caught_up < good.size() && good[caught_up] > small_end) ++caught_up;
    std::printf(
        "\nWhat it shows: the sweep's loss stays flat while the rate is too small to move the\n"
        "weights, falls once it is large enough, and blows up when the steps overshoot. The\n"
        "suggested rate (a tenth of the rate at the lowest point) trains well; a hundred times\n"
        "smaller crawls: after %d epochs its validation loss is %.4f, which the suggested rate\n"
        "beat after %zu epoch(s); the rate where the sweep blew up overshoots and stays near\n"
        "chance (validation accuracy %.3f).\n",
        kEpochs, small_end, caught_up + 1, runs[2].outcome.val_accuracy);
}

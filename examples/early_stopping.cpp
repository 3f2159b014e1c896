// Early stopping, as text 000 puts it: "training loss can keep falling while holdout loss
// climbs. Stop when validation loss worsens". A wide MLP (2-128-128-1, ReLU, Adam) is trained
// on only 60 noisy points of make_moons and checked every epoch on 1000 fresh points from the
// same distribution. It has far more weights than points, so it memorises them: the training
// loss keeps falling while the validation loss, after a first drop, climbs.
//
// Run 1 trains all epochs with an EarlyStopping callback whose patience is never used up, so
// the whole curves are seen; the callback still remembers the best epoch and puts its weights
// back when training ends. Run 2 is the same training (same initial weights, same batches) with
// patience 25: it stops by itself and restores the best weights too. The program prints the
// best epoch, the validation loss there and at the end, and the validation loss of the
// restored model, which equals the best. Chart: early_stopping.svg (both losses per epoch, the
// best epoch marked).
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common.hpp"

namespace {

constexpr int kEpochs = 150;
constexpr int kPatience = 25;

nn::Sequential make_model() {
    tg::manual_seed(0);  // the same initial weights for both runs
    return nn::Sequential{nn::Linear(2, 128), nn::ReLU(), nn::Linear(128, 128), nn::ReLU(),
                          nn::Linear(128, 1)};
}

data::Dataset moons(std::size_t n, std::uint64_t seed) {
    data::Dataset d = data::make_moons(n, 0.3, seed);
    d.y = tg::reshape(d.y, {n, 1});
    return d;
}

struct Run {
    optim::FitResult fitted;
    int best_epoch;     // 0-based, as EarlyStopping reports it
    double best_value;  // the validation loss there
    bool stopped;
    double restored_val_loss;  // evaluate() on the model after fit
};

Run train(const data::Dataset& train_set, const data::Dataset& val_set, int patience) {
    nn::Sequential model = make_model();
    optim::Adam opt(model.parameters(), {.lr = 1e-2});
    data::DataLoader loader(train_set, {.batch_size = 20, .shuffle = true, .seed = 0});
    optim::EarlyStopping stop({.monitor = "val_loss", .patience = patience});
    Run r;
    r.fitted = optim::fit(model, opt, bce, loader,
                          {.epochs = kEpochs, .validation = &val_set, .callbacks = {&stop}});
    r.best_epoch = stop.best_epoch();
    r.best_value = stop.best_value();
    r.stopped = stop.stopped();
    r.restored_val_loss = optim::evaluate(model, bce, val_set).at("loss");
    return r;
}

}  // namespace

int main() {
    const data::Dataset train_set = moons(60, /*seed=*/1);
    const data::Dataset val_set = moons(1000, /*seed=*/2);
    std::printf(
        "Early stopping (text 000): a 2-128-128-1 ReLU MLP (%zu weights) trained with "
        "Adam (lr 0.01)\non %zu noisy make_moons points, validated on %zu fresh ones, "
        "batches of 20, up to %d epochs.\n\n",
        make_model().num_parameters(), train_set.size(), val_set.size(), kEpochs);

    // Run 1: every epoch (patience larger than the run), to see both curves in full.
    const Run full = train(train_set, val_set, kEpochs);
    std::printf("Run 1, all %d epochs (patience %d, never used up):\n", kEpochs, kEpochs);
    std::vector<double> epochs, loss, val_loss;
    for (std::size_t e = 0; e < full.fitted.epochs.size(); ++e) {
        const auto& logs = full.fitted.epochs[e];
        epochs.push_back(static_cast<double>(e + 1));
        loss.push_back(logs.at("loss"));
        val_loss.push_back(logs.at("val_loss"));
    }
    // Every epoch's numbers, three epochs to a line, read down the columns (epochs are 1-based
    // here, as a person counts them).
    const std::size_t rows = (epochs.size() + 2) / 3;
    for (int c = 0; c < 3; ++c)
        std::printf("%s%5s %10s %10s", c ? "   " : "", "epoch", "train", "val");
    std::printf("\n");
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < 3; ++c) {
            const std::size_t e = c * rows + r;
            if (e < epochs.size())
                std::printf("%s%5zu %10.6f %10.6f", c ? "   " : "", e + 1, loss[e], val_loss[e]);
        }
        std::printf("\n");
    }
    const int best = full.best_epoch + 1;
    std::printf("\nbest epoch (lowest validation loss): %d\n", best);
    std::printf("validation loss at the best epoch:   %.6f\n", full.best_value);
    std::printf("validation loss at the last epoch:   %.6f (%.1f%% worse)\n", val_loss.back(),
                100 * (val_loss.back() / full.best_value - 1));
    std::printf("training loss at the best epoch:     %.6f, at the last: %.6f\n",
                loss[static_cast<std::size_t>(full.best_epoch)], loss.back());
    std::printf("restored model's validation loss:    %.6f (%s the best)\n", full.restored_val_loss,
                std::abs(full.restored_val_loss - full.best_value) <= 1e-6 * full.best_value
                    ? "equals"
                    : "DIFFERS FROM");

    // Run 2: the same training, stopped by EarlyStopping itself.
    const Run early = train(train_set, val_set, kPatience);
    std::printf(
        "\nRun 2, patience %d: %s after epoch %zu; best epoch %d (validation loss "
        "%.6f);\nrestored model's validation loss %.6f\n",
        kPatience, early.stopped ? "stopped" : "ran to the end", early.fitted.epochs.size(),
        early.best_epoch + 1, early.best_value, early.restored_val_loss);
    if (!early.fitted.stop_reason.empty()) std::printf("(%s)\n", early.fitted.stop_reason.c_str());

    charts::LinePlot chart("Overfitting 60 points: training loss falls, validation loss climbs",
                           "epoch", "loss (log scale)");
    chart.add("training (60 points)", epochs, loss)
        .add("validation (1000)", epochs, val_loss)
        .log_y()
        .mark_x(best, "best epoch " + std::to_string(best))
        .mark_point(best, full.best_value, "");
    if (early.stopped)
        chart.mark_x(static_cast<double>(early.fitted.epochs.size()),
                     "patience " + std::to_string(kPatience) + " stops here");
    chart.save("early_stopping.svg", 820, 460);
    std::printf("\nwrote early_stopping.svg\n");
}

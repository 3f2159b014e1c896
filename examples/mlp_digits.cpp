// An MLP on the 8×8 handwritten digits (examples/data/digits.csv, 1797 images, 10 classes):
// the recipe of seed texts 000 and 001 on real data. Split train / validation / test
// (stratified, seeded), standardise with statistics of the training rows only (unscaled
// features are where "teams get stuck"), train a 64-64-10 ReLU network with Adam on
// mini-batches, and stop early when the validation loss stops improving, keeping the best
// weights. Then the test accuracy and the confusion matrix (rows: true digit, columns: the
// digit predicted).
//
//   mlp_digits        writes mlp_digits_loss.svg to the current directory
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/charts/plot.hpp>
#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include <vector>

namespace tg = tapegrad;
namespace data = tapegrad::data;
namespace charts = tapegrad::charts;
namespace nn = tapegrad::nn;

int main() {
    const auto start = std::chrono::steady_clock::now();
    const auto csv = data::read_csv(TAPEGRAD_EXAMPLES_DATA "/digits.csv", "target");
    // 60% train, 20% validation (early stopping watches it), 20% test (looked at once, at the
    // end); each class keeps its share in every part.
    data::Split parts =
        data::split(csv.data, {.validation = 0.2, .test = 0.2, .seed = 0, .stratify = true});
    data::StandardScaler scaler;
    parts.train.x = scaler.fit_transform(parts.train.x);
    parts.validation.x = scaler.transform(parts.validation.x);
    parts.test.x = scaler.transform(parts.test.x);
    std::printf(
        "Digits: %zu images of 8x8 pixels (64 features, 10 classes): %zu train, %zu "
        "validation, %zu test\n(stratified split, seed 0; standardised with the "
        "training rows' mean and std)\n\n",
        csv.data.size(), parts.train.size(), parts.validation.size(), parts.test.size());

    tg::manual_seed(0);  // the initial weights
    nn::Sequential model{nn::Linear(64, 64), nn::ReLU(), nn::Linear(64, 10)};
    tg::optim::Adam opt(model.parameters(), {.lr = 1e-3});
    data::DataLoader loader(parts.train, {.batch_size = 32, .shuffle = true, .seed = 0});
    auto loss = [](const tg::Tensor& out, const tg::Tensor& y) {
        return nn::cross_entropy(out, y);
    };
    tg::optim::EarlyStopping stop({.monitor = "val_loss", .patience = 10});
    tg::optim::History history;
    const auto result = tg::optim::fit(model, opt, loss, loader,
                                       {.epochs = 300,
                                        .validation = &parts.validation,
                                        .metrics = {"accuracy"},
                                        .callbacks = {&stop, &history}});

    // A few epochs of the history, then why training ended.
    const auto& logs = history.logs();
    std::printf("64-64-10 ReLU MLP, Adam lr 0.001, batches of 32, early stopping (patience 10)\n");
    std::printf("  epoch  train loss  val loss  train acc  val acc\n");
    for (std::size_t e = 0; e < logs.size(); ++e) {
        if (e % 10 != 0 && e + 1 != logs.size() && static_cast<int>(e) != stop.best_epoch())
            continue;
        std::printf("  %5zu  %10.4f  %8.4f  %9.4f  %7.4f%s\n", e + 1, logs[e].at("loss"),
                    logs[e].at("val_loss"), logs[e].at("accuracy"), logs[e].at("val_accuracy"),
                    static_cast<int>(e) == stop.best_epoch() ? "   <- best val loss" : "");
    }
    std::printf("Stopped after epoch %zu: %s\n\n", logs.size(),
                result.stop_reason.empty()
                    ? "all epochs ran (the best epoch's weights are restored)"
                    : result.stop_reason.c_str());

    // The test split, once.
    tg::Tensor scores;
    {
        tg::NoGrad no_grad;
        model.eval();
        scores = model(parts.test.x);
    }
    const auto cm = nn::metrics::confusion_matrix(scores, parts.test.y, 10);
    std::size_t right = 0;
    for (std::size_t c = 0; c < 10; ++c) right += cm[c][c];
    std::printf("test accuracy %.4f (%zu of %zu test images)\n\n",
                nn::metrics::accuracy(scores, parts.test.y), right, parts.test.size());

    std::printf("Confusion matrix on the test images (row: true digit, column: predicted)\n");
    std::printf("  true |  predicted:                              | total  right\n");
    std::printf("       |");
    for (int c = 0; c < 10; ++c) std::printf(" %3d", c);
    std::printf(" |\n");
    for (std::size_t r = 0; r < 10; ++r) {
        std::size_t total = 0;
        std::printf("  %4zu |", r);
        for (std::size_t c = 0; c < 10; ++c) {
            total += cm[r][c];
            if (cm[r][c] == 0 && r != c)
                std::printf("   .");  // zeros off the diagonal fade out: the mistakes stand out
            else
                std::printf(" %3zu", cm[r][c]);
        }
        std::printf(" | %5zu  %5.1f%%\n", total, 100.0 * cm[r][r] / total);
    }

    const std::string svg = "mlp_digits_loss.svg";
    std::vector<double> epoch;
    for (int e : history.epochs()) epoch.push_back(e + 1.0);
    charts::LinePlot("Digits: 64-64-10 MLP, Adam (lr 0.001), early stopping", "epoch",
                     "cross-entropy loss (log scale)")
        .add("train", epoch, history.values("loss"))
        .add("validation", epoch, history.values("val_loss"))
        .log_y()
        .mark_x(stop.best_epoch() + 1.0,
                "best epoch " + std::to_string(stop.best_epoch() + 1) + " (restored)")
        .save(svg);
    std::printf("\nWrote %s\nWall time %.1f s\n", std::filesystem::absolute(svg).c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

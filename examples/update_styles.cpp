// Full-batch, stochastic and mini-batch updates on one problem. Texts 001, 002 and 004 describe
// the three flavours: full batch uses all n examples per step ("accurate but slow"), stochastic
// one example ("fast but very noisy"), mini-batch a small chunk ("the practical compromise").
// Here logistic regression on make_classification_400.csv (the 400-row set of text 001,
// standardised, weights starting at zero, learning rate 0.2 as there) is trained for the same
// number of epochs with a DataLoader of batch size 400, 1 and 64. After every update the loss on
// all 400 rows is recorded, so the three runs can be compared per update and per example seen.
// Printed: updates per epoch, the loss after one epoch and at the end, the time per epoch, and
// how noisy each path is (the spread of the loss change between updates late in the run, how
// often an update made the loss worse, and how far each batch gradient is from the full one).
// Charts: update_styles_updates.svg (loss against updates) and
// update_styles_examples.svg (loss against examples seen), both with a log x axis.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common.hpp"

namespace {

constexpr double kLr = 0.2;
constexpr int kEpochs = 20;

struct Style {
    const char* name;
    std::size_t batch_size;
};

struct Result {
    std::size_t updates_per_epoch = 0;
    double grad_noise_sq = 0;  // sum over updates of |g_batch - g_all|^2
    std::vector<double> loss;  // on all rows, before any update (index 0) and after each update
    double seconds = 0;        // training only (not the bookkeeping of the recorded losses)
};

double full_loss(nn::Module& model, const data::Dataset& data) {
    tg::NoGrad no_grad;
    return nn::bce_with_logits(model(data.x), data.y).item();
}

Result train(const data::Dataset& data, std::size_t batch_size) {
    nn::Linear model(2, 1, {.dtype = tg::f64});
    model.weight.fill_(0.0);  // as the text: w = np.zeros(...)
    model.bias.fill_(0.0);
    optim::SGD opt(model.parameters(), {.lr = kLr});
    data::DataLoader loader(data, {.batch_size = batch_size, .shuffle = true, .seed = 0});
    Result r;
    r.updates_per_epoch = loader.num_batches();
    r.loss.push_back(full_loss(model, data));
    using clock = std::chrono::steady_clock;
    for (int epoch = 0; epoch < kEpochs; ++epoch) {
        for (auto [x, y] : loader) {
            const auto t0 = clock::now();
            {
                tg::Tape tape;
                tg::Tensor loss = nn::bce_with_logits(model(x), y);
                opt.zero_grad();
                tape.backward(loss);
            }
            const auto t1 = clock::now();
            // Bookkeeping, not timed: how far this batch's gradient is from the gradient on all
            // rows at the same weights (the noise of the update's direction).
            std::vector<tg::Tensor> all_rows;
            {
                tg::Tape tape;
                all_rows =
                    tape.gradient(nn::bce_with_logits(model(data.x), data.y), model.parameters());
            }
            const auto params = model.parameters();
            for (std::size_t p = 0; p < params.size(); ++p) {
                const auto d = params[p].grad().value<double>() - all_rows[p].value<double>();
                for (double v : d) r.grad_noise_sq += v * v;
            }
            const auto t2 = clock::now();
            opt.step();
            r.seconds += std::chrono::duration<double>(t1 - t0 + (clock::now() - t2)).count();
            r.loss.push_back(full_loss(model, data));
        }
    }
    return r;
}

// The noise of a path: the spread (standard deviation) of the change of the loss from one
// update to the next over the second half of the run, where little progress is left to make...
double late_spread(const Result& r) {
    const std::size_t updates = r.loss.size() - 1, from = updates / 2;
    const double count = static_cast<double>(updates - from);
    double mean = 0, var = 0;
    for (std::size_t k = from + 1; k <= updates; ++k) mean += (r.loss[k] - r.loss[k - 1]) / count;
    for (std::size_t k = from + 1; k <= updates; ++k)
        var += std::pow(r.loss[k] - r.loss[k - 1] - mean, 2) / count;
    return std::sqrt(var);
}

// ...the share of updates after which the loss on all rows was higher than before...
double raised_share(const Result& r) {
    std::size_t raised = 0;
    for (std::size_t k = 1; k < r.loss.size(); ++k) raised += r.loss[k] > r.loss[k - 1];
    return static_cast<double>(raised) / static_cast<double>(r.loss.size() - 1);
}

// ...and the root mean square distance of the batch gradients from the full gradient.
double grad_noise(const Result& r) {
    return std::sqrt(r.grad_noise_sq / static_cast<double>(r.loss.size() - 1));
}

// The lowest value of the loss, for reference: L-BFGS from zero weights to a tiny gradient.
double minimum_loss(const data::Dataset& data) {
    nn::Linear model(2, 1, {.dtype = tg::f64});
    model.weight.fill_(0.0);
    model.bias.fill_(0.0);
    optim::LBFGS opt(model.parameters(),
                     {.max_iter = 200, .line_search = optim::LineSearch::strong_wolfe});
    auto closure = [&] {
        opt.zero_grad();
        tg::Tape tape;
        tg::Tensor loss = nn::bce_with_logits(model(data.x), data.y);
        tape.backward(loss);
        return loss.item();
    };
    for (int i = 0; i < 5; ++i) opt.step(closure);
    return full_loss(model, data);
}

}  // namespace

int main() {
    const auto csv = data::read_csv(TAPEGRAD_EXAMPLES_DATA "/make_classification_400.csv", "y",
                                    {.dtype = tg::f64});
    data::Dataset data = csv.data;
    const std::size_t n = data.size();
    data.x = data::StandardScaler().fit_transform(data.x);
    data.y = tg::reshape(data.y, {n, 1});  // the loss compares [N, 1] logits with [N, 1] labels

    std::printf("Full-batch, stochastic and mini-batch updates (texts 001, 002, 004)\n");
    std::printf(
        "Logistic regression on make_classification_400.csv: %zu rows, 2 standardised "
        "features,\nweights from 0, plain gradient descent with lr %g, %d epochs "
        "(passes over the data) each.\n",
        n, kLr, kEpochs);
    const double best = minimum_loss(data);
    std::printf("The lowest loss this model can reach is %.4f (L-BFGS, for reference).\n\n", best);

    const Style styles[] = {{"full batch", n}, {"stochastic", 1}, {"mini-batch", 64}};
    std::vector<Result> results;
    for (const Style& s : styles) results.push_back(train(data, s.batch_size));

    std::printf("Cost: how many updates one pass over the data makes, and what a pass costs\n");
    std::printf("%-11s %6s %15s %14s %18s\n", "style", "batch", "updates/epoch", "updates in all",
                "time per epoch ms");
    for (std::size_t i = 0; i < results.size(); ++i) {
        const Result& r = results[i];
        std::printf("%-11s %6zu %15zu %14zu %18.3f\n", styles[i].name, styles[i].batch_size,
                    r.updates_per_epoch, r.loss.size() - 1, 1e3 * r.seconds / kEpochs);
    }

    std::printf("\nProgress and noise (loss on all %zu rows; it starts at %.4f = ln 2)\n", n,
                results[0].loss[0]);
    std::printf("%-11s %12s %12s %16s %16s %15s\n", "style", "loss after", "loss after",
                "std of the loss", "updates that", "gradient noise");
    std::printf("%-11s %12s %12s %16s %16s %15s\n", "", "1 epoch", "all epochs", "change 2nd half",
                "raised the loss", "RMS |g_b - g|");
    for (std::size_t i = 0; i < results.size(); ++i) {
        const Result& r = results[i];
        std::printf("%-11s %12.4f %12.4f %16.2e %15.1f%% %15.4f\n", styles[i].name,
                    r.loss[r.updates_per_epoch], r.loss.back(), late_spread(r),
                    100.0 * raised_share(r), grad_noise(r));
    }
    std::printf(
        "(gradient noise: the root mean square distance between each update's batch\n"
        "gradient g_b and the gradient g on all rows at the same weights)\n");

    // Curves: x = updates (1, 2, ...) and x = examples seen (the rows of the batches so far).
    charts::LinePlot by_updates("Logistic regression: loss against the number of updates",
                                "updates (log scale)", "loss on all 400 rows");
    charts::LinePlot by_examples("Logistic regression: loss against examples seen",
                                 "examples seen (log scale; 400 = one epoch)",
                                 "loss on all 400 rows");
    // Full batch last, on top: per update its curve and the mini-batch one nearly coincide.
    for (std::size_t i : {1, 2, 0}) {
        const Result& r = results[i];
        std::vector<double> updates, seen, loss;
        std::size_t rows = 0;
        for (std::size_t k = 1; k < r.loss.size(); ++k) {
            // The last batch of an epoch holds the rows that are left (400 = 6 * 64 + 16).
            const std::size_t in_epoch = (k - 1) % r.updates_per_epoch;
            rows += std::min(styles[i].batch_size, n - in_epoch * styles[i].batch_size);
            updates.push_back(static_cast<double>(k));
            seen.push_back(static_cast<double>(rows));
            loss.push_back(r.loss[k]);
        }
        const std::string name =
            std::string(styles[i].name) + " (batch " + std::to_string(styles[i].batch_size) + ")";
        by_updates.add(name, updates, loss);
        by_examples.add(name, seen, loss);
    }
    char label[64];
    std::snprintf(label, sizeof label, "lowest possible %.4f", best);
    by_updates.add(label, {1.0, static_cast<double>(results[1].loss.size() - 1)}, {best, best});
    by_examples.add(label, {1.0, static_cast<double>(kEpochs) * static_cast<double>(n)},
                    {best, best});
    by_updates.log_x().save("update_styles_updates.svg", 820, 460);
    by_examples.log_x().save("update_styles_examples.svg", 820, 460);
    std::printf("\nwrote update_styles_updates.svg and update_styles_examples.svg\n");

    const Result &full = results[0], &sgd = results[1], &mini = results[2];
    std::printf(
        "\nWhat it shows: per update, a mini-batch of 64 makes about the progress of the full\n"
        "batch (its gradient is close to the full one) for a sixth of the rows. Per example seen,\n"
        "the stochastic path gets low first (after one epoch %.4f against %.4f for full batch)\n"
        "but then wanders: %.0f%% of its updates raise the loss, and one row at a time is the\n"
        "slowest per epoch. Full batch never goes uphill, but after %d epochs (%d updates) it is\n"
        "still at %.4f, where mini-batches reached %.4f.\n",
        sgd.loss[sgd.updates_per_epoch], full.loss[full.updates_per_epoch],
        100.0 * raised_share(sgd), kEpochs, kEpochs, full.loss.back(), mini.loss.back());
}

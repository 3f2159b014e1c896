// Logistic regression on 2 000 000 rows by mini-batch SGD, the "simple application" of seed
// text 000: "Fitting logistic regression on 2M rows uses mini-batch SGD, not one matrix solve.
// Ops sees training loss curves; product sees precision after thresholding."
//
// The rows are synthetic and seeded, so the answer is known: 20 standard-normal features, a
// true rule z = w*·x + b* drawn from the same generator, and label y = 1 when z + noise > 0
// with logistic noise. That is exactly the logistic model P(y = 1 | x) = sigmoid(w*·x + b*),
// so the weights SGD finds should point the way w* points (cosine similarity near 1).
//
//   logistic_2m [ROWS] [EPOCHS]      (defaults 2000000 and 3)
//
// Writes logistic_2m_loss.svg (the loss per chunk of updates and per epoch) to the current
// directory.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/charts/plot.hpp>
#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include <vector>

#include "logistic_2m_data.hpp"

namespace tg = tapegrad;
namespace data = tapegrad::data;
namespace charts = tapegrad::charts;
namespace nn = tapegrad::nn;

namespace {

using logistic_2m::draw_rows;
using logistic_2m::kFeatures;
using logistic_2m::kHoldout;
using logistic_2m::kSeed;
using logistic_2m::Rule;
constexpr std::size_t kBatch = 256;
constexpr double kLr = 0.1;

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Mean binary cross-entropy of logits on a whole data set (no tape).
double log_loss(nn::Module& model, const data::Dataset& data) {
    tg::NoGrad no_grad;
    return nn::bce_with_logits(model(data.x), data.y).item();
}

// 2000000 -> "2 000 000"
std::string grouped(std::size_t n) {
    const std::string digits = std::to_string(n);
    std::string s;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) s += ' ';
        s += digits[i];
    }
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    const auto start = std::chrono::steady_clock::now();
    const std::size_t rows = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2'000'000;
    const int epochs = argc > 2 ? std::atoi(argv[2]) : 3;
    if (rows < kBatch || epochs < 1) {
        std::fprintf(stderr, "usage: logistic_2m [ROWS >= %zu] [EPOCHS >= 1]\n", kBatch);
        return 2;
    }

    // The true rule comes first from the generator, so anyone can redraw it from the seed:
    // w*_j = the first 20 normals of Generator(seed), b* = the 21st.
    tg::Generator gen(kSeed);
    const Rule rule = logistic_2m::draw_rule(gen);
    const data::Dataset holdout = draw_rows(kHoldout, rule, gen);  // the same for any ROWS
    const auto t_data = std::chrono::steady_clock::now();
    const data::Dataset train = draw_rows(rows, rule, gen);
    double positives = 0;
    for (float v : train.y.value<float>()) positives += v;
    std::printf(
        "Data: %zu training rows and %zu holdout rows, %zu standard-normal features "
        "(seed %llu), drawn in %.1f s;\n"
        "      x takes %.0f MB as float32; %.1f%% of the labels are 1.\n",
        rows, kHoldout, kFeatures, static_cast<unsigned long long>(kSeed), seconds_since(t_data),
        rows * kFeatures * 4 / 1e6, 100.0 * positives / rows);

    // Batches: a slice of consecutive rows is one memcpy; a shuffled DataLoader gathers 256
    // scattered rows. The rows are drawn independently, so consecutive ones are already in
    // random order; the order of the slices is shuffled every epoch.
    const std::size_t steps_per_epoch = rows / kBatch;  // a last partial batch is dropped
    {
        const std::size_t probe = std::min<std::size_t>(steps_per_epoch, 2000);
        auto t0 = std::chrono::steady_clock::now();
        for (std::size_t b = 0; b < probe; ++b)
            tg::slice_rows(train.x, b * kBatch, (b + 1) * kBatch);
        const double slice_us = seconds_since(t0) / probe * 1e6;
        data::DataLoader loader(train, {.batch_size = kBatch, .shuffle = true, .seed = 0});
        t0 = std::chrono::steady_clock::now();
        for (std::size_t b = 0; b < probe; ++b) loader.batch(b);
        const double loader_us = seconds_since(t0) / probe * 1e6;
        std::printf(
            "Batches of %zu rows: a slice of consecutive rows takes %.1f us, a shuffled "
            "DataLoader batch %.1f us:\n      training uses slices, in a new order every "
            "epoch.\n",
            kBatch, slice_us, loader_us);
    }

    nn::Linear model(kFeatures, 1, {.seed = 0});
    tg::optim::SGD opt(model.parameters(), {.lr = kLr});
    std::printf("\nMini-batch SGD: batch %zu, lr %.1f, %zu updates per epoch, %d epoch%s\n", kBatch,
                kLr, steps_per_epoch, epochs, epochs == 1 ? "" : "s");

    // The curves on a log scale of updates, where the fast start shows: at checkpoints 1, 1.5,
    // 2, 3, 4, 5, 7 times each power of ten (and every epoch's end) the holdout loss, and the
    // mean loss of the training batches since the previous checkpoint.
    const std::size_t total_steps = steps_per_epoch * static_cast<std::size_t>(epochs);
    std::vector<std::size_t> checkpoints;
    for (std::size_t decade = 1; decade <= total_steps; decade *= 10)
        for (std::size_t m : {10, 15, 20, 30, 40, 50, 70})
            if (decade * m / 10 <= total_steps) checkpoints.push_back(decade * m / 10);
    for (int e = 1; e <= epochs; ++e) checkpoints.push_back(steps_per_epoch * e);
    std::sort(checkpoints.begin(), checkpoints.end());
    checkpoints.erase(std::unique(checkpoints.begin(), checkpoints.end()), checkpoints.end());
    std::vector<double> train_x, train_curve, holdout_x, holdout_curve;
    std::size_t next = 0, since = 0, step = 0;
    double chunk_sum = 0, train_seconds = 0;

    std::printf("  epoch  train loss  holdout loss  million rows/s    time\n");
    std::printf("  %5d  %10s  %12.4f\n", 0, "", log_loss(model, holdout));
    for (int epoch = 1; epoch <= epochs; ++epoch) {
        const std::vector<std::size_t> order =
            data::permutation(steps_per_epoch, gen);  // the order of the slices
        double epoch_sum = 0, secs = 0;
        auto t0 = std::chrono::steady_clock::now();
        for (std::size_t b : order) {
            const tg::Tensor xb = tg::slice_rows(train.x, b * kBatch, (b + 1) * kBatch);
            const tg::Tensor yb = tg::slice_rows(train.y, b * kBatch, (b + 1) * kBatch);
            tg::Tape tape;
            const tg::Tensor loss = nn::bce_with_logits(model(xb), yb);
            opt.zero_grad();
            tape.backward(loss);
            opt.step();
            const double l = loss.item();
            epoch_sum += l;
            chunk_sum += l;
            ++since;
            if (++step == checkpoints[next]) {  // the holdout pass is left out of the timing
                secs += seconds_since(t0);
                train_x.push_back(std::sqrt(static_cast<double>(step - since + 1) * step));
                train_curve.push_back(chunk_sum / since);
                holdout_x.push_back(static_cast<double>(step));
                holdout_curve.push_back(log_loss(model, holdout));
                chunk_sum = 0;
                since = 0;
                ++next;
                t0 = std::chrono::steady_clock::now();
            }
        }
        secs += seconds_since(t0);
        train_seconds += secs;
        std::printf("  %5d  %10.4f  %12.4f  %14.1f  %4.2f s\n", epoch, epoch_sum / steps_per_epoch,
                    holdout_curve[next - 1], steps_per_epoch * kBatch / secs / 1e6, secs);
    }
    std::printf(
        "Training: %.2f s for %d epoch%s, %.1f million rows per second (%.1f us per update)\n",
        train_seconds, epochs, epochs == 1 ? "" : "s",
        epochs * steps_per_epoch * kBatch / train_seconds / 1e6, train_seconds / step * 1e6);
    for (std::size_t k = 0; k < holdout_x.size(); ++k)  // the fast start, in numbers
        if (holdout_x[k] == 10 || holdout_x[k] == 100 || holdout_x[k] == 1000)
            std::printf("Holdout loss after %4.0f updates: %.4f\n", holdout_x[k], holdout_curve[k]);

    // The true rule on the holdout rows: the best loss any model can reach (the noise is
    // irreducible), and the reference for precision and recall.
    nn::Linear truth(kFeatures, 1);
    for (std::size_t j = 0; j < kFeatures; ++j)
        truth.weight.mutable_value<float>()(0, j) = static_cast<float>(rule.w[j]);
    truth.bias.mutable_value<float>()(0) = static_cast<float>(rule.b);
    const double best_loss = log_loss(truth, holdout);
    std::printf("The true rule's holdout loss is %.4f: the floor set by the label noise.\n",
                best_loss);

    // Precision after thresholding the predicted probability, on the holdout rows.
    tg::Tensor prob, prob_true;
    {
        tg::NoGrad no_grad;
        prob = tg::sigmoid(model(holdout.x));
        prob_true = tg::sigmoid(truth(holdout.x));
    }
    std::printf("\nOn the %zu holdout rows, a row is flagged when P(y = 1) > threshold:\n",
                kHoldout);
    std::printf("  threshold  flagged  precision  recall   (true rule: precision  recall)\n");
    for (double t : {0.3, 0.5, 0.7, 0.9}) {
        const auto flagged = nn::metrics::predict_classes(prob, t);
        std::size_t n = 0;
        for (std::size_t c : flagged) n += c;
        std::printf("  %9.1f  %6.1f%%  %9.4f  %6.4f               %9.4f  %6.4f\n", t,
                    100.0 * n / kHoldout, nn::metrics::precision(prob, holdout.y, t),
                    nn::metrics::recall(prob, holdout.y, t),
                    nn::metrics::precision(prob_true, holdout.y, t),
                    nn::metrics::recall(prob_true, holdout.y, t));
    }
    std::printf("  accuracy at 0.5: %.4f (true rule %.4f)\n",
                nn::metrics::accuracy(prob, holdout.y, 0.5),
                nn::metrics::accuracy(prob_true, holdout.y, 0.5));

    // The recovered rule against the true one.
    const auto& w = model.weight.value<float>();
    double dot = 0, nw = 0, nt = 0;
    std::printf(
        "\nRecovered weights (the model is well specified, so they estimate w* itself):\n"
        "  weight      true   learned\n");
    for (std::size_t j = 0; j < kFeatures; ++j) {
        std::printf("  w[%2zu]  %8.4f  %8.4f\n", j, rule.w[j], static_cast<double>(w(0, j)));
        dot += rule.w[j] * w(0, j);
        nw += static_cast<double>(w(0, j)) * w(0, j);
        nt += rule.w[j] * rule.w[j];
    }
    std::printf("  bias    %8.4f  %8.4f\n", rule.b,
                static_cast<double>(model.bias.value<float>()(0)));
    std::printf("cosine similarity %.5f, |w| / |w*| = %.4f\n", dot / std::sqrt(nw * nt),
                std::sqrt(nw / nt));

    const std::string svg = "logistic_2m_loss.svg";
    charts::LinePlot plot("Logistic regression on " + grouped(rows) +
                              " rows: mini-batch SGD, batch " + std::to_string(kBatch) + ", lr 0.1",
                          "updates (log scale)", "log loss");
    plot.add("training batches", train_x, train_curve)
        .add("holdout rows", holdout_x, holdout_curve)
        .add("true rule (floor)", {1.0, static_cast<double>(total_steps)}, {best_loss, best_loss})
        .log_x();
    for (int e = 1; e <= epochs; ++e)
        plot.mark_x(static_cast<double>(steps_per_epoch * e), "epoch " + std::to_string(e));
    plot.save(svg);
    std::printf("\nWrote %s\nWall time %.1f s\n", std::filesystem::absolute(svg).c_str(),
                seconds_since(start));
}

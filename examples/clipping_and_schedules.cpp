// Gradient clipping and learning-rate schedules, the two safety tools of text 001: "add gradient
// clipping (e.g. clip global l2 norm to 1)" when the loss blows up, and "adjust the learning rate
// with a scheduler" (text 004: "start larger and decrease over time").
//
// Part 1. A small MLP (1-32-32-1, tanh) fits y = sin(2x) + noise with SGD (momentum 0.9) at a
// learning rate that is too large for it. Without clipping the loss first falls, then blows up
// (DivergenceGuard stops training and says so); with the global gradient norm clipped to 1
// (optim::clip_grad_norm between backward and step) the same rate trains to a small loss: the
// rare huge gradients are cut down to length 1, and most steps, whose gradients are shorter,
// are left alone.
//
// Part 2. The same model, data and loop (clipping on), SGD with momentum 0.9 and base rate 0.1,
// for 60 epochs with four schedules stepped once per epoch: constant, StepLR (halve every 15
// epochs), CosineAnnealingLR (to 0 over the 60 epochs), and a linear warm-up (LinearLR from 0.1x
// over 5 epochs) followed by a cosine decay over the other 55 (SequentialLR). The program prints
// the rate each schedule used in every epoch and the final losses. Charts:
// clipping_and_schedules_clipping.svg (loss per step with and without clipping),
// clipping_and_schedules_lr.svg (the four rate sequences) and
// clipping_and_schedules_loss.svg (the four loss curves).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common.hpp"

namespace {

constexpr double kBigLr = 0.2;  // too large for this model without clipping (part 1)
constexpr int kClipEpochs = 40;
constexpr double kBaseLr = 0.1;  // part 2
constexpr int kEpochs = 60;
constexpr int kWarmup = 5;

nn::Sequential make_model() {
    tg::manual_seed(3);  // the same initial weights in every run
    return nn::Sequential{nn::Linear(1, 32), nn::Tanh(), nn::Linear(32, 32), nn::Tanh(),
                          nn::Linear(32, 1)};
}

// 256 points x in [-3, 3), y = sin(2x) + 0.1 noise, seeded.
data::Dataset wave() {
    const std::size_t n = 256;
    tg::Tensor x = tg::uniform({n, 1}, -3.0, 3.0, /*seed=*/1);
    tg::Tensor noise = tg::randn({n, 1}, /*seed=*/2);
    tg::Tensor y = tg::zeros({n, 1});
    for (std::size_t i = 0; i < n; ++i)
        y.mutable_value<float>()(i, 0) =
            std::sin(2 * x.value<float>()(i, 0)) + 0.1f * noise.value<float>()(i, 0);
    return {x, y};
}

double full_loss(nn::Module& model, const data::Dataset& data) {
    tg::NoGrad no_grad;
    return mse(model(data.x), data.y).item();
}

enum class Schedule { constant, step, cosine, warmup_cosine };
constexpr Schedule kSchedules[] = {Schedule::constant, Schedule::step, Schedule::cosine,
                                   Schedule::warmup_cosine};

const char* name_of(Schedule s) {
    switch (s) {
        case Schedule::constant:
            return "constant";
        case Schedule::step:
            return "StepLR(15, 0.5)";
        case Schedule::cosine:
            return "cosine(60)";
        case Schedule::warmup_cosine:
            return "warm-up 5 + cosine";
    }
    return "";
}

struct Trace {
    std::vector<double> step_loss;              // the batch loss of every step
    std::vector<double> epoch_lr;               // the rate every step of an epoch used
    std::vector<double> epoch_loss;             // the loss on all points after each epoch
    std::size_t clipped = 0, clipped_late = 0;  // steps whose norm was cut (in the 2nd half)
    double max_norm = 0;                        // the largest norm before clipping
};

// Text 001's robust loop: mini-batches, backward, clip the global gradient norm to 1, step;
// after each epoch the schedule's step (once per epoch, after the optimizer's steps).
Trace train(const data::Dataset& data, double lr, int epochs, Schedule schedule) {
    nn::Sequential model = make_model();
    optim::SGD opt(model.parameters(), {.lr = lr, .momentum = 0.9});
    data::DataLoader loader(data, {.batch_size = 32, .seed = 0});
    std::vector<std::unique_ptr<optim::LRScheduler>> parts;  // kept alive while training
    optim::LRScheduler* scheduler = nullptr;
    switch (schedule) {
        case Schedule::constant:
            break;
        case Schedule::step:  // lr = base * 0.5^floor(epoch / 15)
            parts.push_back(std::make_unique<optim::StepLR>(
                opt, optim::StepLROptions{.step_size = 15, .gamma = 0.5}));
            break;
        case Schedule::cosine:  // lr = base * (1 + cos(pi * epoch / 60)) / 2
            parts.push_back(std::make_unique<optim::CosineAnnealingLR>(
                opt, optim::CosineAnnealingLROptions{.T_max = epochs}));
            break;
        case Schedule::warmup_cosine: {
            // epochs 0-4: lr = base * (0.1 + 0.9 * epoch / 5);
            // then lr = base * (1 + cos(pi * (epoch - 5) / 55)) / 2
            auto warmup = std::make_unique<optim::LinearLR>(
                opt, optim::LinearLROptions{.start_factor = 0.1, .total_iters = kWarmup});
            auto decay = std::make_unique<optim::CosineAnnealingLR>(
                opt, optim::CosineAnnealingLROptions{.T_max = epochs - kWarmup});
            parts.push_back(std::make_unique<optim::SequentialLR>(
                opt, optim::SequentialLROptions{.schedulers = {*warmup, *decay},
                                                .milestones = {kWarmup}}));
            parts.push_back(std::move(warmup));
            parts.push_back(std::move(decay));
            break;
        }
    }
    if (!parts.empty()) scheduler = parts.front().get();

    Trace t;
    for (int epoch = 0; epoch < epochs; ++epoch) {
        t.epoch_lr.push_back(opt.lr());
        for (auto [x, y] : loader) {
            {
                tg::Tape tape;
                tg::Tensor loss = mse(model(x), y);
                opt.zero_grad();
                tape.backward(loss);
                t.step_loss.push_back(loss.item());
            }
            // The norm of all gradients together before clipping; above 1 they are scaled to 1.
            const double norm = optim::clip_grad_norm(model.parameters(), 1.0);
            t.max_norm = std::max(t.max_norm, norm);
            t.clipped += norm > 1.0;
            t.clipped_late += norm > 1.0 && 2 * epoch >= epochs;
            opt.step();
        }
        t.epoch_loss.push_back(full_loss(model, data));
        if (scheduler) scheduler->step();
    }
    return t;
}

}  // namespace

int main() {
    const data::Dataset data = wave();
    std::printf("Gradient clipping and learning-rate schedules (texts 001, 004)\n");
    std::printf(
        "A 1-32-32-1 tanh MLP fits y = sin(2x) + noise on %zu points (mean squared "
        "error; SGD with\nmomentum 0.9, batches of 32; the noise alone leaves a loss "
        "of about 0.01).\n\n",
        data.size());

    // ---- Part 1: clipping ----------------------------------------------------------------
    std::printf("Part 1: lr %g, %d epochs, without and with clipping the gradient norm to 1\n",
                kBigLr, kClipEpochs);
    // Without clipping: fit with a DivergenceGuard, which stops at the blow-up and says so.
    std::vector<double> plain_loss;
    bool diverged = false;
    {
        nn::Sequential model = make_model();
        optim::SGD opt(model.parameters(), {.lr = kBigLr, .momentum = 0.9});
        data::DataLoader loader(data, {.batch_size = 32, .seed = 0});
        optim::DivergenceGuard guard;
        struct Record : optim::Callback {
            std::vector<double>* loss = nullptr;
            void on_batch_end(optim::TrainState& s) override { loss->push_back(s.batch_loss); }
        } record;
        record.loss = &plain_loss;
        const auto fitted = optim::fit(model, opt, mse, loader,
                                       {.epochs = kClipEpochs, .callbacks = {&record, &guard}});
        diverged = guard.diverged();
        if (diverged) {
            std::printf("  without clipping: diverged at step %lld: %s\n",
                        static_cast<long long>(guard.diverged_step()), fitted.stop_reason.c_str());
        } else {
            std::printf("  without clipping: did not diverge; final loss %.5f\n",
                        full_loss(model, data));
        }
    }
    // With clipping: the same start, the same batches.
    const Trace clipped = train(data, kBigLr, kClipEpochs, Schedule::constant);
    std::printf("  with clipping:    final loss on all points %.5f after %zu steps\n",
                clipped.epoch_loss.back(), clipped.step_loss.size());
    std::printf(
        "                    largest gradient norm %.3g; clipped in %zu of %zu steps "
        "(%zu in the second half)\n",
        clipped.max_norm, clipped.clipped, clipped.step_loss.size(), clipped.clipped_late);
    std::vector<double> plain_steps, clip_steps;
    for (std::size_t k = 1; k <= plain_loss.size(); ++k)
        plain_steps.push_back(static_cast<double>(k));
    for (std::size_t k = 1; k <= clipped.step_loss.size(); ++k)
        clip_steps.push_back(static_cast<double>(k));
    charts::LinePlot clip_chart("Learning rate 0.2: without clipping the loss blows up",
                                "optimizer step", "batch loss (log scale)");
    clip_chart.add("clipped to norm 1", clip_steps, clipped.step_loss)
        .add("without clipping", plain_steps, plain_loss)
        .log_y();
    if (diverged)
        clip_chart.mark_x(static_cast<double>(plain_loss.size()), "DivergenceGuard stops");
    clip_chart.save("clipping_and_schedules_clipping.svg", 820, 440);
    std::printf("  wrote clipping_and_schedules_clipping.svg\n");

    // ---- Part 2: schedules ---------------------------------------------------------------
    std::printf(
        "\nPart 2: base lr %g, clipping on, %d epochs, four schedules stepped once per "
        "epoch\n",
        kBaseLr, kEpochs);
    std::vector<Trace> traces;
    for (Schedule s : kSchedules) traces.push_back(train(data, kBaseLr, kEpochs, s));

    std::printf("\nThe learning rate each epoch used, and the loss on all points after it:\n");
    std::printf("%5s", "epoch");
    for (Schedule s : kSchedules) std::printf(" %19s", name_of(s));
    std::printf(" |");
    for (std::size_t i = 1; i <= traces.size(); ++i)
        std::printf(" %7s", ("loss " + std::to_string(i)).c_str());
    std::printf("\n");
    for (int e = 0; e < kEpochs; ++e) {
        std::printf("%5d", e + 1);
        for (const Trace& t : traces) std::printf(" %19.10g", t.epoch_lr[e]);
        std::printf(" |");
        for (const Trace& t : traces) std::printf(" %7.4f", t.epoch_loss[e]);
        std::printf("\n");
    }
    std::printf("\nFinal loss on all points, and the mean over the last 10 epochs:\n");
    for (std::size_t i = 0; i < traces.size(); ++i) {
        const auto& l = traces[i].epoch_loss;
        double last10 = 0;
        for (std::size_t k = l.size() - 10; k < l.size(); ++k) last10 += l[k] / 10;
        std::printf("  %zu. %-20s %.5f   %.5f\n", i + 1, name_of(kSchedules[i]), l.back(), last10);
    }

    std::vector<double> epochs;
    for (int e = 1; e <= kEpochs; ++e) epochs.push_back(e);
    charts::LinePlot lr_chart("Learning-rate schedules (one step per epoch)", "epoch",
                              "learning rate");
    charts::LinePlot loss_chart(
        "Loss under each schedule (base lr 0.1, gradients clipped to norm 1)", "epoch",
        "loss on all points (log scale)");
    for (std::size_t i = 0; i < traces.size(); ++i) {
        lr_chart.add(name_of(kSchedules[i]), epochs, traces[i].epoch_lr);
        loss_chart.add(name_of(kSchedules[i]), epochs, traces[i].epoch_loss);
    }
    lr_chart.save("clipping_and_schedules_lr.svg", 820, 440);
    loss_chart.log_y().save("clipping_and_schedules_loss.svg", 820, 440);
    std::printf("wrote clipping_and_schedules_lr.svg and clipping_and_schedules_loss.svg\n");

    std::printf(
        "\nWhat it shows: a rate that is too large does not have to be given up: clipping the\n"
        "gradient's length to 1 caps the few huge steps that would throw the weights away, and\n"
        "leaves the ordinary steps alone. A constant rate keeps the loss bouncing at the end\n"
        "(each mini-batch's step is as long as at the start); every decaying schedule lets the\n"
        "steps shrink and ends lower and smoother. The warm-up starts at a tenth of the rate,\n"
        "which costs a few epochs here; it matters for larger batches and models (text 001).\n");
}

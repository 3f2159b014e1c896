// LRFinder: the learning-rate range test (an exponential sweep of the lr over optimizer
// steps), and lr_find, which runs it through fit.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/formats/atomic_file.hpp"
#include "tapegrad/optim/callbacks.hpp"

namespace tapegrad::optim {

LRFinder::LRFinder(Options options) : options_(options) {
    const auto& o = options_;
    if (!(o.start_lr > 0))
        throw ValueError("LRFinder: start_lr must be > 0, got " + short_text(o.start_lr));
    if (!(o.end_lr > o.start_lr))
        throw ValueError("LRFinder: end_lr must be above start_lr (" + short_text(o.start_lr) +
                         "), got " + short_text(o.end_lr));
    if (o.num_steps < 2)
        throw ValueError("LRFinder: num_steps must be at least 2, got " +
                         std::to_string(o.num_steps));
    if (!(o.beta >= 0 && o.beta < 1))
        throw ValueError("LRFinder: beta must be in [0, 1), got " + short_text(o.beta));
    if (!(o.diverge_factor > 1))
        throw ValueError("LRFinder: diverge_factor must be > 1, got " +
                         short_text(o.diverge_factor));
    if (!(o.divide_by > 0))
        throw ValueError("LRFinder: divide_by must be > 0, got " + short_text(o.divide_by));
}

double LRFinder::lr_at(std::size_t k) const {
    // lr_k = start * (end / start)^(k / (num_steps - 1)): equal ratios between steps.
    const double t = static_cast<double>(k) / (options_.num_steps - 1);
    return options_.start_lr * std::pow(options_.end_lr / options_.start_lr, t);
}

void LRFinder::on_train_begin(TrainState& state) {
    result_ = LRFinderResult{};
    avg_ = 0;
    best_smoothed_ = 0;
    model_state_ = state.model.state_dict();
    optimizer_state_ = state.optimizer.state_dict();
    loader_epoch_ = state.loader.epoch();
    generator_state_ = default_generator().state();
}

void LRFinder::on_batch_begin(TrainState& state) {
    const double lr = lr_at(result_.lrs.size());
    for (auto& group : state.optimizer.param_groups()) group.lr = lr;
}

void LRFinder::on_batch_end(TrainState& state) {
    const std::size_t k = result_.lrs.size();
    const double loss = state.batch_loss;
    // fastai's smoothing: an exponential moving average, divided by 1 - beta^(k+1) so that the
    // early values are not pulled towards the 0 it starts from.
    avg_ = options_.beta * avg_ + (1 - options_.beta) * loss;
    const double smooth = avg_ / (1 - std::pow(options_.beta, static_cast<double>(k + 1)));
    result_.lrs.push_back(lr_at(k));
    result_.losses.push_back(loss);
    result_.smoothed.push_back(smooth);
    if (std::isfinite(smooth) && (k == 0 || smooth < best_smoothed_)) best_smoothed_ = smooth;
    const bool diverged = !std::isfinite(loss) || !std::isfinite(smooth) ||
                          smooth > options_.diverge_factor * best_smoothed_;
    if (diverged || k + 1 >= static_cast<std::size_t>(options_.num_steps)) {
        result_.diverged = diverged;
        state.stop_training = true;
        state.stop_reason = diverged ? "lr finder: the loss diverged at lr " + short_text(lr_at(k))
                                     : "lr finder: swept " + std::to_string(k + 1) + " rates";
    }
}

namespace {

// The index of the smallest finite value from index `first` on (npos when none).
std::size_t argmin_finite(const std::vector<double>& v, std::size_t first) {
    std::size_t best = std::string::npos;
    for (std::size_t i = first; i < v.size(); ++i)
        if (std::isfinite(v[i]) && (best == std::string::npos || v[i] < v[best])) best = i;
    return best;
}

}  // namespace

void LRFinder::on_train_end(TrainState& state) {
    // The suggestion: the lr at the minimum of the smoothed loss, / divide_by. The first tenth
    // of the steps is left out of the search: there the average holds a few batches, and one
    // easy batch at the first rates would be the minimum (suggesting a rate that learns
    // nothing). A minimum whose rate / divide_by is not above the sweep's first rate means the
    // loss never fell: no suggestion then (NaN).
    const std::size_t skip = std::max<std::size_t>(1, result_.lrs.size() / 10);
    std::size_t best = argmin_finite(result_.smoothed, skip);
    const bool searched = best != std::string::npos;
    if (!searched) best = argmin_finite(result_.smoothed, 0);
    if (best != std::string::npos) {
        result_.best_index = best;
        const double lr = result_.lrs[best] / options_.divide_by;
        if (searched && lr > result_.lrs.front()) result_.suggested_lr = lr;
    }
    // Put everything back as it was before the sweep.
    state.model.load_state_dict(model_state_);
    state.optimizer.load_state_dict(optimizer_state_);
    state.optimizer.zero_grad();
    state.loader.set_epoch(loader_epoch_);
    default_generator().set_state(generator_state_);
}

void LRFinderResult::save_csv(const std::filesystem::path& path) const {
    std::string text = "step,lr,loss,smoothed_loss\n";
    char buf[128];
    for (std::size_t i = 0; i < lrs.size(); ++i) {
        std::snprintf(buf, sizeof buf, "%zu,%.10g,%.10g,%.10g\n", i + 1, lrs[i], losses[i],
                      smoothed[i]);
        text += buf;
    }
    formats::write_file_atomically(path, text);
}

LRFinderResult lr_find(nn::Module& model, Optimizer& optimizer, const LossFn& loss,
                       data::DataLoader& loader, const LRFinderOptions& options) {
    LRFinder finder(options);
    const std::size_t per_epoch = loader.num_batches();
    if (per_epoch == 0) throw ValueError("lr_find: the loader has no batches");
    const auto steps = static_cast<std::size_t>(options.num_steps);
    const int epochs = static_cast<int>((steps + per_epoch - 1) / per_epoch);
    fit(model, optimizer, loss, loader, {.epochs = epochs, .callbacks = {&finder}});
    return finder.result();
}

}  // namespace tapegrad::optim

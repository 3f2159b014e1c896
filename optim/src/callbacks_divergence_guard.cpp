// DivergenceGuard: stop at a NaN, infinite or blown-up loss and put back the last good weights.
#include <cmath>
#include <utility>

#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/optim/callbacks.hpp"

namespace tapegrad::optim {

DivergenceGuard::DivergenceGuard(Options options) : options_(options) {
    if (!(options_.factor > 1))
        throw ValueError("DivergenceGuard: factor must be > 1, got " +
                         short_text(options_.factor, 4));
    if (options_.warmup_steps < 0)
        throw ValueError("DivergenceGuard: warmup_steps must be >= 0, got " +
                         std::to_string(options_.warmup_steps));
    if (!(options_.smoothing >= 0 && options_.smoothing < 1))
        throw ValueError("DivergenceGuard: smoothing must be in [0, 1), got " +
                         short_text(options_.smoothing, 4));
    if (!(options_.floor >= 0))
        throw ValueError("DivergenceGuard: floor must be >= 0, got " +
                         short_text(options_.floor, 4));
}

void DivergenceGuard::on_train_begin(TrainState& state) {
    params_ = state.optimizer.parameters();
    before_step_.clear();
    last_good_.clear();
    if (options_.restore_weights) {
        for (const auto& p : params_) {
            before_step_.push_back(p.detach());
            last_good_.push_back(p.detach());  // the start of training, until a step proves good
        }
    }
    best_ = std::numeric_limits<double>::infinity();
    average_ = 0.0;
    good_steps_ = 0;
    steps_ = 0;
    diverged_step_ = 0;
    diverged_ = false;
    have_good_ = false;
}

void DivergenceGuard::on_batch_begin(TrainState&) {
    // The weights this batch's loss will be measured on (copied into kept buffers).
    for (std::size_t i = 0; i < before_step_.size(); ++i) before_step_[i].copy_(params_[i]);
}

void DivergenceGuard::on_batch_end(TrainState& state) {
    ++steps_;
    const double loss = state.batch_loss;
    // The best smoothed loss, not the best batch: one easy mini-batch can score 100 times
    // below a hard one (seen on breast_cancer.csv with batches of 32) without any divergence.
    const double reference = std::max(best_, options_.floor);
    std::string what;
    if (!std::isfinite(loss)) {
        // "nan" whatever its sign bit (log of a negative number gives -nan on x86).
        what = "the loss became " + (std::isnan(loss) ? std::string("nan") : short_text(loss, 4));
    } else if (steps_ > options_.warmup_steps && std::isfinite(reference) &&
               loss > options_.factor * reference) {
        what = "the loss rose to " + short_text(loss, 4) + ", over " +
               short_text(options_.factor, 4) + " x the best smoothed loss " +
               short_text(best_, 4) + ",";
    }
    if (what.empty()) {  // a good step: its weights become the ones to go back to
        // The bias-corrected exponential average avg_k / (1 - beta^k), updated as
        // s_k = s_{k-1} + (loss - s_{k-1}) (1 - beta) / (1 - beta^k): s_1 is the first loss
        // exactly.
        ++good_steps_;
        const double b = options_.smoothing;
        average_ += (loss - average_) * (1 - b) / (1 - std::pow(b, good_steps_));
        best_ = std::min(best_, average_);
        std::swap(before_step_, last_good_);
        have_good_ = true;
        return;
    }
    diverged_ = true;
    diverged_step_ = state.global_step;
    std::string restored = "weights kept as they are";
    if (options_.restore_weights) {
        for (std::size_t i = 0; i < params_.size(); ++i) params_[i].copy_(last_good_[i]);
        restored = have_good_ ? "weights restored to the last good step"
                              : "weights restored to the start of training";
    }
    state.stop_training = true;
    state.stop_reason = what + " at epoch " + std::to_string(state.epoch + 1) + ", step " +
                        std::to_string(state.global_step) + " (batch " +
                        std::to_string(state.batch + 1) + "); " + restored +
                        "; try a smaller learning rate (now " +
                        short_text(state.optimizer.lr(), 4) + ")";
}

}  // namespace tapegrad::optim

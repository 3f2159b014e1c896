#pragma once
// Learning-rate schedules, as torch.optim.lr_scheduler of PyTorch 1.13: each one sets the
// lr of every parameter group of an optimizer, from the base LRs the groups had when the
// schedule was made. Constructing one applies epoch 0 (LinearLR already scales the lr).
//
// When to call step() is the user's choice, and it defines what an "epoch" of the schedule
// is: once per epoch (after the epoch's optimizer steps) makes step_size, T_max and
// total_iters count epochs; once per batch (after each opt.step()) makes them count
// optimizer steps. Call it after opt.step(), as PyTorch >= 1.1 requires. Each takes an
// options struct with PyTorch's argument names and defaults, as the optimizers do:
//
//   tg::optim::SGD opt(params, {.lr = 0.1, .momentum = 0.9});
//   tg::optim::LinearLR warmup(opt, {.start_factor = 0.1, .total_iters = 5});  // warm-up
//   tg::optim::CosineAnnealingLR decay(opt, {.T_max = 95});                  // then to 0
//   tg::optim::SequentialLR sched(opt, {.schedulers = {warmup, decay}, .milestones = {5}});
//   for (int epoch = 0; epoch < 100; ++epoch) { train_one_epoch(opt); sched.step(); }
//
// Arguments PyTorch requires (StepLR's step_size, ExponentialLR's gamma, CosineAnnealingLR's
// T_max) default to a value the constructor refuses, naming the option.
//
// Each schedule uses PyTorch's recursive ("chainable") form from the group's current lr,
// which equals the closed form noted beside it (to rounding) while nothing else changes lr.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

class LRScheduler {
  public:
    virtual ~LRScheduler() = default;
    LRScheduler(const LRScheduler&) = delete;
    LRScheduler& operator=(const LRScheduler&) = delete;

    // Advances one epoch and sets every group's lr.
    virtual void step();
    // The lr of each group set by the last step (or by the constructor).
    const std::vector<double>& get_last_lr() const { return last_lr_; }
    // The groups' learning rates when the schedule was made.
    const std::vector<double>& base_lrs() const { return base_lrs_; }
    // Epochs stepped so far (0 after construction).
    std::int64_t last_epoch() const { return last_epoch_; }
    Optimizer& optimizer() const { return *optimizer_; }

    // The counters ("last_epoch", "base_lrs.G", "last_lr.G"), float64 scalars; load throws
    // ValueError naming the key when one is missing or the group count differs. Loading does
    // not touch the groups' lr: restore the optimizer's state_dict too (it holds them).
    virtual StateDict state_dict() const;
    virtual void load_state_dict(const StateDict& state);

  protected:
    explicit LRScheduler(Optimizer& optimizer);
    // Applies epoch 0; the last line of every subclass constructor.
    void initial_step();
    // The recursive form: next lrs from the groups' current lrs, at epoch last_epoch().
    virtual std::vector<double> get_lr() const = 0;
    // The closed form at epoch last_epoch(), used to jump straight to an epoch (SequentialLR
    // at its milestones). The default throws ValueError.
    virtual std::vector<double> closed_form_lr() const;
    // Sets the epoch and applies the closed form (PyTorch's deprecated step(epoch)).
    void step_to(std::int64_t epoch);
    void apply(const std::vector<double>& lrs);
    std::vector<double> group_lrs() const;
    virtual std::string name() const = 0;

  private:
    friend class SequentialLR;
    Optimizer* optimizer_;
    std::vector<double> base_lrs_;
    std::vector<double> last_lr_;
    std::int64_t last_epoch_ = -1;
    std::uint64_t serial_;  // construction order, so SequentialLR finds the first one made
};

// A schedule given by a formula for each group's lr: PyTorch's recursive ("chainable") form,
// from the group's lr at the epoch before, and the closed form, from its base lr. StepLR,
// ExponentialLR, CosineAnnealingLR and LinearLR below are this class with their options: each
// is its options, their validation and its two formulas (in lr_scheduler.cpp, side by side).
template <class ScheduleOptions>
class FormulaLR : public LRScheduler {
  public:
    using Options = ScheduleOptions;
    // Throws ValueError naming the option that is out of its domain or required and missing.
    explicit FormulaLR(Optimizer& optimizer, Options options = {});
    const Options& options() const { return options_; }

  protected:
    std::vector<double> get_lr() const override;
    std::vector<double> closed_form_lr() const override;
    std::string name() const override;

  private:
    Options options_;
};

// lr = base_lr * gamma^floor(epoch / step_size).
struct StepLROptions {
    std::int64_t step_size = 0;  // required: epochs between two decays
    double gamma = 0.1;
};
using StepLR = FormulaLR<StepLROptions>;

// lr = base_lr * gamma^epoch.
struct ExponentialLROptions {
    double gamma = std::numeric_limits<double>::quiet_NaN();  // required
};
using ExponentialLR = FormulaLR<ExponentialLROptions>;

// lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2: half a cosine from
// base_lr down to eta_min over T_max epochs; beyond T_max it rises again (period 2 T_max),
// as PyTorch's does.
struct CosineAnnealingLROptions {
    std::int64_t T_max = 0;  // required: epochs of the half cosine
    double eta_min = 0.0;
};
using CosineAnnealingLR = FormulaLR<CosineAnnealingLROptions>;

// lr = base_lr * (start + (end - start) * min(epoch, total_iters) / total_iters): a linear
// warm-up from start_factor * base_lr to end_factor * base_lr, constant afterwards.
struct LinearLROptions {
    double start_factor = 1.0 / 3;
    double end_factor = 1.0;
    std::int64_t total_iters = 5;
};
using LinearLR = FormulaLR<LinearLROptions>;

// Built once, in lr_scheduler.cpp, with the formulas.
extern template class FormulaLR<StepLROptions>;
extern template class FormulaLR<ExponentialLROptions>;
extern template class FormulaLR<CosineAnnealingLROptions>;
extern template class FormulaLR<LinearLROptions>;

struct SequentialLROptions {
    std::vector<std::reference_wrapper<LRScheduler>> schedulers{};
    std::vector<std::int64_t> milestones{};  // one fewer than schedulers
};

// Runs schedulers[0] until milestones[0], then schedulers[1] from its epoch 0 (its closed
// form), and so on: warm-up then decay. All must drive this optimizer, made before any
// step; they stay owned by the caller and must outlive this. Construction restores the
// original learning rates and replays epoch 0 of schedulers[0] only, as PyTorch does.
class SequentialLR : public LRScheduler {
  public:
    using Options = SequentialLROptions;
    SequentialLR(Optimizer& optimizer, Options options);
    void step() override;
    // Its own counter plus each scheduler's state under "schedulers.K.".
    StateDict state_dict() const override;
    void load_state_dict(const StateDict& state) override;

  protected:
    std::vector<double> get_lr() const override { return group_lrs(); }
    std::string name() const override { return "SequentialLR"; }

  private:
    std::vector<std::reference_wrapper<LRScheduler>> schedulers_;
    std::vector<std::int64_t> milestones_;
};

enum class PlateauMode { min, max };
enum class ThresholdMode { rel, abs };

struct ReduceLROnPlateauOptions {
    PlateauMode mode = PlateauMode::min;  // min: the metric should fall (a loss); max: rise
    double factor = 0.1;                  // new lr = max(lr * factor, min_lr)
    std::int64_t patience = 10;           // epochs without improvement tolerated
    double threshold = 1e-4;              // what counts as an improvement, see ThresholdMode
    ThresholdMode threshold_mode = ThresholdMode::rel;  // rel: best * (1 -/+ threshold)
    std::int64_t cooldown = 0;  // epochs after a reduction during which bad epochs are not counted
    double min_lr = 0.0;
    double eps = 1e-8;  // a reduction smaller than this is skipped
};

// Divides the lr by 1/factor when the metric has not improved for more than `patience`
// epochs, as torch.optim.lr_scheduler.ReduceLROnPlateau. step(metric) once per evaluation.
class ReduceLROnPlateau {
  public:
    using Options = ReduceLROnPlateauOptions;
    // Throws ValueError naming the option when one is out of its domain.
    explicit ReduceLROnPlateau(Optimizer& optimizer, Options options = {});

    void step(double metric);
    const std::vector<double>& get_last_lr() const { return last_lr_; }
    double best() const { return best_; }
    std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
    bool in_cooldown() const { return cooldown_counter_ > 0; }
    std::int64_t last_epoch() const { return last_epoch_; }

    // "best", "num_bad_epochs", "cooldown_counter", "last_epoch", "last_lr.G".
    StateDict state_dict() const;
    void load_state_dict(const StateDict& state);

  private:
    bool is_better(double a, double best) const;
    Optimizer* optimizer_;
    Options options_;
    double best_;
    std::int64_t num_bad_epochs_ = 0;
    std::int64_t cooldown_counter_ = 0;
    std::int64_t last_epoch_ = 0;
    std::vector<double> last_lr_;
};

}  // namespace tapegrad::optim

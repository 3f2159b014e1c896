#pragma once
// The callbacks shipped with fit (fit.hpp): History, ProgressBar, EarlyStopping, LRFinder,
// DivergenceGuard and Checkpoint. Each takes an Options struct, so that
//
//   tg::optim::EarlyStopping stop({.monitor = "val_accuracy", .patience = 10});
//   tg::optim::Checkpoint save({.path = "run.npz", .every = 5});
//   tg::optim::fit(model, opt, loss, loader, {.epochs = 100, .callbacks = {&stop, &save}});
//
// Callbacks run in the order of FitOptions::callbacks at every hook. Epoch numbers in messages,
// files and plots are 1-based (the epochs a person counts); accessors return fit's 0-based
// TrainState::epoch.
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "tapegrad/autodiff/random.hpp"
#include "tapegrad/optim/fit.hpp"

namespace tapegrad::optim {

// ---- History ---------------------------------------------------------------------------

struct HistoryOptions {
    std::filesystem::path csv_path{};  // written at train end when not empty (save_csv)
};

// Every epoch's logs, as Keras's History (cleared when a training run begins). The files
// are also written when fit ends with an exception: a crashed run keeps its curve.
class History : public Callback {
  public:
    using Options = HistoryOptions;
    explicit History(Options options = {});

    void on_train_begin(TrainState& state) override;
    void on_epoch_end(TrainState& state, Logs& logs) override;
    void on_train_end(TrainState& state) override;

    const std::vector<Logs>& logs() const { return logs_; }
    const std::vector<int>& epochs() const { return epochs_; }  // 0-based, one per row
    // The value of one log in every epoch (NaN where an epoch lacks it).
    std::vector<double> values(const std::string& name) const;

    // Columns epoch (1-based), then every log name that occurs, sorted; one row per epoch;
    // numbers as %.10g, an empty cell where an epoch lacks a log. Written atomically
    // (formats::write_file_atomically); IoError naming the file on failure.
    void save_csv(const std::filesystem::path& path) const;

  private:
    Options options_;
    std::vector<Logs> logs_;
    std::vector<int> epochs_;
};

// ---- ProgressBar -----------------------------------------------------------------------

enum class ProgressMode {
    automatic,  // terminal when the stream is std::cout/cerr/clog on a tty, lines otherwise
    terminal,   // one live line per epoch, redrawn with '\r'
    lines,      // exactly one line per epoch, written when the epoch ends
};

struct ProgressBarOptions {
    ProgressMode mode = ProgressMode::automatic;
    // Terminal mode redraws at most this often (and always at an epoch's last batch), so that
    // tiny batches are not slowed down by writing to the terminal.
    double refresh_seconds = 0.05;
    int bar_width = 24;
};

// Terminal:  "Epoch 3/10  12/50 [#####...........]  loss: 0.4123  85.2 batch/s  ETA 0:01",
// redrawn in place, then replaced by "Epoch 3/10  50/50  0.6s  loss: ... - val_loss: ..."
// (the loss shown while running is the mean of the epoch's batch losses so far).
// Lines:     "Epoch 3/10  0.6s  loss: 0.4123 - val_loss: 0.4410 - lr: 0.01" once per epoch.
// In both modes a stop reason, when training ends with one, follows on a line of its own.
class ProgressBar : public Callback {
  public:
    using Options = ProgressBarOptions;
    explicit ProgressBar(std::ostream& stream = std::cout, Options options = {});

    void on_train_begin(TrainState& state) override;
    void on_epoch_begin(TrainState& state) override;
    void on_batch_end(TrainState& state) override;
    void on_epoch_end(TrainState& state, Logs& logs) override;
    void on_train_end(TrainState& state) override;

    bool terminal() const { return terminal_; }  // the mode chosen

  private:
    void draw(const TrainState& state, bool force);
    std::ostream* stream_;
    Options options_;
    bool terminal_ = false;
    double epoch_start_ = 0, last_draw_ = -1;
    double loss_sum_ = 0;
    std::size_t batches_ = 0;
    std::size_t last_width_ = 0;  // of the live line, to blank what a shorter one leaves
    bool open_ = false;           // a live line is on the screen without its newline
};

// ---- EarlyStopping ---------------------------------------------------------------------

enum class MonitorMode {
    automatic,  // max for accuracy, precision, recall, f1, r2 (and their val_), else min
    min,
    max,
};

struct EarlyStoppingOptions {
    // The log to watch. "val_loss" without validation falls back to "loss" (with a one-time
    // note on `notes`); any other missing name is a ValueError listing the logs there are.
    std::string monitor = "val_loss";
    MonitorMode mode = MonitorMode::automatic;
    // Epochs without improvement tolerated: training stops at the patience-th one.
    int patience = 5;
    // An improvement must beat the best by more than this: value < best - min_delta (min).
    double min_delta = 0.0;
    // Keep a copy of the weights (state_dict) of the best epoch and put it back when training
    // ends for any reason: stopped here, stopped by another callback, all epochs run, or an
    // exception (keras issue 12511: Keras restores only when it stopped training itself).
    bool restore_best_weights = true;
    std::ostream* notes = &std::cerr;  // nullptr: no note
};

class EarlyStopping : public Callback {
  public:
    using Options = EarlyStoppingOptions;
    explicit EarlyStopping(Options options = {});

    void on_train_begin(TrainState& state) override;
    void on_epoch_end(TrainState& state, Logs& logs) override;
    void on_train_end(TrainState& state) override;

    int best_epoch() const { return best_epoch_; }  // 0-based; -1 before any epoch
    double best_value() const { return best_; }
    bool stopped() const { return stopped_; }  // training was stopped by this callback
    // The log actually watched ("loss" after the fallback), once an epoch has ended.
    const std::string& monitor() const { return monitor_; }

  private:
    bool improved(double value) const;
    Options options_;
    std::string monitor_;
    bool maximize_ = false;
    double best_ = std::numeric_limits<double>::quiet_NaN();
    int best_epoch_ = -1;
    int wait_ = 0;
    bool stopped_ = false;
    bool noted_ = false;
    StateDict best_weights_;
};

// ---- LRFinder --------------------------------------------------------------------------

struct LRFinderOptions {
    double start_lr = 1e-7;
    double end_lr = 10.0;
    int num_steps = 100;          // optimizer steps of the sweep (spanning epochs if needed)
    double beta = 0.98;           // smoothing of the loss
    double diverge_factor = 4.0;  // stop when the smoothed loss exceeds this × its best
    double divide_by = 10.0;      // suggestion = lr at the smoothed minimum / divide_by
};

// What a sweep found: one entry per optimizer step.
struct LRFinderResult {
    std::vector<double> lrs, losses, smoothed;
    // lrs[best_index] / divide_by; NaN when that is not above the first rate (the loss never
    // fell) or the sweep ended within its first tenth.
    double suggested_lr = std::numeric_limits<double>::quiet_NaN();
    // argmin of the finite smoothed losses after the first tenth of the steps (of all of them
    // when the sweep ended within it)
    std::size_t best_index = 0;
    bool diverged = false;  // stopped before num_steps (smoothed loss blew up or NaN)

    // Columns step (1-based), lr, loss, smoothed_loss; %.10g; written atomically.
    void save_csv(const std::filesystem::path& path) const;
};

// The learning-rate range test (Smith 2015; fastai's lr_find): before step k (0-based) every
// group's lr is set to lr_k = start_lr * (end_lr / start_lr)^(k / (num_steps - 1)); the
// step's loss is recorded with an exponentially smoothed, bias-corrected copy:
//   avg_k = beta avg_{k-1} + (1 - beta) loss_k  (avg_{-1} = 0),  smoothed_k = avg_k / (1 -
//   beta^(k+1))
// The sweep stops after num_steps steps, or when smoothed_k > diverge_factor × min smoothed or
// a loss is not finite. The suggestion is "the largest rate before the curve turns up, divided
// by a factor": the lr at the minimum of the smoothed loss, divided by divide_by. The minimum
// is looked for after the first tenth of the steps (whose average holds too few batches), and
// there is no suggestion (NaN) when it would not be above the sweep's first rate.
// When training ends the finder puts back the model's weights (state_dict), the optimizer's
// state_dict (moments, step counts, every group's lr), the loader's epoch and the default
// random generator's state (Dropout), so training afterwards starts exactly where it was
// (only the gradients are dropped). Use it with lr_find, or as fit's only callback.
class LRFinder : public Callback {
  public:
    using Options = LRFinderOptions;
    // ValueError naming the option: start_lr <= 0, end_lr <= start_lr, num_steps < 2, beta
    // outside [0, 1), diverge_factor <= 1, divide_by <= 0.
    explicit LRFinder(Options options = {});

    void on_train_begin(TrainState& state) override;
    void on_batch_begin(TrainState& state) override;
    void on_batch_end(TrainState& state) override;
    void on_train_end(TrainState& state) override;

    const std::vector<double>& lrs() const { return result_.lrs; }
    const std::vector<double>& losses() const { return result_.losses; }
    const std::vector<double>& smoothed() const { return result_.smoothed; }
    double suggested_lr() const { return result_.suggested_lr; }
    const LRFinderResult& result() const { return result_; }
    const Options& options() const { return options_; }
    void save_csv(const std::filesystem::path& path) const { result_.save_csv(path); }

  private:
    double lr_at(std::size_t k) const;
    Options options_;
    LRFinderResult result_;
    double avg_ = 0, best_smoothed_ = 0;
    StateDict model_state_, optimizer_state_;
    std::uint64_t loader_epoch_ = 0;
    Generator::State generator_state_{};
};

// Runs fit with only an LRFinder for ceil(num_steps / batches per epoch) epochs and returns
// what it found; model, optimizer and loader are as they were afterwards.
LRFinderResult lr_find(nn::Module& model, Optimizer& optimizer, const LossFn& loss,
                       data::DataLoader& loader, const LRFinderOptions& options = {});

// ---- DivergenceGuard -------------------------------------------------------------------

struct DivergenceGuardOptions {
    // A batch loss above factor × max(best smoothed loss so far, floor) is a blow-up (the
    // first step's loss is the first reference)...
    double factor = 100.0;
    // ...where the smoothed loss is the bias-corrected exponential average of the good batch
    // losses with this beta (0: the best single batch, which mini-batch noise can fool).
    double smoothing = 0.9;
    // ...checked once this many steps have run: raise it when the first batch losses are too
    // noisy to compare with. Losses of the warm-up count as good unless NaN or ±inf, which are
    // caught from the first step.
    int warmup_steps = 0;
    // For losses that approach 0, where a ratio to the best is too touchy.
    double floor = 0.0;
    bool restore_weights = true;
};

// Stops training at the first NaN, infinite or blown-up batch loss, puts back the weights of
// the last good step and says what happened, e.g.
//   "the loss became nan at epoch 3, step 17 (batch 5); weights restored to the last good
//    step; try a smaller learning rate (now 1.2)"
// A batch's loss is measured on the weights from before its step, so "the weights of the last
// good step" are those on which the last good loss was measured (before that step's update):
// a copy of the parameters is taken before each step (on_batch_begin) and kept when the loss
// proves good. Cost: one copy of every parameter per batch (a memcpy, small next to the
// forward and backward passes, which read each weight several times) and twice the
// parameters' memory. Optimizer state (momentum) is not restored: training stops anyway.
class DivergenceGuard : public Callback {
  public:
    using Options = DivergenceGuardOptions;
    explicit DivergenceGuard(Options options = {});

    void on_train_begin(TrainState& state) override;
    void on_batch_begin(TrainState& state) override;
    void on_batch_end(TrainState& state) override;

    bool diverged() const { return diverged_; }
    double best_loss() const { return best_; }
    std::int64_t diverged_step() const { return diverged_step_; }  // 1-based global step

  private:
    Options options_;
    std::vector<Tensor> params_, before_step_, last_good_;
    double best_ = std::numeric_limits<double>::infinity();  // best smoothed loss
    double average_ = 0.0;
    int good_steps_ = 0;
    std::int64_t steps_ = 0;  // steps seen in this run
    std::int64_t diverged_step_ = 0;
    bool diverged_ = false;
    bool have_good_ = false;
};

// ---- Checkpoint ------------------------------------------------------------------------

struct CheckpointOptions {
    std::filesystem::path path{};  // one .npz, overwritten atomically at each save
    int every = 1;                 // save after every this many completed epochs...
    bool save_at_end = true;       // ...and when training ends after an unsaved complete epoch
};

// Saves everything needed to resume training bit for bit with save_training_checkpoint
// (checkpoint.hpp): model, optimizer, the run's scheduler and plateau state, the number of
// completed epochs, the loader's epoch and the step count. A partial epoch (stopped mid-way)
// is never saved as complete, and nothing is saved when fit is leaving with an exception.
// To continue: build model, optimizer, scheduler and loader as before, then
//   int start = tg::optim::resume("run.npz", model, opt, &sched);
//   tg::optim::fit(model, opt, loss, loader, {.epochs = 6, .scheduler = &sched,
//                                            .initial_epoch = start});
// A checkpoint is where to resume, not the best model: EarlyStopping's restored weights are
// saved only by a save at train end that runs after it.
class Checkpoint : public Callback {
  public:
    using Options = CheckpointOptions;
    // ValueError for an empty path or every < 1.
    explicit Checkpoint(Options options);

    void on_train_begin(TrainState& state) override;
    void on_epoch_end(TrainState& state, Logs& logs) override;
    void on_train_end(TrainState& state) override;

    int saved_epochs() const { return saved_epochs_; }  // completed epochs in the file; -1: none
    int saves() const { return saves_; }                // files written in this run

  private:
    void save(const TrainState& state, int completed);
    Options options_;
    int completed_ = 0;
    int saved_epochs_ = -1;
    int saves_ = 0;
};

// Loads a checkpoint written by Checkpoint into model, optimizer and the schedules (each must
// be given exactly when the file holds its state: ValueError otherwise, and nothing changes on
// any error) and returns the number of completed epochs, to pass as FitOptions::initial_epoch.
int resume(const std::filesystem::path& path, nn::Module& model, Optimizer& optimizer,
           LRScheduler* scheduler = nullptr, ReduceLROnPlateau* plateau = nullptr);

}  // namespace tapegrad::optim

#pragma once
// The training loop, as Keras's model.fit: epochs of mini-batches from a DataLoader, the loss
// and metrics of every epoch on the training and validation data, an optional LR schedule, and
// callbacks that watch, stop or change training (callbacks.hpp has the shipped ones).
//
//   tg::optim::Adam opt(model.parameters(), {.lr = 1e-3});
//   tg::optim::EarlyStopping stop({.patience = 5});
//   auto bce = [](const tg::Tensor& out, const tg::Tensor& y) {
//       return tg::nn::bce_with_logits(out, y);
//   };
//   auto history = tg::optim::fit(model, opt, bce, loader,
//                                 {.epochs = 100, .validation = &val, .metrics = {"accuracy"},
//                                  .callbacks = {&stop}});
//
// One epoch of fit:
//   on_epoch_begin
//   for each batch (x, y) of the loader:
//       on_batch_begin; model.train();
//       batch_loss = optimizer.step(closure), where closure() is: a Tape; out = model(x);
//           l = loss(out, y); optimizer.zero_grad(); tape.backward(l); on_after_backward
//           (it may change the gradients and the loss: data-parallel training sums them over
//           processes); (the tape ends) return the loss
//       ++global_step; scheduler.step() when schedule_every is batch; on_batch_end;
//       stop_training ends the epoch here (partial_epoch)
//   logs: "loss" = the mean of the batch losses weighted by their rows; the training metrics
//         on the outputs the batches produced (in train mode, before their step: Keras's
//         convention); "lr" = group 0's lr at the epoch's first step; "val_loss" and
//         "val_<metric>" from evaluate() on the validation set
//   scheduler.step() when schedule_every is epoch; plateau->step(val_loss, else loss)
//   on_epoch_end(state, logs); the logs go into the result; verbose prints them
//
// Every optimizer is driven through step(closure): a first-order one (SGD, Adam, ...) calls
// the closure once and then updates, as Optimizer's default step(closure) does, so its
// training is the usual record-backward-step; a closure optimizer (LBFGS, Newton) calls it as
// often as it needs, and one batch is one of its steps. Give such an optimizer a loader whose
// batch is the whole training set (batch_size >= rows; shuffle off, so that every step sums
// the rows in the same order) for the full-batch method it is made for: an epoch is then one
// L-BFGS or Newton step, with the same callbacks, logs and stop reasons as any other. The
// batch's loss is the one step() returns (at the weights the step started from), and its
// training metrics come from the outputs of that same evaluation.
//
// The training metrics keep the (detached) outputs and targets of the epoch's batches and
// compute each metric once at the end on all of them, so they equal nn::metrics on those rows
// exactly; that costs one copy of the outputs per epoch, and nothing when no metric is asked.
//
// Errors thrown by the model, the loss, the optimizer or a callback leave fit unchanged (the
// same exception object), after on_train_end has run with state.failed set: so EarlyStopping
// and LRFinder still put the weights back and History still writes its files. Exceptions from
// on_train_end during that are dropped in favour of the original one. Either way the model
// ends in the mode (train/eval) it had when fit began.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/data/data_loader.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/optim/lr_scheduler.hpp"
#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

// loss(model output, target) -> a scalar tensor recorded on the tape.
using LossFn = std::function<Tensor(const Tensor& output, const Tensor& target)>;

// Per-epoch numbers by name: "loss", "val_loss", "accuracy", "val_accuracy", "lr", ...
using Logs = std::map<std::string, double>;

struct TrainState;

// A callback overrides what it needs; every hook has an empty default.
class Callback {
  public:
    virtual ~Callback() = default;
    virtual void on_train_begin(TrainState&) {}
    virtual void on_epoch_begin(TrainState&) {}
    virtual void on_batch_begin(TrainState&) {}
    // Between backward and the optimizer step, in every evaluation of the step's closure (a
    // closure optimizer evaluates it several times): the parameters' grad and
    // state.batch_loss hold this evaluation's gradients and loss, and a hook may change both
    // (data-parallel training averages them over processes); the step uses what it leaves.
    virtual void on_after_backward(TrainState&) {}
    // After the optimizer step of a batch; state.batch_loss holds that batch's loss.
    virtual void on_batch_end(TrainState&) {}
    // After the epoch's validation; logs hold the epoch's numbers.
    virtual void on_epoch_end(TrainState&, Logs&) {}
    virtual void on_train_end(TrainState&) {}
};

// What callbacks see and may change.
struct TrainState {
    nn::Module& model;
    Optimizer& optimizer;
    data::DataLoader& loader;
    // 0-based and counted from the start of training, as Keras counts: a run resumed with
    // initial_epoch = 3 starts at epoch 3 (not 0). Messages print it 1-based.
    int epoch = 0;
    int epochs = 0;         // FitOptions::epochs: training ends before this epoch
    std::size_t batch = 0;  // within the epoch
    // Optimizer steps since the start of training; a resumed run starts at
    // initial_epoch * loader.num_batches(). fit counts the step before on_batch_end.
    std::int64_t global_step = 0;
    double batch_loss = 0.0;
    bool stop_training = false;  // a callback sets it to end after the current batch / epoch
    std::string stop_reason{};   // and says why (printed by fit when verbose)
    // The schedules of this run (FitOptions), so that a callback can save them (Checkpoint).
    LRScheduler* scheduler = nullptr;
    ReduceLROnPlateau* plateau = nullptr;
    int initial_epoch = 0;
    // In on_epoch_end: stop_training ended this epoch before its last batch.
    bool partial_epoch = false;
    // In on_train_end: an exception is leaving fit (it is rethrown after the callbacks).
    bool failed = false;
    // In on_batch_end when FitOptions::metrics is not empty: the batch's (detached) outputs
    // and targets, from which the epoch's training metrics are computed.
    Tensor batch_output{}, batch_target{};
};

enum class ScheduleEvery { epoch, batch };

struct FitOptions {
    int epochs = 10;
    const data::Dataset* validation = nullptr;  // evaluated in eval mode, in NoGrad, each epoch
    std::size_t validation_batch_size = 1024;
    // "accuracy", "precision", "recall", "f1" (scores thresholded at 0 for logits [N, 1]),
    // "mse", "mae", "r2"; computed on the training rows seen in the epoch and on validation.
    std::vector<std::string> metrics{};
    double threshold = 0.0;  // for the binary metrics: 0 for logits, 0.5 for probabilities
    LRScheduler* scheduler = nullptr;
    ScheduleEvery schedule_every = ScheduleEvery::epoch;
    // ReduceLROnPlateau is not an LRScheduler (its step takes the metric), so it has its own
    // field: stepped after every epoch with val_loss when there is validation, else loss.
    ReduceLROnPlateau* plateau = nullptr;
    std::vector<Callback*> callbacks{};
    // Resume: the epoch to start from (what optim::resume returns). When it is above 0 the
    // loader is set to that epoch (loader.set_epoch), so that training epoch e always draws
    // the loader's epoch e and a resumed run sees the batches of an unbroken one; with 0 the
    // loader is left where it is.
    int initial_epoch = 0;
    bool verbose = false;  // one line per epoch on stdout (ProgressBar gives more)
};

// Per-epoch logs, in order (only the epochs this call ran).
struct FitResult {
    std::vector<Logs> epochs;
    std::string stop_reason;  // empty when all epochs ran
};

// Throws ValueError for bad options (an unknown metric names it and lists the known ones;
// epochs < initial_epoch, a scheduler of another optimizer, a loader with no batches, an
// empty validation set, a null callback), and for a NaN or infinity in the training or
// validation data, naming the row and column (one pass over the data when fit starts).
// On the first batch it warns on stderr about tensors that require grad and took part in
// the loss but are not among the optimizer's parameters (unregistered_leaves): most often a
// layer a custom module forgot to register_module, whose weights would never train.
FitResult fit(nn::Module& model, Optimizer& optimizer, const LossFn& loss, data::DataLoader& train,
              const FitOptions& options = {});

// The mean loss and metrics of a model over a data set (eval mode, NoGrad, batched): "loss"
// is the mean of the batch losses weighted by their rows (the loss of the whole set for a
// mean-reduced loss, to rounding), the metrics are computed once on all the outputs. The
// model's mode is restored afterwards.
Logs evaluate(nn::Module& model, const LossFn& loss, const data::Dataset& data,
              const std::vector<std::string>& metrics = {}, double threshold = 0.0,
              std::size_t batch_size = 1024);

// The leaves that require grad and were recorded by `tape` (as inputs of its operations) but
// are not among `params`, in the order first used: what a forward pass reached that an
// optimizer over `params` would never update. A tensor frozen on purpose is left out by
// requires_grad_(false).
std::vector<Tensor> unregistered_leaves(const Tape& tape, const std::vector<Tensor>& params);

// One of FitOptions::metrics by name, on outputs and targets (ValueError for an unknown name).
double compute_metric(const std::string& name, const Tensor& output, const Tensor& target,
                      double threshold);

// "loss: 0.1234 - accuracy: 0.95 - val_loss: 0.2 - val_accuracy: 0.9 - lr: 0.01": training
// numbers first (loss leading), then validation, then lr; %.4g.
std::string format_logs(const Logs& logs);

}  // namespace tapegrad::optim

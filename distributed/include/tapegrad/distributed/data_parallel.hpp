#pragma once
// Data-parallel training with optim::fit, as PyTorch's DistributedDataParallel and Horovod do
// it: every process holds the whole model, trains on its own share of each batch, and the
// gradients are summed over processes (MPI_Allreduce) between backward and the optimizer step,
// so that every process takes the same step, the one a single process would take on the whole
// batch. The optimizers and schedules do not know about it.
//
//   tg::distributed::Environment mpi(argc, argv);
//   data::DataLoader loader(train, tg::distributed::shard({.batch_size = 128, .seed = 0}));
//   tg::optim::ProgressBar progress;                    // give it to rank 0 only
//   std::vector<tg::optim::Callback*> callbacks;
//   if (tg::distributed::is_root()) callbacks.push_back(&progress);
//   tg::distributed::fit(model, opt, loss, loader, {.epochs = 10, .callbacks = callbacks});
//
// What is the same as one process with the same global batch and seed: the order of the rows,
// the steps (to the rounding of the sums, about 1e-16 relative in float64), the logs ("loss"
// and the training metrics are those of the whole batches, validation is evaluated whole on
// every rank), early stopping and the divergence guard (they see the same numbers everywhere).
// What differs: each rank draws its own random numbers (Dropout masks), and files and output
// are the caller's to limit to rank 0 (is_root).
#include <string>
#include <vector>

#include "tapegrad/data/data_loader.hpp"
#include "tapegrad/distributed/collectives.hpp"
#include "tapegrad/optim/fit.hpp"

namespace tapegrad::distributed {

// The options with this process's rank and the world size filled in: its share of every batch.
data::DataLoaderOptions shard(data::DataLoaderOptions options);

// The callback that makes fit data-parallel (distributed::fit puts it first in the list). At
// train begin it broadcasts rank 0's parameters and buffers; after every backward it sums the
// gradients and the loss over ranks, each weighted by this rank's share of the batch's rows
// (so fit's epoch loss is every rank's); at epoch end it replaces the training metrics by
// those of all ranks' rows.
class DataParallel : public optim::Callback {
  public:
    // The optimizer's parameters, and FitOptions' metrics and threshold (to recompute them).
    explicit DataParallel(std::vector<Tensor> params, std::vector<std::string> metrics = {},
                          double threshold = 0.0);

    void on_train_begin(optim::TrainState& state) override;
    void on_epoch_begin(optim::TrainState& state) override;
    void on_after_backward(optim::TrainState& state) override;
    void on_batch_end(optim::TrainState& state) override;
    void on_epoch_end(optim::TrainState& state, optim::Logs& logs) override;

    const GradientAllreduce& gradients() const { return gradients_; }

  private:
    GradientAllreduce gradients_;
    std::vector<std::string> metrics_;
    double threshold_ = 0.0;
    std::vector<Tensor> outputs_, targets_;  // this rank's, for the training metrics
};

// optim::fit over the processes of the run: `train` must be sharded (shard(), ValueError
// otherwise). A DataParallel callback goes first in options.callbacks, and verbose is kept on
// rank 0 only; with one process (or without an Environment) it is optim::fit. An exception
// on any rank ends every rank (abort, with that rank's message and status 1), since the
// others would wait for it forever; with one process it is rethrown.
// `stats`, when given, receives what the gradient allreduce cost.
optim::FitResult fit(nn::Module& model, optim::Optimizer& optimizer, const optim::LossFn& loss,
                     data::DataLoader& train, optim::FitOptions options = {},
                     AllreduceStats* stats = nullptr);

}  // namespace tapegrad::distributed

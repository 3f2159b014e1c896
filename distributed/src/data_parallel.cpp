// DataParallel: fit's gradients, losses and metrics summed over the processes of an MPI run.
#include "tapegrad/distributed/data_parallel.hpp"

#include <string>

#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/autodiff/ops.hpp"
#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/distributed/environment.hpp"

namespace tapegrad::distributed {

data::DataLoaderOptions shard(data::DataLoaderOptions options) {
    options.rank = static_cast<std::size_t>(rank());
    options.world_size = static_cast<std::size_t>(world_size());
    return options;
}

DataParallel::DataParallel(std::vector<Tensor> params, std::vector<std::string> metrics,
                           double threshold)
    : gradients_(std::move(params)), metrics_(std::move(metrics)), threshold_(threshold) {}

void DataParallel::on_train_begin(optim::TrainState& state) {
    broadcast_parameters(state.model);
}

void DataParallel::on_epoch_begin(optim::TrainState&) {
    outputs_.clear();
    targets_.clear();
}

// This rank's gradient and loss are means over its rows: weighted by its share of the batch,
// their sums over ranks are the means over the whole batch.
void DataParallel::on_after_backward(optim::TrainState& state) {
    const double weight = static_cast<double>(state.loader.batch_rows(state.batch)) /
                          static_cast<double>(state.loader.global_batch_rows(state.batch));
    state.batch_loss = gradients_.allreduce(weight, state.batch_loss * weight);
}

void DataParallel::on_batch_end(optim::TrainState& state) {
    if (state.batch_output.defined()) {
        outputs_.push_back(state.batch_output);
        targets_.push_back(state.batch_target);
    }
}

// fit's loss is already every rank's (on_after_backward summed each batch's); its metrics are
// this rank's rows' and name what to recompute on the rows of all ranks.
void DataParallel::on_epoch_end(optim::TrainState&, optim::Logs& logs) {
    if (outputs_.empty()) return;
    Tensor out, y;
    {
        NoGrad no_grad;
        out = allgather_rows(outputs_.size() == 1 ? outputs_[0] : concat(outputs_, 0));
        y = allgather_rows(targets_.size() == 1 ? targets_[0] : concat(targets_, 0));
    }
    for (const auto& m : metrics_) logs[m] = optim::compute_metric(m, out, y, threshold_);
}

optim::FitResult fit(nn::Module& model, optim::Optimizer& optimizer, const optim::LossFn& loss,
                     data::DataLoader& train, optim::FitOptions options, AllreduceStats* stats) {
    optim::FitResult result;
    run_or_abort([&] {
        const auto& lo = train.options();
        if (lo.world_size != static_cast<std::size_t>(world_size()) ||
            lo.rank != static_cast<std::size_t>(rank()))
            throw ValueError("distributed::fit: the loader is sharded for rank " +
                             std::to_string(lo.rank) + " of " + std::to_string(lo.world_size) +
                             ", but this is rank " + std::to_string(rank()) + " of " +
                             std::to_string(world_size()) +
                             " (build its options with distributed::shard)");
        // One process (or MPI not started): nothing to sum, and no MPI call to make.
        if (world_size() == 1) {
            result = optim::fit(model, optimizer, loss, train, options);
            return;
        }
        DataParallel parallel(optimizer.parameters(), options.metrics, options.threshold);
        options.callbacks.insert(options.callbacks.begin(), &parallel);
        options.verbose = options.verbose && is_root();
        result = optim::fit(model, optimizer, loss, train, options);
        if (stats) *stats = parallel.gradients().stats();
    });
    return result;
}

}  // namespace tapegrad::distributed

#pragma once
// DataLoader: mini-batches of a Dataset, as torch.utils.data.DataLoader. batch_size 1 is
// stochastic gradient descent, batch_size = N full batch, anything between mini-batch.
//
//   tg::data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 0});
//   for (int epoch = 0; epoch < 10; ++epoch)
//       for (auto [x, y] : loader) { ... }   // each pass over the loader is one epoch
//
// Only the rows of the current batch are copied. The order of epoch e depends only on the
// seed and e (a Generator seeded with splitmix64(splitmix64(seed) ^ e) shuffles the rows by
// Fisher-Yates), so a run resumed at epoch e (set_epoch) sees the same batches as the original.
#include <cstdint>
#include <utility>
#include <vector>

#include "tapegrad/data/dataset.hpp"

namespace tapegrad::data {

struct DataLoaderOptions {
    // Rows per batch; 0 is a ValueError. Larger than N means one batch of all N rows (also
    // with drop_last, where PyTorch would give none and silently train nothing).
    std::size_t batch_size = 32;
    bool shuffle = true;     // false: rows in order 0, 1, ..., N-1 every epoch
    bool drop_last = false;  // drop a last batch smaller than batch_size
    std::uint64_t seed = 0;
    // Data-parallel training: this process's share of every batch. Batch b of the epoch's
    // order (the batch one process would train on) is split into world_size contiguous parts
    // whose sizes differ by at most one row, and rank r gets part r; so every rank has the same
    // num_batches() and the same order. Each batch must have at least world_size rows.
    std::size_t rank = 0;
    std::size_t world_size = 1;
};

class DataLoader {
  public:
    // ShapeError when x and y disagree on N, ValueError for batch_size 0.
    DataLoader(Dataset data, DataLoaderOptions options = {});

    using Batch = std::pair<Tensor, Tensor>;  // (x, y)
    class iterator {
      public:
        using value_type = Batch;
        using difference_type = std::ptrdiff_t;
        Batch operator*() const;
        iterator& operator++();
        bool operator==(const iterator& o) const { return batch_ == o.batch_; }

      private:
        friend class DataLoader;
        iterator(const DataLoader* l, std::size_t b) : loader_(l), batch_(b) {}
        const DataLoader* loader_;
        std::size_t batch_;
    };
    // begin() starts the next epoch (a new order when shuffling); end() marks its end.
    iterator begin();
    iterator end() const;

    // ceil(N / batch_size), or floor with drop_last (1 when batch_size > N > 0).
    std::size_t num_batches() const;
    std::size_t size() const { return data_.size(); }  // rows
    const Dataset& dataset() const { return data_; }
    const DataLoaderOptions& options() const { return options_; }
    // The epoch the next begin() starts (0 at first); set it to resume.
    std::uint64_t epoch() const { return next_epoch_; }
    void set_epoch(std::uint64_t e) { next_epoch_ = e; }
    // Batch b of the current epoch's order (ValueError when b >= num_batches()); with
    // world_size > 1, this rank's part of it.
    Batch batch(std::size_t b) const;
    // Rows of batch b on this rank, and in the whole batch (all ranks together).
    std::size_t batch_rows(std::size_t b) const;
    std::size_t global_batch_rows(std::size_t b) const;
    // The row order of the current epoch: the one the last begin() started, epoch 0's before.
    const std::vector<std::size_t>& order() const { return order_; }
    // The row order of epoch e, without starting it.
    std::vector<std::size_t> order_of_epoch(std::uint64_t e) const;

  private:
    std::size_t rows_per_batch() const;
    std::pair<std::size_t, std::size_t> rows_range(std::size_t b) const;  // [first, last)

    Dataset data_;
    DataLoaderOptions options_;
    std::vector<std::size_t> order_;
    std::uint64_t order_epoch_ = 0;  // the epoch whose order order_ holds
    std::uint64_t next_epoch_ = 0;
};

}  // namespace tapegrad::data

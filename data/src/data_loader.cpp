// DataLoader: the per-epoch order and the gather of one batch's rows.
#include "tapegrad/data/data_loader.hpp"

#include <algorithm>
#include <string>

#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::data {

namespace {

// splitmix64's finaliser: a bijection that spreads every input bit over the output, so that
// neighbouring (seed, epoch) pairs give unrelated generator seeds.
std::uint64_t splitmix64(std::uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

}  // namespace

DataLoader::DataLoader(Dataset data, DataLoaderOptions options)
    : data_(std::move(data)), options_(options) {
    data_.size();  // ShapeError now rather than at the first batch
    if (options_.batch_size == 0)
        throw ValueError("DataLoader: batch_size must be at least 1, got 0");
    if (options_.world_size == 0 || options_.rank >= options_.world_size)
        throw ValueError("DataLoader: need rank < world_size, got rank " +
                         std::to_string(options_.rank) + " and world_size " +
                         std::to_string(options_.world_size));
    // A rank with no rows in a batch would have no loss to average; the last batch is the
    // smallest.
    const std::size_t last_rows = num_batches() ? global_batch_rows(num_batches() - 1) : 0;
    if (options_.world_size > 1 && num_batches() > 0 && last_rows < options_.world_size)
        throw ValueError("DataLoader: the last batch has " + std::to_string(last_rows) +
                         (last_rows == 1 ? " row" : " rows") + ", fewer than the " +
                         std::to_string(options_.world_size) +
                         " ranks that share it; use drop_last or another batch_size");
    order_ = order_of_epoch(0);
}

std::vector<std::size_t> DataLoader::order_of_epoch(std::uint64_t e) const {
    const std::size_t n = data_.size();
    if (!options_.shuffle) {
        std::vector<std::size_t> order(n);
        for (std::size_t i = 0; i < n; ++i) order[i] = i;
        return order;
    }
    Generator gen(splitmix64(splitmix64(options_.seed) ^ e));
    return permutation(n, gen);
}

std::size_t DataLoader::rows_per_batch() const {
    return std::min(options_.batch_size, std::max<std::size_t>(data_.size(), 1));
}

std::size_t DataLoader::num_batches() const {
    const std::size_t n = data_.size();
    const std::size_t b = rows_per_batch();
    return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::size_t DataLoader::global_batch_rows(std::size_t b) const {
    const std::size_t rows = rows_per_batch();
    return std::min(b * rows + rows, data_.size()) - std::min(b * rows, data_.size());
}

std::pair<std::size_t, std::size_t> DataLoader::rows_range(std::size_t b) const {
    const std::size_t count = num_batches();
    if (b >= count)
        throw ValueError("DataLoader::batch: batch " + std::to_string(b) + " is out of range for " +
                         std::to_string(count) + " batches");
    const std::size_t start = b * rows_per_batch(), n = global_batch_rows(b);
    const std::size_t r = options_.rank, w = options_.world_size;
    return {start + n * r / w, start + n * (r + 1) / w};
}

std::size_t DataLoader::batch_rows(std::size_t b) const {
    const auto [first, last] = rows_range(b);
    return last - first;
}

DataLoader::Batch DataLoader::batch(std::size_t b) const {
    const auto [first, last] = rows_range(b);
    std::vector<std::size_t> idx(order_.begin() + static_cast<std::ptrdiff_t>(first),
                                 order_.begin() + static_cast<std::ptrdiff_t>(last));
    Dataset part = data_.subset(idx);
    return {std::move(part.x), std::move(part.y)};
}

DataLoader::iterator DataLoader::begin() {
    // The constructor already drew epoch 0's order: a shuffle of 2M rows is 20-50 ms.
    if (next_epoch_ != order_epoch_) order_ = order_of_epoch(next_epoch_);
    order_epoch_ = next_epoch_++;
    return iterator(this, 0);
}

DataLoader::iterator DataLoader::end() const {
    return iterator(this, num_batches());
}

DataLoader::Batch DataLoader::iterator::operator*() const {
    return loader_->batch(batch_);
}

DataLoader::iterator& DataLoader::iterator::operator++() {
    ++batch_;
    return *this;
}

}  // namespace tapegrad::data

// Dataset rows, seeded permutations and the train / validation / test split.
#include "tapegrad/data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/autodiff/parallel.hpp"

namespace tapegrad::data {

namespace {

// A batch drawn from an array beyond the caches is mostly a cache and TLB miss a row, so its
// rows are copied in parts across tapegrad's threads, from 32 rows and 64 KiB a part: less is
// over before a worker wakes (logistic regression's 256 rows of 84 bytes took the same wall
// time on 2 threads and twice the CPU). A small array's rows stay on one thread.
constexpr std::size_t kLargeSourceBytes = std::size_t(32) << 20;
constexpr std::size_t kMinRowsPerThread = 32;
constexpr std::size_t kMinBytesPerThread = std::size_t(64) << 10;

// How many rows ahead gather_rows asks for: far enough to overlap several misses (8 rows of 80
// bytes are 16 to 24 lines; a row within one line, such as a label's, needs more rows for as
// many), near enough that the prefetched lines are still cached when their row is copied.
std::size_t rows_ahead(std::size_t row_bytes) {
    return row_bytes <= 64 ? 32 : 8;
}

// Rows idx of a row-major array, copied row by row, so only the chosen rows are touched. The
// first and last line of the row rows_ahead ahead are prefetched: each row is a cache miss,
// and waiting for them one at a time made logistic regression's epoch (2M rows of 80 bytes)
// 0.18 s, 0.13 s with the misses overlapped (the hardware prefetcher follows the lines within
// a longer row by itself). The copy is a loop, not a memcpy call: a call per row of 80 bytes
// (and of 4, for y) cost more than the copy itself.
template <class T>
Tensor gather_rows(const xt::xarray<T>& a, const std::vector<std::size_t>& idx) {
    Shape shape = a.shape();
    const std::size_t row = shape[0] == 0 ? 0 : a.size() / shape[0];
    shape[0] = idx.size();
    auto out = xt::xarray<T>::from_shape(shape);
    if (row == 0) return Tensor(std::move(out));
    T* dst = out.data();
    const T* src = a.data();
    const std::size_t ahead = rows_ahead(row * sizeof(T));
    const auto prefetch = [&](std::size_t i) {
        const T* from = src + idx[i] * row;
        __builtin_prefetch(from);
        __builtin_prefetch(from + row - 1);
    };
    const auto copy = [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < std::min(end, begin + ahead); ++i) prefetch(i);
        for (std::size_t i = begin; i < end; ++i) {
            if (i + ahead < end) prefetch(i + ahead);
            const T* from = src + idx[i] * row;
            T* to = dst + i * row;
            for (std::size_t j = 0; j < row; ++j) to[j] = from[j];
        }
    };
    if (a.size() * sizeof(T) < kLargeSourceBytes) {
        copy(0, idx.size());
    } else {
        const std::size_t row_bytes = row * sizeof(T);
        const std::size_t min_rows =
            std::max(kMinRowsPerThread, (kMinBytesPerThread + row_bytes - 1) / row_bytes);
        parallel_for(idx.size(), min_rows, 1, copy);
    }
    return Tensor(std::move(out));
}

Tensor gather(const Tensor& t, const std::vector<std::size_t>& idx) {
    if (t.dtype() == f32) return gather_rows(t.value<float>(), idx);
    return gather_rows(t.value<double>(), idx);
}

// Nearest whole number of rows, halves up.
std::size_t rows_for(double fraction, std::size_t n) {
    return static_cast<std::size_t>(std::floor(fraction * static_cast<double>(n) + 0.5));
}

void check_fraction(const char* name, double f) {
    if (!std::isfinite(f) || f < 0.0 || f >= 1.0)
        throw ValueError(std::string("split: the ") + name + " fraction must be in [0, 1), got " +
                         exact_text(f));
}

// The class label of every row of y (one column of whole numbers), for stratification.
std::vector<double> labels_of(const Tensor& y) {
    const Shape& s = y.shape();
    if (!(s.size() == 1 || (s.size() == 2 && s[1] == 1)))
        throw ValueError("split: stratify needs y of class labels [N] or [N, 1], got y " +
                         shape_str(s));
    const xt::xarray<double> v = y.to_array<double>();
    std::vector<double> out(v.begin(), v.end());
    for (std::size_t i = 0; i < out.size(); ++i)
        if (!std::isfinite(out[i]) || out[i] != std::floor(out[i]))
            throw ValueError("split: stratify needs whole-number class labels, but y in row " +
                             std::to_string(i) + " is " + exact_text(out[i]));
    return out;
}

// Shares total rows out among classes of the given sizes, each class c getting about
// fraction·n_c without going over capacity[c]: floors first, then one row each to the largest
// remainders (ties to the earlier class), repeated while rows are missing.
std::vector<std::size_t> share_out(double fraction, std::size_t total,
                                   const std::vector<std::size_t>& sizes,
                                   const std::vector<std::size_t>& capacity) {
    const std::size_t k = sizes.size();
    std::vector<std::size_t> got(k);
    std::vector<double> remainder(k);
    std::size_t given = 0;
    for (std::size_t c = 0; c < k; ++c) {
        const double exact = fraction * static_cast<double>(sizes[c]);
        got[c] = std::min(static_cast<std::size_t>(std::floor(exact)), capacity[c]);
        remainder[c] = exact - std::floor(exact);
        given += got[c];
    }
    std::vector<std::size_t> order(k);
    for (std::size_t c = 0; c < k; ++c) order[c] = c;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return remainder[a] > remainder[b]; });
    while (given < total) {
        bool progress = false;
        for (std::size_t c : order) {
            if (given == total) break;
            if (got[c] < capacity[c]) ++got[c], ++given, progress = true;
        }
        if (!progress) break;  // cannot happen: the caller leaves room for train
    }
    return got;
}

}  // namespace

std::size_t Dataset::size() const {
    if (!x.defined() || !y.defined())
        throw ShapeError(std::string("Dataset: ") + (x.defined() ? "y" : "x") + " is undefined");
    if (x.dim() == 0 || y.dim() == 0)
        throw ShapeError("Dataset: x and y need a first (row) axis, got x " + shape_str(x.shape()) +
                         " and y " + shape_str(y.shape()));
    if (x.shape()[0] != y.shape()[0])
        throw ShapeError("Dataset: x and y have different numbers of rows: x " +
                         shape_str(x.shape()) + ", y " + shape_str(y.shape()));
    return x.shape()[0];
}

Dataset Dataset::subset(const std::vector<std::size_t>& idx) const {
    const std::size_t n = size();
    for (std::size_t i = 0; i < idx.size(); ++i)
        if (idx[i] >= n)
            throw ValueError("Dataset::subset: index " + std::to_string(idx[i]) + " (position " +
                             std::to_string(i) + ") is out of range for " + std::to_string(n) +
                             " rows");
    return {gather(x, idx), gather(y, idx)};
}

std::vector<std::size_t> permutation(std::size_t n, Generator& gen) {
    std::vector<std::size_t> p(n);
    for (std::size_t i = 0; i < n; ++i) p[i] = i;
    // Fisher-Yates: position i - 1 takes a uniformly chosen element of p[0..i-1]. The draws
    // depend on the generator alone, not on p, so each is made kAhead swaps early and the
    // element it picks is prefetched: once p outgrows the caches (2M rows: 16 MB) every pick is
    // a cache miss, which the swap would otherwise wait for.
    constexpr std::size_t kAhead = 16;
    std::size_t ahead[kAhead];
    auto draw = [&](std::size_t i) {  // the pick for position i - 1 (i >= 2)
        const std::size_t j = gen.below(i);
        __builtin_prefetch(p.data() + j, 1);
        ahead[i % kAhead] = j;
    };
    for (std::size_t i = n; i > 1 && i + kAhead > n; --i) draw(i);
    for (std::size_t i = n; i > 1; --i) {
        const std::size_t j = ahead[i % kAhead];
        if (i > kAhead + 1) draw(i - kAhead);
        std::swap(p[i - 1], p[j]);
    }
    return p;
}

Split split(const Dataset& data, const SplitOptions& options) {
    check_fraction("validation", options.validation);
    check_fraction("test", options.test);
    const std::size_t n = data.size();
    const std::size_t n_val = rows_for(options.validation, n);
    const std::size_t n_test = rows_for(options.test, n);
    if (n_val + n_test >= n)
        throw ValueError("split: validation " + exact_text(options.validation) + " and test " +
                         exact_text(options.test) + " of " + std::to_string(n) + " rows take " +
                         std::to_string(n_val) + " + " + std::to_string(n_test) +
                         " rows and leave none for training");

    Generator gen(options.seed);
    const std::vector<std::size_t> perm = permutation(n, gen);

    // Per class (one class when not stratified): how many of its rows go to test and
    // validation; walking the permutation, a class's rows fill train, validation, test in turn.
    std::vector<std::size_t> cls(n, 0);
    std::vector<std::size_t> sizes{n};
    if (options.stratify) {
        const std::vector<double> labels = labels_of(data.y);
        std::map<double, std::size_t> index;  // label -> class number, in label order
        for (double l : labels) index.emplace(l, 0);
        std::size_t k = 0;
        for (auto& [label, c] : index) c = k++;
        sizes.assign(k, 0);
        for (std::size_t i = 0; i < n; ++i) ++sizes[cls[i] = index[labels[i]]];
    }
    const std::vector<std::size_t> test = share_out(options.test, n_test, sizes, sizes);
    std::vector<std::size_t> room(sizes.size());
    for (std::size_t c = 0; c < sizes.size(); ++c) room[c] = sizes[c] - test[c];
    const std::vector<std::size_t> val = share_out(options.validation, n_val, sizes, room);

    std::vector<std::size_t> seen(sizes.size(), 0);
    std::vector<std::size_t> train_idx, val_idx, test_idx;
    train_idx.reserve(n - n_val - n_test);
    val_idx.reserve(n_val);
    test_idx.reserve(n_test);
    for (std::size_t row : perm) {
        const std::size_t c = cls[row];
        const std::size_t k = seen[c]++;
        const std::size_t n_train_c = sizes[c] - test[c] - val[c];
        if (k < n_train_c)
            train_idx.push_back(row);
        else if (k < n_train_c + val[c])
            val_idx.push_back(row);
        else
            test_idx.push_back(row);
    }
    return {data.subset(train_idx), data.subset(val_idx), data.subset(test_idx)};
}

}  // namespace tapegrad::data

#pragma once
// A data set held in memory: features x [N, ...] and targets y [N, ...] (class indices as whole
// numbers in a float tensor [N], binary labels as [N, 1], regression targets [N] or [N, k]).
// Splits are seeded, so the same seed gives the same rows on every machine.
#include <cstdint>
#include <vector>

#include "tapegrad/autodiff/random.hpp"
#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad::data {

struct Dataset {
    Tensor x;
    Tensor y;

    // N; ShapeError when x or y is undefined or a scalar, or their first extents differ.
    std::size_t size() const;
    // The rows idx[0], idx[1], ... of x and y (copies; repeats allowed; no rows for an empty
    // idx). ValueError naming the index when one is not below size().
    Dataset subset(const std::vector<std::size_t>& idx) const;
};

// 0, 1, ..., n-1 shuffled by Fisher-Yates with Generator::below: the same permutation for the
// same generator state on every machine (std::shuffle's is left to the library).
std::vector<std::size_t> permutation(std::size_t n, Generator& gen);

struct SplitOptions {
    double validation = 0.2;  // fractions of the rows; train gets the rest
    double test = 0.0;
    std::uint64_t seed = 0;
    // Keep each class's share in every part (y holds class labels: one column of whole
    // numbers). Tables sorted by class (iris) need shuffling or this, never the last rows.
    bool stratify = false;
};

struct Split {
    Dataset train, validation, test;  // validation / test have no rows when their fraction is 0
};

// Shuffled (seeded) split. The parts are disjoint and together hold every row once, each in
// the order of one seeded permutation of the rows.
//
// Sizes: validation gets round(validation·N) rows and test round(test·N) (nearest, halves up),
// train the rest. Stratified, the same totals are shared out among the classes: class c with
// n_c rows first gets floor(fraction·n_c), then the rows still missing from the total go one
// each to the classes with the largest remainders fraction·n_c - floor(...) (ties to the
// smaller label; test is shared out before validation; a class with no rows left is passed
// over, round after round until the total is reached). A class's share of a part is thus
// within one row of fraction·n_c unless tiny classes ran out of rows.
//
// ValueError when a fraction is negative or not finite, or the fractions leave no train rows;
// with stratify, when y is not one column of whole numbers (naming the row and the value).
Split split(const Dataset& data, const SplitOptions& options = {});

}  // namespace tapegrad::data

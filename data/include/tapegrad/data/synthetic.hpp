#pragma once
// Synthetic data sets with a seed (the same rows on every machine): for examples, tests and
// benchmarks. Classes come as whole numbers in y [N] (float32 unless dtype says otherwise).
// Every generator draws from one tapegrad::Generator(seed) in a documented order, makes the
// rows class by class, and then shuffles them (Fisher-Yates, as data::permutation), so the
// classes are mixed in y. Class c gets n / classes rows, the first n % classes one more.
// ValueError for 0 classes or features, and for a negative or non-finite noise or std.
#include <cstdint>

#include "tapegrad/autodiff/dtype.hpp"
#include "tapegrad/data/dataset.hpp"

namespace tapegrad::data {

// Gaussian blobs, one per class, centres drawn in [-center_box, center_box]^features
// (scikit-learn's make_blobs; its make_classification in spirit for separable classes).
// Draws: the centres (uniform, class by class), then each row's offsets cluster_std·N(0, 1),
// then the shuffle. x [N, features].
Dataset make_blobs(std::size_t n, std::size_t features, std::size_t classes, std::uint64_t seed,
                   double cluster_std = 1.0, double center_box = 5.0, Dtype dtype = f32);
// Two interleaving half circles, x [N, 2], y in {0, 1}, Gaussian noise of this std, as
// scikit-learn's make_moons: n / 2 rows on the outer arc (cos t, sin t), label 0, and the rest
// on the inner arc (1 - cos t, 1 - sin t - 0.5), label 1, t evenly spaced over [0, pi] on each
// arc; then the shuffle, then noise·N(0, 1) added to every coordinate.
Dataset make_moons(std::size_t n, double noise, std::uint64_t seed, Dtype dtype = f32);
// Interleaved spiral arms, one per class, x [N, 2]: row i of m in arm k lies at radius
// r = (i + 1) / m and angle 2π (k / classes + r) (one full turn from the centre out), so
// neighbouring arms are 1 / classes apart along any ray; then the shuffle, then
// noise·N(0, 1) added to every coordinate.
Dataset make_spirals(std::size_t n, std::size_t classes, double noise, std::uint64_t seed,
                     Dtype dtype = f32);
// y = x·w + b + noise·N(0, 1), x standard normal [N, features]; the true w and b are returned
// too so that a fit can be compared with them. y is [N]. Draws: x row by row, then
// w = 100·U[0, 1) per feature (as scikit-learn's make_regression), then the noise per row
// (no shuffle). y is computed in float64 from x as stored (after rounding to dtype).
struct RegressionData {
    Dataset data;
    Tensor coef;  // [features], float64
    double intercept;
};
RegressionData make_regression(std::size_t n, std::size_t features, double noise,
                               std::uint64_t seed, double intercept = 0.0, Dtype dtype = f32);

}  // namespace tapegrad::data

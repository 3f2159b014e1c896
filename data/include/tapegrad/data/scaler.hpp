#pragma once
// Feature scaling, as scikit-learn's StandardScaler and MinMaxScaler: fit on the training rows
// only, then transform every split with the same numbers. A constant column (zero variance or
// zero range) is left alone (scale 1), never divided by zero. x is [N, F]; statistics are
// per column, in float64, whatever the dtype of x. Results are plain values (nothing is
// recorded on a tape) in the dtype of the input.
//
// Errors: transform, inverse_transform or state_dict before fit (or load_state_dict) is an
// Error saying to fit first; x that is not 2-D, or whose column count differs from the fitted
// one, is a ShapeError naming both counts; fit on no rows is a ValueError.
#include "tapegrad/autodiff/state_dict.hpp"
#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad::data {

class StandardScaler {
  public:
    StandardScaler& fit(const Tensor& x);     // mean and population std (ddof = 0), per column
    Tensor transform(const Tensor& x) const;  // (x - mean) / scale, same dtype as x
    Tensor inverse_transform(const Tensor& z) const;  // z · scale + mean
    Tensor fit_transform(const Tensor& x) { return fit(x).transform(x); }
    bool fitted() const { return mean_.defined(); }
    const Tensor& mean() const { return mean_; }    // [F], float64
    const Tensor& scale() const { return scale_; }  // [F], float64 (1 for constant columns)
    // "mean" and "scale", to save beside a model's weights (prefix them, e.g. "scaler.mean").
    StateDict state_dict() const;
    // Takes "mean" and "scale" ([F] each, either dtype); ValueError naming what is missing or
    // has the wrong shape, and then nothing is changed.
    void load_state_dict(const StateDict& state);

  private:
    Tensor mean_, scale_;
};

class MinMaxScaler {
  public:
    // Target range [low, high]; ValueError unless low < high.
    explicit MinMaxScaler(double low = 0.0, double high = 1.0);
    MinMaxScaler& fit(const Tensor& x);
    Tensor transform(const Tensor& x) const;  // low + (x - min) / range · (high - low)
    Tensor inverse_transform(const Tensor& z) const;
    Tensor fit_transform(const Tensor& x) { return fit(x).transform(x); }
    bool fitted() const { return min_.defined(); }
    const Tensor& min() const { return min_; }      // [F], float64
    const Tensor& range() const { return range_; }  // [F], float64: max - min (1 if constant)
    StateDict state_dict() const;  // "min", "range" [F]; "low", "high" scalars; all float64
    void load_state_dict(const StateDict& state);

  private:
    double low_, high_;
    Tensor min_, range_;
};

// One-hot rows [N, num_classes] from class labels [N] (or [N, 1]) holding whole numbers, in
// the dtype of labels; ValueError naming the row and the value for a label outside
// [0, num_classes), and for num_classes 0; ShapeError for labels of another shape.
Tensor one_hot(const Tensor& labels, std::size_t num_classes);

}  // namespace tapegrad::data

#pragma once
// The strong-Wolfe line search of torch.optim.LBFGS (PyTorch 1.13, _strong_wolfe and
// _cubic_interpolate in torch/optim/lbfgs.py, themselves ported from torch7's lswolfe.lua and
// polyinterp.lua), on flat double vectors. Private to tapegrad::optim.
#include <functional>
#include <optional>
#include <utility>
#include <vector>

namespace tapegrad::optim::detail {

using FlatVec = std::vector<double>;

// The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, clamped to
// bounds (default: [min(x1, x2), max(x1, x2)]); the middle of the bounds when the cubic has
// no real minimiser.
double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                         std::optional<std::pair<double, double>> bounds = std::nullopt);

struct LineSearchResult {
    double f;   // loss at the accepted step
    FlatVec g;  // gradient there
    double t;   // the step length
    int evals;  // loss evaluations used
};

// obj(t) returns the loss and gradient at x + t d (and leaves x unchanged). f, g and gtd are
// the loss, gradient and directional derivative g.d at t = 0; t is the first trial step.
LineSearchResult strong_wolfe(const std::function<std::pair<double, FlatVec>(double)>& obj,
                              double t, const FlatVec& d, double f, const FlatVec& g, double gtd,
                              double c1 = 1e-4, double c2 = 0.9, double tolerance_change = 1e-9,
                              int max_ls = 25);

// max(|v_i|), and the dot product, as the small helpers both files need.
double abs_max(const FlatVec& v);
double dot(const FlatVec& a, const FlatVec& b);

}  // namespace tapegrad::optim::detail

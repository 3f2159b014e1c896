#pragma once
// L-BFGS, a faithful port of torch.optim.LBFGS (PyTorch 1.13, torch/optim/lbfgs.py): every
// parameter is flattened into one vector x, and each step() runs up to max_iter iterations
//
//   d = -H g          (two-loop recursion over the last history_size pairs s = t d,
//                      y = g_new - g_old, kept when y.s > 1e-10; H0 = y.s / y.y)
//   t = lr            (min(1, 1 / |g|_1) * lr on the very first iteration)
//   x = x + t d       (t from a strong-Wolfe line search when line_search is strong_wolfe)
//
// stopping on |g|_inf <= tolerance_grad, |t d|_inf <= tolerance_change, a loss change below
// tolerance_change, or max_eval loss evaluations. It evaluates the loss several times per step,
// so step takes a closure that zeroes the gradients, records a tape, runs backward and returns
// the loss:
//
//   tg::optim::LBFGS opt(params, {.lr = 1, .line_search = tg::optim::LineSearch::strong_wolfe});
//   auto closure = [&] {
//       opt.zero_grad();
//       tg::Tape tape;
//       tg::Tensor loss = model_loss();
//       tape.backward(loss);
//       return loss.item();
//   };
//   for (int i = 0; i < 10; ++i) opt.step(closure);
//
// fit (fit.hpp) builds that closure itself: with a loader of one batch of all the rows, each
// epoch is one step(), under the same callbacks as any optimizer.
//
// All arithmetic is in double whatever the parameters' dtype (float32 parameters are rounded
// when written back). The state is global, not per parameter, as in PyTorch.
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tapegrad/optim/closure_optimizer.hpp"

namespace tapegrad::optim {

enum class LineSearch { none, strong_wolfe };

struct LBFGSOptions {
    double lr = 1.0;
    int max_iter = 20;  // iterations per step()
    // Loss evaluations per step(); when unset, max_iter * 5 / 4 as in PyTorch.
    std::optional<int> max_eval = std::nullopt;
    double tolerance_grad = 1e-7;    // stop when max |g_i| <= this
    double tolerance_change = 1e-9;  // stop when the step or the loss change is below this
    int history_size = 100;          // (s, y) pairs kept
    LineSearch line_search = LineSearch::none;
};

// step(closure) runs one optimisation step (up to max_iter iterations) and returns the loss
// of the first closure call, at the parameters as they were when step() was called; step()
// without a closure throws (closure_optimizer.hpp).
class LBFGS : public ClosureOptimizer<LBFGSOptions> {
  public:
    // Throws ValueError for an empty list or options out of range (max_iter, max_eval,
    // history_size below 1).
    LBFGS(std::vector<Tensor> params, LBFGSOptions options = {});
    std::string name() const override { return "LBFGS"; }
    // Counters over the whole run, as PyTorch's state['n_iter'] and state['func_evals'].
    int n_iter() const { return state_.n_iter; }
    int func_evals() const { return state_.func_evals; }

    // Adds "param_groups.0.{max_iter, max_eval, tolerance_grad, tolerance_change,
    // history_size, line_search}" and "lbfgs.*": func_evals, n_iter and, once an iteration
    // ran, d, t, H_diag, prev_flat_grad, prev_loss, num_old, old_dirs [num_old, n],
    // old_stps [num_old, n], ro [num_old] (all float64), so that a resumed run continues
    // exactly. Loading restores the options too, as torch's load_state_dict does.
    StateDict state_dict() const override;
    void load_state_dict(const StateDict& state) override;

  private:
    double step_with(const std::function<double()>& closure) override;
    using Vec = std::vector<double>;
    struct State {
        int func_evals = 0;
        int n_iter = 0;
        bool has_direction = false;  // d .. prev_loss below hold values
        Vec d;
        double t = 0.0;
        std::deque<Vec> old_dirs;  // y
        std::deque<Vec> old_stps;  // s
        std::deque<double> ro;     // 1 / y.s
        double H_diag = 1.0;
        Vec prev_flat_grad;
        double prev_loss = 0.0;
    };

    // Where an iteration is: the loss and gradient at the current parameters, and the loss
    // evaluations of this step().
    struct Iterate {
        double loss;
        Vec flat_grad;
        int evals;
    };
    // step()'s parts, in torch's order. One iteration: a direction, a step length, a move
    // along it; false when the iteration says to stop.
    bool iterate(const std::function<double()>& closure, Iterate& it, int n_iter);
    // d = -g on the first iteration of the run, else -H g from the remembered (s, y) pairs.
    void set_direction(const Vec& flat_grad);
    void remember_curvature(const Vec& flat_grad);
    Vec two_loop(const Vec& flat_grad) const;
    // The first trial step: lr, scaled by min(1, 1 / |g|_1) on the run's first iteration.
    double step_length(const Vec& flat_grad) const;
    // Moves the parameters along d (by the line search's step, or by t), updates it, and
    // returns the loss evaluations that took.
    int move(const std::function<double()>& closure, Iterate& it, double gtd, bool last_iteration);
    bool finished(const Iterate& it, int n_iter) const;
    // load_state_dict's parts: each reads and checks, changing nothing.
    LBFGSOptions read_options(const StateDict& sd) const;
    State read_state(const StateDict& sd, int history_size) const;
    void read_history(const StateDict& sd, std::size_t num_old, State& s) const;

    int max_eval_;
    std::size_t numel_ = 0;
    State state_;
};

}  // namespace tapegrad::optim

#include "tapegrad/optim/lbfgs.hpp"

#include <algorithm>
#include <cmath>

#include "flat_params.hpp"
#include "line_search.hpp"
#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::optim {

namespace {

using detail::abs_max;
using detail::dot;

// Python's min(a, b), as the reference computes the first step length with it.
double py_min(double a, double b) {
    return b < a ? b : a;
}

void check_options(const LBFGSOptions& o) {
    if (o.max_iter < 1) {
        throw ValueError("LBFGS: max_iter must be at least 1, got " + std::to_string(o.max_iter));
    }
    if (o.max_eval && *o.max_eval < 1) {
        throw ValueError("LBFGS: max_eval must be at least 1, got " + std::to_string(*o.max_eval));
    }
    if (o.history_size < 1) {
        throw ValueError("LBFGS: history_size must be at least 1, got " +
                         std::to_string(o.history_size));
    }
    if (!(o.lr > 0) || !std::isfinite(o.lr)) {
        throw ValueError("LBFGS: lr must be positive and finite, got " + std::to_string(o.lr));
    }
}

Tensor vec_tensor(const std::vector<double>& v) {
    xt::xarray<double> a = xt::zeros<double>({v.size()});
    std::copy(v.begin(), v.end(), a.begin());
    return Tensor(std::move(a));
}

template <class Seq>
Tensor rows_tensor(const Seq& rows, std::size_t n) {
    xt::xarray<double> a = xt::zeros<double>({rows.size(), n});
    auto it = a.begin();
    for (const auto& r : rows) it = std::copy(r.begin(), r.end(), it);
    return Tensor(std::move(a));
}

// The values of a saved state, checked, with errors that name the key.
struct SavedState {
    const StateDict& sd;

    const Tensor& get(const std::string& key) const {
        auto it = sd.find(key);
        if (it == sd.end()) {
            throw ValueError("LBFGS.load_state_dict: missing key '" + key + "'");
        }
        return it->second;
    }
    double scalar(const std::string& key) const {
        const Tensor& v = get(key);
        if (v.numel() != 1) {
            throw ValueError("LBFGS.load_state_dict: '" + key + "' should hold one value, has " +
                             shape_str(v.shape()));
        }
        return v.item();
    }
    int count(const std::string& key, double lowest) const {
        const double v = scalar(key);
        if (!(v >= lowest) || v != std::floor(v) || v > 1e9) {
            throw ValueError("LBFGS.load_state_dict: '" + key + "' should be a whole number >= " +
                             std::to_string(static_cast<int>(lowest)) + ", got " +
                             std::to_string(v));
        }
        return static_cast<int>(v);
    }
    xt::xarray<double> array(const std::string& key, const Shape& shape) const {
        const Tensor& v = get(key);
        if (v.shape() != shape) {
            throw ValueError("LBFGS.load_state_dict: '" + key + "' has shape " +
                             shape_str(v.shape()) + " but these parameters need " +
                             shape_str(shape));
        }
        return v.to_array<double>();
    }
};

}  // namespace

LBFGS::LBFGS(std::vector<Tensor> params, LBFGSOptions options)
    : ClosureOptimizer("LBFGS", std::move(params), options) {
    check_options(options_);
    // PyTorch's default: max_iter * 5 // 4.
    max_eval_ = options_.max_eval.value_or(options_.max_iter * 5 / 4);
    numel_ = detail::total_numel(param_groups()[0].params);
}

double LBFGS::step_with(const std::function<double()>& closure) {
    // Evaluate the initial f(x) and df/dx.
    const double orig_loss = closure();
    state_.func_evals += 1;
    Iterate it{orig_loss, detail::flat_grads(param_groups()[0].params), 1};
    if (abs_max(it.flat_grad) <= options_.tolerance_grad) return orig_loss;
    for (int n_iter = 1; n_iter <= options_.max_iter; ++n_iter) {
        if (!iterate(closure, it, n_iter)) break;
    }
    return orig_loss;
}

bool LBFGS::iterate(const std::function<double()>& closure, Iterate& it, int n_iter) {
    State& st = state_;
    ++st.n_iter;
    set_direction(it.flat_grad);
    st.prev_flat_grad = it.flat_grad;
    st.prev_loss = it.loss;
    st.has_direction = true;
    st.t = step_length(it.flat_grad);
    const double gtd = dot(it.flat_grad, st.d);  // directional derivative
    if (gtd > -options_.tolerance_change) return false;
    const int evals = move(closure, it, gtd, n_iter == options_.max_iter);
    it.evals += evals;
    st.func_evals += evals;
    return !finished(it, n_iter);
}

void LBFGS::set_direction(const Vec& flat_grad) {
    State& st = state_;
    if (st.n_iter == 1) {
        st.d.assign(flat_grad.size(), 0.0);
        for (std::size_t k = 0; k < st.d.size(); ++k) st.d[k] = -flat_grad[k];
        st.old_dirs.clear();
        st.old_stps.clear();
        st.ro.clear();
        st.H_diag = 1;
        return;
    }
    remember_curvature(flat_grad);
    st.d = two_loop(flat_grad);
}

void LBFGS::remember_curvature(const Vec& flat_grad) {
    // y = g - g_prev, s = t d, kept when the curvature y.s is positive enough to keep the
    // inverse-Hessian estimate positive definite.
    State& st = state_;
    Vec y(flat_grad.size()), s(flat_grad.size());
    for (std::size_t k = 0; k < y.size(); ++k) {
        y[k] = flat_grad[k] - st.prev_flat_grad[k];
        s[k] = st.d[k] * st.t;
    }
    const double ys = dot(y, s);
    if (ys <= 1e-10) return;
    if (st.old_dirs.size() == static_cast<std::size_t>(options_.history_size)) {
        st.old_dirs.pop_front();
        st.old_stps.pop_front();
        st.ro.pop_front();
    }
    st.old_dirs.push_back(y);
    st.old_stps.push_back(s);
    st.ro.push_back(1. / ys);
    st.H_diag = ys / dot(y, y);  // scale of the initial inverse Hessian
}

LBFGS::Vec LBFGS::two_loop(const Vec& flat_grad) const {
    const State& st = state_;
    const std::size_t num_old = st.old_dirs.size();
    std::vector<double> al(num_old);
    Vec q(flat_grad.size());
    for (std::size_t k = 0; k < q.size(); ++k) q[k] = -flat_grad[k];
    for (std::size_t i = num_old; i-- > 0;) {
        al[i] = dot(st.old_stps[i], q) * st.ro[i];
        const Vec& yi = st.old_dirs[i];
        for (std::size_t k = 0; k < q.size(); ++k) q[k] += -al[i] * yi[k];
    }
    for (std::size_t k = 0; k < q.size(); ++k) q[k] = q[k] * st.H_diag;
    Vec d = std::move(q);
    for (std::size_t i = 0; i < num_old; ++i) {
        const double be_i = dot(st.old_dirs[i], d) * st.ro[i];
        const Vec& si = st.old_stps[i];
        for (std::size_t k = 0; k < d.size(); ++k) d[k] += (al[i] - be_i) * si[k];
    }
    return d;
}

double LBFGS::step_length(const Vec& flat_grad) const {
    const double lr = param_groups()[0].lr;
    if (state_.n_iter != 1) return lr;
    double abs_sum = 0.0;
    for (double g : flat_grad) abs_sum += std::abs(g);
    return py_min(1., 1. / abs_sum) * lr;
}

int LBFGS::move(const std::function<double()>& closure, Iterate& it, double gtd,
                bool last_iteration) {
    std::vector<Tensor>& params = param_groups()[0].params;
    State& st = state_;
    if (options_.line_search == LineSearch::strong_wolfe) {
        const Vec x_init = detail::flat_values(params);
        // Loss and gradient at x_init + s d, leaving the parameters at x_init.
        auto obj = [&](double step_len) {
            detail::add_flat(params, step_len, st.d);
            const double l = closure();
            Vec g = detail::flat_grads(params);
            detail::set_flat(params, x_init);
            return std::pair{l, std::move(g)};
        };
        // PyTorch passes its default tolerance_change (1e-9) here, not the option's.
        auto r = detail::strong_wolfe(obj, st.t, st.d, it.loss, it.flat_grad, gtd);
        it.loss = r.f;
        it.flat_grad = std::move(r.g);
        st.t = r.t;
        detail::add_flat(params, st.t, st.d);
        return r.evals;
    }
    // A fixed step; the loss is not re-evaluated after the last iteration (in a stochastic
    // setting that evaluation would be of no use).
    detail::add_flat(params, st.t, st.d);
    if (last_iteration) return 0;
    it.loss = closure();
    it.flat_grad = detail::flat_grads(params);
    return 1;
}

bool LBFGS::finished(const Iterate& it, int n_iter) const {
    if (n_iter == options_.max_iter) return true;
    if (it.evals >= max_eval_) return true;
    if (abs_max(it.flat_grad) <= options_.tolerance_grad) return true;
    double step_max = 0.0;  // max |t d_k|, NaN propagating
    for (double dk : state_.d) {
        const double a = std::abs(dk * state_.t);
        if (std::isnan(a) || a > step_max) step_max = a;
        if (std::isnan(a)) break;
    }
    if (step_max <= options_.tolerance_change) return true;
    return std::abs(it.loss - state_.prev_loss) < options_.tolerance_change;
}

StateDict LBFGS::state_dict() const {
    StateDict sd = Optimizer::state_dict();
    const std::string g = "param_groups.0.";
    sd[g + "max_iter"] = scalar(options_.max_iter, f64);
    sd[g + "max_eval"] = scalar(max_eval_, f64);
    sd[g + "tolerance_grad"] = scalar(options_.tolerance_grad, f64);
    sd[g + "tolerance_change"] = scalar(options_.tolerance_change, f64);
    sd[g + "history_size"] = scalar(options_.history_size, f64);
    sd[g + "line_search"] =
        scalar(options_.line_search == LineSearch::strong_wolfe ? 1.0 : 0.0, f64);

    sd["lbfgs.func_evals"] = scalar(state_.func_evals, f64);
    sd["lbfgs.n_iter"] = scalar(state_.n_iter, f64);
    if (!state_.has_direction) return sd;
    sd["lbfgs.d"] = vec_tensor(state_.d);
    sd["lbfgs.t"] = scalar(state_.t, f64);
    sd["lbfgs.H_diag"] = scalar(state_.H_diag, f64);
    sd["lbfgs.prev_flat_grad"] = vec_tensor(state_.prev_flat_grad);
    sd["lbfgs.prev_loss"] = scalar(state_.prev_loss, f64);
    sd["lbfgs.num_old"] = scalar(static_cast<double>(state_.old_dirs.size()), f64);
    if (!state_.old_dirs.empty()) {
        sd["lbfgs.old_dirs"] = rows_tensor(state_.old_dirs, numel_);
        sd["lbfgs.old_stps"] = rows_tensor(state_.old_stps, numel_);
        sd["lbfgs.ro"] = vec_tensor(std::vector<double>(state_.ro.begin(), state_.ro.end()));
    }
    return sd;
}

void LBFGS::load_state_dict(const StateDict& sd) {
    // Read and check everything first, so that a bad state changes nothing.
    const LBFGSOptions o = read_options(sd);
    State s = read_state(sd, o.history_size);
    Optimizer::load_state_dict(sd);  // lr; throws before changing anything
    options_ = o;
    options_.lr = param_groups()[0].lr;
    max_eval_ = *o.max_eval;
    state_ = std::move(s);
}

LBFGSOptions LBFGS::read_options(const StateDict& sd) const {
    const SavedState in{sd};
    const std::string g = "param_groups.0.";
    LBFGSOptions o = options_;
    o.max_iter = in.count(g + "max_iter", 1);
    o.max_eval = in.count(g + "max_eval", 1);
    o.tolerance_grad = in.scalar(g + "tolerance_grad");
    o.tolerance_change = in.scalar(g + "tolerance_change");
    o.history_size = in.count(g + "history_size", 1);
    o.line_search = in.scalar(g + "line_search") != 0 ? LineSearch::strong_wolfe : LineSearch::none;
    return o;
}

LBFGS::State LBFGS::read_state(const StateDict& sd, int history_size) const {
    const SavedState in{sd};
    State s;
    s.func_evals = in.count("lbfgs.func_evals", 0);
    s.n_iter = in.count("lbfgs.n_iter", 0);
    s.has_direction = sd.count("lbfgs.d") != 0;
    if (s.n_iter > 0 && !s.has_direction) {
        throw ValueError("LBFGS.load_state_dict: missing key 'lbfgs.d' (n_iter is " +
                         std::to_string(s.n_iter) + ")");
    }
    if (!s.has_direction) return s;
    const Shape vec_shape{numel_};
    const auto d = in.array("lbfgs.d", vec_shape);
    const auto pg = in.array("lbfgs.prev_flat_grad", vec_shape);
    s.d.assign(d.begin(), d.end());
    s.prev_flat_grad.assign(pg.begin(), pg.end());
    s.t = in.scalar("lbfgs.t");
    s.H_diag = in.scalar("lbfgs.H_diag");
    s.prev_loss = in.scalar("lbfgs.prev_loss");
    const auto num_old = static_cast<std::size_t>(in.count("lbfgs.num_old", 0));
    if (num_old > static_cast<std::size_t>(history_size)) {
        throw ValueError("LBFGS.load_state_dict: 'lbfgs.num_old' is " + std::to_string(num_old) +
                         ", more than history_size " + std::to_string(history_size));
    }
    if (num_old > 0) read_history(sd, num_old, s);
    return s;
}

void LBFGS::read_history(const StateDict& sd, std::size_t num_old, State& s) const {
    const SavedState in{sd};
    const auto dirs = in.array("lbfgs.old_dirs", Shape{num_old, numel_});
    const auto stps = in.array("lbfgs.old_stps", Shape{num_old, numel_});
    const auto ro = in.array("lbfgs.ro", Shape{num_old});
    for (std::size_t i = 0; i < num_old; ++i) {
        const auto row = static_cast<std::ptrdiff_t>(i * numel_);
        const auto n = static_cast<std::ptrdiff_t>(numel_);
        s.old_dirs.emplace_back(dirs.begin() + row, dirs.begin() + row + n);
        s.old_stps.emplace_back(stps.begin() + row, stps.begin() + row + n);
        s.ro.push_back(ro(i));
    }
}

}  // namespace tapegrad::optim

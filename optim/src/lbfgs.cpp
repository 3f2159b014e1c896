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

}  // namespace

LBFGS::LBFGS(std::vector<Tensor> params, LBFGSOptions options)
    : Optimizer(std::vector<ParamGroup>{}), options_(options) {
    if (params.empty()) throw ValueError("LBFGS: got an empty parameter list");
    check_options(options_);
    // PyTorch's default: max_iter * 5 // 4.
    max_eval_ = options_.max_eval.value_or(options_.max_iter * 5 / 4);
    add_group({std::move(params), options_.lr});
    numel_ = detail::total_numel(param_groups()[0].params);
}

void LBFGS::step() {
    throw ValueError(
        "LBFGS.step: L-BFGS evaluates the loss several times per step and needs a closure "
        "(call step(closure) with a function that zeroes the gradients, records a tape, runs "
        "backward and returns the loss)");
}

double LBFGS::step(const std::function<double()>& closure) {
    if (!closure) step();  // throws: a closure is required
    const double lr = param_groups()[0].lr;
    const int max_iter = options_.max_iter;
    const double tolerance_grad = options_.tolerance_grad;
    const double tolerance_change = options_.tolerance_change;
    const auto history_size = static_cast<std::size_t>(options_.history_size);
    State& st = state_;
    std::vector<Tensor>& params = param_groups()[0].params;

    // Evaluate the initial f(x) and df/dx.
    const double orig_loss = closure();
    double loss = orig_loss;
    int current_evals = 1;
    st.func_evals += 1;

    Vec flat_grad = detail::flat_grads(params);
    bool opt_cond = abs_max(flat_grad) <= tolerance_grad;
    if (opt_cond) return orig_loss;

    Vec& d = st.d;
    double& t = st.t;
    int n_iter = 0;
    while (n_iter < max_iter) {
        ++n_iter;
        ++st.n_iter;

        // ---- the descent direction ----
        if (st.n_iter == 1) {
            d.assign(flat_grad.size(), 0.0);
            for (std::size_t k = 0; k < d.size(); ++k) d[k] = -flat_grad[k];
            st.old_dirs.clear();
            st.old_stps.clear();
            st.ro.clear();
            st.H_diag = 1;
        } else {
            // Update the memory with y = g - g_prev, s = t d, when the curvature y.s is
            // positive enough to keep the inverse-Hessian estimate positive definite.
            Vec y(flat_grad.size()), s(flat_grad.size());
            for (std::size_t k = 0; k < y.size(); ++k) {
                y[k] = flat_grad[k] - st.prev_flat_grad[k];
                s[k] = d[k] * t;
            }
            const double ys = dot(y, s);
            if (ys > 1e-10) {
                if (st.old_dirs.size() == history_size) {
                    st.old_dirs.pop_front();
                    st.old_stps.pop_front();
                    st.ro.pop_front();
                }
                st.old_dirs.push_back(y);
                st.old_stps.push_back(s);
                st.ro.push_back(1. / ys);
                st.H_diag = ys / dot(y, y);  // scale of the initial inverse Hessian
            }

            // Two-loop recursion: d = -H g with H the L-BFGS inverse-Hessian estimate.
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
            d = std::move(q);
            for (std::size_t i = 0; i < num_old; ++i) {
                const double be_i = dot(st.old_dirs[i], d) * st.ro[i];
                const Vec& si = st.old_stps[i];
                for (std::size_t k = 0; k < d.size(); ++k) d[k] += (al[i] - be_i) * si[k];
            }
        }
        st.prev_flat_grad = flat_grad;
        st.prev_loss = loss;
        st.has_direction = true;

        // ---- the step length ----
        if (st.n_iter == 1) {
            double abs_sum = 0.0;
            for (double g : flat_grad) abs_sum += std::abs(g);
            t = py_min(1., 1. / abs_sum) * lr;
        } else {
            t = lr;
        }

        const double gtd = dot(flat_grad, d);  // directional derivative
        if (gtd > -tolerance_change) break;

        int ls_func_evals = 0;
        if (options_.line_search == LineSearch::strong_wolfe) {
            const Vec x_init = detail::flat_values(params);
            // Loss and gradient at x_init + s d, leaving the parameters at x_init.
            auto obj = [&](double step_len) {
                detail::add_flat(params, step_len, d);
                const double l = closure();
                Vec g = detail::flat_grads(params);
                detail::set_flat(params, x_init);
                return std::pair{l, std::move(g)};
            };
            // PyTorch passes its default tolerance_change (1e-9) here, not the option's.
            auto r = detail::strong_wolfe(obj, t, d, loss, flat_grad, gtd);
            loss = r.f;
            flat_grad = std::move(r.g);
            t = r.t;
            ls_func_evals = r.evals;
            detail::add_flat(params, t, d);
            opt_cond = abs_max(flat_grad) <= tolerance_grad;
        } else {
            // A fixed step; the loss is not re-evaluated after the last iteration (in a
            // stochastic setting that evaluation would be of no use).
            detail::add_flat(params, t, d);
            if (n_iter != max_iter) {
                loss = closure();
                flat_grad = detail::flat_grads(params);
                opt_cond = abs_max(flat_grad) <= tolerance_grad;
                ls_func_evals = 1;
            }
        }
        current_evals += ls_func_evals;
        st.func_evals += ls_func_evals;

        // ---- stopping conditions ----
        if (n_iter == max_iter) break;
        if (current_evals >= max_eval_) break;
        if (opt_cond) break;
        double step_max = 0.0;  // max |t d_k|, NaN propagating
        for (double dk : d) {
            const double a = std::abs(dk * t);
            if (std::isnan(a) || a > step_max) step_max = a;
            if (std::isnan(a)) break;
        }
        if (step_max <= tolerance_change) break;
        if (std::abs(loss - st.prev_loss) < tolerance_change) break;
    }
    return orig_loss;
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
    auto get = [&](const std::string& key) -> const Tensor& {
        auto it = sd.find(key);
        if (it == sd.end()) {
            throw ValueError("LBFGS.load_state_dict: missing key '" + key + "'");
        }
        return it->second;
    };
    auto get_scalar = [&](const std::string& key) {
        const Tensor& v = get(key);
        if (v.numel() != 1) {
            throw ValueError("LBFGS.load_state_dict: '" + key + "' should hold one value, has " +
                             shape_str(v.shape()));
        }
        return v.item();
    };
    auto get_count = [&](const std::string& key, double lowest) {
        const double v = get_scalar(key);
        if (!(v >= lowest) || v != std::floor(v) || v > 1e9) {
            throw ValueError("LBFGS.load_state_dict: '" + key + "' should be a whole number >= " +
                             std::to_string(static_cast<int>(lowest)) + ", got " +
                             std::to_string(v));
        }
        return static_cast<int>(v);
    };
    auto get_array = [&](const std::string& key, const Shape& shape) {
        const Tensor& v = get(key);
        if (v.shape() != shape) {
            throw ValueError("LBFGS.load_state_dict: '" + key + "' has shape " +
                             shape_str(v.shape()) + " but these parameters need " +
                             shape_str(shape));
        }
        return v.to_array<double>();
    };

    const std::string g = "param_groups.0.";
    LBFGSOptions o = options_;
    o.max_iter = get_count(g + "max_iter", 1);
    o.max_eval = get_count(g + "max_eval", 1);
    o.tolerance_grad = get_scalar(g + "tolerance_grad");
    o.tolerance_change = get_scalar(g + "tolerance_change");
    o.history_size = get_count(g + "history_size", 1);
    o.line_search =
        get_scalar(g + "line_search") != 0 ? LineSearch::strong_wolfe : LineSearch::none;

    State s;
    s.func_evals = get_count("lbfgs.func_evals", 0);
    s.n_iter = get_count("lbfgs.n_iter", 0);
    s.has_direction = sd.count("lbfgs.d") != 0;
    if (s.n_iter > 0 && !s.has_direction) {
        throw ValueError("LBFGS.load_state_dict: missing key 'lbfgs.d' (n_iter is " +
                         std::to_string(s.n_iter) + ")");
    }
    if (s.has_direction) {
        const Shape vec_shape{numel_};
        const auto d = get_array("lbfgs.d", vec_shape);
        const auto pg = get_array("lbfgs.prev_flat_grad", vec_shape);
        s.d.assign(d.begin(), d.end());
        s.prev_flat_grad.assign(pg.begin(), pg.end());
        s.t = get_scalar("lbfgs.t");
        s.H_diag = get_scalar("lbfgs.H_diag");
        s.prev_loss = get_scalar("lbfgs.prev_loss");
        const auto num_old = static_cast<std::size_t>(get_count("lbfgs.num_old", 0));
        if (num_old > static_cast<std::size_t>(o.history_size)) {
            throw ValueError("LBFGS.load_state_dict: 'lbfgs.num_old' is " +
                             std::to_string(num_old) + ", more than history_size " +
                             std::to_string(o.history_size));
        }
        if (num_old > 0) {
            const auto dirs = get_array("lbfgs.old_dirs", Shape{num_old, numel_});
            const auto stps = get_array("lbfgs.old_stps", Shape{num_old, numel_});
            const auto ro = get_array("lbfgs.ro", Shape{num_old});
            for (std::size_t i = 0; i < num_old; ++i) {
                const auto row = static_cast<std::ptrdiff_t>(i * numel_);
                const auto n = static_cast<std::ptrdiff_t>(numel_);
                s.old_dirs.emplace_back(dirs.begin() + row, dirs.begin() + row + n);
                s.old_stps.emplace_back(stps.begin() + row, stps.begin() + row + n);
                s.ro.push_back(ro(i));
            }
        }
    }

    Optimizer::load_state_dict(sd);  // lr; throws before changing anything
    options_ = o;
    options_.lr = param_groups()[0].lr;
    max_eval_ = *o.max_eval;
    state_ = std::move(s);
}

}  // namespace tapegrad::optim

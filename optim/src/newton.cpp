#include "tapegrad/optim/newton.hpp"

#include <cmath>
#include <limits>

#include "flat_params.hpp"
#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad::optim {

namespace {

using Vec = std::vector<double>;

// Writes v into element k of p (in p's dtype) and returns the value actually stored.
double set_element(Tensor& p, std::size_t k, double v) {
    if (p.dtype() == f64) {
        p.mutable_value<double>().data()[k] = v;
        return v;
    }
    const auto f = static_cast<float>(v);
    p.mutable_value<float>().data()[k] = f;
    return f;
}

double get_element(const Tensor& p, std::size_t k) {
    return p.dtype() == f64 ? p.value<double>().data()[k] : p.value<float>().data()[k];
}

// a (n x n, row-major, symmetric) = L L^T; L overwrites the lower triangle. False when a is
// not (numerically) positive definite: a pivot is not positive.
bool cholesky(Vec& a, std::size_t n) {
    for (std::size_t j = 0; j < n; ++j) {
        double s = a[j * n + j];
        for (std::size_t k = 0; k < j; ++k) s -= a[j * n + k] * a[j * n + k];
        if (!(s > 0)) return false;
        const double ljj = std::sqrt(s);
        a[j * n + j] = ljj;
        for (std::size_t i = j + 1; i < n; ++i) {
            double t = a[i * n + j];
            for (std::size_t k = 0; k < j; ++k) t -= a[i * n + k] * a[j * n + k];
            a[i * n + j] = t / ljj;
        }
    }
    return true;
}

// Solves L L^T x = b with the factor from cholesky().
Vec cholesky_solve(const Vec& l, std::size_t n, const Vec& b) {
    Vec y(b);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t k = 0; k < i; ++k) y[i] -= l[i * n + k] * y[k];
        y[i] /= l[i * n + i];
    }
    for (std::size_t i = n; i-- > 0;) {
        for (std::size_t k = i + 1; k < n; ++k) y[i] -= l[k * n + i] * y[k];
        y[i] /= l[i * n + i];
    }
    return y;
}

// d with (H + lambda I) d = g, lambda = damping plus, when H + damping I is not positive
// definite, tau from Nocedal & Wright's Algorithm 3.3: tau_0 = beta if the diagonal is
// positive, else beta - min diagonal; tau doubles until the Cholesky factorisation succeeds
// (beta = 1e-3 max |H_ij|). Sets lambda_used.
Vec solve_damped(const xt::xarray<double>& H, const Vec& g, double damping, double& lambda_used) {
    const std::size_t n = g.size();
    auto factor = [&](double lambda, Vec& a) {
        a.assign(H.begin(), H.end());
        for (std::size_t i = 0; i < n; ++i) a[i * n + i] += lambda;
        return cholesky(a, n);
    };
    Vec a;
    if (factor(damping, a)) {
        lambda_used = damping;
        return cholesky_solve(a, n, g);
    }
    double scale = 0.0, min_diag = std::numeric_limits<double>::infinity();
    for (double h : H) scale = std::max(scale, std::abs(h));
    for (std::size_t i = 0; i < n; ++i) min_diag = std::min(min_diag, H(i, i) + damping);
    const double beta = 1e-3 * (scale > 0 ? scale : 1.0);
    double tau = min_diag > 0 ? beta : beta - min_diag;
    for (int attempt = 0; attempt < 200; ++attempt, tau *= 2) {
        if (factor(damping + tau, a)) {
            lambda_used = damping + tau;
            return cholesky_solve(a, n, g);
        }
    }
    throw ValueError("Newton.step: no damping up to " + std::to_string(damping + tau) +
                     " makes the Hessian positive definite");
}

bool all_finite(const auto& values) {
    for (double v : values)
        if (!std::isfinite(v)) return false;
    return true;
}

// H from the tape: the closure's backward, run inside a tape of our own, is recorded (nested
// tapes), so every parameter's .grad() is a recorded tensor; row j is d grad_j / d params.
xt::xarray<double> exact_hessian(const std::function<double()>& closure,
                                 std::vector<Tensor> params) {
    const std::size_t n = detail::total_numel(params);
    xt::xarray<double> H = xt::zeros<double>({n, n});
    Tape outer({.persistent = true});
    detail::zero_grads(params);
    closure();
    std::size_t row = 0;
    for (const Tensor& p : params) {
        const Tensor g = p.has_grad() ? p.grad() : Tensor();
        // A gradient that is a constant (the loss is linear in p) has zero rows.
        if (!g.defined() || !g.requires_grad()) {
            row += p.numel();
            continue;
        }
        for (std::size_t e = 0; e < p.numel(); ++e, ++row) {
            Tensor seed = zeros(g.shape(), g.dtype());
            set_element(seed, e, 1.0);
            const auto d = outer.gradient(g, params, seed);
            std::size_t col = 0;
            for (const Tensor& block : d)
                for (std::size_t k = 0; k < block.numel(); ++k)
                    H(row, col++) = get_element(block, k);
        }
    }
    return H;
}

xt::xarray<double> finite_difference_hessian(const std::function<double()>& closure,
                                             std::vector<Tensor> params) {
    const std::size_t n = detail::total_numel(params);
    std::vector<std::pair<std::size_t, std::size_t>> where;  // flat index -> (tensor, element)
    where.reserve(n);
    for (std::size_t i = 0; i < params.size(); ++i)
        for (std::size_t k = 0; k < params[i].numel(); ++k) where.emplace_back(i, k);

    auto gradient_at = [&](Tensor& p, std::size_t k, double v, double& stored) {
        stored = set_element(p, k, v);
        detail::zero_grads(params);
        closure();
        return detail::flat_grads(params);
    };

    xt::xarray<double> H = xt::zeros<double>({n, n});
    for (std::size_t j = 0; j < n; ++j) {
        Tensor& p = params[where[j].first];
        const std::size_t k = where[j].second;
        const double x = get_element(p, k);
        // About the cube root of the gradient's relative rounding error, which balances it
        // against the O(h^2) error of the central difference.
        const double rel = p.dtype() == f64 ? 1e-5 : 5e-3;
        const double h = rel * std::max(1.0, std::abs(x));
        double xp = 0.0, xm = 0.0;
        Vec gp, gm;
        try {
            gp = gradient_at(p, k, x + h, xp);
            gm = gradient_at(p, k, x - h, xm);
        } catch (...) {
            set_element(p, k, x);
            throw;
        }
        set_element(p, k, x);  // exact: x was read in p's dtype
        // Divide by the step actually taken (x +- h rounded to the parameter's dtype).
        const double step = xp - xm;
        for (std::size_t i = 0; i < n; ++i) H(i, j) = (gp[i] - gm[i]) / step;
    }
    return H;
}

}  // namespace

xt::xarray<double> hessian(const std::function<double()>& closure,
                           const std::vector<Tensor>& params, HessianMethod method) {
    if (!closure) throw ValueError("hessian: needs a closure that returns the loss");
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (!params[i].defined()) {
            throw ValueError("hessian: parameter " + std::to_string(i) + " is undefined");
        }
    }
    xt::xarray<double> H = method == HessianMethod::exact
                               ? exact_hessian(closure, params)
                               : finite_difference_hessian(closure, params);
    const std::size_t n = H.shape()[0];
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = i + 1; j < n; ++j) {
            const double s = 0.5 * (H(i, j) + H(j, i));
            H(i, j) = s;
            H(j, i) = s;
        }
    }
    return H;
}

Newton::Newton(std::vector<Tensor> params, NewtonOptions options)
    : ClosureOptimizer("Newton", std::move(params), options) {
    if (!(options_.lr > 0) || !std::isfinite(options_.lr)) {
        throw ValueError("Newton: lr must be positive and finite, got " +
                         std::to_string(options_.lr));
    }
    if (!(options_.damping >= 0) || !std::isfinite(options_.damping)) {
        throw ValueError("Newton: damping must be >= 0 and finite, got " +
                         std::to_string(options_.damping));
    }
    std::size_t n = 0;
    for (const auto& p : param_groups()[0].params)
        if (p.defined()) n += p.numel();
    if (n > options_.max_params) {
        throw ValueError(
            "Newton: the parameters have " + std::to_string(n) +
            " elements, more than max_params = " + std::to_string(options_.max_params) +
            " (the Hessian is n x n and takes 2n gradient evaluations per step); "
            "use LBFGS, or raise max_params");
    }
}

double Newton::step_with(const std::function<double()>& closure) {
    auto& params = param_groups()[0].params;
    const double lr = param_groups()[0].lr;

    const xt::xarray<double> H = hessian(closure, params, options_.hessian);
    // The loss and gradient at x last, so that .grad() is that of the starting point.
    detail::zero_grads(params);
    const double loss = closure();
    const Vec g = detail::flat_grads(params);
    if (!std::isfinite(loss) || !all_finite(g) || !all_finite(H)) {
        throw ValueError("Newton.step: the loss (" + std::to_string(loss) +
                         "), its gradient or its Hessian is not finite at the current "
                         "parameters");
    }
    const Vec d = solve_damped(H, g, options_.damping, last_damping_);
    detail::add_flat(params, -lr, d);  // x = x - lr d
    return loss;
}

}  // namespace tapegrad::optim

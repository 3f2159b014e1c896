#include "line_search.hpp"

#include <array>
#include <cmath>
#include <tuple>

namespace tapegrad::optim::detail {

namespace {

// Python's max(a, b) and min(a, b): the first argument unless the second is strictly
// larger (smaller). Kept literal so that ties and NaN behave as in the reference.
double py_max(double a, double b) {
    return b > a ? b : a;
}
double py_min(double a, double b) {
    return b < a ? b : a;
}

}  // namespace

double abs_max(const FlatVec& v) {
    // NaN propagates, as in torch's max().
    double m = 0.0;
    for (double x : v) {
        if (std::isnan(x)) return x;
        m = py_max(m, std::abs(x));
    }
    return m;
}

double dot(const FlatVec& a, const FlatVec& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                         std::optional<std::pair<double, double>> bounds) {
    double xmin_bound, xmax_bound;
    if (bounds) {
        std::tie(xmin_bound, xmax_bound) = *bounds;
    } else if (x1 <= x2) {
        xmin_bound = x1, xmax_bound = x2;
    } else {
        xmin_bound = x2, xmax_bound = x1;
    }
    // The cubic through both points with both slopes; with x2 the farther point its minimiser
    // is x2 - (x2 - x1) (g2 + d2 - d1) / (g2 - g1 + 2 d2), where
    // d1 = g1 + g2 - 3 (f1 - f2) / (x1 - x2) and d2 = sqrt(d1^2 - g1 g2).
    const double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
    const double d2_square = d1 * d1 - g1 * g2;
    if (d2_square >= 0) {
        const double d2 = std::sqrt(d2_square);
        double min_pos;
        if (x1 <= x2) {
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2));
        } else {
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
        }
        return py_min(py_max(min_pos, xmin_bound), xmax_bound);
    }
    return (xmin_bound + xmax_bound) / 2.;
}

LineSearchResult strong_wolfe(const std::function<std::pair<double, FlatVec>(double)>& obj,
                              double t, const FlatVec& d, double f, const FlatVec& g, double gtd,
                              double c1, double c2, double tolerance_change, int max_ls) {
    const double d_norm = abs_max(d);
    // Evaluate the objective and gradient at the initial step.
    double f_new;
    FlatVec g_new;
    std::tie(f_new, g_new) = obj(t);
    int ls_func_evals = 1;
    double gtd_new = dot(g_new, d);

    // Bracket an interval containing a point satisfying the Wolfe criteria: the sufficient
    // decrease f(t) <= f + c1 t g.d and the curvature condition |g(t).d| <= -c2 g.d.
    double t_prev = 0, f_prev = f, gtd_prev = gtd;
    FlatVec g_prev = g;
    bool done = false;
    int ls_iter = 0;
    std::array<double, 2> bracket{}, bracket_f{}, bracket_gtd{};
    std::array<FlatVec, 2> bracket_g;
    std::size_t bracket_size = 0;
    auto set_pair = [&] {
        bracket = {t_prev, t};
        bracket_f = {f_prev, f_new};
        bracket_g = {g_prev, g_new};
        bracket_gtd = {gtd_prev, gtd_new};
        bracket_size = 2;
    };
    while (ls_iter < max_ls) {
        if (f_new > (f + c1 * t * gtd) || (ls_iter > 1 && f_new >= f_prev)) {
            set_pair();
            break;
        }
        if (std::abs(gtd_new) <= -c2 * gtd) {
            bracket[0] = t;
            bracket_f[0] = f_new;
            bracket_g[0] = g_new;
            bracket_size = 1;
            done = true;
            break;
        }
        if (gtd_new >= 0) {
            set_pair();
            break;
        }
        // Extrapolate: the cubic's minimiser, at least 1% beyond t and at most 10 t.
        const double min_step = t + 0.01 * (t - t_prev);
        const double max_step = t * 10;
        const double tmp = t;
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                              std::pair{min_step, max_step});
        t_prev = tmp;
        f_prev = f_new;
        g_prev = g_new;
        gtd_prev = gtd_new;
        std::tie(f_new, g_new) = obj(t);
        ++ls_func_evals;
        gtd_new = dot(g_new, d);
        ++ls_iter;
    }
    // Out of evaluations: the bracket is [0, t] (PyTorch leaves bracket_gtd unset here; the
    // zoom below cannot run since ls_iter == max_ls).
    if (ls_iter == max_ls) {
        bracket = {0, t};
        bracket_f = {f, f_new};
        bracket_g = {g, g_new};
        bracket_size = 2;
    }

    // Zoom: shrink the bracket until a point satisfies the criteria.
    bool insuf_progress = false;
    std::size_t low_pos = 0, high_pos = 1;
    auto order = [&] {
        if (bracket_f[0] <= bracket_f[bracket_size - 1]) {
            low_pos = 0, high_pos = 1;
        } else {
            low_pos = 1, high_pos = 0;
        }
    };
    order();
    while (!done && ls_iter < max_ls) {
        if (std::abs(bracket[1] - bracket[0]) * d_norm < tolerance_change) break;

        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1],
                              bracket_gtd[1]);

        // A trial within 10% of the bracket's length from an end counts as insufficient
        // progress; twice in a row, or at or beyond an end, it moves to 10% inside that end.
        const double bmax = py_max(bracket[0], bracket[1]);
        const double bmin = py_min(bracket[0], bracket[1]);
        const double eps = 0.1 * (bmax - bmin);
        if (py_min(bmax - t, t - bmin) < eps) {
            if (insuf_progress || t >= bmax || t <= bmin) {
                if (std::abs(t - bmax) < std::abs(t - bmin)) {
                    t = bmax - eps;
                } else {
                    t = bmin + eps;
                }
                insuf_progress = false;
            } else {
                insuf_progress = true;
            }
        } else {
            insuf_progress = false;
        }

        std::tie(f_new, g_new) = obj(t);
        ++ls_func_evals;
        gtd_new = dot(g_new, d);
        ++ls_iter;

        if (f_new > (f + c1 * t * gtd) || f_new >= bracket_f[low_pos]) {
            // Armijo condition not satisfied or not lower than the lowest point.
            bracket[high_pos] = t;
            bracket_f[high_pos] = f_new;
            bracket_g[high_pos] = g_new;
            bracket_gtd[high_pos] = gtd_new;
            order();
        } else {
            if (std::abs(gtd_new) <= -c2 * gtd) {
                done = true;  // Wolfe conditions satisfied
            } else if (gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0) {
                // The old high becomes the new low.
                bracket[high_pos] = bracket[low_pos];
                bracket_f[high_pos] = bracket_f[low_pos];
                bracket_g[high_pos] = bracket_g[low_pos];
                bracket_gtd[high_pos] = bracket_gtd[low_pos];
            }
            // The new point becomes the new low.
            bracket[low_pos] = t;
            bracket_f[low_pos] = f_new;
            bracket_g[low_pos] = g_new;
            bracket_gtd[low_pos] = gtd_new;
        }
    }

    return {bracket_f[low_pos], std::move(bracket_g[low_pos]), bracket[low_pos], ls_func_evals};
}

}  // namespace tapegrad::optim::detail

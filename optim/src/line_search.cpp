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

namespace {

using Objective = std::function<std::pair<double, FlatVec>(double)>;

// A trial step length with the loss, gradient and directional derivative there.
struct Trial {
    double t = 0, f = 0;
    FlatVec g;
    double gtd = 0;
};

// What every phase of the search reads: the objective, the direction, the loss and slope at
// t = 0, the constants, and the evaluations made so far.
struct Search {
    const Objective& obj;
    const FlatVec& d;
    double f, gtd;  // at t = 0
    double c1, c2, tolerance_change;
    int max_ls;
    int evals = 0;
    int iter = 0;  // evaluations after the first

    Trial evaluate(double t) {
        Trial r{t, 0, {}, 0};
        std::tie(r.f, r.g) = obj(t);
        ++evals;
        r.gtd = dot(r.g, d);
        return r;
    }
    // Sufficient decrease (Armijo): f(t) <= f + c1 t g.d.
    bool armijo(const Trial& r) const { return !(r.f > (f + c1 * r.t * gtd)); }
    // The curvature condition: |g(t).d| <= -c2 g.d.
    bool curvature(const Trial& r) const { return std::abs(r.gtd) <= -c2 * gtd; }
};

// Two trials around a point satisfying the strong Wolfe conditions, or one (done) that does.
struct Bracket {
    std::array<Trial, 2> ends;
    std::size_t size = 2;
    bool done = false;
    std::size_t low = 0, high = 1;  // the ends with the lower and the higher loss

    void order() {
        if (ends[0].f <= ends[size - 1].f) {
            low = 0, high = 1;
        } else {
            low = 1, high = 0;
        }
    }
};

// Longer steps, by cubic extrapolation, until a trial satisfies the conditions or the last
// two trials bracket one.
Bracket find_bracket(Search& s, const FlatVec& g, double t) {
    Trial prev{0, s.f, g, s.gtd};
    Trial cur = s.evaluate(t);
    while (s.iter < s.max_ls) {
        if (!s.armijo(cur) || (s.iter > 1 && cur.f >= prev.f)) return {{prev, cur}};
        if (s.curvature(cur)) return {{cur, Trial{}}, 1, true};
        if (cur.gtd >= 0) return {{prev, cur}};
        // Extrapolate: the cubic's minimiser, at least 1% beyond t and at most 10 t.
        const double min_step = cur.t + 0.01 * (cur.t - prev.t);
        const double max_step = cur.t * 10;
        const double next = cubic_interpolate(prev.t, prev.f, prev.gtd, cur.t, cur.f, cur.gtd,
                                              std::pair{min_step, max_step});
        prev = std::move(cur);
        cur = s.evaluate(next);
        ++s.iter;
    }
    // Out of evaluations: the bracket is [0, t] (PyTorch leaves its slopes unset here; the
    // zoom cannot run since iter == max_ls).
    return {{Trial{0, s.f, g, s.gtd}, cur}};
}

// A trial within 10% of the bracket's length from an end counts as insufficient progress;
// twice in a row, or at or beyond an end, it moves to 10% inside that end.
double away_from_ends(double t, const Bracket& b, bool& insuf_progress) {
    const double bmax = py_max(b.ends[0].t, b.ends[1].t);
    const double bmin = py_min(b.ends[0].t, b.ends[1].t);
    const double eps = 0.1 * (bmax - bmin);
    if (!(py_min(bmax - t, t - bmin) < eps)) {
        insuf_progress = false;
        return t;
    }
    if (!(insuf_progress || t >= bmax || t <= bmin)) {
        insuf_progress = true;
        return t;
    }
    insuf_progress = false;
    return std::abs(t - bmax) < std::abs(t - bmin) ? bmax - eps : bmin + eps;
}

// Shrinks the bracket by cubic interpolation until a trial satisfies the conditions, the
// bracket is too short to matter, or the evaluations run out.
void zoom(Search& s, Bracket& b, double d_norm) {
    bool insuf_progress = false;
    b.order();
    while (!b.done && s.iter < s.max_ls) {
        if (std::abs(b.ends[1].t - b.ends[0].t) * d_norm < s.tolerance_change) break;
        const Trial &e0 = b.ends[0], &e1 = b.ends[1];
        double t = cubic_interpolate(e0.t, e0.f, e0.gtd, e1.t, e1.f, e1.gtd);
        t = away_from_ends(t, b, insuf_progress);
        Trial r = s.evaluate(t);
        ++s.iter;
        if (!s.armijo(r) || r.f >= b.ends[b.low].f) {
            // Not a sufficient decrease, or not below the lowest end: the new high end.
            b.ends[b.high] = std::move(r);
            b.order();
            continue;
        }
        if (s.curvature(r)) {
            b.done = true;  // Wolfe conditions satisfied
        } else if (r.gtd * (b.ends[b.high].t - b.ends[b.low].t) >= 0) {
            b.ends[b.high] = b.ends[b.low];  // the old low becomes the high end
        }
        b.ends[b.low] = std::move(r);  // the new point becomes the low end
    }
}

}  // namespace

LineSearchResult strong_wolfe(const Objective& obj, double t, const FlatVec& d, double f,
                              const FlatVec& g, double gtd, double c1, double c2,
                              double tolerance_change, int max_ls) {
    Search s{obj, d, f, gtd, c1, c2, tolerance_change, max_ls};
    Bracket b = find_bracket(s, g, t);
    zoom(s, b, abs_max(d));
    Trial& best = b.ends[b.low];
    return {best.f, std::move(best.g), best.t, s.evals};
}

}  // namespace tapegrad::optim::detail

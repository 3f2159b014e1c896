// The exam-score model of seed text 002 (predict a final exam score from study hours, quiz
// average and attendance), trained by full-batch gradient descent on raw and on standardised
// features, to show what seed text 001 says of unscaled features: "the loss bowl is
// stretched — some directions are steep, others flat. Gradient descent then zig-zags and
// needs a tiny η." The data are synthetic with a known rule,
//   score = 2.5 hours + 0.4 quiz + 0.2 attendance + 10 + noise (noise ~ N(0, 3²)),
// hours in [0, 12], quiz in [40, 100], attendance (%) in [50, 100], seeded. Writes
// exam_scores.csv (the data) and exam_scores_loss.svg (both loss curves).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <string>
#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/charts/plot.hpp>
#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/nn.hpp>
#include <vector>

namespace tg = tapegrad;

namespace {

constexpr std::size_t kRows = 200, kFeatures = 3, kParams = kFeatures + 1;
constexpr std::uint64_t kSeed = 2024;
constexpr double kTrueW[kFeatures] = {2.5, 0.4, 0.2}, kTrueB = 10.0, kNoise = 3.0;
constexpr const char* kNames[kFeatures] = {"hours", "quiz", "attendance"};

using Vec = std::array<double, kParams>;  // w (per feature), then the intercept b
using Mat = std::array<Vec, kParams>;

// A = [x | 1]: the Gram matrix AᵀA / N and Aᵀy / N of the least-squares problem.
void normal_equations(const xt::xarray<double>& x, const xt::xarray<double>& y, Mat& gram,
                      Vec& rhs) {
    gram = {};
    rhs = {};
    for (std::size_t i = 0; i < kRows; ++i) {
        Vec a;
        for (std::size_t j = 0; j < kFeatures; ++j) a[j] = x(i, j);
        a[kFeatures] = 1.0;
        for (std::size_t r = 0; r < kParams; ++r) {
            rhs[r] += a[r] * y(i) / kRows;
            for (std::size_t c = 0; c < kParams; ++c) gram[r][c] += a[r] * a[c] / kRows;
        }
    }
}

// Gaussian elimination with partial pivoting (the system is 4 x 4).
Vec solve(Mat m, Vec v) {
    for (std::size_t k = 0; k < kParams; ++k) {
        std::size_t p = k;
        for (std::size_t r = k + 1; r < kParams; ++r)
            if (std::abs(m[r][k]) > std::abs(m[p][k])) p = r;
        std::swap(m[k], m[p]);
        std::swap(v[k], v[p]);
        for (std::size_t r = k + 1; r < kParams; ++r) {
            const double f = m[r][k] / m[k][k];
            for (std::size_t c = k; c < kParams; ++c) m[r][c] -= f * m[k][c];
            v[r] -= f * v[k];
        }
    }
    Vec out{};
    for (std::size_t k = kParams; k-- > 0;) {
        double s = v[k];
        for (std::size_t c = k + 1; c < kParams; ++c) s -= m[k][c] * out[c];
        out[k] = s / m[k][k];
    }
    return out;
}

// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations, ascending.
Vec eigenvalues(Mat a) {
    for (int sweep = 0; sweep < 100; ++sweep) {
        double off = 0;
        for (std::size_t p = 0; p < kParams; ++p)
            for (std::size_t q = p + 1; q < kParams; ++q) off += a[p][q] * a[p][q];
        if (off < 1e-30) break;
        for (std::size_t p = 0; p < kParams; ++p) {
            for (std::size_t q = p + 1; q < kParams; ++q) {
                if (a[p][q] == 0) continue;
                // The rotation that zeroes a[p][q]: tan(2θ) = 2 a_pq / (a_qq - a_pp).
                const double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                const double t =
                    (theta >= 0 ? 1 : -1) / (std::abs(theta) + std::sqrt(theta * theta + 1));
                const double c = 1 / std::sqrt(t * t + 1), s = t * c;
                for (std::size_t k = 0; k < kParams; ++k) {  // columns p, q
                    const double akp = a[k][p], akq = a[k][q];
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for (std::size_t k = 0; k < kParams; ++k) {  // rows p, q
                    const double apk = a[p][k], aqk = a[q][k];
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
            }
        }
    }
    Vec ev;
    for (std::size_t k = 0; k < kParams; ++k) ev[k] = a[k][k];
    std::sort(ev.begin(), ev.end());
    return ev;
}

double mse_at(const xt::xarray<double>& x, const xt::xarray<double>& y, const Vec& p) {
    double s = 0;
    for (std::size_t i = 0; i < kRows; ++i) {
        double pred = p[kFeatures];
        for (std::size_t j = 0; j < kFeatures; ++j) pred += p[j] * x(i, j);
        s += (pred - y(i)) * (pred - y(i));
    }
    return s / kRows;
}

struct RunOptions {
    double lr;
    int steps;
    double loss_tolerance;  // steps_to_tolerance: the first step whose loss is at most this
    Vec optimum;            // for the angle between a step and the way to the minimum
    std::vector<int> trace_steps{};
};

struct TraceRow {
    int step;
    Vec params;
    double loss, angle;  // loss after the step; angle (degrees) of the step to the optimum
};

struct Run {
    std::vector<double> losses;  // losses[t]: the loss after t steps (losses[0] at w = b = 0)
    bool diverged = false;
    int diverged_at = 0;
    int steps_to_tolerance = -1;
    Vec params{};
    std::vector<TraceRow> trace;
};

Vec params_of(const tg::Tensor& w, const tg::Tensor& b) {
    Vec p;
    for (std::size_t j = 0; j < kFeatures; ++j) p[j] = w.value<double>()(j);
    p[kFeatures] = b.item();
    return p;
}

// Full-batch gradient descent on loss = mean((x w + b - y)²) from w = b = 0, the gradients
// from the tape. Stops early when the loss is not finite or above 10 x its start (diverged).
Run descend(const tg::Tensor& x, const tg::Tensor& y, const RunOptions& o) {
    tg::Tensor w = tg::zeros({kFeatures}, tg::f64).requires_grad_().name("w");
    tg::Tensor b = tg::scalar(0.0, tg::f64).requires_grad_().name("b");
    Run run;
    auto trace = o.trace_steps.begin();
    for (int step = 0;; ++step) {
        double loss_value;
        {
            tg::Tape tape;
            const tg::Tensor loss = tg::mean(tg::square(tg::matmul(x, w) + b - y));
            loss_value = loss.item();
            if (step < o.steps) tape.backward(loss);
        }
        run.losses.push_back(loss_value);
        if (run.steps_to_tolerance < 0 && loss_value <= o.loss_tolerance)
            run.steps_to_tolerance = step;
        if (!std::isfinite(loss_value) || loss_value > 10 * run.losses.front()) {
            run.diverged = true;
            run.diverged_at = step;
            break;
        }
        if (trace != o.trace_steps.end() && *trace == step) {
            run.trace.back().loss = loss_value;
            ++trace;
        }
        if (step == o.steps) break;
        const Vec before = params_of(w, b);
        w -= o.lr * w.grad();
        b -= o.lr * b.grad();
        w.zero_grad();
        b.zero_grad();
        if (trace != o.trace_steps.end() && *trace == step + 1) {
            const Vec after = params_of(w, b);
            double dot = 0, nu = 0, nd = 0;
            for (std::size_t k = 0; k < kParams; ++k) {
                const double u = after[k] - before[k], d = o.optimum[k] - before[k];
                dot += u * d;
                nu += u * u;
                nd += d * d;
            }
            const double cosine = std::clamp(dot / std::sqrt(nu * nd), -1.0, 1.0);
            run.trace.push_back({step + 1, after, 0.0, std::acos(cosine) * 180 / std::numbers::pi});
        }
    }
    run.params = params_of(w, b);
    return run;
}

// Parameters fitted on standardised features, in the original units:
// w_j z_j = w_j (x_j - m_j) / s_j, so w_orig_j = w_j / s_j and b_orig = b - Σ w_j m_j / s_j.
Vec to_original_units(const Vec& p, const tg::data::StandardScaler& scaler) {
    Vec out = p;
    for (std::size_t j = 0; j < kFeatures; ++j) {
        const double m = scaler.mean().value<double>()(j), s = scaler.scale().value<double>()(j);
        out[j] = p[j] / s;
        out[kFeatures] -= p[j] * m / s;
    }
    return out;
}

void print_params(const char* label, const Vec& p) {
    std::printf("  %-38s %8.4f %8.4f %10.4f %10.4f\n", label, p[0], p[1], p[2], p[3]);
}

}  // namespace

int main() {
    // ---- the data ---------------------------------------------------------------------------
    tg::Generator gen(kSeed);
    xt::xarray<double> xv = xt::zeros<double>({kRows, kFeatures});
    xt::xarray<double> yv = xt::zeros<double>({kRows});
    for (std::size_t i = 0; i < kRows; ++i) {
        xv(i, 0) = gen.uniform(0, 12);    // study hours per week
        xv(i, 1) = gen.uniform(40, 100);  // quiz average
        xv(i, 2) = gen.uniform(50, 100);  // attendance, percent
        yv(i) = kTrueB + kNoise * gen.normal();
        for (std::size_t j = 0; j < kFeatures; ++j) yv(i) += kTrueW[j] * xv(i, j);
    }
    if (std::FILE* f = std::fopen("exam_scores.csv", "w")) {
        std::fprintf(f, "hours,quiz,attendance,score\n");
        for (std::size_t i = 0; i < kRows; ++i)
            std::fprintf(f, "%.17g,%.17g,%.17g,%.17g\n", xv(i, 0), xv(i, 1), xv(i, 2), yv(i));
        std::fclose(f);
    }
    const tg::Tensor x = tg::from_array(xv), y = tg::from_array(yv);
    tg::data::StandardScaler scaler;
    const tg::Tensor z = scaler.fit_transform(x);
    std::printf(
        "Exam scores (text 002): %zu students, score = 2.5 hours + 0.4 quiz + "
        "0.2 attendance + 10 + noise (sd 3),\nseed %llu, written to exam_scores.csv. "
        "Model: score = w . x + b, loss = mean squared error, full-batch gradient "
        "descent.\n",
        kRows, static_cast<unsigned long long>(kSeed));
    for (std::size_t j = 0; j < kFeatures; ++j) {
        std::printf("  %-10s mean %6.2f  std %6.2f\n", kNames[j], scaler.mean().value<double>()(j),
                    scaler.scale().value<double>()(j));
    }

    // ---- the shape of the bowl ----------------------------------------------------------
    Mat gram_x, gram_z;
    Vec rhs_x, rhs_z;
    normal_equations(xv, yv, gram_x, rhs_x);
    normal_equations(z.value<double>(), yv, gram_z, rhs_z);
    const Vec opt_x = solve(gram_x, rhs_x), opt_z = solve(gram_z, rhs_z);
    const double best_loss = mse_at(xv, yv, opt_x);
    // The loss is a quadratic bowl with Hessian H = 2 AᵀA / N (A = [x | 1]); gradient descent
    // is stable iff lr < 2 / λ_max(H), and the flattest direction shrinks by 1 - lr λ_min.
    Mat hess_x = gram_x, hess_z = gram_z;
    for (auto* h : {&hess_x, &hess_z})
        for (auto& row : *h)
            for (double& v : row) v *= 2;
    const Vec ev_x = eigenvalues(hess_x), ev_z = eigenvalues(hess_z);
    std::printf(
        "\nThe loss bowl: curvatures (eigenvalues of the Hessian 2 A^T A / N, A = [x | 1])"
        "\n  raw features:          %.4g %.4g %.4g %.4g  -> steepest / flattest = %.3g, "
        "stable iff lr < 2/lambda_max = %.3g\n  standardised features: %.4g %.4g %.4g "
        "%.4g  -> steepest / flattest = %.3g, stable iff lr < 2/lambda_max = %.3g\n",
        ev_x[0], ev_x[1], ev_x[2], ev_x[3], ev_x[3] / ev_x[0], 2 / ev_x[3], ev_z[0], ev_z[1],
        ev_z[2], ev_z[3], ev_z[3] / ev_z[0], 2 / ev_z[3]);

    // ---- a ladder of learning rates ----------------------------------------------------
    const int ladder_steps = 300;
    const double tolerance = 1.01 * best_loss;  // within 1% of the least-squares loss
    std::printf(
        "\nA ladder of learning rates, %d steps each from w = b = 0 (diverged: the "
        "loss passed 10 x its start):\n  %-8s %-28s %-28s\n",
        ladder_steps, "lr", "raw features", "standardised features");
    double largest_x = 0, largest_z = 0;
    for (int decade = -6; decade <= 0; ++decade) {
        for (double m : {1.0, 2.0, 5.0}) {
            const double lr = m * std::pow(10.0, decade);
            if (lr > 2.0) break;
            std::string cells[2];
            double* largest[2] = {&largest_x, &largest_z};
            const tg::Tensor* inputs[2] = {&x, &z};
            const Vec* optima[2] = {&opt_x, &opt_z};
            for (int k = 0; k < 2; ++k) {
                const Run r = descend(*inputs[k], y, {lr, ladder_steps, tolerance, *optima[k]});
                char cell[64];
                if (r.diverged) {
                    std::snprintf(cell, sizeof cell, "diverged at step %d", r.diverged_at);
                } else {
                    *largest[k] = lr;
                    std::snprintf(cell, sizeof cell, "loss %.4g", r.losses.back());
                }
                cells[k] = cell;
            }
            std::printf("  %-8.0e %-28s %-28s\n", lr, cells[0].c_str(), cells[1].c_str());
        }
    }
    std::printf(
        "largest stable learning rate on the ladder: raw %.0e, standardised %.0e "
        "(%.0f times larger)\n",
        largest_x, largest_z, largest_z / largest_x);

    // ---- training at the largest stable rate of each ----------------------------------
    const int raw_steps = 100000, std_steps = 1000;
    const Run raw = descend(
        x, y, {largest_x, raw_steps, tolerance, opt_x, {1, 2, 3, 5, 10, 100, 1000, 10000, 100000}});
    const Run stdz = descend(z, y, {largest_z, std_steps, tolerance, opt_z, {1, 2, 3, 5}});
    std::printf(
        "\nTraining at those rates; target: loss within 1%% of the least-squares loss "
        "%.4f (<= %.4f)\n",
        best_loss, tolerance);
    auto report = [&](const char* what, const Run& r, int steps, double lr) {
        if (r.steps_to_tolerance >= 0) {
            std::printf("  %-22s lr %-6.0e reached it after %d steps\n", what, lr,
                        r.steps_to_tolerance);
        } else {
            std::printf(
                "  %-22s lr %-6.0e not reached in %d steps: the loss is still %.4f, "
                "%.0f%% above the optimum\n",
                what, lr, steps, r.losses.back(), 100 * (r.losses.back() / best_loss - 1));
        }
    };
    report("raw features:", raw, raw_steps, largest_x);
    report("standardised features:", stdz, std_steps, largest_z);

    std::printf(
        "\nThe raw run step by step (w in original units; angle = between the step "
        "and the straight way to the minimum):\n  %6s %8s %8s %10s %10s %10s %7s\n",
        "step", "hours", "quiz", "attendance", "intercept", "loss", "angle");
    for (const TraceRow& t : raw.trace) {
        std::printf("  %6d %8.4f %8.4f %10.4f %10.4f %10.4f %6.1f°\n", t.step, t.params[0],
                    t.params[1], t.params[2], t.params[3], t.loss, t.angle);
    }
    std::printf(
        "Why: one unit of the quiz or attendance weight moves every prediction by about "
        "70 points, one unit of the\nintercept by 1, so the bowl is %.2g times steeper one "
        "way than another. The steep direction caps the\nlearning rate; the first steps "
        "go across the valley, nearly at right angles to the way to the minimum\n(the "
        "quiz and attendance weights overshoot, then come back: the zig-zag), and along "
        "the flat direction\neach step removes only lr * lambda_min = %.1e of the error: "
        "the intercept crawls (%.2f after %d steps, %.2f at the minimum).\n",
        ev_x[3] / ev_x[0], largest_x * ev_x[0], raw.params[kFeatures], raw_steps, opt_x[kFeatures]);
    std::printf(
        "\nThe standardised run, mapped back to original units: every step heads almost "
        "straight for the minimum\n(the angle is measured in the standardised coordinates it "
        "descends in).\n  %6s %8s %8s %10s %10s %10s %7s\n",
        "step", "hours", "quiz", "attendance", "intercept", "loss", "angle");
    for (const TraceRow& t : stdz.trace) {
        const Vec p = to_original_units(t.params, scaler);
        std::printf("  %6d %8.4f %8.4f %10.4f %10.4f %10.4f %6.1f°\n", t.step, p[0], p[1], p[2],
                    p[3], t.loss, t.angle);
    }

    // ---- coefficients ------------------------------------------------------------------
    std::printf("\nRecovered coefficients in original units:\n  %-38s %8s %8s %10s %10s\n", "",
                kNames[0], kNames[1], kNames[2], "intercept");
    print_params("true rule", {kTrueW[0], kTrueW[1], kTrueW[2], kTrueB});
    print_params("least squares (closed form)", opt_x);
    char label[64];
    std::snprintf(label, sizeof label, "standardised, %d steps, mapped back", std_steps);
    print_params(label, to_original_units(stdz.params, scaler));
    std::snprintf(label, sizeof label, "raw features, %d steps", raw_steps);
    print_params(label, raw.params);

    // ---- the picture -------------------------------------------------------------------
    // Loss minus the least-squares loss, against steps on a log axis (about 60 points per
    // decade, so that 100000 steps stay a small file).
    auto curve = [&](const Run& r) {
        std::vector<double> s, excess;
        double next = 1;
        for (std::size_t t = 0; t < r.losses.size(); ++t) {
            // Below this the difference is rounding noise: the curve ends there.
            if (r.losses[t] - best_loss < 1e-12 * best_loss) break;
            if (static_cast<double>(t + 1) < next) continue;
            s.push_back(static_cast<double>(t + 1));
            excess.push_back(r.losses[t] - best_loss);
            next = std::max(next * 1.04, static_cast<double>(t + 2));
        }
        return std::make_pair(s, excess);
    };
    tg::charts::LinePlot plot("Exam scores: how far the loss is above the least-squares optimum",
                              "steps + 1 (log scale)", "loss − best loss (log scale)");
    char name[64];
    auto [sx, ex] = curve(raw);
    std::snprintf(name, sizeof name, "raw, lr %.0e", largest_x);
    plot.add(name, sx, ex);
    auto [sz, ez] = curve(stdz);
    std::snprintf(name, sizeof name, "standardised, lr %.0g", largest_z);
    plot.add(name, sz, ez);
    plot.add("target: 1% above it", {1.0, static_cast<double>(raw_steps + 1)},
             {0.01 * best_loss, 0.01 * best_loss});
    plot.log_x().log_y().save("exam_scores_loss.svg", 800, 440);
    std::printf(
        "\nwrote exam_scores.csv, exam_scores_loss.svg (the loss minus the least-squares "
        "loss of both runs, log-log)\n");
}

// Runs the worked examples quadratic, line_fit, exam_scores and logistic_regression (each in a
// scratch directory, where their SVG files land) and checks the numbers they print against
// values computed here independently: closed forms and plain double-precision loops.
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <tapegrad/autodiff/error.hpp>
#include <tapegrad/charts/plot.hpp>
#include <vector>

#include "example_run.hpp"

namespace fs = std::filesystem;
using testing::ExampleRun;
using testing::lines_of;
using testing::read_file;

namespace {

std::string fmt(const char* format, ...) {
    char buf[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(buf, sizeof buf, format, args);
    va_end(args);
    return buf;
}

// A numeric CSV with a header row: the rows.
std::vector<std::vector<double>> read_rows(const fs::path& path) {
    std::vector<std::vector<double>> rows;
    const auto lines = lines_of(read_file(path));
    for (std::size_t i = 1; i < lines.size(); ++i) {
        if (lines[i].empty()) continue;
        std::vector<double> row;
        std::istringstream in(lines[i]);
        for (std::string cell; std::getline(in, cell, ',');) row.push_back(std::stod(cell));
        rows.push_back(row);
    }
    return rows;
}

}  // namespace

TEST_CASE("example quadratic: the text's 12 steps, the guard at eta 1.2, the bound") {
    const ExampleRun run("quadratic");
    INFO(run.out);
    REQUIRE(run.status == 0);
    REQUIRE(run.lines.size() > 13);
    CHECK(run.lines[0] == "minimise f(w) = (w - 3)^2 from w = 10, learning rate 0.1");
    // w_{t+1} - 3 = (1 - 0.1·2)(w_t - 3) from w = 10: after step t, w = 3 + 7·0.8^(t+1).
    for (int t = 0; t < 12; ++t) {
        const double d = 7 * std::pow(0.8, t + 1);
        CHECK(run.lines[1 + t] == fmt("step %2d: w=%6.3f loss=%7.4f", t, 3 + d, d * d));
    }
    CHECK(run.lines[12] == "step 11: w= 3.481 loss= 0.2314");

    // eta = 1.2: w - 3 is multiplied by 1 - 2.4 = -1.4 at every step.
    for (int t = 0; t < 6; ++t) {
        const double d = 7 * std::pow(-1.4, t + 1);
        CHECK(run.has(fmt("step %2d: w=%6.3f loss=%7.4f", t, 3 + d, d * d)));
    }
    // The guard flags the first loss above 100 x the best smoothed loss; the losses before
    // the steps, 49·1.96^(k-1), only grow, so the best is the first one, 49.
    int k = 1;
    while (49 * std::pow(1.96, k - 1) <= 100 * 49) ++k;
    CHECK(k == 8);
    CHECK(run.has("DivergenceGuard: the loss rose to"));
    CHECK(
        run.has(fmt("step %d (batch 1); weights restored to the last good step; try a smaller "
                    "learning rate (now 1.2)",
                    k)));
    // Restored: the weights the last accepted loss (step k - 1) was measured on, w_{k-2}.
    CHECK(run.has(fmt("after fit: w = %.3f, diverged = yes", 3 + 7 * std::pow(-1.4, k - 2))));

    // The bound: |w_20 - w*| = 7 |1 - 2 eta|^20.
    for (double eta : {0.1, 0.5, 0.9, 0.99, 1.0, 1.01, 1.1, 1.2}) {
        INFO("eta " << eta);
        const std::string rest = run.after(fmt("  eta = %-5.2f", eta));
        double factor = 0, dist = 0, measured = 0;
        REQUIRE(std::sscanf(rest.c_str(), " 1 - eta a = %lf |w_20 - w*| = %lf measured factor %lf",
                            &factor, &dist, &measured) == 3);
        CHECK(factor == Approx(1 - 2 * eta).margin(5e-4));
        CHECK(dist == Approx(7 * std::pow(std::abs(1 - 2 * eta), 20)).epsilon(1e-4).margin(1e-9));
        CHECK(measured == Approx(std::abs(1 - 2 * eta)).margin(5e-4));
        const double f = std::abs(1 - 2 * eta);
        const bool says_converges = rest.find("converges") != std::string::npos ||
                                    rest.find("the minimum in one step") != std::string::npos;
        CHECK(says_converges == (f < 1));
        CHECK((rest.find("diverges") != std::string::npos) == (f > 1));
        CHECK((rest.find("bounces") != std::string::npos) == (f == 1));
    }
    run.require_svg("quadratic_paths.svg");
    run.require_svg("quadratic_divergence.svg");
    run.require_svg("quadratic_bound.svg");
}

TEST_CASE("example line_fit: the text's code, not its table, least squares") {
    const ExampleRun run("line_fit");
    INFO(run.out);
    REQUIRE(run.status == 0);
    // The text's code as a plain loop: loss before the update, w and b printed after it.
    const double X[5] = {1, 2, 3, 4, 5}, Y[5] = {3, 5, 7, 9, 11};
    double w = 0, b = 0;
    int rounded = -1;
    for (int epoch = 0; epoch < 3000; ++epoch) {
        double loss = 0, dw = 0, db = 0;
        for (int i = 0; i < 5; ++i) {
            const double r = Y[i] - (w * X[i] + b);
            loss += r * r / 5;
            dw += -2 * X[i] * r / 5;
            db += -2 * r / 5;
        }
        w -= 0.01 * dw;
        b -= 0.01 * db;
        if (epoch < 100 && epoch % 20 == 0) {
            CHECK(run.has(fmt("Epoch %3d: w=%.3f, b=%.3f, loss=%.4f\n", epoch, w, b, loss)));
        }
        if (epoch == 99)
            CHECK(run.has(fmt("Learned: y = %.2fx + %.2f (target: y = 2x + 1)", w, b)));
        if (epoch == 499 || epoch == 999 || epoch == 1999 || epoch == 2999) {
            CHECK(run.has(fmt("Epoch %4d: w=%.4f, b=%.4f, loss=%.2e", epoch, w, b, loss)));
        }
        if (rounded < 0 && std::abs(w - 2) < 0.005 && std::abs(b - 1) < 0.005) rounded = epoch;
    }
    CHECK(
        run.has(fmt("the learned line first prints as y = 2.00x + 1.00 after epoch %d", rounded)));
    // The code's first epoch against the text's table.
    CHECK(run.has("does not match its own code"));
    CHECK(run.has("w=0.140, b=0.040, loss= 65.0000    w=0.500, b=0.140, loss= 57.0000"));

    // Least squares from the normal equations [[Σx², Σx], [Σx, n]] (w, b) = (Σxy, Σy), by
    // Cramer's rule.
    double sx = 0, sxx = 0, sy = 0, sxy = 0;
    for (int i = 0; i < 5; ++i) {
        sx += X[i];
        sxx += X[i] * X[i];
        sy += Y[i];
        sxy += X[i] * Y[i];
    }
    const double det = sxx * 5 - sx * sx;
    const double w_ls = (sxy * 5 - sx * sy) / det, b_ls = (sxx * sy - sx * sxy) / det;
    CHECK(run.has(fmt("least squares: y = %.3fx + %.3f, loss = 0.0000", w_ls, b_ls)));
    run.require_svg("line_fit_loss.svg");
    run.require_svg("line_fit_params.svg");
}

namespace {

// Least squares for score = w·x + b on centred data: the 3 x 3 covariance system by Cramer's
// rule, then b = mean(y) - w·mean(x).
std::vector<double> least_squares(const std::vector<std::vector<double>>& rows) {
    const std::size_t n = rows.size();
    double mean[4] = {0, 0, 0, 0};
    for (const auto& r : rows)
        for (int j = 0; j < 4; ++j) mean[j] += r[j] / n;
    double c[3][3] = {}, v[3] = {};
    for (const auto& r : rows) {
        for (int i = 0; i < 3; ++i) {
            v[i] += (r[i] - mean[i]) * (r[3] - mean[3]);
            for (int j = 0; j < 3; ++j) c[i][j] += (r[i] - mean[i]) * (r[j] - mean[j]);
        }
    }
    auto det3 = [](const double m[3][3]) {
        return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
               m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
               m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    };
    const double d = det3(c);
    std::vector<double> out(4);
    out[3] = mean[3];
    for (int k = 0; k < 3; ++k) {
        double m[3][3];
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j) m[i][j] = j == k ? v[i] : c[i][j];
        out[k] = det3(m) / d;
        out[3] -= out[k] * mean[k];
    }
    return out;
}

double mse(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
           const std::vector<double>& p) {
    double s = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double r = p[0] * x[i][0] + p[1] * x[i][1] + p[2] * x[i][2] + p[3] - y[i];
        s += r * r;
    }
    return s / x.size();
}

// Plain gradient descent on mean((x w + b - y)²) from 0; returns the parameters after `steps`
// steps and sets *reached to the first step count whose loss is <= tolerance (-1: none).
std::vector<double> descend(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
                            double lr, int steps, double tolerance, int* reached) {
    std::vector<double> p(4, 0.0);
    *reached = -1;
    for (int t = 0;; ++t) {
        if (*reached < 0 && mse(x, y, p) <= tolerance) *reached = t;
        if (t == steps) break;
        double g[4] = {0, 0, 0, 0};
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double r = p[0] * x[i][0] + p[1] * x[i][1] + p[2] * x[i][2] + p[3] - y[i];
            for (int j = 0; j < 3; ++j) g[j] += 2 * r * x[i][j] / x.size();
            g[3] += 2 * r / x.size();
        }
        for (int j = 0; j < 4; ++j) p[j] -= lr * g[j];
    }
    return p;
}

// The largest eigenvalue of H = 2 AᵀA / N, A = [x | 1], by power iteration.
double lambda_max(const std::vector<std::vector<double>>& x) {
    double h[4][4] = {};
    for (const auto& r : x) {
        const double a[4] = {r[0], r[1], r[2], 1.0};
        for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) h[i][j] += 2 * a[i] * a[j] / x.size();
    }
    double v[4] = {1, 1, 1, 1}, lambda = 0;
    for (int it = 0; it < 2000; ++it) {
        double u[4] = {0, 0, 0, 0}, norm = 0;
        for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) u[i] += h[i][j] * v[j];
        for (double e : u) norm += e * e;
        norm = std::sqrt(norm);
        double vhv = 0;
        for (int i = 0; i < 4; ++i) vhv += v[i] * u[i];
        lambda = vhv;  // v has unit length after the first iteration
        for (int i = 0; i < 4; ++i) v[i] = u[i] / norm;
    }
    return lambda;
}

// The rung of a 1-2-5 ladder above lr.
double next_rung(double lr) {
    const double decade = std::pow(10.0, std::floor(std::log10(lr) + 1e-9));
    const double m = std::round(lr / decade);
    return m == 1 ? 2 * decade : m == 2 ? 5 * decade : 10 * decade;
}

std::vector<double> four_numbers(const std::string& s) {
    std::vector<double> out(4, NAN);
    std::sscanf(s.c_str(), "%lf %lf %lf %lf", &out[0], &out[1], &out[2], &out[3]);
    return out;
}

}  // namespace

TEST_CASE("example exam_scores: scaling, learning-rate ladder, recovered coefficients") {
    const ExampleRun run("exam_scores");
    INFO(run.out);
    REQUIRE(run.status == 0);
    const auto rows = read_rows(run.dir / "exam_scores.csv");
    REQUIRE(rows.size() == 200);
    std::vector<std::vector<double>> x, z;
    std::vector<double> y;
    for (const auto& r : rows) {
        REQUIRE(r.size() == 4);
        CHECK((r[0] >= 0 && r[0] < 12 && r[1] >= 40 && r[1] < 100 && r[2] >= 50 && r[2] < 100));
        x.push_back({r[0], r[1], r[2]});
        y.push_back(r[3]);
    }
    // Standardised copies (population std), as data::StandardScaler.
    double mean[3] = {0, 0, 0}, sd[3] = {0, 0, 0};
    for (const auto& r : x)
        for (int j = 0; j < 3; ++j) mean[j] += r[j] / x.size();
    for (const auto& r : x)
        for (int j = 0; j < 3; ++j) sd[j] += (r[j] - mean[j]) * (r[j] - mean[j]) / x.size();
    for (int j = 0; j < 3; ++j) sd[j] = std::sqrt(sd[j]);
    for (const auto& r : x)
        z.push_back({(r[0] - mean[0]) / sd[0], (r[1] - mean[1]) / sd[1], (r[2] - mean[2]) / sd[2]});

    const auto ls = least_squares(rows);
    const double best = mse(x, y, ls);
    const auto printed_ls = four_numbers(run.after("least squares (closed form)"));
    const auto printed_std = four_numbers(run.after("standardised, 1000 steps, mapped back"));
    const auto printed_raw = four_numbers(run.after("raw features, 100000 steps"));
    const double true_rule[4] = {2.5, 0.4, 0.2, 10.0};
    // Noise of sd 3 on 200 rows: the slopes land within a few hundredths of the rule, the
    // intercept (extrapolated to zero quiz and attendance) within a few points.
    const double near[4] = {0.2, 0.05, 0.05, 5.0};
    for (int j = 0; j < 4; ++j) {
        INFO("coefficient " << j);
        CHECK(printed_ls[j] == Approx(ls[j]).margin(1e-4));
        CHECK(printed_std[j] == Approx(ls[j]).margin(1e-4));
        CHECK(std::abs(printed_std[j] - true_rule[j]) < near[j]);
    }

    // The ladder: the largest stable rate is below 2 / λ_max and the next rung above it.
    double raw_lr = 0, std_lr = 0;
    REQUIRE(std::sscanf(run.after("largest stable learning rate on the ladder:").c_str(),
                        " raw %lf, standardised %lf", &raw_lr, &std_lr) == 2);
    const double bound_raw = 2 / lambda_max(x), bound_std = 2 / lambda_max(z);
    CHECK(raw_lr < bound_raw);
    CHECK(next_rung(raw_lr) > bound_raw);
    CHECK(std_lr < bound_std);
    CHECK(next_rung(std_lr) > bound_std);
    CHECK(std_lr / raw_lr >= 1000);

    // Training at those rates: steps to within 1% of the least-squares loss, and where the raw
    // run is after 100000 steps.
    int reached_std = 0, reached_raw = 0;
    descend(z, y, std_lr, 1000, 1.01 * best, &reached_std);
    const auto p_raw = descend(x, y, raw_lr, 100000, 1.01 * best, &reached_raw);
    REQUIRE(reached_std >= 0);
    CHECK(reached_std < 20);
    CHECK(run.has(
        fmt("standardised features: lr %-6.0e reached it after %d steps", std_lr, reached_std)));
    CHECK(reached_raw == -1);
    CHECK(
        run.has(fmt("raw features:          lr %-6.0e not reached in 100000 steps: the loss is "
                    "still %.4f",
                    raw_lr, mse(x, y, p_raw))));
    for (int j = 0; j < 4; ++j) CHECK(printed_raw[j] == Approx(p_raw[j]).margin(2e-4));
    run.require_svg("exam_scores_loss.svg");
}

TEST_CASE("example logistic_regression: the text's losses, weights, precision and recall") {
    const ExampleRun run("logistic_regression");
    INFO(run.out);
    REQUIRE(run.status == 0);
    const auto rows = read_rows(fs::path(TAPEGRAD_EXAMPLES_DATA) / "make_classification_400.csv");
    REQUIRE(rows.size() == 400);
    const std::size_t n = rows.size();
    // StandardScaler (population std), then a bias column of ones.
    double mean[2] = {0, 0}, sd[2] = {0, 0};
    for (const auto& r : rows)
        for (int j = 0; j < 2; ++j) mean[j] += r[j] / n;
    for (const auto& r : rows)
        for (int j = 0; j < 2; ++j) sd[j] += (r[j] - mean[j]) * (r[j] - mean[j]) / n;
    std::vector<std::array<double, 3>> X;
    std::vector<double> y;
    for (const auto& r : rows) {
        X.push_back(
            {1.0, (r[0] - mean[0]) / std::sqrt(sd[0]), (r[1] - mean[1]) / std::sqrt(sd[1])});
        y.push_back(r[2]);
    }
    auto probabilities = [&](const double* w) {
        std::vector<double> p(n);
        for (std::size_t i = 0; i < n; ++i)
            p[i] = 1 / (1 + std::exp(-(X[i][0] * w[0] + X[i][1] * w[1] + X[i][2] * w[2])));
        return p;
    };
    auto loss = [&](const double* w) {
        const auto p = probabilities(w);
        double s = 0;
        for (std::size_t i = 0; i < n; ++i)
            s += y[i] * std::log(p[i] + 1e-9) + (1 - y[i]) * std::log(1 - p[i] + 1e-9);
        return -s / n;
    };
    // The text's loop with its hand-derived gradient X^T (p - y) / n.
    double w[3] = {0, 0, 0};
    for (int step = 0; step < 800; ++step) {
        const auto p = probabilities(w);
        double g[3] = {0, 0, 0};
        for (std::size_t i = 0; i < n; ++i)
            for (int j = 0; j < 3; ++j) g[j] += X[i][j] * (p[i] - y[i]) / n;
        for (int j = 0; j < 3; ++j) w[j] -= 0.2 * g[j];
        if (step % 100 == 0) CHECK(run.has(fmt("step %4d loss=%.4f\n", step, loss(w))));
    }
    double printed[3] = {0, 0, 0};
    REQUIRE(std::sscanf(run.after("weights: [").c_str(), "%lf %lf %lf", &printed[0], &printed[1],
                        &printed[2]) == 3);
    for (int j = 0; j < 3; ++j)
        CHECK(printed[j] == Approx(std::nearbyint(w[j] * 1000) / 1000).margin(1e-12));
    // NumPy 1.24.2 running the text's code (seed text 001) on this CSV printed exactly this
    // line (with scikit-learn's StandardScaler replaced by (X - X.mean(0)) / X.std(0)).
    CHECK(run.has("weights: [ 0.492 -0.937  3.37 ]\n"));

    // Precision and recall at p > 0.5, by counting.
    const auto p = probabilities(w);
    int tp = 0, fp = 0, fn = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const bool predicted = p[i] > 0.5, actual = y[i] > 0.5;
        tp += predicted && actual;
        fp += predicted && !actual;
        fn += !predicted && actual;
    }
    REQUIRE(tp + fp > 0);
    REQUIRE(tp + fn > 0);
    CHECK(run.has(fmt("precision = TP / (TP + FP) = %.4f", double(tp) / (tp + fp))));
    CHECK(run.has(fmt("recall    = TP / (TP + FN) = %.4f", double(tp) / (tp + fn))));
    run.require_svg("logistic_regression_loss.svg");
    run.require_svg("logistic_regression_boundary.svg");
}

// LinePlot::markers, which these examples added for iterates and scatter plots.
TEST_CASE("LinePlot::markers: dots at the points, with or without the line") {
    auto count = [](const std::string& s, const std::string& what) {
        std::size_t n = 0;
        for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
        return n;
    };
    tapegrad::charts::LinePlot plain;
    plain.add("a", {0, 1, 2}, {0, 1, 4});
    const std::string without = plain.svg();
    CHECK(count(without, "<circle") == 0);
    CHECK(count(without, "<polyline") == 1);

    tapegrad::charts::LinePlot dotted;
    dotted.add("a", {0, 1, 2}, {0, 1, 4}).markers();
    const std::string with = dotted.svg();
    CHECK(count(with, "<circle") == 3 + 1);  // three points and the legend's dot
    CHECK(count(with, "<polyline") == 1);

    tapegrad::charts::LinePlot scatter;
    scatter.add("a", {0, 1, 2}, {0, 1, 4}).markers(false);
    const std::string dots = scatter.svg();
    CHECK(count(dots, "<circle") == 3 + 1);
    CHECK(count(dots, "<polyline") == 0);
    CHECK(count(dots, "<line x1") == count(without, "<line x1") - 1);  // no legend line

    tapegrad::charts::LinePlot empty;
    CHECK_THROWS_AS(empty.markers(), tapegrad::ValueError);
}

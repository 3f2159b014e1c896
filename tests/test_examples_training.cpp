// Runs the worked examples update_styles, optimizers, lr_finder, early_stopping,
// clipping_and_schedules and newton_vs_gd (each in a scratch directory, where their SVG files land)
// and checks the numbers they print against values computed here independently: plain
// double-precision loops of the same update rules, closed forms of the schedules, and the printed
// tables themselves (an argmin, a ratio, a count).
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "example_run.hpp"

namespace fs = std::filesystem;
using testing::ExampleRun;
using testing::read_file;

namespace {

// An SVG the example wrote: present, complete, with at least `lines` polylines drawn.
void check_svg(const ExampleRun& run, const std::string& file, std::size_t lines = 1) {
    INFO(file);
    const fs::path path = run.dir / file;
    REQUIRE(fs::exists(path));
    const std::string svg = read_file(path);
    CHECK(svg.size() > 2000);
    CHECK(svg.rfind("<?xml", 0) == 0);
    CHECK(svg.find("</svg>") != std::string::npos);
    std::size_t polylines = 0;
    for (auto p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1))
        ++polylines;
    CHECK(polylines >= lines);
}

// The numbers in a line of a table ('%' and '|' read as spaces).
std::vector<double> numbers(std::string s) {
    for (char& c : s)
        if (c == '%' || c == '|') c = ' ';
    std::istringstream in(s);
    std::vector<double> out;
    for (double v; in >> v;) out.push_back(v);
    return out;
}

// ---- optimizers: the same update rules in plain doubles (PyTorch's formulas) ---------------

struct Point {
    double x, y;
};
// f, its gradient and its Hessian [[a, b], [b, c]] as {a, b, c}.
struct Problem {
    std::function<double(Point)> f;
    std::function<Point(Point)> grad;
    std::function<std::array<double, 3>(Point)> hess;
};

double ravine(Point p) {
    return 0.5 * (p.x * p.x + 50 * p.y * p.y);
}
double rosenbrock(Point p) {
    return (1 - p.x) * (1 - p.x) + 100 * (p.y - p.x * p.x) * (p.y - p.x * p.x);
}
Point rosenbrock_grad(Point p) {
    return {-2 * (1 - p.x) - 400 * p.x * (p.y - p.x * p.x), 200 * (p.y - p.x * p.x)};
}
const Problem kRavine{ravine,
                      [](Point p) {
                          return Point{p.x, 50 * p.y};
                      },
                      [](Point) {
                          return std::array<double, 3>{1, 0, 50};
                      }};
const Problem kRosenbrock{rosenbrock, rosenbrock_grad, [](Point p) {
                              return std::array<double, 3>{
                                  2 - 400 * (p.y - p.x * p.x) + 800 * p.x * p.x, -400 * p.x, 200};
                          }};

// Steps until f < 1e-8 (the example's tolerance); -1 when not within max_steps, -2 when the
// loss became non-finite or above 1e12 (diverged), as the example counts.
struct Outcome {
    int steps;
    Point end;
};

Outcome count_steps(const std::string& method, double lr, Point p, const Problem& problem,
                    int max_steps) {
    Point buf{0, 0}, m{0, 0}, v{0, 0};
    for (int t = 1; t <= max_steps; ++t) {
        const Point g = problem.grad(p);
        if (method == "gradient descent") {
            p = {p.x - lr * g.x, p.y - lr * g.y};
        } else if (method == "momentum 0.9" || method == "Nesterov 0.9") {
            // buf = g on the first step, then 0.9 buf + g; Nesterov steps along g + 0.9 buf.
            buf = t == 1 ? g : Point{0.9 * buf.x + g.x, 0.9 * buf.y + g.y};
            const Point d =
                method == "momentum 0.9" ? buf : Point{g.x + 0.9 * buf.x, g.y + 0.9 * buf.y};
            p = {p.x - lr * d.x, p.y - lr * d.y};
        } else if (method == "RMSprop") {
            // v = 0.99 v + 0.01 g^2, p -= lr g / (sqrt(v) + 1e-8)
            v = {0.99 * v.x + 0.01 * g.x * g.x, 0.99 * v.y + 0.01 * g.y * g.y};
            p = {p.x - lr * g.x / (std::sqrt(v.x) + 1e-8),
                 p.y - lr * g.y / (std::sqrt(v.y) + 1e-8)};
        } else if (method == "Adam") {
            // m, v with betas (0.9, 0.999); p -= lr / (1 - 0.9^t) m / (sqrt(v) / sqrt(1 -
            // 0.999^t) + 1e-8)
            m = {0.9 * m.x + 0.1 * g.x, 0.9 * m.y + 0.1 * g.y};
            v = {0.999 * v.x + 0.001 * g.x * g.x, 0.999 * v.y + 0.001 * g.y * g.y};
            const double c1 = 1 - std::pow(0.9, t), c2 = std::sqrt(1 - std::pow(0.999, t));
            p = {p.x - lr / c1 * m.x / (std::sqrt(v.x) / c2 + 1e-8),
                 p.y - lr / c1 * m.y / (std::sqrt(v.y) / c2 + 1e-8)};
        } else if (method == "Newton") {
            // The exact Hessian, the 2 x 2 system solved in closed form.
            const auto [a, b, c] = problem.hess(p);
            const double det = a * c - b * b;
            p = {p.x - lr * (c * g.x - b * g.y) / det, p.y - lr * (a * g.y - b * g.x) / det};
        } else {
            FAIL("no reference for " << method);
        }
        const double fx = problem.f(p);
        if (!std::isfinite(fx) || fx > 1e12) return {-2, p};
        if (fx < 1e-8) return {t, p};
    }
    return {-1, p};
}

int parse_steps(const std::string& s) {
    if (s == "diverged") return -2;
    if (s == "not-reached") return -1;
    return std::stoi(s);
}

struct Row {
    std::string method;
    double lr = 0;
    int steps = 0;
    int evals = 0;
    double x = 0, y = 0, f = 0;
};

// The table of one problem: the seven rows after the header line that follows `title`.
std::vector<Row> table(const ExampleRun& run, const std::string& title) {
    const std::size_t start = run.find(title);
    REQUIRE(start < run.lines.size());
    std::vector<Row> rows;
    for (const char* method : {"gradient descent", "momentum 0.9", "Nesterov 0.9", "RMSprop",
                               "Adam", "L-BFGS", "Newton"}) {
        const std::string rest = run.row(method, start);
        INFO(method);
        REQUIRE(!rest.empty());
        Row r{method};
        char steps[32] = {};
        REQUIRE(std::sscanf(rest.c_str(), "%lf %31s %d %lf %lf %lf", &r.lr, steps, &r.evals, &r.x,
                            &r.y, &r.f) == 6);
        r.steps = parse_steps(steps);
        rows.push_back(r);
    }
    return rows;
}

// ---- update_styles: logistic regression in plain doubles -----------------------------------

struct Logistic {
    std::vector<double> x1, x2, y;  // standardised features

    explicit Logistic(const fs::path& csv) {
        std::ifstream in(csv);
        std::string line;
        std::getline(in, line);  // header x1,x2,y
        while (std::getline(in, line)) {
            if (line.empty()) continue;
            double a, b, c;
            REQUIRE(std::sscanf(line.c_str(), "%lf,%lf,%lf", &a, &b, &c) == 3);
            x1.push_back(a);
            x2.push_back(b);
            y.push_back(c);
        }
        standardise(x1);
        standardise(x2);
    }
    // (x - mean) / std with the population std, as StandardScaler.
    static void standardise(std::vector<double>& v) {
        double mean = 0, var = 0;
        for (double a : v) mean += a / static_cast<double>(v.size());
        for (double a : v) var += (a - mean) * (a - mean) / static_cast<double>(v.size());
        for (double& a : v) a = (a - mean) / std::sqrt(var);
    }
    std::size_t n() const { return y.size(); }
    // Mean binary cross-entropy of w = (bias, w1, w2), its gradient and Hessian.
    double loss(const double w[3]) const {
        double l = 0;
        for (std::size_t i = 0; i < n(); ++i) {
            const double z = w[0] + w[1] * x1[i] + w[2] * x2[i];
            // log(1 + e^z) - y z, computed stably
            l += std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z))) - y[i] * z;
        }
        return l / static_cast<double>(n());
    }
    void grad_hess(const double w[3], double g[3], double h[3][3]) const {
        for (int a = 0; a < 3; ++a) {
            g[a] = 0;
            for (int b = 0; b < 3; ++b) h[a][b] = 0;
        }
        for (std::size_t i = 0; i < n(); ++i) {
            const double f[3] = {1, x1[i], x2[i]};
            const double p = 1 / (1 + std::exp(-(w[0] + w[1] * x1[i] + w[2] * x2[i])));
            for (int a = 0; a < 3; ++a) {
                g[a] += (p - y[i]) * f[a] / static_cast<double>(n());
                for (int b = 0; b < 3; ++b)
                    h[a][b] += p * (1 - p) * f[a] * f[b] / static_cast<double>(n());
            }
        }
    }
};

// Solves the 3 x 3 system h d = g by Cramer's rule.
void solve3(const double h[3][3], const double g[3], double d[3]) {
    auto det = [](const double m[3][3]) {
        return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
               m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
               m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    };
    const double D = det(h);
    for (int c = 0; c < 3; ++c) {
        double m[3][3];
        for (int r = 0; r < 3; ++r)
            for (int k = 0; k < 3; ++k) m[r][k] = k == c ? g[r] : h[r][k];
        d[c] = det(m) / D;
    }
}

}  // namespace

TEST_CASE("examples: update_styles counts updates per epoch and matches plain full-batch GD") {
    ExampleRun run("update_styles");
    REQUIRE(run.status == 0);
    const Logistic data(fs::path(TAPEGRAD_EXAMPLES_DATA) / "make_classification_400.csv");
    const std::size_t n = data.n();
    REQUIRE(n == 400);
    int epochs = 0;
    REQUIRE(std::sscanf(run.after("lr 0.2, ").c_str(), "%d epochs", &epochs) == 1);
    REQUIRE(epochs > 0);

    // Cost table: batch, updates per epoch (1, N, ceil(N / 64)), updates in all.
    const std::size_t cost = run.find("Cost:");
    const std::vector<std::pair<std::string, std::size_t>> styles{
        {"full batch", n}, {"stochastic", 1}, {"mini-batch", 64}};
    for (const auto& [name, batch] : styles) {
        INFO(name);
        const auto v = numbers(run.row(name, cost));
        REQUIRE(v.size() == 4);
        CHECK(v[0] == batch);
        const std::size_t per_epoch = (n + batch - 1) / batch;
        CHECK(v[1] == per_epoch);
        CHECK(v[2] == per_epoch * static_cast<std::size_t>(epochs));
    }
    CHECK(numbers(run.row("mini-batch", cost))[1] == 7);

    // Full batch is plain gradient descent from w = 0 with lr 0.2: recompute its losses.
    double w[3] = {0, 0, 0};
    std::vector<double> losses;
    for (int t = 0; t < epochs; ++t) {
        double g[3], h[3][3];
        data.grad_hess(w, g, h);
        for (int a = 0; a < 3; ++a) w[a] -= 0.2 * g[a];
        losses.push_back(data.loss(w));
    }
    const std::size_t progress = run.find("Progress and noise");
    const auto full = numbers(run.row("full batch", progress));
    REQUIRE(full.size() == 5);
    CHECK(full[0] == Approx(losses.front()).margin(6e-5));  // printed with 4 decimals
    CHECK(full[1] == Approx(losses.back()).margin(6e-5));
    CHECK(full[3] == 0.0);  // full batch never raises the loss at this rate
    CHECK(full[4] == 0.0);  // its gradient is the full one: no noise
    CHECK(run.row("full batch", progress).find(" 0.0%") != std::string::npos);
    // The stochastic path is the noisiest, then mini-batches.
    const auto sgd = numbers(run.row("stochastic", progress));
    const auto mini = numbers(run.row("mini-batch", progress));
    REQUIRE(sgd.size() == 5);
    REQUIRE(mini.size() == 5);
    CHECK(sgd[4] > mini[4]);
    CHECK(mini[4] > 0);

    // The printed lowest loss: Newton's method on the same loss, to convergence.
    double wn[3] = {0, 0, 0};
    for (int it = 0; it < 30; ++it) {
        double g[3], h[3][3], d[3];
        data.grad_hess(wn, g, h);
        solve3(h, g, d);
        for (int a = 0; a < 3; ++a) wn[a] -= d[a];
    }
    double lowest = 0;
    REQUIRE(std::sscanf(run.after("can reach is ").c_str(), "%lf", &lowest) == 1);
    CHECK(lowest == Approx(data.loss(wn)).margin(6e-5));
    for (const auto& row : {full, sgd, mini}) CHECK(row[1] >= lowest - 1e-4);

    check_svg(run, "update_styles_updates.svg", 4);
    check_svg(run, "update_styles_examples.svg", 4);
}

TEST_CASE("examples: optimizers' step counts match the same rules run here") {
    ExampleRun run("optimizers");
    REQUIRE(run.status == 0);

    SECTION("the ravine") {
        const auto rows = table(run, "== Narrow ravine");
        for (const Row& r : rows) {
            INFO(r.method);
            REQUIRE(r.steps > 0);  // every method gets there within the budget
            CHECK(r.f < 1e-8);
            // The printed minimiser is where f is that small (coordinates printed to 1e-8).
            CHECK(ravine({r.x, r.y}) == Approx(r.f).margin(1e-10).epsilon(1e-3));
            CHECK(std::hypot(r.x, r.y) < 2e-4);
            if (r.method == "L-BFGS") {
                CHECK(r.evals >= r.steps);
                continue;
            }
            const Outcome ref = count_steps(r.method, r.lr, {-8, 1.5}, kRavine, 3000);
            CHECK(std::abs(r.steps - ref.steps) <= 1);
            // Newton: one evaluation for the exact Hessian (its backward recorded and
            // differentiated again), one for the gradient at the step's start.
            CHECK(r.evals == (r.method == "Newton" ? 2 : 1) * r.steps);
        }
        // Newton's quadratic model of a quadratic is exact: one step.
        CHECK(rows.back().method == "Newton");
        CHECK(rows.back().steps == 1);
    }

    SECTION("gradient descent's rate sweep on the ravine, against 0 < lr < 2/50") {
        const std::size_t start = run.find("Gradient descent on the ravine at other rates");
        REQUIRE(start < run.lines.size());
        int checked = 0;
        for (std::size_t i = start + 2; i < run.lines.size() && !run.lines[i].empty(); ++i) {
            double lr = 0, f = 0;
            char steps[32] = {};
            REQUIRE(std::sscanf(run.lines[i].c_str(), "%lf %31s %lf", &lr, steps, &f) == 3);
            INFO("lr " << lr);
            const Outcome ref = count_steps("gradient descent", lr, {-8, 1.5}, kRavine, 3000);
            const int printed = parse_steps(steps);
            if (ref.steps > 0) {
                CHECK(std::abs(printed - ref.steps) <= 1);
            } else {
                CHECK(printed == ref.steps);
            }
            // Converges exactly when |1 - 50 lr| < 1.
            CHECK((printed > 0) == (lr < 2.0 / 50));
            ++checked;
        }
        CHECK(checked == 8);
    }

    SECTION("Rosenbrock") {
        const auto rows = table(run, "== Rosenbrock");
        for (const Row& r : rows) {
            INFO(r.method);
            CHECK(rosenbrock({r.x, r.y}) == Approx(r.f).margin(1e-10).epsilon(1e-3));
            if (r.steps > 0) {
                CHECK(r.f < 1e-8);
                CHECK(std::hypot(r.x - 1, r.y - 1) < 1e-3);
            }
            if (r.method == "L-BFGS") continue;
            const Outcome ref = count_steps(r.method, r.lr, {-1.2, 1}, kRosenbrock, 20000);
            if (ref.steps > 0) {
                // Thousands of steps: rounding may move the crossing of 1e-8 a little.
                CHECK(std::abs(r.steps - ref.steps) <= 2 + ref.steps / 1000);
            } else {
                CHECK(r.steps == ref.steps);
                CHECK(r.x == Approx(ref.end.x).margin(1e-3));
                CHECK(r.y == Approx(ref.end.y).margin(1e-3));
            }
        }
    }

    check_svg(run, "optimizers_ravine.svg", 7);
    check_svg(run, "optimizers_rosenbrock.svg", 7);
    CHECK(read_file(run.dir / "optimizers_ravine.svg").find("class=\"contour\"") !=
          std::string::npos);
}

TEST_CASE("examples: lr_finder's suggestion is the sweep's minimum / 10, and it trains best") {
    ExampleRun run("lr_finder");
    REQUIRE(run.status == 0);
    std::size_t steps = 0;
    double first = 0, last = 0;
    REQUIRE(std::sscanf(run.after("Sweep: ").c_str(), "%zu steps from lr %lf to %lf", &steps,
                        &first, &last) == 3);
    // lr_k = 1e-5 (10 / 1e-5)^(k / 119) for k = 0, 1, ... (120 planned steps).
    auto lr_at = [](double k) { return 1e-5 * std::pow(1e6, k / 119); };
    CHECK(first == Approx(1e-5));
    CHECK(last == Approx(lr_at(static_cast<double>(steps - 1))).epsilon(1e-4));
    double start = 0, lowest = 0, at = 0;
    REQUIRE(std::sscanf(run.after("smoothed loss: ").c_str(),
                        "%lf at the start, lowest %lf at lr %lf", &start, &lowest, &at) == 3);
    CHECK(lowest < start);
    // The printed rate of the minimum is one of the sweep's rates.
    bool on_grid = false;
    for (std::size_t k = 0; k < steps; ++k)
        on_grid = on_grid || std::abs(lr_at(static_cast<double>(k)) / at - 1) < 1e-3;
    CHECK(on_grid);
    double suggested = 0;
    REQUIRE(std::sscanf(run.after("/ 10 = ").c_str(), "%lf", &suggested) == 1);
    CHECK(suggested == Approx(at / 10).epsilon(1e-3));

    const auto good = numbers(run.row("suggested "));
    const auto small = numbers(run.row("too small (suggested / 100)"));
    const auto large = numbers(run.row("too large (where the sweep blew up)"));
    REQUIRE(good.size() == 4);
    REQUIRE(small.size() == 4);
    REQUIRE(large.size() == 4);
    CHECK(good[0] == Approx(suggested).epsilon(1e-3));
    CHECK(small[0] == Approx(suggested / 100).epsilon(1e-3));
    CHECK(large[0] == Approx(last).epsilon(1e-3));
    // Validation loss and accuracy: the suggested rate wins; the large one stays near chance.
    CHECK(good[2] < small[2]);
    CHECK(good[2] < large[2]);
    CHECK(good[3] > 0.9);
    CHECK(good[3] > small[3]);
    CHECK(large[3] < 0.75);

    check_svg(run, "lr_finder_sweep.svg", 2);
    check_svg(run, "lr_finder_training.svg", 3);
}

TEST_CASE("examples: early_stopping's best epoch is the argmin of the validation losses") {
    ExampleRun run("early_stopping");
    REQUIRE(run.status == 0);
    // The three-column table: epoch, train, val, read back into per-epoch vectors.
    const std::size_t header = run.find("epoch      train        val");
    REQUIRE(header < run.lines.size());
    std::vector<double> train, val;
    for (std::size_t i = header + 1; i < run.lines.size() && !run.lines[i].empty(); ++i) {
        const auto v = numbers(run.lines[i]);
        REQUIRE(v.size() % 3 == 0);
        for (std::size_t c = 0; c < v.size(); c += 3) {
            const auto e = static_cast<std::size_t>(v[c]);
            if (train.size() < e) train.resize(e), val.resize(e);
            train[e - 1] = v[c + 1];
            val[e - 1] = v[c + 2];
        }
    }
    REQUIRE(val.size() == 150);
    for (double v : val) REQUIRE(v > 0);
    const auto best = static_cast<std::size_t>(std::min_element(val.begin(), val.end()) -
                                               val.begin());  // 0-based

    int printed_best = 0;
    REQUIRE(std::sscanf(run.after("best epoch (lowest validation loss): ").c_str(), "%d",
                        &printed_best) == 1);
    CHECK(printed_best == static_cast<int>(best + 1));
    double at_best = 0, at_end = 0, restored = 0;
    REQUIRE(std::sscanf(run.after("validation loss at the best epoch:").c_str(), "%lf", &at_best) ==
            1);
    REQUIRE(std::sscanf(run.after("validation loss at the last epoch:").c_str(), "%lf", &at_end) ==
            1);
    REQUIRE(std::sscanf(run.after("restored model's validation loss:").c_str(), "%lf", &restored) ==
            1);
    CHECK(at_best == Approx(val[best]).margin(1e-6));
    CHECK(at_end == Approx(val.back()).margin(1e-6));
    CHECK(restored == Approx(at_best).margin(1e-6));
    CHECK(run.has("(equals the best)"));
    // Overfitting: training loss far lower at the end, validation loss far higher.
    CHECK(train.back() < 0.5 * train[best]);
    CHECK(at_end > 1.5 * at_best);

    // Run 2 stops once patience 25 epochs pass without a new best; its best is the argmin of
    // the same losses up to there (both runs train identically).
    std::size_t stopped = 0;
    int best2 = 0;
    double best2_value = 0, restored2 = 0;
    REQUIRE(std::sscanf(run.after("Run 2, patience 25: stopped after epoch ").c_str(),
                        "%zu; best epoch %d (validation loss %lf)", &stopped, &best2,
                        &best2_value) == 3);
    REQUIRE(stopped <= val.size());
    const auto argmin2 =
        std::min_element(val.begin(), val.begin() + static_cast<long>(stopped)) - val.begin();
    CHECK(best2 == argmin2 + 1);
    CHECK(stopped == static_cast<std::size_t>(best2 + 25));
    CHECK(best2_value == Approx(val[static_cast<std::size_t>(argmin2)]).margin(1e-6));
    REQUIRE(std::sscanf(run.after("restored model's validation loss ").c_str(), "%lf",
                        &restored2) == 1);
    CHECK(restored2 == Approx(best2_value).margin(1e-6));

    check_svg(run, "early_stopping.svg", 2);
}

TEST_CASE("examples: clipping rescues a too-large rate, schedules follow their closed forms") {
    ExampleRun run("clipping_and_schedules");
    REQUIRE(run.status == 0);
    CHECK(run.has("without clipping: diverged at step"));
    double clipped = 0;
    REQUIRE(std::sscanf(run.after("with clipping:    final loss on all points ").c_str(), "%lf",
                        &clipped) == 1);
    CHECK(clipped < 0.15);  // from about 0.55 at the start; the noise alone leaves 0.01

    // The rate each epoch used, for base lr 0.1 over 60 epochs:
    //   constant 0.1;  StepLR 0.1 * 0.5^floor(e / 15);  cosine 0.1 (1 + cos(pi e / 60)) / 2;
    //   warm-up e < 5: 0.1 (0.1 + 0.9 e / 5), then 0.1 (1 + cos(pi (e - 5) / 55)) / 2.
    const std::size_t header = run.find("The learning rate each epoch used");
    REQUIRE(header < run.lines.size());
    const double pi = std::acos(-1.0);
    std::vector<std::vector<double>> loss(4);
    int epochs = 0;
    for (std::size_t i = header + 2; i < run.lines.size() && !run.lines[i].empty(); ++i) {
        const auto v = numbers(run.lines[i]);
        REQUIRE(v.size() == 9);
        const int e = static_cast<int>(v[0]) - 1;  // 0-based epoch
        CHECK(e == epochs);
        INFO("epoch " << e);
        const double expected[4] = {
            0.1, 0.1 * std::pow(0.5, e / 15), 0.1 * (1 + std::cos(pi * e / 60)) / 2,
            e < 5 ? 0.1 * (0.1 + 0.9 * e / 5.0) : 0.1 * (1 + std::cos(pi * (e - 5) / 55)) / 2};
        for (int k = 0; k < 4; ++k) {
            CHECK(v[1 + k] == Approx(expected[k]).epsilon(1e-8).margin(1e-12));
            loss[k].push_back(v[5 + k]);
        }
        ++epochs;
    }
    CHECK(epochs == 60);
    // The decaying schedules end lower than the constant rate (last ten epochs' mean).
    auto last10 = [](const std::vector<double>& l) {
        double s = 0;
        for (std::size_t k = l.size() - 10; k < l.size(); ++k) s += l[k] / 10;
        return s;
    };
    for (int k = 1; k < 4; ++k) CHECK(last10(loss[k]) < last10(loss[0]));

    check_svg(run, "clipping_and_schedules_clipping.svg", 2);
    check_svg(run, "clipping_and_schedules_lr.svg", 4);
    check_svg(run, "clipping_and_schedules_loss.svg", 4);
}

// ---- newton_vs_gd: the Hessian of logistic regression, in plain doubles -------------------

namespace {

// make_classification_400.csv as rows [x1, x2, 1] and labels.
struct Rows {
    std::vector<std::array<double, 3>> x;
    std::vector<double> y;
};

Rows read_rows() {
    std::ifstream in(std::string(TAPEGRAD_EXAMPLES_DATA) + "/make_classification_400.csv");
    Rows r;
    std::string line;
    std::getline(in, line);  // header x1,x2,y
    while (std::getline(in, line)) {
        double a = 0, b = 0, c = 0;
        if (std::sscanf(line.c_str(), "%lf,%lf,%lf", &a, &b, &c) != 3) continue;
        r.x.push_back({a, b, 1.0});
        r.y.push_back(c);
    }
    return r;
}

double sigmoid(double z) {
    return 1 / (1 + std::exp(-z));
}

// Mean BCE and its gradient at w.
double loss_and_grad(const Rows& d, const std::array<double, 3>& w, std::array<double, 3>& g) {
    double loss = 0;
    g = {0, 0, 0};
    const double n = static_cast<double>(d.y.size());
    for (std::size_t i = 0; i < d.y.size(); ++i) {
        double z = 0;
        for (int k = 0; k < 3; ++k) z += w[k] * d.x[i][k];
        loss += (std::max(z, 0.0) - z * d.y[i] + std::log1p(std::exp(-std::abs(z)))) / n;
        for (int k = 0; k < 3; ++k) g[k] += (sigmoid(z) - d.y[i]) * d.x[i][k] / n;
    }
    return loss;
}

}  // namespace

TEST_CASE("examples: newton_vs_gd's Newton, curvatures and gradient descent match plain loops") {
    ExampleRun run("newton_vs_gd");
    REQUIRE(run.status == 0);
    const Rows d = read_rows();
    REQUIRE(d.y.size() == 400);

    // Newton: the text's minimum to 1e-9 in at most 6 iterations.
    const auto minimum = numbers(run.after("minimum"));
    const auto newton_iterations = numbers(run.after(") after "));
    REQUIRE(minimum.size() >= 1);
    REQUIRE(newton_iterations.size() >= 1);
    CHECK(std::abs(minimum[0] - 0.3296404177) <= 1e-9);
    CHECK(newton_iterations[0] <= 6);

    // At w = 0 every p(1 - p) is 1/4: H = Σ x xᵀ / (4n), g = Σ (1/2 - y) x / n.
    double H[3][3] = {};
    std::array<double, 3> g{};
    const double n = 400;
    for (std::size_t i = 0; i < 400; ++i)
        for (int a = 0; a < 3; ++a) {
            g[a] += (0.5 - d.y[i]) * d.x[i][a] / n;
            for (int b = 0; b < 3; ++b) H[a][b] += d.x[i][a] * d.x[i][b] / (4 * n);
        }
    double hg[3] = {}, gg = 0, ghg = 0;
    for (int a = 0; a < 3; ++a) {
        for (int b = 0; b < 3; ++b) hg[a] += H[a][b] * g[b];
        gg += g[a] * g[a];
    }
    for (int a = 0; a < 3; ++a) ghg += g[a] * hg[a];
    CHECK(numbers(run.after("gᵀHg/gᵀg ="))[0] == Approx(ghg / gg).epsilon(1e-5));
    // λmax by 2000 power iterations here.
    std::array<double, 3> v{1, 1, 1};
    double lambda = 0;
    for (int it = 0; it < 2000; ++it) {
        std::array<double, 3> hv{};
        for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b) hv[a] += H[a][b] * v[b];
        const double norm = std::sqrt(hv[0] * hv[0] + hv[1] * hv[1] + hv[2] * hv[2]);
        lambda = (v[0] * hv[0] + v[1] * hv[1] + v[2] * hv[2]) /
                 (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
        for (int a = 0; a < 3; ++a) v[a] = hv[a] / norm;
    }
    const double printed_lambda = numbers(run.after("λmax ="))[0];
    CHECK(printed_lambda == Approx(lambda).epsilon(1e-8));
    CHECK(numbers(run.after("2/λmax ="))[0] == Approx(2 / lambda).epsilon(1e-5));

    // Gradient descent at 1/λmax to Newton's minimum + 1e-6: the same count in plain doubles.
    const double target = 0.3296404177 + 1e-6;
    std::array<double, 3> w{0, 0, 0}, grad{};
    double loss = loss_and_grad(d, w, grad);
    int iterations = 0;
    while (loss > target && iterations < 200000) {
        for (int k = 0; k < 3; ++k) w[k] -= grad[k] / printed_lambda;
        loss = loss_and_grad(d, w, grad);
        ++iterations;
    }
    const auto gd = numbers(run.row("  1.0/λmax = "));
    REQUIRE(gd.size() >= 3);
    CHECK(std::abs(gd[1] - iterations) <= 1);
    CHECK(gd[1] > 20 * newton_iterations[0]);  // far more iterations than Newton
}

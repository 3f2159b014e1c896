// Seven optimizers in two hard valleys. Text 001 says that in a narrow valley gradient descent
// zig-zags, that momentum damps the zig-zag, that Nesterov "peeks ahead" and that Adam scales
// each parameter's step; text 003 that Newton and L-BFGS use curvature and "converge faster
// per step but are expensive". Here every tapegrad optimizer minimises
//   a narrow ravine  f(x, y) = 0.5 (x^2 + 50 y^2)        (curvatures 1 and 50), and
//   Rosenbrock       f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 (a curved, flat-bottomed valley),
// and the program prints how many steps each needs to bring f below 1e-8 and how many loss and
// gradient evaluations that cost, then draws the paths over the contour lines
// (optimizers_ravine.svg, optimizers_rosenbrock.svg).
//
// Rates: on the ravine gradient descent runs near its limit 2/50 (text 001's 0 < lr < 2/a for
// the steeper curvature a = 50), where it zig-zags across the valley; momentum and Nesterov
// run at a safe 0.01 (their effective step lr / (1 - 0.9) is ten times that); RMSprop and Adam
// at 0.1 (their steps are about lr per coordinate). On Rosenbrock, whose curvature reaches
// about 1300 near the start, the rates are ones that work from there (found by trying).
// L-BFGS (strong-Wolfe line search) and Newton take their natural step, lr 1. A sweep of
// gradient descent's rate on the ravine shows the bound.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/charts/plot.hpp>
#include <tapegrad/optim/optim.hpp>
#include <utility>
#include <vector>

namespace tg = tapegrad;
namespace charts = tapegrad::charts;
namespace nn = tapegrad::nn;
namespace optim = tapegrad::optim;

namespace {

constexpr double kTolerance = 1e-8;  // "converged": f below this (both minima have f = 0)

using Loss = std::function<tg::Tensor(const tg::Tensor&, const tg::Tensor&)>;

enum class Method { gd, momentum, nesterov, rmsprop, adam, lbfgs, newton };
constexpr Method kMethods[] = {Method::gd,   Method::momentum, Method::nesterov, Method::rmsprop,
                               Method::adam, Method::lbfgs,    Method::newton};

struct Problem {
    std::string name, formula, file;
    Loss f;
    double x0, y0;              // start
    double x_min, y_min;        // the minimiser
    int max_steps;              // budget per run
    double gx0, gx1, gy0, gy1;  // region of the contour grid
    std::vector<double> levels;
    std::vector<double> lr;  // per method, in the order of kMethods
};

const char* name_of(Method m) {
    switch (m) {
        case Method::gd:
            return "gradient descent";
        case Method::momentum:
            return "momentum 0.9";
        case Method::nesterov:
            return "Nesterov 0.9";
        case Method::rmsprop:
            return "RMSprop";
        case Method::adam:
            return "Adam";
        case Method::lbfgs:
            return "L-BFGS";
        case Method::newton:
            return "Newton";
    }
    return "";
}

std::unique_ptr<optim::Optimizer> make(Method m, std::vector<tg::Tensor> params, double lr) {
    switch (m) {
        case Method::gd:
            return std::make_unique<optim::SGD>(params, optim::SGDOptions{.lr = lr});
        case Method::momentum:
            return std::make_unique<optim::SGD>(params,
                                                optim::SGDOptions{.lr = lr, .momentum = 0.9});
        case Method::nesterov:
            return std::make_unique<optim::SGD>(
                params, optim::SGDOptions{.lr = lr, .momentum = 0.9, .nesterov = true});
        case Method::rmsprop:
            return std::make_unique<optim::RMSprop>(params, optim::RMSpropOptions{.lr = lr});
        case Method::adam:
            return std::make_unique<optim::Adam>(params, optim::AdamOptions{.lr = lr});
        case Method::lbfgs:
            // One iteration per step() so that every iterate is seen; the history is kept
            // between calls, so this is the same run as one long step().
            return std::make_unique<optim::LBFGS>(
                params, optim::LBFGSOptions{.lr = lr,
                                            .max_iter = 1,
                                            .max_eval = 25,
                                            .tolerance_grad = 1e-12,
                                            .tolerance_change = 1e-14,
                                            .history_size = 10,
                                            .line_search = optim::LineSearch::strong_wolfe});
        case Method::newton:
            return std::make_unique<optim::Newton>(params, optim::NewtonOptions{.lr = lr});
    }
    return nullptr;
}

struct Run {
    Method method = Method::gd;
    double lr = 0;
    int steps = -1;  // steps until f < tolerance; -1: not within the budget
    int evals = 0;   // loss-and-gradient evaluations (closure calls) until then
    bool diverged = false;
    double x = 0, y = 0, f = 0;  // where it ended
    std::vector<double> px, py;  // the path, start included
};

Run run(const Problem& p, Method m, double lr) {
    Run r;
    r.method = m;
    r.lr = lr;
    tg::Tensor x = tg::scalar(p.x0, tg::f64).requires_grad_().name("x");
    tg::Tensor y = tg::scalar(p.y0, tg::f64).requires_grad_().name("y");
    auto opt = make(m, {x, y}, lr);
    int evals = 0;
    auto closure = [&] {
        opt->zero_grad();
        tg::Tape tape;
        tg::Tensor loss = p.f(x, y);
        tape.backward(loss);
        ++evals;
        return loss.item();
    };
    r.px.push_back(p.x0);
    r.py.push_back(p.y0);
    for (int step = 1; step <= p.max_steps; ++step) {
        opt->step(closure);
        r.x = x.item();
        r.y = y.item();
        {
            tg::NoGrad no_grad;
            r.f = p.f(x, y).item();
        }
        r.px.push_back(r.x);
        r.py.push_back(r.y);
        if (!std::isfinite(r.f) || r.f > 1e12) {
            r.diverged = true;
            break;
        }
        if (r.f < kTolerance) {
            r.steps = step;
            break;
        }
    }
    r.evals = evals;
    return r;
}

std::string steps_text(const Run& r) {
    if (r.steps > 0) return std::to_string(r.steps);
    return r.diverged ? "diverged" : "not-reached";
}

// The path without points closer than `gap` to the last kept one (the slow crawl near the
// minimum would otherwise be thousands of points on top of each other); the end is kept.
std::pair<std::vector<double>, std::vector<double>> thin(const Run& r, double gap) {
    std::vector<double> xs{r.px[0]}, ys{r.py[0]};
    for (std::size_t k = 1; k < r.px.size(); ++k) {
        const bool last = k + 1 == r.px.size();
        if (last || std::hypot(r.px[k] - xs.back(), r.py[k] - ys.back()) > gap) {
            xs.push_back(r.px[k]);
            ys.push_back(r.py[k]);
        }
    }
    return {xs, ys};
}

void solve(const Problem& p) {
    std::printf("\n== %s: f(x, y) = %s ==\n", p.name.c_str(), p.formula.c_str());
    std::printf("start (%g, %g), minimum f = 0 at (%g, %g); at most %d steps per run\n", p.x0, p.y0,
                p.x_min, p.y_min, p.max_steps);
    std::vector<Run> best;
    for (std::size_t i = 0; i < std::size(kMethods); ++i)
        best.push_back(run(p, kMethods[i], p.lr[i]));

    std::printf("%-17s %8s %12s %7s %14s %14s %11s\n", "method", "lr", "steps", "evals", "final x",
                "final y", "final f");
    for (const Run& r : best) {
        std::printf("%-17s %8g %12s %7d %14.8f %14.8f %11.3e\n", name_of(r.method), r.lr,
                    steps_text(r).c_str(), r.evals, r.x, r.y, r.f);
    }
    std::printf("(evals: Newton's one for its exact Hessian and L-BFGS's line search included)\n");

    // Paths over the contour lines of f.
    const int n = 161;
    std::vector<double> xs(n), ys(n);
    for (int i = 0; i < n; ++i) {
        xs[i] = p.gx0 + (p.gx1 - p.gx0) * i / (n - 1);
        ys[i] = p.gy0 + (p.gy1 - p.gy0) * i / (n - 1);
    }
    std::vector<std::vector<double>> z(n, std::vector<double>(n));
    {
        tg::NoGrad no_grad;
        for (int j = 0; j < n; ++j)
            for (int i = 0; i < n; ++i)
                z[j][i] = p.f(tg::scalar(xs[i], tg::f64), tg::scalar(ys[j], tg::f64)).item();
    }
    charts::LinePlot chart(
        p.name + " f = " + p.formula + ": the optimizers' paths over its contours", "x", "y");
    chart.add_contours(xs, ys, z, p.levels);
    const double gap = 0.003 * std::hypot(p.gx1 - p.gx0, p.gy1 - p.gy0);
    for (const Run& r : best) {
        auto [tx, ty] = thin(r, gap);
        const std::string steps = r.steps == 1  ? "1 step"
                                  : r.steps > 0 ? steps_text(r) + " steps"
                                  : r.diverged  ? std::string("diverged")
                                                : "not reached in " + std::to_string(p.max_steps);
        chart.add(std::string(name_of(r.method)) + ": " + steps, tx, ty);
    }
    chart.mark_point(p.x0, p.y0, "start");
    chart.mark_point(p.x_min, p.y_min, "minimum");
    chart.save(p.file, 1000, 600);
    std::printf("wrote %s (contour lines at f =", p.file.c_str());
    for (double level : p.levels) std::printf(" %g", level);
    std::printf(")\n");
}

}  // namespace

int main() {
    std::printf(
        "Seven optimizers on a narrow ravine and on Rosenbrock's valley (texts 001, 003).\n");
    std::printf(
        "Each row: the learning rate, the steps until f < %g, the loss-and-gradient\n"
        "evaluations those steps cost, and where the method ended.\n",
        kTolerance);

    const Problem ravine{
        .name = "Narrow ravine",
        .formula = "0.5 (x^2 + 50 y^2)",
        .file = "optimizers_ravine.svg",
        .f = [](const tg::Tensor& x,
                const tg::Tensor& y) { return 0.5 * (tg::square(x) + 50.0 * tg::square(y)); },
        .x0 = -8,
        .y0 = 1.5,
        .x_min = 0,
        .y_min = 0,
        .max_steps = 3000,
        .gx0 = -9,
        .gx1 = 2,
        .gy0 = -2,
        .gy1 = 2,
        .levels = {0.1, 0.5, 2, 8, 24, 50, 88},
        .lr = {0.035, 0.01, 0.01, 0.1, 0.1, 1, 1},
    };
    solve(ravine);

    // Gradient descent multiplies x by (1 - lr) and y by (1 - 50 lr) at every step: it converges
    // when both factors are below 1 in size (lr < 2/50), fastest when they are equal in size,
    // lr = 2 / (1 + 50), where both are 49/51.
    std::printf(
        "\nGradient descent on the ravine at other rates (converges only for lr < 2/50 = "
        "0.04; fastest at 2/51 = 0.0392):\n");
    std::printf("%10s %12s %13s\n", "lr", "steps", "final f");
    for (double lr : {0.005, 0.01, 0.02, 0.03, 0.035, 0.0392, 0.04, 0.041}) {
        const Run r = run(ravine, Method::gd, lr);
        std::printf("%10g %12s %13.3e\n", lr, steps_text(r).c_str(), r.f);
    }

    const Problem rosenbrock{
        .name = "Rosenbrock",
        .formula = "(1 - x)^2 + 100 (y - x^2)^2",
        .file = "optimizers_rosenbrock.svg",
        .f =
            [](const tg::Tensor& x, const tg::Tensor& y) {
                return tg::square(1.0 - x) + 100.0 * tg::square(y - tg::square(x));
            },
        .x0 = -1.2,
        .y0 = 1,
        .x_min = 1,
        .y_min = 1,
        .max_steps = 20000,
        .gx0 = -2,
        .gx1 = 2,
        .gy0 = -3.5,
        .gy1 = 3,
        .levels = {0.05, 0.3, 1, 3, 10, 30, 100, 300, 1000},
        .lr = {0.002, 0.001, 0.001, 0.001, 0.01, 1, 1},
    };
    solve(rosenbrock);

    std::printf(
        "\nWhat it shows: on the ravine gradient descent zig-zags across the steep direction "
        "while\n"
        "it crawls along the flat one; momentum and Nesterov build up speed along the valley;\n"
        "RMSprop and Adam rescale each coordinate (the ravine's axes are the coordinates, which\n"
        "suits them). Newton's quadratic model of a quadratic is exact: one step. L-BFGS learns\n"
        "the curvature from gradients in a few steps. On Rosenbrock's curved valley the first-\n"
        "order methods need thousands of steps, RMSprop at a constant rate hovers near the\n"
        "minimum (its steps stay about lr long), and the curvature methods need tens of steps\n"
        "but several evaluations per step (Newton 2: one whose backward is differentiated\n"
        "again for the exact Hessian, one for the gradient).\n");
}

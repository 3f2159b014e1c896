// The quadratic walkthrough of the gradient-descent texts (seed text 001): minimise
// f(w) = (w - 3)² from w = 10 with learning rate 0.1 for 12 steps, printing w and the loss after
// each step in the text's own format (print(f"step {step:2d}: w={w:6.3f} loss={f(w):7.4f}")).
// Then the text's "try η = 1.2 to see divergence", caught by fit()'s DivergenceGuard, and the
// bound 0 < η < 2/a for f(w) = a/2 (w - w*)², checked against the iterations themselves.
// Writes quadratic_paths.svg, quadratic_divergence.svg and quadratic_bound.svg.
#include <cmath>
#include <cstdio>
#include <string>
#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/charts/plot.hpp>
#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include <vector>

namespace tg = tapegrad;

namespace {

// f(w) = a/2 (w - w*)²: the text's f is a = 2, w* = 3.
struct Bowl {
    double a = 2.0, w_star = 3.0;
    tg::Tensor operator()(const tg::Tensor& w) const { return 0.5 * a * tg::square(w - w_star); }
    double at(double w) const { return 0.5 * a * (w - w_star) * (w - w_star); }
};

// `steps` steps of gradient descent from w0 with the tape computing f'(w); the iterates
// w_0, w_1, ..., w_steps.
std::vector<double> descend(const Bowl& f, double w0, double lr, int steps) {
    tg::Tensor w = tg::scalar(w0, tg::f64).requires_grad_();
    std::vector<double> path{w0};
    for (int step = 0; step < steps; ++step) {
        {
            tg::Tape tape;
            tape.backward(f(w));  // w.grad() = a (w - w*)
        }
        w -= lr * w.grad();
        w.zero_grad();
        path.push_back(w.item());
    }
    return path;
}

// The text's function as a model for fit(): one parameter w, and a "forward" that ignores its
// input and returns f(w), so that the loss of every batch is f at the current w.
struct QuadraticModel : tg::nn::Module {
    tg::Tensor w;
    explicit QuadraticModel(double w0) : w(tg::scalar(w0, tg::f64)) { register_parameter("w", w); }
    tg::Tensor forward(const tg::Tensor&) override { return tg::square(w - 3.0); }
};

// Prints every step of fit: the loss measured before the step and w after it.
struct PrintSteps : tg::optim::Callback {
    const QuadraticModel* model;
    explicit PrintSteps(const QuadraticModel& m) : model(&m) {}
    void on_batch_end(tg::optim::TrainState& state) override {
        std::printf("  fit step %2lld: loss before the step %9.2f, w after it %8.3f\n",
                    static_cast<long long>(state.global_step), state.batch_loss, model->w.item());
    }
};

// The curve f over [lo, hi] as one series.
void add_curve(tg::charts::LinePlot& plot, const Bowl& f, double lo, double hi) {
    std::vector<double> xs, ys;
    for (int i = 0; i <= 200; ++i) {
        xs.push_back(lo + (hi - lo) * i / 200.0);
        ys.push_back(f.at(xs.back()));
    }
    plot.add("f(w) = (w - 3)²", xs, ys);
}

void add_path(tg::charts::LinePlot& plot, const Bowl& f, const std::string& name,
              const std::vector<double>& path) {
    std::vector<double> ys;
    for (double w : path) ys.push_back(f.at(w));
    plot.add(name, path, ys).markers();
}

}  // namespace

int main() {
    tg::Tensor w = tg::scalar(10.0, tg::f64).requires_grad_().name("w");
    auto f = [](const tg::Tensor& x) { return tg::square(x - 3.0); };
    const double lr = 0.1;
    std::printf("minimise f(w) = (w - 3)^2 from w = 10, learning rate %.1f\n", lr);
    for (int step = 0; step < 12; ++step) {
        {
            tg::Tape tape;
            tape.backward(f(w));  // w.grad() = 2(w - 3)
        }
        w -= lr * w.grad();  // the update is not recorded: it happens outside any tape
        w.zero_grad();
        std::printf("step %2d: w=%6.3f loss=%7.4f\n", step, w.item(), f(w).item());
    }
    // Each step multiplies the distance to the minimum by 1 - 0.1·2 = 0.8, so
    // w_t = 3 + 7·0.8^(t+1) after step t.
    std::printf(
        "each step multiplies w - 3 by (1 - 0.1 * 2) = 0.8: w after step t is "
        "3 + 7 * 0.8^(t+1)\n");

    // ---- eta = 1.2: divergence ----------------------------------------------------------
    const Bowl bowl;  // a = 2, w* = 3: the text's f
    std::printf(
        "\nThe text: \"Try eta = 1.2 to see divergence\". Now each step multiplies "
        "w - 3 by 1 - 1.2 * 2 = -1.4:\n");
    const std::vector<double> diverging = descend(bowl, 10.0, 1.2, 6);
    for (int step = 0; step < 6; ++step) {
        std::printf("step %2d: w=%6.3f loss=%7.4f\n", step, diverging[step + 1],
                    bowl.at(diverging[step + 1]));
    }
    std::printf(
        "w jumps to the other side of the minimum and lands further away each time; "
        "the loss grows by 1.4^2 = 1.96 per step.\n");

    std::printf(
        "\nThe same run through tapegrad's fit() with a DivergenceGuard (SGD, lr 1.2, "
        "one step per epoch):\n");
    QuadraticModel model(10.0);
    tg::optim::SGD sgd(model.parameters(), {.lr = 1.2});
    tg::optim::DivergenceGuard guard;
    PrintSteps printer(model);
    tg::data::DataLoader loader(
        tg::data::Dataset{tg::zeros({1, 1}, tg::f64), tg::zeros({1}, tg::f64)},
        {.batch_size = 1, .shuffle = false});
    const auto loss = [](const tg::Tensor& out, const tg::Tensor&) { return out; };
    const auto result =
        tg::optim::fit(model, sgd, loss, loader, {.epochs = 50, .callbacks = {&printer, &guard}});
    std::printf("DivergenceGuard: %s\n", result.stop_reason.c_str());
    // The guard calls a loss bad when it exceeds 100 x the best (smoothed) loss, here 49: the
    // losses grow by 1.96 per step, so the 8th step's 5445 is the first one over 4900.
    std::printf(
        "after fit: w = %.3f, diverged = %s: the weights on which the last loss the "
        "guard accepted was measured\n(it flags a loss above 100 x the best one, 49 here; "
        "a smaller DivergenceGuardOptions::factor stops sooner)\n",
        model.w.item(), guard.diverged() ? "yes" : "no");

    // ---- the bound 0 < eta < 2/a ----------------------------------------------------------
    // f(w) = a/2 (w - w*)² gives w_{t+1} - w* = (1 - eta a)(w_t - w*): the distance shrinks
    // by |1 - eta a| per step, so gradient descent converges exactly when |1 - eta a| < 1.
    const int T = 20;
    std::printf(
        "\nThe bound: for f(w) = a/2 (w - w*)^2 a step gives w - w* -> (1 - eta a)(w - w*),"
        " so it converges iff |1 - eta a| < 1, i.e. 0 < eta < 2/a.\n");
    std::printf(
        "Here a = %.0f (the text's f), 2/a = %.2f; %d steps from w = 10 "
        "(|w_0 - w*| = 7):\n",
        bowl.a, 2.0 / bowl.a, T);
    const std::vector<double> etas = {0.1, 0.5, 0.9, 0.99, 1.0, 1.01, 1.1, 1.2};
    std::vector<std::vector<double>> paths;
    for (double eta : etas) {
        const std::vector<double> path = descend(bowl, 10.0, eta, T);
        paths.push_back(path);
        const double factor = std::abs(1 - eta * bowl.a);
        const double dist = std::abs(path[T] - bowl.w_star);
        // The measured factor: the T-th root of the total shrinkage.
        const double measured = std::pow(dist / 7.0, 1.0 / T);
        const char* verdict = factor == 0 ? "the minimum in one step"
                              : factor < 1
                                  ? (1 - eta * bowl.a > 0 ? "converges" : "converges, zig-zagging")
                              : factor == 1 ? "bounces between 10 and -4 for ever"
                                            : "diverges";
        std::printf(
            "  eta = %-5.2f 1 - eta a = %+.3f  |w_%d - w*| = %.4e  measured factor "
            "%.3f  -> %s\n",
            eta, 1 - eta * bowl.a, T, dist, measured, verdict);
    }
    std::printf(
        "(the measured factor is (|w_%d - w*| / 7)^(1/%d); it equals |1 - eta a| in "
        "every row, as the algebra says;\n a negative 1 - eta a flips the side of the "
        "minimum at every step: the zig-zag)\n",
        T, T);

    // ---- pictures ----------------------------------------------------------------------
    tg::charts::LinePlot paths_plot("Gradient descent on f(w) = (w - 3)², from w = 10", "w",
                                    "f(w)");
    add_curve(paths_plot, bowl, -4, 10.5);
    add_path(paths_plot, bowl, "η = 0.1: 12 steps", descend(bowl, 10.0, 0.1, 12));
    add_path(paths_plot, bowl, "η = 0.9: zig-zag", descend(bowl, 10.0, 0.9, 12));
    paths_plot.save("quadratic_paths.svg");

    tg::charts::LinePlot div_plot("η = 1.2 diverges: each step lands 1.4× further out", "w",
                                  "f(w)");
    add_curve(div_plot, bowl, -19, 32);
    add_path(div_plot, bowl, "η = 1.2: 4 steps", descend(bowl, 10.0, 1.2, 4));
    div_plot.save("quadratic_divergence.svg");

    tg::charts::LinePlot bound_plot("|w − w*| after each step: times |1 − ηa| per step (a = 2)",
                                    "step", "|w − w*| (log scale)");
    bound_plot.log_y();
    for (std::size_t i = 0; i < etas.size(); ++i) {
        std::vector<double> steps, dist;
        for (int t = 0; t <= T; ++t) {
            steps.push_back(t);
            dist.push_back(std::abs(paths[i][t] - bowl.w_star));
        }
        char name[64];
        const double factor = std::abs(1 - etas[i] * bowl.a);
        if (factor == 0) {  // 0 after one step: nothing to draw on a log axis past step 0
            std::snprintf(name, sizeof name, "η = %g: w* at step 1", etas[i]);
        } else {
            std::snprintf(name, sizeof name, "η = %g: ×%.2f/step", etas[i], factor);
        }
        bound_plot.add(name, steps, dist);
        // η = 0.9 shrinks at the same rate as η = 0.1 (|1 - 1.8| = 0.8): dots keep both visible.
        if (etas[i] == 0.9) bound_plot.markers(false);
    }
    bound_plot.save("quadratic_bound.svg", 800, 440);
    std::printf("\nwrote quadratic_paths.svg, quadratic_divergence.svg, quadratic_bound.svg\n");
}

#include "walkthroughs.hpp"

#include <tapegrad/autodiff/creation.hpp>
#include <tapegrad/autodiff/ops.hpp>
#include <tapegrad/autodiff/tape.hpp>
#include <tapegrad/nn/loss.hpp>

#include "exit_status.hpp"

namespace tapegrad::cli {

namespace {

Tensor named(Tensor t, const char* name) {
    t.name(name);
    return t;
}
Tensor param(Tensor t, const char* name) {
    t.requires_grad_();
    return named(std::move(t), name);
}

// f(w) = (w - 3)² written out as w² - 6w + 9, so that w is used twice and its gradient is the
// sum of two contributions: 2w from w², -6 from -6w; 2·10 - 6 = 14 = 2(w - 3).
Walkthrough quadratic() {
    return {"quadratic", "f(w) = w² - 6w + 9 = (w - 3)² at w = 10: a tensor used twice",
            "f(w) = w² - 6w + 9, the bowl (w - 3)² of the quadratic example, at w = 10.\n"
            "w is used twice, in w² and in -6w: backward sends it two contributions,\n"
            "2w = 20 and -6, which add up to f'(w) = 2(w - 3) = 14.",
            [] { return std::vector<Tensor>{param(scalar(10.0, f64), "w")}; },
            [](const std::vector<Tensor>& in) {
                const Tensor& w = in[0];
                Tensor sq = named(square(w), "sq");
                Tensor lin = named(w * -6.0, "lin");
                Tensor u = named(sq + lin, "u");
                return named(u + 9.0, "f");
            }};
}

// One gradient of a least-squares line fit: loss = mean((w·x + b - y)²) on four points of
// y = 2x + 1, from w = 0.5, b = 0. w and b are scalars broadcast over the four points, so
// their gradients are sums over the points.
Walkthrough line_fit() {
    return {"line_fit", "mean((w·x + b - y)²) on four points: broadcasting and a mean",
            "loss = mean((w·x + b - y)²) for the points x = [1, 2, 3, 4], y = [3, 5, 7, 9]\n"
            "(the line y = 2x + 1), from w = 0.5, b = 0. The scalars w and b are broadcast\n"
            "over the four points, so backward sums their four contributions:\n"
            "∂loss/∂w = (2/4)·Σ err·x = -27.5 and ∂loss/∂b = (2/4)·Σ err = -9.5.",
            [] {
                return std::vector<Tensor>{param(scalar(0.5, f64), "w"),
                                           param(scalar(0.0, f64), "b"),
                                           named(tensor({1.0, 2.0, 3.0, 4.0}, f64), "x"),
                                           named(tensor({3.0, 5.0, 7.0, 9.0}, f64), "y")};
            },
            [](const std::vector<Tensor>& in) {
                const Tensor &w = in[0], &b = in[1], &x = in[2], &y = in[3];
                Tensor wx = named(w * x, "wx");
                Tensor pred = named(wx + b, "pred");
                Tensor err = named(pred - y, "err");
                Tensor sq = named(square(err), "sq");
                return named(mean(sq), "loss");
            }};
}

// A sigmoid neuron with two inputs and a squared error against the target 1.
Walkthrough neuron() {
    return {"neuron", "y = σ(w1·x1 + w2·x2 + b), loss = (y - t)²: one sigmoid neuron",
            "One neuron with two inputs: z = w1·x1 + w2·x2 + b, y = σ(z), loss = (y - t)²\n"
            "with x1 = 2, x2 = -1, w1 = 0.5, w2 = -1.5, b = 0.1 and target t = 1.\n"
            "Watch σ's rule σ'(z) = y(1 - y), and the inputs x1, x2, t: constants that\n"
            "receive nothing.",
            [] {
                return std::vector<Tensor>{
                    param(scalar(0.5, f64), "w1"),  param(scalar(-1.5, f64), "w2"),
                    param(scalar(0.1, f64), "b"),   named(scalar(2.0, f64), "x1"),
                    named(scalar(-1.0, f64), "x2"), named(scalar(1.0, f64), "t")};
            },
            [](const std::vector<Tensor>& in) {
                const Tensor &w1 = in[0], &w2 = in[1], &b = in[2], &x1 = in[3], &x2 = in[4],
                             &t = in[5];
                Tensor w1x1 = named(w1 * x1, "w1x1");
                Tensor w2x2 = named(w2 * x2, "w2x2");
                Tensor wx = named(w1x1 + w2x2, "wx");
                Tensor z = named(wx + b, "z");
                Tensor y = named(sigmoid(z), "y");
                Tensor err = named(y - t, "err");
                return named(square(err), "loss");
            }};
}

// A 2-2-1 network (tanh hidden layer) on one example, with the squared error.
Walkthrough mlp() {
    return {"mlp", "a 2-2-1 network (linear, tanh, linear) and its squared error on one example",
            "A 2-2-1 network on one example: z1 = x·W1ᵀ + b1, h = tanh(z1),\n"
            "out = h·W2ᵀ + b2, loss = mean((out - y)²), with x = [[1, 2]], y = [[1]],\n"
            "W1 = [[0.5, -0.3], [0.8, 0.2]], b1 = [0.2, -0.1], W2 = [[1, -1.5]], b2 = [0.2].\n"
            "linear is one op with the rules of a matrix product; tanh's is 1 - h².",
            [] {
                return std::vector<Tensor>{param(tensor({{0.5, -0.3}, {0.8, 0.2}}, f64), "W1"),
                                           param(tensor({0.2, -0.1}, f64), "b1"),
                                           param(tensor({{1.0, -1.5}}, f64), "W2"),
                                           param(tensor({0.2}, f64), "b2"),
                                           named(tensor({{1.0, 2.0}}, f64), "x"),
                                           named(tensor({{1.0}}, f64), "y")};
            },
            [](const std::vector<Tensor>& in) {
                const Tensor &W1 = in[0], &b1 = in[1], &W2 = in[2], &b2 = in[3], &x = in[4],
                             &y = in[5];
                Tensor z1 = named(linear(x, W1, b1), "z1");
                Tensor h = named(tanh(z1), "h");
                Tensor out = named(linear(h, W2, b2), "out");
                Tensor sqerr = named(nn::mse_loss(out, y, nn::Reduction::none), "sqerr");
                return named(mean(sqerr), "loss");
            }};
}

}  // namespace

const std::vector<Walkthrough>& walkthroughs() {
    static const std::vector<Walkthrough> all{quadratic(), line_fit(), neuron(), mlp()};
    return all;
}

const Walkthrough& find_walkthrough(const std::string& name) {
    std::string names;
    for (const auto& w : walkthroughs()) {
        if (w.name == name) return w;
        names += (names.empty() ? "" : ", ") + w.name;
    }
    throw UsageError("step: there is no walkthrough '" + name + "'; the walkthroughs are " + names);
}

WalkthroughRun run_walkthrough(const Walkthrough& w, const TraceOptions& options) {
    WalkthroughRun run{w.leaves(), Tensor(), Stepper(options)};
    Tape tape;
    tape.set_observer(&run.stepper);
    run.loss = w.forward(run.leaves);
    tape.backward(run.loss);
    return run;
}

GradcheckTable check_walkthrough(const Walkthrough& w) {
    const std::vector<Tensor> leaves = w.leaves();
    std::vector<Tensor> params;
    std::vector<std::string> names;
    for (const auto& t : leaves) {
        if (!t.requires_grad()) continue;
        params.push_back(t);
        names.push_back(t.name());
    }
    return gradcheck_params_table([&] { return w.forward(leaves); }, params, {}, names);
}

}  // namespace tapegrad::cli

// `tapegrad step`: the walkthroughs' traces against gradients derived in this file by hand
// (chain rule on plain doubles) and by central differences, and the command's outputs.
#include <cmath>
#include <filesystem>
#include <functional>
#include <sstream>

#include <tapegrad/cli/graphviz.hpp>

#include "check.hpp"
#include "files.hpp"
#include "step_command.hpp"
#include "walkthroughs.hpp"

namespace cli = tapegrad::cli;
namespace fs = std::filesystem;
using Catch::Contains;
using testing::check_contains;
using testing::read_file;
using testing::TempDir;

namespace {

double item(const tg::Tensor& t) {
    REQUIRE(t.defined());
    REQUIRE(t.numel() == 1);
    return t.item();
}

std::vector<double> values(const tg::Tensor& t) {
    REQUIRE(t.defined());
    const auto a = t.to_array<double>();
    return {a.begin(), a.end()};
}

const tg::TraceStep& step_of(const tg::Stepper& s, const std::string& name) {
    for (const auto& st : s.steps())
        if (s.tensor(st.out).name == name) return st;
    FAIL("backward did not visit " << name);
    throw;  // not reached
}

// The contribution a step sent to the input of that name.
const tg::TraceContribution& to(const tg::Stepper& s, const tg::TraceStep& st,
                                const std::string& name) {
    for (const auto& c : st.inputs)
        if (s.tensor(c.slot).name == name) return c;
    FAIL("the step sends nothing to " << name);
    throw;
}

std::string run(const cli::StepArgs& a, const std::string& input = "") {
    std::istringstream in(input);
    std::ostringstream out;
    cli::run_step(a, in, out);
    return out.str();
}

// The 2-2-1 network of the mlp walkthrough on plain doubles, with its backward pass written
// out by the chain rule. p holds W1 (4, row-major), b1 (2), W2 (2), b2 (1).
struct Mlp {
    std::vector<double> p{0.5, -0.3, 0.8, 0.2, 0.2, -0.1, 1.0, -1.5, 0.2};
    double x[2] = {1.0, 2.0}, y = 1.0;
    double z1[2], h[2], out, loss;
    double d_out, d_h[2], d_z1[2];
    std::vector<double> grad;  // in the order of p

    double forward() {
        for (int j = 0; j < 2; ++j) {
            z1[j] = p[2 * j] * x[0] + p[2 * j + 1] * x[1] + p[4 + j];
            h[j] = std::tanh(z1[j]);
        }
        out = p[6] * h[0] + p[7] * h[1] + p[8];
        loss = (out - y) * (out - y);
        return loss;
    }
    void backward() {
        d_out = 2 * (out - y);  // d(out - y)²/d out
        grad.assign(9, 0.0);
        for (int j = 0; j < 2; ++j) {
            d_h[j] = d_out * p[6 + j];
            d_z1[j] = d_h[j] * (1 - h[j] * h[j]);  // tanh' = 1 - tanh²
            grad[2 * j] = d_z1[j] * x[0];
            grad[2 * j + 1] = d_z1[j] * x[1];
            grad[4 + j] = d_z1[j];
            grad[6 + j] = d_out * h[j];
        }
        grad[8] = d_out;
    }
    // Central differences of forward() in each parameter.
    std::vector<double> numeric(double eps = 1e-6) {
        std::vector<double> g;
        for (std::size_t i = 0; i < p.size(); ++i) {
            const double keep = p[i];
            p[i] = keep + eps;
            const double up = forward();
            p[i] = keep - eps;
            const double down = forward();
            p[i] = keep;
            g.push_back((up - down) / (2 * eps));
        }
        forward();
        return g;
    }
};

}  // namespace

TEST_CASE("quadratic: each node's gradient and contribution as derived by hand") {
    const auto r = cli::run_walkthrough(cli::find_walkthrough("quadratic"));
    const auto& s = r.stepper;
    const double w = 10.0;
    // f = u + 9, u = sq + lin with sq = w², lin = -6w: backward visits f, u, lin, sq.
    std::vector<std::string> order;
    for (const auto& st : s.steps()) order.push_back(s.tensor(st.out).name);
    CHECK(order == std::vector<std::string>{"f", "u", "lin", "sq"});
    CHECK(item(r.loss) == w * w - 6 * w + 9);
    for (const auto& st : s.steps()) CHECK(item(st.grad) == 1.0);  // every path has slope 1 to f
    const auto& lin = to(s, step_of(s, "lin"), "w");
    CHECK_FALSE(lin.before.defined());
    CHECK(item(lin.contribution) == -6.0);
    const auto& sq = to(s, step_of(s, "sq"), "w");
    CHECK(item(sq.before) == -6.0);
    CHECK(item(sq.contribution) == 2 * w);  // d w²/dw
    CHECK(item(sq.after) == 2 * (w - 3));   // the two contributions add to f'(w)
    CHECK(item(s.grad("w")) == 2 * (w - 3));
    CHECK(item(r.leaves[0].grad()) == 2 * (w - 3));
    const std::string text = s.transcript();
    INFO(text);
    CHECK_THAT(text, Contains("→ w (x)  20, added to the -6 it already had: 14"));
}

TEST_CASE("mlp: the trace's gradients match the chain rule by hand and central differences") {
    const auto r = cli::run_walkthrough(cli::find_walkthrough("mlp"));
    const auto& s = r.stepper;
    Mlp m;
    m.forward();
    m.backward();
    CHECK(item(r.loss) == Approx(m.loss).epsilon(1e-14));
    // Backward visits loss, sqerr, out, h, z1; each receives the gradient derived by hand.
    std::vector<std::string> order;
    for (const auto& st : s.steps()) order.push_back(s.tensor(st.out).name);
    CHECK(order == std::vector<std::string>{"loss", "sqerr", "out", "h", "z1"});
    CHECK(item(step_of(s, "loss").grad) == 1.0);
    CHECK(item(step_of(s, "sqerr").grad) == 1.0);  // the mean of one element
    CHECK(item(step_of(s, "out").grad) == Approx(m.d_out).epsilon(1e-14));
    const auto dh = values(step_of(s, "h").grad);
    const auto dz1 = values(step_of(s, "z1").grad);
    REQUIRE(dh.size() == 2);
    REQUIRE(dz1.size() == 2);
    for (int j = 0; j < 2; ++j) {
        CHECK(dh[j] == Approx(m.d_h[j]).epsilon(1e-14));
        CHECK(dz1[j] == Approx(m.d_z1[j]).epsilon(1e-14));
    }
    // What the out node sent to W2 and b2, and the z1 node to W1, b1 (x is data: nothing).
    const auto& out_step = step_of(s, "out");
    const auto w2 = values(to(s, out_step, "W2").contribution);
    CHECK(w2[0] == Approx(m.grad[6]).epsilon(1e-14));
    CHECK(w2[1] == Approx(m.grad[7]).epsilon(1e-14));
    CHECK(item(to(s, out_step, "b2").contribution) == Approx(m.grad[8]).epsilon(1e-14));
    const auto& z1_step = step_of(s, "z1");
    CHECK_FALSE(to(s, z1_step, "x").requires_grad);
    const auto w1 = values(to(s, z1_step, "W1").contribution);
    const auto b1 = values(to(s, z1_step, "b1").contribution);
    for (int i = 0; i < 4; ++i) CHECK(w1[i] == Approx(m.grad[i]).epsilon(1e-14));
    for (int j = 0; j < 2; ++j) CHECK(b1[j] == Approx(m.grad[4 + j]).epsilon(1e-14));

    // The final gradients against central differences of the plain-double network.
    std::vector<double> traced;
    for (const char* name : {"W1", "b1", "W2", "b2"})
        for (double v : values(s.grad(name))) traced.push_back(v);
    const auto numeric = m.numeric();
    REQUIRE(traced.size() == numeric.size());
    for (std::size_t i = 0; i < numeric.size(); ++i) {
        INFO("parameter element " << i);
        CHECK(traced[i] == Approx(numeric[i]).margin(1e-7));
    }
}

TEST_CASE("line_fit and neuron: final gradients as derived by hand") {
    {
        const auto r = cli::run_walkthrough(cli::find_walkthrough("line_fit"));
        const double w = 0.5, b = 0.0, xs[] = {1, 2, 3, 4}, ys[] = {3, 5, 7, 9};
        double dw = 0, db = 0;
        for (int i = 0; i < 4; ++i) {
            const double err = w * xs[i] + b - ys[i];
            dw += 2 * err * xs[i] / 4;  // d mean(err²)/dw
            db += 2 * err / 4;
        }
        CHECK(item(r.stepper.grad("w")) == Approx(dw));
        CHECK(item(r.stepper.grad("b")) == Approx(db));
        CHECK(dw == -27.5);  // the numbers the walkthrough's text announces
        CHECK(db == -9.5);
    }
    {
        const auto r = cli::run_walkthrough(cli::find_walkthrough("neuron"));
        const double w1 = 0.5, w2 = -1.5, b = 0.1, x1 = 2, x2 = -1, t = 1;
        const double y = 1 / (1 + std::exp(-(w1 * x1 + w2 * x2 + b)));
        const double dz = 2 * (y - t) * y * (1 - y);  // (y - t)² then σ' = y(1 - y)
        CHECK(item(r.stepper.grad("w1")) == Approx(dz * x1));
        CHECK(item(r.stepper.grad("w2")) == Approx(dz * x2));
        CHECK(item(r.stepper.grad("b")) == Approx(dz));
        CHECK(item(r.loss) == Approx((y - t) * (y - t)));
    }
}

TEST_CASE("step --list, and an unknown walkthrough names the ones there are") {
    cli::StepArgs a;
    a.list = true;
    const std::string s = run(a);
    for (const char* name : {"quadratic", "line_fit", "neuron", "mlp"})
        CHECK_THAT(s, Contains(std::string("  ") + name));
    a = {};
    a.example = "cnn";
    CHECK_THROWS_WITH(run(a), Contains("no walkthrough 'cnn'") && Contains("line_fit"));
}

TEST_CASE("step --all prints the whole trace with the tape's numbers") {
    cli::StepArgs a;
    a.example = "mlp";
    a.all = true;
    const std::string s = run(a, "q\n");
    INFO(s);
    check_contains(s, {
                          "tapegrad step mlp: a 2-2-1 network",
                          "forward: the tape recorded 5 nodes",
                          "backward 1/5 · node 4: loss = mean(sqerr)",
                          "backward 3/5 · node 2: out = linear(h, W2, b2)",
                          "linear: out = x·Wᵀ + b; ∂/∂x = g·W, ∂/∂W = gᵀ·x, ∂/∂b = Σ_rows g",
                          "with x = h, W = W2, b = b2",
                          "tanh: ∂out/∂x = 1 - tanh²(x) = 1 - out²",
                          "→ x (x)   nothing: a constant",
                          "gradients of the leaves that require grad",
                      });
    CHECK_THAT(s, !Contains("step 1/"));  // no interaction
}

TEST_CASE("step --dot writes the graph of the network, and an SVG when Graphviz is there") {
    cli::StepArgs a;
    a.example = "mlp";
    const TempDir dir("step");
    a.dot = (dir / "mlp.dot").string();
    const std::string s = run(a);
    INFO(s);
    const std::string dot = read_file(a.dot);
    CHECK(dot.rfind("digraph tape {", 0) == 0);
    for (const char* name :
         {"<b>W1</b>", "<b>b1</b>", "<b>z1</b>", "<b>h</b>", "<b>out</b>", "<b>loss</b>"})
        CHECK_THAT(dot, Contains(name));
    if (tg::cli::find_graphviz_dot().empty()) {
        CHECK_THAT(s, Contains("apt-get install graphviz"));
    } else {
        CHECK_THAT(s, Contains("mlp.svg"));
        CHECK(fs::file_size(dir / "mlp.svg") > 1000);
    }
}

TEST_CASE("step --gradcheck prints the table of analytic and numeric gradients") {
    cli::StepArgs a;
    a.example = "mlp";
    a.gradcheck = true;
    const std::string s = run(a);
    INFO(s);
    CHECK_THAT(s, Contains("gradcheck passed: 9 comparisons"));
    CHECK_THAT(s, Contains("worst 9 of 9"));
    CHECK_THAT(s, Contains("W1"));
    const auto table = cli::check_walkthrough(cli::find_walkthrough("neuron"));
    CHECK(table.report.passed);
    CHECK(table.entries.size() == 3);
}

TEST_CASE("step reads commands from its input: next, previous, print, quit") {
    cli::StepArgs a;
    a.example = "quadratic";
    const std::string s = run(a, "n\nn\np\nprint w\nwhat\ne\nq\n");
    INFO(s);
    check_contains(s, {
                          "forward 1/4 · node 0: sq = square(w)",
                          "forward 3/4 · node 2: u = add(sq, lin)",
                          "step 2/9 > ",
                          "w = leaf, requires grad  ([] float64)",
                          "unknown command 'what'",
                          "end: backward is done",
                          "w     []     10     14",
                      });
}

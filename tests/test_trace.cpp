// Seeing backprop: the backward observer hook, the forward listing, the stepper's trace (its
// numbers checked against gradients derived by hand), the DOT export and the readable
// gradient-check table.
#include <algorithm>
#include <filesystem>
#include <sstream>
#include <tapegrad/autodiff/op.hpp>
#include <tapegrad/autodiff/trace.hpp>
#include <tapegrad/cli/graphviz.hpp>
#include <tapegrad/cli/stepper_terminal.hpp>
#include <tapegrad/nn/loss.hpp>

#include "check.hpp"
#include "files.hpp"

using namespace testing;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

// Writes down what the tape tells it, in order.
struct Recorder : tg::BackwardObserver {
    std::vector<std::string> events;
    void backward_begin(const tg::Tape&, std::int32_t slot) override {
        events.push_back("begin " + std::to_string(slot));
    }
    void before_node(const tg::Tape& tape, std::size_t i) override {
        events.push_back("before " + std::to_string(i) + " " + tape.nodes()[i].op->name);
    }
    void after_node(const tg::Tape&, std::size_t i) override {
        events.push_back("after " + std::to_string(i));
    }
    void backward_end(const tg::Tape&) override { events.push_back("end"); }
};

double item(const tg::Tensor& t) {
    REQUIRE(t.defined());
    return t.item();
}

}  // namespace

TEST_CASE("the observer is told about every node backward runs, last recorded first") {
    auto x = tg::scalar(2.0, tg::f64).requires_grad_();
    tg::Tape tape;
    Recorder rec;
    tape.set_observer(&rec);
    CHECK(tape.observer() == &rec);
    auto y = tg::exp(x * 3.0);  // node 0 mul_scalar, node 1 exp
    auto unused = tg::sin(x);   // node 2: no gradient reaches it, so backward skips it
    tape.backward(y);
    const std::vector<std::string> want{"begin " + std::to_string(y.impl()->slot),
                                        "before 1 exp",
                                        "after 1",
                                        "before 0 mul_scalar",
                                        "after 0",
                                        "end"};
    CHECK(rec.events == want);
    CHECK(x.grad().item() == Approx(3 * std::exp(6.0)));
}

TEST_CASE("gradients are the same with and without an observer") {
    auto run = [](bool observe) {
        auto w = tg::tensor({{0.5, -1.0}, {2.0, 0.25}}, tg::f64).requires_grad_();
        auto x = tg::tensor({1.0, -2.0}, tg::f64);
        tg::Tape tape;
        tg::Stepper stepper;
        if (observe) tape.set_observer(&stepper);
        tape.backward(tg::sum(tg::tanh(tg::matmul(w, x)) * w));
        return w.grad().value<double>();
    };
    const bool same = run(true) == run(false);  // exactly: the same rules ran
    CHECK(same);
}

TEST_CASE("the forward listing names every tensor and shows small values in full") {
    auto w = tg::scalar(2.0, tg::f64).requires_grad_().name("w");
    auto big = tg::arange(25.0, tg::f64);
    tg::Tape tape;
    auto y = w * tg::scalar(3.0, tg::f64);  // the constant is unnamed
    auto s = tg::sum(tg::reshape(big, {5, 5}) * y);
    s.name("s");
    const auto tensors = tg::trace_tensors(tape);
    REQUIRE(tensors.size() == 6);
    CHECK(tensors[0].name == "w");
    CHECK(tensors[1].name == "const_1");
    CHECK(tensors[2].name == "mul_2");  // unnamed result: op name and number
    CHECK(tensors[2].roles == std::vector<std::string>{"a", "b"});
    CHECK(tensors[3].name == "const_3");
    CHECK(tensors[4].name == "mul_4");
    CHECK(tensors[5].name == "s");
    const std::string listing = tg::forward_listing(tape);
    INFO(listing);
    check_contains(listing, {
                                "#  name     op                    inputs",
                                "0  w        leaf (requires grad)",
                                "2  mul_2    mul                   w, const_1",
                                "[]      float64  6",
                                // 25 elements: summarised as shape, min, max, mean.
                                "<shape [5, 5]: min 0, max 144, mean 72>",
                                "5  s        sum",
                                "1800",
                            });
}

TEST_CASE("values print in full or summarised, with the chosen digits") {
    CHECK(tg::format_values(tg::scalar(0.5, tg::f64)) == "0.5");
    CHECK(tg::format_values(tg::tensor({{1, -2}, {3.25, 4}}, tg::f64)) == "[[1, -2], [3.25, 4]]");
    CHECK(tg::format_values(tg::scalar(-0.0, tg::f64)) == "0");
    CHECK(tg::format_values(tg::scalar(1.0 / 3.0, tg::f64), {.digits = 3}) == "0.333");
    CHECK(tg::format_values(tg::tensor({1.0, 2.0, 3.0, 6.0}), {.full_limit = 3}) ==
          "<shape [4]: min 1, max 6, mean 3>");
    CHECK(tg::format_values(tg::Tensor()) == "-");
}

TEST_CASE("the rules name their inputs") {
    auto roles = [](const char* rule, std::size_t n) {
        return tg::rule_roles(tg::OpInfo{"op", rule}, n);
    };
    using V = std::vector<std::string>;
    CHECK(roles("∂out/∂a = b, ∂out/∂b = a", 2) == V{"a", "b"});
    CHECK(roles("out = x·Wᵀ + b; ∂/∂x = g·W, ∂/∂W = gᵀ·x, ∂/∂b = Σ_rows g", 3) == V{"x", "W", "b"});
    CHECK(roles("out = x·Wᵀ + b; ∂/∂x = g·W, ∂/∂W = gᵀ·x, ∂/∂b = Σ_rows g", 2) == V{"x", "W"});
    CHECK(roles("∂out/∂part_i = the slice of g", 3) == V{"part_0", "part_1", "part_2"});
    CHECK(roles("d/dx = g converted to the input's dtype", 1) == V{"x"});
    CHECK(roles("none", 1) == V{"x"});
    CHECK(roles("none", 2) == V{"input 0", "input 1"});
}

TEST_CASE("every built-in op's rule (nn's losses too) names each of its inputs") {
    auto a = tg::tensor({{0.5, -1.0}, {2.0, 0.25}}, tg::f64).requires_grad_();
    auto b = tg::tensor({{1.5, 0.5}, {-0.5, 3.0}}, tg::f64).requires_grad_();
    auto cond = tg::tensor({{1.0, 0.0}, {0.0, 1.0}}, tg::f64);
    tg::Tape tape;
    std::vector<tg::Tensor> outs{
        a + b, a - b, a * b, a / b, -a, a + 1.0, a * 2.0, 1.0 - a, 1.0 / b, tg::pow(tg::abs(a), b),
        tg::pow(a, 2.0), tg::maximum(a, b), tg::minimum(a, b), tg::where(cond, a, b), tg::square(a),
        tg::sqrt(tg::abs(a)), tg::exp(a), tg::log(tg::abs(a)), tg::sin(a), tg::cos(a), tg::tanh(a),
        tg::sigmoid(a), tg::relu(a), tg::leaky_relu(a), tg::elu(a), tg::softplus(a), tg::gelu(a),
        tg::clamp(a, -0.5, 0.5), tg::sum(a), tg::mean(a), tg::max(a), tg::min(a),
        tg::logsumexp(a, {1}), tg::softmax(a), tg::log_softmax(a), tg::reshape(a, {4}),
        tg::transpose(a), tg::broadcast_to(a, {3, 2, 2}), tg::concat({a, b}), tg::stack({a, b}),
        tg::slice_rows(a, 0, 1), tg::gather_rows(a, {1, 1}), tg::matmul(a, b),
        tg::linear(a, b, tg::tensor({1.0, 2.0}, tg::f64)), a.to(tg::f32),
        // nn's fused losses
        tg::nn::mse_loss(a, b), tg::nn::l1_loss(a, b), tg::nn::huber_loss(a, b),
        tg::nn::binary_cross_entropy(tg::sigmoid(a), tg::sigmoid(b)), tg::nn::bce_with_logits(a, b),
        tg::nn::cross_entropy(a, {1, 0}), tg::nn::nll_loss(tg::log_softmax(a), {0, 1}),
        tg::nn::l2_penalty({a, b}, 0.1)};
    const auto tensors = tg::trace_tensors(tape);
    std::size_t ops = 0;
    for (const auto& t : tensors) {
        if (t.node < 0) continue;
        ++ops;
        INFO(t.op->name << ": " << t.op->rule);
        REQUIRE(t.roles.size() == t.inputs.size());
        for (const auto& r : t.roles) CHECK(r.rfind("input ", 0) == std::string::npos);
    }
    CHECK(ops >= outs.size());
}

TEST_CASE("the stepper's trace: arriving gradients, contributions and accumulation") {
    // f = x·x + 3x at x = 2 (mul uses x twice, mul_scalar once more):
    // ∂f/∂(x·x) = 1 and x receives 2x = 4 from it; ∂f/∂(3x) = 1 and x receives 3.
    auto x = tg::scalar(2.0, tg::f64).requires_grad_().name("x");
    auto c = tg::scalar(5.0, tg::f64).name("c");  // a constant input
    tg::Stepper stepper;
    {
        tg::Tape tape;
        tape.set_observer(&stepper);
        auto xx = (x * x).name("xx");
        auto tx = (x * 3.0).name("tx");
        auto s = (xx + tx).name("s");
        auto f = (s * c).name("f");
        tape.backward(f);
    }
    REQUIRE(stepper.recorded());
    CHECK(x.grad().item() == 5.0 * (2 * 2.0 + 3));
    const auto& steps = stepper.steps();
    REQUIRE(steps.size() == 4);
    // Backward order: f (node 3), s (2), tx (1), xx (0).
    CHECK(stepper.tensor(steps[0].out).name == "f");
    CHECK(item(steps[0].grad) == 1.0);
    CHECK(steps[0].inputs[1].requires_grad == false);  // c
    CHECK(item(steps[0].inputs[0].contribution) == 5.0);
    CHECK(stepper.tensor(steps[2].out).name == "tx");
    CHECK(item(steps[2].grad) == 5.0);
    CHECK_FALSE(steps[2].inputs[0].before.defined());
    CHECK(item(steps[2].inputs[0].contribution) == 15.0);  // 3·5
    CHECK(stepper.tensor(steps[3].out).name == "xx");
    const auto& xin = steps[3].inputs;
    REQUIRE(xin.size() == 2);
    CHECK(xin[0].same_tensor_as == std::vector<std::size_t>{1});
    CHECK(item(xin[0].before) == 15.0);
    CHECK(item(xin[0].contribution) == 20.0);  // 2x·5, both places of x together
    CHECK(item(xin[0].after) == 35.0);
    CHECK(item(stepper.grad("x")) == 35.0);
    const std::int32_t x_slot = stepper.find("x")->slot;
    CHECK(item(stepper.grad_after(x_slot, 3)) == 15.0);  // before the xx step
    CHECK_FALSE(stepper.grad_after(x_slot, 2).defined());

    const std::string text = stepper.describe_step(3);
    INFO(text);
    check_contains(text, {
                             "backward 4/4 · node 0: xx = mul(x, x)",
                             "∂f/∂xx = 5",
                             "mul: ∂out/∂a = b, ∂out/∂b = a",
                             "with a = x, b = x",
                             "→ x (a and b: the same tensor)  20",
                             "added to the 15 it already had: 35",
                         });
    const std::string first = stepper.describe_step(0);
    INFO(first);
    CHECK_THAT(first, Contains("∂f/∂f = 1  (the seed: backward starts here)"));
    CHECK_THAT(first, Contains("→ c (b)  nothing: a constant"));
    CHECK_THAT(stepper.gradients(), Contains("x     []     2      35"));
}

TEST_CASE("broadcast inputs are shown receiving the summed gradient") {
    auto w = tg::scalar(0.5, tg::f64).requires_grad_().name("w");
    auto x = tg::tensor({1.0, 2.0, 3.0}, tg::f64).name("x");
    tg::Stepper stepper;
    tg::Tape tape;
    tape.set_observer(&stepper);
    tape.backward(tg::sum(w * x).name("loss"));
    CHECK(item(stepper.grad("w")) == 6.0);
    const std::string text = stepper.describe_step(1);
    INFO(text);
    CHECK_THAT(text, Contains("→ w (a)  6  (summed over the broadcast axes to shape [])"));
}

TEST_CASE("the stepper walks forward and back, prints tensors, and never crashes on input") {
    auto w = tg::scalar(3.0, tg::f64).requires_grad_().name("w");
    tg::Stepper stepper;
    tg::Tape tape;
    tape.set_observer(&stepper);
    auto d = (w - 1.0).name("d");
    auto loss = tg::square(d).name("loss");
    tape.backward(loss);
    // Positions: 2 forward nodes, 2 backward steps, the summary.
    REQUIRE(stepper.positions() == 5);
    CHECK_THAT(stepper.page(0), Contains("forward 1/2 · node 0: d = add_scalar(w, s = -1)"));
    CHECK_THAT(stepper.page(1), Contains("result  loss = 4  ([] float64)"));
    CHECK_THAT(stepper.page(2), Contains("backward 1/2"));
    CHECK_THAT(stepper.page(4), Contains("end: backward is done"));
    CHECK_THROWS_AS(stepper.page(5), tg::ValueError);
    CHECK_THAT(stepper.print("loss", 0), Contains("not computed yet"));
    CHECK_THAT(stepper.print("w", 1), Contains("backward has not started"));
    CHECK_THAT(stepper.print("w", 2), Contains("none has reached it yet"));
    CHECK_THAT(stepper.print("w", 3), Contains("4  (final)"));
    CHECK_THAT(stepper.print("d", 2), Contains("4  (after backward step 1/2)"));

    std::istringstream in("n\nn\np\nprint d\nfoo\nd\n\x1b[C\n\x1b[A\ne\nn\nb\np\nh\nprint\nq\nn\n");
    std::ostringstream out;
    tg::cli::interact(stepper, in, out);
    const std::string s = out.str();
    INFO(s);
    check_contains(s, {
                          "step 1/5 > ",
                          "step 3/5 > ",
                          "d = add_scalar(w, s = -1)  ([] float64)\n  value     2",
                          "unknown command 'foo'; h lists the commands",
                          "unknown command 'd' (to see that tensor: print d)",
                          "(this is the end: b goes to the beginning, q quits)",
                          "(only → and ← move; h lists the commands)",
                      });
    CHECK_THAT(s, !Contains("\x1b"));
    CHECK_THAT(s, Contains("(this is the beginning)"));
    CHECK_THAT(s, Contains("print NAME"));
    CHECK_THAT(s, Contains("print which tensor?"));
    // q stopped it: the n after q was not read as a command.
    CHECK(s.substr(s.size() - 11) == "step 1/5 > ");

    std::istringstream eof("n\n");  // the end of input quits too
    std::ostringstream out2;
    tg::cli::interact(stepper, eof, out2);
    CHECK(out2.str().substr(out2.str().size() - 12) == "step 2/5 > \n");
}

TEST_CASE("the stepper says what is missing instead of failing silently") {
    tg::Stepper stepper;
    CHECK_FALSE(stepper.recorded());
    CHECK_THROWS_WITH(stepper.transcript(), Contains("tape.set_observer(&stepper)"));
    std::istringstream in("n\n");
    std::ostringstream out;
    tg::cli::interact(stepper, in, out);
    CHECK_THAT(out.str(), Contains("no backward pass was recorded"));
    auto w = tg::scalar(1.0, tg::f64).requires_grad_();
    tg::Tape tape;
    tape.set_observer(&stepper);
    tape.backward(tg::exp(w));
    CHECK_THROWS_WITH(stepper.grad("nope"),
                      Contains("no tensor named 'nope'") && Contains("param_0"));
}

TEST_CASE("a persistent tape's second backward replaces the record, and float32 works") {
    auto w = tg::tensor({1.0f, 2.0f}).requires_grad_().name("w");
    tg::Stepper stepper;
    tg::Tape tape({.persistent = true});
    tape.set_observer(&stepper);
    auto y = tg::sum(w * w).name("y");
    tape.backward(y);
    tape.backward(y);
    CHECK(stepper.steps().size() == 2);
    const auto g = stepper.grad("w");
    CHECK(g.dtype() == tg::f32);
    const bool right = g.value<float>() == xt::xarray<float>{2.0f, 4.0f};
    CHECK(right);
}

TEST_CASE("the DOT graph holds every tensor and op, and Graphviz renders it") {
    auto w = tg::tensor({0.5, -1.0}, tg::f64).requires_grad_().name("w");
    auto x = tg::tensor({2.0, 1.0}, tg::f64).name("x");
    tg::Stepper stepper;
    std::string from_tape;
    {
        tg::Tape tape;
        tape.set_observer(&stepper);
        auto loss = tg::sum(tg::tanh(w * x)).name("loss");
        tape.backward(loss);
        from_tape = tg::to_dot(tape, {}, "from the tape");
    }
    const std::string dot = stepper.dot("a \"quoted\" title");
    INFO(dot);
    CHECK(dot.rfind("digraph tape {", 0) == 0);
    check_contains(dot, {
                            "label=\"a \\\"quoted\\\" title\"",
                            "<b>w</b>&#160;&#160;<font color=\"#555555\">[2] float64</font>",
                            "<td align=\"left\">value</td><td align=\"left\">[0.5, -1]</td>",
                            // ∂loss/∂w = (1 - tanh²(w·x))·x, to 4 digits.
                            "<td align=\"left\">grad</td><td align=\"left\">[0.8399, 0.42]</td>",
                            "t0 -> op2 [label=\"a\"]",
                            "op2 -> t2",
                            "tooltip=\"tanh: ∂out/∂x = 1 - tanh²(x) = 1 - out²\"",
                        });
    // From the tape itself: the leaf's gradient is read from its .grad().
    CHECK_THAT(from_tape, Contains("[0.8399, 0.42]"));

    const TempDir dir("trace");
    const auto path = dir / "graph.dot";
    const auto files = tg::cli::write_graph(dot, path);
    CHECK(read_file(path) == dot);
    if (tg::cli::find_graphviz_dot().empty()) {
        CHECK(files.svg.empty());
        CHECK_THAT(files.message, Contains("apt-get install graphviz") && Contains("dot -Tsvg"));
    } else {
        // dot -Tsvg succeeded (write_graph throws when it fails): the DOT parses.
        REQUIRE(files.svg == dir / "graph.svg");
        CHECK_THAT(read_file(files.svg), Contains("<svg") && Contains("loss"));
        // A DOT file that does not parse is an error, named.
        CHECK_THROWS_WITH(tg::cli::write_graph("digraph {", dir / "bad.dot"), Contains("bad.dot"));
    }
    CHECK_THROWS_AS(tg::cli::write_graph(dot, dir / "no-such-dir" / "x.dot"), tg::IoError);
}

TEST_CASE("the gradient-check table lists every comparison, worst first") {
    auto x = tg::tensor({0.5, -1.0, 2.0}, tg::f64).name("x");
    auto y = tg::tensor({1.5}, tg::f64);
    // A right rule on y, a wrong one (3x instead of 2x) on x: the errors are |x|, worst at 2.
    const auto table = tg::gradcheck_table(
        [](const std::vector<tg::Tensor>& in) {
            return tg::sum(tg::apply<WrongSquare>({&in[0]})) + tg::sum(tg::square(in[1]));
        },
        {x, y});
    CHECK_FALSE(table.report.passed);
    REQUIRE(table.entries.size() == 4);
    CHECK(table.entries[0].input_name == "x");
    CHECK(table.entries[0].index == tg::Shape{2});
    CHECK(table.entries[0].analytic == Approx(6.0));
    CHECK(table.entries[0].numeric == Approx(4.0));
    CHECK_FALSE(table.entries[0].passed);
    CHECK(table.entries[1].index == tg::Shape{1});
    CHECK(table.entries[2].index == tg::Shape{0});
    CHECK(table.entries[3].input == 1);
    CHECK(table.entries[3].passed);
    for (std::size_t k = 1; k < table.entries.size(); ++k) {
        const auto& a = table.entries[k - 1];
        const auto& b = table.entries[k];
        CHECK(a.abs_error / a.tolerance >= b.abs_error / b.tolerance);
    }
    const std::string s = table.to_string(2);
    INFO(s);
    check_contains(s, {
                          "gradcheck FAILED",
                          "worst 2 of 4",
                          "input  element  analytic",
                          "x      [2]",
                          "FAIL",
                      });

    // Parameters in place, named by the caller; a right model passes every row.
    auto w = tg::tensor({{0.5, -0.25}}, tg::f64).requires_grad_();
    auto in = tg::tensor({{1.0, 2.0}}, tg::f64);
    const auto ok = tg::gradcheck_params_table(
        [&] { return tg::sum(tg::tanh(tg::matmul(in, tg::transpose(w)))); }, {w}, {}, {"weight"});
    CHECK(ok.report.passed);
    REQUIRE(ok.entries.size() == 2);
    CHECK(ok.entries[0].input_name == "weight");
    CHECK(
        std::all_of(ok.entries.begin(), ok.entries.end(), [](const auto& e) { return e.passed; }));
}

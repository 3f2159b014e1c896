// Runs the worked examples on data (mlp_digits, a reduced logistic_2m, fashion_mnist for one
// epoch), each in a scratch directory where its files land, and checks what they print against
// numbers computed here: the digits split redone with data::split, the true logistic rule redrawn
// from its seed, the saved Fashion-MNIST weights evaluated again.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/nn.hpp>
#include <vector>

#include "example_run.hpp"

namespace tg = tapegrad;
namespace data = tapegrad::data;
namespace nn = tapegrad::nn;
namespace fs = std::filesystem;
using testing::ExampleRun;

TEST_CASE("mlp_digits: test accuracy and confusion matrix agree with a split redone here") {
    ExampleRun run("mlp_digits");
    INFO(run.out);
    REQUIRE(run.status == 0);

    // The split the example describes (stratified, validation 0.2, test 0.2, seed 0), redone.
    const auto csv = data::read_csv(TAPEGRAD_EXAMPLES_DATA "/digits.csv", "target");
    const data::Split parts =
        data::split(csv.data, {.validation = 0.2, .test = 0.2, .seed = 0, .stratify = true});
    std::vector<std::size_t> class_count(10, 0);
    for (float v : parts.test.y.value<float>()) ++class_count.at(static_cast<std::size_t>(v));

    // "  3 |  0  .  . 36 ... | 37  97.3%": the true digit, ten counts ('.' is 0), the total.
    const std::regex row_re(R"(^\s+(\d) \|((?:\s+(?:\d+|\.)){10}) \|\s+(\d+)\s)");
    std::vector<std::vector<std::size_t>> cm;
    for (const auto& line : run.lines) {
        std::smatch m;
        if (!std::regex_search(line, m, row_re)) continue;
        REQUIRE(std::stoul(m[1]) == cm.size());
        std::istringstream cells(m[2].str());
        std::vector<std::size_t> row;
        for (std::string cell; cells >> cell;) row.push_back(cell == "." ? 0 : std::stoul(cell));
        std::size_t sum = 0;
        for (std::size_t v : row) sum += v;
        CHECK(sum == std::stoul(m[3]));  // the printed total is the row's sum
        cm.push_back(row);
    }
    REQUIRE(cm.size() == 10);

    std::size_t trace = 0, total = 0;
    for (std::size_t r = 0; r < 10; ++r) {
        std::size_t row_sum = 0;
        for (std::size_t c = 0; c < 10; ++c) row_sum += cm[r][c];
        CHECK(row_sum == class_count[r]);  // every test image of class r, counted once
        trace += cm[r][r];
        total += row_sum;
    }
    CHECK(total == parts.test.size());

    const std::smatch acc = run.match(std::regex(R"(test accuracy ([0-9.]+) \((\d+) of (\d+))"));
    REQUIRE(acc.size() == 4);
    CHECK(std::stoul(acc[2]) == trace);
    CHECK(std::stoul(acc[3]) == total);
    const double printed = std::stod(acc[1]);
    CHECK(std::abs(printed - static_cast<double>(trace) / total) <= 5e-5);  // printed with %.4f
    CHECK(printed > 0.93);  // an MLP that learned the digits (this one reaches about 0.97)

    const std::string svg = run.file("mlp_digits_loss.svg");
    CHECK(svg.find("<svg") != std::string::npos);
    CHECK(svg.find("validation") != std::string::npos);
}

TEST_CASE("logistic_2m 200000: the recovered weights point where the true rule does") {
    ExampleRun run("logistic_2m", "200000");
    INFO(run.out);
    REQUIRE(run.status == 0);
    CHECK(run.match(std::regex(R"(^Data: 200000 training rows)")).size() == 1);

    // The true rule, redrawn: the first 20 normals of Generator(seed) are w*.
    const std::smatch seed = run.match(std::regex(R"(\(seed (\d+)\))"));
    REQUIRE(seed.size() == 2);
    tg::Generator gen(std::stoull(seed[1]));
    std::vector<double> truth(20);
    for (double& v : truth) v = gen.normal();

    // "  w[ 3]    0.6782    0.6668": index, true, learned.
    const std::regex w_re(R"(^\s+w\[\s*(\d+)\]\s+(-?[0-9.]+)\s+(-?[0-9.]+)\s*$)");
    std::vector<double> learned;
    for (const auto& line : run.lines) {
        std::smatch m;
        if (!std::regex_search(line, m, w_re)) continue;
        const std::size_t j = std::stoul(m[1]);
        REQUIRE(j == learned.size());
        CHECK(std::abs(std::stod(m[2]) - truth[j]) <= 5e-5);  // it prints the rule drawn here
        learned.push_back(std::stod(m[3]));
    }
    REQUIRE(learned.size() == 20);

    double dot = 0, nl = 0, nt = 0;
    for (std::size_t j = 0; j < 20; ++j) {
        dot += learned[j] * truth[j];
        nl += learned[j] * learned[j];
        nt += truth[j] * truth[j];
    }
    const double cosine = dot / std::sqrt(nl * nt);
    CHECK(cosine > 0.95);
    const std::smatch printed = run.match(std::regex(R"(cosine similarity ([0-9.]+))"));
    REQUIRE(printed.size() == 2);
    // The printed weights are rounded to 4 decimals: the cosine here agrees to about 1e-4.
    CHECK(std::abs(std::stod(printed[1]) - cosine) <= 2e-4);

    const std::string svg = run.file("logistic_2m_loss.svg");
    CHECK(svg.find("<svg") != std::string::npos);
    CHECK(svg.find("true rule (floor)") != std::string::npos);
}

TEST_CASE("fashion_mnist 1: one epoch passes 0.8 and saves weights that score what it printed") {
    ExampleRun run("fashion_mnist", "1");
    INFO(run.out);
    REQUIRE(run.status == 0);
    const std::smatch acc = run.match(std::regex(R"(^test accuracy ([0-9.]+) after 1 epoch$)"));
    REQUIRE(acc.size() == 2);
    const double printed = std::stod(acc[1]);
    CHECK(printed > 0.8);

    for (const char* name : {"fashion_mnist_loss.svg", "fashion_mnist_accuracy.svg"}) {
        INFO(name);
        CHECK(run.file(name).find("<svg") != std::string::npos);
    }
    CHECK(run.file("fashion_mnist_history.csv").rfind("epoch,", 0) == 0);

    // The saved weights, in a fresh model of the same shape, score the printed accuracy.
    nn::Sequential model{nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 128), nn::ReLU(),
                         nn::Linear(128, 10)};
    nn::load(model, run.dir / "fashion_mnist.npz");
    const data::Dataset test = data::load_fashion_mnist(false);
    tg::Tensor scores;
    {
        tg::NoGrad no_grad;
        scores = model(test.x);
    }
    const auto cm = nn::metrics::confusion_matrix(scores, test.y, 10);
    std::size_t right = 0;
    for (std::size_t c = 0; c < 10; ++c) right += cm[c][c];
    CHECK(std::abs(printed - right / 10000.0) <= 5e-5);

    // Per-class rows "  Trouser        964 /  1000     0.964   Dress (20)": the counts match.
    const char* const names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    for (std::size_t c = 0; c < 10; ++c) {
        INFO(names[c]);
        const std::smatch row = run.match(
            std::regex("^  " + std::string(names[c]) + R"(\s+(\d+) /\s+(\d+)\s+[0-9.]+\s)"));
        REQUIRE(row.size() == 3);
        std::size_t total = 0;
        for (std::size_t p = 0; p < 10; ++p) total += cm[c][p];
        CHECK(std::stoul(row[1]) == cm[c][c]);
        CHECK(std::stoul(row[2]) == total);
    }
}

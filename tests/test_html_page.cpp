// The stepper as a web page (tapegrad/cli/html_page.hpp): what the C++ writer puts in the file,
// checked without a browser (so that the sanitizer build covers it too). The browser itself
// is tested by tests/html_stepper_check.py, on the walkthroughs and on the page the hidden
// [.browser] test below writes for a small MLP of its own.
#include <stdlib.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <tapegrad/autodiff/creation.hpp>
#include <tapegrad/autodiff/ops.hpp>
#include <tapegrad/autodiff/tape.hpp>
#include <tapegrad/autodiff/trace.hpp>
#include <tapegrad/cli/graphviz.hpp>
#include <tapegrad/cli/html_page.hpp>

#include "check.hpp"
#include "files.hpp"

using namespace testing;
using Catch::Contains;
using nlohmann::json;

namespace {

// A 2-3-1 tanh network on three examples, with a weight penalty on W1 (so W1 is used twice and
// collects two contributions). Some results are left unnamed: they show as "mul_7".
tg::Stepper small_mlp_stepper() {
    tg::Stepper stepper;
    tg::Tape tape;
    tape.set_observer(&stepper);
    auto x = tg::tensor({{1.0, 2.0}, {-1.0, 0.5}, {0.0, -2.0}}, tg::f64).name("x");
    auto y = tg::tensor({{1.0}, {0.0}, {-1.0}}, tg::f64).name("y");
    auto W1 =
        tg::tensor({{0.5, -0.3}, {0.8, 0.2}, {-0.4, 0.6}}, tg::f64).requires_grad_().name("W1");
    auto b1 = tg::tensor({0.1, -0.1, 0.2}, tg::f64).requires_grad_().name("b1");
    auto W2 = tg::tensor({{1.0}, {-1.5}, {0.7}}, tg::f64).requires_grad_().name("W2");
    auto b2 = tg::tensor({0.3}, tg::f64).requires_grad_().name("b2");
    auto h = tg::tanh(tg::linear(x, W1, b1)).name("h");
    auto out = (tg::matmul(h, W2) + b2).name("out");
    auto data_loss = tg::mean(tg::square(out - y)).name("data_loss");
    auto loss = (data_loss + tg::sum(tg::square(W1)) * 0.01).name("loss");
    tape.backward(loss);
    return stepper;
}

// A 10-12-1 tanh network on two examples: tensors of 20 to 120 numbers, beyond the 8 × 8 of a
// table (colour maps on the page, summaries in the transcript).
tg::Stepper wide_mlp_stepper() {
    tg::Generator gen(7);
    auto x = tg::randn({2, 10}, tg::f64, gen).name("x");
    auto y = tg::tensor({{1.0}, {-1.0}}, tg::f64).name("y");
    auto W1 = tg::randn({12, 10}, tg::f64, gen).requires_grad_().name("W1");
    auto b1 = tg::zeros({12}, tg::f64).requires_grad_().name("b1");
    auto W2 = tg::randn({1, 12}, tg::f64, gen).requires_grad_().name("W2");
    tg::Stepper stepper;
    tg::Tape tape;
    tape.set_observer(&stepper);
    auto h = tg::tanh(tg::linear(x, W1, b1)).name("h");
    auto out = tg::linear(h, W2).name("out");
    tape.backward(tg::mean(tg::square(out - y)).name("loss"));
    return stepper;
}

// The JSON the page carries (the writer wrote every "<" inside the script element as \u003c).
json page_data(const std::string& page) {
    const std::string open = "<script type=\"application/json\" id=\"tapegrad-data\">";
    const auto b = page.find(open);
    REQUIRE(b != std::string::npos);
    const auto e = page.find("</script>", b);
    REQUIRE(e != std::string::npos);
    return json::parse(page.substr(b + open.size(), e - b - open.size()));
}

std::vector<double> numbers(const json& t) {
    std::vector<double> v;
    for (const auto& x : t.at("data"))
        v.push_back(x.is_string() ? std::strtod(x.get<std::string>().c_str(), nullptr)
                                  : x.get<double>());
    return v;
}

std::vector<double> numbers(const tg::Tensor& t) {
    const auto& a = t.value<double>();
    return {a.begin(), a.end()};
}

// PATH without Graphviz while it lives.
struct NoGraphviz {
    std::string saved = std::getenv("PATH") ? std::getenv("PATH") : "";
    TempDir empty{"no-dot"};
    NoGraphviz() { ::setenv("PATH", empty.path.c_str(), 1); }
    ~NoGraphviz() { ::setenv("PATH", saved.c_str(), 1); }
};

bool overlap(const json& a, const json& b) {
    return std::abs(a[0].get<double>() - b[0].get<double>()) * 2 <
               a[2].get<double>() + b[2].get<double>() &&
           std::abs(a[1].get<double>() - b[1].get<double>()) * 2 <
               a[3].get<double>() + b[3].get<double>();
}

}  // namespace

TEST_CASE("a page for your own tape carries every tensor, step and gradient the stepper recorded") {
    const tg::Stepper st = small_mlp_stepper();
    const json d = page_data(tg::cli::html_page(st, {.title = "my MLP", .formula = "loss = ..."}));
    CHECK(d["title"] == "my MLP");
    CHECK(d["formula"] == "loss = ...");
    REQUIRE(d["tensors"].size() == st.tensors().size());
    for (const auto& t : st.tensors()) {
        const json& j = d["tensors"][static_cast<std::size_t>(t.slot)];
        CHECK(j["name"] == t.name);
        CHECK(numbers(j["value"]) == numbers(t.value));
        CHECK(j["requires_grad"] == t.requires_grad);
    }
    REQUIRE(d["steps"].size() == st.steps().size());
    bool accumulated = false;  // W1's second contribution lands on the first
    for (std::size_t k = 0; k < st.steps().size(); ++k) {
        const auto& s = st.steps()[k];
        const json& j = d["steps"][k];
        CHECK(j["out"] == s.out);
        CHECK(numbers(j["grad"]) == numbers(s.grad));
        REQUIRE(j["inputs"].size() == s.inputs.size());
        for (std::size_t i = 0; i < s.inputs.size(); ++i) {
            const auto& c = s.inputs[i];
            const json& ji = j["inputs"][i];
            CHECK(ji["slot"] == c.slot);
            CHECK(ji["before"].is_null() == !c.before.defined());
            if (c.after.defined()) CHECK(numbers(ji["after"]) == numbers(c.after));
            if (c.before.defined() && st.tensor(c.slot).name == "W1") accumulated = true;
        }
    }
    CHECK(accumulated);
    CHECK(d["forward"].get<std::vector<std::int32_t>>() == st.forward_order());
    CHECK(d["gradcheck"].is_null());
}

TEST_CASE("the page needs no network: no address, no outside script, style or font") {
    tg::Stepper st;
    {
        tg::Tape tape;
        tape.set_observer(&st);
        // A name that would end the data's script element early if written as it is.
        auto w = tg::scalar(2.0, tg::f64).requires_grad_().name("</script><b>w");
        tape.backward(tg::square(w).name("f"));
    }
    const std::string page = tg::cli::html_page(st);
    CHECK(page.find("http://") == std::string::npos);
    CHECK(page.find("https://") == std::string::npos);
    CHECK(page.find("<script src") == std::string::npos);
    CHECK(page.find("<link") == std::string::npos);
    CHECK(page.find("@import") == std::string::npos);
    CHECK(page.find("url(http") == std::string::npos);
    // The two script elements (the data, the script) and no third end.
    std::size_t ends = 0;
    for (auto at = page.find("</script"); at != std::string::npos;
         at = page.find("</script", at + 1))
        ++ends;
    CHECK(ends == 2);
    CHECK(page_data(page)["tensors"][0]["name"] == "</script><b>w");
    CHECK(page_data(page)["title"] == "backward from f");
}

TEST_CASE("the graph is laid out by Graphviz or, without it, in rows of our own") {
    const tg::Stepper st = small_mlp_stepper();
    auto check_layout = [&](const json& layout) {
        const double w = layout["width"], h = layout["height"];
        const json& boxes = layout["boxes"];
        REQUIRE(boxes.size() == st.tensors().size());
        for (std::size_t i = 0; i < boxes.size(); ++i) {
            const json& b = boxes[i];
            CHECK(b[2].get<double>() > 0);
            CHECK(b[0].get<double>() - b[2].get<double>() / 2 >= 0);
            CHECK(b[0].get<double>() + b[2].get<double>() / 2 <= w);
            CHECK(b[1].get<double>() + b[3].get<double>() / 2 <= h);
            for (std::size_t j = 0; j < i; ++j) CHECK_FALSE(overlap(b, boxes[j]));
        }
        std::size_t edges = 0;
        for (const auto& t : st.tensors()) edges += t.inputs.size();
        REQUIRE(layout["edges"].size() == edges);
        for (const auto& e : layout["edges"]) {
            CHECK(e["points"].size() >= 4);
            CHECK((e["points"].size() - 1) % 3 == 0);  // a chain of cubic Béziers
            // Inputs above their results: the graph reads top to bottom.
            CHECK(boxes[e["from"].get<std::size_t>()][1].get<double>() <
                  boxes[e["to"].get<std::size_t>()][1].get<double>());
        }
    };
    REQUIRE_FALSE(tg::cli::find_graphviz_dot().empty());  // graphviz: scripts/install-deps.sh
    const json dot = page_data(tg::cli::html_page(st, {.layout = tg::cli::GraphLayout::graphviz}));
    CHECK(dot["layout"]["engine"] == "graphviz");
    check_layout(dot["layout"]);
    const json simple = page_data(tg::cli::html_page(st, {.layout = tg::cli::GraphLayout::simple}));
    CHECK(simple["layout"]["engine"] == "simple");
    check_layout(simple["layout"]);
    NoGraphviz no_dot;
    const json automatic = page_data(tg::cli::html_page(st));
    CHECK(automatic["layout"]["engine"] == "simple");
    CHECK(automatic["layout"] == simple["layout"]);
    const tg::cli::HtmlPageOptions needs_dot{.layout = tg::cli::GraphLayout::graphviz};
    CHECK_THROWS_TYPED(tg::cli::html_page(st, needs_dot), tg::IoError,
                       "run_dot: Graphviz's dot is not installed");
}

TEST_CASE("tensors beyond 8 x 8 are colour maps in their boxes, smaller ones tables") {
    const tg::Stepper st = wide_mlp_stepper();
    const json d = page_data(tg::cli::html_page(st, {.layout = tg::cli::GraphLayout::simple}));
    std::map<std::string, std::string> kinds;
    for (const auto& t : d["tensors"]) kinds[t["name"]] = t["view"]["kind"];
    CHECK(kinds["W1"] == "map");   // [12, 10]
    CHECK(kinds["b1"] == "map");   // [12]
    CHECK(kinds["x"] == "map");    // [2, 10]: 10 columns
    CHECK(kinds["y"] == "table");  // [2, 1]
    CHECK(kinds["loss"] == "scalar");
}

TEST_CASE("NaN and infinity reach the page as numbers the script reads, not as null") {
    tg::Stepper st;
    {
        tg::Tape tape;
        tape.set_observer(&st);
        auto x = tg::tensor({0.0, 1.0}, tg::f64).requires_grad_().name("x");
        auto y = tg::log(x).name("y");              // -inf, and a gradient of inf
        tape.backward(tg::sum(y * 0.0).name("s"));  // -inf · 0 = nan
    }
    const std::string page = tg::cli::html_page(st);
    CHECK(page.find("null]") == std::string::npos);
    const json d = page_data(page);
    CHECK(d["tensors"][1]["value"]["data"][0] == "-Infinity");
    CHECK(d["tensors"][2]["value"]["data"][0] == "NaN");
    const auto g = numbers(d["steps"].back()["inputs"][0]["after"]);
    CHECK(std::isnan(g[0]));
    CHECK(g[1] == 0);
}

TEST_CASE("write_html says what it wrote, and why it could not") {
    const tg::Stepper st = small_mlp_stepper();
    TempDir dir("html");
    const auto r =
        tg::cli::write_html(st, dir / "mlp.html", {.layout = tg::cli::GraphLayout::simple});
    CHECK(r.layout == "simple");
    CHECK(r.bytes == fs::file_size(dir / "mlp.html"));
    CHECK(read_file(dir / "mlp.html") ==
          tg::cli::html_page(st, {.layout = tg::cli::GraphLayout::simple}));
    CHECK_THAT(r.message, Contains("wrote " + (dir / "mlp.html").string()) &&
                              Contains("a simple layered layout"));
    const auto missing = dir / "no-such-folder" / "p.html";
    CHECK_THROWS_TYPED(tg::cli::write_html(st, missing), tg::IoError,
                       Contains(missing.string()) && Contains("No such file or directory"));
    CHECK_FALSE(fs::exists(dir / "no-such-folder"));
}

TEST_CASE("a page needs a recorded backward pass") {
    tg::Stepper st;
    CHECK_THROWS_TYPED(tg::cli::html_page(st), tg::TapeError,
                       Contains("no backward pass was recorded"));
}

// Run by ctest's html_stepper_user_mlp_write: the page and the transcript of the small MLP, for
// tests/html_stepper_check.py to compare in a browser.
TEST_CASE("the small MLP's page and transcript, for the browser check", "[.browser]") {
    const char* dir = std::getenv("TAPEGRAD_HTML_SAMPLE");
    REQUIRE(dir != nullptr);
    fs::create_directories(dir);
    const tg::Stepper st = small_mlp_stepper();
    tg::cli::write_html(st, fs::path(dir) / "user_mlp.html", {.title = "a 2-3-1 MLP of a test"});
    write_file(fs::path(dir) / "user_mlp.txt", st.transcript());
    const tg::Stepper wide = wide_mlp_stepper();
    tg::cli::write_html(wide, fs::path(dir) / "wide_mlp.html", {.title = "a 10-12-1 MLP"});
    write_file(fs::path(dir) / "wide_mlp.txt", wide.transcript());
}

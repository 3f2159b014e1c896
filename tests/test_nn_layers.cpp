// Layers: values, initialisation, and finite-difference gradient checks in float64 of every
// layer and of a whole two-hidden-layer MLP with a loss.
#include <cmath>
#include <tapegrad/nn/nn.hpp>

#include "check.hpp"

using namespace testing;
namespace nn = tg::nn;

TEST_CASE("Linear computes x·Wᵀ + b with PyTorch's weight layout") {
    nn::Linear lin(3, 2, {.dtype = tg::f64});
    lin.weight.copy_(tg::tensor({{1, 2, 3}, {0, -1, 1}}, tg::f64));
    lin.bias.copy_(tg::tensor({0.5, -0.5}, tg::f64));
    const auto y = lin(tg::tensor({{1, 1, 1}, {2, 0, 1}}, tg::f64)).value<double>();
    CHECK(xt::allclose(y, xt::xarray<double>{{6.5, -0.5}, {5.5, 0.5}}));
    CHECK_THROWS_WITH(lin(tg::zeros({2, 4}, tg::f64)),
                      Catch::Contains("input [2, 4] has 4 features but weight [2, 3]"));
}

TEST_CASE("Linear's default init is PyTorch's U(±1/sqrt(in)), seeded and repeatable") {
    nn::Linear a(100, 50, {.seed = 3}), b(100, 50, {.seed = 3}), c(100, 50, {.seed = 4});
    const auto wa = a.weight.to_array<double>();
    CHECK(xt::allclose(wa, b.weight.to_array<double>()));
    CHECK(!xt::allclose(wa, c.weight.to_array<double>()));
    const double bound = 0.1;  // 1/sqrt(100)
    CHECK(xt::amax(xt::abs(wa))() <= bound);
    CHECK(xt::amax(xt::abs(wa))() > 0.99 * bound);  // 5000 draws reach the edge
    CHECK(std::abs(xt::mean(wa)()) < 0.005);
    // Variance of U(-b, b) is b²/3.
    CHECK(std::abs(xt::variance(wa)() - bound * bound / 3) < 0.1 * bound * bound / 3);
    CHECK(xt::amax(xt::abs(a.bias.to_array<double>()))() <= bound);
    // Without a seed, the default generator: manual_seed repeats the weights.
    tg::manual_seed(11);
    nn::Linear d(4, 3);
    tg::manual_seed(11);
    nn::Linear e(4, 3);
    CHECK(xt::allclose(d.weight.to_array<double>(), e.weight.to_array<double>()));
}

TEST_CASE("Xavier and Kaiming initialisers have the documented spread") {
    const std::size_t in = 400, out = 300;
    auto stddev = [](const nn::Linear& l) {
        return std::sqrt(xt::variance(l.weight.to_array<double>())());
    };
    const double xavier = std::sqrt(2.0 / (in + out)), he = std::sqrt(2.0 / in);
    CHECK(std::abs(stddev(nn::Linear(in, out, {.init = nn::Init::xavier_uniform, .seed = 1})) /
                       xavier -
                   1) < 0.02);
    CHECK(std::abs(stddev(nn::Linear(in, out, {.init = nn::Init::xavier_normal, .seed = 2})) /
                       xavier -
                   1) < 0.02);
    CHECK(
        std::abs(stddev(nn::Linear(in, out, {.init = nn::Init::kaiming_uniform, .seed = 3})) / he -
                 1) < 0.02);
    CHECK(std::abs(stddev(nn::Linear(in, out, {.init = nn::Init::kaiming_normal, .seed = 4})) / he -
                   1) < 0.02);
    const nn::Linear z(in, out, {.init = nn::Init::xavier_uniform, .seed = 5});
    CHECK(xt::amax(xt::abs(z.bias.to_array<double>()))() == 0.0);
    CHECK(nn::init::calculate_gain("tanh") == Approx(5.0 / 3.0));
    CHECK_THROWS_WITH(nn::init::calculate_gain("swish"), Catch::Contains("unknown nonlinearity"));
}

TEST_CASE("gradcheck Linear with respect to input, weight and bias, first and second order") {
    const int order = GENERATE(1, 2);
    nn::Linear lin(4, 3, {.seed = 5, .dtype = tg::f64});
    const auto x = normal({5, 4}, 6);
    REQUIRE_GRADCHECK_ORDER(order, [&](const tg::Tensor& v) { return lin(v); }, {x});
    const auto r = nn::gradcheck(lin, [&] { return tg::sum(tg::square(lin(x))); });
    INFO(r.to_string());
    CHECK(r.passed);
    CHECK(r.checked == 15);
}

TEST_CASE("gradcheck the activation modules, first and second order") {
    const int order = GENERATE(1, 2);
    const auto x = away_from_zero({3, 4}, 7);
    std::vector<std::shared_ptr<nn::Module>> acts = {
        std::make_shared<nn::ReLU>(),       std::make_shared<nn::Tanh>(),
        std::make_shared<nn::Sigmoid>(),    std::make_shared<nn::GELU>(),
        std::make_shared<nn::Identity>(),   std::make_shared<nn::LeakyReLU>(0.1),
        std::make_shared<nn::Softplus>(2.0)};
    for (auto& a : acts) {
        INFO(a->repr());
        REQUIRE_GRADCHECK_ORDER(order, [&](const tg::Tensor& v) { return (*a)(v); }, {x});
    }
    const auto v = tg::tensor({-1.0, 2.0}, tg::f64);
    CHECK(xt::allclose(nn::LeakyReLU(0.1)(v).value<double>(), xt::xarray<double>{-0.1, 2.0}));
}

TEST_CASE("LayerNorm normalises the last axes, gradcheck with respect to input and parameters") {
    nn::LayerNorm ln(4, 1e-5, true, tg::f64);
    const auto x = tg::tensor({{1, 2, 3, 4}, {-1, 0, 0, 1}}, tg::f64);
    const auto y = ln(x).value<double>();
    // Row 1: mean 2.5, biased variance 1.25; row 2: mean 0, variance 0.5.
    const double s1 = std::sqrt(1.25 + 1e-5), s2 = std::sqrt(0.5 + 1e-5);
    CHECK(xt::allclose(y, xt::xarray<double>{{-1.5 / s1, -0.5 / s1, 0.5 / s1, 1.5 / s1},
                                             {-1 / s2, 0, 0, 1 / s2}}));
    ln.weight.copy_(normal({4}, 8));
    ln.bias.copy_(normal({4}, 9));
    const auto input = normal({3, 4}, 10);
    REQUIRE_GRADCHECK([&](const tg::Tensor& v) { return ln(v); }, {input});
    const auto r = nn::gradcheck(ln, [&] {
        return tg::sum(tg::square(ln(input)) * normal({3, 4}, 11));
    });
    INFO(r.to_string());
    CHECK(r.passed);
    nn::LayerNorm ln2(tg::Shape{2, 3}, 1e-5, true, tg::f64);
    REQUIRE_GRADCHECK(
        [&](const tg::Tensor& v) {
            return ln2(v) * normal({4, 2, 3}, 12);
        },
        {normal({4, 2, 3}, 13)});
    CHECK_THROWS_WITH(ln(tg::zeros({2, 3}, tg::f64)),
                      Catch::Contains("input [2, 3] does not end in the normalized shape [4]"));
}

TEST_CASE("Dropout: seeded masks, scaling by 1/(1-p), gradcheck with the mask fixed") {
    nn::Dropout d(0.25, 42);
    const auto x = tg::ones({1000}, tg::f64);
    const auto y = d(x).value<double>();
    std::size_t kept = 0;
    for (double v : y) {
        CHECK((v == 0.0 || std::abs(v - 1 / 0.75) < 1e-15));
        kept += v != 0.0;
    }
    CHECK(std::abs(static_cast<double>(kept) / 1000.0 - 0.75) < 0.05);
    nn::Dropout same(0.25, 42);
    CHECK(xt::allclose(same(x).value<double>(), y));
    // The gradient is the same mask: reseed before every evaluation so f is a function.
    REQUIRE_GRADCHECK(
        [&](const tg::Tensor& v) {
            d.generator().seed(5);
            return d(v);
        },
        {normal({4, 5}, 14)});
    d.eval();
    CHECK(xt::allclose(d(x).value<double>(), x.value<double>()));
    CHECK_THROWS_WITH(nn::Dropout(1.5), Catch::Contains("p must be in [0, 1]; got 1.5"));
}

TEST_CASE("gradcheck a whole two-hidden-layer MLP with a loss, by parameter name") {
    nn::Sequential model{nn::Linear(3, 5, {.seed = 1}), nn::Tanh(), nn::Linear(5, 4, {.seed = 2}),
                         nn::GELU(), nn::Linear(4, 2, {.seed = 3})};
    model.to(tg::f64);
    const auto x = normal({6, 3}, 20), y = normal({6, 2}, 21);
    const auto r = nn::gradcheck(model, [&] { return tg::mean(tg::square(model(x) - y)); });
    INFO(r.to_string());
    CHECK(r.passed);
    CHECK(r.checked == model.num_parameters());
    // A term the tape cannot see (through detach) makes analytic and numeric differ for one
    // parameter: the report names it.
    const auto bad = nn::gradcheck(model, [&] {
        const auto& w = model.get<nn::Linear>(2)->weight;
        return tg::mean(tg::square(model(x) - y)) + tg::sum(tg::square(w.detach()));
    });
    CHECK(!bad.passed);
    CHECK(bad.worst_input_name == "2.weight");
    CHECK_THAT(bad.to_string(), Catch::Contains("'2.weight'"));
}

TEST_CASE("gradgradcheck LayerNorm, Dropout and a small MLP with respect to its input") {
    nn::LayerNorm ln(4, 1e-5, true, tg::f64);
    ln.weight.copy_(normal({4}, 30));
    ln.bias.copy_(normal({4}, 31));
    REQUIRE_GRADCHECK_ORDER(2,
                            [&](const tg::Tensor& v) {
                                return ln(v) * normal({3, 4}, 32);
                            },
                            {normal({3, 4}, 33)});
    nn::Dropout d(0.25, 42);
    REQUIRE_GRADCHECK_ORDER(2,
                            [&](const tg::Tensor& v) {
                                d.generator().seed(5);
                                return tg::square(d(v));
                            },
                            {normal({4, 5}, 34)});
    nn::Sequential model{nn::Linear(3, 5, {.seed = 1}), nn::Tanh(), nn::Linear(5, 2, {.seed = 2})};
    model.to(tg::f64);
    REQUIRE_GRADCHECK_ORDER(2, [&](const tg::Tensor& v) { return tg::sum(tg::square(model(v))); },
                            {normal({4, 3}, 35)});
}

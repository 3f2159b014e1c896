// Module: registration, listing, modes, conversion, state dicts and their errors, printing.
#include <sstream>
#include <tapegrad/nn/nn.hpp>

#include "check.hpp"

namespace nn = tg::nn;

namespace {

struct TwoLayer : nn::Module {
    nn::Linear fc1{2, 3, {.seed = 1}}, fc2{3, 1, {.seed = 2}};
    nn::Dropout drop{0.5, 7};
    TwoLayer() {
        register_module("fc1", fc1);
        register_module("drop", drop);
        register_module("fc2", fc2);
    }
    tg::Tensor forward(const tg::Tensor& x) override { return fc2(drop(tg::tanh(fc1(x)))); }
    std::string type_name() const override { return "TwoLayer"; }
};

}  // namespace

TEST_CASE("parameters are listed once, in registration order, with dotted names") {
    TwoLayer m;
    const auto named = m.named_parameters();
    REQUIRE(named.size() == 4);
    CHECK(named[0].first == "fc1.weight");
    CHECK(named[1].first == "fc1.bias");
    CHECK(named[2].first == "fc2.weight");
    CHECK(named[3].first == "fc2.bias");
    CHECK(named[0].second.shape() == tg::Shape{3, 2});
    CHECK(m.num_parameters() == 3 * 2 + 3 + 3 + 1);
    // Handles: the listed tensor is the layer's own weight.
    CHECK(named[0].second.impl() == m.fc1.weight.impl());
    for (const auto& p : m.parameters()) CHECK(p.requires_grad());

    nn::Sequential shared{m.fc1, m.fc1};  // the same layer twice: one set of parameters
    CHECK(shared.parameters().size() == 2);
}

TEST_CASE("a copied module shares its parameters and finds its member sub-modules again") {
    TwoLayer a;
    TwoLayer b = a;
    CHECK(b.fc1.weight.impl() == a.fc1.weight.impl());
    const auto kids = b.children();
    REQUIRE(kids.size() == 3);
    CHECK(kids[0].second == &b.fc1);  // not &a.fc1
    CHECK(kids[2].second == &b.fc2);
    TwoLayer c = std::move(b);
    CHECK(c.children()[0].second == &c.fc1);
    CHECK(c.named_parameters()[2].second.impl() == a.fc2.weight.impl());
}

TEST_CASE("registering a name twice or a dotted name is an error") {
    struct Bad : nn::Module {
        tg::Tensor w = tg::zeros({2});
        void twice() {
            register_parameter("w", w);
            register_parameter("w", w);
        }
        void dotted() { register_parameter("a.b", w); }
    };
    Bad b;
    CHECK_THROWS_WITH(b.twice(), Catch::Contains("the name 'w' is already registered"));
    CHECK_THROWS_WITH(b.dotted(), Catch::Contains("'a.b' is not a valid name"));
}

TEST_CASE("train and eval reach every sub-module, dropout is the identity in eval mode") {
    TwoLayer m;
    CHECK(m.drop.is_training());
    m.eval();
    CHECK(!m.is_training());
    CHECK(!m.drop.is_training());
    const auto x = tg::randn({4, 2}, 3);
    const auto y1 = m(x).to_array<double>();
    const auto y2 = m(x).to_array<double>();
    CHECK(xt::allclose(y1, y2));
    m.train();
    CHECK(m.drop.is_training());
}

TEST_CASE("zero_grad drops every parameter's gradient") {
    TwoLayer m;
    {
        tg::Tape tape;
        tape.backward(tg::sum(m(tg::randn({4, 2}, 3))));
    }
    for (const auto& p : m.parameters()) CHECK(p.has_grad());
    m.zero_grad();
    for (const auto& p : m.parameters()) CHECK(!p.has_grad());
}

TEST_CASE("to(f64) converts in place: the same handles, values kept") {
    TwoLayer m;
    const auto before = m.fc1.weight.to_array<double>();
    const auto handle = m.fc1.weight.impl();
    m.to(tg::f64);
    CHECK(m.fc1.weight.dtype() == tg::f64);
    CHECK(m.fc1.weight.impl() == handle);
    CHECK(xt::allclose(m.fc1.weight.value<double>(), before));
    CHECK(m(tg::randn({2, 2}, 4, tg::f64)).dtype() == tg::f64);
    m.to(tg::f32);
    CHECK(m.fc2.bias.dtype() == tg::f32);
}

TEST_CASE("state_dict holds copies, load_state_dict restores values in place") {
    TwoLayer a, b;
    b.fc1.weight.fill_(0.0);
    const auto state = a.state_dict();
    REQUIRE(state.size() == 4);
    CHECK(state.count("fc2.bias") == 1);
    CHECK(state.at("fc1.weight").impl() != a.fc1.weight.impl());  // a copy, not an alias
    const auto handle = b.fc1.weight.impl();
    b.load_state_dict(state);
    CHECK(b.fc1.weight.impl() == handle);
    CHECK(xt::allclose(b.fc1.weight.value<float>(), a.fc1.weight.value<float>()));
}

TEST_CASE("load_state_dict names every missing, unexpected and mismatched entry, changes nothing") {
    TwoLayer m;
    const auto original = m.fc1.weight.to_array<double>();
    auto state = m.state_dict();
    state.erase("fc2.bias");
    state["fc3.weight"] = tg::zeros({1});
    state["fc1.weight"] = tg::zeros({2, 3});
    state["fc1.bias"] = tg::zeros({3}, tg::f64);
    try {
        m.load_state_dict(state);
        FAIL("no error");
    } catch (const tg::ValueError& e) {
        const std::string msg = e.what();
        CHECK_THAT(msg, Catch::Contains("missing: fc2.bias"));
        CHECK_THAT(msg, Catch::Contains("unexpected: fc3.weight"));
        CHECK_THAT(msg,
                   Catch::Contains("'fc1.weight': expected float32 [3, 2], got float32 [2, 3]"));
        CHECK_THAT(msg, Catch::Contains("'fc1.bias': expected float32 [3], got float64 [3]"));
        CHECK_THAT(msg, Catch::Contains("nothing was loaded"));
    }
    CHECK(xt::allclose(m.fc1.weight.to_array<double>(), original));
    // Not strict: missing and unexpected names are allowed, mismatched shapes never.
    state["fc1.weight"] = tg::ones({3, 2});
    state["fc1.bias"] = tg::ones({3});
    m.load_state_dict(state, false);
    CHECK(m.fc1.weight.to_array<double>()(0, 0) == 1.0);
}

TEST_CASE("a module prints like PyTorch, and its summary counts parameters") {
    nn::Sequential model{nn::Linear(2, 16), nn::Tanh(), nn::Linear(16, 1, {.bias = false}),
                         nn::LeakyReLU(0.2)};
    CHECK(model.repr() ==
          "Sequential(\n"
          "  (0): Linear(in_features=2, out_features=16, bias=True)\n"
          "  (1): Tanh()\n"
          "  (2): Linear(in_features=16, out_features=1, bias=False)\n"
          "  (3): LeakyReLU(negative_slope=0.2)\n"
          ")");
    const std::string s = model.summary();
    CHECK_THAT(s, Catch::Contains("0.weight"));
    CHECK_THAT(s, Catch::Contains("[16, 2]"));
    CHECK_THAT(s, Catch::Contains("Total parameters: 64"));  // 32 + 16 + 16
    std::ostringstream os;
    os << nn::LayerNorm(8);
    CHECK(os.str() == "LayerNorm((8,), eps=1e-05, elementwise_affine=True)");
}

namespace {
// A custom module that overrides neither type_name nor anything else but forward.
struct Scaled : nn::Module {
    tg::Tensor scale = tg::ones({2}, tg::f64);
    tg::Tensor bias = tg::zeros({2}, tg::f64);
    nn::Linear inner{2, 2, {.seed = 3, .dtype = tg::f64}};
    Scaled() {
        register_parameter("scale", scale);
        register_buffer("bias", bias);
        register_module("inner", inner);
    }
    tg::Tensor forward(const tg::Tensor& x) override { return inner(x) * scale + bias; }
};
}  // namespace

TEST_CASE("a custom module prints its class name without overriding type_name") {
    Scaled m;
    CHECK(m.type_name() == "Scaled");
    CHECK(m.repr() == "Scaled(\n  (inner): Linear(in_features=2, out_features=2, bias=True)\n)");
    CHECK_THROWS_WITH(nn::Module()(tg::zeros({1})), Catch::Contains("Module: forward"));
}

TEST_CASE("reassigning a registered tensor member is reported, not silently disconnected") {
    Scaled m;
    m.scale = tg::full({2}, 3.0, tg::f64);  // the module still holds the old tensor
    CHECK_THROWS_WITH(m.parameters(), Catch::Contains("Scaled: the parameter 'scale' was "
                                                      "reassigned after it was registered") &&
                                          Catch::Contains("scale.copy_(value)"));
    CHECK_THROWS_WITH(m.state_dict(), Catch::Contains("'scale' was reassigned"));
    Scaled b;
    b.bias = tg::ones({2}, tg::f64);
    CHECK_THROWS_WITH(b.named_buffers(), Catch::Contains("the buffer 'bias' was reassigned"));
    // In place is the way: the registered tensor changes, the module stays whole.
    Scaled c;
    c.scale.copy_(tg::full({2}, 3.0, tg::f64));
    CHECK(c.state_dict().at("scale").value<double>()(0) == 3.0);
    // Copies and moves find their own members again (no false alarm).
    Scaled d = c;
    CHECK(d.parameters()[0].impl() == d.scale.impl());
    Scaled e = std::move(d);
    CHECK(e.parameters()[0].impl() == e.scale.impl());
    e = c;
    CHECK(e.named_buffers()[0].second.impl() == e.bias.impl());
}

namespace {
// Parameters held by a vector: not data members, so registered without the reassignment check.
struct Stack : nn::Module {
    std::vector<tg::Tensor> weights;
    Stack() {
        for (int i = 0; i < 3; ++i) weights.push_back(tg::ones({2}, tg::f64));
        for (std::size_t i = 0; i < weights.size(); ++i)
            register_parameter(std::string("w").append(std::to_string(i)), weights[i]);
    }
};
}  // namespace

TEST_CASE("tensors registered from a vector survive copies of the module") {
    Stack a;
    Stack b = a;  // the vector's elements are elsewhere: nothing to find again at an offset
    a.weights.clear();
    CHECK(b.parameters().size() == 3);
    CHECK(b.state_dict().size() == 3);
    Stack c = std::move(b);
    CHECK(c.parameters().size() == 3);
}

TEST_CASE("a module without forward says so") {
    nn::Module m;
    CHECK_THROWS_WITH(m(tg::zeros({1})), Catch::Contains("Module: forward(x) is not defined"));
}

namespace {
// The README's custom module, as printed there.
struct ReadmeTwoLayer : nn::Module {
    nn::Linear fc1{2, 16}, fc2{16, 1};
    tg::Tensor scale = tg::ones({1});
    ReadmeTwoLayer() {
        register_module("fc1", fc1);
        register_module("fc2", fc2);
        register_parameter("scale", scale);
    }
    tg::Tensor forward(const tg::Tensor& x) override { return fc2(tg::tanh(fc1(x))) * scale; }
};
}  // namespace

TEST_CASE("the README's custom module lists its names and trains") {
    ReadmeTwoLayer m;
    const auto state = m.state_dict();
    CHECK(state.count("fc1.weight") == 1);
    CHECK(state.count("scale") == 1);
    CHECK(m.parameters().size() == 5);
    tg::Tape tape;
    tape.backward(tg::sum(m(tg::ones({3, 2}))));
    CHECK(m.scale.has_grad());
    CHECK(m.fc1.weight.has_grad());
}

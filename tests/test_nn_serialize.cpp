// Saving and loading a model's weights (.npz): a round trip gives identical outputs, and a file
// that does not fit the model says precisely what does not, without changing the model.
#include <filesystem>
#include <fstream>
#include <tapegrad/formats/npz.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/checkpoint.hpp>
#include <tapegrad/optim/sgd.hpp>

#include "check.hpp"
#include "files.hpp"

namespace nn = tg::nn;
namespace formats = tg::formats;
namespace fs = std::filesystem;
using testing::scratch;

namespace {

nn::Sequential make_model(std::uint64_t seed) {
    return nn::Sequential{nn::Linear(3, 8, {.seed = seed}), nn::ReLU(), nn::LayerNorm(8),
                          nn::Linear(8, 2, {.seed = seed + 1})};
}

// The message of the E that loading path into model throws; `otherwise` fails the test when
// the load succeeds.
template <class E>
std::string load_error(nn::Module& model, const fs::path& path, const char* otherwise) {
    try {
        nn::load(model, path);
    } catch (const E& e) {
        return e.what();
    }
    FAIL(otherwise);
    return {};
}

}  // namespace

TEST_CASE("save then load into a fresh model gives identical outputs") {
    auto a = make_model(1);
    auto b = make_model(100);
    const auto x = tg::randn({5, 3}, 9);
    const auto path = scratch("roundtrip.npz");
    nn::save(a, path);
    CHECK(!xt::allclose(a(x).value<float>(), b(x).value<float>()));
    nn::load(b, path);
    // Bit for bit: the same float32 values went through the file.
    CHECK(a(x).value<float>() == b(x).value<float>());
    const auto loaded = formats::load_npz(path);
    CHECK(loaded.size() == 6);  // two Linear (weight, bias) and LayerNorm (weight, bias)
    CHECK(loaded.count("2.weight") == 1);
}

TEST_CASE("a float64 model round-trips in float64") {
    auto a = make_model(2);
    a.to(tg::f64);
    const auto path = scratch("roundtrip64.npz");
    nn::save(a, path);
    auto b = make_model(3);
    CHECK_THROWS_WITH(nn::load(b, path), Catch::Contains("expected float32 [8, 3], got float64"));
    b.to(tg::f64);
    nn::load(b, path);
    const auto x = tg::randn({4, 3}, 10, tg::f64);
    CHECK(a(x).value<double>() == b(x).value<double>());
}

TEST_CASE("loading names the missing entry, the wrong shape, and keeps the model as it was") {
    auto small = nn::Sequential{nn::Linear(3, 8, {.seed = 1})};
    const auto path = scratch("small.npz");
    nn::save(small, path);
    auto model = make_model(4);
    const auto before = model.state_dict();
    const std::string msg = load_error<tg::ValueError>(
        model, path, "loading a file that lacks most names did not fail");
    CHECK_THAT(msg, Catch::Contains(path.string()));
    CHECK_THAT(msg, Catch::Contains("missing: 2.weight, 2.bias, 3.weight, 3.bias"));
    for (const auto& [name, t] : model.state_dict())
        CHECK(t.value<float>() == before.at(name).value<float>());

    auto wide = nn::Sequential{nn::Linear(3, 9, {.seed = 1})};
    nn::save(wide, path);
    CHECK_THROWS_WITH(nn::load(small, path),
                      Catch::Contains("'0.weight': expected float32 [8, 3], got float32 [9, 3]"));
}

TEST_CASE("a truncated file fails with an error naming the file, and loads nothing") {
    auto model = make_model(5);
    const auto path = scratch("truncated.npz");
    nn::save(model, path);
    const auto size = fs::file_size(path);
    fs::resize_file(path, size / 2);
    auto other = make_model(6);
    const auto before = other.state_dict();
    CHECK_THAT(load_error<tg::IoError>(other, path, "a truncated file loaded"),
               Catch::Contains(path.string()));
    for (const auto& [name, t] : other.state_dict())
        CHECK(t.value<float>() == before.at(name).value<float>());
    CHECK_THROWS_AS(nn::load(other, scratch("does-not-exist.npz")), tg::IoError);
}

TEST_CASE("saving over a file replaces it whole") {
    const auto path = scratch("replace.npz");
    {
        std::ofstream f(path);
        f << "an older, unrelated file";
    }
    auto model = make_model(7);
    nn::save(model, path);
    auto other = make_model(8);
    nn::load(other, path);
    CHECK(other.state_dict().at("0.bias").value<float>() ==
          model.state_dict().at("0.bias").value<float>());
    for (const auto& entry : fs::directory_iterator(path.parent_path()))
        CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);
}

// ---- PyTorch and NumPy files ------------------------------------------------------------

namespace {

const fs::path kData = TAPEGRAD_TEST_DATA;

// The torch.nn.Sequential of tests/data/torch_state_dict.py: the same names ("0.weight",
// "2.bias"), so its state_dict loads as it is.
nn::Sequential torch_mlp(tg::Dtype dtype) {
    return nn::Sequential{nn::Linear(4, 8, {.dtype = dtype}), nn::Tanh(),
                          nn::Linear(8, 3, {.dtype = dtype})};
}

template <class T>
void check_outputs(nn::Sequential& model, const std::string& reference, double tolerance) {
    const tg::StateDict ref = formats::load_npz(kData / "torch_mlp_reference.npz");
    const tg::Tensor x = ref.at("x").to(model.parameters()[0].dtype());
    const tg::Tensor want = ref.at(reference);
    const tg::Tensor got = model(x);
    REQUIRE(got.shape() == want.shape());
    const auto &g = got.value<T>(), &w = want.value<T>();
    for (std::size_t i = 0; i < g.size(); ++i) {
        INFO(reference << " element " << i << ": " << g.flat(i) << " vs torch " << w.flat(i));
        CHECK(std::abs(static_cast<double>(g.flat(i)) - static_cast<double>(w.flat(i))) <=
              tolerance);
    }
}

}  // namespace

TEST_CASE("a torch.nn.Module's state_dict saved with numpy gives torch's outputs") {
    auto f32 = torch_mlp(tg::f32);
    nn::load(f32, kData / "torch_mlp_f32.npz");
    check_outputs<float>(f32, "out_f32", 1e-6);
    auto f64 = torch_mlp(tg::f64);
    nn::load(f64, kData / "torch_mlp_f64.npz");
    check_outputs<double>(f64, "out_f64", 1e-12);
}

TEST_CASE("float64 weights load into a float32 model when asked, and the error says how") {
    auto model = torch_mlp(tg::f32);
    const auto path = kData / "torch_mlp_f64.npz";
    CHECK_THROWS_WITH(nn::load(model, path),
                      Catch::Contains("'0.weight': expected float32 [8, 4], got float64 [8, 4]") &&
                          Catch::Contains("{.convert_dtype = true}"));
    nn::load(model, path, {.convert_dtype = true});
    CHECK(model.parameters()[0].dtype() == tg::f32);
    check_outputs<float>(model, "out_f32", 1e-6);
    // And float32 weights into a float64 model.
    auto wide = torch_mlp(tg::f64);
    nn::load(wide, kData / "torch_mlp_f32.npz", {.convert_dtype = true});
    CHECK(wide.parameters()[2].dtype() == tg::f64);
    check_outputs<double>(wide, "out_f64", 1e-6);
    // A shape mismatch is never converted away, and says nothing about dtypes.
    auto other = nn::Sequential{nn::Linear(4, 9), nn::Tanh(), nn::Linear(9, 3)};
    try {
        nn::load(other, path, {.convert_dtype = true});
        FAIL("a file of other shapes loaded");
    } catch (const tg::ValueError& e) {
        CHECK_THAT(e.what(), Catch::Contains("'0.weight': expected float32 [9, 4]"));
        CHECK_THAT(e.what(), !Catch::Contains("convert_dtype"));
    }
}

TEST_CASE("a non-strict load that matches no name is an error naming both sides") {
    auto model = make_model(11);
    const auto path = scratch("foreign.npz");
    formats::save_npz(path,
                      {{"encoder.weight", tg::zeros({2, 2})}, {"encoder.bias", tg::zeros({2})}});
    const auto before = model.state_dict();
    CHECK_THROWS_WITH(nn::load(model, path, {.strict = false}),
                      Catch::Contains(path.string()) &&
                          Catch::Contains("no name of the state matches this model (expected "
                                          "0.weight, 0.bias, 2.weight, 2.bias and 2 more; found "
                                          "encoder.bias, encoder.weight)"));
    for (const auto& [name, t] : model.state_dict())
        CHECK(t.value<float>() == before.at(name).value<float>());
    // A partial match still loads what matches.
    auto small = nn::Sequential{nn::Linear(3, 8, {.seed = 12})};
    nn::save(small, path);
    nn::load(model, path, {.strict = false});
    CHECK(model.state_dict().at("0.weight").value<float>() ==
          small.state_dict().at("0.weight").value<float>());
}

TEST_CASE("nn::load recognises a checkpoint file and points to load_checkpoint") {
    auto model = make_model(13);
    tg::optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
    const auto path = scratch("checkpoint.npz");
    tg::optim::save_checkpoint(path, model, opt);
    auto fresh = make_model(14);
    const std::string msg =
        load_error<tg::ValueError>(fresh, path, "a checkpoint loaded as a model file");
    CHECK_THAT(msg, Catch::Contains(path.string() + ": this is a checkpoint"));
    CHECK_THAT(msg, Catch::Contains("optim::load_checkpoint(path, model, optimizer)"));
    CHECK_THAT(msg, !Catch::Contains("unexpected"));
}

TEST_CASE("load leaves out entries with the reserved prefix, strict or not") {
    auto a = make_model(1);
    auto b = make_model(100);
    const auto path = scratch("with_description.npz");
    tg::StateDict state = a.state_dict();
    state[std::string(nn::kReservedPrefix) + "scaler.mean"] = tg::zeros({3}, tg::f64);
    formats::save_npz(path, state, {{std::string(nn::kReservedPrefix) + "model", "{}"}});
    nn::load(b, path, {.strict = true});
    CHECK(testing::same(a.state_dict(), b.state_dict()));

    // Any other name still is an unexpected key.
    state["scaler.mean"] = tg::zeros({3}, tg::f64);
    formats::save_npz(path, state);
    CHECK_THAT(load_error<tg::ValueError>(b, path, "an unexpected key was accepted"),
               Catch::Contains("unexpected: scaler.mean"));
}

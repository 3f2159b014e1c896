// Saving and loading a model's weights (.npz): a round trip gives identical outputs, and a file
// that does not fit the model says precisely what does not, without changing the model.
#include <filesystem>
#include <fstream>
#include <tapegrad/formats/npz.hpp>
#include <tapegrad/nn/nn.hpp>

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

TEST_CASE("load leaves out entries with the reserved prefix, strict or not") {
    auto a = make_model(1);
    auto b = make_model(100);
    const auto path = scratch("with_description.npz");
    tg::StateDict state = a.state_dict();
    state[std::string(nn::kReservedPrefix) + "scaler.mean"] = tg::zeros({3}, tg::f64);
    formats::save_npz(path, state, {{std::string(nn::kReservedPrefix) + "model", "{}"}});
    nn::load(b, path, /*strict=*/true);
    CHECK(testing::same(a.state_dict(), b.state_dict()));

    // Any other name still is an unexpected key.
    state["scaler.mean"] = tg::zeros({3}, tg::f64);
    formats::save_npz(path, state);
    CHECK_THAT(load_error<tg::ValueError>(b, path, "an unexpected key was accepted"),
               Catch::Contains("unexpected: scaler.mean"));
}

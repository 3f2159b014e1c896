// A model and its optimizer saved together resume training exactly, and a file that does not
// fit is refused without changing either.
#include <filesystem>
#include <tapegrad/formats/npz.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>

#include "check.hpp"
#include "files.hpp"

namespace nn = tg::nn;
namespace formats = tg::formats;
namespace fs = std::filesystem;
using testing::scratch;

namespace {

nn::Sequential make_model() {
    return nn::Sequential{nn::Linear(3, 6, {.seed = 1, .dtype = tg::f64}), nn::Tanh(),
                          nn::Linear(6, 1, {.seed = 2, .dtype = tg::f64})};
}

void train(nn::Module& model, tg::optim::Optimizer& opt, int steps) {
    const auto x = tg::randn({16, 3}, 5, tg::f64), y = tg::randn({16, 1}, 6, tg::f64);
    for (int s = 0; s < steps; ++s) {
        tg::Tape tape;
        auto loss = nn::mse_loss(model(x), y);
        opt.zero_grad();
        tape.backward(loss);
        opt.step();
    }
}

}  // namespace

TEST_CASE("save_checkpoint then load_checkpoint into fresh objects resumes Adam exactly") {
    auto straight = make_model();
    tg::optim::Adam opt_straight(straight.parameters(), {.lr = 0.01, .amsgrad = true});
    train(straight, opt_straight, 10);

    auto first = make_model();
    tg::optim::Adam opt_first(first.parameters(), {.lr = 0.01, .amsgrad = true});
    train(first, opt_first, 5);
    const auto path = scratch("adam.npz");
    tg::optim::save_checkpoint(path, first, opt_first);

    auto resumed = make_model();
    tg::optim::Adam opt_resumed(resumed.parameters(), {.lr = 0.5, .amsgrad = true});
    tg::optim::load_checkpoint(path, resumed, opt_resumed);
    CHECK(opt_resumed.lr() == 0.01);
    train(resumed, opt_resumed, 5);
    for (const auto& [name, t] : straight.state_dict())
        CHECK(t.value<double>() == resumed.state_dict().at(name).value<double>());
}

TEST_CASE("a checkpoint of another model or optimizer is refused and changes nothing") {
    auto model = make_model();
    tg::optim::SGD sgd(model.parameters(), {.lr = 0.1, .momentum = 0.9});
    train(model, sgd, 2);
    const auto path = scratch("sgd.npz");
    tg::optim::save_checkpoint(path, model, sgd);

    auto other = nn::Sequential{nn::Linear(3, 7, {.dtype = tg::f64}), nn::Tanh(),
                                nn::Linear(7, 1, {.dtype = tg::f64})};
    tg::optim::SGD other_sgd(other.parameters(), {.lr = 0.1, .momentum = 0.9});
    const auto before = other.state_dict();
    CHECK_THROWS_WITH(tg::optim::load_checkpoint(path, other, other_sgd),
                      Catch::Contains(path.string()) && Catch::Contains("0.weight"));
    for (const auto& [name, t] : other.state_dict())
        CHECK(t.value<double>() == before.at(name).value<double>());

    // Same model, different optimizer: the optimizer part does not fit; the model is put back.
    auto same = make_model();
    tg::optim::Adam adam(same.parameters());
    const auto same_before = same.state_dict();
    CHECK_THROWS_AS(tg::optim::load_checkpoint(path, same, adam), tg::ValueError);
    for (const auto& [name, t] : same.state_dict())
        CHECK(t.value<double>() == same_before.at(name).value<double>());

    // A plain weights file is not a checkpoint.
    nn::save(model, scratch("weights.npz"));
    CHECK_THROWS_WITH(tg::optim::load_checkpoint(scratch("weights.npz"), model, sgd),
                      Catch::Contains("not a tapegrad checkpoint"));
}

TEST_CASE("a checkpoint from a newer format version is refused with both versions named") {
    auto model = make_model();
    tg::optim::SGD sgd(model.parameters(), {.lr = 0.1});
    const auto path = scratch("future.npz");
    tg::optim::save_checkpoint(path, model, sgd);
    auto all = formats::load_npz(path);
    all["format_version"] = tg::scalar(tg::optim::kCheckpointFormatVersion + 1, tg::f64);
    formats::save_npz(path, all);
    CHECK_THROWS_WITH(tg::optim::load_checkpoint(path, model, sgd),
                      Catch::Contains("format version 2 is newer than this tapegrad reads (1)"));
}

// Bad input, named: every kind of mistake the issue lists gets an exception whose message says
// what was wrong, and leaves what the caller already held as it was (tape, values, gradients,
// weights, optimizer state). Messages that other files check in detail are checked here only
// as far as needed to tell the case; the point of this file is the "nothing changed" half.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include <vector>

#include "check.hpp"
#include "files.hpp"
#include "training.hpp"

using Catch::Contains;
using namespace testing;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

nn::Sequential small_mlp() {
    return nn::Sequential(nn::Linear(3, 4, {.seed = 1, .dtype = tg::f64}), nn::Tanh(),
                          nn::Linear(4, 2, {.seed = 2, .dtype = tg::f64}));
}

// A model and an Adam with state (moments, step count), as a run in progress holds them.
struct Trained {
    nn::Sequential model = small_mlp();
    optim::Adam opt{model.parameters(), {.lr = 0.01}};
    Trained() {
        for (int i = 0; i < 2; ++i) {
            tg::Tape tape;
            const tg::Tensor loss = tg::sum(model(tg::randn({5, 3}, 7, tg::f64)));
            opt.zero_grad();
            tape.backward(loss);
            opt.step();
        }
    }
};

}  // namespace

// ---- ops -----------------------------------------------------------------------------------

TEST_CASE("ops: a bad op is named and leaves the tape, values and gradients as they were") {
    struct Case {
        const char* what;
        std::function<void(const tg::Tensor&)> bad;  // given y = w * 2 on the live tape
        std::vector<const char*> message;
    };
    const std::vector<Case> cases{
        {"shape mismatch",
         [](const tg::Tensor& y) { (void)(y + tg::ones({4}, tg::f64)); },
         {"add", "[2, 3]", "[4]"}},
        {"matmul inner dimension",
         [](const tg::Tensor& y) {
             (void)tg::matmul(y, tg::ones({2, 2}, tg::f64));
         },
         {"matmul", "[2, 3]", "[2, 2]", "inner"}},
        {"reduction over a missing axis",
         [](const tg::Tensor& y) { (void)tg::sum(y, {2}); },
         {"axis 2", "rank 2"}},
        {"float32 with float64",
         [](const tg::Tensor& y) {
             (void)(y * tg::ones({2, 3}, tg::f32));
         },
         {"float32", "float64", ".to("}},
    };
    for (const auto& c : cases) {
        SECTION(c.what) {
            auto w = tg::tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, tg::f64).requires_grad_();
            {  // a gradient already accumulated, which the error must not touch
                tg::Tape earlier;
                earlier.backward(tg::sum(w));
            }
            tg::Tape tape;
            const auto y = w * 2.0;
            const auto nodes = tape.nodes().size();
            const auto version = w.version();
            const std::string message = error_of([&] { c.bad(y); });
            for (const char* part : c.message) CHECK_THAT(message, Contains(part));
            CHECK(tape.nodes().size() == nodes);
            CHECK(w.version() == version);
            CHECK(w.value<double>() == xt::xarray<double>{{1, 2, 3}, {4, 5, 6}});
            CHECK(w.grad().value<double>() == xt::ones<double>({2, 3}));
            tape.backward(tg::sum(y));  // the tape still works and adds to the gradient
            CHECK(w.grad().value<double>() == xt::ones<double>({2, 3}) * 3.0);
        }
    }
}

TEST_CASE("ops: a tensor from an ended tape is named, its value and the new tape are intact") {
    auto x = tg::scalar(2.0, tg::f64).requires_grad_();
    tg::Tensor h;
    {
        tg::Tape tape;
        h = (x * 3.0).name("h");
    }
    tg::Tape tape;
    const auto y = x * x;
    const auto nodes = tape.nodes().size();
    CHECK_THROWS_AS(h * x, tg::TapeError);
    CHECK_THAT(error_of([&] { (void)(h * x); }), Contains("'h'") && Contains("ended"));
    CHECK(h.item() == 6.0);
    CHECK(tape.nodes().size() == nodes);
    tape.backward(y);
    CHECK(x.grad().item() == 4.0);
}

TEST_CASE("ops: backward of a non-scalar without a seed says so and accumulates nothing") {
    auto x = tg::tensor({1.0, 2.0}, tg::f64).requires_grad_();
    tg::Tape tape;
    const auto y = x * 3.0;
    CHECK_THAT(error_of([&] { tape.backward(y); }),
               Contains("shape [2]") && Contains("seed") && Contains("sum"));
    CHECK_FALSE(x.has_grad());
    tape.backward(y, tg::ones({2}, tg::f64));  // the tape was not used up by the error
    CHECK(x.grad().value<double>() == xt::xarray<double>{3, 3});
}

TEST_CASE("ops: a second backward says how to allow it and keeps the first gradients") {
    auto x = tg::scalar(2.0, tg::f64).requires_grad_();
    tg::Tape tape;
    const auto y = x * x;
    tape.backward(y);
    CHECK_THROWS_AS(tape.backward(y), tg::TapeError);
    CHECK_THAT(error_of([&] { tape.backward(y); }), Contains("persistent"));
    CHECK(x.grad().item() == 4.0);
}

// ---- models --------------------------------------------------------------------------------

TEST_CASE("models: a loss with a wrong target shape or class is named, weights unchanged") {
    auto model = small_mlp();
    const auto before = model.state_dict();
    const auto x = tg::randn({3, 3}, 1, tg::f64);
    tg::Tape tape;
    const auto out = model(x);  // [3, 2]
    CHECK_THAT(error_of([&] { (void)nn::mse_loss(out, tg::zeros({3}, tg::f64)); }),
               Contains("mse_loss") && Contains("[3, 2]") && Contains("[3]"));
    CHECK_THAT(error_of([&] {
                   (void)nn::cross_entropy(out, {0, 1});
               }),
               Contains("cross_entropy") && Contains("3 rows") && Contains("2 class indices"));
    CHECK_THAT(error_of([&] {
                   (void)nn::cross_entropy(out, {0, 2, 1});
               }),
               Contains("row 1") && Contains("class 2") && Contains("[0, 2)"));
    CHECK_THAT(error_of([&] {
                   (void)nn::cross_entropy(out, tg::tensor({0.0, 1.0, -1.0}));
               }),
               Contains("row 2") && Contains("class -1"));
    for (const auto& p : model.parameters()) CHECK_FALSE(p.has_grad());
    CHECK(same(before, model.state_dict()));
    tape.backward(nn::cross_entropy(out, {0, 1, 1}));  // the tape still works
    for (const auto& p : model.parameters()) CHECK(p.has_grad());
}

TEST_CASE("models: Linear fed the wrong number of features names the layer and the shapes") {
    nn::Linear layer(3, 2, {.seed = 0, .dtype = tg::f64});
    const auto before = layer.state_dict();
    const std::string message = error_of([&] { (void)layer(tg::ones({4, 5}, tg::f64)); });
    CHECK_THAT(message, Catch::StartsWith("Linear(in_features=3, out_features=2, bias=True): ") &&
                            Contains("[4, 5]") && Contains("5 features"));
    CHECK_THROWS_AS(layer(tg::ones({4, 5}, tg::f64)), tg::ShapeError);
    CHECK_THAT(error_of([&] {
                   (void)layer(tg::ones({4, 3}, tg::f32));
               }),
               Catch::StartsWith("Linear(in_features=3") && Contains("float32"));
    CHECK(same(before, layer.state_dict()));
}

TEST_CASE("models: inside a Sequential the error also names the layer's index") {
    nn::Sequential model(nn::Linear(3, 4, {.seed = 1, .dtype = tg::f64}), nn::Tanh(),
                         nn::Linear(5, 2, {.seed = 2, .dtype = tg::f64}));
    const auto before = model.state_dict();
    const std::string message = error_of([&] { (void)model(tg::ones({2, 3}, tg::f64)); });
    CHECK_THAT(message, Catch::StartsWith("Sequential layer 2 (Linear): Linear(in_features=5, "
                                          "out_features=2, bias=True): ") &&
                            Contains("[2, 4]") && Contains("4 features"));
    CHECK_THROWS_AS(model(tg::ones({2, 3}, tg::f64)), tg::ShapeError);
    CHECK_THAT(error_of([&] {
                   (void)model(tg::ones({2, 7}, tg::f64));
               }),
               Catch::StartsWith("Sequential layer 0 (Linear): Linear(in_features=3"));
    CHECK(same(before, model.state_dict()));
}

// ---- files ---------------------------------------------------------------------------------

TEST_CASE("files: CSV errors name the file and place, what the caller held is unchanged") {
    TempDir dir("bad-input");
    data::CsvDataset held = data::read_csv(TAPEGRAD_TEST_DATA "/csv/mixed.csv", "target");
    const auto held_x = held.data.x.value<float>();
    struct Case {
        const char* file;
        const char* text;
        std::vector<const char*> message;
    };
    const std::vector<Case> cases{
        {"empty.csv", "", {"empty file"}},
        {"truncated.csv", "a,b,target\n1,2,0\n3,\"4", {":3:", "unterminated"}},
        {"non_numeric.csv", "a,b,target\n1,x1,0\n", {":2:3:", "not a number", "\"x1\""}},
        {"ragged.csv", "a,b,target\n1,2,0\n3,4\n", {":3:", "expected 3 cells", "found 2"}},
        {"no_target.csv", "a,b,label\n1,2,0\n", {"no column named \"target\"", "\"label\""}},
    };
    for (const auto& c : cases) {
        INFO(c.file);
        write_file(dir / c.file, c.text);
        std::string message;
        try {
            held = data::read_csv(dir / c.file, "target");
        } catch (const tg::IoError& e) {
            message = e.what();
        }
        CHECK_THAT(message, Contains((dir / c.file).string()));
        for (const char* part : c.message) CHECK_THAT(message, Contains(part));
        CHECK(held.data.x.value<float>() == held_x);  // the assignment never happened
    }
}

TEST_CASE("files: IDX errors name the file and the fault, before allocating anything") {
    TempDir dir("bad-input");
    const std::string header{'\0', '\0', '\x08', '\x02'};
    struct Case {
        const char* file;
        std::string bytes;
        std::vector<const char*> message;
    };
    const std::vector<Case> cases{
        {"empty.idx", "", {"truncated header", "found 0 bytes"}},
        {"magic.idx", std::string("\x01\x02\x08\x01\0\0\0\x01x", 9), {"bad magic number"}},
        {"truncated.idx",
         header + std::string("\0\0\0\x02\0\0\0\x03", 8) + "abc",
         {"truncated data", "[2, 3]", "needs 6 bytes", "found 3"}},
        {"wrong_shape.idx",
         header + std::string("\0\0\0\x02\0\0\0\x02", 8) + "abcdef",
         {"trailing bytes", "[2, 2]", "needs 4 bytes", "found 6"}},
        // 2^32-1 by 2^32-1 bytes in a 12-byte file: checked against the file, never allocated.
        {"huge.idx",
         header + std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8),
         {"truncated data", "[4294967295, 4294967295]", "found 0"}},
        // Three such extents overflow 64 bits: named as too large, not wrapped around.
        {"overflow.idx", std::string("\0\0\x08\x03", 4) + std::string(12, '\xff'), {"too large"}},
    };
    for (const auto& c : cases) {
        INFO(c.file);
        write_file(dir / c.file, c.bytes);
        const std::string message = error_of([&] { (void)data::read_idx(dir / c.file); });
        CHECK_THAT(message, Contains((dir / c.file).string()));
        for (const char* part : c.message) CHECK_THAT(message, Contains(part));
        CHECK_THROWS_AS(data::read_idx(dir / c.file), tg::IoError);
    }
}

TEST_CASE("files: a gzip IDX claiming a 4 GiB size is refused without allocating 4 GiB") {
    // The last 4 bytes of a gzip member claim its inflated size; read_idx used it as the first
    // buffer size. Patched to 0xFFFFFFF0, the file is refused (zlib's length check) and the
    // peak memory of a child process that reads it stays far below the claim.
    TempDir dir("bad-input");
    std::string gz = read_file(TAPEGRAD_TEST_DATA "/idx/ubyte_2x3.idx.gz");
    REQUIRE(gz.size() > 18);
    gz.replace(gz.size() - 4, 4, std::string("\xf0\xff\xff\xff", 4));
    write_file(dir / "claims_4gib.idx.gz", gz);
    CHECK_THAT(error_of([&] { (void)data::read_idx(dir / "claims_4gib.idx.gz"); }),
               Contains("claims_4gib.idx.gz") && Contains("corrupt gzip data"));

    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        try {
            (void)data::read_idx(dir / "claims_4gib.idx.gz");
        } catch (const tg::IoError&) {
        }
        rusage usage{};
        ::getrusage(RUSAGE_SELF, &usage);
        ::_exit(usage.ru_maxrss < 1024 * 1024 ? 0 : 1);  // ru_maxrss is in KiB: under 1 GiB
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("files: a bad .npz leaves the model's weights unchanged and names the entry") {
    TempDir dir("bad-input");
    auto model = small_mlp();
    const auto before = model.state_dict();
    nn::save(model, dir / "good.npz");
    const std::string good = read_file(dir / "good.npz");

    write_file(dir / "empty.npz", "");
    write_file(dir / "truncated.npz", good.substr(0, good.size() / 2));
    write_file(dir / "magic.npz", "PK\x05\x07" + good.substr(4));
    nn::Sequential other(nn::Linear(3, 5, {.seed = 3, .dtype = tg::f64}), nn::Tanh(),
                         nn::Linear(5, 2, {.seed = 4, .dtype = tg::f64}));
    nn::save(other, dir / "wrong_shapes.npz");
    for (const char* file : {"empty.npz", "truncated.npz", "magic.npz", "wrong_shapes.npz"}) {
        INFO(file);
        const std::string message = error_of([&] { nn::load(model, dir / file); });
        CHECK_THAT(message, Contains(file));
        CHECK(same(before, model.state_dict()));
    }
    CHECK_THAT(error_of([&] { nn::load(model, dir / "wrong_shapes.npz"); }),
               Contains("0.weight") && Contains("[5, 3]") && Contains("[4, 3]"));
    CHECK_NOTHROW(nn::load(model, dir / "good.npz"));
}

TEST_CASE("files: a bad checkpoint leaves model and optimizer unchanged") {
    TempDir dir("bad-input");
    Trained run;
    const auto model_before = run.model.state_dict();
    const auto opt_before = run.opt.state_dict();
    optim::save_checkpoint(dir / "good.npz", run.model, run.opt);
    const std::string good = read_file(dir / "good.npz");
    write_file(dir / "empty.npz", "");
    write_file(dir / "truncated.npz", good.substr(0, good.size() - 30));
    write_file(dir / "magic.npz", "\x89PNG" + good.substr(4));
    {  // the same layers, but the optimizer's moments of another shape
        nn::Sequential other(nn::Linear(3, 5, {.seed = 3, .dtype = tg::f64}), nn::Tanh(),
                             nn::Linear(5, 2, {.seed = 4, .dtype = tg::f64}));
        optim::Adam other_opt(other.parameters(), {.lr = 0.01});
        optim::save_checkpoint(dir / "wrong_shapes.npz", other, other_opt);
    }
    for (const char* file : {"empty.npz", "truncated.npz", "magic.npz", "wrong_shapes.npz"}) {
        INFO(file);
        const std::string message =
            error_of([&] { (void)optim::resume(dir / file, run.model, run.opt); });
        CHECK_THAT(message, Contains(file));
        CHECK(same(model_before, run.model.state_dict()));
        CHECK(same(opt_before, run.opt.state_dict()));
    }
}

// ---- training ------------------------------------------------------------------------------

TEST_CASE("training: every optimizer refuses a NaN, negative or infinite learning rate") {
    auto w = tg::zeros({2}, tg::f64).requires_grad_();
    for (const double lr : {kNaN, -0.1, kInf}) {
        INFO("lr = " << lr);
        CHECK_THAT(error_of([&] { optim::SGD({w}, {.lr = lr}); }),
                   Contains("SGD") && Contains("lr"));
        CHECK_THAT(error_of([&] { optim::Adam({w}, {.lr = lr}); }),
                   Contains("Adam") && Contains("lr"));
        CHECK_THAT(error_of([&] { optim::AdamW({w}, {.lr = lr}); }),
                   Contains("AdamW") && Contains("lr"));
        CHECK_THAT(error_of([&] { optim::RMSprop({w}, {.lr = lr}); }),
                   Contains("RMSprop") && Contains("lr"));
        CHECK_THAT(error_of([&] { optim::Adagrad({w}, {.lr = lr}); }),
                   Contains("Adagrad") && Contains("lr"));
    }
    // The second-order methods take a step along their direction: lr 0 would never move.
    for (const double lr : {kNaN, -1.0, 0.0, kInf}) {
        INFO("lr = " << lr);
        CHECK_THAT(error_of([&] { optim::LBFGS({w}, {.lr = lr}); }),
                   Contains("LBFGS") && Contains("lr"));
        CHECK_THAT(error_of([&] { optim::Newton({w}, {.lr = lr}); }),
                   Contains("Newton") && Contains("lr"));
    }
    // Changing the rate later is checked the same way, and a refused change changes nothing.
    optim::SGD opt({w}, {.lr = 0.1});
    CHECK_THAT(error_of([&] { opt.set_lr(kNaN); }), Contains("SGD") && Contains("lr"));
    CHECK_THROWS_AS(opt.set_lr(-1.0), tg::ValueError);
    CHECK(opt.lr() == 0.1);
    // So is a saved state with such a rate (a damaged checkpoint), or with a damaged key.
    auto state = opt.state_dict();
    state["param_groups.0.lr"] = tg::scalar(kNaN, tg::f64);
    CHECK_THAT(error_of([&] { opt.load_state_dict(state); }),
               Contains("SGD.load_state_dict") && Contains("param_groups.0.lr"));
    state = opt.state_dict();
    state["state.0.x.momentum_buffer"] = tg::zeros({2}, tg::f64);
    CHECK_THAT(error_of([&] { opt.load_state_dict(state); }),
               Contains("malformed key 'state.0.x.momentum_buffer'"));
    CHECK(opt.lr() == 0.1);
}

TEST_CASE("training: batch size 0 is refused wherever a batch size is given") {
    const data::Dataset data{tg::zeros({4, 2}, tg::f64), tg::zeros({4}, tg::f64)};
    CHECK_THAT(error_of([&] { data::DataLoader(data, {.batch_size = 0}); }),
               Contains("DataLoader") && Contains("batch_size"));
    nn::Linear model(2, 1, {.seed = 0, .dtype = tg::f64});
    const optim::LossFn mse = [](const tg::Tensor& out, const tg::Tensor& y) {
        return nn::mse_loss(tg::reshape(out, {out.shape()[0]}), y);
    };
    CHECK_THAT(error_of([&] { (void)optim::evaluate(model, mse, data, {}, 0.0, 0); }),
               Contains("evaluate") && Contains("batch_size"));
    optim::SGD opt(model.parameters(), {.lr = 0.1});
    data::DataLoader loader(data, {.batch_size = 2});
    const auto before = model.state_dict();
    CHECK_THAT(error_of([&] {
                   (void)optim::fit(model, opt, mse, loader,
                                    {.epochs = 1, .validation = &data, .validation_batch_size = 0});
               }),
               Contains("validation_batch_size"));
    CHECK(same(before, model.state_dict()));
}

TEST_CASE("training: NaN in the data is reported with its row before any step") {
    tg::Tensor x = tg::randn({6, 3}, 5, tg::f64);
    x.mutable_value<double>()(4, 1) = kNaN;
    const data::Dataset train{x, tg::zeros({6}, tg::f64)};
    nn::Linear model(3, 1, {.seed = 0, .dtype = tg::f64});
    optim::Adam opt(model.parameters(), {.lr = 0.1});
    const auto model_before = model.state_dict();
    const auto opt_before = opt.state_dict();
    const optim::LossFn mse = [](const tg::Tensor& out, const tg::Tensor& y) {
        return nn::mse_loss(tg::reshape(out, {out.shape()[0]}), y);
    };
    data::DataLoader loader(train, {.batch_size = 2, .seed = 3});
    CHECK_THAT(error_of([&] { (void)optim::fit(model, opt, mse, loader, {.epochs = 2}); }),
               Contains("training data's x has nan at row 4, column 1"));
    CHECK(same(model_before, model.state_dict()));
    CHECK(same(opt_before, opt.state_dict()));

    // The targets, and the validation set, are checked the same way.
    tg::Tensor y = tg::zeros({6}, tg::f64);
    y.mutable_value<double>()(2) = -kInf;
    const data::Dataset clean{tg::randn({6, 3}, 6, tg::f64), tg::zeros({6}, tg::f64)};
    const data::Dataset bad_y{clean.x, y};
    data::DataLoader clean_loader(clean, {.batch_size = 2});
    CHECK_THAT(error_of([&] {
                   (void)optim::fit(model, opt, mse, clean_loader,
                                    {.epochs = 1, .validation = &bad_y});
               }),
               Contains("validation data's y has -inf at row 2, column 0"));
    CHECK(same(model_before, model.state_dict()));
}

TEST_CASE("training: a loss that becomes NaN stops fit and keeps the last good weights") {
    // loss = log(w) + 10 whatever the batch, with gradient 1/w: SGD with lr 0.5 goes
    // w = 1 -> 0.5 -> 0.5 - 0.5 / 0.5 = -0.5, where the loss log(-0.5) + 10 is NaN (step 3).
    data::DataLoader loader(testing::eight_zero_rows(), {.batch_size = 1, .shuffle = false});
    testing::OneWeight model(1.0);
    optim::SGD opt(model.parameters(), {.lr = 0.5});
    const optim::LossFn loss = [](const tg::Tensor& w, const tg::Tensor&) {
        return tg::log(w) + 10.0;
    };
    optim::DivergenceGuard guard;
    const auto r = optim::fit(model, opt, loss, loader, {.epochs = 3, .callbacks = {&guard}});
    CHECK(guard.diverged());
    CHECK(guard.diverged_step() == 3);
    CHECK(r.stop_reason ==
          "the loss became nan at epoch 1, step 3 (batch 3); weights restored to the last good "
          "step; try a smaller learning rate (now 0.5)");
    // Step 2's loss, log(0.5) + 10, was the last good one: measured on w = 0.5.
    CHECK(model.w.item() == 0.5);
}

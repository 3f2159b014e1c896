// Two threads training two different models at the same time get exactly what they get one
// after the other: each thread has its own tape, its own default random generator
// (tapegrad::default_generator is per thread) and its own tensor pool, and share nothing.
#include <cmath>
#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include <thread>
#include <vector>

#include "check.hpp"
#include "training.hpp"

using testing::same;

namespace {

struct Outcome {
    tg::StateDict weights;
    std::vector<double> losses;
};

// 15 epochs of fit: the weights they end with and the loss of every epoch.
Outcome fit_15_epochs(nn::Module& model, optim::Optimizer& opt, const optim::LossFn& loss,
                      data::DataLoader& loader) {
    const auto r = optim::fit(model, opt, loss, loader, {.epochs = 15});
    Outcome o{model.state_dict(), {}};
    for (const auto& logs : r.epochs) o.losses.push_back(logs.at("loss"));
    return o;
}

// A float32 classifier: initial weights from this thread's default generator (Linear
// without a seed; manual_seed), Dropout (its own generator), cross-entropy over 3 classes,
// Adam, a shuffling loader.
Outcome train_classifier() {
    tg::manual_seed(7);
    const tg::Tensor x = tg::randn({120, 4}, 3, tg::f32);
    tg::Tensor y = tg::zeros({120}, tg::f32);
    for (std::size_t i = 0; i < 120; ++i) {
        const float s = x.value<float>()(i, 0) + x.value<float>()(i, 1) - x.value<float>()(i, 2);
        y.mutable_value<float>()(i) = s < -0.5f ? 0.0f : s < 0.5f ? 1.0f : 2.0f;
    }
    nn::Sequential model(nn::Linear(4, 16), nn::ReLU(), nn::Dropout(0.2), nn::Linear(16, 3));
    optim::Adam opt(model.parameters(), {.lr = 0.01});
    data::DataLoader loader({x, y}, {.batch_size = 16, .seed = 1});
    const optim::LossFn loss = [](const tg::Tensor& out, const tg::Tensor& target) {
        return nn::cross_entropy(out, target);
    };
    return fit_15_epochs(model, opt, loss, loader);
}

// A float64 regression: seeded weights, SGD with Nesterov momentum, mean squared error.
Outcome train_regression() {
    tg::manual_seed(99);
    // y = sin(x0) + 0.5 x1 x2.
    const data::Dataset rows = testing::rows_with_rule(
        150, 3, 4,
        [](std::span<const double> x, double) { return std::sin(x[0]) + 0.5 * x[1] * x[2]; });
    nn::Sequential model(nn::Linear(3, 24, {.seed = 5, .dtype = tg::f64}), nn::Tanh(),
                         nn::Linear(24, 1, {.seed = 6, .dtype = tg::f64}));
    optim::SGD opt(model.parameters(), {.lr = 0.05, .momentum = 0.9, .nesterov = true});
    data::DataLoader loader(rows, {.batch_size = 10, .seed = 2});
    return fit_15_epochs(model, opt, testing::mse, loader);
}

}  // namespace

TEST_CASE("two models trained on two threads at once match the sequential runs bit for bit") {
    const Outcome a = train_classifier();
    const Outcome b = train_regression();
    REQUIRE(a.losses.back() < a.losses.front());  // both really train
    REQUIRE(b.losses.back() < b.losses.front());
    // The generator the main thread used is left alone by the other threads.
    tg::manual_seed(1234);
    const double next_on_main = tg::Generator(tg::default_generator()).uniform();

    for (int round = 0; round < 3; ++round) {
        INFO("round " << round);
        Outcome ta, tb;
        std::thread first([&] { ta = train_classifier(); });
        std::thread second([&] { tb = train_regression(); });
        first.join();
        second.join();
        REQUIRE(same(ta.weights, a.weights));
        REQUIRE(same(tb.weights, b.weights));
        REQUIRE(ta.losses == a.losses);
        REQUIRE(tb.losses == b.losses);
        REQUIRE(tg::Generator(tg::default_generator()).uniform() == next_on_main);
    }
}

TEST_CASE("the default generator is per thread: manual_seed on one thread affects only it") {
    tg::manual_seed(5);
    const double main_first = tg::default_generator().uniform();
    double other_first = 0;
    std::thread t([&] {
        other_first = tg::default_generator().uniform();  // a new thread's starts at seed 0
        tg::manual_seed(77);  // must not reach the main thread's generator
        (void)tg::default_generator().uniform();
    });
    t.join();
    tg::Generator expected(5), fresh(0);
    CHECK(main_first == expected.uniform());
    CHECK(tg::default_generator().uniform() == expected.uniform());
    CHECK(other_first == fresh.uniform());
}

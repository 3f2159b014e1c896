// Data-parallel training (tapegrad::distributed), run by ctest under mpirun with 1, 2 and 3
// processes: each rank trains its shard with distributed::fit, then checks the weights against
// those of optim::fit in one process on the whole batches, which it computes itself. The
// hidden cases ([.checkpoint], [.resume], [.fault]) are run by name from CMakeLists.txt.
#include <cstdlib>
#include <tapegrad/data/readers.hpp>
#include <tapegrad/data/scaler.hpp>
#include <tapegrad/distributed/data_parallel.hpp>
#include <tapegrad/distributed/environment.hpp>
#include <tapegrad/optim/optim.hpp>

#include "../files.hpp"
#include "../training.hpp"

namespace dist = tapegrad::distributed;

// MPI lives for the whole program (Catch's main is shared with the other test programs).
static dist::Environment mpi;

using testing::max_difference;

namespace {

// breast_cancer.csv (569 rows, 30 features) standardised, in the given dtype.
data::Dataset breast_cancer(tg::Dtype dtype) {
    auto csv = data::read_csv(testing::examples_data() / "breast_cancer.csv", "target");
    data::StandardScaler scaler;
    const tg::Tensor y = tg::reshape(csv.data.y, {csv.data.size(), 1});
    return {scaler.fit_transform(csv.data.x).to(dtype).detach(), y.to(dtype).detach()};
}

nn::Sequential mlp(tg::Dtype dtype) {
    return nn::Sequential{nn::Linear(30, 16, {.seed = 1, .dtype = dtype}), nn::ReLU(),
                          nn::Linear(16, 1, {.seed = 2, .dtype = dtype})};
}

// The largest difference between this rank's parameters and rank 0's (0 when they agree bit
// for bit, as they must: every rank takes the same steps).
double difference_from_root(nn::Module& model) {
    std::vector<tg::Tensor> root;
    for (const auto& p : model.parameters()) root.push_back(p.detach());
    dist::broadcast(root);
    double worst = 0;
    const auto params = model.parameters();
    for (std::size_t i = 0; i < params.size(); ++i) {
        const auto a = params[i].to_array<double>(), b = root[i].to_array<double>();
        for (std::size_t k = 0; k < a.size(); ++k)
            worst = std::max(worst, std::abs(a.data()[k] - b.data()[k]));
    }
    return dist::allreduce_sum(worst);
}

template <class Opt, class Options>
void check_same_as_one_process(tg::Dtype dtype, Options opt_options, double tolerance) {
    const data::Dataset train = breast_cancer(dtype);
    const data::DataLoaderOptions batches{.batch_size = 32, .shuffle = true, .seed = 7};
    const optim::FitOptions fit_options{.epochs = 2, .metrics = {"accuracy", "f1"}};

    nn::Sequential alone = mlp(dtype);
    Opt alone_opt(alone.parameters(), opt_options);
    data::DataLoader whole(train, batches);
    const auto expected = optim::fit(alone, alone_opt, testing::bce, whole, fit_options);

    nn::Sequential model = mlp(dtype);
    Opt opt(model.parameters(), opt_options);
    data::DataLoader shard(train, dist::shard(batches));
    const auto got = dist::fit(model, opt, testing::bce, shard, fit_options);

    INFO("rank " << dist::rank() << " of " << dist::world_size());
    CHECK(max_difference(model, alone) <= tolerance);
    CHECK(max_difference(model, alone) > -1);  // not NaN
    CHECK(difference_from_root(model) == 0.0);
    REQUIRE(got.epochs.size() == 2);
    for (std::size_t e = 0; e < 2; ++e) {
        CHECK(got.epochs[e].at("loss") == Approx(expected.epochs[e].at("loss")).epsilon(1e-6));
        CHECK(got.epochs[e].at("accuracy") == expected.epochs[e].at("accuracy"));
        CHECK(got.epochs[e].at("f1") == Approx(expected.epochs[e].at("f1")).epsilon(1e-9));
    }
}

}  // namespace

TEST_CASE("collectives: sums and row gathers over ranks") {
    const int n = dist::world_size(), r = dist::rank();
    std::vector<double> values{static_cast<double>(r), 1.0};
    dist::allreduce_sum(values);
    CHECK(values == std::vector<double>{n * (n - 1) / 2.0, static_cast<double>(n)});
    CHECK(dist::allreduce_sum(0.5) == 0.5 * n);
    // Rank r sends r + 1 rows of [r, r]: rank order, rows and dtype kept.
    const tg::Tensor mine = tg::full({static_cast<std::size_t>(r + 1), 2}, r, tg::f64);
    const tg::Tensor all = dist::allgather_rows(mine);
    REQUIRE(all.shape() == tg::Shape{static_cast<std::size_t>(n * (n + 1) / 2), 2});
    CHECK(all.dtype() == tg::f64);
    std::size_t row = 0;
    for (int from = 0; from < n; ++from)
        for (int k = 0; k <= from; ++k, ++row) CHECK(all.value<double>()(row, 1) == from);
}

TEST_CASE("data parallel: SGD with momentum in float64 equals one process to 1e-12") {
    check_same_as_one_process<optim::SGD>(tg::f64, optim::SGDOptions{.lr = 0.05, .momentum = 0.9},
                                          1e-12);
}

TEST_CASE("data parallel: Adam in float64 equals one process to 1e-12") {
    check_same_as_one_process<optim::Adam>(tg::f64, optim::AdamOptions{.lr = 1e-2}, 1e-12);
}

TEST_CASE("data parallel: SGD with momentum and Adam in float32 equal one process to 1e-5") {
    check_same_as_one_process<optim::SGD>(tg::f32, optim::SGDOptions{.lr = 0.05, .momentum = 0.9},
                                          1e-5);
    check_same_as_one_process<optim::Adam>(tg::f32, optim::AdamOptions{.lr = 1e-2}, 1e-5);
}

TEST_CASE("data parallel: L-BFGS full batch over the shards equals one process") {
    const data::Dataset train = breast_cancer(tg::f64);
    const data::DataLoaderOptions full{.batch_size = train.size(), .shuffle = false};
    nn::Sequential alone = mlp(tg::f64), model = mlp(tg::f64);
    optim::LBFGS alone_opt(alone.parameters(), {.lr = 1.0}), opt(model.parameters(), {.lr = 1.0});
    data::DataLoader whole(train, full), shard(train, dist::shard(full));
    const auto expected = optim::fit(alone, alone_opt, testing::bce, whole, {.epochs = 5});
    const auto got = dist::fit(model, opt, testing::bce, shard, {.epochs = 5});
    INFO("rank " << dist::rank() << " of " << dist::world_size());
    // 100 line-search evaluations carry the sums' rounding further than 2 epochs of SGD: 4e-13
    // measured with 3 ranks.
    CHECK(max_difference(model, alone) <= 1e-11);
    CHECK(difference_from_root(model) == 0.0);
    CHECK(got.epochs.back().at("loss") == Approx(expected.epochs.back().at("loss")).epsilon(1e-9));
    CHECK(got.epochs.back().at("loss") < got.epochs.front().at("loss"));
}

TEST_CASE("data parallel: Newton full batch, its Hessian from summed gradients") {
    // The Hessian by central differences of gradients: every gradient is the sum over ranks.
    const data::Dataset train = breast_cancer(tg::f64);
    const data::DataLoaderOptions full{.batch_size = train.size(), .shuffle = false};
    const optim::NewtonOptions newton{.hessian = optim::HessianMethod::finite_differences,
                                      .damping = 0.1};
    nn::Linear alone(30, 1, {.seed = 4, .dtype = tg::f64}),
        model(30, 1, {.seed = 4, .dtype = tg::f64});
    optim::Newton alone_opt(alone.parameters(), newton), opt(model.parameters(), newton);
    data::DataLoader whole(train, full), shard(train, dist::shard(full));
    optim::fit(alone, alone_opt, testing::bce, whole, {.epochs = 3});
    dist::fit(model, opt, testing::bce, shard, {.epochs = 3});
    INFO("rank " << dist::rank() << " of " << dist::world_size());
    // Central differences divide the sums' rounding by 2h = 2e-5: 1.5e-10 measured.
    CHECK(max_difference(model, alone) <= 1e-9);
    CHECK(difference_from_root(model) == 0.0);
}

TEST_CASE("data parallel: a gradient recorded for a second derivative is refused") {
    // Newton's exact Hessian differentiates the closure's backward again: a sum over ranks
    // written into that gradient could not reach its derivatives.
    tg::Tensor w = tg::tensor({1.0, 2.0}, tg::f64).requires_grad_();
    dist::GradientAllreduce sum({w});
    {
        tg::Tape tape;
        tape.backward(tg::sum(w * w * w), {.create_graph = true});
    }
    CHECK_THROWS_WITH(sum.allreduce(1.0), Catch::Contains("HessianMethod::finite_differences"));
}

TEST_CASE("data parallel: a gradient on some ranks only reaches every rank, summed") {
    // v is used by rank 0's rows only, u by no rank: one process over all the rows would have
    // v's gradient from rank 0's part and none for u.
    const int n = dist::world_size(), r = dist::rank();
    tg::Tensor w = tg::tensor({1.0, 2.0}, tg::f64).requires_grad_();
    tg::Tensor v = tg::tensor({3.0}, tg::f64).requires_grad_();
    tg::Tensor u = tg::tensor({4.0}, tg::f32).requires_grad_();
    dist::GradientAllreduce sum({w, v, u});
    {
        tg::Tape tape;
        tg::Tensor loss = tg::sum(w * w);
        if (r == 0) loss = loss + tg::sum(v) * 5.0;
        tape.backward(loss);
    }
    CHECK(sum.allreduce(1.0, r + 1.0) == Approx(n * (n + 1) / 2.0));
    INFO("rank " << r << " of " << n);
    REQUIRE(v.has_grad());
    CHECK(v.grad().value<double>()(0) == 5.0);
    CHECK(w.grad().value<double>()(0) == 2.0 * n);
    CHECK(w.grad().value<double>()(1) == 4.0 * n);
    CHECK_FALSE(u.has_grad());
}

TEST_CASE("data parallel: rank 0's initial weights reach every rank") {
    // Each rank starts from other weights (seeded by its rank): training must start from
    // rank 0's on all of them.
    const data::Dataset train = breast_cancer(tg::f64);
    nn::Linear model(30, 1,
                     {.seed = static_cast<std::uint64_t>(10 + dist::rank()), .dtype = tg::f64});
    optim::SGD opt(model.parameters(), {.lr = 0.1});
    data::DataLoader loader(train, dist::shard({.batch_size = 64, .seed = 1}));
    dist::fit(model, opt, testing::bce, loader, {.epochs = 1});
    CHECK(difference_from_root(model) == 0.0);
}

TEST_CASE("data parallel: a loader sharded for another world is refused") {
    if (dist::world_size() > 1) return;  // with several ranks the refusal ends the run (abort)
    const data::Dataset train = breast_cancer(tg::f64);
    nn::Linear model(30, 1, {.seed = 0, .dtype = tg::f64});
    optim::SGD opt(model.parameters(), {.lr = 0.1});
    data::DataLoader loader(train, {.batch_size = 64, .rank = 1, .world_size = 2});
    CHECK_THROWS_WITH(dist::fit(model, opt, testing::bce, loader, {.epochs = 1}),
                      Catch::Contains("sharded for rank 1 of 2, but this is rank 0 of 1"));
}

// ---- a checkpoint written by one world size, resumed by another ---------------------------

namespace {

const data::DataLoaderOptions kResumeBatches{.batch_size = 40, .shuffle = true, .seed = 3};

std::string checkpoint_path() {
    const char* p = std::getenv("TAPEGRAD_TEST_CHECKPOINT");
    REQUIRE(p);
    return p;
}

}  // namespace

TEST_CASE("data parallel: write a checkpoint after one epoch", "[.checkpoint]") {
    const data::Dataset train = breast_cancer(tg::f64);
    nn::Sequential model = mlp(tg::f64);
    optim::Adam opt(model.parameters(), {.lr = 1e-2});
    data::DataLoader loader(train, dist::shard(kResumeBatches));
    optim::Checkpoint save({.path = checkpoint_path()});
    std::vector<optim::Callback*> callbacks;
    if (dist::is_root()) callbacks.push_back(&save);  // one writer
    dist::fit(model, opt, testing::bce, loader, {.epochs = 1, .callbacks = callbacks});
    if (dist::is_root()) CHECK(save.saved_epochs() == 1);
}

TEST_CASE("data parallel: resume the checkpoint for epoch two", "[.resume]") {
    const data::Dataset train = breast_cancer(tg::f64);
    nn::Sequential model = mlp(tg::f64);
    optim::Adam opt(model.parameters(), {.lr = 1e-2});
    const int start = optim::resume(checkpoint_path(), model, opt);
    REQUIRE(start == 1);
    data::DataLoader loader(train, dist::shard(kResumeBatches));
    dist::fit(model, opt, testing::bce, loader, {.epochs = 2, .initial_epoch = start});

    nn::Sequential alone = mlp(tg::f64);  // two epochs in one process
    optim::Adam alone_opt(alone.parameters(), {.lr = 1e-2});
    data::DataLoader whole(train, kResumeBatches);
    optim::fit(alone, alone_opt, testing::bce, whole, {.epochs = 2});
    INFO("rank " << dist::rank() << " of " << dist::world_size());
    CHECK(max_difference(model, alone) <= 1e-12);
}

// ---- faults: one rank fails, every rank ends ----------------------------------------------

TEST_CASE("data parallel: a nan in one rank's data ends the run", "[.fault]") {
    data::Dataset train = breast_cancer(tg::f64);
    if (dist::rank() == 1) train.x.mutable_value<double>()(5, 2) = std::nan("");
    nn::Sequential model = mlp(tg::f64);
    optim::SGD opt(model.parameters(), {.lr = 0.05});
    data::DataLoader loader(train, dist::shard({.batch_size = 32}));
    dist::fit(model, opt, testing::bce, loader, {.epochs = 1});
    FAIL("training went on past the bad row");
}

TEST_CASE("data parallel: a loss that throws on one rank mid-epoch ends the run", "[.fault]") {
    const data::Dataset train = breast_cancer(tg::f64);
    nn::Sequential model = mlp(tg::f64);
    optim::SGD opt(model.parameters(), {.lr = 0.05});
    data::DataLoader loader(train, dist::shard({.batch_size = 32}));
    int calls = 0;
    const optim::LossFn loss = [&](const tg::Tensor& out, const tg::Tensor& y) {
        if (dist::rank() == dist::world_size() - 1 && ++calls == 5)
            throw tg::ValueError("bad row in this rank's shard");
        return nn::bce_with_logits(out, y);
    };
    dist::fit(model, opt, loss, loader, {.epochs = 3});
    FAIL("training went on past the failing rank");
}

// logistic_2m's logistic regression, data parallel over the processes of an MPI run:
//
//   mpirun -np 2 build/examples/logistic_2m_mpi [ROWS] [EPOCHS]   (defaults 2000000 and 3)
//
// Every process draws the same seeded rows (no file to share), the DataLoader gives each its
// share of every global batch of 256 rows, and distributed::fit sums the gradients over the
// processes after each backward: the steps are those of one process on the whole batches.
// Run alone (without mpirun) it trains in one process, for comparison.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <tapegrad/distributed/data_parallel.hpp>
#include <tapegrad/distributed/environment.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>

#include "../logistic_2m_data.hpp"

namespace tg = tapegrad;
namespace dist = tapegrad::distributed;
namespace nn = tapegrad::nn;

int main(int argc, char** argv) {
    dist::Environment mpi(argc, argv);
    const bool root = dist::is_root();
    const std::size_t rows = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2'000'000;
    const int epochs = argc > 2 ? std::atoi(argv[2]) : 3;
    if (rows < 256 || epochs < 1) {
        if (root) std::fprintf(stderr, "usage: logistic_2m_mpi [ROWS >= 256] [EPOCHS >= 1]\n");
        return 2;
    }
    tg::Generator gen(logistic_2m::kSeed);
    const logistic_2m::Rule rule = logistic_2m::draw_rule(gen);
    const auto holdout = logistic_2m::draw_rows(logistic_2m::kHoldout, rule, gen);
    const auto train = logistic_2m::draw_rows(rows, rule, gen);

    nn::Linear model(logistic_2m::kFeatures, 1, {.seed = 0});
    tg::optim::SGD opt(model.parameters(), {.lr = 0.1});
    tg::data::DataLoader loader(train, dist::shard({.batch_size = 256, .drop_last = true}));
    const auto loss = [](const tg::Tensor& out, const tg::Tensor& y) {
        return nn::bce_with_logits(out, y);
    };
    if (root) {
        std::printf(
            "%zu rows over %d process%s: %zu rows of every batch of 256 here, %zu steps "
            "per epoch\n",
            rows, mpi.world_size(), mpi.world_size() == 1 ? "" : "es", loader.batch_rows(0),
            loader.num_batches());
    }
    dist::AllreduceStats cost;
    const auto t0 = std::chrono::steady_clock::now();
    const auto result = dist::fit(
        model, opt, loss, loader,
        {.epochs = epochs, .validation = &holdout, .metrics = {"accuracy"}, .verbose = true},
        &cost);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    // The learnt weights against the true rule.
    const auto& w = model.weight.value<float>();
    double dot = 0, nw = 0, nt = 0;
    for (std::size_t j = 0; j < logistic_2m::kFeatures; ++j) {
        dot += rule.w[j] * w(0, j);
        nw += static_cast<double>(w(0, j)) * w(0, j);
        nt += rule.w[j] * rule.w[j];
    }
    if (root) {
        std::printf(
            "%.2f s per epoch (validation included); gradient allreduce %.1f us per step "
            "(%zu bytes)\n",
            seconds / epochs, cost.calls ? 1e6 * cost.seconds / cost.calls : 0.0, cost.bytes);
        std::printf("holdout accuracy %.4f, cosine similarity to the true rule %.5f\n",
                    result.epochs.back().at("val_accuracy"), dot / std::sqrt(nw * nt));
    }
}

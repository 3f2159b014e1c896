// fashion_mnist_mlp's 784-256-128-10 MLP, data parallel over the processes of an MPI run:
//
//   mpirun -np 2 build/examples/fashion_mnist_mpi [EPOCHS]   (default 10)
//
// Adam, cross-entropy, global batches of 128 rows shared out between the processes; the
// gradients are summed over them after each backward (distributed::fit), so the training is
// that of one process on the same batches. Only rank 0 prints. Alone it runs in one process.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <tapegrad/data/readers.hpp>
#include <tapegrad/distributed/data_parallel.hpp>
#include <tapegrad/distributed/environment.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/callbacks.hpp>
#include <tapegrad/optim/optim.hpp>

namespace tg = tapegrad;
namespace dist = tapegrad::distributed;
namespace data = tapegrad::data;
namespace nn = tapegrad::nn;

int main(int argc, char** argv) {
    dist::Environment mpi(argc, argv);
    const int epochs = argc > 1 ? std::atoi(argv[1]) : 10;
    const data::Dataset train = data::load_fashion_mnist(true);
    const data::Dataset test = data::load_fashion_mnist(false);
    if (dist::is_root()) {
        std::printf("Fashion-MNIST: %zu training and %zu test images, %d process%s\n", train.size(),
                    test.size(), mpi.world_size(), mpi.world_size() == 1 ? "" : "es");
    }
    tg::manual_seed(0);  // the same weights everywhere (rank 0's are broadcast anyway)
    nn::Sequential model{nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 128), nn::ReLU(),
                         nn::Linear(128, 10)};
    tg::optim::Adam opt(model.parameters(), {.lr = 1e-3});
    data::DataLoader loader(train, dist::shard({.batch_size = 128, .shuffle = true, .seed = 0}));
    const auto loss = [](const tg::Tensor& out, const tg::Tensor& y) {
        return nn::cross_entropy(out, y);
    };
    tg::optim::ProgressBar progress(std::cout, {.mode = tg::optim::ProgressMode::lines});
    std::vector<tg::optim::Callback*> callbacks;
    if (dist::is_root()) callbacks.push_back(&progress);

    dist::AllreduceStats cost;
    const auto t0 = std::chrono::steady_clock::now();
    dist::fit(
        model, opt, loss, loader,
        {.epochs = epochs, .validation = &test, .metrics = {"accuracy"}, .callbacks = callbacks},
        &cost);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto logs = tg::optim::evaluate(model, loss, test, {"accuracy"});
    if (dist::is_root()) {
        std::printf(
            "%.2f s per epoch (validation included); gradient allreduce %.2f ms per step "
            "(%zu bytes, %.0f%% of the time)\n",
            seconds / epochs, cost.calls ? 1e3 * cost.seconds / cost.calls : 0.0, cost.bytes,
            100.0 * cost.seconds / seconds);
        std::printf("test accuracy %.4f after %d epochs\n", logs.at("accuracy"), epochs);
    }
}

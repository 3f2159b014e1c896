// Training a model, start to finish: a 2-16-16-1 tanh MLP learns XOR-like quadrants (a
// boundary no line can draw) with Adam and binary cross-entropy on logits; then the weights
// are saved to an .npz file, loaded into a fresh model, and a checkpoint is written that
// resumes training exactly. This is the README's "Training a model" example.
#include <cstdio>
#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

int main() {
    // 256 points in [-1, 1]², label 1 where x0·x1 > 0 (seeded: the same data on every machine).
    const tg::Tensor x = tg::uniform({256, 2}, -1.0, 1.0, /*seed=*/0);
    tg::Tensor y = tg::zeros({256, 1});
    for (std::size_t i = 0; i < 256; ++i)
        y.mutable_value<float>()(i, 0) = x.value<float>()(i, 0) * x.value<float>()(i, 1) > 0;

    tg::manual_seed(0);  // the initial weights
    nn::Sequential model{nn::Linear(2, 16), nn::Tanh(), nn::Linear(16, 16), nn::Tanh(),
                         nn::Linear(16, 1)};
    tg::optim::Adam opt(model.parameters(), {.lr = 1e-2});
    std::printf("%s", model.summary().c_str());

    for (int step = 0; step <= 500; ++step) {
        tg::Tape tape;
        tg::Tensor loss = nn::bce_with_logits(model(x), y);
        opt.zero_grad();
        tape.backward(loss);
        opt.step();
        if (step % 100 == 0) std::printf("step %3d  loss %.4f\n", step, loss.item());
    }

    auto accuracy = [&](nn::Module& m) {
        tg::NoGrad no_grad;
        const auto logits = m(x).value<float>();
        int right = 0;
        for (std::size_t i = 0; i < 256; ++i)
            right += (logits(i, 0) > 0) == (y.value<float>()(i, 0) > 0.5f);
        return right / 256.0;
    };
    std::printf("training accuracy %.3f\n", accuracy(model));

    nn::save(model, "mlp.npz");  // numpy.load("mlp.npz") reads it
    nn::Sequential fresh{nn::Linear(2, 16), nn::Tanh(), nn::Linear(16, 16), nn::Tanh(),
                         nn::Linear(16, 1)};
    nn::load(fresh, "mlp.npz");
    std::printf("reloaded model accuracy %.3f\n", accuracy(fresh));
    tg::optim::save_checkpoint("mlp_checkpoint.npz", model, opt);  // weights + Adam's moments
    std::printf("saved mlp.npz and mlp_checkpoint.npz\n");
}

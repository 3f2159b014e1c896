// An optimizer of your own: Lion (lion.hpp: a rule of the first-order driver, in a few lines)
// trains an MLP (2-32-32-1, ReLU) on make_moons through fit, with a StepLR schedule that halves
// its learning rate every 4 epochs, exactly as the library's optimizers do. Then the same
// training is broken in two: 6 epochs with a Checkpoint callback, and a fresh model, optimizer
// and schedule (other initial weights) resumed from the file for the last 6. The program prints
// the epochs of the unbroken run (the lr column shows the schedule), the option keys Lion's
// state_dict saves, and whether the resumed run ends bit for bit where the unbroken one ends.
#include <cstdio>
#include <filesystem>

#include "common.hpp"
#include "lion.hpp"

namespace {

constexpr int kEpochs = 12;
constexpr int kBreak = 6;  // the broken run stops after this many epochs and resumes

// Everything a run is made of, fresh: the same batches whatever the initial weights.
struct Run {
    nn::Sequential model;
    optim::FirstOrder<Lion> opt;
    optim::StepLR schedule;
    data::DataLoader loader;
    Run(std::uint64_t init_seed, const data::Dataset& train)
        : model(make_model(init_seed)),
          opt(model.parameters(), {.lr = 3e-3, .weight_decay = 0.01}),
          schedule(opt, {.step_size = 4, .gamma = 0.5}),
          loader(train, {.batch_size = 32, .shuffle = true, .seed = 1}) {}

    static nn::Sequential make_model(std::uint64_t seed) {
        tg::manual_seed(seed);
        return nn::Sequential{nn::Linear(2, 32), nn::ReLU(), nn::Linear(32, 32), nn::ReLU(),
                              nn::Linear(32, 1)};
    }
};

// Same keys and bit-identical values.
bool same(const tg::StateDict& a, const tg::StateDict& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [key, value] : a) {
        auto it = b.find(key);
        if (it == b.end() || !(it->second.to_array<double>() == value.to_array<double>()))
            return false;
    }
    return true;
}

}  // namespace

int main() {
    data::Dataset moons = data::make_moons(1000, 0.2, /*seed=*/0);
    moons.y = tg::reshape(moons.y, {moons.size(), 1});
    const data::Split parts = data::split(moons, {.validation = 0.2, .seed = 0});

    std::printf(
        "Lion on make_moons (%zu training, %zu validation points), lr 3e-3 halved every "
        "4 epochs, weight_decay 0.01:\n",
        parts.train.size(), parts.validation.size());
    Run straight(0, parts.train);
    optim::fit(straight.model, straight.opt, bce, straight.loader,
               {.epochs = kEpochs,
                .validation = &parts.validation,
                .metrics = {"accuracy"},
                .scheduler = &straight.schedule,
                .verbose = true});

    std::printf("\nLion's options in its state_dict:");
    for (const auto& [key, value] : straight.opt.state_dict())
        if (key.rfind("param_groups.0.", 0) == 0) std::printf(" %s=%g", key.c_str(), value.item());
    std::printf("\n");

    const std::filesystem::path path = "lion_checkpoint.npz";
    Run first(0, parts.train);
    optim::Checkpoint save({.path = path, .every = kBreak});
    optim::fit(first.model, first.opt, bce, first.loader,
               {.epochs = kBreak,
                .validation = &parts.validation,
                .scheduler = &first.schedule,
                .callbacks = {&save}});

    Run resumed(99, parts.train);  // other initial weights: the checkpoint replaces them
    const int start = optim::resume(path, resumed.model, resumed.opt, &resumed.schedule);
    optim::fit(resumed.model, resumed.opt, bce, resumed.loader,
               {.epochs = kEpochs,
                .validation = &parts.validation,
                .scheduler = &resumed.schedule,
                .initial_epoch = start});

    const bool weights = same(resumed.model.state_dict(), straight.model.state_dict());
    const bool state = same(resumed.opt.state_dict(), straight.opt.state_dict());
    std::printf(
        "checkpoint after epoch %d (%s), resumed into a fresh model, Lion and StepLR: "
        "weights %s, Lion's state %s the unbroken run's after epoch %d\n",
        start, path.string().c_str(), weights ? "equal" : "DIFFER FROM",
        state ? "equals" : "DIFFERS FROM", kEpochs);
    if (!(weights && state)) return 1;
    std::printf("the resumed run ends bit for bit where the unbroken run ends\n");
}

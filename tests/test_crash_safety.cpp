// Training that survives a crash: a child process trains with a Checkpoint every epoch and is
// killed with SIGKILL at random moments, many times, some of them in the middle of writing
// the checkpoint. After every kill the file on disk must be one complete checkpoint, equal
// to one that an uninterrupted run saves; resuming from it, kill after kill, must end with
// exactly the weights of the uninterrupted run.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include <thread>
#include <vector>

#include "check.hpp"

namespace fs = std::filesystem;
namespace nn = tapegrad::nn;
namespace optim = tapegrad::optim;

namespace {

constexpr int kEpochs = 200;

struct TempDir {
    fs::path path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "tapegrad-crash-XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~TempDir() { fs::remove_all(path); }
};

bool same(const nn::StateDict& a, const nn::StateDict& b) {
    if (a.size() != b.size()) return false;
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
        if (ia->first != ib->first || ia->second.dtype() != ib->second.dtype()) return false;
        if (ia->second.dtype() == tg::f32) {
            if (ia->second.value<float>() != ib->second.value<float>()) return false;
        } else if (ia->second.value<double>() != ib->second.value<double>()) {
            return false;
        }
    }
    return true;
}

// y = 1 when x0 - 2 x1 > 0.3: a small classification problem.
nn::Dataset data() {
    const tg::Tensor x = tg::randn({96, 2}, 11, tg::f64);
    tg::Tensor y = tg::zeros({96, 1}, tg::f64);
    for (std::size_t i = 0; i < 96; ++i)
        y.mutable_value<double>()(i, 0) =
            x.value<double>()(i, 0) - 2 * x.value<double>()(i, 1) > 0.3 ? 1 : 0;
    return {x, y};
}

const optim::LossFn bce = [](const tg::Tensor& out, const tg::Tensor& y) {
    return nn::bce_with_logits(out, y);
};

// Everything a run holds: model, Adam (moments), a schedule and a shuffling loader.
struct Run {
    nn::Sequential model{nn::Linear(2, 8, {.seed = 1, .dtype = tg::f64}), nn::Tanh(),
                         nn::Linear(8, 1, {.seed = 2, .dtype = tg::f64})};
    optim::Adam opt{model.parameters(), {.lr = 0.02}};
    optim::StepLR sched{opt, 20, 0.5};
    nn::DataLoader loader;
    explicit Run(const nn::Dataset& train) : loader(train, {.batch_size = 32, .seed = 5}) {}

    optim::FitResult fit(int initial_epoch, std::vector<optim::Callback*> callbacks) {
        return optim::fit(model, opt, bce, loader,
                          {.epochs = kEpochs,
                           .scheduler = &sched,
                           .callbacks = std::move(callbacks),
                           .initial_epoch = initial_epoch});
    }
};

// Reads the checkpoint file after each epoch's save: the states an unbroken run leaves.
struct Recorder : optim::Callback {
    fs::path path;
    std::vector<nn::StateDict> saved;
    explicit Recorder(fs::path p) : path(std::move(p)) {}
    void on_epoch_end(optim::TrainState&, optim::Logs&) override {
        saved.push_back(nn::load_npz(path));
    }
};

// The child: resume from the file when there is one, train to the end, saving every epoch.
[[noreturn]] void train_and_exit(const fs::path& path, const nn::Dataset& train) {
    try {
        Run run(train);
        const int start =
            fs::exists(path) ? optim::resume(path, run.model, run.opt, &run.sched) : 0;
        optim::Checkpoint save({.path = path});
        run.fit(start, {&save});
        ::_exit(0);
    } catch (...) {
        ::_exit(3);
    }
}

}  // namespace

TEST_CASE("SIGKILL at random moments never leaves a broken checkpoint, resuming ends exactly") {
    TempDir dir;
    const nn::Dataset train = data();

    // The uninterrupted run and the checkpoint it saves after every epoch.
    Run straight(train);
    Recorder reference(dir.path / "reference.npz");
    optim::Checkpoint reference_save({.path = reference.path});
    straight.fit(0, {&reference_save, &reference});
    REQUIRE(reference.saved.size() == kEpochs);

    const fs::path path = dir.path / "run.npz";
    tg::Generator gen(20241125);
    int killed = 0, finished = 0, interrupted_writes = 0, last_epoch = 0;
    for (int round = 0; round < 30; ++round) {
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) train_and_exit(path, train);
        std::this_thread::sleep_for(std::chrono::microseconds(500 + gen.below(40000)));
        ::kill(child, SIGKILL);
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        if (WIFSIGNALED(status)) {
            REQUIRE(WTERMSIG(status) == SIGKILL);
            ++killed;
        } else {
            REQUIRE(WIFEXITED(status));
            REQUIRE(WEXITSTATUS(status) == 0);  // finished before the kill
            ++finished;
        }
        // A temporary beside the file is a write that the kill cut short; the file itself
        // must not show it.
        for (const auto& e : fs::directory_iterator(dir.path)) {
            if (e.path().filename().string().rfind("run.npz.tmp-", 0) == 0) {
                ++interrupted_writes;
                fs::remove(e.path());
            }
        }
        if (!fs::exists(path)) {
            REQUIRE(last_epoch == 0);  // killed before the first save
            continue;
        }
        const nn::StateDict file = nn::load_npz(path);
        const int epoch = static_cast<int>(file.at("training/epoch").item());
        INFO("round " << round << ": the file holds epoch " << epoch);
        REQUIRE(epoch >= last_epoch);  // never an older one than before
        REQUIRE(epoch >= 1);
        REQUIRE(epoch <= kEpochs);
        REQUIRE(same(file, reference.saved[static_cast<std::size_t>(epoch - 1)]));
        last_epoch = epoch;
    }
    INFO(killed << " runs killed (" << interrupted_writes << " during a write), " << finished
                << " finished, the file at epoch " << last_epoch);
    REQUIRE(killed > 0);
    REQUIRE(last_epoch > 0);

    // Resume to the end: the weights and the optimizer of the unbroken run, bit for bit.
    Run resumed(train);
    const int start = optim::resume(path, resumed.model, resumed.opt, &resumed.sched);
    REQUIRE(start == last_epoch);
    resumed.fit(start, {});
    REQUIRE(same(resumed.model.state_dict(), straight.model.state_dict()));
    REQUIRE(same(resumed.opt.state_dict(), straight.opt.state_dict()));
}

// Training that survives a crash: a child process trains with a Checkpoint every epoch and is
// killed many times, each time resuming from the file the last one left. After every kill the
// file on disk must be one complete checkpoint, equal to one that an uninterrupted run saves;
// resuming from it, kill after kill, must end with exactly the weights of the uninterrupted run.
//
// Where a kill lands never depends on how fast the machine is. Most kills are placed by the
// child itself, counted in epochs and bytes: in the middle of writing a checkpoint (a file-size
// limit stops the write after a chosen number of bytes and the child then kills itself with
// SIGKILL), or just before or just after a checkpoint. The others come from the parent at a
// moment drawn from the measured length of an uninterrupted child run, wherever they land.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <tapegrad/data/data.hpp>
#include <tapegrad/formats/npz.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include <thread>
#include <vector>

#include "check.hpp"
#include "files.hpp"
#include "training.hpp"

namespace formats = tapegrad::formats;
using namespace testing;

namespace {

constexpr int kEpochs = 200;

// y = 1 when x0 - 2 x1 > 0.3: a small classification problem.
data::Dataset classification_data() {
    return testing::rows_with_rule(
        96, 2, 11, [](std::span<const double> x, double) { return x[0] - 2 * x[1] > 0.3 ? 1 : 0; });
}

// Everything a run holds: model, Adam (moments), a schedule and a shuffling loader.
struct Run {
    nn::Sequential model{nn::Linear(2, 8, {.seed = 1, .dtype = tg::f64}), nn::Tanh(),
                         nn::Linear(8, 1, {.seed = 2, .dtype = tg::f64})};
    optim::Adam opt{model.parameters(), {.lr = 0.02}};
    optim::StepLR sched{opt, {.step_size = 20, .gamma = 0.5}};
    data::DataLoader loader;
    explicit Run(const data::Dataset& train) : loader(train, {.batch_size = 32, .seed = 5}) {}

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
    std::vector<tg::StateDict> saved;
    explicit Recorder(fs::path p) : path(std::move(p)) {}
    void on_epoch_end(optim::TrainState&, optim::Logs&) override {
        saved.push_back(formats::load_npz(path));
    }
};

// Where a child ends its own life. Kills counted in epochs and bytes land at the same place
// on any machine; `none` leaves the moment to the parent.
enum class Kill { none, before_save, mid_write, after_save };

struct Plan {
    Kill kill = Kill::none;
    int epoch = 0;            // the epoch (1-based, counted from the start) of the kill
    std::uint64_t bytes = 0;  // mid_write: the bytes of the checkpoint written before it
};

// The write that crosses the file-size limit gets SIGXFSZ; the child turns it into SIGKILL.
void kill_self(int) {
    ::kill(::getpid(), SIGKILL);
}

// Placed before and after the Checkpoint in the callback list: fires at the planned epoch.
struct KillAt : optim::Callback {
    Plan plan;
    bool before;
    KillAt(Plan p, bool b) : plan(p), before(b) {}
    void on_epoch_end(optim::TrainState& state, optim::Logs&) override {
        if (state.epoch + 1 != plan.epoch) return;
        if (plan.kill == Kill::mid_write && before) {
            // Files may grow to `bytes` bytes: the checkpoint's write stops there.
            ::signal(SIGXFSZ, kill_self);
            const rlimit limit{plan.bytes, plan.bytes};
            ::setrlimit(RLIMIT_FSIZE, &limit);
        } else if ((plan.kill == Kill::before_save && before) ||
                   (plan.kill == Kill::after_save && !before)) {
            ::kill(::getpid(), SIGKILL);
        }
    }
};

// The child: resume from the file when there is one, train to the end, saving every epoch.
[[noreturn]] void train_and_exit(const fs::path& path, const data::Dataset& train, Plan plan) {
    try {
        Run run(train);
        const int start =
            fs::exists(path) ? optim::resume(path, run.model, run.opt, &run.sched) : 0;
        optim::Checkpoint save({.path = path});
        KillAt first(plan, true), last(plan, false);
        run.fit(start, {&first, &save, &last});
        ::_exit(0);
    } catch (...) {
        ::_exit(3);
    }
}

struct Outcome {
    bool killed = false;
    double seconds = 0;  // fork to reaped
};

// Runs a child with the plan; the parent kills it after delay seconds unless delay < 0.
Outcome run_child(const fs::path& path, const data::Dataset& train, Plan plan, double delay) {
    const auto t0 = std::chrono::steady_clock::now();
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) train_and_exit(path, train, plan);
    if (delay >= 0) {
        std::this_thread::sleep_for(std::chrono::duration<double>(delay));
        ::kill(child, SIGKILL);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    Outcome o;
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (WIFSIGNALED(status)) {
        REQUIRE(WTERMSIG(status) == SIGKILL);
        o.killed = true;
    } else {
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == 0);  // finished before the kill
    }
    return o;
}

}  // namespace

TEST_CASE(
    "killed at any moment, mid-write included, training never leaves a broken checkpoint and "
    "resumes exactly") {
    TempDir dir("crash");
    const data::Dataset train = classification_data();

    // The uninterrupted run and the checkpoint it saves after every epoch.
    Run straight(train);
    Recorder reference(dir.path / "reference.npz");
    optim::Checkpoint reference_save({.path = reference.path});
    straight.fit(0, {&reference_save, &reference});
    REQUIRE(reference.saved.size() == kEpochs);
    const std::uint64_t file_bytes = fs::file_size(reference.path);

    // How long an uninterrupted child takes here and now (fork to reaped): the parent's own
    // kills are drawn from it, so they fall inside a child's life however slow the machine.
    const Outcome whole = run_child(dir.path / "timing.npz", train, {}, -1);
    REQUIRE_FALSE(whole.killed);

    const fs::path path = dir.path / "run.npz";
    tg::Generator gen(20241125);
    int killed = 0, finished = 0, interrupted_writes = 0, mid_write_kills = 0, last_epoch = 0;
    constexpr int kRounds = 40;
    for (int round = 0; round < kRounds; ++round) {
        // Three rounds in four the child kills itself a few epochs on; every fourth the parent
        // kills it somewhere in the first tenth of a whole run.
        Plan plan;
        double delay = -1;
        if (round % 4 == 3) {
            delay = gen.uniform() * whole.seconds / 10;
        } else {
            const Kill kinds[] = {Kill::mid_write, Kill::before_save, Kill::after_save};
            plan.kill = round % 4 == 0 ? Kill::mid_write : kinds[gen.below(3)];
            plan.epoch = last_epoch + 1 + static_cast<int>(gen.below(4));
            plan.bytes = 1 + gen.below(file_bytes - 1);
            if (plan.epoch > kEpochs) plan.kill = Kill::none;
        }
        const Outcome o = run_child(path, train, plan, delay);
        killed += o.killed;
        finished += !o.killed;
        if (plan.kill != Kill::none) REQUIRE(o.killed);
        // A temporary beside the file is a write that the kill cut short; the file itself
        // must not show it.
        int temporaries = 0;
        for (const auto& e : fs::directory_iterator(dir.path)) {
            if (e.path().filename().string().rfind("run.npz.tmp-", 0) == 0) {
                ++temporaries;
                fs::remove(e.path());
            }
        }
        interrupted_writes += temporaries;
        if (plan.kill == Kill::mid_write) {
            REQUIRE(temporaries == 1);  // the kill did land inside the write
            ++mid_write_kills;
        }
        if (!fs::exists(path)) {
            REQUIRE(last_epoch == 0);  // killed before the first save
            continue;
        }
        const tg::StateDict file = formats::load_npz(path);
        const int epoch = static_cast<int>(file.at("training/epoch").item());
        INFO("round " << round << ": the file holds epoch " << epoch);
        REQUIRE(epoch >= last_epoch);  // never an older one than before
        REQUIRE(epoch >= 1);
        REQUIRE(epoch <= kEpochs);
        // A kill by the child's own hand leaves a known epoch in the file.
        if (plan.kill == Kill::after_save) REQUIRE(epoch == plan.epoch);
        if (plan.kill == Kill::before_save || plan.kill == Kill::mid_write)
            REQUIRE(epoch == plan.epoch - 1);
        REQUIRE(same(file, reference.saved[static_cast<std::size_t>(epoch - 1)]));
        last_epoch = epoch;
    }
    std::printf(
        "crash safety: %d runs killed (%d during a write, %d of them by a file-size "
        "limit), %d finished, the file at epoch %d; an uninterrupted child took %.3f s\n",
        killed, interrupted_writes, mid_write_kills, finished, last_epoch, whole.seconds);
    INFO(killed << " runs killed (" << interrupted_writes << " during a write), " << finished
                << " finished, the file at epoch " << last_epoch);
    REQUIRE(killed > 0);
    REQUIRE(mid_write_kills > 0);
    REQUIRE(interrupted_writes >= mid_write_kills);
    REQUIRE(last_epoch > 0);

    // Resume to the end: the weights and the optimizer of the unbroken run, bit for bit.
    Run resumed(train);
    const int start = optim::resume(path, resumed.model, resumed.opt, &resumed.sched);
    REQUIRE(start == last_epoch);
    resumed.fit(start, {});
    REQUIRE(same(resumed.model.state_dict(), straight.model.state_dict()));
    REQUIRE(same(resumed.opt.state_dict(), straight.opt.state_dict()));
}

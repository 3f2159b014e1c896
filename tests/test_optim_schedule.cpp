// Learning-rate schedules: each sequence against PyTorch 1.13's and against the closed form
// it documents, composition with an optimizer's steps, SequentialLR warm-up then decay,
// ReduceLROnPlateau with patience and cooldown, validation, and state_dict round trips.
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/lr_scheduler.hpp>
#include <tapegrad/optim/sgd.hpp>

#include <numbers>

#include "check.hpp"

namespace {

namespace optim = tg::optim;
constexpr double pi = std::numbers::pi;

// An optimizer with two groups whose learning rates start at 0.1 and 0.02, as in the script.
struct TwoGroups {
    tg::Tensor a = tg::zeros({1}, tg::f64).requires_grad_();
    tg::Tensor b = tg::zeros({1}, tg::f64).requires_grad_();
    optim::SGD opt{{a}, {.lr = 0.1}};
    TwoGroups() { opt.add_param_group({b}, {.lr = 0.02}); }
};

struct Sequence {
    const char* name;
    std::vector<std::vector<double>> lrs;  // get_last_lr() after construction, then each step
};

// Produced by `/usr/bin/python3 tests/data/optim_reference.py` (PyTorch 1.13): the schedules of
// its SCHEDULES list on an SGD with two groups (lr 0.1 and 0.02), opt.step() then
// scheduler.step() each time.
const Sequence kTorch[] = {
    {"step_lr",
     {{0.1, 0.02},
      {0.1, 0.02},
      {0.1, 0.02},
      {0.05, 0.01},
      {0.05, 0.01},
      {0.05, 0.01},
      {0.025, 0.005},
      {0.025, 0.005},
      {0.025, 0.005},
      {0.0125, 0.0025},
      {0.0125, 0.0025},
      {0.0125, 0.0025},
      {0.00625, 0.00125}}},
    {"exponential_lr",
     {{0.1, 0.02},
      {0.09000000000000001, 0.018000000000000002},
      {0.08100000000000002, 0.016200000000000003},
      {0.07290000000000002, 0.014580000000000003},
      {0.06561000000000002, 0.013122000000000003},
      {0.05904900000000002, 0.011809800000000004},
      {0.05314410000000002, 0.010628820000000004},
      {0.04782969000000002, 0.009565938000000005},
      {0.043046721000000024, 0.008609344200000004},
      {0.03874204890000002, 0.007748409780000004},
      {0.03486784401000002, 0.006973568802000004}}},
    {"cosine_lr",
     {{0.1, 0.02},
      {0.09757729755661011, 0.01953503690480396},
      {0.0905463412215599, 0.018185661446562},
      {0.07959536998847742, 0.016083959896778494},
      {0.0657963412215599, 0.013435661446561997},
      {0.0505, 0.010499999999999995},
      {0.03520365877844011, 0.007564338553437996},
      {0.02140463001152259, 0.004916040103221504},
      {0.010453658778440109, 0.0028143385534379994},
      {0.0034227024433899004, 0.0014649630951960413},
      {0.001, 0.001},
      {0.0034227024433899004, 0.0014649630951960415},
      {0.01045365877844014, 0.002814338553438007},
      {0.02140463001152267, 0.0049160401032215225},
      {0.035203658778440255, 0.007564338553438029},
      {0.05050000000000022, 0.010500000000000044},
      {0.06579634122156018, 0.013435661446562056},
      {0.07959536998847777, 0.016083959896778563},
      {0.09054634122156031, 0.01818566144656208},
      {0.09757729755661054, 0.019535036904804046},
      {0.10000000000000045, 0.020000000000000087},
      {0.09757729755661054, 0.019535036904804046},
      {0.09054634122156033, 0.018185661446562088},
      {0.07959536998847778, 0.016083959896778566},
      {0.0657963412215602, 0.01343566144656206},
      {0.050500000000000225, 0.010500000000000044}}},
    {"linear_lr",
     {{0.03333333333333333, 0.006666666666666666},
      {0.04666666666666667, 0.009333333333333334},
      {0.060000000000000005, 0.012000000000000002},
      {0.07333333333333335, 0.01466666666666667},
      {0.08666666666666668, 0.01733333333333334},
      {0.1, 0.020000000000000004},
      {0.1, 0.020000000000000004},
      {0.1, 0.020000000000000004},
      {0.1, 0.020000000000000004}}},
    {"linear_then_cosine",
     {{0.010000000000000002, 0.002},
      {0.04, 0.007999999999999998},
      {0.07, 0.013999999999999997},
      {0.1, 0.02},
      {0.09504844339512096, 0.01900968867902419},
      {0.08117449009293669, 0.016234898018587338},
      {0.061126046697815725, 0.012225209339563146},
      {0.03887395330218429, 0.007774790660436858},
      {0.018825509907063328, 0.003765101981412666},
      {0.004951556604879048, 0.0009903113209758097},
      {0.0, 0.0},
      {0.004951556604879043, 0.0009903113209758087},
      {0.018825509907063314, 0.0037651019814126632},
      {0.03887395330218427, 0.0077747906604368556},
      {0.06112604669781568, 0.012225209339563137}}},
    {"linear_then_exponential",
     {{0.025, 0.005},
      {0.043750000000000004, 0.00875},
      {0.06250000000000001, 0.0125},
      {0.08125000000000002, 0.01625},
      {0.1, 0.02},
      {0.08000000000000002, 0.016},
      {0.06400000000000002, 0.0128},
      {0.051200000000000016, 0.01024},
      {0.04096000000000002, 0.008192000000000001},
      {0.03276800000000001, 0.0065536000000000014},
      {0.026214400000000013, 0.005242880000000002}}},
};

const std::vector<std::vector<double>>& torch_sequence(const std::string& name) {
    for (const auto& s : kTorch)
        if (name == s.name) return s.lrs;
    FAIL("no reference sequence " << name);
    throw;
}

bool close(double a, double b, double rel = 1e-12) {
    return std::abs(a - b) <= rel * std::abs(b) + 1e-15;
}

// Steps `sched` through the reference sequence, checking get_last_lr(), the groups' lr and
// the closed form closed(epoch, base_lr) at every epoch.
template <class Closed>
void check_sequence(optim::LRScheduler& sched, TwoGroups& t, const std::string& name,
                    Closed closed) {
    const auto& want = torch_sequence(name);
    const double base[2] = {0.1, 0.02};
    for (std::size_t e = 0; e < want.size(); ++e) {
        if (e > 0) {
            t.opt.step();
            sched.step();
        }
        INFO(name << " epoch " << e);
        REQUIRE(sched.get_last_lr().size() == 2);
        CHECK(sched.last_epoch() == static_cast<std::int64_t>(e));
        for (std::size_t g = 0; g < 2; ++g) {
            INFO("group " << g << ": " << sched.get_last_lr()[g] << " vs torch " << want[e][g]);
            CHECK(close(sched.get_last_lr()[g], want[e][g]));
            CHECK(t.opt.param_groups()[g].lr == sched.get_last_lr()[g]);
            CHECK(close(sched.get_last_lr()[g], closed(static_cast<double>(e), base[g]), 1e-11));
        }
    }
}

}  // namespace

TEST_CASE("StepLR: lr = base * gamma^floor(epoch / step_size), as PyTorch") {
    TwoGroups t;
    optim::StepLR sched(t.opt, {.step_size = 3, .gamma = 0.5});
    CHECK(sched.base_lrs() == std::vector<double>{0.1, 0.02});
    check_sequence(sched, t, "step_lr",
                   [](double e, double base) { return base * std::pow(0.5, std::floor(e / 3)); });
}

TEST_CASE("ExponentialLR: lr = base * gamma^epoch, as PyTorch") {
    TwoGroups t;
    optim::ExponentialLR sched(t.opt, {.gamma = 0.9});
    check_sequence(sched, t, "exponential_lr",
                   [](double e, double base) { return base * std::pow(0.9, e); });
}

TEST_CASE("CosineAnnealingLR: eta_min + (base - eta_min)(1 + cos(pi e / T)) / 2, as PyTorch") {
    // T_max 10, eta_min 0.001, 25 epochs: down to eta_min at 10, back to base at 20 (PyTorch's
    // schedule is periodic past T_max).
    TwoGroups t;
    optim::CosineAnnealingLR sched(t.opt, {.T_max = 10, .eta_min = 0.001});
    check_sequence(sched, t, "cosine_lr", [](double e, double base) {
        return 0.001 + (base - 0.001) * (1 + std::cos(pi * e / 10)) / 2;
    });
    const auto& torch = torch_sequence("cosine_lr");
    CHECK(close(torch[10][0], 0.001));
    CHECK(close(torch[20][0], 0.1, 1e-13));
}

TEST_CASE("LinearLR: warm-up from base/3 to base over 5 epochs, as PyTorch") {
    TwoGroups t;
    optim::LinearLR sched(t.opt);  // start 1/3, end 1, total_iters 5
    CHECK(t.opt.lr() == 0.1 / 3);  // construction already applies epoch 0
    check_sequence(sched, t, "linear_lr", [](double e, double base) {
        return base * (1.0 / 3 + (1 - 1.0 / 3) * std::min(e, 5.0) / 5);
    });
}

TEST_CASE("SequentialLR: linear warm-up then cosine decay, as PyTorch") {
    // LinearLR(0.1, 1, 3) for epochs 0-2, then CosineAnnealingLR(T_max 7) from its epoch 0 at
    // epoch 3: lr = base (0.1 + 0.9 e / 3) for e < 3, base (1 + cos(pi (e - 3) / 7)) / 2 after.
    TwoGroups t;
    optim::LinearLR warmup(t.opt, {.start_factor = 0.1, .total_iters = 3});
    optim::CosineAnnealingLR decay(t.opt, {.T_max = 7});
    optim::SequentialLR sched(t.opt, {.schedulers = {warmup, decay}, .milestones = {3}});
    CHECK(decay.base_lrs() == std::vector<double>{0.1, 0.02});  // not the warmed-down lr
    check_sequence(sched, t, "linear_then_cosine", [](double e, double base) {
        return e < 3 ? base * (0.1 + 0.9 * e / 3) : base * (1 + std::cos(pi * (e - 3) / 7)) / 2;
    });
}

TEST_CASE("SequentialLR: linear warm-up then exponential decay, as PyTorch") {
    TwoGroups t;
    optim::LinearLR warmup(t.opt, {.start_factor = 0.25, .total_iters = 4});
    optim::ExponentialLR decay(t.opt, {.gamma = 0.8});
    optim::SequentialLR sched(t.opt, {.schedulers = {warmup, decay}, .milestones = {4}});
    check_sequence(sched, t, "linear_then_exponential", [](double e, double base) {
        return e < 4 ? base * (0.25 + 0.75 * e / 4) : base * std::pow(0.8, e - 4);
    });
}

TEST_CASE("a schedule drives the optimizer's steps") {
    // f(w) = w, gradient 1, SGD lr 1 with StepLR(2, 0.5): the steps are 1, 1, 0.5, 0.5, 0.25.
    tg::Tensor w = tg::zeros({1}, tg::f64).requires_grad_();
    optim::SGD opt({w}, {.lr = 1.0});
    optim::StepLR sched(opt, {.step_size = 2, .gamma = 0.5});
    const double want[] = {-1, -2, -2.5, -3, -3.25};
    for (double expected : want) {
        opt.zero_grad();
        {
            tg::Tape tape;
            tape.backward(tg::sum(w));
        }
        opt.step();
        sched.step();
        CHECK(w.value<double>()(0) == expected);
    }
    CHECK(opt.options(0).lr == 0.25);
}

TEST_CASE("schedules resume from state_dict with the optimizer's") {
    // Run 7 epochs of warm-up + cosine with Adam, save both, run 6 more; a fresh pair loaded
    // from the save gives the same 6 learning rates.
    auto make = [](optim::Adam& opt, auto&& body) {
        optim::LinearLR warmup(opt, {.start_factor = 0.2, .total_iters = 4});
        optim::CosineAnnealingLR decay(opt, {.T_max = 10, .eta_min = 1e-4});
        optim::SequentialLR sched(opt, {.schedulers = {warmup, decay}, .milestones = {4}});
        body(sched);
    };
    tg::Tensor w = tg::zeros({1}, tg::f64).requires_grad_();
    optim::Adam opt({w}, {.lr = 0.01});
    tg::StateDict saved_sched, saved_opt;
    std::vector<double> after;
    make(opt, [&](optim::SequentialLR& s) {
        for (int e = 0; e < 7; ++e) s.step();
        saved_sched = s.state_dict();
        saved_opt = opt.state_dict();
        for (int e = 0; e < 6; ++e) {
            s.step();
            after.push_back(s.get_last_lr()[0]);
        }
    });
    tg::Tensor w2 = tg::zeros({1}, tg::f64).requires_grad_();
    optim::Adam opt2({w2}, {.lr = 0.01});
    make(opt2, [&](optim::SequentialLR& s) {
        opt2.load_state_dict(saved_opt);
        s.load_state_dict(saved_sched);
        CHECK(s.last_epoch() == 7);
        for (int e = 0; e < 6; ++e) {
            s.step();
            CHECK(s.get_last_lr()[0] == after[static_cast<std::size_t>(e)]);
        }
    });
    CHECK(saved_sched.count("schedulers.1.last_epoch") == 1);
}

TEST_CASE("a scheduler's state_dict round trip and its errors") {
    TwoGroups t;
    optim::ExponentialLR sched(t.opt, {.gamma = 0.5});
    sched.step();
    sched.step();
    const auto d = sched.state_dict();
    CHECK(d.at("last_epoch").item() == 2);
    TwoGroups u;
    optim::ExponentialLR other(u.opt, {.gamma = 0.5});
    other.load_state_dict(d);
    CHECK(other.last_epoch() == 2);
    CHECK(other.get_last_lr() == sched.get_last_lr());
    auto missing = d;
    missing.erase("base_lrs.1");
    try {
        other.load_state_dict(missing);
        FAIL("a state without base_lrs.1 was accepted");
    } catch (const tg::ValueError& e) {
        CHECK(std::string(e.what()).find("base_lrs.1") != std::string::npos);
    }
}

TEST_CASE("schedules reject invalid arguments") {
    TwoGroups t;
    CHECK_THROWS_AS(optim::StepLR(t.opt, {.step_size = 0}), tg::ValueError);
    CHECK_THROWS_AS(optim::ExponentialLR(t.opt, {.gamma = -0.5}), tg::ValueError);
    CHECK_THROWS_AS(optim::CosineAnnealingLR(t.opt, {.T_max = 0}), tg::ValueError);
    CHECK_THROWS_AS(optim::LinearLR(t.opt, {.start_factor = 0.0}), tg::ValueError);
    CHECK_THROWS_AS(optim::LinearLR(t.opt, {.start_factor = 0.5, .end_factor = 1.5}),
                    tg::ValueError);
    optim::LinearLR warmup(t.opt);
    optim::ExponentialLR decay(t.opt, {.gamma = 0.9});
    CHECK_THROWS_AS(optim::SequentialLR(t.opt, {.schedulers = {warmup, decay}}), tg::ValueError);
    TwoGroups other;
    optim::ExponentialLR foreign(other.opt, {.gamma = 0.9});
    CHECK_THROWS_AS(
        optim::SequentialLR(t.opt, {.schedulers = {warmup, foreign}, .milestones = {3}}),
        tg::ValueError);
    CHECK_THROWS_AS(optim::ReduceLROnPlateau(t.opt, {.factor = 1.0}), tg::ValueError);
    CHECK_THROWS_AS(optim::ReduceLROnPlateau(t.opt, {.patience = -1}), tg::ValueError);
}

TEST_CASE("schedules take option structs with PyTorch's names and defaults") {
    TwoGroups t;
    optim::StepLR step(t.opt, {.step_size = 1});  // gamma 0.1 by default
    step.step();
    CHECK(close(t.opt.param_groups()[0].lr, 0.01));
    TwoGroups u;
    optim::LinearLR warmup(u.opt);  // start 1/3, end 1, total_iters 5
    CHECK(close(u.opt.param_groups()[0].lr, 0.1 / 3));
    TwoGroups v;
    optim::CosineAnnealingLR cosine(v.opt, {.T_max = 2});  // eta_min 0
    cosine.step();
    cosine.step();
    CHECK(v.opt.param_groups()[0].lr == Approx(0.0).margin(1e-15));
    // PyTorch's required arguments have no default here either: the error names them.
    CHECK_THROWS_WITH(
        optim::StepLR(t.opt, {.gamma = 0.5}),
        Catch::Matchers::Contains("step_size") && Catch::Matchers::Contains("no default"));
    CHECK_THROWS_WITH(optim::ExponentialLR(t.opt, {}),
                      Catch::Matchers::Contains("gamma is required"));
    CHECK_THROWS_WITH(
        optim::CosineAnnealingLR(t.opt, {.eta_min = 0.01}),
        Catch::Matchers::Contains("T_max") && Catch::Matchers::Contains("no default"));
}

// ---- ReduceLROnPlateau ---------------------------------------------------------------------

namespace {

// The metrics of PLATEAU_METRICS in tests/data/optim_reference.py.
const double kMetrics[] = {1.0,  0.9,  0.95, 0.92, 0.91, 0.9,  0.89995, 0.85, 0.86, 0.87,
                           0.88, 0.89, 0.9,  0.91, 0.92, 0.93, 0.8,     0.81, 0.82, 0.83};

struct PlateauSequence {
    const char* name;
    std::vector<std::vector<double>> after;  // {lr group 0, lr group 1, num_bad_epochs, cooldown}
};

// Produced by `/usr/bin/python3 tests/data/optim_reference.py` (PyTorch 1.13), its PLATEAUS:
// plateau_min_rel = (mode min, factor 0.5, patience 2, cooldown 1);
// plateau_max_abs = (mode max, factor 0.1, patience 1, threshold 0.05 abs, min_lr 0.005).
const PlateauSequence kPlateau[] = {
    {"plateau_min_rel",
     {{0.1, 0.02, 0.0, 0.0},      {0.1, 0.02, 0.0, 0.0},       {0.1, 0.02, 1.0, 0.0},
      {0.1, 0.02, 2.0, 0.0},      {0.05, 0.01, 0.0, 1.0},      {0.05, 0.01, 0.0, 0.0},
      {0.05, 0.01, 1.0, 0.0},     {0.05, 0.01, 0.0, 0.0},      {0.05, 0.01, 1.0, 0.0},
      {0.05, 0.01, 2.0, 0.0},     {0.025, 0.005, 0.0, 1.0},    {0.025, 0.005, 0.0, 0.0},
      {0.025, 0.005, 1.0, 0.0},   {0.025, 0.005, 2.0, 0.0},    {0.0125, 0.0025, 0.0, 1.0},
      {0.0125, 0.0025, 0.0, 0.0}, {0.0125, 0.0025, 0.0, 0.0},  {0.0125, 0.0025, 1.0, 0.0},
      {0.0125, 0.0025, 2.0, 0.0}, {0.00625, 0.00125, 0.0, 1.0}}},
    {"plateau_max_abs",
     {{0.1, 0.02, 0.0, 0.0},
      {0.1, 0.02, 1.0, 0.0},
      {0.010000000000000002, 0.005, 0.0, 0.0},
      {0.010000000000000002, 0.005, 1.0, 0.0},
      {0.005, 0.005, 0.0, 0.0},
      {0.005, 0.005, 1.0, 0.0},
      {0.005, 0.005, 0.0, 0.0},
      {0.005, 0.005, 1.0, 0.0},
      {0.005, 0.005, 0.0, 0.0},
      {0.005, 0.005, 1.0, 0.0},
      {0.005, 0.005, 0.0, 0.0},
      {0.005, 0.005, 1.0, 0.0},
      {0.005, 0.005, 0.0, 0.0},
      {0.005, 0.005, 1.0, 0.0},
      {0.005, 0.005, 0.0, 0.0},
      {0.005, 0.005, 1.0, 0.0},
      {0.005, 0.005, 0.0, 0.0},
      {0.005, 0.005, 1.0, 0.0},
      {0.005, 0.005, 0.0, 0.0},
      {0.005, 0.005, 1.0, 0.0}}},
};

void check_plateau(optim::ReduceLROnPlateau& sched, TwoGroups& t, std::size_t which) {
    const auto& want = kPlateau[which].after;
    REQUIRE(want.size() == std::size(kMetrics));
    for (std::size_t e = 0; e < want.size(); ++e) {
        sched.step(kMetrics[e]);
        INFO(kPlateau[which].name << " epoch " << e + 1 << " metric " << kMetrics[e]);
        CHECK(close(t.opt.param_groups()[0].lr, want[e][0]));
        CHECK(close(t.opt.param_groups()[1].lr, want[e][1]));
        CHECK(sched.num_bad_epochs() == static_cast<std::int64_t>(want[e][2]));
        CHECK(sched.in_cooldown() == (want[e][3] > 0));
        CHECK(sched.get_last_lr()[0] == t.opt.param_groups()[0].lr);
    }
}

}  // namespace

TEST_CASE("ReduceLROnPlateau with patience and cooldown, as PyTorch") {
    // mode min, factor 0.5, patience 2, cooldown 1, threshold 1e-4 relative. By hand, first
    // epochs: 1.0 (best), 0.9 (best), 0.95 (bad 1), 0.92 (bad 2), 0.91 (bad 3 > 2: lr 0.1 ->
    // 0.05, cooldown 1), 0.9 (not < 0.9 * (1 - 1e-4): bad, but the cooldown epoch resets it),
    // 0.89995 (bad 1: not below 0.89991), 0.85 (best) ...
    TwoGroups t;
    optim::ReduceLROnPlateau sched(t.opt, {.factor = 0.5, .patience = 2, .cooldown = 1});
    check_plateau(sched, t, 0);
    CHECK(sched.best() == 0.8);
}

TEST_CASE("ReduceLROnPlateau in max mode with an absolute threshold and min_lr, as PyTorch") {
    TwoGroups t;
    optim::ReduceLROnPlateau sched(t.opt, {.mode = optim::PlateauMode::max,
                                           .factor = 0.1,
                                           .patience = 1,
                                           .threshold = 0.05,
                                           .threshold_mode = optim::ThresholdMode::abs,
                                           .min_lr = 0.005});
    check_plateau(sched, t, 1);
    CHECK(t.opt.param_groups()[1].lr == 0.005);  // never below min_lr
}

TEST_CASE("ReduceLROnPlateau defaults and state_dict") {
    TwoGroups t;
    optim::ReduceLROnPlateau sched(t.opt);  // patience 10, factor 0.1
    sched.step(1.0);
    for (int e = 0; e < 10; ++e) sched.step(2.0);
    CHECK(t.opt.lr() == 0.1);  // ten bad epochs are tolerated
    const auto saved = sched.state_dict();
    sched.step(2.0);
    CHECK(close(t.opt.lr(), 0.01));  // the eleventh reduces
    TwoGroups u;
    optim::ReduceLROnPlateau other(u.opt);
    other.load_state_dict(saved);
    CHECK(other.best() == 1.0);
    CHECK(other.num_bad_epochs() == 10);
    other.step(2.0);
    CHECK(close(u.opt.lr(), 0.01));
}

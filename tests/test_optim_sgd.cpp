// SGD: each option checked over three steps against values worked out by hand, a 20-step
// trajectory with two parameter groups against PyTorch 1.13, convergence on a convex
// quadratic, option validation, and an exact resume through state_dict.
#include <tapegrad/optim/adagrad.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/lbfgs.hpp>
#include <tapegrad/optim/newton.hpp>
#include <tapegrad/optim/rmsprop.hpp>
#include <tapegrad/optim/sgd.hpp>

#include "check.hpp"
#include "optim_problems.hpp"

namespace {

namespace optim = tg::optim;
using namespace testing;

// f(w) = w0^2 + 0.5 w1^2 from w = [1, -2]: the gradient is g = [2 w0, w1] (= [2, -2] at the
// start), so every step below can be followed with pencil and paper.
struct Tiny {
    tg::Tensor w = tg::tensor({1.0, -2.0}, tg::f64).requires_grad_();
    tg::Tensor c = tg::tensor({1.0, 0.5}, tg::f64);
    void backward(optim::Optimizer& opt) {
        opt.zero_grad();
        tg::Tape tape;
        tape.backward(tg::sum(c * tg::square(w)));
    }
    void step(optim::Optimizer& opt) {
        backward(opt);
        opt.step();
    }
};

// Three steps of opt on the tiny problem, checked after each.
void three_steps(optim::Optimizer& opt, Tiny& t, const std::vector<std::vector<double>>& want) {
    for (std::size_t s = 0; s < 3; ++s) {
        t.step(opt);
        INFO("after step " << s + 1);
        require_values(t.w, want[s]);
    }
}

// Produced by `/usr/bin/python3 tests/data/optim_reference.py` (PyTorch 1.13, float64).
const Reference kReference[] = {
    {"sgd_momentum_dampening_wd",
     {{0.0979578125, -0.19745859375000002, 0.30801406249999996, 0.034428125, -0.13697578124999998,
       0.26532421875, 0.42453125, -0.45171875},
      {0.11240527582794713, -0.10068662841480085, 0.6219689283927465, -0.3708826335498919,
       0.21619540147941826, 0.6874117816709865, 0.015149741229350724, -0.14939194771830194},
      {0.38604740109778235, 0.061604563234706824, 1.064174329562587, -0.3910269007222492,
       0.5618530638021428, 0.8516127371358919, -0.15570588157645, 0.026692268119612117}}},
    {"sgd_nesterov_wd",
     {{0.09611984375, -0.19517132812500002, 0.31522671874999997, 0.0204134375, -0.125253984375,
       0.279116015625, 0.48490625, -0.49034375},
      {0.1343923564721339, -0.06614244832214061, 0.6575040355468318, -0.36236256806818695,
       0.3029417328160412, 0.6896912580104253, 0.26602361804139474, -0.3321017740535763},
      {0.43649380793719755, 0.07448252063713633, 1.0604722310387005, -0.2918457135626192,
       0.6718566273167336, 0.7924226018010252, 0.09207079169732782, -0.18186357143824877}}},
    {"sgd_maximize",
     {{0.09800781250000001, -0.19755859375, 0.3081640625, 0.034453125, -0.13705078125,
       0.26544921875, 0.42453125, -0.45171875},
      {0.11422010960103866, -0.11823902700430222, 0.579346599813896, -0.304907524163441,
       0.15592638820623114, 0.6238794514890945, 0.014001600148615869, -0.15296079664166476},
      {0.29417682103362053, -0.011605678210242835, 0.8926698652444536, -0.35050368127717046,
       0.39328037097773566, 0.7688542462126237, -0.15773710761580303, 0.011436339191347311}}},
};

void compare_with_pytorch(const char* name, optim::SGD::Options g0, optim::SGD::Options g1,
                          bool negate) {
    compare_with_reference<optim::SGD>(kReference, name, g0, g1, negate);
}

}  // namespace

// ---- three steps by hand -------------------------------------------------------------------

TEST_CASE("SGD plain: three steps by hand") {
    // lr 0.1: w -= 0.1 g
    // t=1: g = [2, -2]        -> w = [0.8, -1.8]
    // t=2: g = [1.6, -1.8]    -> w = [0.64, -1.62]
    // t=3: g = [1.28, -1.62]  -> w = [0.512, -1.458]
    Tiny t;
    optim::SGD opt({t.w}, {.lr = 0.1});
    three_steps(opt, t, {{0.8, -1.8}, {0.64, -1.62}, {0.512, -1.458}});
}

TEST_CASE("SGD default lr is 0.01") {
    // t=1: g = [2, -2] -> w = [1 - 0.02, -2 + 0.02]
    Tiny t;
    optim::SGD opt({t.w});
    CHECK(opt.options(0).lr == 0.01);
    t.step(opt);
    require_values(t.w, {0.98, -1.98});
}

TEST_CASE("SGD momentum: three steps by hand") {
    // lr 0.1, momentum 0.9; the buffer starts as the first gradient.
    // t=1: g = [2, -2];       buf = [2, -2];                           w = [0.8, -1.8]
    // t=2: g = [1.6, -1.8];   buf = 0.9 [2, -2] + g = [3.4, -3.6];     w = [0.46, -1.44]
    // t=3: g = [0.92, -1.44]; buf = 0.9 [3.4, -3.6] + g = [3.98, -4.68]; w = [0.062, -0.972]
    Tiny t;
    optim::SGD opt({t.w}, {.lr = 0.1, .momentum = 0.9});
    three_steps(opt, t, {{0.8, -1.8}, {0.46, -1.44}, {0.062, -0.972}});
}

TEST_CASE("SGD momentum with dampening: three steps by hand") {
    // lr 0.1, momentum 0.9, dampening 0.5: buf = 0.9 buf + 0.5 g, except on the first step.
    // t=1: g = [2, -2];        buf = [2, -2] (undamped);                     w = [0.8, -1.8]
    // t=2: g = [1.6, -1.8];    buf = [1.8 + 0.8, -1.8 - 0.9] = [2.6, -2.7];   w = [0.54, -1.53]
    // t=3: g = [1.08, -1.53];  buf = [2.34 + 0.54, -2.43 - 0.765] = [2.88, -3.195];
    //                          w = [0.54 - 0.288, -1.53 + 0.3195] = [0.252, -1.2105]
    Tiny t;
    optim::SGD opt({t.w}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.5});
    three_steps(opt, t, {{0.8, -1.8}, {0.54, -1.53}, {0.252, -1.2105}});
}

TEST_CASE("SGD Nesterov: three steps by hand") {
    // lr 0.1, momentum 0.9, nesterov: d = g + 0.9 buf.
    // t=1: g = [2, -2]; buf = [2, -2]; d = [3.8, -3.8]; w = [0.62, -1.62]
    // t=2: g = [1.24, -1.62]; buf = [1.8 + 1.24, -1.8 - 1.62] = [3.04, -3.42];
    //      d = [1.24 + 2.736, -1.62 - 3.078] = [3.976, -4.698]; w = [0.2224, -1.1502]
    // t=3: g = [0.4448, -1.1502]; buf = [2.736 + 0.4448, -3.078 - 1.1502] = [3.1808, -4.2282];
    //      d = [0.4448 + 2.86272, -1.1502 - 3.80538] = [3.30752, -4.95558];
    //      w = [0.2224 - 0.330752, -1.1502 + 0.495558] = [-0.108352, -0.654642]
    Tiny t;
    optim::SGD opt({t.w}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
    three_steps(opt, t, {{0.62, -1.62}, {0.2224, -1.1502}, {-0.108352, -0.654642}});
}

TEST_CASE("SGD weight decay (L2 added to the gradient): three steps by hand") {
    // lr 0.1, weight_decay 0.1: d = g + 0.1 w.
    // t=1: d = [2 + 0.1, -2 - 0.2] = [2.1, -2.2];              w = [0.79, -1.78]
    // t=2: d = [1.58 + 0.079, -1.78 - 0.178] = [1.659, -1.958]; w = [0.6241, -1.5842]
    // t=3: d = [1.2482 + 0.06241, -1.5842 - 0.15842] = [1.31061, -1.74262];
    //      w = [0.6241 - 0.131061, -1.5842 + 0.174262] = [0.493039, -1.409938]
    Tiny t;
    optim::SGD opt({t.w}, {.lr = 0.1, .weight_decay = 0.1});
    three_steps(opt, t, {{0.79, -1.78}, {0.6241, -1.5842}, {0.493039, -1.409938}});
}

TEST_CASE("SGD momentum with weight decay: three steps by hand") {
    // lr 0.1, momentum 0.5, weight_decay 0.1: the decayed gradient enters the buffer.
    // t=1: d = [2.1, -2.2]; buf = d; w = [0.79, -1.78]
    // t=2: d = [1.659, -1.958]; buf = [1.05 + 1.659, -1.1 - 1.958] = [2.709, -3.058];
    //      w = [0.79 - 0.2709, -1.78 + 0.3058] = [0.5191, -1.4742]
    // t=3: d = [1.0382 + 0.05191, -1.4742 - 0.14742] = [1.09011, -1.62162];
    //      buf = [1.3545 + 1.09011, -1.529 - 1.62162] = [2.44461, -3.15062];
    //      w = [0.5191 - 0.244461, -1.4742 + 0.315062] = [0.274639, -1.159138]
    Tiny t;
    optim::SGD opt({t.w}, {.lr = 0.1, .momentum = 0.5, .weight_decay = 0.1});
    three_steps(opt, t, {{0.79, -1.78}, {0.5191, -1.4742}, {0.274639, -1.159138}});
}

TEST_CASE("SGD maximize climbs the gradient: three steps by hand") {
    // lr 0.1, maximize: w += 0.1 g.
    // t=1: g = [2, -2] -> w = [1.2, -2.2]; t=2: g = [2.4, -2.2] -> w = [1.44, -2.42];
    // t=3: g = [2.88, -2.42] -> w = [1.728, -2.662]
    Tiny t;
    optim::SGD opt({t.w}, {.lr = 0.1, .maximize = true});
    three_steps(opt, t, {{1.2, -2.2}, {1.44, -2.42}, {1.728, -2.662}});
}

TEST_CASE("SGD groups follow their own options") {
    // Group 0: plain lr 0.1 (values of "SGD plain"); group 1: momentum 0.9 (of "SGD momentum").
    Tiny a, b;
    optim::SGD opt({a.w}, {.lr = 0.1});
    opt.add_param_group({b.w}, {.lr = 0.1, .momentum = 0.9});
    REQUIRE(opt.param_groups().size() == 2);
    const std::vector<std::vector<double>> plain = {{0.8, -1.8}, {0.64, -1.62}, {0.512, -1.458}};
    const std::vector<std::vector<double>> heavy = {{0.8, -1.8}, {0.46, -1.44}, {0.062, -0.972}};
    for (int s = 0; s < 3; ++s) {
        opt.zero_grad();
        {
            tg::Tape tape;
            tape.backward(tg::sum(a.c * tg::square(a.w)) + tg::sum(b.c * tg::square(b.w)));
        }
        opt.step();
        require_values(a.w, plain[s]);
        require_values(b.w, heavy[s]);
    }
    CHECK(opt.options(1).momentum == 0.9);
    CHECK(opt.options(0).momentum == 0.0);
}

TEST_CASE("SGD float32 parameters follow the same arithmetic") {
    tg::Tensor w = tg::tensor({1.0, -2.0}, tg::f32).requires_grad_();
    tg::Tensor c = tg::tensor({1.0, 0.5}, tg::f32);
    optim::SGD opt({w}, {.lr = 0.1, .momentum = 0.9});
    const std::vector<std::vector<double>> want = {{0.8, -1.8}, {0.46, -1.44}, {0.062, -0.972}};
    for (int s = 0; s < 3; ++s) {
        opt.zero_grad();
        {
            tg::Tape tape;
            tape.backward(tg::sum(c * tg::square(w)));
        }
        opt.step();
        REQUIRE(w.dtype() == tg::f32);
        require_values(w, want[s], 1e-6);
    }
    CHECK(opt.state_dict().at("state.0.0.momentum_buffer").dtype() == tg::f32);
}

TEST_CASE("SGD skips parameters without a gradient and records nothing on a tape") {
    Tiny t;
    tg::Tensor unused = tg::tensor({5.0, 6.0}, tg::f64).requires_grad_();
    optim::SGD opt({t.w, unused}, {.lr = 0.1, .momentum = 0.9});
    t.backward(opt);
    tg::Tape outer;  // a live tape must not see the update
    const auto nodes_before = outer.nodes().size();
    opt.step();
    CHECK(outer.nodes().size() == nodes_before);
    require_values(t.w, {0.8, -1.8});
    require_values(unused, {5.0, 6.0});
    const auto d = opt.state_dict();
    CHECK(d.count("state.0.0.momentum_buffer") == 1);
    CHECK(d.count("state.0.1.momentum_buffer") == 0);
}

TEST_CASE("SGD without momentum keeps no state") {
    Tiny t;
    optim::SGD opt({t.w}, {.lr = 0.1});
    t.step(opt);
    for (const auto& [key, value] : opt.state_dict()) CHECK(key.rfind("state.", 0) != 0);
}

// ---- validation ----------------------------------------------------------------------------

TEST_CASE("SGD rejects invalid options, naming the option") {
    tg::Tensor w = tg::tensor({1.0}, tg::f64).requires_grad_();
    auto message = [&](optim::SGD::Options o) -> std::string {
        try {
            optim::SGD opt({w}, o);
        } catch (const tg::ValueError& e) {
            return e.what();
        }
        return "";
    };
    const std::string lr = message({.lr = -0.1});
    CHECK(lr.find("SGD") != std::string::npos);
    CHECK(lr.find("lr") != std::string::npos);
    CHECK(message({.momentum = -0.5}).find("momentum") != std::string::npos);
    CHECK(message({.weight_decay = -1}).find("weight_decay") != std::string::npos);
    const std::string nesterov_no_momentum = message({.nesterov = true});
    CHECK(nesterov_no_momentum.find("nesterov") != std::string::npos);
    const std::string nesterov_dampening =
        message({.momentum = 0.9, .dampening = 0.1, .nesterov = true});
    CHECK(nesterov_dampening.find("dampening") != std::string::npos);
    CHECK(message({.lr = 0.1, .momentum = 0.9, .nesterov = true}).empty());
    // The same checks apply to added groups.
    optim::SGD opt({w});
    tg::Tensor v = tg::tensor({1.0}, tg::f64).requires_grad_();
    CHECK_THROWS_AS(opt.add_param_group({v}, {.lr = -1}), tg::ValueError);
}

TEST_CASE("SGD refuses a parameter listed twice") {
    tg::Tensor w = tg::tensor({1.0}, tg::f64).requires_grad_();
    CHECK_THROWS_AS(optim::SGD({w, w}), tg::ValueError);
    optim::SGD opt({w});
    CHECK_THROWS_AS(opt.add_param_group({w}, {}), tg::ValueError);
}

TEST_CASE("every optimizer refuses an empty parameter list, as PyTorch") {
    // A custom module that forgot register_module has no parameters: nothing would train.
    const auto empty = Catch::Matchers::Contains("empty parameter list");
    CHECK_THROWS_TYPED(optim::SGD(std::vector<tg::Tensor>{}), tg::ValueError, empty);
    CHECK_THROWS_TYPED(optim::Adam(std::vector<tg::Tensor>{}), tg::ValueError, empty);
    CHECK_THROWS_TYPED(optim::AdamW(std::vector<tg::Tensor>{}), tg::ValueError, empty);
    CHECK_THROWS_TYPED(optim::RMSprop(std::vector<tg::Tensor>{}), tg::ValueError, empty);
    CHECK_THROWS_TYPED(optim::Adagrad(std::vector<tg::Tensor>{}), tg::ValueError, empty);
    CHECK_THROWS_TYPED(optim::LBFGS(std::vector<tg::Tensor>{}), tg::ValueError, empty);
    CHECK_THROWS_TYPED(optim::Newton(std::vector<tg::Tensor>{}), tg::ValueError, empty);
    // A later group without parameters is refused too, naming the group.
    tg::Tensor w = tg::tensor({1.0}, tg::f64).requires_grad_();
    optim::SGD opt({w});
    CHECK_THROWS_TYPED(opt.add_param_group(std::vector<tg::Tensor>{}, {}), tg::ValueError,
                       Catch::Matchers::Contains("parameter group 1 is empty"));
}

// ---- against PyTorch -----------------------------------------------------------------------

TEST_CASE("SGD matches PyTorch 1.13 over 20 steps with two groups") {
    compare_with_pytorch("sgd_momentum_dampening_wd",
                         {.lr = 0.05, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01},
                         {.lr = 0.1}, false);
    compare_with_pytorch("sgd_nesterov_wd",
                         {.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true},
                         {.lr = 0.02, .momentum = 0.5}, false);
    compare_with_pytorch("sgd_maximize", {.lr = 0.05, .momentum = 0.8, .maximize = true},
                         {.lr = 0.1, .maximize = true}, true);
}

// ---- convergence ---------------------------------------------------------------------------

TEST_CASE("SGD converges on a convex quadratic") {
    SECTION("plain: |Aw - b|_inf < 1e-10 after 500 steps") {
        tg::Tensor w = tg::zeros({3, 1}, tg::f64).requires_grad_();
        optim::SGD opt({w}, {.lr = 0.2});
        CHECK(quadratic_grad_norm_after(opt, w, 500) < 1e-10);
    }
    SECTION("momentum: |Aw - b|_inf < 1e-10 after 300 steps") {
        tg::Tensor w = tg::zeros({3, 1}, tg::f64).requires_grad_();
        optim::SGD opt({w}, {.lr = 0.1, .momentum = 0.8});
        CHECK(quadratic_grad_norm_after(opt, w, 300) < 1e-10);
    }
    SECTION("Nesterov: |Aw - b|_inf < 1e-10 after 300 steps") {
        tg::Tensor w = tg::zeros({3, 1}, tg::f64).requires_grad_();
        optim::SGD opt({w}, {.lr = 0.1, .momentum = 0.8, .nesterov = true});
        CHECK(quadratic_grad_norm_after(opt, w, 300) < 1e-10);
    }
}

// ---- state_dict ----------------------------------------------------------------------------

TEST_CASE("SGD state_dict resumes bit for bit") {
    const optim::SGD::Options o0{
        .lr = 0.05, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true};
    const optim::SGD::Options o1{.lr = 0.1, .momentum = 0.5, .dampening = 0.2};
    SavedAfterFive<optim::SGD> r(o0, o1);
    // A fresh optimizer made with other options: load_state_dict restores them too.
    optim::SGD opt2({r.resumed.W}, {.lr = 1.0});
    opt2.add_param_group({r.resumed.b}, {.lr = 1.0});
    opt2.load_state_dict(r.saved);
    CHECK(opt2.options(0).lr == 0.05);
    CHECK(opt2.options(0).nesterov);
    CHECK(opt2.options(1).dampening == 0.2);
    for (int s = 0; s < 5; ++s) r.resumed.step(opt2);
    CHECK(r.run.flat() == r.resumed.flat());  // bit for bit
}

TEST_CASE("SGD load_state_dict rejects a state that does not fit, changing nothing") {
    LeastSquares p;
    optim::SGD opt({p.W, p.b}, {.lr = 0.1, .momentum = 0.9});
    p.step(opt);
    tg::StateDict d = opt.state_dict();
    d.erase("param_groups.0.momentum");
    optim::SGD other({p.W, p.b}, {.lr = 0.3});
    try {
        other.load_state_dict(d);
        FAIL("load_state_dict accepted a dict without the momentum option");
    } catch (const tg::ValueError& e) {
        CHECK(std::string(e.what()).find("param_groups.0.momentum") != std::string::npos);
    }
    CHECK(other.lr() == 0.3);
    CHECK(other.options(0).momentum == 0.0);
}

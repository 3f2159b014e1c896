// L-BFGS: convergence on Rosenbrock, step-by-step agreement with torch.optim.LBFGS (PyTorch
// 1.13, float64) with and without the strong-Wolfe line search, exact resumption from a
// state_dict (also through an .npz file), float32 parameters, and the closure requirement.
#include <filesystem>
#include <tapegrad/formats/npz.hpp>
#include <tapegrad/optim/lbfgs.hpp>

#include "check.hpp"
#include "optim_problems.hpp"

namespace {

using namespace testing;
using tg::optim::LBFGS;
using tg::optim::LBFGSOptions;
using tg::optim::LineSearch;

// f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, minimum 0 at (1, 1); x and y are two scalars.
Problem rosenbrock(double x0, double y0, tg::Dtype dtype = tg::f64) {
    tg::Tensor x = tg::scalar(x0, dtype).requires_grad_();
    tg::Tensor y = tg::scalar(y0, dtype).requires_grad_();
    return {{x, y}, [x, y] { return tg::square(1.0 - x) + 100.0 * tg::square(y - tg::square(x)); }};
}

// mean((A w + c - b)^2), A 8x3 and b 8x1 of exact binary fractions (the same formulas as in
// tests/data/lbfgs_reference.py), w 3x1 from 0.5 and c (shape [1]) from 0.
Problem least_squares() {
    xt::xarray<double> a = xt::zeros<double>({8, 3});
    xt::xarray<double> b = xt::zeros<double>({8, 1});
    for (int i = 0; i < 8; ++i) {
        for (int j = 0; j < 3; ++j) a(i, j) = ((7 * i + 3 * j) % 11 - 5) / 4.0;
        b(i, 0) = ((5 * i) % 7 - 3) / 2.0;
    }
    tg::Tensor A = tg::from_array(a), B = tg::from_array(b);
    tg::Tensor w = tg::full({3, 1}, 0.5, tg::f64).requires_grad_();
    tg::Tensor c = tg::zeros({1}, tg::f64).requires_grad_();
    return {{w, c}, [A, B, w, c] { return tg::mean(tg::square(tg::matmul(A, w) + c - B)); }};
}

// One row per step(): {loss returned, func_evals after, parameters after...}.
using Trajectory = std::vector<std::vector<double>>;

Trajectory run(Problem& p, const LBFGSOptions& o, int steps) {
    LBFGS opt(p.params, o);
    auto closure = closure_for(opt, p);
    Trajectory rows;
    for (int i = 0; i < steps; ++i) {
        std::vector<double> row{opt.step(closure), static_cast<double>(opt.func_evals())};
        for (double v : flat(p.params)) row.push_back(v);
        rows.push_back(row);
    }
    return rows;
}

void require_matches(const Trajectory& got, const Trajectory& want) {
    REQUIRE(got.size() == want.size());
    for (std::size_t s = 0; s < want.size(); ++s) {
        REQUIRE(got[s].size() == want[s].size());
        INFO("step " << s + 1);
        CHECK(got[s][1] == want[s][1]);  // func_evals: the same iterations and line searches
        for (std::size_t k = 0; k < want[s].size(); ++k) {
            INFO("entry " << k << ": got " << got[s][k] << ", PyTorch " << want[s][k]);
            CHECK(std::abs(got[s][k] - want[s][k]) <= 1e-10 * std::max(1.0, std::abs(want[s][k])));
        }
    }
}

// Steps until both coordinates are within tol of (1, 1), at most max_steps.
int steps_to_minimum(LineSearch ls, double tol, int max_steps) {
    Problem p = rosenbrock(-1.5, 2.0);
    // The default tolerances stop each step once the loss changes by less than 1e-9, which
    // near the minimum is long before |x - 1| < 1e-6: tightened here, as in PyTorch.
    LBFGS opt(p.params, {.tolerance_grad = 1e-12, .tolerance_change = 1e-15, .line_search = ls});
    auto closure = closure_for(opt, p);
    for (int s = 1; s <= max_steps; ++s) {
        opt.step(closure);
        const auto x = flat(p.params);
        if (std::abs(x[0] - 1) < tol && std::abs(x[1] - 1) < tol) return s;
    }
    return max_steps + 1;
}

}  // namespace

TEST_CASE("LBFGS reaches the minimum of Rosenbrock from (-1.5, 2)") {
    // PyTorch 1.13 with the same options needs 5 steps (91 iterations) without a line search
    // and 3 steps (43 iterations) with strong Wolfe.
    CHECK(steps_to_minimum(LineSearch::none, 1e-6, 50) <= 5);
    CHECK(steps_to_minimum(LineSearch::strong_wolfe, 1e-6, 50) <= 3);
}

// The rows below were printed by tests/data/lbfgs_reference.py (torch.optim.LBFGS, PyTorch
// 1.13 from Debian's python3-torch, float64): {loss, func_evals, parameters...} per step.
TEST_CASE("LBFGS follows PyTorch step by step on Rosenbrock") {
    const LBFGSOptions base{.max_iter = 4, .history_size = 3};
    SECTION("no line search") {
        const Trajectory want = {
            {12.5, 4, -1.3978609639575563, 2.0067671025646203},
            {6.0280127382928885, 8, -1.4083046110298922, 1.9815196287729058},
            {5.8002559095365482, 12, -1.1744469415394372, 1.3233499507948938},
            {5.04154703897649, 16, -0.85935264203888351, 0.74512902981974061},
            {3.4616039521170192, 20, -0.74065678246448663, 0.50748875593453602},
        };
        Problem p = rosenbrock(-1.5, 2.0);
        require_matches(run(p, base, 5), want);
    }
    SECTION("strong Wolfe") {
        const Trajectory want = {
            {12.5, 5, -1.4201365045001701, 2.0237104251447131},
            {5.8618531246449894, 10, -1.3479374965818209, 1.7813100097782868},
            {5.6397280053834038, 16, -0.82975335509961812, 0.64921602415167279},
            {3.5022468093016497, 21, -0.45159295771135943, 0.15833436790720451},
            {2.3150748189239461, 27, 0.056564218291357528, -0.02217403695628194},
        };
        LBFGSOptions o = base;
        o.line_search = LineSearch::strong_wolfe;
        Problem p = rosenbrock(-1.5, 2.0);
        require_matches(run(p, o, 5), want);
    }
}

TEST_CASE("LBFGS follows PyTorch step by step on least squares") {
    const LBFGSOptions base{.max_iter = 2, .history_size = 2};
    SECTION("no line search") {
        const Trajectory want = {
            {0.794921875, 2, 0.38484848484848483, 1.0151515151515151, 0.44545454545454544,
             -0.31515151515151513},
            {0.56049350034435264, 4, 0.43550400169881287, 1.0728443685198576, 0.54613769625459407,
             -0.26835155041453423},
            {0.53823955558047509, 6, 0.65478011615020648, 1.2391690846009724, 0.88224597555580742,
             -0.27369553777018624},
            {0.51360124173740263, 8, 0.70192060412648927, 1.3673453273391249, 0.83937216598630271,
             -0.22414440681246856},
            {0.52055408419848526, 10, 0.64065584209966375, 1.2656571512105055, 0.83698757104387034,
             -0.25587841841353154},
        };
        Problem p = least_squares();
        require_matches(run(p, base, 5), want);
    }
    SECTION("strong Wolfe") {
        const Trajectory want = {
            {0.794921875, 2, 0.38484848484848483, 1.0151515151515151, 0.44545454545454544,
             -0.31515151515151513},
            {0.56049350034435264, 4, 0.43550400169881287, 1.0728443685198576, 0.54613769625459407,
             -0.26835155041453423},
            {0.53823955558047509, 6, 0.65478011615020648, 1.2391690846009724, 0.88224597555580742,
             -0.27369553777018624},
            {0.51360124173740263, 9, 0.67074681345331633, 1.2825829599575378, 0.86772442160049268,
             -0.2569123447445501},
            {0.5111286507217, 11, 0.64065584209966364, 1.2656571512105055, 0.83698757104387012,
             -0.25587841841353154},
        };
        LBFGSOptions o = base;
        o.line_search = LineSearch::strong_wolfe;
        Problem p = least_squares();
        require_matches(run(p, o, 5), want);
    }
}

TEST_CASE("LBFGS resumed from its state_dict continues bit for bit") {
    const auto ls = GENERATE(LineSearch::none, LineSearch::strong_wolfe);
    const auto dtype = GENERATE(tg::f64, tg::f32);
    const bool through_file = GENERATE(false, true);
    INFO("strong_wolfe " << (ls == LineSearch::strong_wolfe) << ", dtype " << tg::dtype_name(dtype)
                         << ", through .npz " << through_file);
    // history_size 2 so that the resumed history has already dropped old pairs.
    const LBFGSOptions o{.max_iter = 3, .history_size = 2, .line_search = ls};

    Problem whole = rosenbrock(-1.5, 2.0, dtype);
    LBFGS opt_whole(whole.params, o);
    auto closure_whole = closure_for(opt_whole, whole);
    std::vector<double> losses_whole;
    for (int i = 0; i < 6; ++i) losses_whole.push_back(opt_whole.step(closure_whole));

    Problem first = rosenbrock(-1.5, 2.0, dtype);
    tg::StateDict saved;
    {
        LBFGS opt(first.params, o);
        auto closure = closure_for(opt, first);
        for (int i = 0; i < 3; ++i) REQUIRE(opt.step(closure) == losses_whole[i]);
        saved = opt.state_dict();
    }
    REQUIRE(saved.count("lbfgs.old_dirs") == 1);
    if (through_file) {
        const auto path = std::filesystem::temp_directory_path() / "tapegrad_test_lbfgs.npz";
        tg::formats::save_npz(path, saved);
        saved = tg::formats::load_npz(path);
        std::filesystem::remove(path);
    }

    // Fresh parameters with the saved values, and an optimizer built with other options:
    // loading restores the options too.
    const auto values = flat(first.params);
    Problem resumed = rosenbrock(values[0], values[1], dtype);
    LBFGS opt(resumed.params, {.lr = 0.1, .max_iter = 7});
    opt.load_state_dict(saved);
    CHECK(opt.lr() == 1.0);
    CHECK(opt.options().max_iter == 3);
    CHECK(opt.options().history_size == 2);
    CHECK(opt.options().line_search == ls);
    auto closure = closure_for(opt, resumed);
    for (int i = 3; i < 6; ++i) CHECK(opt.step(closure) == losses_whole[i]);
    CHECK(flat(resumed.params) == flat(whole.params));
    CHECK(opt.func_evals() == opt_whole.func_evals());
    CHECK(opt.n_iter() == opt_whole.n_iter());
}

TEST_CASE("LBFGS rejects a state_dict for other parameters") {
    Problem p = rosenbrock(-1.5, 2.0);
    LBFGS opt(p.params);
    auto closure = closure_for(opt, p);
    opt.step(closure);
    const auto saved = opt.state_dict();

    Problem q = least_squares();
    LBFGS other(q.params, {.max_iter = 5});
    REQUIRE_THROWS_WITH(other.load_state_dict(saved), Catch::Contains("lbfgs.d") &&
                                                          Catch::Contains("[2]") &&
                                                          Catch::Contains("[4]"));
    CHECK(other.options().max_iter == 5);  // unchanged
    CHECK(other.n_iter() == 0);
    auto missing = saved;
    missing.erase("lbfgs.prev_loss");
    REQUIRE_THROWS_WITH(opt.load_state_dict(missing), Catch::Contains("lbfgs.prev_loss"));
}

TEST_CASE("LBFGS trains float32 parameters") {
    Problem p = rosenbrock(-1.5, 2.0, tg::f32);
    LBFGS opt(p.params, {.line_search = LineSearch::strong_wolfe});
    auto closure = closure_for(opt, p);
    for (int i = 0; i < 10; ++i) opt.step(closure);
    CHECK(p.params[0].dtype() == tg::f32);
    const auto x = flat(p.params);
    CHECK(std::abs(x[0] - 1) < 1e-3);
    CHECK(std::abs(x[1] - 1) < 2e-3);
}

TEST_CASE("LBFGS stops at once where the gradient is already zero") {
    Problem p = rosenbrock(1.0, 1.0);
    LBFGS opt(p.params);
    auto closure = closure_for(opt, p);
    CHECK(opt.step(closure) == 0.0);
    CHECK(flat(p.params) == std::vector<double>{1.0, 1.0});
    CHECK(opt.func_evals() == 1);
    CHECK(opt.n_iter() == 0);
    CHECK(opt.state_dict().count("lbfgs.d") == 0);
}

TEST_CASE("LBFGS needs a closure and sane options") {
    Problem p = rosenbrock(-1.5, 2.0);
    LBFGS opt(p.params);
    REQUIRE_THROWS_AS(opt.step(), tg::ValueError);
    REQUIRE_THROWS_WITH(opt.step(), Catch::Contains("closure"));
    REQUIRE_THROWS_WITH(opt.step(std::function<double()>{}), Catch::Contains("closure"));
    CHECK(flat(p.params) == std::vector<double>{-1.5, 2.0});
    CHECK_THROWS_AS(LBFGS(p.params, {.max_iter = 0}), tg::ValueError);
    CHECK_THROWS_AS(LBFGS(p.params, {.history_size = 0}), tg::ValueError);
    CHECK_THROWS_AS(LBFGS({}, {}), tg::ValueError);
    CHECK(LBFGS(p.params, {.max_iter = 8}).state_dict().at("param_groups.0.max_eval").item() == 10);
}

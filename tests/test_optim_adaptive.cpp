// Adam, AMSGrad, AdamW, RMSprop and Adagrad: each option over three steps against arithmetic
// worked out by hand, 20-step trajectories with two parameter groups against PyTorch 1.13,
// convergence on a convex quadratic, validation, float32, and an exact resume.
#include <tapegrad/optim/adagrad.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/rmsprop.hpp>

#include "check.hpp"
#include "optim_problems.hpp"

namespace {

namespace optim = tg::optim;
using namespace testing;
using std::sqrt;

// The tiny problem of the hand-worked tests: at step t the loss is the linear f_t(w) = G_t . w,
// so the gradient is exactly G_t (plus weight decay where asked) and each update is a few
// lines of arithmetic. w starts at [1, -1]; element 0 sees a gradient that shrinks
// (4, 1, 1), element 1 a constant one (-2).
const double G[3][2] = {{4, -2}, {1, -2}, {1, -2}};

struct Tiny {
    tg::Tensor w = tg::tensor({1.0, -1.0}, tg::f64).requires_grad_();
    void step(optim::Optimizer& opt, int t) {
        opt.zero_grad();
        {
            tg::Tape tape;
            tape.backward(tg::sum(tg::tensor({G[t][0], G[t][1]}, tg::f64) * w));
        }
        opt.step();
    }
};

// Runs three steps of opt on its own Tiny problem and checks the values after each.
template <class Opt, class Options>
void check_three_steps(Options o, const std::vector<std::vector<double>>& want,
                       double tol = 1e-13) {
    Tiny t;
    Opt opt({t.w}, o);
    for (int s = 0; s < 3; ++s) {
        t.step(opt, s);
        INFO("after step " << s + 1);
        require_values(t.w, want[static_cast<std::size_t>(s)], tol);
    }
}

// Produced by `/usr/bin/python3 tests/data/optim_reference.py` (PyTorch 1.13, float64); the
// options of each configuration are in that script's CONFIGS and in the test below.
const Reference kReference[] = {
    {"adam_wd_amsgrad",
     {{0.05000001224177207, -0.15000000983707157, 0.3499999968804837, 1.6054585091906937e-09,
       -0.10000000191950084, 0.29999999836859553, 0.40000000132505176, -0.40000000207119735},
      {0.3266223575847401, -0.07836227069579615, 0.7946210250328697, -0.39401986166545433,
       0.3111745289785519, 0.7209990575841249, -0.31243938838711666, 0.1949907628635433},
      {0.5627387657584461, 0.06788482100953419, 1.2013391708883165, -0.4056321760829932,
       0.6731430214158405, 0.9033756683906675, -0.30163576053726143, 0.10185813399341269}}},
    {"adam_maximize_amsgrad",
     {{0.05000001254901648, -0.15000001023999793, 0.3499999969377992, 1.608040152423218e-09,
       -0.10000000193061831, 0.29999999838179525, 0.4800000265010001, -0.48000004142386243},
      {0.30189144126781203, -0.02144109390917607, 0.7767325629160506, -0.36445643266673633,
       0.33467349887954734, 0.7041131238101305, 0.3022391744130287, -0.30126737196349435},
      {0.5361282372864946, 0.05523557195433096, 1.1287614981109755, -0.3098291295906358,
       0.7609950059827829, 0.8450569307245581, 0.11756110370628654, -0.11404423296009217}}},
    {"adamw",
     {{0.04950001254901648, -0.14900001023999793, 0.3484999969377992, -0.0002499983919598478,
       -0.09925000193061831, 0.2987499983817953, 0.48000000026501033, -0.48000000041423946},
      {0.2971021821892765, -0.029677126314113022, 0.7550991045679387, -0.36010072262027715,
       0.3299756827133006, 0.6838879003861006, 0.3022734345068075, -0.3013167877492741},
      {0.5167156655917992, 0.041478186807280666, 1.0918828917376102, -0.3113164716045031,
       0.7270683951290107, 0.815827651841145, 0.11774072518591458, -0.11449782479703313}}},
    {"rmsprop_momentum_centered",
     {{2.509797622785026e-07, -0.10000020479958062, 0.3999999387560183, -0.04999996783920628,
       -0.050000038612353165, 0.34999996763591434, 0.39949623185843824, -0.39949623939526047},
      {0.3423202374235237, -0.07182451990525326, 0.8051507954084571, -0.3222063096261778,
       0.2141230578726686, 0.6769613405488921, -0.7407001994097199, 0.3370106302981221},
      {0.3993509129174706, 0.008154708281118478, 0.948575004437684, -0.29551486226816065,
       0.42883979403815276, 0.7465718061449156, -0.051068215521535336, -0.046147958798144754}}},
    {"rmsprop_centered_wd",
     {{0.06666668895853611, -0.1666666828099304, 0.3333333249967456, 0.016666670183536278,
       -0.11666667072204748, 0.28333332942075545, 0.45000000662525796, -0.4500000103559849},
      {0.14195703100377602, -0.08995448688954899, 0.5124607148941673, -0.14491519099415642,
       0.04710149624774011, 0.45527764059292175, 0.08863945412789945, -0.11574200430598562},
      {0.24366897584157243, -0.05458019292399657, 0.6876201970724094, -0.2528149952106676,
       0.21632200425801623, 0.5937733597558302, -0.07197013719672131, 0.0015948973825245078}}},
    {"adagrad",
     {{0.08719047527279901, -0.18413042352426523, 0.3452097620088767, -0.020168979202601578,
       -0.08642032912446482, 0.31959577055503136, 0.3155392078568821, -0.3326925516465009},
      {0.18586166665252088, -0.09904220423791163, 0.6220607694111724, -0.2518037546464545,
       0.1430715105208253, 0.5816053442925005, -0.14510156835095567, 0.027490143624807797},
      {0.28683796190400773, -0.05247097528640919, 0.7764190036167627, -0.30442222358754295,
       0.2753995351523228, 0.6839311625537507, -0.23731965316153214, 0.07819759204257061}}},
};

template <class Opt>
void compare_with_pytorch(const char* name, typename Opt::Options g0, typename Opt::Options g1,
                          bool negate = false) {
    compare_with_reference<Opt>(kReference, name, g0, g1, negate);
}

// Trains 5 steps, saves, trains 5 more; a fresh optimizer on fresh parameters restored from
// the save and trained 5 steps must land on the same bits.
template <class Opt>
void check_resume(typename Opt::Options o0, typename Opt::Options o1) {
    SavedAfterFive<Opt> r(o0, o1);
    Opt opt2({r.resumed.W}, {});
    opt2.add_param_group({r.resumed.b}, {});
    opt2.load_state_dict(r.saved);
    CHECK(opt2.lr() == o0.lr);
    CHECK(opt2.param_groups()[1].lr == o1.lr);
    for (int s = 0; s < 5; ++s) r.resumed.step(opt2);
    CHECK(r.run.flat() == r.resumed.flat());  // bit for bit
}

template <class Opt>
std::string construction_error(typename Opt::Options o) {
    tg::Tensor w = tg::tensor({1.0}, tg::f64).requires_grad_();
    try {
        Opt opt({w}, o);
    } catch (const tg::ValueError& e) {
        return e.what();
    }
    return "";
}

bool mentions(const std::string& message, const std::string& a, const std::string& b) {
    return message.find(a) != std::string::npos && message.find(b) != std::string::npos;
}

}  // namespace

// ---- Adam ----------------------------------------------------------------------------------

TEST_CASE("Adam: three steps by hand") {
    // lr 0.1, betas (0.9, 0.999), eps 1e-8; bias corrections bc1 = 1 - 0.9^t, bc2 = 1 - 0.999^t;
    // each step w -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps).
    // Element 0 (g = 4, 1, 1):
    //   t=1: m = 0.4,               v = 0.001 * 16 = 0.016;              bc1 = 0.1,   bc2 = 0.001
    //   t=2: m = 0.36 + 0.1 = 0.46, v = 0.015984 + 0.001 = 0.016984;     bc1 = 0.19,  bc2 =
    //   0.001999 t=3: m = 0.414 + 0.1 = 0.514, v = 0.016967016 + 0.001 = 0.017967016;
    //                                                        bc1 = 0.271, bc2 = 0.002997001
    // Element 1 (g = -2 throughout): m / bc1 = -2 and sqrt(v / bc2) = 2 at every step, so
    //   w += 0.1 * 2 / (2 + 1e-8) each time (a step of lr, as Adam's first steps are).
    const double e = 1e-8;
    const double a1 = 1 - 0.1 / 0.1 * 0.4 / (sqrt(0.016) / sqrt(0.001) + e);
    const double a2 = a1 - 0.1 / 0.19 * 0.46 / (sqrt(0.016984) / sqrt(0.001999) + e);
    const double a3 = a2 - 0.1 / 0.271 * 0.514 / (sqrt(0.017967016) / sqrt(0.002997001) + e);
    const double d = 0.2 / (2 + e);
    check_three_steps<optim::Adam>(optim::AdamOptions{.lr = 0.1},
                                   {{a1, -1 + d}, {a2, -1 + 2 * d}, {a3, -1 + 3 * d}});
    CHECK(std::abs(a1 - 0.9) < 1e-8);  // the first step is lr whatever the gradient's size
}

TEST_CASE("Adam maximize: the same steps uphill") {
    // The gradients are negated, so each element moves by the amounts of "Adam: three steps by
    // hand" in the other direction: w0 = 1 + (1 - a_t), w1 = -1 - t d.
    const double e = 1e-8;
    const double a1 = 1 - 0.4 / (sqrt(0.016) / sqrt(0.001) + e);
    const double a2 = a1 - 0.1 / 0.19 * 0.46 / (sqrt(0.016984) / sqrt(0.001999) + e);
    const double a3 = a2 - 0.1 / 0.271 * 0.514 / (sqrt(0.017967016) / sqrt(0.002997001) + e);
    const double d = 0.2 / (2 + e);
    check_three_steps<optim::Adam>(optim::AdamOptions{.lr = 0.1, .maximize = true},
                                   {{2 - a1, -1 - d}, {2 - a2, -1 - 2 * d}, {2 - a3, -1 - 3 * d}});
}

TEST_CASE("Adam weight decay is L2 added to the gradient: three steps by hand") {
    // lr 0.1, betas (0.9, 0.999), eps 0, weight_decay 0.5: g' = g + 0.5 w enters m and v.
    // Element 0: t=1: g' = 4 + 0.5 = 4.5, m = 0.45, v = 0.02025, w = 1 - 0.45 / 4.5 = 0.9
    //            t=2: g' = 1 + 0.45 = 1.45, m = 0.405 + 0.145 = 0.55,
    //                 v = 0.02022975 + 0.0021025 = 0.02233225
    //            t=3: g' = 1 + 0.5 w2, m = 0.495 + 0.1 g', v = 0.999 * 0.02233225 + 0.001 g'^2
    // Element 1: t=1: g' = -2 - 0.5 = -2.5, m = -0.25, v = 0.00625, w = -1 + 0.25 / 2.5 = -0.9
    //            t=2: g' = -2 - 0.45 = -2.45, m = -0.225 - 0.245 = -0.47,
    //                 v = 0.00624375 + 0.0060025 = 0.01224625
    //            t=3: g' = -2 + 0.5 w2, m = -0.423 + 0.1 g', v = 0.999 * 0.01224625 + 0.001 g'^2
    const double a2 = 0.9 - 0.1 / 0.19 * 0.55 / (sqrt(0.02233225) / sqrt(0.001999));
    const double ga = 1 + 0.5 * a2;
    const double a3 = a2 - 0.1 / 0.271 * (0.495 + 0.1 * ga) /
                               (sqrt(0.999 * 0.02233225 + 0.001 * ga * ga) / sqrt(0.002997001));
    const double b2 = -0.9 + 0.1 / 0.19 * 0.47 / (sqrt(0.01224625) / sqrt(0.001999));
    const double gb = -2 + 0.5 * b2;
    const double b3 = b2 - 0.1 / 0.271 * (-0.423 + 0.1 * gb) /
                               (sqrt(0.999 * 0.01224625 + 0.001 * gb * gb) / sqrt(0.002997001));
    check_three_steps<optim::Adam>(optim::AdamOptions{.lr = 0.1, .eps = 0, .weight_decay = 0.5},
                                   {{0.9, -0.9}, {a2, b2}, {a3, b3}});
}

TEST_CASE("AMSGrad divides by the largest second moment so far: three steps by hand") {
    // lr 0.1, betas (0.9, 0.5), eps 0; bc1 = 0.1, 0.19, 0.271 and bc2 = 0.5, 0.75, 0.875.
    // Element 0 (g = 4, 1, 1): m = 0.4, 0.46, 0.514 and v = 8, 4 + 0.5 = 4.5, 2.25 + 0.5 = 2.75,
    //   so v_max stays 8: w = 1 - 0.4 / (sqrt(8) / sqrt(0.5)) = 0.9, then
    //   w -= (0.1 / 0.19) * 0.46 / (sqrt(8) / sqrt(0.75)), then (0.1 / 0.271) * 0.514 / (sqrt(8) /
    //   sqrt(0.875)). Plain Adam would divide by sqrt(4.5) / sqrt(0.75) and sqrt(2.75) / ...
    // Element 1 (g = -2): v = 2, 3, 3.5 grows, v_max = v, and sqrt(v / bc2) = 2: w += 0.1 each.
    const double a2 = 0.9 - 0.1 / 0.19 * 0.46 / (sqrt(8.0) / sqrt(0.75));
    const double a3 = a2 - 0.1 / 0.271 * 0.514 / (sqrt(8.0) / sqrt(0.875));
    check_three_steps<optim::Adam>(
        optim::AdamOptions{.lr = 0.1, .betas = {0.9, 0.5}, .eps = 0, .amsgrad = true},
        {{0.9, -0.9}, {a2, -0.8}, {a3, -0.7}});
    // Without AMSGrad the same run uses the current v.
    const double p2 = 0.9 - 0.1 / 0.19 * 0.46 / (sqrt(4.5) / sqrt(0.75));
    const double p3 = p2 - 0.1 / 0.271 * 0.514 / (sqrt(2.75) / sqrt(0.875));
    check_three_steps<optim::Adam>(optim::AdamOptions{.lr = 0.1, .betas = {0.9, 0.5}, .eps = 0},
                                   {{0.9, -0.9}, {p2, -0.8}, {p3, -0.7}});
}

TEST_CASE("Adam keeps a step count per parameter") {
    // v gets its first gradient at the second step: its first update is Adam's first step,
    // lr * g / (|g| + eps) ~ lr, while w's second step is not.
    tg::Tensor w = tg::tensor({1.0}, tg::f64).requires_grad_();
    tg::Tensor v = tg::tensor({1.0}, tg::f64).requires_grad_();
    optim::Adam opt({w, v}, {.lr = 0.1, .eps = 0});
    opt.zero_grad();
    {
        tg::Tape tape;
        tape.backward(tg::sum(w * 3.0));
    }
    opt.step();
    require_values(w, {0.9});
    require_values(v, {1.0});  // no gradient: skipped, no state
    CHECK(opt.state_dict().count("state.0.1.step") == 0);
    opt.zero_grad();
    {
        tg::Tape tape;
        tape.backward(tg::sum(w * 3.0) + tg::sum(v * 5.0));
    }
    opt.step();
    require_values(v, {0.9});
    // w: constant gradient 3, so its second step is also exactly lr (m/bc1 = 3, sqrt(v/bc2) = 3).
    require_values(w, {0.8});
    const auto d = opt.state_dict();
    CHECK(d.at("state.0.0.step").item() == 2);
    CHECK(d.at("state.0.1.step").item() == 1);
    CHECK(d.count("state.0.0.max_exp_avg_sq") == 0);
}

// ---- AdamW ---------------------------------------------------------------------------------

TEST_CASE("AdamW decouples weight decay: three steps by hand") {
    // lr 0.1, betas (0.9, 0.999), eps 0, weight_decay 0.5: first w *= 1 - 0.1 * 0.5 = 0.95, then
    // the Adam step on the raw gradient (the m, v of "Adam: three steps by hand").
    // Element 0: t=1: 0.95 - 0.4 / 4 = 0.85; t=2: 0.85 * 0.95 = 0.8075, minus
    //   (0.1 / 0.19) * 0.46 / (sqrt(0.016984) / sqrt(0.001999)); t=3: 0.95 w2 minus the third step.
    // Element 1: each Adam step is +0.1: -0.95 + 0.1 = -0.85; -0.8075 + 0.1 = -0.7075;
    //   -0.7075 * 0.95 + 0.1 = -0.572125.
    const double a2 = 0.85 * 0.95 - 0.1 / 0.19 * 0.46 / (sqrt(0.016984) / sqrt(0.001999));
    const double a3 = a2 * 0.95 - 0.1 / 0.271 * 0.514 / (sqrt(0.017967016) / sqrt(0.002997001));
    check_three_steps<optim::AdamW>(optim::AdamWOptions{.lr = 0.1, .eps = 0, .weight_decay = 0.5},
                                    {{0.85, -0.85}, {a2, -0.7075}, {a3, -0.572125}});
}

TEST_CASE("AdamW with AMSGrad: three steps by hand") {
    // lr 0.1, betas (0.9, 0.5), eps 0, weight_decay 0.1: w *= 0.99, then the AMSGrad step of
    // "AMSGrad divides by the largest second moment so far".
    // Element 0: 0.99 - 0.1 = 0.89; 0.89 * 0.99 - (0.1 / 0.19) * 0.46 / (sqrt(8) / sqrt(0.75)); ...
    // Element 1: -0.99 + 0.1 = -0.89; -0.8811 + 0.1 = -0.7811; -0.773289 + 0.1 = -0.673289.
    const double a2 = 0.89 * 0.99 - 0.1 / 0.19 * 0.46 / (sqrt(8.0) / sqrt(0.75));
    const double a3 = a2 * 0.99 - 0.1 / 0.271 * 0.514 / (sqrt(8.0) / sqrt(0.875));
    check_three_steps<optim::AdamW>(
        optim::AdamWOptions{
            .lr = 0.1, .betas = {0.9, 0.5}, .eps = 0, .weight_decay = 0.1, .amsgrad = true},
        {{0.89, -0.89}, {a2, -0.7811}, {a3, -0.673289}});
}

TEST_CASE("AdamW defaults: lr 1e-3, weight_decay 0.01") {
    tg::Tensor w = tg::tensor({1.0}, tg::f64).requires_grad_();
    optim::AdamW opt({w});
    CHECK(opt.options(0).lr == 1e-3);
    CHECK(opt.options(0).weight_decay == 0.01);
    CHECK(opt.options(0).betas == std::pair<double, double>{0.9, 0.999});
    CHECK(opt.name() == "AdamW");
    optim::Adam adam({tg::tensor({1.0}, tg::f64).requires_grad_()});
    CHECK(adam.options(0).weight_decay == 0.0);
    CHECK(adam.options(0).eps == 1e-8);
}

// ---- RMSprop -------------------------------------------------------------------------------

TEST_CASE("RMSprop: three steps by hand") {
    // lr 0.01, alpha 0.99, eps 1e-8: v = 0.99 v + 0.01 g^2, w -= 0.01 g / (sqrt(v) + eps).
    // Element 0 (g = 4, 1, 1): v = 0.16, 0.1584 + 0.01 = 0.1684, 0.166716 + 0.01 = 0.176716.
    // Element 1 (g = -2):     v = 0.04, 0.0396 + 0.04 = 0.0796, 0.078804 + 0.04 = 0.118804.
    const double e = 1e-8;
    const double a1 = 1 - 0.01 * 4 / (0.4 + e);
    const double a2 = a1 - 0.01 / (sqrt(0.1684) + e);
    const double a3 = a2 - 0.01 / (sqrt(0.176716) + e);
    const double b1 = -1 + 0.01 * 2 / (0.2 + e);
    const double b2 = b1 + 0.02 / (sqrt(0.0796) + e);
    const double b3 = b2 + 0.02 / (sqrt(0.118804) + e);
    check_three_steps<optim::RMSprop>(optim::RMSpropOptions{}, {{a1, b1}, {a2, b2}, {a3, b3}});
}

TEST_CASE("RMSprop centered: three steps by hand") {
    // lr 0.01, alpha 0.99, eps 0; a = 0.99 a + 0.01 g and the divisor is sqrt(v - a^2).
    // Element 0: a = 0.04, 0.0396 + 0.01 = 0.0496, 0.049104 + 0.01 = 0.059104 and v as above.
    // Element 1: a = -0.02, -0.0198 - 0.02 = -0.0398, -0.039402 - 0.02 = -0.059402.
    const double a1 = 1 - 0.01 * 4 / sqrt(0.16 - 0.04 * 0.04);
    const double a2 = a1 - 0.01 / sqrt(0.1684 - 0.0496 * 0.0496);
    const double a3 = a2 - 0.01 / sqrt(0.176716 - 0.059104 * 0.059104);
    const double b1 = -1 + 0.02 / sqrt(0.04 - 0.02 * 0.02);
    const double b2 = b1 + 0.02 / sqrt(0.0796 - 0.0398 * 0.0398);
    const double b3 = b2 + 0.02 / sqrt(0.118804 - 0.059402 * 0.059402);
    check_three_steps<optim::RMSprop>(optim::RMSpropOptions{.eps = 0, .centered = true},
                                      {{a1, b1}, {a2, b2}, {a3, b3}});
}

TEST_CASE("RMSprop momentum: three steps by hand") {
    // lr 0.01, alpha 0.99, eps 0, momentum 0.9: buf = 0.9 buf + g / sqrt(v), w -= 0.01 buf.
    // Element 0: buf = 4 / 0.4 = 10 (w = 0.9), then 9 + 1 / sqrt(0.1684), then 0.9 buf + ...
    // Element 1: buf = -2 / 0.2 = -10 (w = -0.9), then -9 - 2 / sqrt(0.0796), ...
    const double ba2 = 9 + 1 / sqrt(0.1684), ba3 = 0.9 * ba2 + 1 / sqrt(0.176716);
    const double bb2 = -9 - 2 / sqrt(0.0796), bb3 = 0.9 * bb2 - 2 / sqrt(0.118804);
    const double a2 = 0.9 - 0.01 * ba2, a3 = a2 - 0.01 * ba3;
    const double b2 = -0.9 - 0.01 * bb2, b3 = b2 - 0.01 * bb3;
    check_three_steps<optim::RMSprop>(optim::RMSpropOptions{.eps = 0, .momentum = 0.9},
                                      {{0.9, -0.9}, {a2, b2}, {a3, b3}});
}

TEST_CASE("RMSprop weight decay and maximize: three steps by hand") {
    // lr 0.01, eps 0, weight_decay 0.5, maximize: g' = -g + 0.5 w.
    // Element 0: t=1: g' = -3.5, v = 0.1225, w = 1 + 0.01 * 3.5 / 0.35 = 1.1;
    //            t=2: g' = -1 + 0.55 = -0.45, v = 0.121275 + 0.002025 = 0.1233;
    //            t=3: g' = -1 + 0.5 w2, v = 0.99 * 0.1233 + 0.01 g'^2.
    // Element 1: t=1: g' = 2 - 0.5 = 1.5, v = 0.0225, w = -1 - 0.01 * 1.5 / 0.15 = -1.1;
    //            t=2: g' = 2 - 0.55 = 1.45, v = 0.022275 + 0.021025 = 0.0433;
    //            t=3: g' = 2 + 0.5 w2, v = 0.99 * 0.0433 + 0.01 g'^2.
    const double a2 = 1.1 + 0.01 * 0.45 / sqrt(0.1233);
    const double ga = -1 + 0.5 * a2;
    const double a3 = a2 - 0.01 * ga / sqrt(0.99 * 0.1233 + 0.01 * ga * ga);
    const double b2 = -1.1 - 0.01 * 1.45 / sqrt(0.0433);
    const double gb = 2 + 0.5 * b2;
    const double b3 = b2 - 0.01 * gb / sqrt(0.99 * 0.0433 + 0.01 * gb * gb);
    check_three_steps<optim::RMSprop>(
        optim::RMSpropOptions{.eps = 0, .weight_decay = 0.5, .maximize = true},
        {{1.1, -1.1}, {a2, b2}, {a3, b3}});
}

// ---- Adagrad -------------------------------------------------------------------------------

TEST_CASE("Adagrad: three steps by hand") {
    // lr 0.1, eps 1e-10: s += g^2, w -= 0.1 g / (sqrt(s) + eps).
    // Element 0: s = 16, 17, 18.  Element 1: s = 4, 8, 12.
    const double e = 1e-10;
    const double a1 = 1 - 0.4 / (4 + e), a2 = a1 - 0.1 / (sqrt(17.0) + e),
                 a3 = a2 - 0.1 / (sqrt(18.0) + e);
    const double b1 = -1 + 0.2 / (2 + e), b2 = b1 + 0.2 / (sqrt(8.0) + e),
                 b3 = b2 + 0.2 / (sqrt(12.0) + e);
    check_three_steps<optim::Adagrad>(optim::AdagradOptions{.lr = 0.1},
                                      {{a1, b1}, {a2, b2}, {a3, b3}});
}

TEST_CASE("Adagrad lr_decay: three steps by hand") {
    // lr 0.1, lr_decay 0.5, eps 0: clr = 0.1 / (1 + (t - 1) 0.5) = 0.1, 0.1 / 1.5, 0.05.
    const double a2 = 0.9 - 0.1 / 1.5 / sqrt(17.0), a3 = a2 - 0.05 / sqrt(18.0);
    const double b2 = -0.9 + 0.1 / 1.5 * 2 / sqrt(8.0), b3 = b2 + 0.05 * 2 / sqrt(12.0);
    check_three_steps<optim::Adagrad>(optim::AdagradOptions{.lr = 0.1, .lr_decay = 0.5, .eps = 0},
                                      {{0.9, -0.9}, {a2, b2}, {a3, b3}});
}

TEST_CASE("Adagrad initial_accumulator_value: three steps by hand") {
    // lr 0.1, initial_accumulator_value 9, eps 0: element 0 s = 25, 26, 27; element 1 s = 13,
    // 17, 21.
    const double a1 = 1 - 0.1 * 4 / 5, a2 = a1 - 0.1 / sqrt(26.0), a3 = a2 - 0.1 / sqrt(27.0);
    const double b1 = -1 + 0.2 / sqrt(13.0), b2 = b1 + 0.2 / sqrt(17.0), b3 = b2 + 0.2 / sqrt(21.0);
    check_three_steps<optim::Adagrad>(
        optim::AdagradOptions{.lr = 0.1, .initial_accumulator_value = 9, .eps = 0},
        {{a1, b1}, {a2, b2}, {a3, b3}});
}

TEST_CASE("Adagrad weight decay and maximize: three steps by hand") {
    // lr 0.1, eps 0, weight_decay 0.5, maximize: g' = -g + 0.5 w.
    // Element 0: g' = -3.5, s = 12.25, w = 1 + 0.1 = 1.1; g' = -1 + 0.55 = -0.45, s = 12.4525;
    //            g' = -1 + 0.5 w2, s = 12.4525 + g'^2.
    // Element 1: g' = 1.5, s = 2.25, w = -1.1; g' = 2 - 0.55 = 1.45, s = 4.3525;
    //            g' = 2 + 0.5 w2, s = 4.3525 + g'^2.
    const double a2 = 1.1 + 0.1 * 0.45 / sqrt(12.4525);
    const double ga = -1 + 0.5 * a2;
    const double a3 = a2 - 0.1 * ga / sqrt(12.4525 + ga * ga);
    const double b2 = -1.1 - 0.1 * 1.45 / sqrt(4.3525);
    const double gb = 2 + 0.5 * b2;
    const double b3 = b2 - 0.1 * gb / sqrt(4.3525 + gb * gb);
    check_three_steps<optim::Adagrad>(
        optim::AdagradOptions{.lr = 0.1, .weight_decay = 0.5, .eps = 0, .maximize = true},
        {{1.1, -1.1}, {a2, b2}, {a3, b3}});
}

// ---- against PyTorch -----------------------------------------------------------------------

TEST_CASE("Adam and AMSGrad match PyTorch 1.13 over 20 steps with two groups") {
    compare_with_pytorch<optim::Adam>("adam_wd_amsgrad", {.lr = 0.05, .weight_decay = 0.01},
                                      {.lr = 0.1, .betas = {0.8, 0.99}, .amsgrad = true});
    compare_with_pytorch<optim::Adam>("adam_maximize_amsgrad",
                                      {.lr = 0.05, .amsgrad = true, .maximize = true},
                                      {.lr = 0.02, .eps = 1e-6, .maximize = true}, true);
}

TEST_CASE("AdamW matches PyTorch 1.13 over 20 steps with two groups") {
    compare_with_pytorch<optim::AdamW>("adamw", {.lr = 0.05, .weight_decay = 0.1},
                                       {.lr = 0.02, .weight_decay = 0.0, .amsgrad = true});
}

TEST_CASE("RMSprop matches PyTorch 1.13 over 20 steps with two groups") {
    compare_with_pytorch<optim::RMSprop>("rmsprop_momentum_centered", {.lr = 0.01},
                                         {.lr = 0.01, .momentum = 0.9, .centered = true});
    compare_with_pytorch<optim::RMSprop>(
        "rmsprop_centered_wd", {.lr = 0.01, .alpha = 0.9, .weight_decay = 0.1, .centered = true},
        {.lr = 0.005, .momentum = 0.5});
}

TEST_CASE("Adagrad matches PyTorch 1.13 over 20 steps with two groups") {
    // PyTorch 1.13 fills every accumulator from the constructor's initial_accumulator_value (a
    // group's own is ignored there; it is honoured here), so both groups use 0.1.
    compare_with_pytorch<optim::Adagrad>(
        "adagrad",
        {.lr = 0.1, .lr_decay = 0.01, .weight_decay = 0.01, .initial_accumulator_value = 0.1},
        {.lr = 0.2, .initial_accumulator_value = 0.1, .eps = 1e-6});
}

// ---- convergence ---------------------------------------------------------------------------

TEST_CASE("adaptive optimizers converge on a convex quadratic") {
    tg::Tensor w = tg::zeros({3, 1}, tg::f64).requires_grad_();
    SECTION("Adam: |Aw - b|_inf < 1e-6 after 2000 steps") {
        optim::Adam opt({w}, {.lr = 0.01});
        CHECK(quadratic_grad_norm_after(opt, w, 2000) < 1e-6);
    }
    SECTION("AMSGrad: |Aw - b|_inf < 1e-6 after 2000 steps") {
        optim::Adam opt({w}, {.lr = 0.01, .amsgrad = true});
        CHECK(quadratic_grad_norm_after(opt, w, 2000) < 1e-6);
    }
    SECTION("AdamW (wd 0): |Aw - b|_inf < 1e-6 after 2000 steps") {
        optim::AdamW opt({w}, {.lr = 0.01, .weight_decay = 0});
        CHECK(quadratic_grad_norm_after(opt, w, 2000) < 1e-6);
    }
    SECTION("RMSprop centered with momentum: |Aw - b|_inf < 1e-6 after 2000 steps") {
        optim::RMSprop opt({w}, {.lr = 1e-3, .momentum = 0.9, .centered = true});
        CHECK(quadratic_grad_norm_after(opt, w, 2000) < 1e-6);
    }
    SECTION("Adagrad: |Aw - b|_inf < 1e-6 after 2000 steps") {
        optim::Adagrad opt({w}, {.lr = 0.5});
        CHECK(quadratic_grad_norm_after(opt, w, 2000) < 1e-6);
    }
}

// ---- validation, dtypes, state -------------------------------------------------------------

TEST_CASE("adaptive optimizers reject invalid options, naming the optimizer and the option") {
    CHECK(mentions(construction_error<optim::Adam>({.lr = -1}), "Adam", "lr"));
    CHECK(mentions(construction_error<optim::Adam>({.betas = {1.0, 0.999}}), "Adam", "beta1"));
    CHECK(mentions(construction_error<optim::Adam>({.betas = {0.9, -0.1}}), "Adam", "beta2"));
    CHECK(mentions(construction_error<optim::Adam>({.eps = -1e-8}), "Adam", "eps"));
    CHECK(mentions(construction_error<optim::Adam>({.weight_decay = -1}), "Adam", "weight_decay"));
    CHECK(mentions(construction_error<optim::AdamW>({.betas = {0.9, 1.0}}), "AdamW", "beta2"));
    CHECK(mentions(construction_error<optim::RMSprop>({.alpha = -0.5}), "RMSprop", "alpha"));
    CHECK(mentions(construction_error<optim::RMSprop>({.momentum = -0.5}), "RMSprop", "momentum"));
    CHECK(mentions(construction_error<optim::RMSprop>({.eps = -1}), "RMSprop", "eps"));
    CHECK(mentions(construction_error<optim::Adagrad>({.lr_decay = -1}), "Adagrad", "lr_decay"));
    CHECK(mentions(construction_error<optim::Adagrad>({.initial_accumulator_value = -1}), "Adagrad",
                   "initial_accumulator_value"));
    CHECK(construction_error<optim::Adam>({.lr = 0.1, .betas = {0.0, 0.0}}).empty());
}

TEST_CASE("adaptive optimizers update float32 parameters like float64 ones") {
    auto run = [](tg::Dtype dtype, auto make) {
        LeastSquares p(dtype);
        auto opt = make(p);
        for (int s = 0; s < 20; ++s) p.step(*opt);
        REQUIRE(p.W.dtype() == dtype);
        for (const auto& [key, value] : opt->state_dict())
            if (key.rfind("state.", 0) == 0 && value.numel() > 1) CHECK(value.dtype() == dtype);
        return p.flat();
    };
    auto adam = [](LeastSquares& p) {
        return std::make_unique<optim::Adam>(std::vector<tg::Tensor>{p.W, p.b},
                                             optim::AdamOptions{.lr = 0.05, .amsgrad = true});
    };
    auto rms = [](LeastSquares& p) {
        return std::make_unique<optim::RMSprop>(
            std::vector<tg::Tensor>{p.W, p.b},
            optim::RMSpropOptions{.lr = 0.01, .momentum = 0.5, .centered = true});
    };
    auto ada = [](LeastSquares& p) {
        return std::make_unique<optim::Adagrad>(std::vector<tg::Tensor>{p.W, p.b},
                                                optim::AdagradOptions{.lr = 0.1});
    };
    for (auto [name, f32, f64] : {std::tuple{"Adam", run(tg::f32, adam), run(tg::f64, adam)},
                                  std::tuple{"RMSprop", run(tg::f32, rms), run(tg::f64, rms)},
                                  std::tuple{"Adagrad", run(tg::f32, ada), run(tg::f64, ada)}}) {
        for (std::size_t i = 0; i < f32.size(); ++i) {
            INFO(name << " element " << i);
            CHECK(std::abs(f32[i] - f64[i]) < 1e-4);
        }
    }
}

TEST_CASE("adaptive optimizers record nothing on a live tape") {
    Tiny t;
    optim::Adam opt({t.w}, {.lr = 0.1});
    t.step(opt, 0);  // a gradient for the next step
    tg::Tape outer;
    opt.step();
    CHECK(outer.nodes().empty());
}

TEST_CASE("Adam state_dict holds the moments and the step count") {
    Tiny t;
    optim::Adam opt({t.w}, {.lr = 0.1, .amsgrad = true});
    for (int s = 0; s < 3; ++s) t.step(opt, s);
    const auto d = opt.state_dict();
    CHECK(d.at("state.0.0.step").item() == 3);
    // m after three steps (element 1, constant g = -2): -(1 - 0.9^3) * 2 = -0.542.
    CHECK(std::abs(d.at("state.0.0.exp_avg").value<double>()(1) + 0.542) < 1e-15);
    CHECK(d.count("state.0.0.exp_avg_sq") == 1);
    CHECK(d.count("state.0.0.max_exp_avg_sq") == 1);
    CHECK(d.at("param_groups.0.amsgrad").item() == 1);
}

TEST_CASE("adaptive optimizers resume bit for bit from state_dict") {
    SECTION("Adam with AMSGrad") {
        check_resume<optim::Adam>({.lr = 0.05, .weight_decay = 0.01, .amsgrad = true},
                                  {.lr = 0.1, .betas = {0.8, 0.99}});
    }
    SECTION("AdamW") {
        check_resume<optim::AdamW>({.lr = 0.05, .weight_decay = 0.1},
                                   {.lr = 0.02, .amsgrad = true, .maximize = false});
    }
    SECTION("RMSprop centered with momentum") {
        check_resume<optim::RMSprop>({.lr = 0.01, .momentum = 0.9, .centered = true},
                                     {.lr = 0.005, .alpha = 0.9, .weight_decay = 0.1});
    }
    SECTION("Adagrad") {
        check_resume<optim::Adagrad>({.lr = 0.1, .lr_decay = 0.01},
                                     {.lr = 0.2, .initial_accumulator_value = 0.1});
    }
}

TEST_CASE("load_state_dict refuses another optimizer's state") {
    LeastSquares p;
    optim::Adam adam({p.W, p.b}, {.lr = 0.1});
    p.step(adam);
    optim::RMSprop rms({p.W, p.b});
    try {
        rms.load_state_dict(adam.state_dict());
        FAIL("RMSprop loaded Adam's state");
    } catch (const tg::ValueError& e) {
        CHECK(mentions(e.what(), "RMSprop", "param_groups.0.alpha"));
    }
    // A state saved for a different shape is refused too.
    tg::Tensor other = tg::zeros({4}, tg::f64).requires_grad_();
    optim::Adam wrong({other, p.b}, {.lr = 0.1});
    CHECK_THROWS_AS(wrong.load_state_dict(adam.state_dict()), tg::ValueError);
}

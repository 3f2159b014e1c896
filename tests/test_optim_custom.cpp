// Optimizers written by a user as rules of the first-order driver: Lion (examples/lion.hpp, the
// README's) against a plain hand loop, under a schedule, through a checkpoint and fit; and
// signSGD, optimizer.hpp's example, a rule with no options besides lr.
#include <tapegrad/optim/optim.hpp>

#include "../examples/lion.hpp"
#include "check.hpp"
#include "files.hpp"
#include "optim_problems.hpp"
#include "training.hpp"

namespace {

using LionOptimizer = optim::FirstOrder<Lion>;

// At step t the loss is sum(G_t * p), so the gradient of p is exactly G_t.
void step_with_gradients(optim::Optimizer& opt, const std::vector<tg::Tensor>& params,
                         const std::vector<std::vector<double>>& grads) {
    opt.zero_grad();
    {
        tg::Tape tape;
        tg::Tensor loss = tg::scalar(0.0, tg::f64);
        for (std::size_t k = 0; k < params.size(); ++k)
            loss = loss + tg::sum(tg::tensor(grads[k], tg::f64) * params[k]);
        tape.backward(loss);
    }
    opt.step();
}

double sign(double v) {
    return (v > 0) - (v < 0);
}

// Lion on one flat parameter, as the paper writes it.
struct HandLion {
    std::vector<double> p, m;
    double lr, beta1, beta2, weight_decay;
    void step(const std::vector<double>& g) {
        for (std::size_t i = 0; i < p.size(); ++i) {
            const double c = beta1 * m[i] + (1 - beta1) * g[i];
            p[i] = p[i] - lr * weight_decay * p[i] - lr * sign(c);
            m[i] = beta2 * m[i] + (1 - beta2) * g[i];
        }
    }
};

nn::Sequential small_mlp(std::uint64_t seed) {
    return nn::Sequential{nn::Linear(2, 8, {.seed = seed, .dtype = tg::f64}), nn::Tanh(),
                          nn::Linear(8, 1, {.seed = seed + 1, .dtype = tg::f64})};
}

// signSGD, p = p - lr * sign(g): the rule of the comment at the top of optimizer.hpp.
struct SignSGD {
    struct Options {
        double lr = 1e-3;
    };
    static constexpr const char* name = "SignSGD";
    template <class T>
    static void update(tg::optim::ParamState<T>& p, const Options& o) {
        for (std::size_t i = 0; i < p.size(); ++i) {
            const T g = p.grad()[i];
            p.value()[i] -= T(o.lr) * T((g > 0) - (g < 0));
        }
    }
};

}  // namespace

TEST_CASE("Lion: three steps of two groups against a plain hand loop") {
    tg::Tensor w = tg::tensor({0.5, -0.25, 1.0, 2.0}, tg::f64).requires_grad_();
    tg::Tensor b = tg::tensor({-1.0, 0.125}, tg::f64).requires_grad_();
    tg::Tensor unused = tg::tensor({3.0}, tg::f64).requires_grad_();  // never has a gradient
    LionOptimizer opt({w}, {.lr = 0.01, .betas = {0.9, 0.99}, .weight_decay = 0.1});
    opt.add_param_group({b, unused}, {.lr = 0.02, .betas = {0.8, 0.95}});
    // The gradients change sign, so that the momentum and the gradient disagree at times.
    const std::vector<std::vector<double>> gw = {
        {1.0, -2.0, 0.5, -0.1}, {-3.0, -1.0, 0.25, 0.2}, {2.0, 4.0, -1.0, 0.3}};
    const std::vector<std::vector<double>> gb = {{0.7, -0.3}, {-0.1, 0.9}, {-2.0, -0.4}};
    HandLion hw{{0.5, -0.25, 1.0, 2.0}, {0, 0, 0, 0}, 0.01, 0.9, 0.99, 0.1};
    HandLion hb{{-1.0, 0.125}, {0, 0}, 0.02, 0.8, 0.95, 0.0};
    for (std::size_t t = 0; t < 3; ++t) {
        INFO("after step " << t + 1);
        step_with_gradients(opt, {w, b}, {gw[t], gb[t]});
        hw.step(gw[t]);
        hb.step(gb[t]);
        testing::require_values(w, hw.p, 1e-15);
        testing::require_values(b, hb.p, 1e-15);
        testing::require_values(opt.state_dict().at("state.0.0.exp_avg"), hw.m, 1e-15);
        testing::require_values(opt.state_dict().at("state.1.0.exp_avg"), hb.m, 1e-15);
    }
    CHECK(unused.value<double>()(0) == 3.0);
    const tg::StateDict d = opt.state_dict();
    CHECK(d.count("state.1.1.exp_avg") == 0);
    CHECK(d.at("param_groups.0.beta1").item() == 0.9);
    CHECK(d.at("param_groups.1.beta2").item() == 0.95);
    CHECK(d.at("param_groups.0.weight_decay").item() == 0.1);
    CHECK(d.at("param_groups.1.lr").item() == 0.02);
    CHECK(opt.name() == "Lion");
    CHECK(opt.options(1).betas == std::pair<double, double>{0.8, 0.95});
}

TEST_CASE("Lion in float32 follows the float64 hand loop") {
    tg::Tensor w = tg::tensor({0.5, -0.25, 1.0}, tg::f32).requires_grad_();
    LionOptimizer opt({w}, {.lr = 0.01, .weight_decay = 0.1});
    HandLion hand{{0.5, -0.25, 1.0}, {0, 0, 0}, 0.01, 0.9, 0.99, 0.1};
    for (const std::vector<double>& g :
         {std::vector<double>{1.0, -2.0, 0.5}, std::vector<double>{-3.0, 1.0, -0.25}}) {
        opt.zero_grad();
        {
            tg::Tape tape;
            tape.backward(tg::sum(tg::tensor(g, tg::f32) * w));
        }
        opt.step();
        hand.step(g);
    }
    REQUIRE(w.dtype() == tg::f32);
    for (std::size_t i = 0; i < 3; ++i) CHECK(std::abs(w.value<float>()(i) - hand.p[i]) < 1e-6);
    CHECK(opt.state_dict().at("state.0.0.exp_avg").dtype() == tg::f32);
}

TEST_CASE("Lion: a schedule and set_lr change the rate its update uses") {
    tg::Tensor w = tg::tensor({1.0, -1.0}, tg::f64).requires_grad_();
    LionOptimizer opt({w}, {.lr = 0.1});
    optim::StepLR schedule(opt, {.step_size = 1, .gamma = 0.5});
    step_with_gradients(opt, {w}, {{1.0, -1.0}});  // each weight moves by lr against sign(g)
    testing::require_values(w, {0.9, -0.9}, 1e-15);
    schedule.step();
    CHECK(opt.lr() == 0.05);
    CHECK(opt.options(0).lr == 0.05);
    CHECK(opt.state_dict().at("param_groups.0.lr").item() == 0.05);
    step_with_gradients(opt, {w}, {{1.0, -1.0}});
    testing::require_values(w, {0.85, -0.85}, 1e-15);
    opt.set_lr(0.2);
    step_with_gradients(opt, {w}, {{1.0, -1.0}});
    testing::require_values(w, {0.65, -0.65}, 1e-15);
}

TEST_CASE("Lion rejects invalid options and another optimizer's state, naming the option") {
    tg::Tensor w = tg::tensor({1.0}, tg::f64).requires_grad_();
    CHECK_THROWS_TYPED(LionOptimizer({w}, {.lr = -1}), tg::ValueError,
                       Catch::Equals("Lion: invalid lr -1 (must be finite and >= 0)"));
    CHECK_THROWS_TYPED(LionOptimizer({w}, {.betas = {1.5, 0.99}}), tg::ValueError,
                       Catch::Equals("Lion: invalid beta1 1.5 (must be in [0, 1])"));
    CHECK_THROWS_TYPED(LionOptimizer({w}, {.weight_decay = -0.1}), tg::ValueError,
                       Catch::Equals("Lion: invalid weight_decay -0.1 (must be >= 0)"));
    optim::SGD sgd({w}, {.lr = 0.1});
    LionOptimizer lion({w});
    CHECK_THROWS_TYPED(lion.load_state_dict(sgd.state_dict()), tg::ValueError,
                       Catch::Equals("Lion.load_state_dict: missing key 'param_groups.0.beta1' "
                                     "(was the state saved by another optimizer?)"));
    tg::StateDict bad = lion.state_dict();
    bad["param_groups.0.beta2"] = tg::scalar(2.0, tg::f64);
    CHECK_THROWS_TYPED(lion.load_state_dict(bad), tg::ValueError,
                       Catch::Equals("Lion: invalid beta2 2 (must be in [0, 1])"));
    CHECK(lion.options(0).betas.second == 0.99);  // nothing changed
}

TEST_CASE("Lion: fit with a schedule, checkpointed and resumed, ends bit for bit as unbroken") {
    testing::TempDir dir("optim_custom");
    const data::Dataset train = testing::logistic_data(96, 1);
    struct Run {
        nn::Sequential model;
        LionOptimizer opt;
        optim::StepLR schedule;
        data::DataLoader loader;
        Run(std::uint64_t seed, const data::Dataset& rows)
            : model(small_mlp(seed)),
              opt(model.parameters(), {.lr = 0.01, .weight_decay = 0.05}),
              schedule(opt, {.step_size = 2, .gamma = 0.5}),
              loader(rows, {.batch_size = 16, .shuffle = true, .seed = 7}) {}
    };
    Run straight(1, train);
    optim::fit(straight.model, straight.opt, testing::bce, straight.loader,
               {.epochs = 6, .scheduler = &straight.schedule});
    CHECK(straight.opt.lr() == 0.01 * 0.125);  // halved after epochs 2, 4 and 6

    Run first(1, train);
    optim::Checkpoint save({.path = dir / "lion.npz", .every = 3});
    optim::fit(first.model, first.opt, testing::bce, first.loader,
               {.epochs = 3, .scheduler = &first.schedule, .callbacks = {&save}});
    Run resumed(42, train);  // other initial weights: the checkpoint replaces them
    const int start =
        optim::resume(dir / "lion.npz", resumed.model, resumed.opt, &resumed.schedule);
    REQUIRE(start == 3);
    optim::fit(resumed.model, resumed.opt, testing::bce, resumed.loader,
               {.epochs = 6, .scheduler = &resumed.schedule, .initial_epoch = start});
    CHECK(testing::same(resumed.model.state_dict(), straight.model.state_dict()));
    CHECK(testing::same(resumed.opt.state_dict(), straight.opt.state_dict()));
}

TEST_CASE("signSGD, optimizer.hpp's example: a rule with no options besides lr") {
    tg::Tensor w = tg::tensor({1.0, -2.0, 0.5}, tg::f64).requires_grad_();
    optim::FirstOrder<SignSGD> opt({w}, {.lr = 0.1});
    step_with_gradients(opt, {w}, {{3.0, -0.5, 0.0}});
    testing::require_values(w, {0.9, -1.9, 0.5}, 1e-15);  // sign(0) = 0: no move
    const tg::StateDict d = opt.state_dict();
    CHECK(d.size() == 1);
    CHECK(d.at("param_groups.0.lr").item() == 0.1);
    optim::FirstOrder<SignSGD> other({w}, {.lr = 0.5});
    other.load_state_dict(d);
    CHECK(other.options(0).lr == 0.1);
    CHECK_THROWS_TYPED(optim::FirstOrder<SignSGD>({w}, {.lr = -1}), tg::ValueError,
                       Catch::Equals("SignSGD: invalid lr -1 (must be finite and >= 0)"));
}

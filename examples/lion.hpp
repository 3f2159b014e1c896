#pragma once
// Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"), an optimizer of your
// own written as a rule of tapegrad's first-order driver (tapegrad/optim/first_order.hpp):
// the driver brings parameter groups, state_dict and checkpoints, set_lr and schedules, and fit
// uses it as any other optimizer. Per element, with the decay decoupled as in AdamW:
//
//   c = beta1 * m + (1 - beta1) * g
//   p = p * (1 - lr * weight_decay) - lr * sign(c)
//   m = beta2 * m + (1 - beta2) * g
//
// Every step moves each weight by exactly lr (sign), so Lion wants a learning rate 3-10x
// smaller than AdamW's (the paper's advice), and a weight decay as much larger.
//
//   tg::optim::FirstOrder<Lion> opt(model.parameters(), {.lr = 1e-3, .weight_decay = 0.1});
#include <tapegrad/optim/first_order.hpp>
#include <utility>

struct Lion {
    struct Options {
        double lr = 1e-4;
        std::pair<double, double> betas = {0.9, 0.99};
        double weight_decay = 0.0;
    };
    static constexpr const char* name = "Lion";
    // state_dict keys "param_groups.G.beta1", ... beside "param_groups.G.lr".
    static constexpr tapegrad::optim::OptionField<Options> fields[] = {
        {"beta1", &Options::betas, 0},
        {"beta2", &Options::betas, 1},
        {"weight_decay", &Options::weight_decay}};

    static void validate(const Options& o) {
        using tapegrad::optim::require_option;
        const auto [b1, b2] = o.betas;
        require_option(b1 >= 0 && b1 <= 1, name, "beta1", b1, "must be in [0, 1]");
        require_option(b2 >= 0 && b2 <= 1, name, "beta2", b2, "must be in [0, 1]");
        require_option(o.weight_decay >= 0, name, "weight_decay", o.weight_decay, "must be >= 0");
    }

    // c = b1 m + (1 - b1) g;  p = p (1 - lr wd) - lr sign(c);  m = b2 m + (1 - b2) g
    template <class T>  // float and double
    static void update(tapegrad::optim::ParamState<T>& p, const Options& o) {
        T *w = p.value(), *m = p.buffer("exp_avg");  // m: zeros at first, kept in checkpoints
        const T* g = p.grad();
        const T b1 = T(o.betas.first), b2 = T(o.betas.second);
        const T shrink = T(1 - o.lr * o.weight_decay);
        for (std::size_t i = 0; i < p.size(); ++i) {
            const T c = b1 * m[i] + (1 - b1) * g[i];
            w[i] = w[i] * shrink - T(o.lr) * T((c > 0) - (c < 0));
            m[i] = b2 * m[i] + (1 - b2) * g[i];
        }
    }
};

#include "tapegrad/optim/adagrad.hpp"

#include <cmath>

namespace tapegrad::optim {

struct AdagradRule {
    using Options = AdagradOptions;
    static constexpr const char* name = "Adagrad";
    // Saved by state_dict as "param_groups.G.<key>" (lr is the group's own).
    static constexpr OptionField<Options> fields[] = {
        {"lr_decay", &Options::lr_decay, Range::non_negative},
        {"weight_decay", &Options::weight_decay, Range::non_negative},
        {"initial_accumulator_value", &Options::initial_accumulator_value, Range::non_negative},
        {"eps", &Options::eps, Range::non_negative},
        {"maximize", &Options::maximize}};

    // The maths of adagrad.hpp, line for line.
    template <class T>
    static void update(ParamState<T>& p, const Options& o) {
        const double t = p.next_step();
        // The group's own initial value, where PyTorch 1.13 takes the constructor's (adagrad.hpp).
        T* s = p.buffer("sum", o.initial_accumulator_value);
        T* w = p.value();
        const T* g = p.grad();
        const T wd = static_cast<T>(o.weight_decay), eps = static_cast<T>(o.eps);
        const T neg_clr = static_cast<T>(-(o.lr / (1 + (t - 1) * o.lr_decay)));
        const std::size_t n = p.size();
        for (std::size_t i = 0; i < n; ++i) {
            T gi = o.maximize ? -g[i] : g[i];
            if (o.weight_decay != 0) gi = gi + wd * w[i];
            s[i] = s[i] + gi * gi;
            const T std_dev = std::sqrt(s[i]) + eps;
            w[i] = w[i] + neg_clr * gi / std_dev;
        }
    }
};

template class FirstOrder<AdagradRule, AdagradOptions>;

}  // namespace tapegrad::optim

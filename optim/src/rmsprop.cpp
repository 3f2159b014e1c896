#include "tapegrad/optim/rmsprop.hpp"

#include <cmath>

namespace tapegrad::optim {

struct RMSpropRule {
    using Options = RMSpropOptions;
    static constexpr const char* name = "RMSprop";
    // Saved by state_dict as "param_groups.G.<key>" (lr is the group's own).
    static constexpr OptionField<Options> fields[] = {
        {"alpha", &Options::alpha, Range::non_negative},
        {"eps", &Options::eps, Range::non_negative},
        {"weight_decay", &Options::weight_decay, Range::non_negative},
        {"momentum", &Options::momentum, Range::non_negative},
        {"centered", &Options::centered},
        {"maximize", &Options::maximize}};

    // The maths of rmsprop.hpp, line for line.
    template <class T>
    static void update(ParamState<T>& p, const Options& o) {
        p.next_step();  // counted, as PyTorch does, though the rule does not use it
        T* w = p.value();
        const T* g = p.grad();
        T* v = p.buffer("square_avg");
        T* a = o.centered ? p.buffer("grad_avg") : nullptr;
        T* b = o.momentum > 0 ? p.buffer("momentum_buffer") : nullptr;
        const T alpha = static_cast<T>(o.alpha), one_minus_alpha = static_cast<T>(1 - o.alpha);
        const T wd = static_cast<T>(o.weight_decay), eps = static_cast<T>(o.eps);
        const T mom = static_cast<T>(o.momentum), neg_lr = static_cast<T>(-o.lr);
        const std::size_t n = p.size();
        for (std::size_t i = 0; i < n; ++i) {
            T gi = o.maximize ? -g[i] : g[i];
            if (o.weight_decay != 0) gi = gi + wd * w[i];
            v[i] = v[i] * alpha + one_minus_alpha * gi * gi;
            T avg;
            if (a) {
                a[i] = a[i] * alpha + one_minus_alpha * gi;
                avg = std::sqrt(v[i] + T(-1) * a[i] * a[i]);  // sqrt(v - a^2): centred variance
            } else {
                avg = std::sqrt(v[i]);
            }
            avg = avg + eps;
            if (b) {
                b[i] = b[i] * mom + gi / avg;
                w[i] = w[i] + neg_lr * b[i];
            } else {
                w[i] = w[i] + neg_lr * gi / avg;
            }
        }
    }
};

template class FirstOrder<RMSpropRule, RMSpropOptions>;

}  // namespace tapegrad::optim

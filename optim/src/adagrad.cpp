#include "tapegrad/optim/adagrad.hpp"

#include <cmath>
#include <sstream>

#include "group_options.hpp"
#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::optim {

using detail::num;
using detail::option_key;
using detail::read_option;
using detail::state_tensor;

namespace {

void validate(const AdagradOptions& o) {
    auto bad = [](const std::string& what) { throw ValueError("Adagrad: invalid " + what); };
    if (!(o.lr >= 0) || std::isinf(o.lr)) bad("lr " + num(o.lr) + " (must be finite and >= 0)");
    if (!(o.lr_decay >= 0)) bad("lr_decay " + num(o.lr_decay) + " (must be >= 0)");
    if (!(o.weight_decay >= 0)) bad("weight_decay " + num(o.weight_decay) + " (must be >= 0)");
    if (!(o.initial_accumulator_value >= 0)) {
        bad("initial_accumulator_value " + num(o.initial_accumulator_value) + " (must be >= 0)");
    }
    if (!(o.eps >= 0)) bad("eps " + num(o.eps) + " (must be >= 0)");
}

template <class T>
void update(Tensor& param, const Tensor& grad, Tensor& sum, const AdagradOptions& o, double clr) {
    auto& w = param.mutable_value<T>();
    T* p = w.data();
    const T* g = grad.value<T>().data();
    T* s = sum.mutable_value<T>().data();
    const T wd = static_cast<T>(o.weight_decay), eps = static_cast<T>(o.eps);
    const T neg_clr = static_cast<T>(-clr);
    for (std::size_t i = 0; i < w.size(); ++i) {
        T gi = o.maximize ? -g[i] : g[i];
        if (o.weight_decay != 0) gi = gi + wd * p[i];
        s[i] = s[i] + gi * gi;
        const T std_dev = std::sqrt(s[i]) + eps;
        p[i] = p[i] + neg_clr * gi / std_dev;
    }
}

}  // namespace

Adagrad::Adagrad(std::vector<Tensor> params, Options options)
    : Optimizer(std::vector<ParamGroup>{}) {
    add_param_group(std::move(params), options);
}

void Adagrad::add_param_group(std::vector<Tensor> params, Options options) {
    validate(options);
    add_group({std::move(params), options.lr});
    options_.push_back(options);
}

void Adagrad::step() {
    auto& groups = param_groups();
    for (std::size_t gi = 0; gi < groups.size(); ++gi) {
        const Options& o = options_[gi];
        for (std::size_t i = 0; i < groups[gi].params.size(); ++i) {
            Tensor& p = groups[gi].params[i];
            if (!p.has_grad()) continue;
            auto& st = state(gi, i);
            auto step_it = st.find("step");
            if (step_it == st.end()) step_it = st.emplace("step", scalar(0.0, f64)).first;
            auto sum_it = st.find("sum");
            if (sum_it == st.end()) {
                sum_it = st.emplace("sum", full(p.shape(), o.initial_accumulator_value, p.dtype()))
                             .first;
            }
            const double t = step_it->second.item() + 1;
            step_it->second.fill_(t);
            const double clr = groups[gi].lr / (1 + (t - 1) * o.lr_decay);
            if (p.dtype() == f32) {
                update<float>(p, p.grad(), sum_it->second, o, clr);
            } else {
                update<double>(p, p.grad(), sum_it->second, o, clr);
            }
        }
    }
}

Adagrad::Options Adagrad::options(std::size_t g) const {
    Options o = options_.at(g);
    o.lr = param_groups()[g].lr;
    return o;
}

StateDict Adagrad::state_dict() const {
    StateDict d = Optimizer::state_dict();
    for (std::size_t g = 0; g < options_.size(); ++g) {
        const Options& o = options_[g];
        d[option_key(g, "lr_decay")] = scalar(o.lr_decay, f64);
        d[option_key(g, "weight_decay")] = scalar(o.weight_decay, f64);
        d[option_key(g, "initial_accumulator_value")] = scalar(o.initial_accumulator_value, f64);
        d[option_key(g, "eps")] = scalar(o.eps, f64);
        d[option_key(g, "maximize")] = scalar(o.maximize ? 1 : 0, f64);
    }
    return d;
}

void Adagrad::load_state_dict(const StateDict& d) {
    std::vector<Options> loaded = options_;
    for (std::size_t g = 0; g < loaded.size(); ++g) {
        Options& o = loaded[g];
        o.lr_decay = read_option(d, g, "lr_decay", name());
        o.weight_decay = read_option(d, g, "weight_decay", name());
        o.initial_accumulator_value = read_option(d, g, "initial_accumulator_value", name());
        o.eps = read_option(d, g, "eps", name());
        o.maximize = read_option(d, g, "maximize", name()) != 0;
        o.lr = 0;  // restored and checked by the base class
        validate(o);
    }
    Optimizer::load_state_dict(d);
    options_ = std::move(loaded);
}

}  // namespace tapegrad::optim

#include "tapegrad/optim/rmsprop.hpp"

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

void validate(const RMSpropOptions& o) {
    auto bad = [](const std::string& what) { throw ValueError("RMSprop: invalid " + what); };
    if (!(o.lr >= 0) || std::isinf(o.lr)) bad("lr " + num(o.lr) + " (must be finite and >= 0)");
    if (!(o.eps >= 0)) bad("eps " + num(o.eps) + " (must be >= 0)");
    if (!(o.momentum >= 0)) bad("momentum " + num(o.momentum) + " (must be >= 0)");
    if (!(o.weight_decay >= 0)) bad("weight_decay " + num(o.weight_decay) + " (must be >= 0)");
    if (!(o.alpha >= 0)) bad("alpha " + num(o.alpha) + " (must be >= 0)");
}

template <class T>
void update(Tensor& param, const Tensor& grad, Tensor& square_avg, Tensor* grad_avg, Tensor* buffer,
            const RMSpropOptions& o, double lr) {
    auto& w = param.mutable_value<T>();
    T* p = w.data();
    const T* g = grad.value<T>().data();
    T* v = square_avg.mutable_value<T>().data();
    T* a = grad_avg ? grad_avg->mutable_value<T>().data() : nullptr;
    T* b = buffer ? buffer->mutable_value<T>().data() : nullptr;
    const T alpha = static_cast<T>(o.alpha), one_minus_alpha = static_cast<T>(1 - o.alpha);
    const T wd = static_cast<T>(o.weight_decay), eps = static_cast<T>(o.eps);
    const T mom = static_cast<T>(o.momentum), neg_lr = static_cast<T>(-lr);
    for (std::size_t i = 0; i < w.size(); ++i) {
        T gi = o.maximize ? -g[i] : g[i];
        if (o.weight_decay != 0) gi = gi + wd * p[i];
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
            p[i] = p[i] + neg_lr * b[i];
        } else {
            p[i] = p[i] + neg_lr * gi / avg;
        }
    }
}

}  // namespace

RMSprop::RMSprop(std::vector<Tensor> params, Options options)
    : Optimizer(std::vector<ParamGroup>{}) {
    add_param_group(std::move(params), options);
}

void RMSprop::add_param_group(std::vector<Tensor> params, Options options) {
    validate(options);
    add_group({std::move(params), options.lr});
    options_.push_back(options);
}

void RMSprop::step() {
    auto& groups = param_groups();
    for (std::size_t gi = 0; gi < groups.size(); ++gi) {
        const Options& o = options_[gi];
        for (std::size_t i = 0; i < groups[gi].params.size(); ++i) {
            Tensor& p = groups[gi].params[i];
            if (!p.has_grad()) continue;
            auto& st = state(gi, i);
            auto step_it = st.find("step");
            if (step_it == st.end()) step_it = st.emplace("step", scalar(0.0, f64)).first;
            step_it->second.fill_(step_it->second.item() + 1);  // counted, as PyTorch does
            Tensor& square_avg = state_tensor(st, "square_avg", p);
            Tensor* grad_avg = o.centered ? &state_tensor(st, "grad_avg", p) : nullptr;
            Tensor* buffer = o.momentum > 0 ? &state_tensor(st, "momentum_buffer", p) : nullptr;
            if (p.dtype() == f32) {
                update<float>(p, p.grad(), square_avg, grad_avg, buffer, o, groups[gi].lr);
            } else {
                update<double>(p, p.grad(), square_avg, grad_avg, buffer, o, groups[gi].lr);
            }
        }
    }
}

RMSprop::Options RMSprop::options(std::size_t g) const {
    Options o = options_.at(g);
    o.lr = param_groups()[g].lr;
    return o;
}

StateDict RMSprop::state_dict() const {
    StateDict d = Optimizer::state_dict();
    for (std::size_t g = 0; g < options_.size(); ++g) {
        const Options& o = options_[g];
        d[option_key(g, "alpha")] = scalar(o.alpha, f64);
        d[option_key(g, "eps")] = scalar(o.eps, f64);
        d[option_key(g, "weight_decay")] = scalar(o.weight_decay, f64);
        d[option_key(g, "momentum")] = scalar(o.momentum, f64);
        d[option_key(g, "centered")] = scalar(o.centered ? 1 : 0, f64);
        d[option_key(g, "maximize")] = scalar(o.maximize ? 1 : 0, f64);
    }
    return d;
}

void RMSprop::load_state_dict(const StateDict& d) {
    std::vector<Options> loaded = options_;
    for (std::size_t g = 0; g < loaded.size(); ++g) {
        Options& o = loaded[g];
        o.alpha = read_option(d, g, "alpha", name());
        o.eps = read_option(d, g, "eps", name());
        o.weight_decay = read_option(d, g, "weight_decay", name());
        o.momentum = read_option(d, g, "momentum", name());
        o.centered = read_option(d, g, "centered", name()) != 0;
        o.maximize = read_option(d, g, "maximize", name()) != 0;
        o.lr = 0;  // restored and checked by the base class
        validate(o);
    }
    Optimizer::load_state_dict(d);
    options_ = std::move(loaded);
}

}  // namespace tapegrad::optim

#include "tapegrad/optim/sgd.hpp"

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

void validate(const SGDOptions& o) {
    auto bad = [](const std::string& what) { throw ValueError("SGD: invalid " + what); };
    if (!(o.lr >= 0) || std::isinf(o.lr)) bad("lr " + num(o.lr) + " (must be finite and >= 0)");
    if (!(o.momentum >= 0)) bad("momentum " + num(o.momentum) + " (must be >= 0)");
    if (!(o.weight_decay >= 0)) bad("weight_decay " + num(o.weight_decay) + " (must be >= 0)");
    if (o.nesterov && (o.momentum <= 0 || o.dampening != 0)) {
        bad("nesterov: Nesterov momentum requires momentum > 0 and dampening = 0 (got momentum " +
            num(o.momentum) + ", dampening " + num(o.dampening) + ")");
    }
}

template <class T>
void update(Tensor& param, const Tensor& grad, Tensor* buffer, bool first, const SGDOptions& o,
            double lr) {
    auto& w = param.mutable_value<T>();
    const auto& g = grad.value<T>();
    T* b = buffer ? buffer->mutable_value<T>().data() : nullptr;
    const T wd = static_cast<T>(o.weight_decay);
    const T mom = static_cast<T>(o.momentum);
    const T keep = static_cast<T>(1 - o.dampening);
    const T neg_lr = static_cast<T>(-lr);
    for (std::size_t i = 0; i < w.size(); ++i) {
        T d = o.maximize ? -g.data()[i] : g.data()[i];
        if (o.weight_decay != 0) d = d + wd * w.data()[i];  // L2: g + wd * p
        if (b) {
            // The buffer starts as the (decayed) gradient itself, as PyTorch's clone(d_p).
            b[i] = first ? d : b[i] * mom + keep * d;
            d = o.nesterov ? d + mom * b[i] : b[i];
        }
        w.data()[i] = w.data()[i] + neg_lr * d;
    }
}

}  // namespace

SGD::SGD(std::vector<Tensor> params, Options options) : Optimizer(std::vector<ParamGroup>{}) {
    add_param_group(std::move(params), options);
}

void SGD::add_param_group(std::vector<Tensor> params, Options options) {
    validate(options);
    add_group({std::move(params), options.lr});
    options_.push_back(options);
}

void SGD::step() {
    auto& groups = param_groups();
    for (std::size_t gi = 0; gi < groups.size(); ++gi) {
        const Options& o = options_[gi];
        const double lr = groups[gi].lr;
        for (std::size_t i = 0; i < groups[gi].params.size(); ++i) {
            Tensor& p = groups[gi].params[i];
            if (!p.has_grad()) continue;
            Tensor* buffer = nullptr;
            bool first = false;
            if (o.momentum != 0) {
                auto& st = state(gi, i);
                auto it = st.find("momentum_buffer");
                first = it == st.end();
                if (first) it = st.emplace("momentum_buffer", zeros(p.shape(), p.dtype())).first;
                buffer = &it->second;
            }
            if (p.dtype() == f32) {
                update<float>(p, p.grad(), buffer, first, o, lr);
            } else {
                update<double>(p, p.grad(), buffer, first, o, lr);
            }
        }
    }
}

SGD::Options SGD::options(std::size_t g) const {
    Options o = options_.at(g);
    o.lr = param_groups()[g].lr;
    return o;
}

StateDict SGD::state_dict() const {
    StateDict d = Optimizer::state_dict();
    for (std::size_t g = 0; g < options_.size(); ++g) {
        const Options& o = options_[g];
        d[option_key(g, "momentum")] = scalar(o.momentum, f64);
        d[option_key(g, "dampening")] = scalar(o.dampening, f64);
        d[option_key(g, "weight_decay")] = scalar(o.weight_decay, f64);
        d[option_key(g, "nesterov")] = scalar(o.nesterov ? 1 : 0, f64);
        d[option_key(g, "maximize")] = scalar(o.maximize ? 1 : 0, f64);
    }
    return d;
}

void SGD::load_state_dict(const StateDict& d) {
    std::vector<Options> loaded = options_;
    for (std::size_t g = 0; g < loaded.size(); ++g) {
        Options& o = loaded[g];
        o.momentum = read_option(d, g, "momentum", name());
        o.dampening = read_option(d, g, "dampening", name());
        o.weight_decay = read_option(d, g, "weight_decay", name());
        o.nesterov = read_option(d, g, "nesterov", name()) != 0;
        o.maximize = read_option(d, g, "maximize", name()) != 0;
        o.lr = 0;  // the group's lr is restored by the base class; checked there
        validate(o);
    }
    Optimizer::load_state_dict(d);
    for (std::size_t g = 0; g < loaded.size(); ++g) loaded[g].lr = param_groups()[g].lr;
    options_ = std::move(loaded);
}

}  // namespace tapegrad::optim

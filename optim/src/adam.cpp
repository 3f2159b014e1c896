#include "tapegrad/optim/adam.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <tuple>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif
#ifdef XTENSOR_USE_XSIMD
#include <xsimd/xsimd.hpp>
#endif

#include "group_options.hpp"
#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::optim::detail {

namespace {

struct StepScalars {
    double lr, beta1, beta2, eps, weight_decay, step_size, bias_correction2_sqrt;
    bool decoupled, amsgrad, maximize;
};

// Flushes denormal results (and reads denormal inputs as zero) while alive, on this thread.
// A moment whose gradient stays zero decays by beta1 every step into the denormal range, where
// each operation takes a microcode assist: Adam's update slowed down epoch after epoch (a
// Fashion-MNIST epoch from 0.61 to 0.85 s; flat at 0.62-0.66 with flushing). What flushing
// changes is below 1.2e-38: a moment that small moves its parameter by less than 1e-30.
class FlushDenormals {
  public:
#if defined(__SSE__)
    // MXCSR bit 15 flushes results to zero (FTZ), bit 6 reads denormal inputs as zero (DAZ).
    FlushDenormals() : saved_(_mm_getcsr()) {
        _mm_setcsr(saved_ | 0x8040);
    }
    ~FlushDenormals() {
        _mm_setcsr(saved_);
    }

  private:
    unsigned saved_;
#endif
};

// max for scalars and xsimd batches alike.
template <class V>
V larger(V a, V b) {
    if constexpr (std::is_floating_point_v<V>) {
        return std::max(a, b);
    } else {
        return xsimd::max(a, b);
    }
}

template <class T>
void update(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
            Tensor* max_exp_avg_sq, const StepScalars& s) {
    auto& w = param.mutable_value<T>();
    const T* g = grad.value<T>().data();
    T* m = exp_avg.mutable_value<T>().data();
    T* v = exp_avg_sq.mutable_value<T>().data();
    T* vmax = max_exp_avg_sq ? max_exp_avg_sq->mutable_value<T>().data() : nullptr;
    const T b1 = static_cast<T>(s.beta1), b2 = static_cast<T>(s.beta2);
    const T one_minus_b1 = static_cast<T>(1 - s.beta1), one_minus_b2 = static_cast<T>(1 - s.beta2);
    const T wd = static_cast<T>(s.weight_decay);
    const T shrink = static_cast<T>(1 - s.lr * s.weight_decay);
    const T eps = static_cast<T>(s.eps);
    const T bc2_sqrt = static_cast<T>(s.bias_correction2_sqrt);
    const T neg_step_size = static_cast<T>(-s.step_size);
    T* p = w.data();
    // One element, or one xsimd batch of them (the same expression for both): a scalar loop
    // with sqrt and a division per element was half of a Fashion-MNIST epoch.
    auto step = [&](auto gi, auto pi, auto mi, auto vi, auto vmaxi) {
        using V = decltype(gi);
        if (s.maximize) gi = -gi;
        if (s.decoupled) {
            pi = pi * V(shrink);  // AdamW: p *= 1 - lr * wd (PyTorch applies it even for wd 0)
        } else if (s.weight_decay != 0) {
            gi = gi + V(wd) * pi;  // Adam: L2 added to the gradient
        }
        mi = mi * V(b1) + V(one_minus_b1) * gi;
        vi = vi * V(b2) + V(one_minus_b2) * gi * gi;
        V second = vi;
        if (vmax) {
            vmaxi = larger(vmaxi, vi);
            second = vmaxi;
        }
        // PyTorch's order: (sqrt(v) / sqrt(1 - beta2^t)) + eps, then p += -step_size * m / denom.
        using std::sqrt;
        const V denom = sqrt(second) / V(bc2_sqrt) + V(eps);
        pi = pi + V(neg_step_size) * mi / denom;
        return std::tuple{pi, mi, vi, vmaxi};
    };
    const std::size_t n = w.size();
    const FlushDenormals flush;
    std::size_t i = 0;
#ifdef XTENSOR_USE_XSIMD
    using B = xsimd::batch<T>;
    for (; i + B::size <= n; i += B::size) {
        const B vm = vmax ? B::load_unaligned(vmax + i) : B(T(0));
        const auto [pi, mi, vi, vmaxi] =
            step(B::load_unaligned(g + i), B::load_unaligned(p + i), B::load_unaligned(m + i),
                 B::load_unaligned(v + i), vm);
        pi.store_unaligned(p + i);
        mi.store_unaligned(m + i);
        vi.store_unaligned(v + i);
        if (vmax) vmaxi.store_unaligned(vmax + i);
    }
#endif
    for (; i < n; ++i) {
        const auto [pi, mi, vi, vmaxi] = step(g[i], p[i], m[i], v[i], vmax ? vmax[i] : T(0));
        p[i] = pi;
        m[i] = mi;
        v[i] = vi;
        if (vmax) vmax[i] = vmaxi;
    }
}

}  // namespace

void AdamBase::validate(double lr, const GroupOptions& o) const {
    auto bad = [&](const std::string& what) { throw ValueError(name() + ": invalid " + what); };
    if (!(lr >= 0) || std::isinf(lr)) bad("lr " + num(lr) + " (must be finite and >= 0)");
    if (!(o.eps >= 0)) bad("eps " + num(o.eps) + " (must be >= 0)");
    if (!(o.betas.first >= 0 && o.betas.first < 1))
        bad("betas.first (beta1) " + num(o.betas.first) + " (must be in [0, 1))");
    if (!(o.betas.second >= 0 && o.betas.second < 1))
        bad("betas.second (beta2) " + num(o.betas.second) + " (must be in [0, 1))");
    if (!(o.weight_decay >= 0)) bad("weight_decay " + num(o.weight_decay) + " (must be >= 0)");
}

void AdamBase::add_group_checked(std::vector<Tensor> params, double lr, const GroupOptions& o) {
    validate(lr, o);
    add_group({std::move(params), lr});
    options_.push_back(o);
}

void AdamBase::step() {
    auto& groups = param_groups();
    for (std::size_t gi = 0; gi < groups.size(); ++gi) {
        const GroupOptions& o = options_[gi];
        for (std::size_t i = 0; i < groups[gi].params.size(); ++i) {
            Tensor& p = groups[gi].params[i];
            if (!p.has_grad()) continue;
            auto& st = state(gi, i);
            auto step_it = st.find("step");
            if (step_it == st.end()) step_it = st.emplace("step", scalar(0.0, f64)).first;
            Tensor& exp_avg = state_tensor(st, "exp_avg", p);
            Tensor& exp_avg_sq = state_tensor(st, "exp_avg_sq", p);
            Tensor* max_sq = o.amsgrad ? &state_tensor(st, "max_exp_avg_sq", p) : nullptr;

            const double t = step_it->second.item() + 1;
            step_it->second.fill_(t);
            StepScalars s{};
            s.lr = groups[gi].lr;
            s.beta1 = o.betas.first;
            s.beta2 = o.betas.second;
            s.eps = o.eps;
            s.weight_decay = o.weight_decay;
            s.step_size = s.lr / (1 - std::pow(s.beta1, t));  // lr / bias_correction1
            s.bias_correction2_sqrt = std::sqrt(1 - std::pow(s.beta2, t));
            s.decoupled = decoupled_;
            s.amsgrad = o.amsgrad;
            s.maximize = o.maximize;
            if (p.dtype() == f32) {
                update<float>(p, p.grad(), exp_avg, exp_avg_sq, max_sq, s);
            } else {
                update<double>(p, p.grad(), exp_avg, exp_avg_sq, max_sq, s);
            }
        }
    }
}

StateDict AdamBase::state_dict() const {
    StateDict d = Optimizer::state_dict();
    for (std::size_t g = 0; g < options_.size(); ++g) {
        const GroupOptions& o = options_[g];
        d[option_key(g, "beta1")] = scalar(o.betas.first, f64);
        d[option_key(g, "beta2")] = scalar(o.betas.second, f64);
        d[option_key(g, "eps")] = scalar(o.eps, f64);
        d[option_key(g, "weight_decay")] = scalar(o.weight_decay, f64);
        d[option_key(g, "amsgrad")] = scalar(o.amsgrad ? 1 : 0, f64);
        d[option_key(g, "maximize")] = scalar(o.maximize ? 1 : 0, f64);
    }
    return d;
}

void AdamBase::load_state_dict(const StateDict& d) {
    std::vector<GroupOptions> loaded = options_;
    for (std::size_t g = 0; g < loaded.size(); ++g) {
        GroupOptions& o = loaded[g];
        o.betas.first = read_option(d, g, "beta1", name());
        o.betas.second = read_option(d, g, "beta2", name());
        o.eps = read_option(d, g, "eps", name());
        o.weight_decay = read_option(d, g, "weight_decay", name());
        o.amsgrad = read_option(d, g, "amsgrad", name()) != 0;
        o.maximize = read_option(d, g, "maximize", name()) != 0;
        validate(0.0, o);
    }
    Optimizer::load_state_dict(d);
    options_ = std::move(loaded);
}

}  // namespace tapegrad::optim::detail

namespace tapegrad::optim {

using detail::num;
using detail::option_key;
using detail::read_option;
using detail::state_tensor;

Adam::Adam(std::vector<Tensor> params, Options options) : AdamBase(false) {
    add_param_group(std::move(params), options);
}

void Adam::add_param_group(std::vector<Tensor> params, Options o) {
    add_group_checked(std::move(params), o.lr,
                      {o.betas, o.eps, o.weight_decay, o.amsgrad, o.maximize});
}

Adam::Options Adam::options(std::size_t g) const {
    const GroupOptions& o = group_options(g);
    return {param_groups()[g].lr, o.betas, o.eps, o.weight_decay, o.amsgrad, o.maximize};
}

AdamW::AdamW(std::vector<Tensor> params, Options options) : AdamBase(true) {
    add_param_group(std::move(params), options);
}

void AdamW::add_param_group(std::vector<Tensor> params, Options o) {
    add_group_checked(std::move(params), o.lr,
                      {o.betas, o.eps, o.weight_decay, o.amsgrad, o.maximize});
}

AdamW::Options AdamW::options(std::size_t g) const {
    const GroupOptions& o = group_options(g);
    return {param_groups()[g].lr, o.betas, o.eps, o.weight_decay, o.amsgrad, o.maximize};
}

}  // namespace tapegrad::optim

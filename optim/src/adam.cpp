#include "tapegrad/optim/adam.hpp"

#include "tapegrad/autodiff/parallel.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <type_traits>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif
#ifdef XTENSOR_USE_XSIMD
#include <xsimd/xsimd.hpp>
#endif

namespace tapegrad::optim {

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
void adam_update(T* p, const T* g, std::size_t n, T* m, T* v, T* vmax, const StepScalars& s) {
    const T b1 = static_cast<T>(s.beta1), b2 = static_cast<T>(s.beta2);
    const T one_minus_b1 = static_cast<T>(1 - s.beta1), one_minus_b2 = static_cast<T>(1 - s.beta2);
    const T wd = static_cast<T>(s.weight_decay);
    const T shrink = static_cast<T>(1 - s.lr * s.weight_decay);
    const T eps = static_cast<T>(s.eps);
    const T bc2_sqrt = static_cast<T>(s.bias_correction2_sqrt);
    const T neg_step_size = static_cast<T>(-s.step_size);
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

template <bool decoupled>
struct AdamRule {
    using Options = std::conditional_t<decoupled, AdamWOptions, AdamOptions>;
    static constexpr const char* name = decoupled ? "AdamW" : "Adam";
    static constexpr OptionField<Options> fields[] = {
        {"beta1", &Options::betas, 0, Range::unit},
        {"beta2", &Options::betas, 1, Range::unit},
        {"eps", &Options::eps, Range::non_negative},
        {"weight_decay", &Options::weight_decay, Range::non_negative},
        {"amsgrad", &Options::amsgrad},
        {"maximize", &Options::maximize}};

    // The maths of adam.hpp; the per-step scalars in double, the elements in adam_update.
    template <class T>
    static void update(ParamState<T>& p, const Options& o) {
        const double t = p.next_step();
        StepScalars s{};
        s.lr = o.lr;
        s.beta1 = o.betas.first;
        s.beta2 = o.betas.second;
        s.eps = o.eps;
        s.weight_decay = o.weight_decay;
        s.step_size = s.lr / (1 - std::pow(s.beta1, t));  // lr / bias_correction1
        s.bias_correction2_sqrt = std::sqrt(1 - std::pow(s.beta2, t));
        s.decoupled = decoupled;
        s.amsgrad = o.amsgrad;
        s.maximize = o.maximize;
        T* vmax = o.amsgrad ? p.buffer("max_exp_avg_sq") : nullptr;
        T *w = p.value(), *m = p.buffer("exp_avg"), *v = p.buffer("exp_avg_sq");
        const T* g = p.grad();
        // Large parameters in parts across tapegrad's threads: parts of whole 64-byte blocks
        // take the same SIMD and scalar paths element for element as one call would.
        parallel_for(
            p.size(), kMinElementsPerThread, 64 / sizeof(T), [&](std::size_t b, std::size_t e) {
                adam_update<T>(w + b, g + b, e - b, m + b, v + b, vmax ? vmax + b : nullptr, s);
            });
    }
};

template class FirstOrder<AdamRule<false>, AdamOptions>;
template class FirstOrder<AdamRule<true>, AdamWOptions>;

}  // namespace tapegrad::optim

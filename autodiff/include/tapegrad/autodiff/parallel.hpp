#pragma once
// tapegrad's own threads: large matrix products and large elementwise work are split into
// contiguous parts, one per thread, the calling thread taking the first. The parts depend only
// on the size of the work and the thread count, never on timing, so a result is the same from
// run to run at a given count (and, for elementwise work, the same at every count).
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <tuple>
#include <xtensor/xarray.hpp>
#include <xtensor/xassign.hpp>
#include <xtensor/xnoalias.hpp>

namespace tapegrad {

// Runs body(begin, end) over [0, n) (not at all when n is 0) in up to num_threads() contiguous
// parts of at least min_per_part items each, every part but the last a multiple of align items
// long. Returns when every part is done; the first exception thrown by a part is rethrown here.
// Small work, a pool of one thread, a call from inside a part, or a call while another thread has
// the pool runs body(0, n) on the calling thread.
void parallel_for(std::size_t n, std::size_t min_per_part, std::size_t align,
                  const std::function<void(std::size_t, std::size_t)>& body);

// How many parts parallel_for would make of n items.
std::size_t parallel_parts(std::size_t n, std::size_t min_per_part);

namespace detail {
extern std::atomic<int> pool_threads;  // 0 before set_num_threads, then its n

// At most the number of elements of e, found without its broadcast shape (which an xfunction
// works out on the first call to shape(), some 60 instructions), so that a recorded scalar op
// goes to xtensor's own assignment without paying for it twice. A broadcast's size is at most
// the product of its operands' sizes (saturated at SIZE_MAX).
template <class E>
std::size_t size_bound(const E& e) {
    if constexpr (requires { e.arguments(); }) {
        return std::apply(
            [](const auto&... operand) {
                std::size_t n = 1;
                const auto times = [&n](std::size_t k) {
                    if (__builtin_mul_overflow(n, k, &n)) n = SIZE_MAX;
                };
                (times(size_bound(operand)), ...);
                return n;
            },
            e.arguments());
    } else {
        return e.size();
    }
}
}  // namespace detail

// Elementwise work is split from this many elements a thread: a memory-bound add of 2^16
// floats takes about 10 us here, a handoff to a thread a few.
inline constexpr std::size_t kMinElementsPerThread = std::size_t(1) << 16;

namespace detail {
// out[b, end) = e[b, end) in vectors, four read before any is written: xsimd stores through a
// type that may alias anything, so after each store the compiler reads the data pointers inside
// e again (a chain of dependent loads per vector; tanh's backward g·(1 - y²) ran at 5 cycles a
// vector). e reads out at most element for element, before writing it.
template <class T, class E>
void assign_linear(xt::xarray<T>& out, const E& e, std::size_t b, std::size_t end) {
    using V = typename xt::xassign_traits<xt::xarray<T>, E>::requested_value_type;
    using B = xt_simd::simd_type<V>;
    using Mode = xt_simd::unaligned_mode;
    constexpr std::size_t W = B::size;
    std::size_t i = b;
    for (; i + 4 * W <= end; i += 4 * W) {
        const B v0 = e.template load_simd<Mode, V>(i);
        const B v1 = e.template load_simd<Mode, V>(i + W);
        const B v2 = e.template load_simd<Mode, V>(i + 2 * W);
        const B v3 = e.template load_simd<Mode, V>(i + 3 * W);
        out.template store_simd<Mode>(i, v0);
        out.template store_simd<Mode>(i + W, v1);
        out.template store_simd<Mode>(i + 2 * W, v2);
        out.template store_simd<Mode>(i + 3 * W, v3);
    }
    for (; i + W <= end; i += W) out.template store_simd<Mode>(i, e.template load_simd<Mode, V>(i));
    for (; i < end; ++i) out.data_element(i) = static_cast<T>(e.data_element(i));
}

// out = e by assign_linear when e is elementwise over arrays of one shape (no broadcasting), in
// parts across tapegrad's threads when large; false (nothing done) otherwise. Kept out of line:
// inlined, it made every recorded scalar op 4 ns slower, though they never come here.
template <class T, class E>
[[gnu::noinline]] bool assign_same_shape(xt::xarray<T>& out, const E& e) {
    using V = typename xt::xassign_traits<xt::xarray<T>, E>::requested_value_type;
    constexpr std::size_t W = xt_simd::simd_type<V>::size;
    const auto& shape = e.shape();
    if (out.shape().size() != shape.size() ||
        !std::equal(shape.begin(), shape.end(), out.shape().begin()))
        out.resize(shape);
    if (!e.has_linear_assign(out.strides())) return false;
    const std::size_t n = out.size();
    if (pool_threads.load(std::memory_order_relaxed) > 1 && n >= 2 * kMinElementsPerThread) {
        const std::size_t align = std::max<std::size_t>(W, 64 / sizeof(T));
        parallel_for(n, kMinElementsPerThread, align,
                     [&](std::size_t b, std::size_t end) { assign_linear(out, e, b, end); });
    } else {
        assign_linear(out, e, 0, n);
    }
    return true;
}
}  // namespace detail

// out = e: by assign_same_shape from a few vectors of elements, else (a recorded scalar op, a
// broadcast) xt::noalias(out) = e. Every part but the last is whole 64-byte blocks, so each
// element is computed by the same SIMD or scalar instructions as on one thread: the result is
// the same at every thread count. e may read out element for element (out + g), never another
// element of it.
template <class T, class E>
void assign_elementwise(xt::xarray<T>& out, const E& e) {
    using Traits = xt::xassign_traits<xt::xarray<T>, E>;
    if constexpr (Traits::simd_linear_assign()) {
        constexpr std::size_t W = xt_simd::simd_type<typename Traits::requested_value_type>::size;
        if (detail::size_bound(e) >= 4 * W && detail::assign_same_shape(out, e)) return;
    }
    xt::noalias(out) = e;
}

}  // namespace tapegrad

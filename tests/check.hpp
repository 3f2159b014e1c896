#pragma once
// Helpers shared by the tests: gradient-check assertions, seeded inputs, an op whose rule is
// wrong on purpose, and checks that many files make (an exception's type and message, pieces
// of a text, state dicts bit for bit, class counts).
// Siblings: files.hpp (scratch folders and files), example_run.hpp (running an example),
// training.hpp (data, models and losses of the training tests), optim_problems.hpp (the
// optimizer tests' problems).
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/autodiff/op.hpp>
#include <tapegrad/autodiff/state_dict.hpp>
#include <utility>
#include <vector>

namespace tg = tapegrad;

// A gradcheck that must pass; on failure the report (worst element) is printed.
#define REQUIRE_GRADCHECK(...) REQUIRE_GRADCHECK_ORDER(1, __VA_ARGS__)

// The same for derivatives of the given order: 1 is gradcheck, 2 and more gradgradcheck (the
// tape's derivative of the order below, differentiated again, against central differences).
#define REQUIRE_GRADCHECK_ORDER(order, ...)                                     \
    do {                                                                        \
        const int order_ = (order);                                             \
        const auto report_ = testing::gradcheck_of_order(order_, __VA_ARGS__);  \
        INFO("derivatives of order " << order_ << ": " << report_.to_string()); \
        REQUIRE(report_.passed);                                                \
        REQUIRE(report_.checked > 0);                                           \
    } while (0)

// Both the exception's type and its message.
#define CHECK_THROWS_TYPED(expr, type, matcher) \
    do {                                        \
        CHECK_THROWS_AS(expr, type);            \
        CHECK_THROWS_WITH(expr, matcher);       \
    } while (0)

namespace testing {

template <class F>
tg::GradcheckReport gradcheck_of_order(int order, const F& f, const std::vector<tg::Tensor>& inputs,
                                       const tg::GradcheckOptions& options = {}) {
    if (order == 1) return tg::gradcheck(f, inputs, options);
    return tg::gradgradcheck(f, inputs, options, order);
}

// Standard-normal float64 values.
inline tg::Tensor normal(const tg::Shape& s, std::uint64_t seed) {
    return tg::randn(s, seed, tg::f64);
}

// Values with |x| >= margin: kinks (relu, abs at 0) are at least that far away, beyond eps.
inline tg::Tensor away_from_zero(const tg::Shape& s, std::uint64_t seed, double margin = 0.2) {
    tg::Tensor t = tg::randn(s, seed, tg::f64);
    for (auto& v : t.mutable_value<double>()) v = (v < 0 ? -1 : 1) * (margin + std::abs(v));
    return t;
}

// Values in [low, high): for functions defined on a part of the line (log, sqrt).
inline tg::Tensor in_range(const tg::Shape& s, std::uint64_t seed, double low, double high) {
    return tg::uniform(s, low, high, seed, tg::f64);
}

inline tg::Shape random_shape(tg::Generator& g, std::size_t max_rank = 3,
                              std::size_t max_extent = 4) {
    tg::Shape s(g.below(max_rank + 1));
    for (auto& e : s) e = 1 + g.below(max_extent);
    return s;
}

// Two shapes that broadcast together: b drops some leading axes of a and has 1 in others.
inline std::pair<tg::Shape, tg::Shape> random_broadcast_pair(tg::Generator& g) {
    tg::Shape a = random_shape(g);
    tg::Shape b(a.begin() + static_cast<std::ptrdiff_t>(g.below(a.size() + 1)), a.end());
    for (auto& e : b)
        if (g.below(3) == 0) e = 1;
    if (g.below(2) == 0) std::swap(a, b);
    return {a, b};
}

// The fixed broadcasting cases every binary op is checked on, beside the random ones.
inline std::vector<std::pair<tg::Shape, tg::Shape>> broadcast_cases() {
    return {{{}, {}},      {{3}, {3}},          {{2, 3}, {2, 3}},      {{2, 3}, {3}},
            {{3}, {2, 3}}, {{2, 3}, {1, 3}},    {{2, 1}, {1, 3}},      {{2, 3}, {}},
            {{}, {2, 3}},  {{4, 2, 3}, {2, 1}}, {{1, 2, 1}, {3, 1, 4}}};
}

// Every piece is in the text: one CHECK_THAT(text, Contains(piece)) per piece, in order.
inline void check_contains(const std::string& text, const std::vector<std::string>& pieces) {
    for (const auto& piece : pieces) CHECK_THAT(text, Catch::Contains(piece));
}

// tapegrad's own threads for a test's scope (set_num_threads), one again when it ends, however
// it ends.
struct Threads {
    explicit Threads(int n) { tg::set_num_threads(n); }
    ~Threads() { tg::set_num_threads(1); }
    Threads(const Threads&) = delete;
    Threads& operator=(const Threads&) = delete;
};

// Bit-for-bit equality of two state dicts: the same names, dtypes, shapes and values.
inline bool same(const tg::StateDict& a, const tg::StateDict& b) {
    if (a.size() != b.size()) return false;
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
        if (ia->first != ib->first || ia->second.dtype() != ib->second.dtype()) return false;
        if (ia->second.dtype() == tg::f32) {
            if (ia->second.value<float>() != ib->second.value<float>()) return false;
        } else if (ia->second.value<double>() != ib->second.value<double>()) {
            return false;
        }
    }
    return true;
}

// A test-only op: out = x², with the derivative rule deliberately wrong (3x instead of 2x), for
// the tests that must see a gradient check fail.
struct WrongSquare {
    static constexpr tg::OpInfo info{"wrong_square", "∂out/∂x = 3x (wrong on purpose)"};
    template <class T>
    static xt::xarray<T> forward(const tg::Inputs<T>& in, const tg::OpArgs&) {
        return *in[0] * *in[0];
    }
    template <class T>
    static void backward(tg::BackwardContext<T>& c) {
        c.accumulate(0, c.grad() * T(3) * c.in(0));
    }
};

// How many labels of each class 0..k-1, and last the number of labels that are none of them.
inline std::vector<std::size_t> class_counts(const tg::Tensor& y, std::size_t k) {
    std::vector<std::size_t> counts(k + 1, 0);
    for (double v : y.to_array<double>()) {
        const bool ok = v >= 0 && v < static_cast<double>(k) && v == std::floor(v);
        ++counts[ok ? static_cast<std::size_t>(v) : k];
    }
    return counts;
}

// The message of the tapegrad::Error that f throws (fails the test when none is thrown).
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const tg::Error& e) {
        return e.what();
    }
    FAIL("no tapegrad::Error was thrown");
    return {};
}

}  // namespace testing

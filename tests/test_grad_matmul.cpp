// Finite-difference gradient checks (float64) of matmul in its three forms, on sizes below
// and above the threshold where BLAS takes over from the hand loop.
#include "check.hpp"

using namespace testing;

TEST_CASE("gradcheck matmul 2-D x 2-D, first and second order") {
    const int order = GENERATE(1, 2);
    REQUIRE_GRADCHECK_ORDER(
        order, [](const tg::Tensor& a, const tg::Tensor& b) { return tg::matmul(a, b); },
        {normal({3, 4}, 1), normal({4, 2}, 2)});
    REQUIRE_GRADCHECK_ORDER(
        order, [](const tg::Tensor& a, const tg::Tensor& b) { return tg::matmul(a, b); },
        {normal({1, 1}, 3), normal({1, 5}, 4)});
}

TEST_CASE("gradcheck matmul 2-D x 1-D, first and second order") {
    const int order = GENERATE(1, 2);
    REQUIRE_GRADCHECK_ORDER(
        order, [](const tg::Tensor& a, const tg::Tensor& b) { return tg::matmul(a, b); },
        {normal({3, 4}, 5), normal({4}, 6)});
}

TEST_CASE("gradcheck matmul batched 3-D x 2-D, first and second order") {
    const int order = GENERATE(1, 2);
    REQUIRE_GRADCHECK_ORDER(
        order, [](const tg::Tensor& a, const tg::Tensor& b) { return tg::matmul(a, b); },
        {normal({2, 3, 4}, 7), normal({4, 2}, 8)});
}

TEST_CASE(
    "gradcheck matmul through BLAS (large enough to leave the hand loop), first and second order") {
    const int order = GENERATE(1, 2);
    // 20x40x30 = 24000 multiply-adds, far above the hand loop's 64; checked by projections.
    REQUIRE_GRADCHECK_ORDER(
        order, [](const tg::Tensor& a, const tg::Tensor& b) { return tg::matmul(a, b); },
        {normal({20, 40}, 9), normal({40, 30}, 10)});
}

TEST_CASE(
    "matmul used twice accumulates into the same gradient (beta = 1 path), first and second "
    "order") {
    const int order = GENERATE(1, 2);
    REQUIRE_GRADCHECK_ORDER(order,
                            [](const tg::Tensor& a, const tg::Tensor& b) {
                                return tg::matmul(a, b) + tg::matmul(a, b * 2.0);
                            },
                            {normal({30, 40}, 11), normal({40, 20}, 12)});
}

TEST_CASE("matmul values match a hand computation in both dtypes") {
    for (auto dt : {tg::f32, tg::f64}) {
        const auto a = tg::tensor({{1, 2}, {3, 4}, {5, 6}}, dt);
        const auto b = tg::tensor({{1, 0, 2}, {0, 1, 3}}, dt);
        const auto c = tg::matmul(a, b).to_array<double>();
        CHECK(xt::allclose(c, xt::xarray<double>{{1, 2, 8}, {3, 4, 18}, {5, 6, 28}}));
        const auto v = tg::matmul(a, tg::tensor({1, -1}, dt)).to_array<double>();
        CHECK(xt::allclose(v, xt::xarray<double>{-1, -1, -1}));
    }
    // A large product against a plain loop, through BLAS.
    const auto a = normal({64, 48}, 13), b = normal({48, 40}, 14);
    const auto c = tg::matmul(a, b).value<double>();
    const auto& av = a.value<double>();
    const auto& bv = b.value<double>();
    double worst = 0;
    for (std::size_t i = 0; i < 64; ++i)
        for (std::size_t j = 0; j < 40; ++j) {
            double s = 0;
            for (std::size_t k = 0; k < 48; ++k) s += av(i, k) * bv(k, j);
            worst = std::max(worst, std::abs(s - c(i, j)));
        }
    CHECK(worst < 1e-12);
}

TEST_CASE(
    "gradcheck linear (x·Wᵀ + b) in its forms, small and through BLAS, first and second order") {
    const int order = GENERATE(1, 2);
    using F3 = std::function<tg::Tensor(const std::vector<tg::Tensor>&)>;
    const F3 with_bias = [](const std::vector<tg::Tensor>& v) {
        return tg::linear(v[0], v[1], v[2]);
    };
    REQUIRE_GRADCHECK_ORDER(order, with_bias,
                            {normal({3, 4}, 21), normal({2, 4}, 22), normal({2}, 23)});
    REQUIRE_GRADCHECK_ORDER(order, with_bias,
                            {normal({4}, 24), normal({3, 4}, 25), normal({3}, 26)});
    REQUIRE_GRADCHECK_ORDER(order, with_bias,
                            {normal({2, 3, 4}, 27), normal({5, 4}, 28), normal({5}, 29)});
    // 40x30x20 multiply-adds: BLAS with both transpose flags, checked by projections.
    REQUIRE_GRADCHECK_ORDER(order, with_bias,
                            {normal({40, 30}, 30), normal({20, 30}, 31), normal({20}, 32)});
    REQUIRE_GRADCHECK_ORDER(
        order, [](const tg::Tensor& x, const tg::Tensor& w) { return tg::linear(x, w); },
        {normal({3, 4}, 33), normal({2, 4}, 34)});
    // Used twice: the gradient buffers accumulate (beta = 1) instead of being overwritten.
    REQUIRE_GRADCHECK_ORDER(order,
                            [](const std::vector<tg::Tensor>& v) {
                                return tg::linear(v[0], v[1], v[2]) *
                                       tg::linear(v[0] * 2.0, v[1], v[2]);
                            },
                            {normal({40, 30}, 35), normal({20, 30}, 36), normal({20}, 37)});
}

TEST_CASE("linear equals matmul with the transposed weight plus the bias") {
    const auto x = normal({5, 3}, 40), w = normal({4, 3}, 41), b = normal({4}, 42);
    const auto got = tg::linear(x, w, b).value<double>();
    const auto want = (tg::matmul(x, tg::transpose(w)) + b).value<double>();
    CHECK(xt::allclose(got, want, 1e-14, 1e-14));
    CHECK_THROWS_WITH(tg::linear(normal({5, 2}, 43), w, b),
                      Catch::Contains("linear: input [5, 2] has 2 features but weight [4, 3]"));
    CHECK_THROWS_WITH(tg::linear(x, w, normal({3}, 44)),
                      Catch::Contains("bias [3] does not match weight [4, 3]"));
}

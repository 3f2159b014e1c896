// Finite-difference gradient checks (float64) of matmul in its three forms, on sizes below
// and above the threshold where BLAS takes over from the hand loop.
#include "check.hpp"

using namespace testing;

TEST_CASE("gradcheck matmul 2-D x 2-D") {
    REQUIRE_GRADCHECK([](const tg::Tensor& a, const tg::Tensor& b) { return tg::matmul(a, b); },
                      {normal({3, 4}, 1), normal({4, 2}, 2)});
    REQUIRE_GRADCHECK([](const tg::Tensor& a, const tg::Tensor& b) { return tg::matmul(a, b); },
                      {normal({1, 1}, 3), normal({1, 5}, 4)});
}

TEST_CASE("gradcheck matmul 2-D x 1-D") {
    REQUIRE_GRADCHECK([](const tg::Tensor& a, const tg::Tensor& b) { return tg::matmul(a, b); },
                      {normal({3, 4}, 5), normal({4}, 6)});
}

TEST_CASE("gradcheck matmul batched 3-D x 2-D") {
    REQUIRE_GRADCHECK([](const tg::Tensor& a, const tg::Tensor& b) { return tg::matmul(a, b); },
                      {normal({2, 3, 4}, 7), normal({4, 2}, 8)});
}

TEST_CASE("gradcheck matmul through BLAS (large enough to leave the hand loop)") {
    // 20x40x30 = 24000 multiply-adds, above the 8192 threshold; checked by projections.
    REQUIRE_GRADCHECK([](const tg::Tensor& a, const tg::Tensor& b) { return tg::matmul(a, b); },
                      {normal({20, 40}, 9), normal({40, 30}, 10)});
}

TEST_CASE("matmul used twice accumulates into the same gradient (beta = 1 path)") {
    REQUIRE_GRADCHECK([](const tg::Tensor& a,
                         const tg::Tensor& b) { return tg::matmul(a, b) + tg::matmul(a, b * 2.0); },
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

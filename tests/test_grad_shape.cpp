// Finite-difference gradient checks (float64) of the shape ops.
#include "check.hpp"

using namespace testing;

// A projection by fixed weights makes every output element matter differently, so a
// gradient routed to the wrong place cannot pass.
namespace {
tg::Tensor weighted_sum(const tg::Tensor& y) {
    const auto n = static_cast<double>(y.numel());
    return tg::sum(y * tg::reshape(tg::arange(1.0, 1.0 + n, 1.0, tg::f64), y.shape()));
}
}  // namespace

TEST_CASE("gradcheck reshape, first and second order") {
    const int order = GENERATE(1, 2);
    REQUIRE_GRADCHECK_ORDER(order,
                            [](const tg::Tensor& x) {
                                return tg::reshape(x, {3, 4});
                            },
                            {normal({2, 6}, 1)});
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& x) { return tg::reshape(x, {24}); },
                            {normal({2, 3, 4}, 2)});
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& x) { return tg::reshape(x, {}); },
                            {normal({1, 1}, 3)});
}

TEST_CASE("gradcheck transpose and permute, first and second order") {
    const int order = GENERATE(1, 2);
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& x) { return tg::transpose(x); },
                            {normal({2, 3}, 4)});
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& x) { return tg::transpose(x); },
                            {normal({2, 3, 4}, 5)});
    REQUIRE_GRADCHECK_ORDER(order,
                            [](const tg::Tensor& x) {
                                return tg::permute(x, {1, 2, 0});
                            },
                            {normal({2, 3, 4}, 6)});
    REQUIRE_GRADCHECK_ORDER(order,
                            [](const tg::Tensor& x) {
                                return tg::permute(x, {-1, 0, 1});
                            },
                            {normal({2, 3, 4}, 7)});
}

TEST_CASE("gradcheck transpose of two dims, first and second order") {
    const int order = GENERATE(1, 2);
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& x) { return tg::transpose(x, 0, 2); },
                            {normal({2, 3, 4}, 14)});
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& x) { return tg::transpose(x, -1, 1); },
                            {normal({2, 3, 4}, 15)});
}

TEST_CASE("transpose(x, dim0, dim1) swaps two axes, as torch.transpose") {
    const auto x = normal({2, 3, 4}, 16);
    const tg::Tensor t = tg::transpose(x, 0, -1);
    CHECK(t.shape() == tg::Shape{4, 3, 2});
    CHECK(t.value<double>()(3, 1, 0) == x.value<double>()(0, 1, 3));
    CHECK(tg::transpose(x, 1, 1).shape() == x.shape());
    const tg::Tensor m = normal({2, 3}, 17);
    CHECK(tg::transpose(m, 0, 1).value<double>() == tg::transpose(m).value<double>());
    CHECK_THROWS_WITH(tg::transpose(x, 0, 3), Catch::Matchers::Contains("transpose"));
}

TEST_CASE("gradcheck broadcast_to, first and second order") {
    const int order = GENERATE(1, 2);
    REQUIRE_GRADCHECK_ORDER(order,
                            [](const tg::Tensor& x) {
                                return weighted_sum(tg::broadcast_to(x, {4, 3}));
                            },
                            {normal({3}, 8)});
    REQUIRE_GRADCHECK_ORDER(order,
                            [](const tg::Tensor& x) {
                                return weighted_sum(tg::broadcast_to(x, {2, 3, 4}));
                            },
                            {normal({3, 1}, 9)});
    REQUIRE_GRADCHECK_ORDER(order,
                            [](const tg::Tensor& x) {
                                return tg::broadcast_to(x, {2, 2});
                            },
                            {normal({}, 10)});
}

TEST_CASE("gradcheck concat, first and second order") {
    const int order = GENERATE(1, 2);
    for (std::int64_t axis : {0, 1, -1}) {
        INFO("axis " << axis);
        REQUIRE_GRADCHECK_ORDER(
            order,
            [axis](const tg::Tensor& a, const tg::Tensor& b) {
                return tg::concat({a, b, a}, axis);
            },
            {normal({2, 3}, 11), normal(axis == 0 ? tg::Shape{1, 3} : tg::Shape{2, 2}, 12)});
    }
}

TEST_CASE("gradcheck stack, first and second order") {
    const int order = GENERATE(1, 2);
    for (std::int64_t axis : {0, 1, 2, -1}) {
        INFO("axis " << axis);
        REQUIRE_GRADCHECK_ORDER(order,
                                [axis](const tg::Tensor& a, const tg::Tensor& b) {
                                    return tg::stack({a, b}, axis);
                                },
                                {normal({2, 3}, 13), normal({2, 3}, 14)});
    }
}

TEST_CASE("gradcheck slice_rows, first and second order") {
    const int order = GENERATE(1, 2);
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& x) { return tg::slice_rows(x, 1, 3); },
                            {normal({4, 3}, 15)});
    REQUIRE_GRADCHECK_ORDER(
        order, [](const tg::Tensor& x) { return weighted_sum(tg::slice_rows(x, 0, 2)); },
        {normal({3, 2, 2}, 16)});
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& x) { return tg::slice_rows(x, 2, 5); },
                            {normal({5}, 17)});
}

TEST_CASE("gradcheck gather_rows (with repeated rows), first and second order") {
    const int order = GENERATE(1, 2);
    REQUIRE_GRADCHECK_ORDER(order,
                            [](const tg::Tensor& x) {
                                return tg::gather_rows(x, {2, 0, 2, 3});
                            },
                            {normal({4, 3}, 18)});
    REQUIRE_GRADCHECK_ORDER(order,
                            [](const tg::Tensor& x) {
                                return weighted_sum(tg::gather_rows(x, {1, 1}));
                            },
                            {normal({3}, 19)});
}

TEST_CASE("shape op values") {
    const auto x = tg::tensor({{1, 2, 3}, {4, 5, 6}}, tg::f64);
    CHECK(
        xt::allclose(tg::transpose(x).value<double>(), xt::xarray<double>{{1, 4}, {2, 5}, {3, 6}}));
    CHECK(xt::allclose(tg::concat({x, x}, 1).value<double>(),
                       xt::xarray<double>{{1, 2, 3, 1, 2, 3}, {4, 5, 6, 4, 5, 6}}));
    CHECK(tg::stack({x, x}, 1).shape() == tg::Shape{2, 2, 3});
    CHECK(xt::allclose(tg::gather_rows(x, {1, 1, 0}).value<double>(),
                       xt::xarray<double>{{4, 5, 6}, {4, 5, 6}, {1, 2, 3}}));
    CHECK(xt::allclose(tg::slice_rows(x, 1, 2).value<double>(), xt::xarray<double>{{4, 5, 6}}));
    CHECK(xt::allclose(tg::broadcast_to(tg::tensor({1, 2}, tg::f64), {2, 2}).value<double>(),
                       xt::xarray<double>{{1, 2}, {1, 2}}));
}

TEST_CASE("gradcheck sum_to, the adjoint of broadcast_to, first and second order") {
    const int order = GENERATE(1, 2);
    for (const auto& [big, small] :
         std::vector<std::pair<tg::Shape, tg::Shape>>{{{4, 3}, {3}},
                                                      {{4, 3}, {1, 3}},
                                                      {{2, 3, 4}, {3, 1}},
                                                      {{2, 2}, {}},
                                                      {{2, 3}, {2, 3}}}) {
        INFO(tg::shape_str(big) << " to " << tg::shape_str(small));
        REQUIRE_GRADCHECK_ORDER(
            order, [&](const tg::Tensor& x) { return tg::square(tg::sum_to(x, small)); },
            {normal(big, 40)});
    }
    CHECK_THROWS_WITH(tg::sum_to(normal({2, 3}, 41), {4}),
                      Catch::Contains("sum_to") && Catch::Contains("[4]"));
}

TEST_CASE("gradcheck clone and narrow, first and second order") {
    const int order = GENERATE(1, 2);
    REQUIRE_GRADCHECK_ORDER(order, [](const tg::Tensor& x) { return tg::square(tg::clone(x)); },
                            {normal({2, 3}, 42)});
    for (std::int64_t axis : {0, 1, -1}) {
        INFO("axis " << axis);
        REQUIRE_GRADCHECK_ORDER(order,
                                [axis](const tg::Tensor& x) {
                                    return weighted_sum(tg::square(tg::narrow(x, axis, 1, 2)));
                                },
                                {normal({3, 4, 3}, 43)});
    }
    CHECK_THROWS_WITH(tg::narrow(normal({3, 4}, 44), 1, 3, 2),
                      Catch::Contains("narrow: [3, 5) is not within the 4 entries of axis 1"));
}

TEST_CASE("gradcheck scatter_add_rows (repeats add up), first and second order") {
    const int order = GENERATE(1, 2);
    REQUIRE_GRADCHECK_ORDER(
        order,
        [](const tg::Tensor& x) {
            return weighted_sum(tg::square(tg::scatter_add_rows(x, {2, 0, 2}, 4)));
        },
        {normal({3, 2}, 45)});
    const auto r =
        tg::scatter_add_rows(tg::tensor({{1, 2}, {3, 4}, {5, 6}}, tg::f64), {2, 0, 2}, 4);
    CHECK(xt::allclose(r.value<double>(), xt::xarray<double>{{3, 4}, {0, 0}, {6, 8}, {0, 0}}));
    CHECK_THROWS_WITH(tg::scatter_add_rows(normal({2, 2}, 46), {0, 5}, 4),
                      Catch::Contains("index 5"));
}

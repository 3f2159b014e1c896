// The functional API (jacobian, hessian, vjp, jvp, hvp) against PyTorch 1.13's
// torch.autograd.functional, in float64, to 1e-10. The numbers come from
// tests/data/functional_reference.py (the functions and inputs are the same there).
#include <cmath>

#include "check.hpp"

namespace {

struct Ref {
    tg::Shape shape;
    std::vector<double> values;
};

// A [2, 2, 2, 2] block that is zero but at (i, i) for flat indices i of [2, 2], where it is d[i].
Ref diagonal_block(const std::vector<double>& d) {
    Ref r{{2, 2, 2, 2}, std::vector<double>(16, 0.0)};
    for (std::size_t i = 0; i < 4; ++i) r.values[i * 4 + i] = d[i];
    return r;
}

// clang-format off
const Ref kJacobianA{{3, 3},
    {0.43253750830618176, 0.0, 0.0, 0.0, 1.2039409734997735, 0.0, 0.0, 0.0, 0.1917614972050554}};
const Ref kVjpA{{3},
    {0.21626875415309088, -0.9029557301248301, -0.04794037430126385}};
const Ref kJvpA{{3},
    {0.21626875415309088, -0.9029557301248301, -0.04794037430126385}};
const Ref kJacobianBx{{2, 4, 2, 3},
    {0.787742375935049, 0.498357793621485, -0.4504977221723499, 0.0, 0.0, 0.0, -0.2122576240649509,
     -0.501642206378515, 0.2995022778276501, 0.0, 0.0, 0.0, 0.537742375935049, 0.248357793621485,
     -0.7004977221723498, 0.0, 0.0, 0.0, -0.4622576240649509, 0.9983577936214849,
     0.0495022778276501, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.7617775438613722, 0.42940116825534824,
     -0.4193516406013582, 0.0, 0.0, 0.0, -0.23822245613862786, -0.5705988317446518,
     0.3306483593986418, 0.0, 0.0, 0.0, 0.5117775438613721, 0.17940116825534821,
     -0.6693516406013581, 0.0, 0.0, 0.0, -0.4882224561386279, 0.9294011682553482,
     0.08064835939864179}};
const Ref kJacobianBw{{2, 4, 3, 4},
    {-0.21572739355851178, 0.13555078797054784, 0.03883595097174051, 0.04134065461622343,
     -0.6471821806755353, 0.4066523639116435, 0.11650785291522153, 0.12402196384867029,
     0.43145478711702356, -0.2711015759410957, -0.07767190194348102, -0.08268130923244686,
     0.034272606441488204, -0.11444921202945216, 0.03883595097174051, 0.04134065461622343,
     0.10281781932446461, -0.3433476360883565, 0.11650785291522153, 0.12402196384867029,
     -0.06854521288297641, 0.22889842405890432, -0.07767190194348102, -0.08268130923244686,
     0.034272606441488204, 0.13555078797054784, -0.2111640490282595, 0.04134065461622343,
     0.10281781932446461, 0.4066523639116435, -0.6334921470847785, 0.12402196384867029,
     -0.06854521288297641, -0.2711015759410957, 0.422328098056519, -0.08268130923244686,
     0.034272606441488204, 0.13555078797054784, 0.03883595097174051, -0.20865934538377656,
     0.10281781932446461, 0.4066523639116435, 0.11650785291522153, -0.6259780361513296,
     -0.06854521288297641, -0.2711015759410957, -0.07767190194348102, 0.4173186907675531, 0.0, 0.0,
     0.0, 0.0, -0.4161939651529685, 0.24250080253048753, 0.07872848387790271, 0.09496467874457824,
     0.6242909477294528, -0.3637512037957313, -0.11809272581685407, -0.14244701811686736, 0.0, 0.0,
     0.0, 0.0, 0.08380603484703147, -0.25749919746951244, 0.07872848387790271, 0.09496467874457824,
     -0.1257090522705472, 0.38624879620426866, -0.11809272581685407, -0.14244701811686736, 0.0,
     0.0, 0.0, 0.0, 0.08380603484703147, 0.24250080253048753, -0.4212715161220973,
     0.09496467874457824, -0.1257090522705472, -0.3637512037957313, 0.631907274183146,
     -0.14244701811686736, 0.0, 0.0, 0.0, 0.0, 0.08380603484703147, 0.24250080253048753,
     0.07872848387790271, -0.40503532125542174, -0.1257090522705472, -0.3637512037957313,
     -0.11809272581685407, 0.6075529818831327}};
const Ref kJvpB{{2, 4},
    {-0.016348249240128898, 0.0461517507598711, -0.3288482492401289, 0.1711517507598711,
     0.5637960121555367, 0.0012960121555366522, 0.7512960121555367, -1.1237039878444635}};
// The Hessian blocks of fn_c over its two [2, 2] inputs are zero but where both elements are
// the same element (fn_c couples x and y element by element): the printed diagonals.
const Ref kHessianCxx = diagonal_block(
    {0.06505665428413678, 0.22732826473147894, 0.24604329712677875, 0.06549278505017908});
const Ref kHessianCxy = diagonal_block(
    {0.11943556537188638, 1.7240759004858182, 0.5051250551618707, 0.75});
const Ref kHessianCyx = kHessianCxy;  // PyTorch printed the same numbers: ∂²/∂y∂x = ∂²/∂x∂y
const Ref kHessianCyy = diagonal_block(
    {1.701552113870724, 2.662664673884607, 1.1354463374365935, 1.3862943611198906});
const Ref kHvpCx{{2, 2},
    {0.12210500117098319, -1.2930569253643636, -0.3755841761443247, -0.1383804112123657}};
const Ref kHvpCy{{2, 2},
    {1.3358818680889861, -1.9969985054134551, -0.8202856962992321, 0.21592640972002736}};
const Ref kHessianD{{3, 2, 3, 2},
    {0.3771193288525392, 0.0, -0.08301979805790524, 0.0, -0.10659953079463391, 0.0, 0.0,
     0.2959018279602242, 0.0, -0.026713359023034868, 0.0, -0.04074910603191284,
     -0.08301979805790524, 0.0, 0.39522310440989583, 0.0, -0.13687650694729755, 0.0, 0.0,
     -0.026713359023034865, 0.0, 0.42866884656795634, 0.0, -0.059835432879381346,
     -0.10659953079463391, 0.0, -0.13687650694729755, 0.0, 0.3828323426141532, 0.0, 0.0,
     -0.04074910603191284, 0.0, -0.05983543287938135, 0.0, 0.6228770453724077}};
// clang-format on

// ((a·i + b) mod 7 - 3) / 4 over the flat index i, as grid() in the script.
tg::Tensor grid(const tg::Shape& shape, int a, int b) {
    tg::Tensor t = tg::zeros(shape, tg::f64);
    auto& v = t.mutable_value<double>();
    for (std::size_t i = 0; i < v.size(); ++i)
        v.data()[i] = (static_cast<double>((a * static_cast<int>(i) + b) % 7) - 3) / 4;
    return t;
}

void check_ref(const tg::Tensor& t, const Ref& ref) {
    REQUIRE(t.shape() == ref.shape);
    REQUIRE(t.dtype() == tg::f64);
    const auto& v = t.value<double>();
    double worst = 0;
    for (std::size_t i = 0; i < ref.values.size(); ++i)
        worst = std::max(worst, std::abs(v.data()[i] - ref.values[i]));
    INFO("largest difference from PyTorch " << worst);
    CHECK(worst <= 1e-10);
}

tg::Tensor fn_a(const tg::Tensor& x) {
    return tg::tanh(x) * tg::exp(x / 2.0);
}
tg::Tensor fn_b(const std::vector<tg::Tensor>& in) {
    return tg::log_softmax(tg::matmul(in[0], in[1]), 1);
}
tg::Tensor fn_c(const std::vector<tg::Tensor>& in) {
    const tg::Tensor &x = in[0], &y = in[1];
    return tg::sum(tg::softplus(x) * tg::pow(y, 2.0)) + tg::sum(tg::gelu(x * y));
}
tg::Tensor fn_d(const tg::Tensor& x) {
    return tg::sum(tg::logsumexp(tg::elu(x), {0})) + tg::sum(tg::pow(tg::sigmoid(x), 3.0));
}

}  // namespace

TEST_CASE("jacobian, vjp and jvp of an elementwise function match PyTorch") {
    const tg::Tensor x = grid({3}, 3, 1), v = grid({3}, 2, 5);
    check_ref(tg::jacobian(fn_a, x), kJacobianA);
    const auto [out, g] =
        tg::vjp([](const std::vector<tg::Tensor>& in) { return fn_a(in[0]); }, {x}, v);
    CHECK(out.shape() == tg::Shape{3});
    check_ref(g.at(0), kVjpA);
    const auto j = tg::jvp([](const std::vector<tg::Tensor>& in) { return fn_a(in[0]); }, {x}, {v});
    check_ref(j.jvp, kJvpA);
}

TEST_CASE("jacobian and jvp of log_softmax(x·W) with respect to both inputs match PyTorch") {
    const tg::Tensor x = grid({2, 3}, 5, 2), w = grid({3, 4}, 3, 6);
    const auto j = tg::jacobian(fn_b, {x, w});
    REQUIRE(j.size() == 2);
    check_ref(j[0], kJacobianBx);
    check_ref(j[1], kJacobianBw);
    const auto r = tg::jvp(fn_b, {x, w}, {grid({2, 3}, 1, 3), grid({3, 4}, 4, 1)});
    check_ref(r.jvp, kJvpB);
    CHECK(r.output.shape() == tg::Shape{2, 4});
}

TEST_CASE("hessian and hvp of a function of two tensors match PyTorch") {
    const tg::Tensor x = grid({2, 2}, 2, 4), y = grid({2, 2}, 3, 2);
    const auto h = tg::hessian(fn_c, {x, y});
    REQUIRE(h.size() == 2);
    check_ref(h[0][0], kHessianCxx);
    check_ref(h[0][1], kHessianCxy);
    check_ref(h[1][0], kHessianCyx);
    check_ref(h[1][1], kHessianCyy);
    const auto r = tg::hvp(fn_c, {x, y}, {grid({2, 2}, 5, 5), grid({2, 2}, 1, 6)});
    check_ref(r.hvp.at(0), kHvpCx);
    check_ref(r.hvp.at(1), kHvpCy);
    CHECK(r.output.item() == Approx(fn_c({x, y}).item()).epsilon(1e-15));
}

TEST_CASE("hessian of a function of a matrix has shape input + input and matches PyTorch") {
    check_ref(tg::hessian(fn_d, grid({3, 2}, 4, 3)), kHessianD);
}

TEST_CASE("the functional API leaves its inputs alone and says what is wrong") {
    const tg::Tensor x = grid({3}, 3, 1);
    (void)tg::hessian([](const tg::Tensor& t) { return tg::sum(tg::pow(t, 3.0)); }, x);
    CHECK_FALSE(x.requires_grad());
    CHECK_FALSE(x.has_grad());
    CHECK_THROWS_WITH(tg::hessian(fn_a, x), Catch::Contains("hessian") &&
                                                Catch::Contains("one element") &&
                                                Catch::Contains("[3]"));
    CHECK_THROWS_WITH(tg::hvp([](const tg::Tensor& t) { return tg::sum(t); }, x, grid({2}, 1, 1)),
                      Catch::Contains("hvp: vector 0 has shape [2]"));
    CHECK_THROWS_WITH(tg::vjp([](const std::vector<tg::Tensor>& in) { return in[0] * 2.0; }, {x}),
                      Catch::Contains("vjp") && Catch::Contains("one element"));
    // A function that does not depend on its input has zero derivatives of every kind.
    const tg::Tensor h = tg::hessian([](const tg::Tensor&) { return tg::scalar(1.0, tg::f64); }, x);
    CHECK(h.shape() == tg::Shape{3, 3});
    CHECK(xt::all(xt::equal(h.value<double>(), 0.0)));
    const tg::Tensor lin = tg::hessian([](const tg::Tensor& t) { return tg::sum(t * 3.0); }, x);
    CHECK(xt::all(xt::equal(lin.value<double>(), 0.0)));
}

TEST_CASE("with create_graph the functional results can be differentiated again") {
    // d/dx of the Hessian-vector product of sum(x⁴) along v: d(12x²v)/dx = 24xv.
    tg::Tensor x = grid({3}, 3, 1).requires_grad_();
    const tg::Tensor v = grid({3}, 2, 5);
    tg::Tape tape;
    const auto r = tg::hvp([](const tg::Tensor& t) { return tg::sum(tg::pow(t, 4.0)); }, x, v,
                           {.create_graph = true});
    const auto g = tape.gradient(tg::sum(r.hvp[0]), {x})[0].value<double>();
    for (std::size_t i = 0; i < 3; ++i)
        CHECK(g(i) == Approx(24 * x.value<double>()(i) * v.value<double>()(i)).epsilon(1e-14));
}

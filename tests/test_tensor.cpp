// Tensors: creation, dtypes, printing, seeded randomness, in-place updates.
#include <sstream>

#include "check.hpp"

TEST_CASE("creation functions give the shapes, dtypes and values asked for") {
    CHECK(tg::scalar(2.5).dtype() == tg::f32);
    CHECK(tg::scalar(2.5, tg::f64).item() == 2.5);
    CHECK(tg::scalar(2.5).shape().empty());
    CHECK(tg::zeros({2, 3}).shape() == tg::Shape{2, 3});
    CHECK(tg::ones({4}, tg::f64).value<double>() == xt::xarray<double>{1, 1, 1, 1});
    CHECK(tg::full({2}, 7.0, tg::f64).value<double>() == xt::xarray<double>{7, 7});
    CHECK(tg::arange(5.0, tg::f64).value<double>() == xt::xarray<double>{0, 1, 2, 3, 4});
    CHECK(tg::arange(1.0, 2.0, 0.25, tg::f64).value<double>() ==
          xt::xarray<double>{1, 1.25, 1.5, 1.75});
    CHECK(tg::linspace(0.0, 1.0, 5, tg::f64).value<double>() ==
          xt::xarray<double>{0, 0.25, 0.5, 0.75, 1});
    CHECK(tg::tensor({{1, 2}, {3, 4}}).shape() == tg::Shape{2, 2});
    CHECK(tg::tensor({{1}, {2}, {3}}).shape() == tg::Shape{3, 1});  // a column, not 1-D
    CHECK(tg::tensor({{1, 2.5}}).shape() == tg::Shape{1, 2});
    CHECK(tg::tensor({7}).shape() == tg::Shape{1});
    const auto a = tg::from_array(xt::xarray<double>{{1, 2, 3}});
    CHECK(a.dtype() == tg::f64);
    CHECK(a.numel() == 3);
    CHECK(a.dim() == 2);
    const auto b = tg::zeros({2, 0, 3});
    CHECK(b.numel() == 0);
    CHECK_THROWS_AS(tg::arange(0.0, 1.0, 0.0), tg::ValueError);
}

TEST_CASE("a seed gives the same random numbers every time, in both dtypes") {
    const auto a = tg::randn({1000}, 42, tg::f64);
    const auto b = tg::randn({1000}, 42, tg::f64);
    CHECK(a.value<double>() == b.value<double>());
    const auto c = tg::randn({1000}, 43, tg::f64);
    CHECK_FALSE(a.value<double>() == c.value<double>());
    const auto f = tg::randn({1000}, 42, tg::f32);
    CHECK(xt::allclose(f.to_array<double>(), a.value<double>(), 1e-6, 1e-6));
    // The engine is the standard's mt19937_64 (its 10000th output from seed 5489 is fixed by
    // the standard), and the normal transform is our Box-Muller, the same on every library.
    tg::Generator g(5489);
    for (int i = 0; i < 9999; ++i) g.next_u64();
    CHECK(g.next_u64() == 9981545732273789042ull);
    std::mt19937_64 e(42);
    const double u1 = 1.0 - static_cast<double>(e() >> 11) * 0x1.0p-53;
    const double u2 = static_cast<double>(e() >> 11) * 0x1.0p-53;
    CHECK(a.value<double>()(0) == std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2));
    CHECK(a.value<double>()(1) == std::sqrt(-2 * std::log(u1)) * std::sin(2 * M_PI * u2));
    const auto& v = a.value<double>();
    CHECK(xt::mean(v)() == Approx(0.0).margin(0.1));
    CHECK(xt::stddev(v)() == Approx(1.0).margin(0.1));
    const auto u = tg::uniform({1000}, -2.0, 3.0, 7, tg::f64).value<double>();
    CHECK(xt::amin(u)() >= -2.0);
    CHECK(xt::amax(u)() < 3.0);
}

TEST_CASE("the default generator follows manual_seed") {
    tg::manual_seed(5);
    const auto a = tg::rand({10}, tg::f64);
    tg::manual_seed(5);
    const auto b = tg::rand({10}, tg::f64);
    CHECK(a.value<double>() == b.value<double>());
}

TEST_CASE("Generator::below is uniform and in range") {
    tg::Generator g(1);
    std::vector<int> counts(6, 0);
    for (int i = 0; i < 60000; ++i) ++counts[g.below(6)];
    for (int c : counts) CHECK(std::abs(c - 10000) < 400);
}

TEST_CASE("Generator::below rejects the short last block, even where it is half the range") {
    // From tests/data/permutation_reference.py: n = 2^63 + 1 rejects about half the draws.
    tg::Generator g(9);
    std::vector<std::uint64_t> got;
    for (int i = 0; i < 6; ++i) got.push_back(g.below((std::uint64_t{1} << 63) + 1));
    CHECK(got == std::vector<std::uint64_t>{9216123640673850126u, 4352328545201414233u,
                                            327431547706047100u, 2711129259375962099u,
                                            406445274952594068u, 5570940126437394032u});
    tg::Generator h(9);
    got.clear();
    for (int i = 0; i < 3; ++i) got.push_back(h.below(UINT64_MAX));
    CHECK(got == std::vector<std::uint64_t>{9564989169851117143u, 9216123640673850126u,
                                            16131130373544109587u});
}

TEST_CASE("printing is readable") {
    std::ostringstream os;
    os << tg::tensor({{1, -2.5}, {3, 4}}, tg::f64);
    CHECK(os.str() == "tensor([[ 1.0000, -2.5000],\n        [ 3.0000,  4.0000]], dtype=float64)");
    CHECK(tg::to_string(tg::scalar(3.0).requires_grad_().name("w")) ==
          "tensor(3.0000, dtype=float32, requires_grad=true, name='w')");
    CHECK(tg::to_string(tg::tensor({1e-6, 2.0}, tg::f64)) ==
          "tensor([1.0000e-06, 2.0000e+00], dtype=float64)");
    const auto big = tg::to_string(tg::ones({100, 100}));
    CHECK(big.find("10000 values") != std::string::npos);
    CHECK(big.find("shape=[100, 100]") != std::string::npos);
    CHECK(tg::to_string(tg::Tensor()) == "tensor(undefined)");
}

TEST_CASE("in-place updates change the value and bump the version") {
    auto w = tg::tensor({1.0, 2.0}, tg::f64);
    const auto v0 = w.version();
    w += tg::tensor({1.0, 1.0}, tg::f64);
    w *= 2.0;
    w -= 1.0;
    CHECK(w.value<double>() == xt::xarray<double>{3, 5});
    CHECK(w.version() == v0 + 3);
    w += tg::scalar(1.0, tg::f64);  // broadcasts
    CHECK(w.value<double>() == xt::xarray<double>{4, 6});
    w.copy_(tg::tensor({9.0, 8.0}, tg::f64));
    CHECK(w.value<double>() == xt::xarray<double>{9, 8});
    w.fill_(0.5);
    CHECK(w.value<double>() == xt::xarray<double>{0.5, 0.5});
}

TEST_CASE("grad() of a parameter is a tensor the caller can read and change") {
    auto w = tg::tensor({1.0, 2.0}, tg::f64).requires_grad_();
    {
        tg::Tape tape;
        tape.backward(tg::sum(w * w));
    }
    auto g = w.grad();
    CHECK(g.value<double>() == xt::xarray<double>{2, 4});
    g *= 0.5;  // e.g. gradient clipping
    CHECK(w.grad().value<double>() == xt::xarray<double>{1, 2});
}

TEST_CASE("to() converts between dtypes and back") {
    const auto a = tg::tensor({1.5, -2.25}, tg::f64);
    const auto b = a.to(tg::f32);
    CHECK(b.dtype() == tg::f32);
    CHECK(b.to(tg::f64).value<double>() == a.value<double>());
    auto x = tg::tensor({1.0, 2.0}, tg::f32).requires_grad_();
    tg::Tape tape;
    tape.backward(tg::sum(tg::square(x.to(tg::f64))));
    CHECK(x.grad().dtype() == tg::f32);
    CHECK(x.grad().value<float>() == xt::xarray<float>{2, 4});
}

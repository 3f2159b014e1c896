// save_npy and load_npy: bit-exact round trips, files NumPy's np.save wrote (tests/data/
// make_npz_fixtures.py), errors naming the file; the hidden [.numpy] case writes the files
// npy_numpy_check.py reads back with numpy.load.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <tapegrad/formats/npy.hpp>

#include "check.hpp"
#include "files.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using testing::scratch;

namespace {

const fs::path kData = TAPEGRAD_TEST_DATA;

// The arrays npy_numpy_check.py expects: exact in their dtypes, special values included.
tg::Tensor sample_f32() {
    tg::Tensor t = tg::zeros({2, 3}, tg::f32);
    auto& v = t.mutable_value<float>();
    const float values[] = {0.5f,
                            -1.25f,
                            std::numeric_limits<float>::infinity(),
                            -0.0f,
                            std::numeric_limits<float>::denorm_min(),
                            1e30f};
    std::copy(std::begin(values), std::end(values), v.begin());
    return t;
}
tg::Tensor sample_f64() {
    tg::Tensor t = tg::zeros({2, 1, 3}, tg::f64);
    auto& v = t.mutable_value<double>();
    for (std::size_t i = 0; i < v.size(); ++i) v.flat(i) = static_cast<double>(i) / 7.0;
    return t;
}

template <class T>
bool same_bits(const tg::Tensor& a, const tg::Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    const auto &x = a.value<T>(), &y = b.value<T>();
    return std::equal(x.begin(), x.end(), y.begin(),
                      [](T p, T q) { return std::memcmp(&p, &q, sizeof(T)) == 0; });
}

}  // namespace

TEST_CASE("save_npy then load_npy gives the same bits, float32 and float64, any rank") {
    const auto p32 = scratch("a32.npy"), p64 = scratch("a64.npy"), p0 = scratch("scalar.npy");
    tg::formats::save_npy(p32, sample_f32());
    tg::formats::save_npy(p64, sample_f64());
    tg::formats::save_npy(p0, tg::scalar(3.25, tg::f64));
    CHECK(same_bits<float>(tg::formats::load_npy(p32), sample_f32()));
    CHECK(same_bits<double>(tg::formats::load_npy(p64), sample_f64()));
    const tg::Tensor s = tg::formats::load_npy(p0);
    CHECK(s.shape() == tg::Shape{});
    CHECK(s.item() == 3.25);
    const auto pe = scratch("empty.npy");
    tg::formats::save_npy(pe, tg::zeros({0, 3}, tg::f64));
    CHECK(tg::formats::load_npy(pe).shape() == tg::Shape{0, 3});
}

TEST_CASE("load_npy reads what np.save wrote, Fortran order included") {
    const tg::Tensor a = tg::formats::load_npy(kData / "numpy_save_f64.npy");
    REQUIRE(a.dtype() == tg::f64);
    REQUIRE(a.shape() == tg::Shape{2, 2});
    CHECK(a.value<double>() == xt::xarray<double>{{0.1, -2.5}, {1e-300, 3.141592653589793}});
    // np.asfortranarray(np.arange(6).reshape(2, 3) / 4) as float32: back in C order.
    const tg::Tensor f = tg::formats::load_npy(kData / "numpy_save_fortran_f32.npy");
    REQUIRE(f.dtype() == tg::f32);
    CHECK(f.value<float>() == xt::xarray<float>{{0.0f, 0.25f, 0.5f}, {0.75f, 1.0f, 1.25f}});
}

TEST_CASE("load_npy and save_npy name the file when they fail") {
    const auto missing = scratch("missing.npy");
    CHECK_THROWS_WITH(tg::formats::load_npy(missing), Contains(missing.string()));
    const auto cut = scratch("cut.npy");
    tg::formats::save_npy(cut, sample_f64());
    fs::resize_file(cut, fs::file_size(cut) - 8);
    CHECK_THROWS_AS(tg::formats::load_npy(cut), tg::IoError);
    CHECK_THROWS_WITH(tg::formats::load_npy(cut), Contains(cut.string()));
    const auto nowhere = scratch("no-such-folder") / "x.npy";
    CHECK_THROWS_WITH(tg::formats::save_npy(nowhere, sample_f32()), Contains(nowhere.string()));
}

TEST_CASE("save_npy writes the samples for npy_numpy_check.py", "[.numpy]") {
    const char* prefix = std::getenv("TAPEGRAD_NPY_SAMPLE");
    REQUIRE(prefix != nullptr);
    tg::formats::save_npy(std::string(prefix) + "_f32.npy", sample_f32());
    tg::formats::save_npy(std::string(prefix) + "_f64.npy", sample_f64());
}

// save_npz and load_npz: bit-exact round trips, files NumPy wrote (tests/data/
// make_npz_fixtures.py), every kind of damaged file failing with an IoError that names the
// file, the entry and what is wrong, and the atomic replacement of an existing file.
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <tapegrad/formats/npz.hpp>

#include "check.hpp"
#include "files.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using testing::TempDir;

namespace {

const fs::path kData = TAPEGRAD_TEST_DATA;

std::string read_bytes(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    REQUIRE(f.good());
    return {std::istreambuf_iterator<char>(f), {}};
}
void write_bytes(const fs::path& p, const std::string& b) {
    std::ofstream f(p, std::ios::binary);
    f.write(b.data(), static_cast<std::streamsize>(b.size()));
    REQUIRE(f.good());
}

// Little-endian fields, as zip and npy store them.
std::uint32_t get_le(const std::string& b, std::size_t at, int bytes) {
    std::uint32_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b.at(at + i));
    return v;
}
void set_le(std::string& b, std::size_t at, int bytes, std::uint32_t v) {
    for (int i = 0; i < bytes; ++i) b.at(at + i) = static_cast<char>((v >> (8 * i)) & 0xFF);
}
std::string le(std::uint32_t v, int bytes) {
    std::string s(bytes, '\0');
    set_le(s, 0, bytes, v);
    return s;
}

// Offsets in a zip archive without a comment, read from its end record.
struct Layout {
    std::size_t end_record, directory;
};
Layout layout(const std::string& zip) {
    const std::size_t end = zip.size() - 22;
    REQUIRE(get_le(zip, end, 4) == 0x06054b50);
    return {end, get_le(zip, end + 16, 4)};
}
// Where the data of the entry whose local header is at `header` starts.
std::size_t data_start(const std::string& zip, std::size_t header) {
    return header + 30 + get_le(zip, header + 26, 2) + get_le(zip, header + 28, 2);
}

// CRC-32 as zip defines it (reflected polynomial 0xEDB88320), bit by bit: independent of
// the zlib that tapegrad uses.
std::uint32_t crc32_reference(const std::string& s) {
    std::uint32_t c = 0xFFFFFFFF;
    for (unsigned char b : s) {
        c ^= b;
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

// A zip archive of stored entries, written here rather than by save_npz, for archives whose
// contents are wrong in chosen ways.
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries) {
    std::string out, dir;
    for (const auto& [name, data] : entries) {
        const auto offset = static_cast<std::uint32_t>(out.size());
        const auto size = static_cast<std::uint32_t>(data.size());
        const auto n = static_cast<std::uint32_t>(name.size());
        const std::string common = le(20, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0x21, 2) +
                                   le(crc32_reference(data), 4) + le(size, 4) + le(size, 4) +
                                   le(n, 2) + le(0, 2);
        out += le(0x04034b50, 4) + common + name + data;
        dir += le(0x02014b50, 4) + le(20, 2) + common + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) +
               le(offset, 4) + name;
    }
    const auto count = static_cast<std::uint32_t>(entries.size());
    return out + dir + le(0x06054b50, 4) + le(0, 2) + le(0, 2) + le(count, 2) + le(count, 2) +
           le(static_cast<std::uint32_t>(dir.size()), 4) +
           le(static_cast<std::uint32_t>(out.size()), 4) + le(0, 2);
}

// An .npy array with this header dict (padded as NumPy pads it) and these data bytes.
std::string npy(const std::string& dict, const std::string& data, int major = 1) {
    const std::size_t prefix = major == 1 ? 10 : 12;
    std::string header = dict;
    header.append(64 - (prefix + header.size() + 1) % 64, ' ');
    header += '\n';
    return "\x93NUMPY" + std::string(1, static_cast<char>(major)) + std::string(1, '\0') +
           le(static_cast<std::uint32_t>(header.size()), major == 1 ? 2 : 4) + header + data;
}
template <class T>
std::string raw(const std::vector<T>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

template <class T>
tg::Tensor make(const tg::Shape& shape, const std::vector<T>& values) {
    xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
    REQUIRE(a.size() == values.size());
    std::copy(values.begin(), values.end(), a.begin());
    return tg::Tensor(std::move(a));
}

// Same dtype, same shape, same bytes.
bool identical(const tg::Tensor& a, const tg::Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    const std::size_t n = a.numel() * (a.dtype() == tg::f32 ? 4 : 8);
    const void* pa = a.dtype() == tg::f32 ? static_cast<const void*>(a.value<float>().data())
                                          : a.value<double>().data();
    const void* pb = b.dtype() == tg::f32 ? static_cast<const void*>(b.value<float>().data())
                                          : b.value<double>().data();
    return n == 0 || std::memcmp(pa, pb, n) == 0;
}

// `key` is in `d` with this dtype, shape and exactly these values (bit for bit).
template <class T>
void check_array(const tg::StateDict& d, const std::string& key, const tg::Shape& shape,
                 const std::vector<T>& values) {
    INFO("array '" << key << "'");
    const auto it = d.find(key);
    REQUIRE(it != d.end());
    INFO("shape " << tg::shape_str(it->second.shape()) << ", dtype "
                  << tg::dtype_name(it->second.dtype()));
    CHECK(identical(it->second, make<T>(shape, values)));
}

// The message of the IoError that load_npz(path) must throw.
std::string load_error(const fs::path& path) {
    try {
        tg::formats::load_npz(path);
    } catch (const tg::IoError& e) {
        return e.what();
    }
    FAIL("load_npz(" << path << ") did not throw");
    return {};
}

// True when load_npz(path) loads or throws an IoError (any other exception fails the test).
bool loads(const fs::path& path) {
    try {
        tg::formats::load_npz(path);
        return true;
    } catch (const tg::IoError&) {
        return false;
    }
}

// The file npz_numpy_check.py expects; it holds the same values.
tg::StateDict numpy_sample() {
    std::vector<float> weight(12), rank4(4);
    std::vector<double> cube(24);
    for (int i = 0; i < 12; ++i) weight[i] = static_cast<float>(i * 0.25 - 1);
    for (int i = 0; i < 24; ++i) cube[i] = i / 7.0;
    for (int i = 0; i < 4; ++i) rank4[i] = static_cast<float>(i) - 1.5f;
    const float inf = std::numeric_limits<float>::infinity();
    return {
        {"fc1.weight", make<float>({3, 4}, weight)},
        {"fc1.bias", make<float>({4}, {0.5f, -0.5f, static_cast<float>(1e-3), 7.0f})},
        {"scale", make<double>({}, {3.141592653589793})},
        {"special",
         make<float>({6}, {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(),
                           std::numeric_limits<float>::denorm_min()})},
        {"empty", make<double>({0, 3}, {})},
        {"cube", make<double>({2, 3, 4}, cube)},
        {"rank4", make<float>({1, 2, 1, 2}, rank4)},
        {"unicode.\xc3\xa9", make<double>({1}, {42.0})},
    };
}

// One float32 tensor of 64 elements: its entry "fc1.weight.npy" is a 128-byte npy header
// and 256 bytes of data.
std::string one_entry_archive(const TempDir& dir) {
    const fs::path p = dir / "one.npz";
    tg::formats::save_npz(p, {{"fc1.weight", tg::randn({8, 8}, 5, tg::f32)}});
    return read_bytes(p);
}

}  // namespace

TEST_CASE("save_npz and load_npz round-trip float32 and float64 of rank 0 to 4 bit for bit") {
    const std::vector<tg::Shape> shapes = {{},  {5},    {3, 4},    {2, 3, 4},   {2, 1, 3, 2},
                                           {0}, {3, 0}, {2, 0, 4}, {1, 1, 1, 0}};
    tg::StateDict saved;
    std::uint64_t seed = 1;
    for (const auto dtype : {tg::f32, tg::f64}) {
        for (const auto& s : shapes) {
            const std::string name = std::to_string(++seed) + tg::shape_str(s);
            saved[name] = tg::randn(s, seed, dtype);
        }
    }
    const double inf = std::numeric_limits<double>::infinity();
    saved["special64"] = make<double>({2, 3}, {-0.0, inf, -inf, std::nan(""), 4.9e-324, 1e308});
    saved["special32"] = make<float>(
        {3}, {-0.0f, std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max()});

    TempDir dir;
    tg::formats::save_npz(dir / "model.npz", saved);
    const tg::StateDict loaded = tg::formats::load_npz(dir / "model.npz");
    REQUIRE(loaded.size() == saved.size());
    for (const auto& [name, t] : saved) {
        INFO("tensor " << name);
        REQUIRE(loaded.count(name) == 1);
        CHECK(identical(loaded.at(name), t));
    }
    CHECK(dir.names() == std::set<std::string>{"model.npz"});  // no temporary left behind
}

TEST_CASE("save_npz and load_npz round-trip an empty state dict") {
    TempDir dir;
    tg::formats::save_npz(dir / "empty.npz", {});
    CHECK(read_bytes(dir / "empty.npz").size() == 22);  // just the end record
    CHECK(tg::formats::load_npz(dir / "empty.npz").empty());
}

TEST_CASE("save_npz writes stored entries with NumPy's npy header and a correct CRC") {
    TempDir dir;
    tg::formats::save_npz(dir / "h.npz", {{"a", tg::zeros({3, 4}, tg::f32)},
                                          {"b", tg::zeros({5}, tg::f64)},
                                          {"c", tg::scalar(1.0, tg::f64)}});
    const std::string zip = read_bytes(dir / "h.npz");
    const std::vector<std::pair<std::string, std::string>> dicts = {
        {"a.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"},
        {"b.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }"},
        {"c.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (), }"}};
    std::size_t header = 0;
    for (const auto& [name, dict] : dicts) {
        INFO("entry " << name);
        REQUIRE(get_le(zip, header, 4) == 0x04034b50);
        CHECK(get_le(zip, header + 8, 2) == 0);  // method 0: stored
        CHECK(zip.substr(header + 30, name.size()) == name);
        const std::size_t start = data_start(zip, header);
        const std::size_t size = get_le(zip, header + 18, 4);
        const std::string entry = zip.substr(start, size);
        CHECK(get_le(zip, header + 14, 4) == crc32_reference(entry));
        CHECK(entry.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
        const std::size_t header_len = get_le(entry, 8, 2);
        CHECK((10 + header_len) % 64 == 0);  // the data is 64-byte aligned
        const std::string text = entry.substr(10, header_len);
        CHECK(text.substr(0, dict.size()) == dict);
        CHECK(text.back() == '\n');
        CHECK(text.find_first_not_of(' ', dict.size()) == text.size() - 1);
        header = start + size;
    }
    CHECK(get_le(zip, header, 4) == 0x02014b50);  // then the central directory
}

TEST_CASE("save_npz stores texts as uint8 arrays that load_npz and text_of read back") {
    TempDir dir;
    const std::string utf8 = "{\"name\": \"caf\xc3\xa9\"}\n";
    tg::formats::save_npz(dir / "t.npz", {{"w", tg::ones({2}, tg::f32)}},
                          {{"_meta.json", utf8}, {"empty", ""}});
    const std::string zip = read_bytes(dir / "t.npz");
    CHECK(zip.find("{'descr': '|u1', 'fortran_order': False, 'shape': (" +
                   std::to_string(utf8.size()) + ",), }") != std::string::npos);
    const auto back = tg::formats::load_npz(dir / "t.npz");
    REQUIRE(back.size() == 3);
    CHECK(back.at("_meta.json").shape() == tg::Shape{utf8.size()});
    CHECK(tg::formats::text_of(back.at("_meta.json")) == utf8);
    CHECK(tg::formats::text_of(back.at("empty")).empty());

    CHECK_THROWS_TYPED(
        tg::formats::save_npz(dir / "clash.npz", {{"w", tg::ones({2})}}, {{"w", "text"}}),
        tg::IoError, Contains("clash.npz: cannot save 'w' both as an array"));
    CHECK_THROWS_TYPED(tg::formats::text_of(tg::full({2}, 256.0)), tg::ValueError,
                       Contains("256.000000 is not a byte"));
    CHECK_THROWS_TYPED(tg::formats::text_of(tg::zeros({2, 2})), tg::ValueError,
                       Contains("1-D array of bytes, got [2, 2]"));
}

TEST_CASE("load_npz reads what np.savez wrote, converting to float32 or float64") {
    // Values as in tests/data/make_npz_fixtures.py.
    const tg::StateDict d = tg::formats::load_npz(kData / "numpy_savez.npz");
    CHECK(d.size() == 12);
    check_array<float>(d, "w32", {2, 3}, {0.5f, -1.25f, 3.0f, 0.1f, -0.0f, 1e30f});
    check_array<double>(d, "w64", {4}, {0.1, -2.5, 1e-300, 3.141592653589793});
    check_array<double>(d, "i64", {3}, {-7.0, 0.0, 1099511627779.0});  // 2^40 + 3
    check_array<double>(d, "flags", {2, 2}, {1, 0, 0, 1});
    // np.asfortranarray(np.arange(12).reshape(2, 3, 2)): the same values, back in C order.
    check_array<double>(d, "fort", {2, 3, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
    check_array<double>(d, "big", {3}, {1.5, -2.0, 1e10});  // '>f8'
    check_array<double>(d, "big_i2", {2}, {-300, 5});       // '>i2'
    check_array<float>(d, "scalar", {}, {2.5f});
    check_array<double>(d, "empty", {0, 3}, {});
    check_array<double>(d, "int8", {2}, {-128, 127});
    check_array<double>(d, "uint16", {1}, {65535});
    check_array<double>(d, "uint64", {1}, {18446744073709551616.0});  // 2^64 - 1, rounded
}

TEST_CASE("load_npz reads what np.savez_compressed wrote (deflate)") {
    const tg::StateDict d = tg::formats::load_npz(kData / "numpy_savez_compressed.npz");
    CHECK(d.size() == 7);
    check_array<float>(d, "w32", {2, 3}, {0.5f, -1.25f, 3.0f, 0.1f, -0.0f, 1e30f});
    check_array<double>(d, "i64", {3}, {-7.0, 0.0, 1099511627779.0});
    check_array<double>(d, "flags", {2, 2}, {1, 0, 0, 1});
    check_array<double>(d, "fort", {2, 3, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
    check_array<double>(d, "big", {3}, {1.5, -2.0, 1e10});
    check_array<float>(d, "scalar", {}, {2.5f});
    check_array<double>(d, "empty", {0, 3}, {});
}

TEST_CASE("load_npz reads ZIP64 fields, npy versions 2.0 and 3.0, comments, data descriptors") {
    // Every size and offset only in ZIP64 fields, and a ZIP64 end record.
    const tg::StateDict z = tg::formats::load_npz(kData / "zip64.npz");
    CHECK(z.size() == 2);
    check_array<double>(z, "a", {3}, {1, 2, 3});
    check_array<double>(z, "b", {1, 2}, {4, 5});
    // An archive comment after the end record; npy headers with 4-byte lengths.
    const tg::StateDict v = tg::formats::load_npz(kData / "npy_versions.npz");
    CHECK(v.size() == 2);
    check_array<double>(v, "v2", {2}, {2.0, 0.25});
    check_array<double>(v, "v3", {2}, {3.0, 0.25});
    // Written to a stream: sizes after the data, none in the local header.
    const tg::StateDict s = tg::formats::load_npz(kData / "streamed.npz");
    CHECK(s.size() == 1);
    check_array<float>(s, "s", {2}, {7.0f, 8.0f});
}

TEST_CASE("load_npz names the file for a missing, empty, garbage or .npy file") {
    TempDir dir;
    const std::string missing = (dir / "missing.npz").string();
    CHECK_THAT(load_error(missing), Contains(missing) && Contains("No such file or directory"));

    write_bytes(dir / "empty.npz", "");
    CHECK_THAT(load_error(dir / "empty.npz"), Contains("empty.npz") && Contains("empty"));

    std::string garbage(1000, '\0');
    for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 37 % 251);
    write_bytes(dir / "garbage.npz", garbage);
    CHECK_THAT(load_error(dir / "garbage.npz"),
               Contains("garbage.npz") && Contains("not a zip archive"));

    write_bytes(dir / "a.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
                                   raw<double>({1.0})));
    CHECK_THAT(load_error(dir / "a.npy"), Contains("a.npy") && Contains("single .npy array"));

    CHECK_THAT(load_error(dir / "."), Contains("cannot read") && Contains("Is a directory"));
}

TEST_CASE("load_npz says where a truncated archive ends") {
    TempDir dir;
    const std::string zip = one_entry_archive(dir);
    const Layout at = layout(zip);
    const fs::path cut = dir / "model.npz";
    const std::size_t data = data_start(zip, 0);

    write_bytes(cut, zip.substr(0, zip.size() - 10));
    CHECK_THAT(load_error(cut), Contains("model.npz: truncated archive") &&
                                    Contains("inside the end-of-central-directory record"));
    write_bytes(cut, zip.substr(0, at.end_record + 2));  // half of the signature
    CHECK_THAT(load_error(cut), Contains("truncated archive") &&
                                    Contains("inside the end-of-central-directory record"));
    write_bytes(cut, zip.substr(0, at.directory + 10));
    CHECK_THAT(load_error(cut), Contains("model.npz: truncated archive") &&
                                    Contains("inside the central directory"));
    write_bytes(cut, zip.substr(0, data + 100));
    CHECK_THAT(load_error(cut),
               Contains("model.npz: truncated archive") &&
                   Contains("entry 'fc1.weight.npy': expected 384 bytes of data, found 100"));
    write_bytes(cut, zip.substr(0, 20));
    CHECK_THAT(load_error(cut), Contains("truncated archive") && Contains("local header"));

    // NumPy's files: sizes in ZIP64 extras of the local headers; deflated data.
    for (const char* name : {"numpy_savez.npz", "numpy_savez_compressed.npz"}) {
        const std::string np = read_bytes(kData / name);
        const std::size_t second = data_start(np, 0) + get_le(np, 18, 4);  // w64 / i64
        write_bytes(cut, np.substr(0, data_start(np, second) + 5));
        CHECK_THAT(load_error(cut),
                   Contains("truncated archive") && Contains("found 5") &&
                       Contains(std::string(name) == "numpy_savez.npz" ? "entry 'w64.npy'"
                                                                       : "entry 'i64.npy'"));
    }
}

TEST_CASE("load_npz rejects an entry that runs past the end of the file") {
    TempDir dir;
    std::string zip = one_entry_archive(dir);
    const Layout at = layout(zip);
    set_le(zip, at.directory + 20, 4, 100000);  // compressed size
    set_le(zip, at.directory + 24, 4, 100000);  // uncompressed size
    write_bytes(dir / "model.npz", zip);
    CHECK_THAT(load_error(dir / "model.npz"),
               Contains("model.npz: entry 'fc1.weight.npy' is truncated: expected 100000 bytes "
                        "of data, found"));

    // A deflate stream cut short while the directory says it is complete.
    std::string np = read_bytes(kData / "numpy_savez_compressed.npz");
    set_le(np, layout(np).directory + 20, 4, 10);  // w32.npy's compressed size
    write_bytes(dir / "short.npz", np);
    CHECK_THAT(load_error(dir / "short.npz"),
               Contains("short.npz: entry 'w32.npy' is truncated: its deflate stream ends"));
}

TEST_CASE("load_npz detects a flipped byte by the CRC-32") {
    TempDir dir;
    std::string zip = one_entry_archive(dir);
    zip[data_start(zip, 0) + 200] ^= 0x10;
    write_bytes(dir / "model.npz", zip);
    CHECK_THAT(load_error(dir / "model.npz"),
               Contains("model.npz: entry 'fc1.weight.npy' fails its CRC-32 check"));

    std::string np = read_bytes(kData / "numpy_savez_compressed.npz");
    np[data_start(np, 0) + 20] ^= 0x01;  // inside w32.npy's deflate stream
    write_bytes(dir / "flipped.npz", np);
    CHECK_THAT(load_error(dir / "flipped.npz"), Contains("flipped.npz: entry 'w32.npy'"));
}

TEST_CASE("load_npz rejects bad npy headers and dtypes it cannot represent, naming the entry") {
    TempDir dir;
    const std::string f4 = raw<float>({1, 2, 3, 4, 5, 6});
    const auto error_for = [&](const std::string& npy_bytes) {
        write_bytes(dir / "bad.npz", make_zip({{"good.npy", npy("{'descr': '<f4', "
                                                                "'fortran_order': False, "
                                                                "'shape': (6,), }",
                                                                f4)},
                                               {"w.npy", npy_bytes}}));
        return load_error(dir / "bad.npz");
    };
    const auto dict = [](const std::string& descr, const std::string& shape) {
        return "{'descr': " + descr + ", 'fortran_order': False, 'shape': " + shape + ", }";
    };
    const std::string where = "bad.npz: entry 'w.npy'";

    // The archive itself is fine: the good entry alone loads.
    write_bytes(dir / "fine.npz", make_zip({{"good.npy", npy(dict("'<f4'", "(2, 3)"), f4)}}));
    check_array<float>(tg::formats::load_npz(dir / "fine.npz"), "good", {2, 3}, {1, 2, 3, 4, 5, 6});

    CHECK_THAT(error_for("not an array"), Contains(where + " is not an .npy array"));
    CHECK_THAT(error_for(npy(dict("'<f4'", "(2, 3)"), f4, 4)),
               Contains(where + ": npy format version 4.0 is not supported"));
    CHECK_THAT(error_for(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3) ", f4)),
               Contains(where + ": bad npy header"));
    CHECK_THAT(error_for(npy("{'descr': '<f4', 'shape': (2, 3), }", f4)),
               Contains(where + ": bad npy header") && Contains("'fortran_order'"));
    CHECK_THAT(error_for(npy(dict("'<f4'", "(2, -3)"), f4)), Contains(where + ": bad npy header"));
    CHECK_THAT(error_for(npy(dict("'<f4'", "(3, 4)"), f4)),
               Contains(where + " is truncated: shape (3, 4) of '<f4' needs 48 bytes of data, "
                                "found 24"));
    CHECK_THAT(error_for(npy(dict("'<f4'", "(5,)"), f4)),
               Contains(where + " is corrupt: shape (5,) of '<f4' needs 20 bytes"));
    CHECK_THAT(error_for(npy(dict("'<f4'", "(4294967296, 4294967296, 4294967296)"), f4)),
               Contains(where + ": bad npy header (shape") && Contains("is too large"));
    CHECK_THAT(error_for(npy(dict("'<f2'", "(12,)"), f4)),
               Contains(where + ": dtype '<f2' cannot be loaded"));
    CHECK_THAT(error_for(npy(dict("[('a', '<f4'), ('b', '<f4')]", "(3,)"), f4)),
               Contains(where + ": dtype [('a', '<f4'), ('b', '<f4')] cannot be loaded"));
    CHECK_THAT(error_for(npy(dict(std::string(100, '[') + std::string(100, ']'), "(6,)"), f4)),
               Contains(where + ": bad npy header"));
    // A header length beyond the entry.
    std::string cut = npy(dict("'<f4'", "(6,)"), f4).substr(0, 40);
    CHECK_THAT(error_for(cut), Contains(where + " is truncated: its npy header says"));

    CHECK_THAT(load_error(kData / "complex.npz"),
               Contains("complex.npz: entry 'z.npy': dtype '<c8' cannot be loaded"));
}

TEST_CASE("load_npz rejects what it does not support or cannot map to names") {
    TempDir dir;
    const std::string a =
        npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", raw<double>({1.0}));
    write_bytes(dir / "dup.npz", make_zip({{"a.npy", a}, {"a", a}}));
    CHECK_THAT(load_error(dir / "dup.npz"),
               Contains("dup.npz: entry 'a': a second array named 'a'"));

    std::string zip = make_zip({{"a.npy", a}});
    set_le(zip, 8, 2, 12);                           // bzip2, in the local header
    set_le(zip, layout(zip).directory + 10, 2, 12);  // and in the central directory
    write_bytes(dir / "bzip2.npz", zip);
    CHECK_THAT(load_error(dir / "bzip2.npz"),
               Contains("bzip2.npz: entry 'a.npy' uses compression method 12"));

    zip = make_zip({{"a.npy", a}});
    set_le(zip, layout(zip).directory + 8, 2, 1);  // the encryption flag
    write_bytes(dir / "secret.npz", zip);
    CHECK_THAT(load_error(dir / "secret.npz"), Contains("entry 'a.npy' is encrypted"));

    zip = make_zip({{"a.npy", a}});
    set_le(zip, layout(zip).end_record + 16, 4, 5);  // central directory offset
    write_bytes(dir / "offset.npz", zip);
    CHECK_THAT(load_error(dir / "offset.npz"), Contains("offset.npz: corrupt archive"));
}

TEST_CASE("load_npz throws IoError for every prefix and every flipped byte of an archive") {
    TempDir dir;
    tg::formats::save_npz(dir / "src.npz", {{"w", tg::randn({3, 2}, 9, tg::f32)},
                                            {"b", tg::randn({2}, 10, tg::f64)}});
    const fs::path p = dir / "case.npz";
    for (const std::string& zip :
         {read_bytes(dir / "src.npz"), read_bytes(kData / "numpy_savez_compressed.npz"),
          read_bytes(kData / "zip64.npz")}) {
        for (std::size_t n = 0; n < zip.size(); ++n) {
            write_bytes(p, zip.substr(0, n));
            INFO("prefix of " << n << " of " << zip.size() << " bytes");
            REQUIRE_FALSE(loads(p));
        }
        // A flip may land where nothing checks it (a date); then the file still loads.
        for (std::size_t i = 0; i < zip.size(); ++i) {
            for (const unsigned char mask : {0x01, 0x80, 0xFF}) {
                std::string bad = zip;
                bad[i] = static_cast<char>(bad[i] ^ mask);
                write_bytes(p, bad);
                INFO("byte " << i << " xor " << int(mask));
                loads(p);  // anything but IoError escapes and fails the test
            }
        }
    }
}

TEST_CASE("save_npz replaces an existing file and keeps its permissions") {
    TempDir dir;
    const fs::path p = dir / "model.npz";
    tg::formats::save_npz(p, {{"old", tg::zeros({2})}});
    fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write);
    tg::formats::save_npz(p, {{"new", tg::ones({3})}});
    const tg::StateDict d = tg::formats::load_npz(p);
    CHECK(d.size() == 1);
    check_array<float>(d, "new", {3}, {1, 1, 1});
    CHECK(fs::status(p).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
    CHECK(dir.names() == std::set<std::string>{"model.npz"});
}

namespace {
// Lowers the largest file this process may write (root too), so that a write fails midway
// with EFBIG; SIGXFSZ, which would kill the process, is ignored meanwhile.
class FileSizeLimit {
  public:
    explicit FileSizeLimit(rlim_t bytes) {
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_) == 0);
        rlimit lower = old_;
        lower.rlim_cur = bytes;
        old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &lower) == 0);
    }
    FileSizeLimit(const FileSizeLimit&) = delete;
    FileSizeLimit& operator=(const FileSizeLimit&) = delete;
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &old_);
        std::signal(SIGXFSZ, old_handler_);
    }

  private:
    rlimit old_{};
    void (*old_handler_)(int) = nullptr;
};
}  // namespace

TEST_CASE("a save_npz that fails midway leaves the old file and no temporary") {
    TempDir dir;
    const fs::path p = dir / "model.npz";
    tg::formats::save_npz(p, {{"old", tg::arange(10.0)}});
    const std::string before = read_bytes(p);
    std::string message;
    {
        FileSizeLimit limit(4096);
        try {
            tg::formats::save_npz(p, {{"big", tg::zeros({100, 100}, tg::f64)}});  // 80 kB
        } catch (const tg::IoError& e) {
            message = e.what();
        }
    }
    CHECK_THAT(message, Contains(p.string() + ": cannot save") && Contains("File too large"));
    CHECK(read_bytes(p) == before);
    CHECK(dir.names() == std::set<std::string>{"model.npz"});
}

TEST_CASE("a save_npz whose rename fails leaves the target and no temporary") {
    TempDir dir;
    const fs::path p = dir / "model.npz";  // a directory: a file cannot be renamed over it
    fs::create_directory(p);
    write_bytes(p / "keep.txt", "keep");
    CHECK_THROWS_WITH(tg::formats::save_npz(p, {{"w", tg::ones({2})}}),
                      Contains(p.string() + ": cannot save: cannot rename the temporary file"));
    CHECK(read_bytes(p / "keep.txt") == "keep");
    CHECK(dir.names() == std::set<std::string>{"model.npz"});
}

TEST_CASE("save_npz names the file when it cannot write it, before touching anything") {
    TempDir dir;
    const fs::path nowhere = dir / "no_such_dir" / "model.npz";
    CHECK_THROWS_WITH(tg::formats::save_npz(nowhere, {{"w", tg::ones({2})}}),
                      Contains(nowhere.string() + ": cannot save: cannot create the temporary "
                                                  "file") &&
                          Contains("No such file or directory"));

    const fs::path p = dir / "model.npz";
    tg::formats::save_npz(p, {{"old", tg::ones({2})}});
    const std::string before = read_bytes(p);
    CHECK_THROWS_WITH(tg::formats::save_npz(p, {{"a", tg::ones({2})}, {"b", tg::Tensor()}}),
                      Contains(p.string() + ": cannot save 'b': undefined tensor"));
    CHECK(read_bytes(p) == before);
    CHECK(dir.names() == std::set<std::string>{"model.npz"});
}

// Not run by default: ctest runs it with TAPEGRAD_NPZ_SAMPLE set, then checks the file with
// tests/npz_numpy_check.py (NumPy), which expects exactly these tensors.
TEST_CASE("save_npz writes a sample for npz_numpy_check.py", "[.numpy]") {
    const char* path = std::getenv("TAPEGRAD_NPZ_SAMPLE");
    REQUIRE(path != nullptr);
    const tg::StateDict sample = numpy_sample();
    tg::formats::save_npz(path, sample);
    const tg::StateDict back = tg::formats::load_npz(path);
    REQUIRE(back.size() == sample.size());
    for (const auto& [name, t] : sample) CHECK(identical(back.at(name), t));
}

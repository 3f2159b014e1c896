// CSV and IDX readers: the fixtures of tests/data/csv and tests/data/idx (written by
// tests/data/make_reader_fixtures.py, whose values are repeated here), the real CSV files of
// examples/data, and Fashion-MNIST as Debian's dataset-fashion-mnist installs it.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <tapegrad/data/readers.hpp>

#include "check.hpp"
#include "files.hpp"

namespace fs = std::filesystem;
using Catch::Contains;
using testing::class_counts;

namespace {

const fs::path kData = TAPEGRAD_TEST_DATA;
const fs::path kCsv = kData / "csv";
const fs::path kIdx = kData / "idx";
const fs::path kExamples = testing::examples_data();

// The path as read_csv / read_idx print it, followed by the rest of the message.
std::string at(const fs::path& p, const std::string& rest) {
    return p.string() + rest;
}

std::vector<double> values(const tg::Tensor& t) {
    const auto a = t.to_array<double>();
    return {a.begin(), a.end()};
}

std::vector<std::size_t> with_none_other(std::vector<std::size_t> counts) {
    counts.push_back(0);
    return counts;
}

}  // namespace

// ---- CSV ---------------------------------------------------------------------------------

TEST_CASE("read_csv_table: BOM, quotes, spaces, '+', CRLF, blank lines, no final newline") {
    const auto t = tg::data::read_csv_table(kCsv / "mixed.csv", {.dtype = tg::f64});
    CHECK(t.columns == std::vector<std::string>{"a", "b \"2\"", "target"});
    REQUIRE(t.values.dtype() == tg::f64);
    REQUIRE(t.values.shape() == tg::Shape{3, 3});
    CHECK(values(t.values) ==
          std::vector<double>{1.5, -2.0, 0.0, 3.25, 0.4, 1.0, -0.125, 1000.0, 2.0});
}

TEST_CASE("read_csv_table: float32 by default, other delimiters, a header without rows") {
    const auto t = tg::data::read_csv_table(kCsv / "mixed.csv");
    CHECK(t.values.dtype() == tg::f32);
    CHECK(t.values.value<float>()(1, 1) == 0.4f);

    const auto tabs = tg::data::read_csv_table(kCsv / "tabs.tsv", {.delimiter = '\t'});
    CHECK(tabs.columns == std::vector<std::string>{"x", "y"});
    CHECK(values(tabs.values) == std::vector<double>{1, 2, 3, 4});

    const auto empty = tg::data::read_csv_table(kCsv / "header_only.csv");
    CHECK(empty.columns.size() == 2);
    CHECK(empty.values.shape() == tg::Shape{0, 2});
}

TEST_CASE("read_csv: target column split from the features") {
    const auto d = tg::data::read_csv(kCsv / "mixed.csv", "b \"2\"", {.dtype = tg::f64});
    CHECK(d.feature_names == std::vector<std::string>{"a", "target"});
    CHECK(d.target_name == "b \"2\"");
    REQUIRE(d.data.x.shape() == tg::Shape{3, 2});
    REQUIRE(d.data.y.shape() == tg::Shape{3});
    CHECK(values(d.data.x) == std::vector<double>{1.5, 0, 3.25, 1, -0.125, 2});
    CHECK(values(d.data.y) == std::vector<double>{-2, 0.4, 1000});
}

TEST_CASE("read_csv: every malformed file is an IoError with FILE:LINE:COLUMN") {
    using tg::data::read_csv_table;
    CHECK_THROWS_TYPED(read_csv_table(kCsv / "missing_value.csv"), tg::IoError,
                       Contains(at(kCsv / "missing_value.csv",
                                   ":3:3: missing value (empty cell) in column \"b\"")));
    CHECK_THROWS_TYPED(
        read_csv_table(kCsv / "not_a_number.csv"), tg::IoError,
        Contains(at(kCsv / "not_a_number.csv", ":3:4: not a number: \"abc\" in column \"b\"")));
    CHECK_THROWS_TYPED(
        read_csv_table(kCsv / "partial_number.csv"), tg::IoError,
        Contains(at(kCsv / "partial_number.csv", ":2:3: not a number: \"2.5x\" in column \"b\"")));
    CHECK_THROWS_TYPED(read_csv_table(kCsv / "ragged_short.csv"), tg::IoError,
                       Contains(at(kCsv / "ragged_short.csv", ":3:4: expected 3 cells")) &&
                           Contains("but found 2"));
    CHECK_THROWS_TYPED(read_csv_table(kCsv / "ragged_long.csv"), tg::IoError,
                       Contains(at(kCsv / "ragged_long.csv", ":3:7: expected 3 cells")) &&
                           Contains("but found 4"));
    CHECK_THROWS_TYPED(
        read_csv_table(kCsv / "unterminated_quote.csv"), tg::IoError,
        Contains(at(kCsv / "unterminated_quote.csv", ":2:3: unterminated quoted field")));
    CHECK_THROWS_TYPED(read_csv_table(kCsv / "after_quote.csv"), tg::IoError,
                       Contains(at(kCsv / "after_quote.csv", ":2:6: unexpected text after")));
    CHECK_THROWS_TYPED(
        read_csv_table(kCsv / "out_of_range.csv"), tg::IoError,
        Contains(at(kCsv / "out_of_range.csv", ":2:1: number out of range: \"1e999\"")));
}

TEST_CASE("read_csv: missing, empty and target-less files") {
    using tg::data::read_csv;
    CHECK_THROWS_TYPED(
        read_csv(kCsv / "no_such_file.csv", "target"), tg::IoError,
        Contains(at(kCsv / "no_such_file.csv", ": cannot open")) && Contains("No such file"));
    CHECK_THROWS_TYPED(read_csv(kCsv, "target"), tg::IoError, Contains("is a directory"));
    CHECK_THROWS_TYPED(read_csv(kCsv / "empty.csv", "target"), tg::IoError,
                       Contains(at(kCsv / "empty.csv", ": empty file")));
    CHECK_THROWS_TYPED(read_csv(kCsv / "blank_lines.csv", "target"), tg::IoError,
                       Contains(at(kCsv / "blank_lines.csv", ": empty file")));
    CHECK_THROWS_TYPED(read_csv(kCsv / "mixed.csv", "label"), tg::IoError,
                       Contains(at(kCsv / "mixed.csv", ":1: no column named \"label\"")) &&
                           Contains("the columns are \"a\", \"b \"2\"\", \"target\""));
    CHECK_THROWS_AS(tg::data::read_csv_table(kCsv / "mixed.csv", {.delimiter = '"'}),
                    tg::ValueError);
}

TEST_CASE("read_csv: the real data sets of examples/data") {
    struct Case {
        const char* file;
        const char* target;
        std::size_t rows, features;
        std::vector<std::size_t> counts;
        std::vector<double> first_row;  // the first three features, as in the file
    };
    const std::vector<Case> cases = {
        {"iris.csv", "target", 150, 4, {50, 50, 50}, {5.1, 3.5, 1.4}},
        {"breast_cancer.csv", "target", 569, 30, {212, 357}, {17.99, 10.38, 122.8}},
        {"digits.csv",
         "target",
         1797,
         64,
         {178, 182, 177, 183, 181, 182, 181, 179, 174, 180},
         {0, 0, 5}},
        {"make_classification_400.csv",
         "y",
         400,
         2,
         {197, 203},
         {0.69625953430976084, -1.1361211182738677}},
    };
    for (const auto& c : cases) {
        INFO(c.file);
        const auto d = tg::data::read_csv(kExamples / c.file, c.target, {.dtype = tg::f64});
        REQUIRE(d.data.x.shape() == tg::Shape{c.rows, c.features});
        REQUIRE(d.data.y.shape() == tg::Shape{c.rows});
        CHECK(d.feature_names.size() == c.features);
        CHECK(class_counts(d.data.y, c.counts.size()) == with_none_other(c.counts));
        const auto& x = d.data.x.value<double>();
        for (std::size_t j = 0; j < c.first_row.size(); ++j) CHECK(x(0, j) == c.first_row[j]);
    }
}

TEST_CASE("read_csv: line_of_row holds the file line of every row, blank lines counted") {
    const auto t = tg::data::read_csv_table(kCsv / "mixed.csv");
    CHECK(t.line_of_row == std::vector<std::size_t>{2, 4, 6});
    const auto d = tg::data::read_csv(kCsv / "mixed.csv", "target");
    CHECK(d.line_of_row == std::vector<std::size_t>{2, 4, 6});
    CHECK(d.path == kCsv / "mixed.csv");
    CHECK(tg::data::read_csv_table(kCsv / "header_only.csv").line_of_row.empty());
}

TEST_CASE("read_csv: a number beyond float32's range is an error at FILE:LINE:COLUMN") {
    const fs::path file = kCsv / "float32_overflow.csv";
    CHECK_THROWS_TYPED(tg::data::read_csv(file, "target"), tg::IoError,
                       Contains(at(file,
                                   ":5:3: \"1e39\" does not fit in float32 (max 3.4e38) "
                                   "in column \"b\"")));
    // float64 holds it; float32's own largest values (lines 2 and 3) are read as they are.
    const auto t = tg::data::read_csv_table(file, {.dtype = tg::f64});
    CHECK(values(t.values) == std::vector<double>{1, 3.4028234e38, 0, 3, -3.4e38, 1, 5, 1e39, 0});
}

TEST_CASE("require_finite: the first nan or inf named at its file line and column") {
    using tg::data::read_csv;
    using tg::data::require_finite;
    // read_csv reads "nan" and "inf" as numbers; require_finite refuses them before training.
    const auto nan_cell = read_csv(kCsv / "nan_cell.csv", "target");
    CHECK(std::isnan(nan_cell.data.x.value<float>()(2, 1)));
    CHECK_THROWS_TYPED(require_finite(nan_cell), tg::ValueError,
                       Contains(at(kCsv / "nan_cell.csv",
                                   ":5: column \"b\" is nan (the first of "
                                   "2 cells that are nan or infinite)")) &&
                           Contains("remove or impute it"));
    CHECK_THROWS_TYPED(require_finite(read_csv(kCsv / "inf_target.csv", "target")), tg::ValueError,
                       Contains(at(kCsv / "inf_target.csv",
                                   ":3: column \"target\" is -inf (the "
                                   "only cell that is nan or infinite)")));
    CHECK_NOTHROW(require_finite(read_csv(kCsv / "mixed.csv", "target", {.dtype = tg::f64})));
}

TEST_CASE("read_csv: cells in messages are short and escaped, UTF-8 kept, quoted cells placed") {
    using tg::data::read_csv_table;
    CHECK_THROWS_TYPED(
        read_csv_table(kCsv / "binary_cell.csv"), tg::IoError,
        Contains(at(kCsv / "binary_cell.csv",
                    ":3:1: not a number: \"\\x01\\x1B[31mred\\xFF\" in column \"a\"")));
    const fs::path big = testing::scratch("big_cell.csv");
    const std::string cell(10 << 20, '7');
    testing::write_file(big, "a,b\n1," + cell + "x\n");
    const std::string message = testing::error_of([&] { (void)read_csv_table(big); });
    CHECK_THAT(message, Contains(at(big, ":2:3: not a number: \"" + std::string(40, '7') +
                                             "…\" (10485761 bytes) in column \"b\"")));
    CHECK(message.size() < 300);

    const fs::path names = testing::scratch("names.csv");
    testing::write_file(names, "größe,\"x\\y\",\"q\"\"t\"\n1, \"two\",3\n");
    CHECK_THROWS_WITH(read_csv_table(names),
                      Contains(at(names, ":2:4: not a number: \"two\" in column \"x\\\\y\"")));
    CHECK_THROWS_WITH(tg::data::read_csv(names, "\x1b"),
                      Contains(at(names,
                                  ":1: no column named \"\\x1B\" in the header; the "
                                  "columns are \"größe\", \"x\\\\y\", \"q\"t\"")));
}

TEST_CASE("read_csv: a file larger than max_bytes is refused with its size and the limit") {
    const fs::path file = kCsv / "mixed.csv";
    const auto size = fs::file_size(file);
    CHECK_THROWS_TYPED(
        tg::data::read_csv(file, "target", {.max_bytes = size - 1}), tg::IoError,
        Contains(at(file, ": the file has " + std::to_string(size) +
                              " bytes, more than the limit of " + std::to_string(size - 1) +
                              " bytes; raise the limit with CsvOptions::max_bytes")));
    CHECK(tg::data::read_csv(file, "target", {.max_bytes = size}).data.size() == 3);
}

namespace {

// A pipe holding `bytes`, its writing end closed when `ends` (else kept open: no end yet),
// and the name read_csv opens it by.
struct Pipe {
    int fds[2] = {-1, -1};
    fs::path path;
    Pipe(const std::string& bytes, bool ends) {
        REQUIRE(::pipe(fds) == 0);
        path = "/proc/self/fd/" + std::to_string(fds[0]);
        REQUIRE(::write(fds[1], bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
        if (ends) ::close(fds[1]), fds[1] = -1;
    }
    ~Pipe() {
        for (int fd : fds)
            if (fd >= 0) ::close(fd);
    }
};

}  // namespace

TEST_CASE("read_csv: a pipe that goes on past max_bytes stops there, one that ends is read") {
    const std::string rows = "a,target\n1,0\n2,1\n";
    const Pipe endless(rows + std::string(1000, '\n'), false);
    // Read once: a second read would wait for more of the pipe.
    std::string message = "no IoError";
    try {
        (void)tg::data::read_csv(endless.path, "target", {.max_bytes = 100});
    } catch (const tg::IoError& e) {
        message = e.what();
    }
    CHECK_THAT(message, Contains(at(endless.path,
                                    ": more than the limit of 100 bytes and not at "
                                    "its end yet")) &&
                            Contains("CsvOptions::max_bytes"));
    const Pipe ended(rows, true);
    CHECK(tg::data::read_csv(ended.path, "target", {.max_bytes = rows.size()}).data.size() == 2);
}

TEST_CASE("read_csv: a device is refused before any read (/dev/zero never ends)") {
    for (const char* device : {"/dev/zero", "/dev/null"}) {
        INFO(device);
        CHECK_THROWS_TYPED(
            tg::data::read_csv(device, "x"), tg::IoError,
            Contains(std::string(device) + ": cannot read: it is a character device, not a file"));
    }
}

// The sanitizers' shadow memory does not fit under a small RLIMIT_AS.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kCanLimitMemory = false;
#else
constexpr bool kCanLimitMemory = true;
#endif

namespace {

// The address space this process has mapped now (VmSize), in bytes.
std::size_t mapped_bytes() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("VmSize:")) return std::stoul(line.substr(7)) * 1024;
    return 0;
}

// What read_csv_table says about a file when it may map only `headroom` bytes more than this
// test program has mapped at its start: "IoError: <message>", "no error" when it read the file
// or "other". Run in a fresh process (this program again, its hidden test below): a forked
// one would inherit the free space of this heap, which lets an allocation pass the limit.
std::string read_under_memory_limit(const fs::path& file, std::size_t headroom) {
    const fs::path said = testing::scratch("said-" + std::to_string(headroom));
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::setenv("TAPEGRAD_CSV", file.c_str(), 1);
        ::setenv("TAPEGRAD_HEADROOM", std::to_string(headroom).c_str(), 1);
        ::setenv("TAPEGRAD_SAID", said.c_str(), 1);
        ::execl("/proc/self/exe", "test_data_readers", "[.memory_limit]", nullptr);
        ::_exit(127);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    return testing::read_file(said);
}

}  // namespace

TEST_CASE("memory-limited child: read_csv_table with RLIMIT_AS (run by the next test)",
          "[.memory_limit]") {
    const char* file = std::getenv("TAPEGRAD_CSV");
    const char* headroom = std::getenv("TAPEGRAD_HEADROOM");
    const char* said_path = std::getenv("TAPEGRAD_SAID");
    REQUIRE((file && headroom && said_path));
    const std::size_t limit = mapped_bytes() + std::stoul(headroom);
    const rlimit as{limit, limit};
    std::string said = "other";
    if (::setrlimit(RLIMIT_AS, &as) == 0) {
        try {
            (void)tg::data::read_csv_table(file);
            said = "no error";
        } catch (const tg::IoError& e) {
            said = std::string("IoError: ") + e.what();
        } catch (...) {
        }
    }
    testing::write_file(said_path, said);
}

TEST_CASE("read_csv: running out of memory is an IoError naming the file, never a part read") {
    if (!kCanLimitMemory) {
        WARN("not run under a sanitizer");
        return;
    }
    // 32 MiB of rows: the text does not fit in 16 MiB more than the program has at its start;
    // in 48 MiB the text fits (not its 16.8 million values as doubles). Before, both read a
    // part of the file and returned it as the whole.
    std::string rows = "a,b\n";
    while (rows.size() < (32u << 20)) rows += "1,2\n3,4\n5,6\n7,8\n";
    const fs::path file = testing::scratch("32mib.csv");
    testing::write_file(file, rows);
    const std::string size = std::to_string(rows.size());
    CHECK_THAT(read_under_memory_limit(file, 16u << 20),
               Contains("IoError: " + file.string() + ": out of memory after reading") &&
                   Contains("of its " + size + " bytes"));
    CHECK_THAT(read_under_memory_limit(file, 48u << 20),
               Contains("IoError: " + file.string() + ": out of memory while reading it (" + size +
                        " bytes)"));
}

// ---- IDX ---------------------------------------------------------------------------------

TEST_CASE("read_idx: unsigned bytes, plain, gzip and two gzip members") {
    for (const char* name : {"ubyte_2x3.idx", "ubyte_2x3.idx.gz", "ubyte_2x3_two_members.idx.gz"}) {
        INFO(name);
        const tg::Tensor t = tg::data::read_idx(kIdx / name);
        CHECK(t.dtype() == tg::f32);
        REQUIRE(t.shape() == tg::Shape{2, 3});
        CHECK(values(t) == std::vector<double>{0, 1, 2, 253, 254, 255});
    }
    const tg::Tensor r3 = tg::data::read_idx(kIdx / "rank3.idx", tg::f64);
    CHECK(r3.dtype() == tg::f64);
    REQUIRE(r3.shape() == tg::Shape{2, 2, 2});
    CHECK(r3.value<double>()(1, 0, 1) == 5.0);
}

TEST_CASE("read_idx: every element type, big-endian") {
    CHECK(values(tg::data::read_idx(kIdx / "int8.idx")) == std::vector<double>{-128, -1, 0, 127});
    CHECK(values(tg::data::read_idx(kIdx / "int16.idx")) == std::vector<double>{-300, 5});
    CHECK(values(tg::data::read_idx(kIdx / "int32.idx", tg::f64)) ==
          std::vector<double>{-70000, 123456789});
    const tg::Tensor f = tg::data::read_idx(kIdx / "float32.idx");
    CHECK(f.shape() == tg::Shape{2, 1});
    CHECK(values(f) == std::vector<double>{1.5, -0.25});
    const tg::Tensor d = tg::data::read_idx(kIdx / "float64.idx", tg::f64);
    CHECK(d.shape() == tg::Shape{1, 2});
    CHECK(values(d) == std::vector<double>{0.1, -1e300});
}

TEST_CASE("read_idx: broken files are IoErrors naming the file and the fault") {
    using tg::data::read_idx;
    CHECK_THROWS_TYPED(read_idx(kIdx / "bad_magic.idx"), tg::IoError,
                       Contains(at(kIdx / "bad_magic.idx", ": bad magic number 0x12340801")));
    CHECK_THROWS_TYPED(read_idx(kIdx / "unknown_type.idx"), tg::IoError,
                       Contains("bad magic number 0x00000701") && Contains("0x08 ubyte"));
    CHECK_THROWS_TYPED(
        read_idx(kIdx / "tiny.idx"), tg::IoError,
        Contains(at(kIdx / "tiny.idx", ": truncated header")) && Contains("found 2 bytes"));
    CHECK_THROWS_TYPED(read_idx(kIdx / "short_header.idx"), tg::IoError,
                       Contains("truncated header: 3 dimensions need a 16-byte header, found 6"));
    CHECK_THROWS_TYPED(
        read_idx(kIdx / "truncated.idx"), tg::IoError,
        Contains(at(kIdx / "truncated.idx", ": truncated data: the header's shape [2, 3]")) &&
            Contains("needs 6 bytes of data after the 12-byte header, found 4"));
    CHECK_THROWS_TYPED(
        read_idx(kIdx / "trailing.idx"), tg::IoError,
        Contains("trailing bytes") && Contains("needs 6 bytes") && Contains("found 7"));
    CHECK_THROWS_TYPED(read_idx(kIdx / "truncated.idx.gz"), tg::IoError,
                       Contains(at(kIdx / "truncated.idx.gz", ": the gzip data ends early")));
    CHECK_THROWS_TYPED(read_idx(kIdx / "corrupt.idx.gz"), tg::IoError,
                       Contains(at(kIdx / "corrupt.idx.gz", ": corrupt gzip data")));
    CHECK_THROWS_TYPED(read_idx(kIdx / "missing.idx"), tg::IoError,
                       Contains(at(kIdx / "missing.idx", ": cannot open")));
}

TEST_CASE("load_fashion_mnist: a miniature directory (gzip images, plain labels)") {
    const tg::data::Dataset d = tg::data::load_fashion_mnist(true, kIdx / "fashion");
    REQUIRE(d.x.shape() == tg::Shape{3, 4});
    REQUIRE(d.y.shape() == tg::Shape{3});
    CHECK(d.x.dtype() == tg::f32);
    const auto& x = d.x.value<float>();
    CHECK(x(0, 0) == 0.0f);
    CHECK(x(0, 1) == 1.0f);
    CHECK(x(0, 2) == 0.2f);  // 51 / 255 in float32
    CHECK(x(2, 3) == 4.0f / 255.0f);
    CHECK(values(d.y) == std::vector<double>{9, 0, 3});
}

TEST_CASE("load_fashion_mnist: missing or mismatched files") {
    using tg::data::load_fashion_mnist;
    CHECK_THROWS_TYPED(
        load_fashion_mnist(false, kIdx / "fashion"), tg::IoError,
        Contains("t10k-images-idx3-ubyte") && Contains("install Debian's dataset-fashion-mnist"));
    CHECK_THROWS_TYPED(load_fashion_mnist(true, kIdx / "fashion_bad"), tg::IoError,
                       Contains("expected 3 labels") && Contains("found [2]"));
    CHECK_THROWS_TYPED(load_fashion_mnist(false, kIdx / "fashion_bad"), tg::IoError,
                       Contains("label 10 of item 0 is not a class 0-9"));
}

// Needs Debian's dataset-fashion-mnist (scripts/install-deps.sh installs it): fails, rather
// than skips, when the files are not there.
TEST_CASE("load_fashion_mnist: the real data set") {
    for (const bool train : {true, false}) {
        INFO((train ? "train" : "test"));
        const tg::data::Dataset d = tg::data::load_fashion_mnist(train);
        const std::size_t n = train ? 60000 : 10000;
        REQUIRE(d.x.shape() == tg::Shape{n, 784});
        REQUIRE(d.y.shape() == tg::Shape{n});
        const auto& x = d.x.value<float>();
        CHECK(xt::amin(x)() == 0.0f);
        CHECK(xt::amax(x)() == 1.0f);
        CHECK(class_counts(d.y, 10) == with_none_other(std::vector<std::size_t>(10, n / 10)));
    }
}

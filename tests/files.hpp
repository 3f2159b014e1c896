#pragma once
// Files for the tests that write and read them: a scratch folder of a test's own, removed
// afterwards; whole files read and written as bytes; the data sets of examples/data. Also the
// short name fs for std::filesystem.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace testing {

// A fresh folder under the system's temporary directory (mkdtemp: a name no other test, run
// or process has), removed with everything in it when this goes away.
struct TempDir {
    fs::path path;

    explicit TempDir(const std::string& name = "test") {
        std::string tmpl = (fs::temp_directory_path() / ("tapegrad-" + name + "-XXXXXX")).string();
        if (::mkdtemp(tmpl.data()) == nullptr)
            throw std::runtime_error("TempDir: cannot make a folder like " + tmpl);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    fs::path operator/(const std::string& name) const { return path / name; }
    // The names of the files and folders in it.
    std::set<std::string> names() const {
        std::set<std::string> n;
        for (const auto& e : fs::directory_iterator(path)) n.insert(e.path().filename().string());
        return n;
    }
};

// A path in a scratch folder of this test program's own (made on first use, removed when the
// program ends), for tests that write a file or two.
inline fs::path scratch(const std::string& name) {
    static const TempDir dir("scratch");
    return dir / name;
}

// The whole file ("" when it cannot be read).
inline std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

inline void write_file(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary) << bytes;
}

// The lines of a text, without their '\n'.
inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// The folder of the examples' data sets (examples/data), beside tests/data.
inline fs::path examples_data() {
    return fs::path(TAPEGRAD_TEST_DATA).parent_path().parent_path() / "examples" / "data";
}

}  // namespace testing

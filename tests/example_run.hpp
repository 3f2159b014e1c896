#pragma once
// One run of a worked example (examples/*.cpp), for tests/test_examples_*.cpp: the program as
// built (TAPEGRAD_EXAMPLES_BIN) runs in a fresh folder of its own, where the files it writes
// land, with one BLAS thread; its output is kept whole and line by line.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "files.hpp"

namespace testing {

struct ExampleRun {
    TempDir dir;
    std::string out;  // stdout and stderr
    std::vector<std::string> lines;
    int status = -1;

    explicit ExampleRun(const std::string& name, const std::string& args = "")
        : dir("example-" + name) {
        const std::string cmd = "cd '" + dir.path.string() + "' && OPENBLAS_NUM_THREADS=1 '" +
                                TAPEGRAD_EXAMPLES_BIN + "/" + name + "' " + args +
                                " > out.txt 2>&1";
        status = std::system(cmd.c_str());
        out = read_file(dir / "out.txt");
        lines = lines_of(out);
    }

    bool has(const std::string& s) const { return out.find(s) != std::string::npos; }
    // Index of the first line at or after `from` that contains s (lines.size() when none).
    std::size_t find(const std::string& s, std::size_t from = 0) const {
        for (std::size_t i = from; i < lines.size(); ++i)
            if (lines[i].find(s) != std::string::npos) return i;
        return lines.size();
    }
    // The rest of the first line at or after `from` that starts with prefix ("" when none).
    std::string row(const std::string& prefix, std::size_t from = 0) const {
        for (std::size_t i = from; i < lines.size(); ++i)
            if (lines[i].rfind(prefix, 0) == 0) return lines[i].substr(prefix.size());
        return "";
    }
    // The rest of the first line that contains label, after it ("" when none does).
    std::string after(const std::string& label) const {
        const std::size_t i = find(label);
        if (i == lines.size()) return "";
        return lines[i].substr(lines[i].find(label) + label.size());
    }
    // The groups of the first line matching re (empty when none does).
    std::smatch match(const std::regex& re) const {
        for (const auto& line : lines) {
            std::smatch m;
            if (std::regex_search(line, m, re)) return m;
        }
        return {};
    }
    // A file the example wrote, read whole ("" when it is missing).
    std::string file(const std::string& name) const { return read_file(dir / name); }
    // An SVG file the example wrote, with at least one drawn line in it.
    void require_svg(const std::string& name) const {
        INFO(name);
        REQUIRE(std::filesystem::exists(dir / name));
        const std::string svg = file(name);
        CHECK(svg.find("<svg") != std::string::npos);
        CHECK(svg.find("</svg>") != std::string::npos);
        CHECK(
            (svg.find("<polyline") != std::string::npos || svg.find("<path") != std::string::npos));
    }
};

}  // namespace testing

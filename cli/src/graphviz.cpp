// Graphviz's `dot` found on the PATH and run on a tape's DOT text.
#include "tapegrad/cli/graphviz.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::cli {

namespace {

std::string shell_quoted(const std::string& s) {
    std::string r = "'";
    for (char c : s) r += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return r + "'";
}

}  // namespace

std::filesystem::path find_graphviz_dot() {
    const char* path = std::getenv("PATH");
    std::string rest = path ? path : "";
    while (!rest.empty()) {
        const auto colon = rest.find(':');
        const std::string dir = rest.substr(0, colon);
        rest = colon == std::string::npos ? "" : rest.substr(colon + 1);
        if (dir.empty()) continue;
        const auto candidate = std::filesystem::path(dir) / "dot";
        std::error_code ec;
        if (std::filesystem::is_regular_file(candidate, ec) &&
            ::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return {};
}

GraphFiles write_graph(const std::string& dot_text, const std::filesystem::path& dot_path) {
    {
        errno = 0;
        std::ofstream f(dot_path, std::ios::binary);
        const int open_error = f ? 0 : errno;  // the reason open(2) gave, for the message
        f << dot_text;
        f.close();
        if (!f) {
            throw IoError("write_graph: cannot write '" + dot_path.string() + "'" +
                          (open_error ? ": " + std::string(std::strerror(open_error)) : ""));
        }
    }
    GraphFiles r;
    r.dot = dot_path;
    auto svg = dot_path;
    svg.replace_extension(".svg");
    const auto dot = find_graphviz_dot();
    if (dot.empty()) {
        r.message = "wrote " + dot_path.string() +
                    "; Graphviz's dot is not installed, so no SVG was made. Install it "
                    "(Debian/Ubuntu: apt-get install graphviz) and run: dot -Tsvg " +
                    shell_quoted(dot_path.string()) + " -o " + shell_quoted(svg.string());
        return r;
    }
    const std::string cmd = shell_quoted(dot.string()) + " -Tsvg " +
                            shell_quoted(dot_path.string()) + " -o " + shell_quoted(svg.string()) +
                            " 2>&1";
    std::string output;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) throw IoError("write_graph: cannot run " + dot.string());
    std::array<char, 256> buf{};
    while (std::fgets(buf.data(), buf.size(), p)) output += buf.data();
    const int status = ::pclose(p);
    if (status != 0) {
        throw IoError("write_graph: " + dot.string() + " -Tsvg failed on '" + dot_path.string() +
                      "': " + output);
    }
    r.svg = svg;
    r.message = "wrote " + dot_path.string() + " and " + svg.string();
    return r;
}

}  // namespace tapegrad::cli

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

// Runs a shell command and returns what it printed on stdout (a caller wanting stderr too
// adds 2>&1) and its exit status.
std::pair<std::string, int> run_capture(const std::string& cmd, const std::string& what) {
    std::string output;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) throw IoError(what + ": cannot run " + cmd);
    std::array<char, 256> buf{};
    while (std::fgets(buf.data(), buf.size(), p)) output += buf.data();
    return {output, ::pclose(p)};
}

void write_text(const std::filesystem::path& path, const std::string& text, const char* what) {
    errno = 0;
    std::ofstream f(path, std::ios::binary);
    const int open_error = f ? 0 : errno;  // the reason open(2) gave, for the message
    f << text;
    f.close();
    if (!f) {
        throw IoError(std::string(what) + ": cannot write '" + path.string() + "'" +
                      (open_error ? ": " + std::string(std::strerror(open_error)) : ""));
    }
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
    write_text(dot_path, dot_text, "write_graph");
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
    const auto [output, status] = run_capture(cmd, "write_graph");
    if (status != 0) {
        throw IoError("write_graph: " + dot.string() + " -Tsvg failed on '" + dot_path.string() +
                      "': " + output);
    }
    r.svg = svg;
    r.message = "wrote " + dot_path.string() + " and " + svg.string();
    return r;
}

std::string run_dot(const std::string& dot_text, const std::string& format) {
    const auto dot = find_graphviz_dot();
    if (dot.empty()) throw IoError("run_dot: Graphviz's dot is not installed");
    // dot reads a file: a private temporary one, removed whatever happens.
    std::string name = (std::filesystem::temp_directory_path() / "tapegrad-XXXXXX.dot").string();
    const int fd = ::mkstemps(name.data(), 4);
    if (fd < 0)
        throw IoError("run_dot: cannot make a temporary file: " +
                      std::string(std::strerror(errno)));
    ::close(fd);
    struct Remove {
        std::string path;
        ~Remove() { std::remove(path.c_str()); }
    } remove{name};
    write_text(name, dot_text, "run_dot");
    // Only standard output is read: dot's own messages go to standard error as they are.
    const std::string cmd =
        shell_quoted(dot.string()) + " -T" + shell_quoted(format) + " " + shell_quoted(name);
    const auto [output, status] = run_capture(cmd, "run_dot");
    if (status != 0) {
        throw IoError("run_dot: " + dot.string() + " -T" + format + " failed (its message is " +
                      "above, on standard error)");
    }
    return output;
}

}  // namespace tapegrad::cli

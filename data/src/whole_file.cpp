// read_whole_file: a regular file is read into a buffer of its size, a pipe in chunks; either
// stops at the limit, so that no input can take all the memory before anything is reported.
#include "whole_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <new>

#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::data {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kChunk = std::size_t{1} << 20;

// "3221225472 bytes (3 GiB)": the exact count, and at a glance when it is large.
std::string bytes_text(std::uint64_t n) {
    std::string s = std::to_string(n) + " bytes";
    const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    int unit = -1;
    while (v >= 1024.0 && unit < 3) v /= 1024.0, ++unit;
    if (unit >= 0) s += " (" + short_text(v, 3) + " " + units[unit] + ")";
    return s;
}

// A path that is neither a directory nor something a read of which ends.
void check_kind(const fs::path& path) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    const char* kind = fs::is_directory(st)        ? "a directory"
                       : fs::is_character_file(st) ? "a character device"
                       : fs::is_block_file(st)     ? "a block device"
                       : fs::is_socket(st)         ? "a socket"
                                                   : nullptr;
    if (kind)
        throw IoError(path.string() + ": cannot read: it is " + kind +
                      ", not a file (a device such as /dev/zero never ends)");
}

[[noreturn]] void too_large(const fs::path& path, const std::string& what,
                            const std::string& raise_with) {
    throw IoError(path.string() + ": " + what + "; " + raise_with);
}

}  // namespace

std::string read_whole_file(const fs::path& path, std::uint64_t max_bytes,
                            const std::string& raise_with) {
    check_kind(path);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError(path.string() + ": cannot open: " + std::strerror(errno));
    // A regular file's size is known: too large is refused before any read. A pipe's is not:
    // it is read until it ends or passes the limit.
    std::error_code ec;
    const bool sized = fs::is_regular_file(path, ec);
    const std::uint64_t size = sized ? fs::file_size(path, ec) : 0;
    if (sized && !ec && size > max_bytes)
        too_large(path,
                  "the file has " + bytes_text(size) + ", more than the limit of " +
                      bytes_text(max_bytes),
                  raise_with);

    std::string text;
    try {
        if (sized && !ec) text.reserve(size + 1);  // + 1: the read that finds the end
        while (in) {
            const std::size_t have = text.size();
            const std::size_t room = text.capacity() > have ? text.capacity() - have : kChunk;
            const std::uint64_t left = max_bytes - have;  // have <= max_bytes, checked below
            std::size_t want = std::min(room, kChunk);
            if (left < want) want = static_cast<std::size_t>(left) + 1;  // enough to see more
            text.resize(have + want);
            in.read(text.data() + have, static_cast<std::streamsize>(want));
            text.resize(have + static_cast<std::size_t>(in.gcount()));
            if (text.size() > max_bytes)
                too_large(path,
                          "more than the limit of " + bytes_text(max_bytes) +
                              " and not at its end yet (a pipe, or a file growing while read)",
                          raise_with);
        }
    } catch (const std::bad_alloc&) {
        throw IoError(path.string() + ": out of memory after reading " + bytes_text(text.size()) +
                      (sized ? " of its " + bytes_text(size) : std::string()) +
                      ": the file does not fit in the memory this process may use");
    }
    if (in.bad())
        throw IoError(path.string() + ": cannot read: " + std::strerror(errno) + " after " +
                      bytes_text(text.size()));
    if (sized && !ec && text.size() < size)
        throw IoError(path.string() + ": the read ended after " + bytes_text(text.size()) +
                      " of the file's " + bytes_text(size) + " (did it shrink while being read?)");
    return text;
}

}  // namespace tapegrad::data

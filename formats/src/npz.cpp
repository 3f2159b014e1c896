// save_npz and load_npz, save_npy and load_npy: the files themselves. The zip container is in
// zip.cpp, the arrays in npy.cpp, the atomic write in atomic_file.cpp; here they are put
// together, and the reads.
#include "tapegrad/formats/npz.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "npy.hpp"
#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/formats/atomic_file.hpp"
#include "tapegrad/formats/npy.hpp"
#include "zip.hpp"

namespace tapegrad::formats {

namespace fs = std::filesystem;
using detail::Bytes;

namespace {

std::vector<unsigned char> read_whole_file(const fs::path& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        const std::string reason = std::strerror(errno);
        throw IoError(path.string() + ": cannot open: " + reason);
    }
    std::vector<unsigned char> data;
    std::error_code ec;
    if (const auto size = fs::file_size(path, ec); !ec) data.reserve(size);
    unsigned char buffer[1 << 16];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0)
        data.insert(data.end(), buffer, buffer + n);
    const bool failed = std::ferror(f);
    const std::string reason = std::strerror(errno);
    std::fclose(f);
    if (failed) throw IoError(path.string() + ": cannot read: " + reason);
    return data;
}

}  // namespace

void save_npz(const fs::path& path, const StateDict& tensors) {
    save_npz(path, tensors, {});
}

void save_npz(const fs::path& path, const StateDict& tensors, const NpzTexts& texts) {
    const std::string file = path.string();
    // Everything that can be checked is checked before the temporary file exists.
    struct Entry {
        std::string name, header;
        Bytes data;
    };
    std::vector<Entry> entries;
    std::vector<std::vector<unsigned char>> scratch(tensors.size());
    for (const auto& [name, t] : tensors) {
        if (!t.defined()) throw IoError(file + ": cannot save '" + name + "': undefined tensor");
        entries.push_back({name + ".npy", detail::npy_header(t.dtype(), t.shape()),
                           detail::npy_data(t, scratch[entries.size()])});
    }
    for (const auto& [name, text] : texts) {
        if (tensors.count(name))
            throw IoError(file + ": cannot save '" + name + "' both as an array and as a text");
        entries.push_back(
            {name + ".npy", detail::npy_header("|u1", {text.size()}),
             Bytes(reinterpret_cast<const unsigned char*>(text.data()), text.size())});
    }
    std::vector<std::pair<std::string, std::uint64_t>> sizes;
    for (const Entry& e : entries) sizes.emplace_back(e.name, e.header.size() + e.data.size());
    if (const std::string problem = detail::zip_limits_problem(sizes); !problem.empty())
        throw IoError(file + ": cannot save: " + problem);

    AtomicFile out(path);
    detail::ZipWriter zip([&](Bytes b) { out.write(b); });
    for (const Entry& e : entries) {
        const auto* header = reinterpret_cast<const unsigned char*>(e.header.data());
        zip.add(e.name, {Bytes(header, e.header.size()), e.data});
    }
    zip.finish();
    out.commit();
}

std::string text_of(const Tensor& t) {
    if (!t.defined() || t.dim() != 1)
        throw ValueError("text_of: expected a 1-D array of bytes, got " +
                         (t.defined() ? shape_str(t.shape()) : std::string("an undefined tensor")));
    const auto values = t.to_array<double>();
    std::string text;
    text.reserve(values.size());
    for (const double v : values) {
        if (!(v >= 0 && v <= 255 && v == static_cast<double>(static_cast<int>(v))))
            throw ValueError("text_of: " + std::to_string(v) + " is not a byte (0 to 255)");
        text += static_cast<char>(static_cast<unsigned char>(v));
    }
    return text;
}

StateDict load_npz(const fs::path& path) {
    const std::string file = path.string();
    const std::vector<unsigned char> archive = read_whole_file(path);
    StateDict result;  // returned only when every entry has been read
    detail::read_zip(archive, file, [&](const std::string& name, Bytes contents) {
        // numpy.load's key: the entry name without ".npy".
        std::string key = name;
        if (key.size() >= 4 && key.compare(key.size() - 4, 4, ".npy") == 0)
            key.resize(key.size() - 4);
        const std::string what = file + ": entry '" + name + "'";
        if (result.count(key)) throw IoError(what + ": a second array named '" + key + "'");
        result.emplace(key, detail::npy_decode(contents, what));
    });
    return result;
}

void save_npy(const fs::path& path, const Tensor& t) {
    if (!t.defined()) throw IoError(path.string() + ": cannot save: undefined tensor");
    const std::string header = detail::npy_header(t.dtype(), t.shape());
    std::vector<unsigned char> scratch;
    AtomicFile out(path);
    out.write(header);
    out.write(detail::npy_data(t, scratch));
    out.commit();
}

Tensor load_npy(const fs::path& path) {
    const std::vector<unsigned char> data = read_whole_file(path);
    return detail::npy_decode(data, path.string());
}

}  // namespace tapegrad::formats

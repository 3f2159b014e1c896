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
    const std::string file = path.string();
    // Everything that can be checked is checked before the temporary file exists.
    std::vector<std::pair<std::string, std::uint64_t>> entries;
    std::vector<std::string> headers;
    for (const auto& [name, t] : tensors) {
        if (!t.defined()) throw IoError(file + ": cannot save '" + name + "': undefined tensor");
        headers.push_back(detail::npy_header(t.dtype(), t.shape()));
        entries.emplace_back(name + ".npy",
                             headers.back().size() + t.numel() * (t.dtype() == f32 ? 4 : 8));
    }
    if (const std::string problem = detail::zip_limits_problem(entries); !problem.empty())
        throw IoError(file + ": cannot save: " + problem);

    AtomicFile out(path);
    detail::ZipWriter zip([&](Bytes b) { out.write(b); });
    std::vector<unsigned char> scratch;
    std::size_t i = 0;
    for (const auto& [name, t] : tensors) {
        const auto* header = reinterpret_cast<const unsigned char*>(headers[i].data());
        zip.add(entries[i].first, {Bytes(header, headers[i].size()), detail::npy_data(t, scratch)});
        ++i;
    }
    zip.finish();
    out.commit();
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

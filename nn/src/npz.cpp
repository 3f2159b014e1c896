// save_npz and load_npz: the files themselves. The zip container is in zip.cpp, the arrays
// in npy.cpp; here are the atomic write (temporary file, fsync, rename) and the whole read.
#include "tapegrad/nn/npz.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "npy.hpp"
#include "tapegrad/autodiff/error.hpp"
#include "zip.hpp"

namespace tapegrad::nn {

namespace fs = std::filesystem;
using detail::Bytes;

namespace {

// A temporary file beside the target, renamed over it by commit(); removed on any failure,
// so the target is either the old file or the complete new one.
class TempFile {
  public:
    explicit TempFile(const fs::path& target)
        : target_(target),
          tmp_(target.string() + ".tmp-" + std::to_string(::getpid()) + "-" +
               std::to_string(counter_++)) {
        file_ = std::fopen(tmp_.c_str(), "wb");
        if (!file_) fail("cannot create the temporary file");
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile() {
        if (file_) std::fclose(file_);
        if (!committed_) {
            std::error_code ignored;
            fs::remove(tmp_, ignored);
        }
    }

    void write(Bytes b) {
        if (std::fwrite(b.data(), 1, b.size(), file_) != b.size())
            fail("cannot write the temporary file");
    }

    // Flushed and synced before the rename, so that after a crash the target holds either
    // the old bytes or all of the new ones.
    void commit() {
        if (std::fflush(file_) != 0) fail("cannot write the temporary file");
        if (::fsync(::fileno(file_)) != 0) fail("cannot sync the temporary file");
        std::FILE* f = std::exchange(file_, nullptr);
        if (std::fclose(f) != 0) fail("cannot close the temporary file");
        std::error_code ec;
        const auto old = fs::status(target_, ec);  // keep a private file private
        if (!ec && fs::is_regular_file(old)) fs::permissions(tmp_, old.permissions(), ec);
        fs::rename(tmp_, target_, ec);
        if (ec)
            throw IoError(target_.string() + ": cannot save: cannot rename the temporary file " +
                          tmp_.string() + " over it: " + ec.message());
        committed_ = true;
    }

  private:
    [[noreturn]] void fail(const std::string& what) const {
        const std::string reason = std::strerror(errno);
        throw IoError(target_.string() + ": cannot save: " + what + " " + tmp_.string() + ": " +
                      reason);
    }

    static inline std::atomic<unsigned> counter_{0};  // two saves of one target at once
    fs::path target_;
    fs::path tmp_;
    std::FILE* file_ = nullptr;
    bool committed_ = false;
};

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

    TempFile out(path);
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

}  // namespace tapegrad::nn

#include "tapegrad/formats/atomic_file.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::formats {

namespace fs = std::filesystem;

namespace {
std::atomic<unsigned> next_temporary{0};  // two saves of one target at once
}  // namespace

AtomicFile::AtomicFile(fs::path target)
    : target_(std::move(target)),
      tmp_(target_.string() + ".tmp-" + std::to_string(::getpid()) + "-" +
           std::to_string(next_temporary++)) {
    file_ = std::fopen(tmp_.c_str(), "wb");
    if (!file_) fail("cannot create the temporary file " + tmp_.string(), errno);
}

AtomicFile::~AtomicFile() {
    if (file_) std::fclose(file_);
    if (!committed_) {
        std::error_code ignored;
        fs::remove(tmp_, ignored);
    }
}

void AtomicFile::write(std::span<const unsigned char> bytes) {
    // An empty tensor's bytes may be a null span, which fwrite must not be given.
    if (bytes.empty()) return;
    if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size())
        fail("cannot write the temporary file " + tmp_.string(), errno);
}

void AtomicFile::write(std::string_view text) {
    write({reinterpret_cast<const unsigned char*>(text.data()), text.size()});
}

// Flushed and synced before the rename, so that after a crash the target holds either the old
// bytes or all of the new ones.
void AtomicFile::commit() {
    if (std::fflush(file_) != 0) fail("cannot write the temporary file " + tmp_.string(), errno);
    if (::fsync(::fileno(file_)) != 0)
        fail("cannot sync the temporary file " + tmp_.string(), errno);
    std::FILE* f = std::exchange(file_, nullptr);
    if (std::fclose(f) != 0) fail("cannot close the temporary file " + tmp_.string(), errno);
    std::error_code ec;
    const auto old = fs::status(target_, ec);  // keep a private file private
    if (!ec && fs::is_regular_file(old)) fs::permissions(tmp_, old.permissions(), ec);
    fs::rename(tmp_, target_, ec);
    if (ec) {
        throw IoError(target_.string() + ": cannot save: cannot rename the temporary file " +
                      tmp_.string() + " over it: " + ec.message());
    }
    committed_ = true;
}

void AtomicFile::fail(const std::string& what, int error) const {
    throw IoError(target_.string() + ": cannot save: " + what + ": " + std::strerror(error));
}

void write_file_atomically(const fs::path& path, std::string_view text) {
    AtomicFile file(path);
    file.write(text);
    file.commit();
}

}  // namespace tapegrad::formats

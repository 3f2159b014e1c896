#pragma once
// The one way tapegrad writes a file: so that a crash (a kill, a full disk, power lost) leaves
// either the old file or the complete new one, never a mix. The bytes go to a temporary beside
// the target whose name is its own (TARGET.tmp-PID-N: two saves at once never collide), are
// flushed and fsync'd, and the temporary is renamed over the target; a private target stays
// private. On any failure the temporary is removed and IoError says
// "TARGET: cannot save: what failed: the system's reason".
#include <cstdio>
#include <filesystem>
#include <span>
#include <string_view>

namespace tapegrad::formats {

class AtomicFile {
  public:
    // Creates the temporary (IoError when it cannot).
    explicit AtomicFile(std::filesystem::path target);
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    // Removes the temporary unless commit() succeeded.
    ~AtomicFile();

    void write(std::span<const unsigned char> bytes);
    void write(std::string_view text);
    // Flushes, syncs and renames the temporary over the target.
    void commit();

    const std::filesystem::path& temporary() const { return tmp_; }

  private:
    [[noreturn]] void fail(const std::string& what, int error) const;
    std::filesystem::path target_;
    std::filesystem::path tmp_;
    std::FILE* file_ = nullptr;
    bool committed_ = false;
};

// text as the whole new contents of path, through an AtomicFile.
void write_file_atomically(const std::filesystem::path& path, std::string_view text);

}  // namespace tapegrad::formats

#pragma once
// Private to tapegrad::formats: the zip container under .npz files. A writer of stored entries that
// streams to a sink, and a reader of stored and deflated entries that bounds-checks every read.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace tapegrad::formats::detail {

using Bytes = std::span<const unsigned char>;

// Writes entries one after another (local header, then contents), then the central directory
// and the end record. Plain zip only (no ZIP64): the caller checks zip_limits_problem first.
class ZipWriter {
  public:
    explicit ZipWriter(std::function<void(Bytes)> sink) : sink_(std::move(sink)) {}
    // One stored entry whose contents are the parts one after another.
    void add(const std::string& name, std::initializer_list<Bytes> parts);
    void finish();

  private:
    struct Entry {
        std::string name;
        std::uint32_t crc;
        std::uint32_t size;
        std::uint32_t offset;
    };
    void put(Bytes b);
    std::function<void(Bytes)> sink_;
    std::vector<Entry> entries_;
    std::uint64_t written_ = 0;
};

// Empty when an archive of entries with these names and content sizes fits in plain zip (under
// 4 GiB, at most 65535 entries), else the reason why not.
std::string zip_limits_problem(const std::vector<std::pair<std::string, std::uint64_t>>& entries);

// Calls visit(name, contents) for every entry of the archive, in central-directory order, once
// the entry's bounds, size and CRC-32 have been checked. Throws IoError("<file>: ...") for a
// truncated, corrupt or unsupported archive.
void read_zip(Bytes archive, const std::string& file,
              const std::function<void(const std::string& name, Bytes contents)>& visit);

}  // namespace tapegrad::formats::detail

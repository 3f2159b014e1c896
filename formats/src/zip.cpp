// The zip container (PKWARE APPNOTE 6.3): little-endian records, each with a 4-byte signature.
// An archive is [local header, data]... central directory, [ZIP64 end record, ZIP64
// locator], end record, comment. The central directory is the authority on names, sizes and
// offsets; the local header only tells where an entry's data starts.
#include "zip.hpp"

#define ZLIB_CONST
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>

#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::formats::detail {

namespace {

constexpr std::uint32_t kLocalSig = 0x04034b50;
constexpr std::uint32_t kCentralSig = 0x02014b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint32_t kZip64EndSig = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::uint32_t kDescriptorSig = 0x08074b50;
constexpr std::size_t kLocalSize = 30, kCentralSize = 46, kEndSize = 22, kZip64EndSize = 56,
                      kLocatorSize = 20;
constexpr std::uint32_t kSaturated32 = 0xFFFFFFFF;  // "the real value is in the ZIP64 extra"
constexpr std::uint16_t kZip64ExtraId = 0x0001;
constexpr std::uint16_t kFlagEncrypted = 0x0001, kFlagDescriptor = 0x0008, kFlagUtf8 = 0x0800;
constexpr std::uint16_t kVersion20 = 20;                 // zip 2.0: what stored and deflate need
constexpr std::uint16_t kMadeByUnix = 3u << 8;           // host system 3 (Unix) in the high byte
constexpr std::uint32_t kUnixFileMode = 0100644u << 16;  // -rw-r--r--, in the high half
constexpr std::uint16_t kDosDate1980 = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, 00:00:00
// Deflate's best ratio is about 1032:1 (a 258-byte match can cost 2 bits); a larger claimed
// size is corrupt, and refusing it keeps a crafted header from allocating gigabytes.
constexpr std::uint64_t kMaxDeflateRatio = 1032;

std::uint16_t get16(const unsigned char* p) {
    return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
std::uint32_t get32(const unsigned char* p) {
    return static_cast<std::uint32_t>(get16(p)) | (static_cast<std::uint32_t>(get16(p + 2)) << 16);
}
std::uint64_t get64(const unsigned char* p) {
    return static_cast<std::uint64_t>(get32(p)) | (static_cast<std::uint64_t>(get32(p + 4)) << 32);
}
void put16(std::vector<unsigned char>& b, std::uint16_t v) {
    b.push_back(static_cast<unsigned char>(v & 0xFF));
    b.push_back(static_cast<unsigned char>(v >> 8));
}
void put32(std::vector<unsigned char>& b, std::uint32_t v) {
    put16(b, static_cast<std::uint16_t>(v & 0xFFFF));
    put16(b, static_cast<std::uint16_t>(v >> 16));
}

std::uint32_t crc_update(std::uint32_t crc, Bytes b) {
    uLong c = crc;
    const unsigned char* p = b.data();
    for (std::size_t left = b.size(); left > 0;) {  // zlib takes uInt lengths
        const auto n = static_cast<uInt>(std::min<std::size_t>(left, UINT_MAX));
        c = crc32(c, p, n);
        p += n;
        left -= n;
    }
    return static_cast<std::uint32_t>(c);
}

bool is_ascii(const std::string& s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string hex32(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

struct CentralEntry {
    std::string name;
    std::uint16_t flags = 0;
    std::uint16_t method = 0;
    std::uint32_t crc = 0;
    std::uint64_t csize = 0;
    std::uint64_t usize = 0;
    std::uint64_t offset = 0;
    std::uint64_t header_size = 0;  // of its central directory header, with name, extra, comment
};

// Reads a whole archive in memory. Every at() is preceded by a fits() check of the bytes it
// reads, so no byte string makes it read outside the archive.
class ArchiveReader {
  public:
    ArchiveReader(Bytes a, const std::string& file) : a_(a), file_(file) {}

    void read_all(const std::function<void(const std::string&, Bytes)>& visit) {
        const std::vector<CentralEntry> entries = central_directory();
        std::vector<unsigned char> inflated;
        for (const auto& e : entries) visit(e.name, contents(e, inflated));
    }

  private:
    std::size_t size() const { return a_.size(); }
    bool fits(std::uint64_t off, std::uint64_t len) const {
        return off <= size() && len <= size() - off;
    }
    // Caller has checked fits(off, len).
    const unsigned char* at(std::uint64_t off) const { return a_.data() + off; }
    bool sig_at(std::uint64_t off, std::uint32_t sig) const {
        return fits(off, 4) && get32(at(off)) == sig;
    }
    [[noreturn]] void fail(const std::string& what) const { throw IoError(file_ + ": " + what); }

    // Where the central directory is and how many entries it holds.
    struct Directory {
        std::uint64_t offset, size, count;
    };
    std::uint64_t find_end_record() const;
    Directory read_end_records(std::uint64_t pos) const;
    CentralEntry read_entry(std::uint64_t p, std::uint64_t index, std::uint64_t dir_end) const;
    std::vector<CentralEntry> central_directory() const;
    void parse_zip64_extra(CentralEntry& e, std::uint64_t extra, std::uint64_t len, bool need_usize,
                           bool need_csize, bool need_offset) const;
    Bytes contents(const CentralEntry& e, std::vector<unsigned char>& inflated) const;
    void inflate_into(const CentralEntry& e, const std::string& what, Bytes compressed,
                      std::vector<unsigned char>& out) const;
    [[noreturn]] void no_end_record() const;
    std::string where_the_file_ends() const;

    Bytes a_;
    const std::string& file_;
};

// The end record is the last 22 bytes unless the archive has a comment (up to 65535 bytes), so
// search backwards. A signature too close to the end means the file was cut inside it.
std::uint64_t ArchiveReader::find_end_record() const {
    std::uint64_t pos = UINT64_MAX;
    if (size() >= 4) {
        const std::size_t lowest = size() > kEndSize + 0xFFFF ? size() - kEndSize - 0xFFFF : 0;
        for (std::size_t p = size() - 4;; --p) {
            if (get32(at(p)) == kEndSig) {
                pos = p;
                break;
            }
            if (p == lowest) break;
        }
    }
    if (pos == UINT64_MAX) no_end_record();
    if (!fits(pos, kEndSize))
        fail("truncated archive: the file ends inside the end-of-central-directory record (" +
             std::to_string(size() - pos) + " of " + std::to_string(kEndSize) + " bytes)");
    const std::uint16_t comment = get16(at(pos) + 20);
    if (!fits(pos + kEndSize, comment))
        fail("truncated archive: the file ends inside the archive comment (expected " +
             std::to_string(comment) + " bytes, found " + std::to_string(size() - pos - kEndSize) +
             ")");
    return pos;
}

// The end record at pos, or the ZIP64 end record its locator points to: a locator right before
// the end record means the 64-bit fields there replace the saturated 16- and 32-bit ones.
ArchiveReader::Directory ArchiveReader::read_end_records(std::uint64_t pos) const {
    const unsigned char* end = at(pos);
    std::uint64_t disk = get16(end + 4), dir_disk = get16(end + 6), count_here = get16(end + 8),
                  count = get16(end + 10), dir_size = get32(end + 12), dir_offset = get32(end + 16);
    std::uint64_t dir_limit = pos;  // the directory ends before the end record(s)
    if (pos >= kLocatorSize && sig_at(pos - kLocatorSize, kZip64LocatorSig)) {
        const std::uint64_t z = get64(at(pos - kLocatorSize + 8));
        if (!fits(z, kZip64EndSize) || !sig_at(z, kZip64EndSig) || z > pos - kLocatorSize)
            fail("corrupt archive: no ZIP64 end-of-central-directory record at offset " +
                 std::to_string(z) + ", where its locator points");
        const unsigned char* r = at(z);
        disk = get32(r + 16);
        dir_disk = get32(r + 20);
        count_here = get64(r + 24);
        count = get64(r + 32);
        dir_size = get64(r + 40);
        dir_offset = get64(r + 48);
        dir_limit = z;
    }
    if (disk != 0 || dir_disk != 0 || count_here != count)
        fail("multi-disk (spanned) zip archives are not supported");
    if (dir_offset > dir_limit || dir_size > dir_limit - dir_offset)
        fail("corrupt archive: the central directory (offset " + std::to_string(dir_offset) + ", " +
             std::to_string(dir_size) + " bytes) does not end before the end record at " +
             std::to_string(dir_limit));
    if (count > dir_size / kCentralSize)
        fail("corrupt archive: " + std::to_string(count) +
             " entries cannot fit in a central directory of " + std::to_string(dir_size) +
             " bytes");
    return {dir_offset, dir_size, count};
}

// Entry number index (from 0) of the central directory, whose header starts at p.
CentralEntry ArchiveReader::read_entry(std::uint64_t p, std::uint64_t index,
                                       std::uint64_t dir_end) const {
    const std::string which = "central directory entry #" + std::to_string(index + 1) +
                              " (offset " + std::to_string(p) + ")";
    if (dir_end - p < kCentralSize || get32(at(p)) != kCentralSig)
        fail("corrupt archive: " + which + " is not a central directory header");
    const unsigned char* h = at(p);
    CentralEntry e;
    e.flags = get16(h + 8);
    e.method = get16(h + 10);
    e.crc = get32(h + 16);
    e.csize = get32(h + 20);
    e.usize = get32(h + 24);
    const std::uint64_t name_len = get16(h + 28), extra_len = get16(h + 30),
                        comment_len = get16(h + 32);
    e.offset = get32(h + 42);
    if (kCentralSize + name_len + extra_len + comment_len > dir_end - p)
        fail("corrupt archive: " + which + " runs past the end of the central directory");
    e.name.assign(reinterpret_cast<const char*>(h + kCentralSize), name_len);
    const bool need_usize = e.usize == kSaturated32, need_csize = e.csize == kSaturated32,
               need_offset = e.offset == kSaturated32;
    if (need_usize || need_csize || need_offset)
        parse_zip64_extra(e, p + kCentralSize + name_len, extra_len, need_usize, need_csize,
                          need_offset);
    e.header_size = kCentralSize + name_len + extra_len + comment_len;
    return e;
}

std::vector<CentralEntry> ArchiveReader::central_directory() const {
    const Directory dir = read_end_records(find_end_record());
    std::vector<CentralEntry> entries;
    entries.reserve(dir.count);
    std::uint64_t p = dir.offset;
    for (std::uint64_t i = 0; i < dir.count; ++i) {
        entries.push_back(read_entry(p, i, dir.offset + dir.size));
        p += entries.back().header_size;
    }
    return entries;
}

// The ZIP64 extra field (id 1) holds, in this order, only the values whose ordinary fields
// are saturated: uncompressed size, compressed size, local header offset (8 bytes each).
void ArchiveReader::parse_zip64_extra(CentralEntry& e, std::uint64_t extra, std::uint64_t len,
                                      bool need_usize, bool need_csize, bool need_offset) const {
    const std::uint64_t end = extra + len;
    for (std::uint64_t p = extra; end - p >= 4;) {
        const std::uint16_t id = get16(at(p));
        const std::uint64_t n = get16(at(p + 2));
        if (n > end - p - 4) break;
        if (id == kZip64ExtraId) {
            std::uint64_t q = p + 4;
            const std::uint64_t q_end = q + n;
            auto next = [&](std::uint64_t& field, const char* what) {
                if (q_end - q < 8)
                    fail("corrupt archive: the ZIP64 extra field of entry '" + e.name +
                         "' has no " + what);
                field = get64(at(q));
                q += 8;
            };
            if (need_usize) next(e.usize, "uncompressed size");
            if (need_csize) next(e.csize, "compressed size");
            if (need_offset) next(e.offset, "local header offset");
            return;
        }
        p += 4 + n;
    }
    fail("corrupt archive: entry '" + e.name +
         "' has a saturated size or offset but no ZIP64 extra field");
}

Bytes ArchiveReader::contents(const CentralEntry& e, std::vector<unsigned char>& inflated) const {
    const std::string what = "entry '" + e.name + "'";
    if (e.flags & kFlagEncrypted) fail(what + " is encrypted");
    if (e.method != 0 && e.method != 8)
        fail(what + " uses compression method " + std::to_string(e.method) +
             " (only stored, 0, and deflate, 8, are supported)");
    if (!fits(e.offset, kLocalSize))
        fail(what + " is truncated: its local header (offset " + std::to_string(e.offset) +
             ") lies past the end of the file (" + std::to_string(size()) + " bytes)");
    if (get32(at(e.offset)) != kLocalSig)
        fail("corrupt archive: no local header for " + what + " at offset " +
             std::to_string(e.offset));
    const std::uint64_t name_len = get16(at(e.offset + 26)), extra_len = get16(at(e.offset + 28));
    if (!fits(e.offset + kLocalSize, name_len + extra_len))
        fail(what + " is truncated: the file ends inside its local header");
    const std::string local_name(reinterpret_cast<const char*>(at(e.offset + kLocalSize)),
                                 name_len);
    if (local_name != e.name)
        fail("corrupt archive: the local header of " + what + " names '" + local_name + "'");
    const std::uint64_t data = e.offset + kLocalSize + name_len + extra_len;
    if (!fits(data, e.csize))
        fail(what + " is truncated: expected " + std::to_string(e.csize) +
             " bytes of data, found " + std::to_string(size() - data));
    const Bytes raw(at(data), e.csize);

    Bytes out;
    if (e.method == 0) {
        if (e.csize != e.usize)
            fail("corrupt archive: " + what + " is stored (not compressed) but records " +
                 std::to_string(e.csize) + " bytes stored for " + std::to_string(e.usize));
        out = raw;
    } else {
        inflate_into(e, what, raw, inflated);
        out = Bytes(inflated.data(), e.usize);
    }
    const std::uint32_t crc = crc_update(0, out);
    if (crc != e.crc)
        fail(what + " fails its CRC-32 check (recorded " + hex32(e.crc) + ", computed " +
             hex32(crc) + "): the file is corrupt");
    return out;
}

// Raw deflate (no zlib header: windowBits -15) into a buffer of the recorded size plus one
// byte, so that data inflating to more than recorded is caught.
void ArchiveReader::inflate_into(const CentralEntry& e, const std::string& what, Bytes compressed,
                                 std::vector<unsigned char>& out) const {
    if (e.usize / kMaxDeflateRatio > e.csize + 1)
        fail("corrupt archive: " + what + " records " + std::to_string(e.usize) +
             " bytes inflated from " + std::to_string(e.csize) + ", more than deflate can encode");
    out.assign(e.usize + 1, 0);
    z_stream zs{};
    if (inflateInit2(&zs, -15) != Z_OK) fail("zlib cannot start inflating " + what);
    struct End {
        z_stream* z;
        ~End() { inflateEnd(z); }
    } end{&zs};
    zs.next_in = compressed.data();
    zs.next_out = out.data();
    std::uint64_t in_left = compressed.size(), out_left = out.size();
    for (;;) {
        if (zs.avail_in == 0 && in_left > 0) {  // feed in uInt-sized pieces
            zs.avail_in = static_cast<uInt>(std::min<std::uint64_t>(in_left, UINT_MAX));
            in_left -= zs.avail_in;
        }
        if (zs.avail_out == 0 && out_left > 0) {
            zs.avail_out = static_cast<uInt>(std::min<std::uint64_t>(out_left, UINT_MAX));
            out_left -= zs.avail_out;
        }
        const int ret = inflate(&zs, Z_NO_FLUSH);
        const auto produced = static_cast<std::uint64_t>(zs.next_out - out.data());
        if (produced > e.usize)
            fail("corrupt archive: " + what + " inflates to more than its recorded " +
                 std::to_string(e.usize) + " bytes");
        if (ret == Z_STREAM_END) {
            if (produced != e.usize)
                fail(what + " is corrupt: it inflates to " + std::to_string(produced) +
                     " bytes, but the archive records " + std::to_string(e.usize));
            return;
        }
        if (ret == Z_OK) continue;
        if (ret == Z_BUF_ERROR)  // no progress possible: the input ran out
            fail(what + " is truncated: its deflate stream ends after " + std::to_string(produced) +
                 " of " + std::to_string(e.usize) + " bytes");
        fail(what + " is corrupt: invalid deflate data (" +
             std::string(zs.msg ? zs.msg : "zlib error " + std::to_string(ret)) + ")");
    }
}

[[noreturn]] void ArchiveReader::no_end_record() const {
    static const unsigned char npy_magic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (size() == 0) fail("not a zip archive: the file is empty");
    if (sig_at(0, kLocalSig) || sig_at(0, kEndSig))
        fail("truncated archive: no end-of-central-directory record; " + where_the_file_ends());
    if (fits(0, sizeof npy_magic) && std::memcmp(at(0), npy_magic, sizeof npy_magic) == 0)
        fail("not a zip archive: this is a single .npy array, not an .npz archive");
    fail("not a zip archive (no end-of-central-directory record)");
}

// For an archive cut short: walks the local headers from the start to say where it ends.
std::string ArchiveReader::where_the_file_ends() const {
    std::uint64_t p = 0;
    for (int n = 1;; ++n) {
        if (p == size())
            return "the file ends after " + std::to_string(n - 1) +
                   " entries, before the central directory";
        if (!fits(p, 4))
            return "the file ends inside the header after entry #" + std::to_string(n - 1);
        if (sig_at(p, kCentralSig)) {  // walk the directory's complete headers
            while (sig_at(p, kCentralSig)) {
                if (!fits(p, kCentralSize)) return "the file ends inside the central directory";
                const unsigned char* h = at(p);
                const std::uint64_t n =
                    kCentralSize + get16(h + 28) + get16(h + 30) + get16(h + 32);
                if (!fits(p, n)) return "the file ends inside the central directory";
                p += n;
            }
            return "the file ends inside the end-of-central-directory record";
        }
        if (sig_at(p, kEndSig) || sig_at(p, kZip64EndSig) || sig_at(p, kZip64LocatorSig))
            return "the file ends inside the end-of-central-directory record";
        if (!sig_at(p, kLocalSig)) return "unexpected bytes at offset " + std::to_string(p);
        const std::string which = "entry #" + std::to_string(n);
        if (!fits(p, kLocalSize)) return "the file ends inside the local header of " + which;
        const unsigned char* h = at(p);
        const std::uint16_t flags = get16(h + 6);
        std::uint64_t csize = get32(h + 18);
        const std::uint64_t name_len = get16(h + 26), extra_len = get16(h + 28);
        if (!fits(p + kLocalSize, name_len))
            return "the file ends inside the local header of " + which;
        const std::string what =
            "entry '" + std::string(reinterpret_cast<const char*>(at(p + kLocalSize)), name_len) +
            "'";
        if (!fits(p + kLocalSize + name_len, extra_len))
            return "the file ends inside the local header of " + what;
        if (csize == kSaturated32) {  // a local ZIP64 extra holds both sizes
            for (std::uint64_t x = p + kLocalSize + name_len, x_end = x + extra_len;
                 x_end - x >= 4;) {
                const std::uint64_t n_x = get16(at(x + 2));
                if (n_x > x_end - x - 4) break;
                if (get16(at(x)) == kZip64ExtraId && n_x >= 16) csize = get64(at(x + 12));
                x += 4 + n_x;
            }
        }
        const std::uint64_t data = p + kLocalSize + name_len + extra_len;
        if ((flags & kFlagDescriptor) && csize == 0)  // sizes only after the data: unknown
            return "the file ends in or after " + what;
        if (!fits(data, csize))
            return "the file ends inside " + what + ": expected " + std::to_string(csize) +
                   " bytes of data, found " + std::to_string(size() - data);
        p = data + csize;
        if (flags & kFlagDescriptor) p += (sig_at(p, kDescriptorSig) ? 4 : 0) + 12;
        p = std::min<std::uint64_t>(p, size());
    }
}

}  // namespace

void ZipWriter::put(Bytes b) {
    if (b.empty()) return;
    sink_(b);
    written_ += b.size();
}

void ZipWriter::add(const std::string& name, std::initializer_list<Bytes> parts) {
    std::uint32_t crc = 0;
    std::uint64_t size = 0;
    for (Bytes part : parts) {
        crc = crc_update(crc, part);
        size += part.size();
    }
    // Sizes and offsets fit 32 bits: the caller checked zip_limits_problem.
    const Entry e{name, crc, static_cast<std::uint32_t>(size),
                  static_cast<std::uint32_t>(written_)};
    std::vector<unsigned char> h;
    put32(h, kLocalSig);
    put16(h, kVersion20);
    put16(h, is_ascii(name) ? 0 : kFlagUtf8);
    put16(h, 0);  // stored
    put16(h, 0);  // time 00:00:00 and date 1980-01-01: the same tensors give the same bytes
    put16(h, kDosDate1980);
    put32(h, e.crc);
    put32(h, e.size);
    put32(h, e.size);
    put16(h, static_cast<std::uint16_t>(name.size()));
    put16(h, 0);  // no extra field
    h.insert(h.end(), name.begin(), name.end());
    put(h);
    for (Bytes part : parts) put(part);
    entries_.push_back(e);
}

void ZipWriter::finish() {
    const std::uint64_t dir_offset = written_;
    std::vector<unsigned char> d;
    for (const Entry& e : entries_) {
        put32(d, kCentralSig);
        put16(d, kMadeByUnix | kVersion20);
        put16(d, kVersion20);
        put16(d, is_ascii(e.name) ? 0 : kFlagUtf8);
        put16(d, 0);
        put16(d, 0);
        put16(d, kDosDate1980);
        put32(d, e.crc);
        put32(d, e.size);
        put32(d, e.size);
        put16(d, static_cast<std::uint16_t>(e.name.size()));
        put16(d, 0);  // extra
        put16(d, 0);  // comment
        put16(d, 0);  // disk
        put16(d, 0);  // internal attributes
        put32(d, kUnixFileMode);
        put32(d, e.offset);
        d.insert(d.end(), e.name.begin(), e.name.end());
    }
    const auto count = static_cast<std::uint16_t>(entries_.size());
    const auto dir_size = static_cast<std::uint32_t>(d.size());
    put32(d, kEndSig);
    put16(d, 0);
    put16(d, 0);
    put16(d, count);
    put16(d, count);
    put32(d, dir_size);
    put32(d, static_cast<std::uint32_t>(dir_offset));
    put16(d, 0);  // no comment
    put(d);
}

std::string zip_limits_problem(const std::vector<std::pair<std::string, std::uint64_t>>& entries) {
    if (entries.size() > 0xFFFF)
        return std::to_string(entries.size()) +
               " arrays; a zip archive without ZIP64 holds at most 65535";
    std::uint64_t total = kEndSize;
    for (const auto& [name, size] : entries) {
        if (name.size() > 0xFFFF)
            return "the entry name '" + name.substr(0, 40) + "...' is longer than 65535 bytes";
        total += kLocalSize + kCentralSize + 2 * name.size() + size;
    }
    if (total >= kSaturated32)
        return "the archive would take " + std::to_string(total) +
               " bytes; a zip archive without ZIP64 is limited to 4 GiB";
    return {};
}

void read_zip(Bytes archive, const std::string& file,
              const std::function<void(const std::string&, Bytes)>& visit) {
    ArchiveReader(archive, file).read_all(visit);
}

}  // namespace tapegrad::formats::detail

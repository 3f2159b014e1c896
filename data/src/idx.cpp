// read_idx: the IDX format of MNIST (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS"):
// a big-endian magic 0x00000800 | type << 8 | ndim, ndim big-endian uint32 extents, then the
// values, big-endian, row-major. A file starting with 1f 8b is gzip and is inflated with zlib
// first. Every problem is an IoError naming the file and what is wrong.
#include <zlib.h>

#include <bit>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/data/readers.hpp"

namespace tapegrad::data {

namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<unsigned char>;

std::string hex(unsigned v, int digits) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%0*X", digits, v);
    return buf;
}

Bytes read_bytes(const fs::path& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec))
        throw IoError(path.string() + ": cannot read: it is a directory, not an IDX file");
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw IoError(path.string() + ": cannot open: " + std::strerror(errno));
    const std::streamoff size = in.tellg();
    in.seekg(0);
    Bytes b(size > 0 ? static_cast<std::size_t>(size) : 0);
    if (!in.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(b.size())))
        throw IoError(path.string() + ": cannot read: " + std::strerror(errno));
    return b;
}

// Inflates gzip data (one or more members, as gzip -c a b > c writes them).
Bytes gunzip(const fs::path& path, const Bytes& in) {
    const std::string name = path.string();
    if (in.size() > UINT_MAX)
        throw IoError(name + ": gzip file larger than 4 GiB is not supported");
    // The last four bytes of a member hold its size mod 2^32: a good first guess. It is only
    // a claim of the file, so it is capped at what deflate can produce from this many bytes
    // (at most 1032 to 1): a 20-byte file claiming 4 GiB must not get 4 GiB allocated.
    std::size_t guess = 1 << 16;
    if (in.size() >= 18) {
        const std::size_t n = in.size();
        const std::size_t claimed = (std::size_t(in[n - 1]) << 24) |
                                    (std::size_t(in[n - 2]) << 16) | (std::size_t(in[n - 3]) << 8) |
                                    in[n - 4];
        guess = std::max<std::size_t>(guess, std::min<std::size_t>(claimed, 1032 * n));
    }
    Bytes out(guess + 1);  // + 1: the end of the stream is seen without one more resize
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK)  // 15: 32 KiB window; + 16: gzip wrapper
        throw IoError(name + ": cannot start zlib's inflate");
    zs.next_in = const_cast<Bytes::value_type*>(in.data());
    zs.avail_in = static_cast<uInt>(in.size());
    std::size_t produced = 0;
    while (true) {
        if (produced == out.size()) out.resize(out.size() * 2);
        zs.next_out = out.data() + produced;
        const std::size_t room = std::min<std::size_t>(out.size() - produced, UINT_MAX);
        zs.avail_out = static_cast<uInt>(room);
        const int ret = inflate(&zs, Z_NO_FLUSH);
        produced += room - zs.avail_out;
        if (ret == Z_STREAM_END) {
            if (zs.avail_in == 0) break;
            if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
                inflateReset(&zs);  // another gzip member follows
                continue;
            }
            inflateEnd(&zs);
            throw IoError(name + ": " + std::to_string(zs.avail_in) +
                          " bytes of something other than gzip data after the gzip stream");
        }
        if (ret == Z_OK) continue;
        if (ret == Z_BUF_ERROR && zs.avail_in == 0) {
            inflateEnd(&zs);
            throw IoError(name + ": the gzip data ends early (truncated file?) after " +
                          std::to_string(produced) + " inflated bytes");
        }
        const std::string msg = zs.msg ? zs.msg : "error " + std::to_string(ret);
        inflateEnd(&zs);
        throw IoError(name + ": corrupt gzip data: " + msg);
    }
    inflateEnd(&zs);
    out.resize(produced);
    return out;
}

std::uint32_t be32(const unsigned char* p) {
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
           std::uint32_t(p[3]);
}

std::uint64_t be64(const unsigned char* p) {
    return (std::uint64_t(be32(p)) << 32) | be32(p + 4);
}

struct ElementType {
    const char* name;
    std::size_t size;
};

// The element types of the format, by their code in the header.
constexpr std::pair<unsigned, ElementType> kElementTypes[] = {
    {0x08, {"unsigned byte", 1}}, {0x09, {"signed byte", 1}}, {0x0B, {"short", 2}},
    {0x0C, {"int", 4}},           {0x0D, {"float", 4}},       {0x0E, {"double", 8}}};

bool element_type(unsigned code, ElementType& t) {
    for (const auto& [c, type] : kElementTypes) {
        if (c == code) {
            t = type;
            return true;
        }
    }
    return false;
}

// The value of element i of type code at p, as double (exact for every IDX type but double's
// own rounding to float later).
double element(unsigned code, const unsigned char* p, std::size_t i) {
    switch (code) {
        case 0x08:
            return p[i];
        case 0x09:
            return static_cast<signed char>(p[i]);
        case 0x0B:
            return static_cast<std::int16_t>((p[2 * i] << 8) | p[2 * i + 1]);
        case 0x0C:
            return static_cast<std::int32_t>(be32(p + 4 * i));
        case 0x0D:
            return std::bit_cast<float>(be32(p + 4 * i));
        default:
            return std::bit_cast<double>(be64(p + 8 * i));
    }
}

template <class T>
Tensor convert(unsigned code, const unsigned char* p, const Shape& shape) {
    auto a = xt::xarray<T>::from_shape(shape);
    T* q = a.data();
    const std::size_t n = a.size();
    if (code == 0x08) {  // the common case (pixels, labels): no switch per element
        for (std::size_t i = 0; i < n; ++i) q[i] = static_cast<T>(p[i]);
    } else {
        for (std::size_t i = 0; i < n; ++i) q[i] = static_cast<T>(element(code, p, i));
    }
    return Tensor(std::move(a));
}

}  // namespace

Tensor read_idx(const fs::path& path, Dtype dtype) {
    const std::string name = path.string();
    Bytes b = read_bytes(path);
    if (b.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b) b = gunzip(path, b);

    if (b.size() < 4)
        throw IoError(name +
                      ": truncated header: an IDX file starts with a 4-byte magic number, "
                      "found " +
                      std::to_string(b.size()) + " bytes");
    const std::uint32_t magic = be32(b.data());
    ElementType type{};
    if (b[0] != 0 || b[1] != 0 || !element_type(b[2], type))
        throw IoError(name + ": bad magic number " + hex(magic, 8) +
                      ": not an IDX file (one starts with 00 00, a type byte - 0x08 ubyte, "
                      "0x09 byte, 0x0B short, 0x0C int, 0x0D float or 0x0E double - and the "
                      "number of dimensions)");
    const unsigned ndim = b[3];
    const std::size_t header = 4 + 4 * std::size_t(ndim);
    if (b.size() < header)
        throw IoError(name + ": truncated header: " + std::to_string(ndim) + " dimensions need a " +
                      std::to_string(header) + "-byte header, found " + std::to_string(b.size()) +
                      " bytes");
    Shape shape(ndim);
    std::size_t count = 1;
    for (unsigned d = 0; d < ndim; ++d) {
        shape[d] = be32(b.data() + 4 + 4 * d);
        if (shape[d] != 0 && count > SIZE_MAX / type.size / shape[d])
            throw IoError(name + ": the shape " + shape_str(shape) + " in the header is too large");
        count *= shape[d];
    }
    const std::size_t expected = count * type.size;
    const std::size_t found = b.size() - header;
    if (found != expected)
        throw IoError(name + ": " + (found < expected ? "truncated data" : "trailing bytes") +
                      ": the header's shape " + shape_str(shape) + " of " + type.name + " needs " +
                      std::to_string(expected) + " bytes of data after the " +
                      std::to_string(header) + "-byte header, found " + std::to_string(found));
    const unsigned char* data = b.data() + header;
    return dtype == f32 ? convert<float>(b[2], data, shape) : convert<double>(b[2], data, shape);
}

}  // namespace tapegrad::data

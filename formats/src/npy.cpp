// The .npy format, as numpy/lib/format.py writes and reads it. The header is a Python dict
// literal, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", which we parse with
// a small literal parser (strings, True/False, integers, tuples and lists) rather than eval.
#include "npy.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <utility>

#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::formats::detail {

namespace {

constexpr unsigned char kMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr std::size_t kAlign = 64;         // NumPy's ARRAY_ALIGN
constexpr std::size_t kGrowthDigits = 21;  // NumPy's GROWTH_AXIS_MAX_DIGITS
constexpr std::size_t kMaxRank = 64;       // NumPy 2's limit (1.x: 32)
constexpr int kMaxNesting = 8;             // of tuples/lists in a header: a structured dtype

std::string shape_repr(const Shape& s) {  // Python's repr of a tuple: (), (5,), (3, 4)
    if (s.empty()) return "()";
    std::string r = "(";
    for (std::size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
    return r + (s.size() == 1 ? ",)" : ")");
}

// A Python literal from the header, with the text it was parsed from (for messages).
struct Literal {
    enum Kind { kString, kBool, kInt, kTuple, kList } kind = kString;
    std::string str;
    bool boolean = false;
    std::uint64_t integer = 0;
    std::vector<Literal> items;
    std::string_view text;
};

class HeaderParser {
  public:
    HeaderParser(std::string_view s, const std::string& what) : s_(s), what_(what) {}

    // The dict's entries in order; only whitespace may follow the closing brace.
    std::vector<std::pair<std::string, Literal>> dict() {
        std::vector<std::pair<std::string, Literal>> entries;
        skip_space();
        expect('{');
        for (;;) {
            skip_space();
            if (peek() == '}') {
                ++i_;
                break;
            }
            Literal key = value(0);
            if (key.kind != Literal::kString) fail("a key that is not a string");
            skip_space();
            expect(':');
            skip_space();
            entries.emplace_back(key.str, value(0));
            skip_space();
            if (peek() == ',') {
                ++i_;
            } else if (peek() != '}') {
                fail("',' or '}'");
            }
        }
        skip_space();
        if (i_ != s_.size()) fail("nothing after the closing '}'");
        return entries;
    }

    [[noreturn]] void fail(const std::string& expected) const {
        throw IoError(what_ + ": bad npy header: expected " + expected + " at character " +
                      std::to_string(i_) + " of " + quoted(s_));
    }

    static std::string quoted(std::string_view s) {  // printable, and not too long
        std::string r = "\"";
        for (std::size_t i = 0; i < s.size() && i < 120; ++i) {
            const auto c = static_cast<unsigned char>(s[i]);
            r += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '?';
        }
        return r + (s.size() > 120 ? "...\"" : "\"");
    }

  private:
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    void skip_space() {
        while (i_ < s_.size() &&
               (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
            ++i_;
    }
    void expect(char c) {
        if (peek() != c) fail(std::string("'") + c + "'");
        ++i_;
    }
    bool take_word(std::string_view w) {
        if (s_.substr(i_, w.size()) != w) return false;
        i_ += w.size();
        return true;
    }

    Literal value(int depth) {
        if (depth > kMaxNesting) fail("less deeply nested tuples or lists");
        const std::size_t start = i_;
        Literal v;
        const char c = peek();
        if (c == '\'' || c == '"') {
            ++i_;
            const std::size_t end = s_.find(c, i_);
            if (end == std::string_view::npos) fail(std::string("a closing ") + c);
            v.str = std::string(s_.substr(i_, end - i_));
            if (v.str.find('\\') != std::string::npos) fail("a string without escapes");
            i_ = end + 1;
        } else if (take_word("True") || take_word("False")) {
            v.kind = Literal::kBool;
            v.boolean = s_[start] == 'T';
        } else if (c >= '0' && c <= '9') {
            v.kind = Literal::kInt;
            while (peek() >= '0' && peek() <= '9') {
                const auto d = static_cast<std::uint64_t>(peek() - '0');
                if (v.integer > (UINT64_MAX - d) / 10) fail("an integer below 2^64");
                v.integer = v.integer * 10 + d;
                ++i_;
            }
            if (peek() == 'L') ++i_;  // Python 2's long literal, in old files
        } else if (c == '(' || c == '[') {
            v.kind = c == '(' ? Literal::kTuple : Literal::kList;
            const char close = c == '(' ? ')' : ']';
            ++i_;
            for (;;) {
                skip_space();
                if (peek() == close) {
                    ++i_;
                    break;
                }
                v.items.push_back(value(depth + 1));
                skip_space();
                if (peek() == ',') {
                    ++i_;
                } else if (peek() != close) {
                    fail(std::string("',' or '") + close + "'");
                }
            }
        } else {
            fail("a string, True, False, a non-negative integer, a tuple or a list");
        }
        v.text = s_.substr(start, i_ - start);
        return v;
    }

    std::string_view s_;
    std::size_t i_ = 0;
    const std::string& what_;
};

// The element types we read: a byte order, a kind and a size, as in '<f4', '>i8', '|b1'.
struct Descr {
    char kind = 'f';
    std::size_t size = 8;
    bool swap = false;  // stored in the other byte order than this machine's
};

bool parse_descr(const std::string& s, Descr& d) {
    if (s.size() != 3) return false;
    const char order = s[0];
    d.kind = s[1];
    d.size = static_cast<std::size_t>(s[2] - '0');
    const bool one_byte = d.size == 1;
    if (order == '|' && !one_byte) return false;  // '|': byte order does not apply
    if (order != '<' && order != '>' && order != '=' && order != '|') return false;
    const bool big = order == '>' || (order == '=' && std::endian::native == std::endian::big);
    d.swap = !one_byte && big != (std::endian::native == std::endian::big);
    switch (d.kind) {
        case 'f':
            return d.size == 4 || d.size == 8;
        case 'i':
        case 'u':
            return d.size == 1 || d.size == 2 || d.size == 4 || d.size == 8;
        case 'b':
            return one_byte;
        default:
            return false;
    }
}

// Reads one element of type Raw stored at p, swapping its bytes when the orders differ.
template <class Raw>
Raw load(const unsigned char* p, bool swap) {
    unsigned char b[sizeof(Raw)];
    std::memcpy(b, p, sizeof(Raw));
    if (swap) {
        for (std::size_t i = 0; i < sizeof(Raw) / 2; ++i) std::swap(b[i], b[sizeof(Raw) - 1 - i]);
    }
    Raw v;
    std::memcpy(&v, b, sizeof(Raw));
    return v;
}

template <class Raw, class T>
void convert(const unsigned char* src, std::size_t n, bool swap, T* dst) {
    if constexpr (std::is_same_v<Raw, T>) {
        if (!swap) {
            if (n > 0) std::memcpy(dst, src, n * sizeof(T));
            return;
        }
    }
    for (std::size_t i = 0; i < n; ++i)
        dst[i] = static_cast<T>(load<Raw>(src + i * sizeof(Raw), swap));
}

// Fortran order stores axis 0 fastest: element (i0, .., ik) sits at sum(ij * fj), where
// f0 = 1 and fj = f(j-1) * shape[j-1]. Walk C order with a counter and keep that offset.
template <class T>
xt::xarray<T> fortran_to_c(const xt::xarray<T>& f, const Shape& shape) {
    xt::xarray<T> c = xt::xarray<T>::from_shape(shape);
    const std::size_t rank = shape.size(), n = c.size();
    Shape stride(rank, 1), index(rank, 0);
    for (std::size_t j = 1; j < rank; ++j) stride[j] = stride[j - 1] * shape[j - 1];
    const T* src = f.data();
    T* dst = c.data();
    std::size_t offset = 0;
    for (std::size_t i = 0; i < n; ++i) {
        dst[i] = src[offset];
        for (std::size_t j = rank; j-- > 0;) {  // odometer: last axis fastest
            offset += stride[j];
            if (++index[j] < shape[j]) break;
            offset -= stride[j] * shape[j];
            index[j] = 0;
        }
    }
    return c;
}

// convert<S> for the stored element type: kind 'f', 'i' or 'u' and its size in bytes.
template <class T>
void convert_any(char kind, std::size_t size, const unsigned char* data, std::size_t n, bool swap,
                 T* out) {
    if (kind == 'f') {
        if (size == 4) return convert<float>(data, n, swap, out);
        return convert<double>(data, n, swap, out);
    }
    if (kind == 'i') {
        if (size == 1) return convert<std::int8_t>(data, n, swap, out);
        if (size == 2) return convert<std::int16_t>(data, n, swap, out);
        if (size == 4) return convert<std::int32_t>(data, n, swap, out);
        return convert<std::int64_t>(data, n, swap, out);
    }
    if (size == 1) return convert<std::uint8_t>(data, n, swap, out);
    if (size == 2) return convert<std::uint16_t>(data, n, swap, out);
    if (size == 4) return convert<std::uint32_t>(data, n, swap, out);
    return convert<std::uint64_t>(data, n, swap, out);
}

template <class T>
Tensor decode(const unsigned char* data, const Descr& d, const Shape& shape, bool fortran) {
    xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
    const std::size_t n = a.size();
    T* out = a.data();
    convert_any(d.kind == 'b' ? 'u' : d.kind, d.size, data, n, d.swap, out);
    if (d.kind == 'b') {
        for (std::size_t i = 0; i < n; ++i) out[i] = out[i] != 0 ? T(1) : T(0);
    }
    return Tensor(fortran && shape.size() > 1 ? fortran_to_c(a, shape) : std::move(a));
}

}  // namespace

std::string npy_header(Dtype dtype, const Shape& shape) {
    return npy_header(dtype == f32 ? "<f4" : "<f8", shape);
}

std::string npy_header(const std::string& descr, const Shape& shape) {
    std::string dict =
        "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_repr(shape) + ", }";
    // NumPy (since 1.23) leaves room for the first extent to grow to 21 digits, so that a
    // header can be rewritten in place when rows are appended; we match it byte for byte.
    if (!shape.empty()) dict.append(kGrowthDigits - std::to_string(shape[0]).size(), ' ');
    // magic (6) + version (2) + length (2) + dict + padding + '\n' = a multiple of 64, with
    // NumPy's padding of 1 to 64 spaces (a full 64 when the rest is already aligned).
    const std::size_t padding = kAlign - (10 + dict.size() + 1) % kAlign;
    dict.append(padding, ' ');
    dict += '\n';
    std::string header(reinterpret_cast<const char*>(kMagic), sizeof kMagic);
    header += '\x01';  // version 1.0
    header += '\x00';
    header += static_cast<char>(dict.size() & 0xFF);  // little-endian uint16 length
    header += static_cast<char>(dict.size() >> 8);
    return header + dict;
}

Bytes npy_data(const Tensor& t, std::vector<unsigned char>& scratch) {
    auto bytes = [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        const auto* p = reinterpret_cast<const unsigned char*>(a.data());
        const std::size_t n = a.size() * sizeof(T);
        if constexpr (std::endian::native == std::endian::little) {
            return Bytes(p, n);
        } else {
            scratch.assign(p, p + n);
            for (std::size_t i = 0; i < n; i += sizeof(T))
                std::reverse(scratch.begin() + i, scratch.begin() + i + sizeof(T));
            return Bytes(scratch);
        }
    };
    if (t.dtype() == f32) return bytes(t.value<float>());
    return bytes(t.value<double>());
}

namespace {

// The header's text after the magic string, the version and the length, checked.
std::string_view header_of(Bytes npy, const std::string& what, std::size_t& header_end) {
    if (npy.size() < sizeof kMagic || std::memcmp(npy.data(), kMagic, sizeof kMagic) != 0)
        throw IoError(what + " is not an .npy array (it does not start with \"\\x93NUMPY\")");
    if (npy.size() < 10) throw IoError(what + " is truncated inside its npy header");
    const unsigned major = npy[6], minor = npy[7];
    std::size_t header_start = 10, header_len = npy[8] | (npy[9] << 8);
    if (major == 2 || major == 3) {  // a 4-byte length
        if (npy.size() < 12) throw IoError(what + " is truncated inside its npy header");
        header_start = 12;
        header_len |= static_cast<std::size_t>(npy[10]) << 16 | static_cast<std::size_t>(npy[11])
                                                                    << 24;
    } else if (major != 1) {
        throw IoError(what + ": npy format version " + std::to_string(major) + "." +
                      std::to_string(minor) + " is not supported (1.0, 2.0 and 3.0 are)");
    }
    if (header_len > npy.size() - header_start)
        throw IoError(what + " is truncated: its npy header says " + std::to_string(header_len) +
                      " bytes, but " + std::to_string(npy.size() - header_start) + " follow");
    header_end = header_start + header_len;
    return {reinterpret_cast<const char*>(npy.data()) + header_start, header_len};
}

// What the header's dictionary says: the dtype, the order and the shape.
struct NpyHeader {
    Descr descr;
    std::string descr_text;
    bool fortran = false;
    Shape shape;
};

NpyHeader parse_header(std::string_view header_text, const std::string& what) {
    HeaderParser parser(header_text, what);
    const auto bad = [&](const std::string& why) {
        return IoError(what + ": bad npy header (" + why +
                       "): " + HeaderParser::quoted(header_text));
    };
    const Literal* descr = nullptr;
    const Literal* fortran = nullptr;
    const Literal* shape_lit = nullptr;
    const auto entries = parser.dict();
    for (const auto& [key, v] : entries) {
        const Literal** slot = key == "descr"           ? &descr
                               : key == "fortran_order" ? &fortran
                               : key == "shape"         ? &shape_lit
                                                        : nullptr;
        if (!slot) throw bad("unknown key '" + key + "'");
        if (*slot) throw bad("key '" + key + "' twice");
        *slot = &v;
    }
    if (!descr || !fortran || !shape_lit)
        throw bad("it needs the keys 'descr', 'fortran_order' and 'shape'");
    if (fortran->kind != Literal::kBool) throw bad("'fortran_order' is not True or False");
    if (shape_lit->kind != Literal::kTuple && shape_lit->kind != Literal::kInt)
        throw bad("'shape' is not a tuple");
    NpyHeader h;
    h.fortran = fortran->boolean;
    if (shape_lit->kind == Literal::kInt) {
        h.shape.push_back(shape_lit->integer);  // "(5)" is 5 to Python, but clear enough
    } else {
        if (shape_lit->items.size() > kMaxRank)
            throw bad("more than " + std::to_string(kMaxRank) + " axes");
        for (const auto& e : shape_lit->items) {
            if (e.kind != Literal::kInt) throw bad("'shape' holds " + std::string(e.text));
            h.shape.push_back(e.integer);
        }
    }
    if (descr->kind != Literal::kString || !parse_descr(descr->str, h.descr))
        throw IoError(what + ": dtype " + std::string(descr->text) +
                      " cannot be loaded (float32, float64, integer and bool arrays can)");
    h.descr_text = descr->str;
    // numel * itemsize must not overflow (a zero extent makes it 0 whatever the others are).
    if (std::find(h.shape.begin(), h.shape.end(), 0) != h.shape.end()) return h;
    std::uint64_t numel = 1;
    for (std::size_t e : h.shape) {
        if (numel > UINT64_MAX / e / h.descr.size)
            throw bad("shape " + shape_repr(h.shape) + " is too large");
        numel *= e;
    }
    return h;
}

// The data after the header must be exactly numel * itemsize bytes.
void check_data_size(const NpyHeader& h, std::size_t found, const std::string& what) {
    std::uint64_t numel = 1;
    for (std::size_t e : h.shape) numel *= e;
    const std::uint64_t expected = numel * h.descr.size;
    const auto says = [&](const char* state) {
        return what + " is " + state + ": shape " + shape_repr(h.shape) + " of '" + h.descr_text +
               "' needs " + std::to_string(expected) + " bytes of data, ";
    };
    if (found < expected) throw IoError(says("truncated") + "found " + std::to_string(found));
    if (found > expected)
        throw IoError(says("corrupt") + "but " + std::to_string(found) + " follow the header");
}

}  // namespace

Tensor npy_decode(Bytes npy, const std::string& what) {
    std::size_t header_end = 0;
    const NpyHeader h = parse_header(header_of(npy, what, header_end), what);
    check_data_size(h, npy.size() - header_end, what);
    const unsigned char* data = npy.data() + header_end;
    if (h.descr.kind == 'f' && h.descr.size == 4)
        return decode<float>(data, h.descr, h.shape, h.fortran);
    return decode<double>(data, h.descr, h.shape, h.fortran);
}

}  // namespace tapegrad::formats::detail

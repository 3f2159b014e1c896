// read_csv_table and read_csv: numeric CSV files with a header row. Every cell is parsed with
// std::from_chars (locale-free, exact round trip); every failure is an IoError
// "FILE:LINE:COLUMN: what" (COLUMN counts bytes from 1), thrown before anything is returned.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "shown_text.hpp"
#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/data/readers.hpp"
#include "whole_file.hpp"

namespace tapegrad::data {

namespace fs = std::filesystem;

namespace {

struct Cell {
    std::string_view text;  // without surrounding spaces and quotes
    std::size_t column;     // 1-based byte column where the cell's text (or quote) starts
    bool quoted;
};

struct Parsed {
    std::vector<std::string> columns;
    std::vector<double> values;  // row-major
    std::size_t rows = 0;
    std::vector<std::size_t> line_of_row;
};

std::string read_text(const fs::path& path, const CsvOptions& options) {
    return read_whole_file(path, options.max_bytes,
                           "raise the limit with CsvOptions::max_bytes (tapegrad train: "
                           "--max-csv-bytes)");
}

class Parser {
  public:
    Parser(const fs::path& path, const CsvOptions& options)
        : path_(path.string()), delim_(options.delimiter), dtype_(options.dtype) {}

    [[noreturn]] void fail(std::size_t line, std::size_t column, const std::string& what) const {
        throw IoError(path_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                      what);
    }

    // Spaces and tabs around a cell are ignored, unless the delimiter is one of them.
    bool blank(char c) const { return (c == ' ' || c == '\t') && c != delim_; }

    bool empty_line(std::string_view line) const {
        for (char c : line)
            if (!(c == ' ' || c == '\t')) return false;
        return true;
    }

    // The cells of one line (without its line end).
    void split(std::string_view line, std::size_t line_no, std::vector<Cell>& cells) const {
        cells.clear();
        std::size_t i = 0;
        while (true) {
            while (i < line.size() && blank(line[i])) ++i;
            Cell cell{{}, i + 1, false};
            if (i < line.size() && line[i] == '"') {
                // A quoted field: "" inside stands for one quote; it may hold the delimiter.
                cell.quoted = true;
                const std::size_t open = i++;
                while (true) {
                    if (i >= line.size())
                        fail(line_no, open + 1, "unterminated quoted field (no closing quote)");
                    if (line[i] == '"') {
                        if (i + 1 < line.size() && line[i + 1] == '"') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    ++i;
                }
                cell.text = trim(line.substr(open + 1, i - open - 1));
                ++i;
                while (i < line.size() && blank(line[i])) ++i;
                if (i < line.size() && line[i] != delim_)
                    fail(line_no, i + 1, "unexpected text after the closing quote of a field");
            } else {
                const std::size_t start = i;
                while (i < line.size() && line[i] != delim_) ++i;
                cell.text = trim(line.substr(start, i - start));
            }
            cells.push_back(cell);
            if (i >= line.size()) break;
            ++i;  // past the delimiter: another cell follows, maybe empty
        }
    }

    std::string_view trim(std::string_view s) const {
        while (!s.empty() && blank(s.front())) s.remove_prefix(1);
        while (!s.empty() && blank(s.back())) s.remove_suffix(1);
        return s;
    }

    double number(const Cell& cell, std::size_t line_no, const std::string& column) const {
        std::string_view t = cell.text;
        if (t.empty())
            fail(line_no, cell.column,
                 "missing value (empty cell) in column " + shown_text(column));
        // from_chars takes no leading '+'; "+1.5" is still a number in any CSV writer's eyes.
        std::string_view digits = t;
        if (digits.size() > 1 && digits[0] == '+' && digits[1] != '-' && digits[1] != '+')
            digits.remove_prefix(1);
        double v = 0.0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        // Out of range only when the whole cell is a number ("1e999"), not "1e999x".
        const bool whole = end == digits.data() + digits.size();
        if (!whole || (ec != std::errc() && ec != std::errc::result_out_of_range))
            fail(line_no, cell.column,
                 "not a number: " + shown_text(t) + " in column " + shown_text(column));
        if (ec == std::errc::result_out_of_range)
            fail(line_no, cell.column,
                 "number out of range: " + shown_text(t) + " in column " + shown_text(column));
        // Cast to float32 it would be an infinity, which training reports as nan far away.
        if (dtype_ == f32 && std::isfinite(v) && std::isinf(static_cast<float>(v)))
            fail(line_no, cell.column,
                 shown_text(t) + " does not fit in float32 (max 3.4e38) in column " +
                     shown_text(column));
        return v;
    }

    Parsed parse(const std::string& text, const std::string* required) {
        Parsed out;
        std::string_view all(text);
        if (all.starts_with("\xEF\xBB\xBF")) all.remove_prefix(3);  // a UTF-8 byte order mark
        std::vector<Cell> cells;
        std::size_t pos = 0, line_no = 0;
        bool have_header = false;
        while (pos < all.size()) {
            std::size_t end = all.find('\n', pos);
            if (end == std::string_view::npos) end = all.size();
            std::string_view line = all.substr(pos, end - pos);
            pos = end + 1;
            ++line_no;
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (empty_line(line)) continue;
            split(line, line_no, cells);
            if (!have_header) {
                have_header = true;
                for (const Cell& c : cells) out.columns.push_back(unquote(c));
                if (required) check_required(*required, out.columns, line_no);
                continue;
            }
            const std::size_t n = out.columns.size();
            if (cells.size() != n) {
                const std::size_t col = cells.size() < n ? line.size() + 1 : cells[n].column;
                fail(line_no, col,
                     "expected " + std::to_string(n) + " cells (one per header column) but found " +
                         std::to_string(cells.size()));
            }
            for (std::size_t j = 0; j < n; ++j)
                out.values.push_back(number(cells[j], line_no, out.columns[j]));
            out.line_of_row.push_back(line_no);
            ++out.rows;
        }
        if (!have_header) throw IoError(path_ + ": empty file: no header row, no data");
        return out;
    }

  private:
    static std::string unquote(const Cell& c) {
        if (!c.quoted) return std::string(c.text);
        std::string s;
        for (std::size_t i = 0; i < c.text.size(); ++i) {
            s += c.text[i];
            if (c.text[i] == '"') ++i;  // "" stands for one quote
        }
        return s;
    }

    void check_required(const std::string& name, const std::vector<std::string>& columns,
                        std::size_t line_no) const {
        for (const auto& c : columns)
            if (c == name) return;
        constexpr std::size_t kListed = 30;  // a header of thousands of columns stays readable
        std::string list;
        for (std::size_t j = 0; j < columns.size() && j < kListed; ++j)
            list += (j ? ", " : "") + shown_text(columns[j]);
        if (columns.size() > kListed)
            list += " and " + std::to_string(columns.size() - kListed) + " more";
        throw IoError(path_ + ":" + std::to_string(line_no) + ": no column named " +
                      shown_text(name) + " in the header; the columns are " + list);
    }

    std::string path_;
    char delim_;
    Dtype dtype_;
};

void check_delimiter(const fs::path& path, char d) {
    if (d == '"' || d == '\n' || d == '\r')
        throw ValueError("read_csv: " + path.string() +
                         ": a quote or a line end cannot be the delimiter");
}

Tensor to_tensor(std::vector<double>&& v, const Shape& shape, Dtype dtype) {
    if (dtype == f64) {
        auto a = xt::xarray<double>::from_shape(shape);
        std::copy(v.begin(), v.end(), a.begin());
        return Tensor(std::move(a));
    }
    auto a = xt::xarray<float>::from_shape(shape);
    std::transform(v.begin(), v.end(), a.begin(), [](double d) { return static_cast<float>(d); });
    return Tensor(std::move(a));
}

Parsed parse_file(const fs::path& path, const CsvOptions& options, const std::string* required) {
    check_delimiter(path, options.delimiter);
    Parser parser(path, options);
    return parser.parse(read_text(path, options), required);
}

// read_csv's work: the table parsed, the target's column taken out of it.
CsvDataset split_target(const fs::path& path, const std::string& target,
                        const CsvOptions& options) {
    Parsed p = parse_file(path, options, &target);
    const std::size_t c = p.columns.size();
    std::size_t t = 0;
    while (p.columns[t] != target) ++t;  // present: parse checked the header

    std::vector<double> xs, ys;
    xs.reserve(p.rows * (c - 1));
    ys.reserve(p.rows);
    for (std::size_t i = 0; i < p.rows; ++i)
        for (std::size_t j = 0; j < c; ++j) (j == t ? ys : xs).push_back(p.values[i * c + j]);

    CsvDataset out;
    out.data.x = to_tensor(std::move(xs), {p.rows, c - 1}, options.dtype);
    out.data.y = to_tensor(std::move(ys), {p.rows}, options.dtype);
    out.target_name = target;
    for (std::size_t j = 0; j < c; ++j)
        if (j != t) out.feature_names.push_back(p.columns[j]);
    out.path = path;
    out.line_of_row = std::move(p.line_of_row);
    return out;
}

// A read that runs out of memory is an IoError naming the file, as any other failure, not a
// std::bad_alloc that leaves the user to guess.
template <class F>
auto named_out_of_memory(const fs::path& path, F&& read) {
    try {
        return read();
    } catch (const std::bad_alloc&) {
        std::error_code ec;
        const auto size = fs::file_size(path, ec);
        throw IoError(path.string() + ": out of memory while reading it" +
                      (ec ? std::string() : " (" + std::to_string(size) + " bytes)") +
                      ": its values do not fit in the memory this process may use");
    }
}

}  // namespace

CsvTable read_csv_table(const fs::path& path, const CsvOptions& options) {
    return named_out_of_memory(path, [&] {
        Parsed p = parse_file(path, options, nullptr);
        const Shape shape{p.rows, p.columns.size()};
        return CsvTable{std::move(p.columns), to_tensor(std::move(p.values), shape, options.dtype),
                        std::move(p.line_of_row)};
    });
}

CsvDataset read_csv(const fs::path& path, const std::string& target, const CsvOptions& options) {
    return named_out_of_memory(path, [&] { return split_target(path, target, options); });
}

}  // namespace tapegrad::data

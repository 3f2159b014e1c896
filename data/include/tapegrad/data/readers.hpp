#pragma once
// Reading data sets from files. Every failure is an IoError naming the file and, for text,
// the line, column and offending text; nothing half-loaded is ever returned.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tapegrad/autodiff/dtype.hpp"
#include "tapegrad/data/dataset.hpp"

namespace tapegrad::data {

struct CsvOptions {
    char delimiter = ',';
    Dtype dtype = f32;
    // The most bytes a file may have (default 2 GiB): a larger file, or a pipe that gives more,
    // is an IoError saying the size and the limit, rather than a read that fills the memory.
    std::uint64_t max_bytes = std::uint64_t{2} << 30;
};

// A numeric CSV file with a header row: every column read, in order. Accepted: spaces or tabs
// around cells, double-quoted cells ("" for a quote inside), numbers as std::from_chars reads
// them plus a leading '+' (so "nan" and "inf" too), LF or CRLF line ends, a last line without
// one, blank lines anywhere (skipped), a UTF-8 byte order mark. IoError "FILE:LINE:COLUMN: ..."
// (COLUMN counts bytes from 1) for an empty cell, a cell that is not a number (quoted in the
// message), a number beyond the range of the dtype (float32: 3.4e38), a row with more or fewer
// cells than the header (both counts given), an unterminated quote. Cells and column names
// are quoted in messages with at most 40 characters (then "…" and the cell's byte count) and
// control bytes or bytes that are not UTF-8 escaped as \xNN. IoError "FILE: ..." for a missing,
// unreadable or empty file, a device (/dev/zero never ends), a file or pipe longer than
// options.max_bytes, a read that ends before the file does or runs out of memory: the whole
// file or an error, never a part. A header without rows gives values [0, columns]. ValueError
// for a quote or line end as delimiter.
struct CsvTable {
    std::vector<std::string> columns;
    Tensor values;                         // [rows, columns]
    std::vector<std::size_t> line_of_row;  // the file line (from 1) each row was read from
};
CsvTable read_csv_table(const std::filesystem::path& path, const CsvOptions& options = {});

// Features and target of a CSV file: x [rows, columns - 1] from every other column, y [rows]
// from the column named target (IoError listing the columns when there is none).
struct CsvDataset {
    Dataset data;
    std::vector<std::string> feature_names;
    std::string target_name;
    std::filesystem::path path;            // the file, for messages about its rows
    std::vector<std::size_t> line_of_row;  // the file line (from 1) each row was read from
};
CsvDataset read_csv(const std::filesystem::path& path, const std::string& target,
                    const CsvOptions& options = {});

// ValueError "FILE:LINE: column \"NAME\" holds nan ..." for the first nan or infinity of d (the
// file's "nan" and "inf" cells), rows in file order, a row's features before its target; the
// message counts them all. Training on such a value makes the loss nan many steps later, where
// the row has been shuffled and scaled: this names it where the user can fix it.
void require_finite(const CsvDataset& d);

// The IDX format of MNIST and Fashion-MNIST, gzip-compressed (by its magic bytes 1f 8b) or
// not; values as they are stored (pixels 0-255), shape from the file ([N, 28, 28] for images).
// Header: 00 00, a type byte (0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float,
// 0x0E double), the number of dimensions, then each extent as a big-endian uint32; the data
// must be exactly as long as the header says. IoError naming the file for a bad magic number,
// a truncated header or data, trailing bytes (expected and found byte counts), or bad gzip.
Tensor read_idx(const std::filesystem::path& path, Dtype dtype = f32);

// Fashion-MNIST from a directory (default: Debian's dataset-fashion-mnist): x [N, 784] float32
// scaled to [0, 1] (pixel / 255), y [N] class indices 0-9; N is 60000 for train, 10000 for
// test. Reads train-images-idx3-ubyte and train-labels-idx1-ubyte (t10k-* for test), each
// plain or with .gz appended (Debian ships .gz). IoError saying which package to install when
// the files are missing, and naming the file when images and labels do not fit together.
Dataset load_fashion_mnist(bool train,
                           const std::filesystem::path& dir = "/usr/share/datasets/fashion-mnist");

}  // namespace tapegrad::data

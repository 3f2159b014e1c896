#pragma once
// Reading data sets from files. Every failure is an IoError naming the file and, for text,
// the line, column and offending text; nothing half-loaded is ever returned.
#include <filesystem>
#include <string>
#include <vector>

#include "tapegrad/autodiff/dtype.hpp"
#include "tapegrad/data/dataset.hpp"

namespace tapegrad::data {

struct CsvOptions {
    char delimiter = ',';
    Dtype dtype = f32;
};

// A numeric CSV file with a header row: every column read, in order. Accepted: spaces or tabs
// around cells, double-quoted cells ("" for a quote inside), numbers as std::from_chars reads
// them plus a leading '+' (so "nan" and "inf" too), LF or CRLF line ends, a last line without
// one, blank lines anywhere (skipped), a UTF-8 byte order mark. IoError "FILE:LINE:COLUMN: ..."
// (COLUMN counts bytes from 1) for an empty cell, a cell that is not a number (quoted in the
// message), a row with more or fewer cells than the header (both counts given), an
// unterminated quote; IoError "FILE: ..." for a missing, unreadable or empty file. A header
// without rows gives values [0, columns]. ValueError for a quote or line end as delimiter.
struct CsvTable {
    std::vector<std::string> columns;
    Tensor values;  // [rows, columns]
};
CsvTable read_csv_table(const std::filesystem::path& path, const CsvOptions& options = {});

// Features and target of a CSV file: x [rows, columns - 1] from every other column, y [rows]
// from the column named target (IoError listing the columns when there is none).
struct CsvDataset {
    Dataset data;
    std::vector<std::string> feature_names;
    std::string target_name;
};
CsvDataset read_csv(const std::filesystem::path& path, const std::string& target,
                    const CsvOptions& options = {});

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

#pragma once
// The entry functions of the fuzz targets: each hands the bytes to a reader of tapegrad's
// public API as the contents of one file. Bad input must end in a tapegrad::Error (caught
// here) and leave what the caller held unchanged; anything else (another exception, a crash,
// a sanitizer report, a changed model) is a finding. The libFuzzer targets (fuzz_*.cpp) and
// the corpus replay test (fuzz_replay.cpp, in every build) call the same functions.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace tapegrad::fuzz {

using Input = std::span<const std::uint8_t>;

// read_csv_table (float64) and read_csv with the first column as target (float32).
void csv(Input data);
// read_idx in float32 and float64 (gzip or plain).
void idx(Input data);
// load_npz, then nn::load into a small MLP (whose weights must not change on an error).
// Like checkpoint, it loads the file as given and again with the CRC-32 of every stored entry
// recomputed, so that mutated contents reach the parsers behind the CRC check.
void npz(Input data);
// load_checkpoint and load_training_checkpoint (with and without a StepLR) into an MLP and
// Adam, whose state must not change on an error.
void checkpoint(Input data);

// Runs the entry function of a target ("csv", "idx", "npz", "checkpoint") on one input;
// std::invalid_argument for an unknown target.
void run(const std::string& target, Input data);

// Writes the seed corpus of every target (valid files made by the library, a few broken ones)
// under dir/<target>/.
void write_seeds(const std::filesystem::path& dir);

}  // namespace tapegrad::fuzz

#pragma once
// A data file read whole into memory, or an IoError: never a part of it.
#include <cstdint>
#include <filesystem>
#include <string>

namespace tapegrad::data {

// Every byte of the file at path. IoError "PATH: ..." for a directory or a device (/dev/zero
// never ends, a terminal waits), a file that cannot be opened or read, a file larger than
// max_bytes or a pipe that gives more (sizes and limit given, then `raise_with`: how to raise
// the limit), a read that ends before the file's size or runs out of memory.
std::string read_whole_file(const std::filesystem::path& path, std::uint64_t max_bytes,
                            const std::string& raise_with);

}  // namespace tapegrad::data

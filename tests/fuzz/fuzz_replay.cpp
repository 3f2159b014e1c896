// Replays every file of the fuzz corpora (corpus/<target>/*) through the fuzz targets' entry
// functions in an ordinary build, so that every input found so far, crashes included, is
// checked in every CI run:   fuzz_replay CORPUS_DIR
// With --write-seeds DIR it writes the seed files that the library makes (fuzz_entry.cpp).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "fuzz_entry.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "--write-seeds") {
        tapegrad::fuzz::write_seeds(argv[2]);
        return 0;
    }
    if (argc != 2) {
        std::fprintf(stderr, "usage: fuzz_replay CORPUS_DIR | --write-seeds DIR\n");
        return 2;
    }
    std::size_t passed = 0, failed = 0;
    for (const char* target : {"csv", "idx", "npz", "checkpoint"}) {
        const fs::path dir = fs::path(argv[1]) / target;
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(dir))
            if (e.is_regular_file()) files.push_back(e.path());
        std::sort(files.begin(), files.end());
        if (files.empty()) {
            std::fprintf(stderr, "%s: no corpus files\n", dir.c_str());
            ++failed;
        }
        for (const auto& f : files) {
            std::ifstream in(f, std::ios::binary);
            const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
            try {
                tapegrad::fuzz::run(target, bytes);
                ++passed;
            } catch (const std::exception& e) {  // tapegrad::Error is caught inside
                std::fprintf(stderr, "%s: %s\n", f.c_str(), e.what());
                ++failed;
            }
        }
    }
    std::printf("%zu passed, %zu failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

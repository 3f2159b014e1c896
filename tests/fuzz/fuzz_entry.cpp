#include "fuzz_entry.hpp"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "tapegrad/autodiff/autodiff.hpp"
#include "tapegrad/data/data.hpp"
#include "tapegrad/formats/npz.hpp"
#include "tapegrad/nn/nn.hpp"
#include "tapegrad/optim/optim.hpp"

namespace tapegrad::fuzz {

namespace fs = std::filesystem;

namespace {

// One scratch file per process (libFuzzer's -jobs run several), in memory when /dev/shm is
// there: the readers take paths, and a file write costs microseconds.
const fs::path& scratch() {
    static const fs::path path = [] {
        const fs::path dir =
            fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
        return dir / ("tapegrad-fuzz-" + std::to_string(::getpid()));
    }();
    return path;
}

void write_file(const fs::path& path, Input data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
    if (!out) throw std::runtime_error("fuzz: cannot write " + path.string());
}

// A finding that is not a crash by itself: print it and abort, so libFuzzer keeps the input.
[[noreturn]] void finding(const std::string& what) {
    std::fprintf(stderr, "fuzz finding: %s\n", what.c_str());
    std::abort();
}

nn::Sequential small_mlp() {
    return nn::Sequential(nn::Linear(3, 4, {.seed = 1}), nn::Tanh(), nn::Linear(4, 2, {.seed = 2}));
}

// Bit-for-bit equality of two state dicts (same names, dtypes, shapes, values).
bool same(const StateDict& a, const StateDict& b) {
    if (a.size() != b.size()) return false;
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
        if (ia->first != ib->first || ia->second.dtype() != ib->second.dtype() ||
            ia->second.shape() != ib->second.shape())
            return false;
        const bool equal = ia->second.dtype() == f32
                               ? ia->second.value<float>() == ib->second.value<float>()
                               : ia->second.value<double>() == ib->second.value<double>();
        if (!equal) {
            // NaN != NaN: compare the bytes instead.
            const auto bytes = ia->second.numel() * (ia->second.dtype() == f32 ? 4 : 8);
            const void* pa = ia->second.dtype() == f32
                                 ? static_cast<const void*>(ia->second.value<float>().data())
                                 : static_cast<const void*>(ia->second.value<double>().data());
            const void* pb = ib->second.dtype() == f32
                                 ? static_cast<const void*>(ib->second.value<float>().data())
                                 : static_cast<const void*>(ib->second.value<double>().data());
            if (std::memcmp(pa, pb, bytes) != 0) return false;
        }
    }
    return true;
}

// An optimizer with state (moments, step counts) so that a partial load would show.
void one_step(nn::Module& model, optim::Optimizer& opt) {
    Tape tape;
    const Tensor loss = sum(model(ones({2, 3})));
    opt.zero_grad();
    tape.backward(loss);
    opt.step();
}

std::uint32_t get(const std::vector<std::uint8_t>& b, std::size_t at, int bytes) {
    std::uint32_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | b[at + static_cast<std::size_t>(i)];
    return v;
}

void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = (v >> (8 * i)) & 0xFF;
}

// The archive with the CRC-32 of every stored entry recomputed (central directory and local
// header), so that mutated contents get past the CRC check to the npy parser and the state
// checks behind it. Anything it does not recognise is left as it is.
std::vector<std::uint8_t> with_fixed_crcs(Input data) {
    std::vector<std::uint8_t> b(data.begin(), data.end());
    if (b.size() < 22) return b;
    std::size_t end = b.size() - 22;  // the end-of-central-directory record, from the back
    while (get(b, end, 4) != 0x06054b50) {
        if (end == 0 || b.size() - end > 22 + 65535) return b;
        --end;
    }
    std::size_t at = get(b, end + 16, 4);
    const std::size_t count = get(b, end + 10, 2);
    for (std::size_t e = 0; e < count; ++e) {
        if (at + 46 > b.size() || get(b, at, 4) != 0x02014b50) return b;
        const std::size_t csize = get(b, at + 20, 4), local = get(b, at + 42, 4);
        const std::size_t next =
            at + 46 + get(b, at + 28, 2) + get(b, at + 30, 2) + get(b, at + 32, 2);
        if (get(b, at + 10, 2) == 0 && local + 30 <= b.size() && get(b, local, 4) == 0x04034b50) {
            const std::size_t start = local + 30 + get(b, local + 26, 2) + get(b, local + 28, 2);
            if (start <= b.size() && csize <= b.size() - start) {
                const auto crc = static_cast<std::uint32_t>(
                    crc32(0, b.data() + start, static_cast<uInt>(csize)));
                put32(b, at + 16, crc);
                put32(b, local + 14, crc);
            }
        }
        at = next;
    }
    return b;
}

// The file as given, then with its CRCs fixed when that changes it.
template <class F>
void raw_and_fixed(Input data, F&& load) {
    write_file(scratch(), data);
    load();
    const auto fixed = with_fixed_crcs(data);
    if (fixed.size() == data.size() && std::equal(fixed.begin(), fixed.end(), data.begin())) return;
    write_file(scratch(), fixed);
    load();
}

}  // namespace

void csv(Input data) {
    write_file(scratch(), data);
    try {
        const auto table = data::read_csv_table(scratch(), {.dtype = f64});
        if (table.values.dim() != 2 || table.values.shape()[1] != table.columns.size())
            finding("read_csv_table: values do not have one column per header name");
        if (!table.columns.empty()) {
            const auto ds = data::read_csv(scratch(), table.columns.front());
            if (ds.data.x.shape()[0] != table.values.shape()[0])
                finding("read_csv: rows differ from read_csv_table's");
        }
    } catch (const Error&) {
    }
}

void idx(Input data) {
    write_file(scratch(), data);
    try {
        const Tensor a = data::read_idx(scratch(), f32);
        const Tensor b = data::read_idx(scratch(), f64);
        if (a.shape() != b.shape()) finding("read_idx: float32 and float64 shapes differ");
    } catch (const Error&) {
    }
}

void npz(Input data) {
    raw_and_fixed(data, [] {
        try {
            const StateDict loaded = formats::load_npz(scratch());
            for (const auto& [name, t] : loaded)
                if (!t.defined()) finding("load_npz: undefined tensor '" + name + "'");
        } catch (const Error&) {
        }
        auto model = small_mlp();
        const StateDict before = model.state_dict();
        try {
            nn::load(model, scratch());
        } catch (const Error&) {
            if (!same(before, model.state_dict())) finding("nn::load changed the model and threw");
        }
    });
}

void checkpoint(Input data) {
    raw_and_fixed(data, [] {
        auto model = small_mlp();
        optim::Adam opt(model.parameters(), {.lr = 0.01});
        one_step(model, opt);
        optim::StepLR sched(opt, {.step_size = 2, .gamma = 0.5});
        const StateDict model_before = model.state_dict(), opt_before = opt.state_dict();
        auto unchanged = [&](const char* who) {
            if (!same(model_before, model.state_dict()) || !same(opt_before, opt.state_dict()))
                finding(std::string(who) + " changed the model or the optimizer and threw");
        };
        try {
            optim::load_checkpoint(scratch(), model, opt);
            return;
        } catch (const Error&) {
            unchanged("load_checkpoint");
        }
        try {
            optim::load_training_checkpoint(scratch(), model, opt);
            return;
        } catch (const Error&) {
            unchanged("load_training_checkpoint");
        }
        const StateDict sched_before = sched.state_dict();
        try {
            optim::load_training_checkpoint(scratch(), model, opt, &sched);
        } catch (const Error&) {
            unchanged("load_training_checkpoint with a scheduler");
            if (!same(sched_before, sched.state_dict()))
                finding("load_training_checkpoint changed the scheduler and threw");
        }
    });
}

void run(const std::string& target, Input data) {
    if (target == "csv") return csv(data);
    if (target == "idx") return idx(data);
    if (target == "npz") return npz(data);
    if (target == "checkpoint") return checkpoint(data);
    throw std::invalid_argument("fuzz: unknown target '" + target + "'");
}

void write_seeds(const fs::path& dir) {
    auto text = [&](const std::string& target, const std::string& name, const std::string& s) {
        fs::create_directories(dir / target);
        std::ofstream(dir / target / name, std::ios::binary) << s;
    };
    text("csv", "seed-basic.csv", "a,b,target\n1,2,0\n3.5,-4e2,1\n");
    text("csv", "seed-quotes.csv", "\xEF\xBB\xBF\"x\", y ,t\r\n\"1\",+2,nan\r\n\r\n4,\"5\",inf");
    text("csv", "seed-header-only.csv", "a,b\n");
    text("csv", "seed-ragged.csv", "a,b\n1,2\n3\n");

    auto idx_file = [&](const std::string& name, unsigned char type,
                        std::vector<std::uint32_t> dims, std::size_t elem) {
        std::string s{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
        std::size_t n = 1;
        for (auto d : dims) {
            for (int k = 3; k >= 0; --k) s += static_cast<char>((d >> (8 * k)) & 0xFF);
            n *= d;
        }
        for (std::size_t i = 0; i < n * elem; ++i) s += static_cast<char>(i * 37 + 1);
        text("idx", name, s);
    };
    idx_file("seed-ubyte-2x3.idx", 0x08, {2, 3}, 1);
    idx_file("seed-short-2.idx", 0x0B, {2}, 2);
    idx_file("seed-float-2x1x2.idx", 0x0D, {2, 1, 2}, 4);
    idx_file("seed-double-1.idx", 0x0E, {1}, 8);

    fs::create_directories(dir / "npz");
    auto model = small_mlp();
    nn::save(model, dir / "npz" / "seed-mlp.npz");
    formats::save_npz(dir / "npz" / "seed-mixed.npz",
                      {{"s", scalar(2.5, f64)}, {"v", tensor({1.0, 2.0, 3.0}, f32)}});

    fs::create_directories(dir / "checkpoint");
    optim::Adam opt(model.parameters(), {.lr = 0.01});
    one_step(model, opt);
    optim::save_checkpoint(dir / "checkpoint" / "seed-adam.npz", model, opt);
    optim::StepLR sched(opt, {.step_size = 2, .gamma = 0.5});
    sched.step();
    optim::save_training_checkpoint(dir / "checkpoint" / "seed-training.npz", model, opt, &sched,
                                    nullptr, {.epoch = 3, .loader_epoch = 3, .global_step = 12});
}

}  // namespace tapegrad::fuzz

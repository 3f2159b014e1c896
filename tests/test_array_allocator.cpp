// tapegrad's array allocator (xtensor's default through config.hpp): 64-byte alignment at
// every size, every byte asked for usable, blocks reused, and arrays made on one thread and
// freed on another (the per-thread caches hand blocks across; under ASan and TSan the caches
// are off, so these tests then check the plain path).
#include <malloc.h>

#include <cstdint>
#include <cstdlib>
#include <thread>
#include <vector>

#include "check.hpp"

namespace {

bool aligned64(const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) % 64 == 0;
}

// Every size class edge: the small steps, the doublings, the largest cached, the huge path.
const std::vector<std::size_t> kSizes = {0,
                                         1,
                                         63,
                                         64,
                                         65,
                                         4095,
                                         4096,
                                         4097,
                                         5120,
                                         5121,
                                         65536,
                                         1 << 20,
                                         (1 << 20) + 1,
                                         (4 << 20) - 1,
                                         4 << 20,
                                         (5 << 20) + 3};

// Fills all n bytes of a block and reads them back.
bool usable(unsigned char* p, std::size_t n, unsigned char seed) {
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(seed + i);
    for (std::size_t i = 0; i < n; ++i)
        if (p[i] != static_cast<unsigned char>(seed + i)) return false;
    return true;
}

}  // namespace

TEST_CASE("ArrayAllocator gives 64-byte aligned blocks whose every byte is usable") {
    tg::ArrayAllocator<unsigned char> alloc;
    for (const std::size_t n : kSizes) {
        unsigned char* p = alloc.allocate(n);
        INFO("bytes " << n);
        CHECK(aligned64(p));
        CHECK(usable(p, n, static_cast<unsigned char>(n)));
        alloc.deallocate(p, n);
    }
}

TEST_CASE("ArrayAllocator refuses a count whose bytes overflow") {
    tg::ArrayAllocator<double> alloc;
    CHECK_THROWS_AS(alloc.allocate(static_cast<std::size_t>(-1) / 4), std::bad_array_new_length);
}

TEST_CASE("xtensor's arrays use ArrayAllocator, aligned, float and double") {
    STATIC_REQUIRE(std::is_same_v<xt::xarray<float>::allocator_type, tg::ArrayAllocator<float>>);
    for (const std::size_t n : {1ul, 3ul, 1000ul, 300000ul, 2000000ul}) {
        xt::xarray<float> a = xt::ones<float>({n});
        xt::xarray<double> b = xt::ones<double>({n});
        CHECK(aligned64(a.data()));
        CHECK(aligned64(b.data()));
        CHECK(xt::sum(a)() == static_cast<float>(n));
        CHECK(xt::sum(b)() == static_cast<double>(n));
    }
}

TEST_CASE("blocks freed on another thread are reused there, none overlapping another") {
    constexpr int kRounds = 200;
    for (int round = 0; round < kRounds; ++round) {
        // Made here in every size, freed on a worker, which then makes arrays of the same sizes
        // (taking the freed blocks from its cache), fills all of them with patterns of their
        // own and only then reads them back: a block smaller than asked, or handed out twice,
        // would show as another array's bytes.
        std::vector<xt::xarray<std::uint8_t>> made;
        for (const std::size_t n : kSizes)
            made.push_back(xt::xarray<std::uint8_t>::from_shape({n}));
        bool ok = true;
        std::thread worker([&] {
            made.clear();
            std::vector<xt::xarray<std::uint8_t>> again;
            for (const std::size_t n : kSizes)
                again.push_back(xt::xarray<std::uint8_t>::from_shape({n}));
            for (std::size_t k = 0; k < again.size(); ++k) {
                auto& a = again[k];
                for (std::size_t i = 0; i < a.size(); ++i)
                    a.data()[i] = static_cast<std::uint8_t>(k * 31 + i + round);
            }
            for (std::size_t k = 0; k < again.size(); ++k) {
                const auto& a = again[k];
                ok = ok && aligned64(a.data());
                for (std::size_t i = 0; i < a.size(); ++i)
                    ok = ok && a.data()[i] == static_cast<std::uint8_t>(k * 31 + i + round);
            }
        });
        worker.join();
        REQUIRE(ok);
    }
}

TEST_CASE("arrays from 4 MiB start on a 2 MiB boundary, and freed ones serve the next") {
    // On 2 MiB boundaries the kernel can back them with huge pages (bench/RESULTS.md).
    tg::ArrayAllocator<unsigned char> alloc;
    constexpr std::size_t n = 8 << 20;
    unsigned char* a = alloc.allocate(n);
    CHECK(reinterpret_cast<std::uintptr_t>(a) % (2 << 20) == 0);
    CHECK(usable(a, n, 7));
    alloc.deallocate(a, n);
    // Full-batch steps on 1M rows: every step's forward and backward make arrays of 4 MiB and
    // more, and small ones meanwhile. Once the first steps have run, the large arrays' memory
    // must be whole again after each step and serve the next one's, rather than new pages from
    // the kernel (each new huge page is zeroed, 2 MiB at a time): the heap stops growing.
    const tg::Tensor x = tg::ones({1 << 20, 4}, tg::f32), y = tg::zeros({1 << 20, 1}, tg::f32);
    const tg::Tensor w = tg::full({4, 1}, 0.5, tg::f32).requires_grad_();
    auto step = [&] {
        tg::Tape tape;
        tape.backward(tg::mean(tg::square(tg::matmul(x, w) - y)));
    };
    for (int i = 0; i < 3; ++i) step();
    const std::size_t heap = mallinfo2().arena;  // bytes of the heap glibc holds
    for (int i = 0; i < 5; ++i) step();
    // (Under a sanitizer its own allocator serves every array and glibc's heap stays as it
    // was: the check then holds whatever the array allocator does.)
    CHECK(mallinfo2().arena == heap);
    // 2 · mean(x·w - y) · x = 4 per weight and step, accumulated over the 8 steps.
    const xt::xarray<double> g = w.grad().to_array<double>();
    CHECK(std::vector<double>(g.begin(), g.end()) == std::vector<double>(4, 32.0));
}

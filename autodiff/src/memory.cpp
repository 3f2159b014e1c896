// Memory policy. Two costs dominate small ops and large ones alike: heap calls per op, and
// page faults when glibc hands large freed blocks back to the kernel and the next step
// takes them again (on this VM a fault costs a VM exit: a 1024x1024 matmul step ran at half
// speed). So tensor records and small arrays come from per-thread free lists, and glibc keeps
// freed memory.
#include <malloc.h>
#include <sanitizer/asan_interface.h>  // its macros do nothing without ASan
#include <sys/mman.h>

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "tapegrad/autodiff/array_allocator.hpp"

#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad::detail {

namespace {

// Fixed-size blocks for one type, per thread. A block freed on another thread joins that
// thread's list; every block is plain operator-new memory, so that is safe.
template <std::size_t Size>
struct FreeList {
    std::vector<void*> blocks;
    ~FreeList() {
        for (void* p : blocks) ::operator delete(p);
    }
};

template <std::size_t Size>
FreeList<Size>& free_list() {
    thread_local FreeList<Size> list;
    return list;
}

constexpr std::size_t kMaxCached = 1 << 16;  // blocks kept per thread and size

template <class T>
struct PoolAllocator {
    using value_type = T;
    PoolAllocator() = default;
    template <class U>
    PoolAllocator(const PoolAllocator<U>&) {}
    T* allocate(std::size_t n) {
        if (n == 1) {
            auto& l = free_list<sizeof(T)>().blocks;
            if (!l.empty()) {
                void* p = l.back();
                l.pop_back();
                return static_cast<T*>(p);
            }
        }
        return static_cast<T*>(::operator new(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) {
        if (n == 1) {
            auto& l = free_list<sizeof(T)>().blocks;
            if (l.size() < kMaxCached) {
                l.push_back(p);
                return;
            }
        }
        ::operator delete(p);
    }
    template <class U>
    bool operator==(const PoolAllocator<U>&) const {
        return true;
    }
};

// ---- arrays: 64-byte aligned; blocks up to 1 MiB cached per thread in size classes: 64-byte
// steps up to 4 KiB, then four classes per doubling (a block is at most 25% larger than asked).
constexpr std::align_val_t kArrayAlignment{64};
constexpr std::size_t kSmallStep = 64;
constexpr std::size_t kSmallClasses = 64;  // 64 B .. 4 KiB
constexpr int kFirstDoubling = 12;         // 4 KiB
constexpr int kDoublings = 8;              // .. 1 MiB
constexpr std::size_t kClasses = kSmallClasses + 4 * kDoublings;
constexpr std::size_t kLargestCached = std::size_t{1} << (kFirstDoubling + kDoublings);
constexpr std::size_t kCacheLimitBytes = 32u << 20;  // per thread

// Arrays from 4 MiB up are placed on 2 MiB boundaries and offered to the kernel for huge
// pages (transparent huge pages are often "madvise" only, as here): a shuffled gather of rows
// from a large data set then misses the TLB far less (logreg's 160 MB array: bench/RESULTS.md).
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kHugeFrom = std::size_t{4} << 20;

#if defined(__SANITIZE_THREAD__)
#define TAPEGRAD_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TAPEGRAD_TSAN 1
#endif
#endif

#ifdef TAPEGRAD_TSAN
constexpr bool kCacheArrays = false;  // TSan's tests are about tapes; its allocator sees all
#else
constexpr bool kCacheArrays = true;
#endif

// Under ASan the cache stays on, and what no array may touch is poisoned: a cached block whole,
// and the tail of a block beyond the bytes asked for. ASan then reports a use after free or an
// overflow in our blocks as it does in its own, and the ASan tests run the allocator we ship.
void poison(void* p, std::size_t n) {
    ASAN_POISON_MEMORY_REGION(p, n);
}
void unpoison(void* p, std::size_t n) {
    ASAN_UNPOISON_MEMORY_REGION(p, n);
}

// The size class of a block of `bytes`, or kClasses when such a block is never cached. A block
// of a class is always allocated at the class's size, even while this thread has no cache
// (it is exiting), because the block may be freed on another thread and reused from there.
std::size_t size_class(std::size_t bytes) {
    if (!kCacheArrays || bytes > kLargestCached) return kClasses;
    if (bytes <= kSmallClasses * kSmallStep) return bytes == 0 ? 0 : (bytes - 1) / kSmallStep;
    const int e = std::bit_width(bytes - 1) - 1;         // 2^e < bytes <= 2^(e+1)
    const std::size_t quarter = (bytes - 1) >> (e - 2);  // 4..7
    return kSmallClasses + 4 * static_cast<std::size_t>(e - kFirstDoubling) + (quarter - 4);
}

// The bytes of a block of class k: the largest size that falls in it.
std::size_t class_bytes(std::size_t k) {
    if (k < kSmallClasses) return (k + 1) * kSmallStep;
    const std::size_t d = (k - kSmallClasses) / 4, q = (k - kSmallClasses) % 4;
    return (q + 5) << (kFirstDoubling + d - 2);
}

// Set once this thread's cache is destroyed: arrays freed later (in other thread-local or
// static destructors) go straight back to the heap.
constinit thread_local bool array_cache_gone = false;

struct ArrayCache {
    std::vector<void*> lists[kClasses];
    std::size_t bytes = 0;
    ~ArrayCache() {
        array_cache_gone = true;
        for (std::size_t k = 0; k < kClasses; ++k) {
            for (void* p : lists[k]) {
                unpoison(p, class_bytes(k));
                ::operator delete(p, kArrayAlignment);
            }
        }
    }
};

ArrayCache& array_cache() {
    thread_local ArrayCache cache;
    return cache;
}

bool tune_malloc() {
    // TAPEGRAD_RETURN_MEMORY=1 keeps glibc's defaults (memory goes back to the system sooner;
    // the array cache still keeps up to 32 MiB a thread).
    const char* env = std::getenv("TAPEGRAD_RETURN_MEMORY");
    if (env && std::strcmp(env, "1") == 0) return false;
    // Blocks up to 32 MiB (glibc's maximum) come from the heap, and the heap is trimmed only
    // when 1 GiB lies free at its top: a training step reuses the previous step's memory.
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
    return true;
}

// A plain block with room to slide to a 2 MiB boundary, the block's own address kept just
// below the aligned one. Not glibc's memalign: it returns the block's unaligned head and tail to
// the heap, where small arrays take them, so a freed 8 MiB array could never be joined up again
// for the next 8 MiB one, and every full-batch step of logistic regression on 2M rows took new
// memory from the kernel (0.12 s a gradient, three quarters of it zeroing fresh huge pages).
// Whole blocks go back whole and the next array of the same size reuses one.
void* allocate_huge_array(std::size_t bytes) {
    const std::size_t size = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* block = std::malloc(size + kHugePage + sizeof(void*));
    if (block == nullptr) throw std::bad_alloc();
    const auto head = reinterpret_cast<std::uintptr_t>(block) + sizeof(void*);
    void* p = reinterpret_cast<void*>((head + kHugePage - 1) & ~(kHugePage - 1));
    static_cast<void**>(p)[-1] = block;
    madvise(p, size, MADV_HUGEPAGE);  // a hint: where huge pages are off, nothing changes
    return p;
}

void free_huge_array(void* p) {
    std::free(static_cast<void**>(p)[-1]);
}

// A block of class k handed out for `bytes`: all of it usable to us, its tail poisoned.
void* handed_out(void* block, std::size_t k, std::size_t bytes) {
    unpoison(block, class_bytes(k));
    poison(static_cast<char*>(block) + bytes, class_bytes(k) - bytes);
    return block;
}

}  // namespace

void* allocate_array(std::size_t bytes) {
    if (bytes >= kHugeFrom) return allocate_huge_array(bytes);
    const std::size_t k = size_class(bytes);
    if (k == kClasses) return ::operator new(bytes == 0 ? 1 : bytes, kArrayAlignment);
    void* p = nullptr;
    if (!array_cache_gone) {
        ArrayCache& cache = array_cache();
        auto& list = cache.lists[k];
        if (!list.empty()) {
            p = list.back();
            list.pop_back();
            cache.bytes -= class_bytes(k);
        }
    }
    if (p == nullptr) p = ::operator new(class_bytes(k), kArrayAlignment);
    return handed_out(p, k, bytes);
}

void deallocate_array(void* p, std::size_t bytes) noexcept {
    if (p == nullptr) return;
    if (bytes >= kHugeFrom) return free_huge_array(p);
    const std::size_t k = size_class(bytes);
    if (k < kClasses) {
        const std::size_t block = class_bytes(k);
        if (!array_cache_gone) {
            ArrayCache& cache = array_cache();
            if (cache.bytes + block <= kCacheLimitBytes) {
                try {
                    cache.lists[k].push_back(p);
                    cache.bytes += block;
                    poison(p, block);
                    return;
                } catch (const std::bad_alloc&) {  // no room for the list: free the block
                }
            }
        }
        unpoison(p, block);  // its tail was poisoned when it was handed out
    }
    ::operator delete(p, kArrayAlignment);
}

std::shared_ptr<TensorImpl> new_impl() {
    static const bool tuned = tune_malloc();
    (void)tuned;
    return std::allocate_shared<TensorImpl>(PoolAllocator<TensorImpl>());
}

}  // namespace tapegrad::detail

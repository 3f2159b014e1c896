// Memory policy. Two costs dominate small ops and large ones alike: heap calls per op, and
// page faults when glibc hands large freed blocks back to the kernel and the next step
// takes them again (on this VM a fault costs a VM exit: a 1024x1024 matmul step ran at half
// speed). So tensor records come from a per-thread free list, and glibc keeps freed memory.
#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

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

bool tune_malloc() {
    // TAPEGRAD_RETURN_MEMORY=1 keeps glibc's defaults (memory goes back to the system sooner).
    const char* env = std::getenv("TAPEGRAD_RETURN_MEMORY");
    if (env && std::strcmp(env, "1") == 0) return false;
    // Blocks up to 32 MiB (glibc's maximum) come from the heap, and the heap is trimmed only
    // when 1 GiB lies free at its top: a training step reuses the previous step's memory.
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
    return true;
}

}  // namespace

std::shared_ptr<TensorImpl> new_impl() {
    static const bool tuned = tune_malloc();
    (void)tuned;
    return std::allocate_shared<TensorImpl>(PoolAllocator<TensorImpl>());
}

}  // namespace tapegrad::detail

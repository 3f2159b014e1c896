#pragma once
// The allocator of every tapegrad array: config.hpp makes it xtensor's default, before any
// xtensor header is read. Blocks are 64-byte aligned (enough for every instruction set, so a
// library and a program built with different -m flags agree on xt::xarray's type), and the
// small ones are reused from a per-thread cache: an op on small tensors then calls no malloc,
// which was about 40% of the cost of a recorded scalar op (glibc's aligned path).
// No xtensor here: this header is read before xtensor's configuration.
#include <cstddef>
#include <new>

namespace tapegrad {

namespace detail {
void* allocate_array(std::size_t bytes);
void deallocate_array(void* p, std::size_t bytes) noexcept;
}  // namespace detail

template <class T>
struct ArrayAllocator {
    using value_type = T;
    ArrayAllocator() noexcept = default;
    template <class U>
    ArrayAllocator(const ArrayAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
        return static_cast<T*>(detail::allocate_array(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept { detail::deallocate_array(p, n * sizeof(T)); }

    template <class U>
    bool operator==(const ArrayAllocator<U>&) const noexcept {
        return true;
    }
};

}  // namespace tapegrad

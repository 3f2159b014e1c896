#pragma once
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace tapegrad {

// float32 to train, float64 to check gradients.
enum class Dtype : std::uint8_t { f32, f64 };
inline constexpr Dtype f32 = Dtype::f32;
inline constexpr Dtype f64 = Dtype::f64;

constexpr std::string_view dtype_name(Dtype d) {
    return d == Dtype::f32 ? "float32" : "float64";
}

template <class T>
constexpr Dtype dtype_of() {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                  "tapegrad tensors hold float or double");
    return std::is_same_v<T, float> ? Dtype::f32 : Dtype::f64;
}

}  // namespace tapegrad

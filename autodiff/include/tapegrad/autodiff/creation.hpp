#pragma once
// Ways to make tensors. Float32 unless told otherwise, as in PyTorch; from_array keeps the
// dtype of the array it is given.
#include <cstdint>
#include <initializer_list>
#include <span>

#include "tapegrad/autodiff/random.hpp"
#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad {

Tensor scalar(double v, Dtype dtype = f32);
Tensor zeros(const Shape& shape, Dtype dtype = f32);
Tensor ones(const Shape& shape, Dtype dtype = f32);
Tensor full(const Shape& shape, double v, Dtype dtype = f32);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor arange(double start, double stop, double step = 1.0, Dtype dtype = f32);
Tensor arange(double stop, Dtype dtype = f32);
Tensor linspace(double start, double stop, std::size_t n, Dtype dtype = f32);

template <class T>
Tensor from_array(xt::xarray<T> a) {
    return Tensor(std::move(a));
}
// tensor({1, 2, 3}) and tensor({{1, 2}, {3, 4}}); a column tensor({{1}, {2}}) is 2-D.
// (The 1-D form takes an array so that a list of one-element lists is not ambiguous: C++
// prefers the initializer_list conversion.)
Tensor tensor(std::span<const double> values, Dtype dtype = f32);
template <std::size_t N>
Tensor tensor(const double (&values)[N], Dtype dtype = f32) {
    return tensor(std::span<const double>(values, N), dtype);
}
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, Dtype dtype = f32);

// Standard normal, uniform [0, 1), and uniform [low, high) values from a generator.
Tensor randn(const Shape& shape, Dtype dtype = f32, Generator& gen = default_generator());
Tensor rand(const Shape& shape, Dtype dtype = f32, Generator& gen = default_generator());
Tensor uniform(const Shape& shape, double low, double high, Dtype dtype = f32,
               Generator& gen = default_generator());
// The same from a fresh generator with this seed.
Tensor randn(const Shape& shape, std::uint64_t seed, Dtype dtype = f32);
Tensor rand(const Shape& shape, std::uint64_t seed, Dtype dtype = f32);
Tensor uniform(const Shape& shape, double low, double high, std::uint64_t seed, Dtype dtype = f32);

}  // namespace tapegrad

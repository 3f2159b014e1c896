#include "tapegrad/autodiff/creation.hpp"

#include <cmath>
#include <xtensor/xbuilder.hpp>

namespace tapegrad {

namespace {

template <class F>
Tensor make(Dtype dtype, F&& f) {
    if (dtype == f32) return Tensor(xt::xarray<float>(f(float{})));
    return Tensor(xt::xarray<double>(f(double{})));
}

// Values drawn in row-major order, one draw per element, as double then converted, so a
// seed gives the same numbers (to rounding) in float32 and float64.
template <class Draw>
Tensor draw(const Shape& shape, Dtype dtype, Draw&& d) {
    return make(dtype, [&](auto zero) {
        using T = decltype(zero);
        xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
        for (auto& v : a) v = static_cast<T>(d());
        return a;
    });
}

}  // namespace

Tensor scalar(double v, Dtype dtype) {
    return make(dtype, [v](auto zero) {
        return xt::xarray<decltype(zero)>(static_cast<decltype(zero)>(v));
    });
}

Tensor full(const Shape& shape, double v, Dtype dtype) {
    return make(dtype, [&](auto zero) {
        using T = decltype(zero);
        xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
        a.fill(static_cast<T>(v));
        return a;
    });
}
Tensor zeros(const Shape& shape, Dtype dtype) {
    return full(shape, 0.0, dtype);
}
Tensor ones(const Shape& shape, Dtype dtype) {
    return full(shape, 1.0, dtype);
}
Tensor zeros_like(const Tensor& t) {
    return zeros(t.shape(), t.dtype());
}
Tensor ones_like(const Tensor& t) {
    return ones(t.shape(), t.dtype());
}

Tensor arange(double start, double stop, double step, Dtype dtype) {
    if (step == 0 || !std::isfinite(start) || !std::isfinite(stop) || !std::isfinite(step)) {
        throw ValueError("arange: step must be non-zero and the bounds finite (start " +
                         std::to_string(start) + ", stop " + std::to_string(stop) + ", step " +
                         std::to_string(step) + ")");
    }
    const double n = std::ceil((stop - start) / step);
    const std::size_t count = n > 0 ? static_cast<std::size_t>(n) : 0;
    return make(dtype, [&](auto zero) {
        using T = decltype(zero);
        xt::xarray<T> a = xt::xarray<T>::from_shape({count});
        for (std::size_t i = 0; i < count; ++i)
            a(i) = static_cast<T>(start + step * static_cast<double>(i));
        return a;
    });
}
Tensor arange(double stop, Dtype dtype) {
    return arange(0.0, stop, 1.0, dtype);
}

Tensor linspace(double start, double stop, std::size_t n, Dtype dtype) {
    return make(dtype, [&](auto zero) {
        using T = decltype(zero);
        xt::xarray<T> a = xt::xarray<T>::from_shape({n});
        for (std::size_t i = 0; i < n; ++i) {
            // The last value is stop exactly, as in NumPy.
            a(i) = i + 1 == n && n > 1
                       ? static_cast<T>(stop)
                       : static_cast<T>(start + (stop - start) * static_cast<double>(i) /
                                                    static_cast<double>(n > 1 ? n - 1 : 1));
        }
        return a;
    });
}

Tensor tensor(std::span<const double> values, Dtype dtype) {
    return make(dtype, [&](auto zero) {
        using T = decltype(zero);
        xt::xarray<T> a = xt::xarray<T>::from_shape({values.size()});
        std::size_t i = 0;
        for (double v : values) a(i++) = static_cast<T>(v);
        return a;
    });
}

Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, Dtype dtype) {
    const std::size_t cols = rows.size() ? rows.begin()->size() : 0;
    std::size_t r = 0;
    for (const auto& row : rows) {
        if (row.size() != cols) {
            throw ShapeError("tensor: row " + std::to_string(r) + " has " +
                             std::to_string(row.size()) + " values where row 0 has " +
                             std::to_string(cols));
        }
        ++r;
    }
    return make(dtype, [&](auto zero) {
        using T = decltype(zero);
        xt::xarray<T> a = xt::xarray<T>::from_shape({rows.size(), cols});
        std::size_t i = 0;
        for (const auto& row : rows)
            for (double v : row) a.data()[i++] = static_cast<T>(v);
        return a;
    });
}

Tensor randn(const Shape& shape, Dtype dtype, Generator& gen) {
    return draw(shape, dtype, [&] { return gen.normal(); });
}
Tensor rand(const Shape& shape, Dtype dtype, Generator& gen) {
    return draw(shape, dtype, [&] { return gen.uniform(); });
}
Tensor uniform(const Shape& shape, double low, double high, Dtype dtype, Generator& gen) {
    return draw(shape, dtype, [&] { return gen.uniform(low, high); });
}
Tensor randn(const Shape& shape, std::uint64_t seed, Dtype dtype) {
    Generator g(seed);
    return randn(shape, dtype, g);
}
Tensor rand(const Shape& shape, std::uint64_t seed, Dtype dtype) {
    Generator g(seed);
    return rand(shape, dtype, g);
}
Tensor uniform(const Shape& shape, double low, double high, std::uint64_t seed, Dtype dtype) {
    Generator g(seed);
    return uniform(shape, low, high, dtype, g);
}

}  // namespace tapegrad

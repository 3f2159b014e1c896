// StandardScaler, MinMaxScaler and one_hot. Statistics are accumulated in float64 straight
// from the input's values (no float64 copy of a large x); every transform is one affine map
// per column, out = (x - sub) / div · mul + add, evaluated in float64 and stored in x's dtype.
#include "tapegrad/data/scaler.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::data {

namespace {

using Column = std::vector<double>;

std::size_t columns_of(const std::string& fn, const Tensor& x) {
    if (!x.defined()) throw ValueError(fn + ": x is undefined");
    if (x.dim() != 2)
        throw ShapeError(fn + ": x must be 2-D [rows, features], got " + shape_str(x.shape()));
    return x.shape()[1];
}

void check_columns(const std::string& fn, const Tensor& x, std::size_t fitted) {
    const std::size_t f = columns_of(fn, x);
    if (f != fitted)
        throw ShapeError(fn + ": x " + shape_str(x.shape()) + " has " + std::to_string(f) +
                         " columns but the scaler was fitted on " + std::to_string(fitted) +
                         " columns");
}

void check_fitted(const std::string& fn, bool fitted) {
    if (!fitted) throw Error(fn + ": the scaler is not fitted yet; call fit first");
}

Tensor vec(const Column& c) {
    xt::xarray<double> a = xt::xarray<double>::from_shape({c.size()});
    std::copy(c.begin(), c.end(), a.begin());
    return Tensor(std::move(a));
}

Column to_column(const Tensor& t) {
    const xt::xarray<double> a = t.to_array<double>();
    return Column(a.begin(), a.end());
}

// Per column: mean, population variance (two passes, as NumPy's var), min and max.
struct Stats {
    Column mean, var, min, max;
};

template <class T>
Stats stats_of(const xt::xarray<T>& a) {
    const std::size_t n = a.shape()[0], f = a.shape()[1];
    Stats s{Column(f, 0.0), Column(f, 0.0), Column(f, 0.0), Column(f, 0.0)};
    const T* p = a.data();
    for (std::size_t j = 0; j < f; ++j) s.min[j] = s.max[j] = static_cast<double>(p[j]);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < f; ++j) {
            const double v = static_cast<double>(p[i * f + j]);
            s.mean[j] += v;
            s.min[j] = std::min(s.min[j], v);
            s.max[j] = std::max(s.max[j], v);
        }
    for (double& m : s.mean) m /= static_cast<double>(n);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < f; ++j) {
            const double d = static_cast<double>(p[i * f + j]) - s.mean[j];
            s.var[j] += d * d;
        }
    for (double& v : s.var) v /= static_cast<double>(n);
    return s;
}

Stats fit_stats(const std::string& fn, const Tensor& x) {
    columns_of(fn, x);
    if (x.shape()[0] == 0) throw ValueError(fn + ": x " + shape_str(x.shape()) + " has no rows");
    return x.dtype() == f32 ? stats_of(x.value<float>()) : stats_of(x.value<double>());
}

struct Affine {
    Column sub, div, mul, add;
};

template <class T>
Tensor apply_affine(const xt::xarray<T>& a, const Affine& m) {
    const std::size_t n = a.shape()[0], f = a.shape()[1];
    auto out = xt::xarray<T>::from_shape(a.shape());
    const T* p = a.data();
    T* q = out.data();
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < f; ++j) {
            const double v = static_cast<double>(p[i * f + j]);
            q[i * f + j] = static_cast<T>((v - m.sub[j]) / m.div[j] * m.mul[j] + m.add[j]);
        }
    return Tensor(std::move(out));
}

Tensor affine(const Tensor& x, const Affine& m) {
    return x.dtype() == f32 ? apply_affine(x.value<float>(), m)
                            : apply_affine(x.value<double>(), m);
}

Affine standard_map(const Tensor& mean, const Tensor& scale) {
    const Column m = to_column(mean);
    return {m, to_column(scale), Column(m.size(), 1.0), Column(m.size(), 0.0)};
}

Affine min_max_map(const Tensor& min, const Tensor& range, double low, double high) {
    const Column m = to_column(min);
    return {m, to_column(range), Column(m.size(), high - low), Column(m.size(), low)};
}

// Both scalers are such a map and its inverse: (x - sub) / div · mul + add undone by
// (z - add) / mul · div + sub. The checks every transform makes come first.
Tensor transform_checked(const std::string& fn, bool fitted, const Tensor& x,
                         const std::function<Affine()>& map, bool inverse) {
    check_fitted(fn, fitted);
    const Affine m = map();
    check_columns(fn, x, m.sub.size());
    return affine(x, inverse ? Affine{m.add, m.mul, m.div, m.sub} : m);
}

const Tensor& entry(const std::string& fn, const StateDict& state, const std::string& key) {
    auto it = state.find(key);
    if (it == state.end() || !it->second.defined())
        throw ValueError(fn + ": the state has no \"" + key + "\"; nothing was loaded");
    return it->second;
}

// A positive, finite per-column divisor (a saved scale or range).
void check_divisor(const std::string& fn, const std::string& key, const Column& c) {
    for (std::size_t j = 0; j < c.size(); ++j)
        if (!(std::isfinite(c[j]) && c[j] > 0.0))
            throw ValueError(fn + ": \"" + key + "\"[" + std::to_string(j) + "] is " +
                             exact_text(c[j]) + ", not a positive number; nothing was loaded");
}

// Two [F] vectors of one length, as float64 columns.
std::pair<Column, Column> load_pair(const std::string& fn, const StateDict& state,
                                    const std::string& a, const std::string& b) {
    const Tensor& ta = entry(fn, state, a);
    const Tensor& tb = entry(fn, state, b);
    if (ta.dim() != 1 || tb.shape() != ta.shape())
        throw ValueError(fn + ": \"" + a + "\" and \"" + b +
                         "\" must be vectors of one length, got " + shape_str(ta.shape()) +
                         " and " + shape_str(tb.shape()) + "; nothing was loaded");
    return {to_column(ta), to_column(tb)};
}

}  // namespace

// ---- StandardScaler ----------------------------------------------------------------------

StandardScaler& StandardScaler::fit(const Tensor& x) {
    Stats s = fit_stats("StandardScaler.fit", x);
    Column scale(s.var.size());
    for (std::size_t j = 0; j < scale.size(); ++j) {
        // A constant column is detected exactly (min == max): its summed mean may be off in
        // the last bit, which would leave a variance of ~1e-33 and a huge 1 / scale.
        if (s.min[j] == s.max[j]) {
            s.mean[j] = s.min[j];
            scale[j] = 1.0;
        } else {
            scale[j] = std::sqrt(s.var[j]);
        }
    }
    mean_ = vec(s.mean);
    scale_ = vec(scale);
    return *this;
}

// z = (x - mean) / scale.
Tensor StandardScaler::transform(const Tensor& x) const {
    return transform_checked(
        "StandardScaler.transform", fitted(), x, [this] { return standard_map(mean_, scale_); },
        false);
}

Tensor StandardScaler::inverse_transform(const Tensor& z) const {
    return transform_checked(
        "StandardScaler.inverse_transform", fitted(), z,
        [this] { return standard_map(mean_, scale_); }, true);
}

StateDict StandardScaler::state_dict() const {
    check_fitted("StandardScaler.state_dict", fitted());
    return {{"mean", mean_.detach()}, {"scale", scale_.detach()}};
}

void StandardScaler::load_state_dict(const StateDict& state) {
    const std::string fn = "StandardScaler.load_state_dict";
    auto [mean, scale] = load_pair(fn, state, "mean", "scale");
    check_divisor(fn, "scale", scale);
    mean_ = vec(mean);
    scale_ = vec(scale);
}

// ---- MinMaxScaler ------------------------------------------------------------------------

MinMaxScaler::MinMaxScaler(double low, double high) : low_(low), high_(high) {
    if (!(low < high))
        throw ValueError("MinMaxScaler: the range low < high is needed, got [" + exact_text(low) +
                         ", " + exact_text(high) + "]");
}

MinMaxScaler& MinMaxScaler::fit(const Tensor& x) {
    const Stats s = fit_stats("MinMaxScaler.fit", x);
    Column range(s.min.size());
    for (std::size_t j = 0; j < range.size(); ++j)
        range[j] = s.max[j] == s.min[j] ? 1.0 : s.max[j] - s.min[j];
    min_ = vec(s.min);
    range_ = vec(range);
    return *this;
}

// z = (x - min) / range · (high - low) + low.
Tensor MinMaxScaler::transform(const Tensor& x) const {
    return transform_checked(
        "MinMaxScaler.transform", fitted(), x,
        [this] { return min_max_map(min_, range_, low_, high_); }, false);
}

Tensor MinMaxScaler::inverse_transform(const Tensor& z) const {
    return transform_checked(
        "MinMaxScaler.inverse_transform", fitted(), z,
        [this] { return min_max_map(min_, range_, low_, high_); }, true);
}

StateDict MinMaxScaler::state_dict() const {
    check_fitted("MinMaxScaler.state_dict", fitted());
    return {{"min", min_.detach()},
            {"range", range_.detach()},
            {"low", Tensor(xt::xarray<double>(low_))},
            {"high", Tensor(xt::xarray<double>(high_))}};
}

void MinMaxScaler::load_state_dict(const StateDict& state) {
    const std::string fn = "MinMaxScaler.load_state_dict";
    auto [min, range] = load_pair(fn, state, "min", "range");
    check_divisor(fn, "range", range);
    const Tensor& tl = entry(fn, state, "low");
    const Tensor& th = entry(fn, state, "high");
    if (tl.numel() != 1 || th.numel() != 1)
        throw ValueError(fn + ": \"low\" and \"high\" must hold one number each, got " +
                         shape_str(tl.shape()) + " and " + shape_str(th.shape()) +
                         "; nothing was loaded");
    const double low = tl.item(), high = th.item();
    if (!(low < high))
        throw ValueError(fn + ": \"low\" " + exact_text(low) + " is not below \"high\" " +
                         exact_text(high) + "; nothing was loaded");
    low_ = low;
    high_ = high;
    min_ = vec(min);
    range_ = vec(range);
}

// ---- one_hot -----------------------------------------------------------------------------

namespace {

template <class T>
Tensor one_hot_of(const xt::xarray<T>& labels, std::size_t k) {
    const std::size_t n = labels.shape()[0];
    xt::xarray<T> out = xt::zeros<T>({n, k});
    const T* p = labels.data();
    for (std::size_t i = 0; i < n; ++i) {
        const double v = static_cast<double>(p[i]);
        if (!(v >= 0.0 && v < static_cast<double>(k) && v == std::floor(v)))
            throw ValueError("one_hot: the label in row " + std::to_string(i) + " is " +
                             exact_text(v) + ", not a class index in [0, " + std::to_string(k) +
                             ")");
        out(i, static_cast<std::size_t>(v)) = T(1);
    }
    return Tensor(std::move(out));
}

}  // namespace

Tensor one_hot(const Tensor& labels, std::size_t num_classes) {
    if (!labels.defined()) throw ValueError("one_hot: the labels are undefined");
    const Shape& s = labels.shape();
    if (!(s.size() == 1 || (s.size() == 2 && s[1] == 1)))
        throw ShapeError("one_hot: labels must be [N] or [N, 1], got " + shape_str(s));
    if (num_classes == 0) throw ValueError("one_hot: num_classes must be at least 1, got 0");
    return labels.dtype() == f32 ? one_hot_of(labels.value<float>(), num_classes)
                                 : one_hot_of(labels.value<double>(), num_classes);
}

}  // namespace tapegrad::data

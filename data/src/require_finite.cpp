// require_finite: a nan or infinity of a CSV file named at its line, before training shuffles
// and scales the rows.
#include <algorithm>
#include <cmath>
#include <string>

#include "shown_text.hpp"
#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/data/readers.hpp"

namespace tapegrad::data {

namespace {

// The first nan or infinity of row i of a (its columns in order), or -1.
template <class T>
std::ptrdiff_t first_non_finite(const xt::xarray<T>& a, std::size_t i, std::size_t per_row) {
    const T* row = a.data() + i * per_row;
    for (std::size_t j = 0; j < per_row; ++j)
        if (!std::isfinite(row[j])) return static_cast<std::ptrdiff_t>(j);
    return -1;
}

template <class T>
std::size_t count_non_finite(const xt::xarray<T>& a) {
    return static_cast<std::size_t>(
        std::count_if(a.begin(), a.end(), [](T v) { return !std::isfinite(v); }));
}

template <class T>
void require_finite_of(const CsvDataset& d) {
    const auto& x = d.data.x.value<T>();
    const auto& y = d.data.y.value<T>();
    const std::size_t rows = d.data.size();
    const std::size_t x_cols = rows ? x.size() / rows : 0, y_cols = rows ? y.size() / rows : 0;
    const std::size_t bad = count_non_finite(x) + count_non_finite(y);
    if (bad == 0) return;
    for (std::size_t i = 0; i < rows; ++i) {
        const std::ptrdiff_t jx = first_non_finite(x, i, x_cols);
        const std::ptrdiff_t jy = jx < 0 ? first_non_finite(y, i, y_cols) : -1;
        if (jx < 0 && jy < 0) continue;
        const auto col = static_cast<std::size_t>(jx);
        const std::string column = jx < 0 ? d.target_name
                                   : col < d.feature_names.size()
                                       ? d.feature_names[col]
                                       : "x column " + std::to_string(col);
        const double v =
            jx < 0 ? static_cast<double>(y.data()[i * y_cols + static_cast<std::size_t>(jy)])
                   : static_cast<double>(x.data()[i * x_cols + col]);
        const std::string where = d.line_of_row.size() == rows
                                      ? std::to_string(d.line_of_row[i])
                                      : "row " + std::to_string(i) + " (counted from 0)";
        throw ValueError(d.path.string() + ":" + where + ": column " + shown_text(column) + " is " +
                         exact_text(v) +
                         (bad == 1 ? " (the only cell that is nan or infinite)"
                                   : " (the first of " + std::to_string(bad) +
                                         " cells that are nan or infinite)") +
                         ": a model cannot train on it; remove or impute it first");
    }
}

}  // namespace

void require_finite(const CsvDataset& d) {
    if (d.data.x.dtype() == f32)
        require_finite_of<float>(d);
    else
        require_finite_of<double>(d);
}

}  // namespace tapegrad::data

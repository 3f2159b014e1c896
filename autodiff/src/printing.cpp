// Readable printing in PyTorch's style: tensor([[ 1.0000, -2.0000], ...], dtype=float64).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>

#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad {

namespace {

constexpr std::size_t kFullPrintLimit = 1000;  // larger tensors print as a summary

template <class T>
void print_value(std::ostream& os, const xt::xarray<T>& a) {
    // Fixed notation with 4 decimals, unless some magnitude needs scientific notation.
    double maxabs = 0, minabs = INFINITY;
    for (T v : a) {
        const double m = std::abs(static_cast<double>(v));
        if (std::isfinite(m)) {
            maxabs = std::max(maxabs, m);
            if (m > 0) minabs = std::min(minabs, m);
        }
    }
    const bool sci = maxabs >= 1e8 || (minabs < 1e-4 && maxabs > 0);
    std::vector<std::string> cells;
    cells.reserve(a.size());
    std::size_t width = 0;
    char buf[64];
    for (T v : a) {
        std::snprintf(buf, sizeof buf, sci ? "%.4e" : "%.4f", static_cast<double>(v));
        cells.emplace_back(buf);
        width = std::max(width, cells.back().size());
    }
    const auto& shape = a.shape();
    const std::size_t rank = shape.size();
    if (rank == 0) {
        os << cells[0];
        return;
    }
    // Walk the elements in row-major order, opening and closing brackets as indices roll over.
    std::vector<std::size_t> idx(rank, 0);
    for (std::size_t k = 0; k < a.size(); ++k) {
        std::size_t opened = 0;
        for (std::size_t d = rank; d-- > 0 && idx[d] == 0;) ++opened;
        if (k > 0) {
            os << ",";
            if (opened > 0) {
                os << std::string(opened, '\n') << std::string(7 + rank - opened, ' ');
            } else {
                os << ' ';
            }
        }
        os << std::string(opened, '[');
        const std::string& c = cells[k];
        os << std::string(width - c.size(), ' ') << c;
        std::size_t d = rank;
        while (d-- > 0) {
            if (++idx[d] < shape[d]) break;
            idx[d] = 0;
            os << ']';
        }
    }
    if (a.size() == 0) os << std::string(rank, '[') << std::string(rank, ']');
}

template <class T>
void print_summary(std::ostream& os, const xt::xarray<T>& a) {
    double mn = INFINITY, mx = -INFINITY, s = 0;
    for (T v : a) {
        mn = std::min<double>(mn, v);
        mx = std::max<double>(mx, v);
        s += v;
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, "<%zu values: min %.4g, max %.4g, mean %.4g>", a.size(), mn, mx,
                  s / static_cast<double>(a.size()));
    os << buf;
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
    if (!t.defined()) return os << "tensor(undefined)";
    os << "tensor(";
    auto body = [&](const auto& a) {
        if (a.size() > kFullPrintLimit) {
            os << "shape=" << shape_str(t.shape()) << ", ";
            print_summary(os, a);
        } else {
            print_value(os, a);
        }
    };
    if (t.dtype() == f32) {
        body(t.value<float>());
    } else {
        body(t.value<double>());
    }
    os << ", dtype=" << dtype_name(t.dtype());
    if (t.requires_grad()) os << ", requires_grad=true";
    if (!t.name().empty()) os << ", name='" << t.name() << "'";
    return os << ")";
}

std::string to_string(const Tensor& t) {
    std::ostringstream os;
    os << t;
    return os.str();
}

}  // namespace tapegrad

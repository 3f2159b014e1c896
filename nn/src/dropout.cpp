#include "tapegrad/nn/dropout.hpp"

#include <sstream>

#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad::nn {

Dropout::Dropout(double p, std::uint64_t seed) : p_(p), gen_(seed) {
    if (!(p >= 0.0 && p <= 1.0)) {
        std::ostringstream os;
        os << "Dropout: p must be in [0, 1]; got " << p;
        throw ValueError(os.str());
    }
}

Tensor Dropout::forward(const Tensor& x) {
    if (!is_training() || p_ == 0.0) return x;
    // The mask is a constant of the tape: d(x·m)/dx = m, the same mask scales the gradient.
    Tensor mask = zeros(x.shape(), x.dtype());
    const double keep = 1.0 - p_;
    const double scale = keep > 0.0 ? 1.0 / keep : 0.0;
    if (x.dtype() == f32) {
        for (auto& v : mask.mutable_value<float>())
            v = gen_.uniform() < keep ? static_cast<float>(scale) : 0.0f;
    } else {
        for (auto& v : mask.mutable_value<double>()) v = gen_.uniform() < keep ? scale : 0.0;
    }
    return x * mask;
}

std::string Dropout::extra_repr() const {
    std::ostringstream os;
    os << "p=" << p_;
    return os.str();
}

}  // namespace tapegrad::nn

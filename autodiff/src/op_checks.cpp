// Argument checks shared by all ops, so every op words its errors the same way.
#include <string>

#include "op_checks.hpp"
#include "tapegrad/autodiff/op.hpp"

namespace tapegrad {

std::size_t normalize_axis(const char* op, std::int64_t axis, std::size_t dim) {
    const auto d = static_cast<std::int64_t>(dim);
    if (axis < -d || axis >= d) {
        throw ValueError(std::string(op) + ": axis " + std::to_string(axis) +
                         " does not exist for a tensor of rank " + std::to_string(dim) +
                         " (valid: " + std::to_string(-d) + " to " + std::to_string(d - 1) + ")");
    }
    return static_cast<std::size_t>(axis < 0 ? axis + d : axis);
}

namespace detail {

void require_rows(const char* op, const Tensor& a) {
    if (a.dim() == 0)
        throw ShapeError(std::string(op) + ": needs a tensor with rows (rank >= 1), got a scalar");
}

Dtype common_dtype(const char* op, std::span<const Tensor* const> inputs) {
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i]->defined()) {
            throw Error(std::string(op) + ": input " + std::to_string(i) +
                        " is an undefined tensor");
        }
    }
    // The variant's index is the dtype (defined tensors only: checked above).
    const auto index = inputs[0]->impl()->value.index();
    const Dtype d = inputs[0]->dtype();
    for (std::size_t i = 1; i < inputs.size(); ++i) {
        if (inputs[i]->impl()->value.index() != index) {
            throw DtypeError(std::string(op) + ": input 0 is " + std::string(dtype_name(d)) + " " +
                             shape_str(inputs[0]->shape()) + " but input " + std::to_string(i) +
                             " is " + std::string(dtype_name(inputs[i]->dtype())) + " " +
                             shape_str(inputs[i]->shape()) +
                             "; convert one of them with .to(f32) or .to(f64)");
        }
    }
    return d;
}

}  // namespace detail
}  // namespace tapegrad

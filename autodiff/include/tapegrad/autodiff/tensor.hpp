#pragma once
// Tensor: a handle to a value (float32 or float64, any rank, in xtensor storage) and, for
// tensors that require grad, the gradient accumulated into it by Tape::backward.
#include "tapegrad/config.hpp"  // first: it fixes xtensor's settings

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <variant>
#include <xtensor/xarray.hpp>

#include "tapegrad/autodiff/dtype.hpp"
#include "tapegrad/autodiff/error.hpp"

namespace tapegrad {

// The shape type of xt::xarray: a small vector that holds up to four extents inline.
using Shape = xt::svector<std::size_t, 4>;

std::string shape_str(const Shape& s);  // "[3, 4]"

namespace detail {

using AnyArray = std::variant<std::monostate, xt::xarray<float>, xt::xarray<double>>;

struct TensorImpl {
    AnyArray value;
    std::shared_ptr<TensorImpl>
        grad;  // accumulated gradient: leaves, or non-leaves kept by the tape
    std::string name;
    // A recorded result: the recording (detail::Recording::id) and slot it was made in. Written
    // once, when the op that makes it is recorded and no one else holds the record yet; leaves
    // are never written by a tape (their slots are the recording's own knowledge).
    std::uint64_t recorded_in = 0;
    std::int32_t slot = -1;
    std::uint32_t version = 0;  // bumped by every in-place change; backward checks it
    bool requires_grad = false;
    bool is_leaf = true;
};

// A new, empty tensor record (from a per-thread pool: ops make one each).
std::shared_ptr<TensorImpl> new_impl();

template <class T>
constexpr std::size_t variant_index() {
    return std::is_same_v<T, float> ? 1 : 2;
}

}  // namespace detail

class Tensor {
  public:
    Tensor() = default;  // an undefined tensor; most uses throw
    explicit Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}
    template <class T>
    explicit Tensor(xt::xarray<T> value);

    bool defined() const { return impl_ != nullptr; }
    Dtype dtype() const;
    const Shape& shape() const;
    std::size_t dim() const { return shape().size(); }
    std::size_t numel() const;
    // The value of a one-element tensor, as double.
    double item() const;

    // Typed read access to the value; throws DtypeError when T is not the tensor's dtype.
    template <class T>
    const xt::xarray<T>& value() const;
    // Typed write access; counts as an in-place change (bumps the version).
    template <class T>
    xt::xarray<T>& mutable_value();
    // A copy of the value converted to T.
    template <class T>
    xt::xarray<T> to_array() const;

    bool requires_grad() const;
    // Marks a leaf as a parameter whose gradient backward accumulates (PyTorch's requires_grad_).
    Tensor& requires_grad_(bool on = true);
    bool is_leaf() const;

    // The accumulated gradient (zeros of this shape when nothing has been accumulated yet).
    Tensor grad() const;
    bool has_grad() const;
    // Drops the accumulated gradient, like PyTorch's zero_grad(set_to_none=True).
    void zero_grad();

    // A new leaf with a copy of the value and no history: gradients stop here.
    Tensor detach() const;
    // Conversion between float32 and float64, recorded on the tape (gradients flow back); the
    // tensor itself when it already has that dtype, as in PyTorch.
    Tensor to(Dtype d) const;

    // A name for listings and error messages ("w", "loss").
    Tensor& name(std::string n);
    const std::string& name() const;
    std::uint32_t version() const;

    // In-place updates of the value, never recorded on a tape (parameter updates). A value
    // that a live tape saved for backward and that is changed this way makes backward throw.
    Tensor& operator+=(const Tensor& o);
    Tensor& operator-=(const Tensor& o);
    Tensor& operator*=(const Tensor& o);
    Tensor& operator+=(double s);
    Tensor& operator-=(double s);
    Tensor& operator*=(double s);
    Tensor& copy_(const Tensor& src);
    Tensor& fill_(double v);

    const std::shared_ptr<detail::TensorImpl>& impl() const { return impl_; }
    detail::TensorImpl& checked_impl() const;  // throws on an undefined tensor

  private:
    std::shared_ptr<detail::TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);
std::string to_string(const Tensor& t);

// ---- inline definitions ------------------------------------------------------------------

template <class T>
Tensor::Tensor(xt::xarray<T> value) : impl_(detail::new_impl()) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
    impl_->value.template emplace<detail::variant_index<T>()>(std::move(value));
}

[[noreturn]] void throw_dtype_access(const Tensor& t, Dtype wanted);

template <class T>
const xt::xarray<T>& Tensor::value() const {
    auto& impl = checked_impl();
    auto* v = std::get_if<detail::variant_index<T>()>(&impl.value);
    if (!v) throw_dtype_access(*this, dtype_of<T>());
    return *v;
}

template <class T>
xt::xarray<T>& Tensor::mutable_value() {
    auto& impl = checked_impl();
    auto* v = std::get_if<detail::variant_index<T>()>(&impl.value);
    if (!v) throw_dtype_access(*this, dtype_of<T>());
    ++impl.version;
    return *v;
}

template <class T>
xt::xarray<T> Tensor::to_array() const {
    auto& impl = checked_impl();
    if (auto* f = std::get_if<1>(&impl.value)) return xt::xarray<T>(xt::cast<T>(*f));
    return xt::xarray<T>(xt::cast<T>(std::get<2>(impl.value)));
}

}  // namespace tapegrad

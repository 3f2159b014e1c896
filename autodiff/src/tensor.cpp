#include "tapegrad/autodiff/tensor.hpp"

#include <sstream>

#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/op.hpp"
#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad {

namespace {

template <class F>
decltype(auto) visit_value(const detail::TensorImpl& impl, F&& f) {
    if (auto* a = std::get_if<1>(&impl.value)) return f(*a);
    return f(std::get<2>(impl.value));
}
template <class F>
decltype(auto) visit_value(detail::TensorImpl& impl, F&& f) {
    if (auto* a = std::get_if<1>(&impl.value)) return f(*a);
    return f(std::get<2>(impl.value));
}

std::string describe(const Tensor& t) {
    std::ostringstream os;
    if (!t.name().empty()) os << "'" << t.name() << "' ";
    os << "(" << dtype_name(t.dtype()) << ", shape " << shape_str(t.shape()) << ")";
    return os.str();
}

// In-place o applied to the value of t; o broadcasts to t's shape but never grows it.
template <class F>
Tensor& update_in_place(Tensor& t, const Tensor& o, const char* op, F&& f) {
    auto& impl = t.checked_impl();
    auto& other = o.checked_impl();
    if (impl.value.index() != other.value.index()) {
        throw DtypeError(std::string(op) + ": cannot update a " +
                         std::string(dtype_name(t.dtype())) + " tensor with a " +
                         std::string(dtype_name(o.dtype())) + " one; convert with .to(...)");
    }
    if (broadcast_shapes(op, t.shape(), o.shape()) != t.shape()) {
        throw ShapeError(std::string(op) + ": the update of shape " + shape_str(o.shape()) +
                         " does not broadcast to the tensor's shape " + shape_str(t.shape()));
    }
    visit_value(impl, [&](auto& a) {
        using A = std::decay_t<decltype(a)>;
        f(a, std::get<A>(other.value));
    });
    ++impl.version;
    return t;
}

}  // namespace

std::string shape_str(const Shape& s) {
    std::string r = "[";
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (i) r += ", ";
        r += std::to_string(s[i]);
    }
    return r + "]";
}

void throw_dtype_access(const Tensor& t, Dtype wanted) {
    throw DtypeError("value<" + std::string(wanted == f32 ? "float" : "double") + ">() of a " +
                     std::string(dtype_name(t.dtype())) + " tensor; use value<" +
                     std::string(t.dtype() == f32 ? "float" : "double") + ">() or .to(" +
                     std::string(wanted == f32 ? "f32" : "f64") + ")");
}

detail::TensorImpl& Tensor::checked_impl() const {
    if (!impl_) throw Error("use of an undefined tensor (default-constructed, never assigned)");
    return *impl_;
}

Dtype Tensor::dtype() const {
    return checked_impl().value.index() == 1 ? f32 : f64;
}

const Shape& Tensor::shape() const {
    return visit_value(checked_impl(), [](const auto& a) -> const Shape& { return a.shape(); });
}

std::size_t Tensor::numel() const {
    return visit_value(checked_impl(), [](const auto& a) { return a.size(); });
}

double Tensor::item() const {
    if (numel() != 1) {
        throw ShapeError("item() needs a one-element tensor; this one has shape " +
                         shape_str(shape()));
    }
    return visit_value(checked_impl(),
                       [](const auto& a) { return static_cast<double>(a.data()[0]); });
}

bool Tensor::requires_grad() const {
    return checked_impl().requires_grad;
}

Tensor& Tensor::requires_grad_(bool on) {
    auto& impl = checked_impl();
    if (!impl.is_leaf) {
        throw TapeError("requires_grad_() on a recorded result " + describe(*this) +
                        ": only leaves (tensors not computed on a tape) can be marked; use "
                        ".detach().requires_grad_() for a new leaf");
    }
    impl.requires_grad = on;
    return *this;
}

bool Tensor::is_leaf() const {
    return checked_impl().is_leaf;
}

Tensor Tensor::grad() const {
    auto& impl = checked_impl();
    if (impl.grad) return Tensor(impl.grad);
    if (!impl.is_leaf) {
        throw TapeError("grad() of " + describe(*this) +
                        ": the gradient of a recorded result is not kept; construct the Tape "
                        "with {.retain_grads = true}, or use tape.gradient(target, {t})");
    }
    // Nothing accumulated yet: the gradient is zero. Keep it, so that updates through the
    // returned tensor are seen by later calls, as with PyTorch's .grad.
    Tensor z = zeros_like(*this);
    impl.grad = z.impl();
    return z;
}

bool Tensor::has_grad() const {
    return checked_impl().grad != nullptr;
}

void Tensor::zero_grad() {
    checked_impl().grad.reset();
}

Tensor Tensor::detach() const {
    auto& impl = checked_impl();
    auto r = detail::new_impl();
    r->value = impl.value;
    r->name = impl.name;
    return Tensor(std::move(r));
}

Tensor Tensor::to(Dtype d) const {
    return to_dtype(*this, d);
}

Tensor& Tensor::name(std::string n) {
    checked_impl().name = std::move(n);
    return *this;
}
const std::string& Tensor::name() const {
    return checked_impl().name;
}
std::uint32_t Tensor::version() const {
    return checked_impl().version;
}

Tensor& Tensor::operator+=(const Tensor& o) {
    return update_in_place(*this, o, "+=", [](auto& a, const auto& b) { a += b; });
}
Tensor& Tensor::operator-=(const Tensor& o) {
    return update_in_place(*this, o, "-=", [](auto& a, const auto& b) { a -= b; });
}
Tensor& Tensor::operator*=(const Tensor& o) {
    return update_in_place(*this, o, "*=", [](auto& a, const auto& b) { a *= b; });
}
Tensor& Tensor::copy_(const Tensor& src) {
    return update_in_place(*this, src, "copy_", [](auto& a, const auto& b) {
        if (a.shape() == b.shape()) {
            std::copy(b.begin(), b.end(), a.begin());
        } else {
            a = xt::broadcast(b, a.shape());
        }
    });
}

namespace {
template <class F>
Tensor& scalar_in_place(Tensor& t, double s, F&& f) {
    auto& impl = t.checked_impl();
    visit_value(impl, [&](auto& a) {
        f(a, static_cast<typename std::decay_t<decltype(a)>::value_type>(s));
    });
    ++impl.version;
    return t;
}
}  // namespace

Tensor& Tensor::operator+=(double s) {
    return scalar_in_place(*this, s, [](auto& a, auto v) { a += v; });
}
Tensor& Tensor::operator-=(double s) {
    return scalar_in_place(*this, s, [](auto& a, auto v) { a -= v; });
}
Tensor& Tensor::operator*=(double s) {
    return scalar_in_place(*this, s, [](auto& a, auto v) { a *= v; });
}
Tensor& Tensor::fill_(double v) {
    return scalar_in_place(*this, v, [](auto& a, auto x) { a.fill(x); });
}

}  // namespace tapegrad

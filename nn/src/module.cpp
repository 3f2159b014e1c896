#include "tapegrad/nn/module.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iomanip>
#include <memory>
#include <ostream>
#include <set>
#include <sstream>
#include <typeinfo>

#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::nn {

Module::Module(const Module& other)
    : params_(other.params_),
      buffers_(other.buffers_),
      children_(other.children_),
      training_(other.training_) {
    rebase_children(other);
}

Module& Module::operator=(const Module& other) {
    if (this == &other) return *this;
    params_ = other.params_;
    buffers_ = other.buffers_;
    children_ = other.children_;
    training_ = other.training_;
    rebase_children(other);
    return *this;
}

Module::Module(Module&& other) noexcept
    : params_(std::move(other.params_)),
      buffers_(std::move(other.buffers_)),
      children_(std::move(other.children_)),
      training_(other.training_) {
    rebase_children(other);
}

Module& Module::operator=(Module&& other) noexcept {
    if (this == &other) return *this;
    params_ = std::move(other.params_);
    buffers_ = std::move(other.buffers_);
    children_ = std::move(other.children_);
    training_ = other.training_;
    rebase_children(other);
    return *this;
}

// A member sub-module or tensor sits at the same offset from the Module part in every object
// of the derived type, so after a copy it is found by that offset in the new object.
void Module::rebase_children(const Module& from) {
    const auto old_base = reinterpret_cast<std::uintptr_t>(&from);
    const auto new_base = reinterpret_cast<std::uintptr_t>(this);
    auto rebase = [&]<class T>(T* p) {
        return reinterpret_cast<T*>(new_base + (reinterpret_cast<std::uintptr_t>(p) - old_base));
    };
    for (auto& c : children_)
        if (!c.owned) c.module = rebase(c.module);
    for (auto& e : params_)
        if (e.member) e.member = rebase(e.member);
    for (auto& e : buffers_)
        if (e.member) e.member = rebase(e.member);
}

std::string Module::type_name() const {
    const char* mangled = typeid(*this).name();
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> demangled(
        abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
    std::string name = status == 0 && demangled ? demangled.get() : mangled;
    // "app::(anonymous namespace)::TwoLayer<float>" -> "TwoLayer<float>", as PyTorch prints
    // the class name alone.
    const auto scope = name.rfind("::", name.find('<'));
    return scope == std::string::npos ? name : name.substr(scope + 2);
}

void Module::check_members() const {
    auto check = [&](const std::vector<TensorEntry>& entries, const char* what) {
        for (const auto& e : entries) {
            if (!e.member || e.member->impl() == e.tensor.impl()) continue;
            throw ValueError(
                type_name() + ": the " + what + " '" + e.name +
                "' was reassigned after it was registered, so the module (and an optimizer made "
                "from it) still holds the old tensor and the new one would never train or be "
                "saved; change it in place instead (" +
                e.name + ".copy_(value))");
        }
    };
    check(params_, "parameter");
    check(buffers_, "buffer");
}

Tensor Module::forward(const Tensor&) {
    throw Error(type_name() +
                ": forward(x) is not defined for this module; override forward, or call the "
                "module's own method");
}

void Module::check_new_name(const std::string& name) const {
    if (name.empty() || name.find('.') != std::string::npos) {
        throw ValueError(type_name() + ": '" + name +
                         "' is not a valid name for a parameter, buffer or sub-module (it must "
                         "be non-empty and contain no '.')");
    }
    auto same = [&](const auto& e) { return e.name == name; };
    if (std::any_of(params_.begin(), params_.end(), same) ||
        std::any_of(buffers_.begin(), buffers_.end(), same) ||
        std::any_of(children_.begin(), children_.end(), same)) {
        throw ValueError(type_name() + ": the name '" + name + "' is already registered");
    }
}

// A tensor registered from outside this object (a local, an element of a vector) cannot be
// found again in a copy: only addresses just after the Module part count as data members (no
// derived module is 64 KiB of members); the others are registered without the reassignment
// check, as before it existed, rather than rebased into memory the copy does not own.
Tensor* Module::member_or_null(Tensor& t) const {
    const auto self = reinterpret_cast<std::uintptr_t>(this);
    const auto at = reinterpret_cast<std::uintptr_t>(&t);
    return at > self && at - self < 64 * 1024 ? &t : nullptr;
}

Tensor& Module::register_parameter(std::string name, Tensor& param) {
    check_new_name(name);
    if (!param.defined()) {
        throw ValueError(type_name() + ": parameter '" + name + "' is an undefined tensor");
    }
    param.requires_grad_();
    params_.push_back({std::move(name), param, member_or_null(param)});
    return param;
}

Tensor& Module::register_buffer(std::string name, Tensor& buffer) {
    check_new_name(name);
    if (!buffer.defined()) {
        throw ValueError(type_name() + ": buffer '" + name + "' is an undefined tensor");
    }
    buffers_.push_back({std::move(name), buffer, member_or_null(buffer)});
    return buffer;
}

void Module::add_child(std::string name, Module* m, std::shared_ptr<Module> owned) {
    check_new_name(name);
    if (!m) throw ValueError(type_name() + ": sub-module '" + name + "' is null");
    children_.push_back({std::move(name), m, std::move(owned)});
}

void Module::collect(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out,
                     bool buffers) const {
    check_members();
    for (const auto& e : buffers ? buffers_ : params_) out.emplace_back(prefix + e.name, e.tensor);
    for (const auto& c : children_) c.module->collect(prefix + c.name + ".", out, buffers);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
    std::vector<std::pair<std::string, Tensor>> all, unique;
    collect("", all, false);
    std::set<const detail::TensorImpl*> seen;
    for (auto& p : all)
        if (seen.insert(p.second.impl().get()).second) unique.push_back(std::move(p));
    return unique;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
    std::vector<std::pair<std::string, Tensor>> all;
    collect("", all, true);
    return all;
}

std::vector<Tensor> Module::parameters() const {
    std::vector<Tensor> r;
    for (auto& [name, t] : named_parameters()) r.push_back(t);
    return r;
}

std::vector<std::pair<std::string, Module*>> Module::children() const {
    std::vector<std::pair<std::string, Module*>> r;
    for (const auto& c : children_) r.emplace_back(c.name, c.module);
    return r;
}

std::size_t Module::num_parameters() const {
    std::size_t n = 0;
    for (const auto& p : parameters()) n += p.numel();
    return n;
}

void Module::zero_grad() {
    for (auto& p : parameters()) p.zero_grad();
}

Module& Module::train(bool on) {
    training_ = on;
    for (auto& c : children_) c.module->train(on);
    return *this;
}

Module& Module::to(Dtype dtype) {
    auto convert = [dtype](const Tensor& t) {
        if (t.dtype() == dtype) return;
        auto& impl = *t.impl();
        if (dtype == f64) {
            impl.value = t.to_array<double>();
        } else {
            impl.value = t.to_array<float>();
        }
        ++impl.version;
        impl.grad.reset();
    };
    for (auto& [n, p] : named_parameters()) convert(p);
    for (auto& [n, b] : named_buffers()) convert(b);
    return *this;
}

StateDict Module::state_dict() const {
    StateDict d;
    std::vector<std::pair<std::string, Tensor>> all;
    collect("", all, false);
    collect("", all, true);
    for (auto& [name, t] : all) d[name] = t.detach();
    return d;
}

namespace {

// "a, b, c and 9 more": a few names of a long list, for a message.
std::string some_of(const std::vector<std::string>& names) {
    constexpr std::size_t kShown = 4;
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < kShown; ++i) out += (i ? ", " : "") + names[i];
    if (names.size() > kShown) out += " and " + std::to_string(names.size() - kShown) + " more";
    return names.empty() ? "none" : out;
}

}  // namespace

void Module::load_state_dict(const StateDict& state, LoadOptions options) {
    std::vector<std::pair<std::string, Tensor>> own;
    collect("", own, false);
    collect("", own, true);
    std::vector<std::string> missing, unexpected, mismatched;
    std::set<std::string> own_names;
    bool dtype_only = true;  // every mismatch is one convert_dtype would fix
    for (const auto& [name, t] : own) {
        own_names.insert(name);
        auto it = state.find(name);
        if (it == state.end()) {
            missing.push_back(name);
            continue;
        }
        const Tensor& v = it->second;
        const bool same_shape = v.defined() && v.shape() == t.shape();
        if (same_shape && (v.dtype() == t.dtype() || options.convert_dtype)) continue;
        dtype_only = dtype_only && same_shape;
        mismatched.push_back("'" + name + "': expected " + std::string(dtype_name(t.dtype())) +
                             " " + shape_str(t.shape()) + ", got " +
                             (v.defined()
                                  ? std::string(dtype_name(v.dtype())) + " " + shape_str(v.shape())
                                  : std::string("an undefined tensor")));
    }
    for (const auto& [name, v] : state)
        if (!own_names.count(name)) unexpected.push_back(name);
    // Non-strict loading skips what does not match; all of it is a wrong file, not a subset.
    if (!options.strict && !own.empty() && missing.size() == own.size()) {
        std::vector<std::string> expected;
        for (const auto& [name, t] : own) expected.push_back(name);
        throw ValueError(
            type_name() + ".load_state_dict: no name of the state matches this model (expected " +
            some_of(expected) + "; found " + some_of(unexpected) + "); nothing was loaded");
    }
    if (!options.strict) missing.clear(), unexpected.clear();
    if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
        std::string msg = type_name() + ".load_state_dict: the state does not fit this model;";
        auto list = [&](const char* what, const std::vector<std::string>& v) {
            if (v.empty()) return;
            msg += std::string(" ") + what + ":";
            for (std::size_t i = 0; i < v.size(); ++i) msg += (i ? ", " : " ") + v[i];
            msg += ";";
        };
        list("missing", missing);
        list("unexpected", unexpected);
        list("wrong shape or dtype", mismatched);
        msg += " nothing was loaded";
        if (!mismatched.empty() && dtype_only) {
            msg +=
                " (to convert between float32 and float64 while loading, pass "
                "{.convert_dtype = true})";
        }
        throw ValueError(msg);
    }
    for (auto& [name, t] : own) {
        auto it = state.find(name);
        if (it == state.end()) continue;
        t.copy_(it->second.dtype() == t.dtype() ? it->second : it->second.detach().to(t.dtype()));
    }
}

void Module::repr_into(std::string& out, int indent) const {
    out += type_name() + "(" + extra_repr();
    if (children_.empty()) {
        out += ")";
        return;
    }
    out += "\n";
    for (const auto& c : children_) {
        out += std::string(static_cast<std::size_t>(indent + 2), ' ') + "(" + c.name + "): ";
        c.module->repr_into(out, indent + 2);
        out += "\n";
    }
    out += std::string(static_cast<std::size_t>(indent), ' ') + ")";
}

std::string Module::repr() const {
    std::string s;
    repr_into(s, 0);
    return s;
}

std::string Module::summary() const {
    std::ostringstream os;
    os << repr() << "\n";
    const auto params = named_parameters();
    std::size_t width = 9;
    for (const auto& [n, p] : params) width = std::max(width, n.size());
    os << std::left << std::setw(static_cast<int>(width) + 2) << "parameter" << std::setw(14)
       << "shape" << std::setw(9) << "dtype" << std::right << std::setw(10) << "count"
       << "\n";
    for (const auto& [n, p] : params) {
        os << std::left << std::setw(static_cast<int>(width) + 2) << n << std::setw(14)
           << shape_str(p.shape()) << std::setw(9) << dtype_name(p.dtype()) << std::right
           << std::setw(10) << p.numel() << "\n";
    }
    os << "Total parameters: " << num_parameters() << "\n";
    return os.str();
}

std::ostream& operator<<(std::ostream& os, const Module& m) {
    return os << m.repr();
}

}  // namespace tapegrad::nn

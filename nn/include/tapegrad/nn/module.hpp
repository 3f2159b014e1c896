#pragma once
// Module: the base of every layer and model, as torch.nn.Module. A module registers its
// parameters, buffers and sub-modules once, by name, and then lists them in that order.
//
// A custom module is a small class:
//
//   struct TwoLayer : tg::nn::Module {
//       tg::nn::Linear fc1{2, 16}, fc2{16, 1};
//       TwoLayer() { register_module("fc1", fc1); register_module("fc2", fc2); }
//       tg::Tensor forward(const tg::Tensor& x) override { return fc2(tg::tanh(fc1(x))); }
//   };
//
// Copies of a module share its parameters (they are handles, as Python names are); a member
// sub-module is found again in the copy at the same place.
//
// Mistakes C++ cannot see, and how they surface:
// - A registered tensor member that is later reassigned (`w = tg::zeros({3})`) would leave
//   the module and its optimizer holding the old tensor: the module keeps the member's
//   address and every listing (parameters(), state_dict(), ...) throws ValueError naming it.
//   Change a registered tensor in place instead (w.copy_(value)).
// - A layer or tensor that was never registered is invisible to parameters(): C++ has no
//   reflection to find it. optim::fit reports, on its first batch, every tensor that
//   requires grad and took part in the loss but is not among the optimizer's parameters
//   (optim::unregistered_leaves), and an optimizer refuses an empty parameter list.
// - type_name() defaults to the class name (demangled), so a custom module prints as
//   "TwoLayer(" without overriding anything.
#include <cstddef>
#include <iosfwd>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/autodiff/dtype.hpp"
#include "tapegrad/autodiff/state_dict.hpp"
#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad::nn {

struct LoadOptions {
    // Every name must match both ways. Without it, names that match are loaded and the rest
    // left alone, but a state of which no name matches is still an error.
    bool strict = true;
    // float64 values load into float32 tensors and the other way round, as PyTorch's
    // load_state_dict copies with conversion (NumPy arrays are float64 by default).
    bool convert_dtype = false;
};

class Module {
  public:
    Module() = default;
    virtual ~Module() = default;
    Module(const Module& other);
    Module& operator=(const Module& other);
    Module(Module&& other) noexcept;
    Module& operator=(Module&& other) noexcept;

    // The computation of a one-input module; modules with other signatures define their own
    // call operator. The default throws, naming the module type.
    virtual Tensor forward(const Tensor& x);
    Tensor operator()(const Tensor& x) { return forward(x); }

    // PyTorch's class name ("Linear") and the text between the parentheses of its repr. The
    // default is the dynamic type's name without its namespaces ("TwoLayer").
    virtual std::string type_name() const;
    virtual std::string extra_repr() const { return ""; }

    // Every parameter of this module and its sub-modules, in registration order, with dotted
    // names ("fc1.weight"). Each parameter appears once, even when registered twice.
    std::vector<Tensor> parameters() const;
    std::vector<std::pair<std::string, Tensor>> named_parameters() const;
    std::vector<std::pair<std::string, Tensor>> named_buffers() const;
    // Direct sub-modules, in registration order.
    std::vector<std::pair<std::string, Module*>> children() const;
    std::size_t num_parameters() const;  // elements of all parameters

    void zero_grad();
    // Training mode (Dropout active) or evaluation mode; recursive, like PyTorch.
    Module& train(bool on = true);
    Module& eval() { return train(false); }
    bool is_training() const { return training_; }

    // Converts every parameter and buffer, in place (the handles stay the same, so an optimizer
    // built before still updates them); gradients are dropped.
    Module& to(Dtype dtype);

    // Parameters and buffers by dotted name (detached copies of the values: saving them never
    // aliases the live weights).
    StateDict state_dict() const;
    // Copies values into the registered tensors in place. With strict, every name must match
    // both ways; shapes must match always, and dtypes unless options.convert_dtype. On any
    // mismatch nothing is changed and a ValueError lists every missing, unexpected and
    // mismatched name (and, for a state where nothing matches, a few names of each side).
    void load_state_dict(const StateDict& state, LoadOptions options);
    void load_state_dict(const StateDict& state, bool strict = true) {
        load_state_dict(state, LoadOptions{.strict = strict});
    }

    // "Sequential(\n  (0): Linear(in_features=2, out_features=16, bias=True)\n ...)" followed
    // by nothing; summary() adds a table of parameter shapes and counts and the total.
    std::string repr() const;
    std::string summary() const;

  protected:
    // Registers a parameter (made a leaf that requires grad) and returns it. For a data member
    // the module keeps its address (found again at the same place in a copy) to detect a
    // reassignment; a tensor held elsewhere (a vector's element) is registered without it.
    Tensor& register_parameter(std::string name, Tensor& param);
    // A tensor saved with the model but not trained (running statistics, masks); checked the
    // same way.
    Tensor& register_buffer(std::string name, Tensor& buffer);
    // A member sub-module (a data member of this object) ...
    template <class M>
    M& register_module(std::string name, M& member) {
        add_child(std::move(name), &member, nullptr);
        return member;
    }
    // ... or one held by pointer (Sequential's layers).
    template <class M>
    std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> owned) {
        add_child(std::move(name), owned.get(), owned);
        return owned;
    }

  private:
    struct TensorEntry {
        std::string name;
        Tensor tensor;   // the registered handle
        Tensor* member;  // the data member it came from (rebased in a copy), or nullptr
    };
    struct ChildEntry {
        std::string name;
        Module* module;                 // a member: rebased when this module is copied
        std::shared_ptr<Module> owned;  // or held by pointer: shared by copies
    };
    void add_child(std::string name, Module* m, std::shared_ptr<Module> owned);
    void check_new_name(const std::string& name) const;
    void rebase_children(const Module& from);
    // &t when t lies within this object (a data member), else nullptr.
    Tensor* member_or_null(Tensor& t) const;
    // Throws ValueError when a registered member no longer holds its registered tensor.
    void check_members() const;
    void collect(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out,
                 bool buffers) const;
    void repr_into(std::string& out, int indent) const;

    std::vector<TensorEntry> params_;
    std::vector<TensorEntry> buffers_;
    std::vector<ChildEntry> children_;
    bool training_ = true;
};

std::ostream& operator<<(std::ostream& os, const Module& m);

}  // namespace tapegrad::nn

#pragma once
// The one driver of the first-order optimizers (ensmallen's shape: one optimizer, small update
// policies). A rule is an optimizer's options, their validation and the update of one
// parameter; FirstOrder<Rule> does the rest once for all of them: parameter groups, the step
// loop over the parameters that have a gradient, per-parameter state, state_dict and
// load_state_dict of the options. The learning rate lives in ParamGroup::lr only (set_lr,
// schedules and load_state_dict change it there); the driver hands it to the rule as
// options.lr at every step.
//
// A rule is a struct (optimizer.hpp shows signSGD in a few lines; examples/lion.hpp Lion):
//   using Options = ...;                        // with `double lr`: PyTorch's names, defaults
//   static constexpr const char* name = "...";  // name() and the messages
//   template <class T>                          // float and double: one parameter's update
//   static void update(ParamState<T>& p, const Options& o);
// and, if it has options besides lr,
//   static constexpr OptionField<Options> fields[] = {
//       {"momentum", &Options::momentum, Range::non_negative}, ...};
//   static void validate(const Options& o);     // optional: checks beyond one field's range
// `fields` are what state_dict saves and load_state_dict restores, read in their order (so a
// state saved by another optimizer is refused naming the first key it lacks); without them the
// options stay the constructor's. The driver checks lr and each field's range, in the fields'
// order, at construction and on loading. The state a rule makes through ParamState is saved
// whole.
#include <cstddef>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim {

// The values an option may take; anything else (NaN included) is a ValueError naming it.
enum class Range {
    any,
    non_negative,  // >= 0
    unit,          // in [0, 1)
};

// An option of a rule that state_dict saves as "param_groups.G.<key>", a float64 scalar (a
// bool as 0 or 1), so that loading restores the hyper-parameters too, as PyTorch's does. A
// std::pair member (Adam's betas) is saved as two keys, one per element.
template <class Options>
class OptionField {
  public:
    constexpr OptionField(const char* key, double Options::*number, Range range = Range::any)
        : key_(key), number_(number), range_(range) {}
    constexpr OptionField(const char* key, bool Options::*flag) : key_(key), flag_(flag) {}
    constexpr OptionField(const char* key, std::pair<double, double> Options::*pair, int element,
                          Range range = Range::any)
        : key_(key), pair_(pair), second_(element == 1), range_(range) {}

    const char* key() const { return key_; }
    Range range() const { return range_; }
    double get(const Options& o) const {
        if (number_) return o.*number_;
        if (flag_) return (o.*flag_) ? 1 : 0;
        return second_ ? (o.*pair_).second : (o.*pair_).first;
    }
    void set(Options& o, double v) const {
        if (number_) {
            o.*number_ = v;
        } else if (flag_) {
            o.*flag_ = v != 0;
        } else {
            (second_ ? (o.*pair_).second : (o.*pair_).first) = v;
        }
    }

  private:
    const char* key_;
    double Options::*number_ = nullptr;
    bool Options::*flag_ = nullptr;
    std::pair<double, double> Options::*pair_ = nullptr;
    bool second_ = false;
    Range range_ = Range::any;
};

// For a rule's validate: throws ValueError "<rule>: invalid <what>".
[[noreturn]] void invalid_option(std::string_view rule, const std::string& what);
// ... "<rule>: invalid <option> <value> (<requirement>)" unless ok, e.g. "SGD: invalid momentum
// -1 (must be >= 0)". NaN fails every comparison: write ok as the condition that must hold.
void require_option(bool ok, std::string_view rule, const char* option, double value,
                    const char* requirement);
// require_option with the condition and words of the range (nothing for Range::any).
void require_in_range(Range range, std::string_view rule, const char* option, double value);

namespace detail {
// "<rule>: invalid lr <lr> (must be finite and >= 0)" unless it is.
void check_lr(double lr, std::string_view rule);
// "param_groups.G.<key>" of a state dict, saved and read back; ValueError naming `who` and the
// key when it is missing.
void save_option(StateDict& d, std::size_t group, const char* key, double value);
double read_option(const StateDict& d, std::size_t group, const char* key, const std::string& who);
// Adds a buffer of the parameter's shape and dtype, full of `fill`, to its state.
Tensor& add_buffer(std::map<std::string, Tensor>& state, const char* key, const Tensor& param,
                   double fill);
// Adds one to the float64 counter "step" of a parameter's state (0 at first) and returns it.
double next_step(std::map<std::string, Tensor>& state);
}  // namespace detail

// One parameter as a rule's update sees it: its values (updated in place, never recorded on a
// tape), its gradient and its state ("state.G.I.<key>" in state_dict), as flat arrays of T.
template <class T>
class ParamState {
  public:
    ParamState(Tensor& param, std::map<std::string, Tensor>& state)
        : param_(param),
          grad_(param.grad()),
          state_(state),
          value_(param.mutable_value<T>().data()),
          grad_data_(grad_.value<T>().data()),
          size_(param.numel()) {}

    std::size_t size() const { return size_; }
    T* value() { return value_; }
    const T* grad() const { return grad_data_; }
    // The buffer named key, or nullptr before it exists (SGD's first momentum step copies the
    // gradient into a new buffer).
    T* find(const char* key) {
        auto it = state_.find(key);
        return it == state_.end() ? nullptr : it->second.template mutable_value<T>().data();
    }
    // The buffer named key, zeros (or fill) the first time: momentum, moments, accumulators.
    T* buffer(const char* key, double fill = 0) {
        if (T* b = find(key)) return b;
        return detail::add_buffer(state_, key, param_, fill).template mutable_value<T>().data();
    }
    // The step counter "step", one more than at the last step of this parameter: 1, 2, ...
    double next_step() { return detail::next_step(state_); }

  private:
    Tensor& param_;
    Tensor grad_;
    std::map<std::string, Tensor>& state_;
    T* value_;
    const T* grad_data_;
    std::size_t size_;
};

// The optimizer of a rule. Options defaults to the rule's own; the library's optimizers name
// it (sgd.hpp: FirstOrder<SGDRule, SGDOptions>), so that their rules can stay in their .cpp
// files: the members that use the rule are defined below the class, and instantiated once, in
// that .cpp (extern template), for those.
template <class Rule, class RuleOptions = typename Rule::Options>
class FirstOrder : public Optimizer {
  public:
    using Options = RuleOptions;

    // Throws ValueError naming the option when one is out of its domain.
    explicit FirstOrder(std::vector<Tensor> params, Options options = {})
        : Optimizer(std::vector<ParamGroup>{}) {
        add_param_group(std::move(params), options);
    }
    // A further group of parameters with options of its own.
    void add_param_group(std::vector<Tensor> params, Options options);

    using Optimizer::step;
    void step() override;
    std::string name() const override;

    // The options of group g; .lr is the group's current learning rate (schedules change it).
    Options options(std::size_t g) const {
        Options o = options_.at(g);
        o.lr = param_groups()[g].lr;
        return o;
    }

    // The base state plus every group's options ("param_groups.G.momentum", ...).
    StateDict state_dict() const override;
    // Restores the options with the rest; on any error nothing changes.
    void load_state_dict(const StateDict& state) override;

  private:
    // The stored options' lr: ParamGroup::lr is the one learning rate, and code that read this
    // copy by mistake would turn the weights into NaN rather than train on a stale rate.
    static constexpr double kNotHere = std::numeric_limits<double>::quiet_NaN();

    static void validate(const Options& o);
    template <class F>
    static void for_each_field(F&& f);

    std::vector<Options> options_;  // per group, lr kNotHere
};

template <class Rule, class O>
void FirstOrder<Rule, O>::add_param_group(std::vector<Tensor> params, Options options) {
    detail::check_lr(options.lr, Rule::name);
    validate(options);
    add_group({std::move(params), options.lr});
    options.lr = kNotHere;
    options_.push_back(options);
}

template <class Rule, class O>
void FirstOrder<Rule, O>::step() {
    auto& groups = param_groups();
    for (std::size_t g = 0; g < groups.size(); ++g) {
        const Options o = options(g);
        for (std::size_t i = 0; i < groups[g].params.size(); ++i) {
            Tensor& p = groups[g].params[i];
            if (!p.has_grad()) continue;  // as PyTorch skips p.grad is None
            if (p.dtype() == f32) {
                ParamState<float> s(p, state(g, i));
                Rule::update(s, o);
            } else {
                ParamState<double> s(p, state(g, i));
                Rule::update(s, o);
            }
        }
    }
}

template <class Rule, class O>
std::string FirstOrder<Rule, O>::name() const {
    return Rule::name;
}

template <class Rule, class O>
StateDict FirstOrder<Rule, O>::state_dict() const {
    StateDict d = Optimizer::state_dict();
    for (std::size_t g = 0; g < options_.size(); ++g) {
        for_each_field([&](const OptionField<Options>& f) {
            detail::save_option(d, g, f.key(), f.get(options_[g]));
        });
    }
    return d;
}

template <class Rule, class O>
void FirstOrder<Rule, O>::load_state_dict(const StateDict& d) {
    std::vector<Options> loaded = options_;
    for (std::size_t g = 0; g < loaded.size(); ++g) {
        for_each_field([&](const OptionField<Options>& f) {
            f.set(loaded[g], detail::read_option(d, g, f.key(), name()));
        });
        loaded[g].lr = 0;  // the group's saved lr is checked by the base class
        validate(loaded[g]);
        loaded[g].lr = kNotHere;
    }
    Optimizer::load_state_dict(d);
    options_ = std::move(loaded);
}

template <class Rule, class O>
void FirstOrder<Rule, O>::validate(const Options& o) {
    for_each_field([&](const OptionField<Options>& f) {
        require_in_range(f.range(), Rule::name, f.key(), f.get(o));
    });
    if constexpr (requires { Rule::validate(o); }) Rule::validate(o);
}

template <class Rule, class O>
template <class F>
void FirstOrder<Rule, O>::for_each_field(F&& f) {
    if constexpr (requires { Rule::fields; })
        for (const auto& field : Rule::fields) f(field);
}

}  // namespace tapegrad::optim

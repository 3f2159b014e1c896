// The non-template part of the first-order driver: option checks and keys, state buffers.
#include "tapegrad/optim/first_order.hpp"

#include <cmath>

#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::optim {

void invalid_option(std::string_view rule, const std::string& what) {
    throw ValueError(std::string(rule) + ": invalid " + what);
}

void require_option(bool ok, std::string_view rule, const char* option, double value,
                    const char* requirement) {
    if (!ok) invalid_option(rule, option + (" " + short_text(value)) + " (" + requirement + ")");
}

void require_in_range(Range range, std::string_view rule, const char* option, double value) {
    switch (range) {
        case Range::any:
            return;
        case Range::non_negative:
            return require_option(value >= 0, rule, option, value, "must be >= 0");
        case Range::unit:
            return require_option(value >= 0 && value < 1, rule, option, value,
                                  "must be in [0, 1)");
    }
}

namespace detail {

void check_lr(double lr, std::string_view rule) {
    // A NaN or negative rate would wreck every weight (set_lr and load_state_dict refuse too).
    require_option(lr >= 0 && !std::isinf(lr), rule, "lr", lr, "must be finite and >= 0");
}

namespace {
std::string option_key(std::size_t group, const char* key) {
    return "param_groups." + std::to_string(group) + "." + key;
}
}  // namespace

void save_option(StateDict& d, std::size_t group, const char* key, double value) {
    d[option_key(group, key)] = scalar(value, f64);
}

double read_option(const StateDict& d, std::size_t group, const char* key, const std::string& who) {
    const std::string k = option_key(group, key);
    auto it = d.find(k);
    if (it == d.end()) {
        throw ValueError(who + ".load_state_dict: missing key '" + k +
                         "' (was the state saved by another optimizer?)");
    }
    return it->second.item();
}

Tensor& add_buffer(std::map<std::string, Tensor>& state, const char* key, const Tensor& param,
                   double fill) {
    Tensor b =
        fill == 0 ? zeros(param.shape(), param.dtype()) : full(param.shape(), fill, param.dtype());
    return state.emplace(key, std::move(b)).first->second;
}

double next_step(std::map<std::string, Tensor>& state) {
    auto it = state.find("step");
    if (it == state.end()) it = state.emplace("step", scalar(0.0, f64)).first;
    const double t = it->second.item() + 1;
    it->second.fill_(t);
    return t;
}

}  // namespace detail

}  // namespace tapegrad::optim

#include "tapegrad/optim/optimizer.hpp"

#include <charconv>
#include <cmath>
#include <string>
#include <string_view>

#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::optim {

namespace {

// The group or parameter number that starts text (digits up to a '.' or the end); a key from
// a damaged file gets a ValueError, not std::stoul's std::invalid_argument.
std::size_t index_in_key(std::string_view text, const std::string& key, const std::string& who) {
    std::size_t v = 0;
    const char* first = text.data();
    const char* last = first + text.size();
    const auto [ptr, ec] = std::from_chars(first, last, v);
    if (ec != std::errc() || ptr == first || (ptr != last && *ptr != '.'))
        throw ValueError(who + ".load_state_dict: malformed key '" + key + "'");
    return v;
}

std::string state_key(std::size_t g, std::size_t i, const std::string& name) {
    return "state." + std::to_string(g) + "." + std::to_string(i) + "." + name;
}

}  // namespace

Optimizer::Optimizer(std::vector<ParamGroup> groups) {
    for (auto& g : groups) add_group(std::move(g));
}

void Optimizer::add_group(ParamGroup group) {
    // Nothing would ever train: most often a custom module that did not register its layers.
    if (group.params.empty() && groups_.empty()) {
        throw ValueError(
            "optimizer got an empty parameter list (is model.parameters() empty? a custom "
            "module must register its layers with register_module and its tensors with "
            "register_parameter)");
    }
    if (group.params.empty()) {
        throw ValueError("optimizer: parameter group " + std::to_string(groups_.size()) +
                         " is empty");
    }
    for (std::size_t i = 0; i < group.params.size(); ++i) {
        const Tensor& p = group.params[i];
        if (!p.defined()) {
            throw ValueError("optimizer: parameter " + std::to_string(i) + " of group " +
                             std::to_string(groups_.size()) + " is undefined");
        }
        if (!p.is_leaf() || !p.requires_grad()) {
            throw ValueError("optimizer: parameter " + std::to_string(i) + " of group " +
                             std::to_string(groups_.size()) +
                             " is not a leaf that requires grad (call requires_grad_() on it)");
        }
        // A parameter listed twice would be updated twice per step (PyTorch refuses too).
        for (std::size_t j = 0; j < i; ++j) {
            if (group.params[j].impl() == p.impl()) {
                throw ValueError("optimizer: parameter " + std::to_string(i) + " of group " +
                                 std::to_string(groups_.size()) + " is parameter " +
                                 std::to_string(j) + " of the same group again");
            }
        }
        for (std::size_t g = 0; g < groups_.size(); ++g) {
            for (const Tensor& q : groups_[g].params) {
                if (q.impl() == p.impl()) {
                    throw ValueError("optimizer: parameter " + std::to_string(i) + " of group " +
                                     std::to_string(groups_.size()) + " is already in group " +
                                     std::to_string(g));
                }
            }
        }
    }
    state_.emplace_back(group.params.size());
    groups_.push_back(std::move(group));
}

double Optimizer::step(const std::function<double()>& closure) {
    const double loss = closure();
    step();
    return loss;
}

void Optimizer::zero_grad() {
    for (auto& g : groups_)
        for (auto& p : g.params) p.zero_grad();
}

std::vector<Tensor> Optimizer::parameters() const {
    std::vector<Tensor> all;
    for (const auto& g : groups_) all.insert(all.end(), g.params.begin(), g.params.end());
    return all;
}

double Optimizer::lr() const {
    if (groups_.empty()) throw ValueError("optimizer: lr() of an optimizer with no groups");
    return groups_[0].lr;
}

void Optimizer::set_lr(double lr) {
    // The constructors refuse these too: a NaN or negative rate would wreck every weight.
    if (!(lr >= 0) || std::isinf(lr))
        throw ValueError(name() + ": invalid lr " + std::to_string(lr) +
                         " (must be finite and >= 0)");
    for (auto& g : groups_) g.lr = lr;
}

std::map<std::string, Tensor>& Optimizer::state(std::size_t g, std::size_t i) {
    return state_.at(g).at(i);
}

const std::map<std::string, Tensor>* Optimizer::find_state(std::size_t g, std::size_t i) const {
    if (g >= state_.size() || i >= state_[g].size()) return nullptr;
    return &state_[g][i];
}

StateDict Optimizer::state_dict() const {
    StateDict d;
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        d["param_groups." + std::to_string(g) + ".lr"] = scalar(groups_[g].lr, f64);
        for (std::size_t i = 0; i < state_[g].size(); ++i)
            for (const auto& [k, v] : state_[g][i]) d[state_key(g, i, k)] = v.detach();
    }
    return d;
}

void Optimizer::load_state_dict(const StateDict& d) {
    // Check everything before changing anything, so a bad file loses nothing.
    std::vector<std::vector<std::map<std::string, Tensor>>> loaded(groups_.size());
    std::vector<double> lrs(groups_.size());
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        const std::string key = "param_groups." + std::to_string(g) + ".lr";
        auto it = d.find(key);
        if (it == d.end()) {
            throw ValueError(name() + ".load_state_dict: missing key '" + key + "' (the saved " +
                             "optimizer has fewer parameter groups?)");
        }
        lrs[g] = it->second.item();
        if (!(lrs[g] >= 0) || std::isinf(lrs[g])) {
            throw ValueError(name() + ".load_state_dict: '" + key + "' is " +
                             std::to_string(lrs[g]) + " (a learning rate must be finite and >= 0)");
        }
        loaded[g].resize(groups_[g].params.size());
    }
    const std::string prefix = "state.";
    for (const auto& [key, value] : d) {
        if (key.rfind("param_groups.", 0) == 0) {
            const auto g = index_in_key(std::string_view(key).substr(13), key, name());
            if (g >= groups_.size()) {
                throw ValueError(name() + ".load_state_dict: '" + key + "' names group " +
                                 std::to_string(g) + " but this optimizer has " +
                                 std::to_string(groups_.size()));
            }
            continue;
        }
        if (key.rfind(prefix, 0) != 0) continue;  // a subclass's own keys
        const auto dot1 = key.find('.', prefix.size());
        const auto dot2 = dot1 == std::string::npos ? dot1 : key.find('.', dot1 + 1);
        if (dot2 == std::string::npos) {
            throw ValueError(name() + ".load_state_dict: malformed key '" + key + "'");
        }
        const std::string_view k(key);
        const auto g = index_in_key(k.substr(prefix.size(), dot1 - prefix.size()), key, name());
        const auto i = index_in_key(k.substr(dot1 + 1, dot2 - dot1 - 1), key, name());
        if (g >= groups_.size() || i >= groups_[g].params.size()) {
            throw ValueError(name() + ".load_state_dict: '" + key +
                             "' names a parameter this optimizer does not have");
        }
        const Tensor& p = groups_[g].params[i];
        Tensor v = value.detach();
        if (v.numel() != 1 && v.shape() != p.shape()) {
            throw ValueError(name() + ".load_state_dict: '" + key + "' has shape " +
                             shape_str(v.shape()) + " but parameter " + std::to_string(i) +
                             " of group " + std::to_string(g) + " has shape " +
                             shape_str(p.shape()));
        }
        // Buffers follow the parameter's dtype; counters ("step") stay float64, exact to 2^53.
        const std::string state_name = key.substr(dot2 + 1);
        if (state_name != "step" && v.shape() == p.shape() && v.dtype() != p.dtype()) {
            v = v.to(p.dtype()).detach();
        }
        loaded[g][i][key.substr(dot2 + 1)] = v;
    }
    for (std::size_t g = 0; g < groups_.size(); ++g) groups_[g].lr = lrs[g];
    state_ = std::move(loaded);
}

}  // namespace tapegrad::optim

#pragma once
// What the first-order optimizers share when they save, restore and create their state: the
// keys of per-group options in a state dict, and per-parameter buffers made on first use.
#include <map>
#include <sstream>
#include <string>

#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::optim::detail {

// A number as an option's value is printed in messages ("lr -0.1").
inline std::string num(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

// "param_groups.G.OPTION", beside the base class's "param_groups.G.lr".
inline std::string option_key(std::size_t g, const char* option) {
    return "param_groups." + std::to_string(g) + "." + option;
}

// An option of group g saved by state_dict; ValueError naming the optimizer and the key.
inline double read_option(const StateDict& d, std::size_t g, const char* option,
                          const std::string& who) {
    const std::string key = option_key(g, option);
    auto it = d.find(key);
    if (it == d.end()) {
        throw ValueError(who + ".load_state_dict: missing key '" + key +
                         "' (was the state saved by another optimizer?)");
    }
    return it->second.item();
}

// A per-parameter buffer (momentum, moments), zeros of the parameter's shape and dtype when
// first asked for.
inline Tensor& state_tensor(std::map<std::string, Tensor>& st, const char* key, const Tensor& p) {
    auto it = st.find(key);
    if (it == st.end()) it = st.emplace(key, zeros(p.shape(), p.dtype())).first;
    return it->second;
}

}  // namespace tapegrad::optim::detail
